"""Building each role's chat function from a `negoray.llm.fleet.FleetSpec`: an `LLMClient` per
endpoint (its own concurrency cap, limiter key, prices and retries), a `FailoverChat` over a chain,
an `EndpointPool` over a pool; roles with the same spec share one chat (the default fleet: one chat
for all three roles, as before roles existed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

from negoray.chat import ChatFn
from negoray.llm.client import LLMClient
from negoray.llm.failover import FailoverChat
from negoray.llm.fleet import FleetSpec, NamedEndpoint, RoleSpec
from negoray.llm.pool import EndpointPool, PoolMember

POOL_CACHE_ENDPOINT = "pool"
"""The cache key's endpoint for a pool's calls: keyed on the pool's model, not on who served."""


@dataclass
class RoleChats:
    """The chat function of each role, and every client built (to close them)."""

    agent: ChatFn
    opponent: ChatFn
    mutator: ChatFn
    clients: list[LLMClient] = field(default_factory=list)


MakeClient = Callable[..., LLMClient]
"""``make_client(config, endpoint_name=..., cache_identity=...)``: an `LLMClient` with the caller's
cache and limiter (`negoray.llm.factory.client_for` over ``config.resolve()``)."""


def _probe(client: LLMClient) -> Callable[[], Any]:
    async def probe() -> bool:
        """The pool's health check: the endpoint lists its models."""
        raw = await client.sdk.get("/models", cast_to=httpx2.Response)
        return raw.status_code == 200

    return probe


def role_chats(fleet: FleetSpec, make_client: MakeClient, *, cooldown_s: float = 30.0) -> RoleChats:
    """One chat per distinct role spec (the default fleet: one chat for all three roles)."""
    clients: list[LLMClient] = []
    built: list[tuple[RoleSpec, ChatFn]] = []

    def client(e: NamedEndpoint, **options: Any) -> LLMClient:
        clients.append(c := make_client(e.config, endpoint_name=e.name, **options))
        return c

    def chat_for(role: str) -> ChatFn:
        spec = fleet.role(role)
        for other, chat in built:
            if other == spec:
                return chat
        if spec.pooled:
            identity = (POOL_CACHE_ENDPOINT, spec.primary.config.spec().default_model)
            both_sides = role == "agent" and fleet.opponent == spec or role == "opponent" and fleet.agent == spec
            members = []
            for chain in spec.members:
                c = client(chain[0], cache_identity=identity)
                c.trip_after = 3  # as in a failover chain: a member that keeps failing leaves the pool soon
                s = chain[0].config.spec()
                members.append(PoolMember(chain[0].name, c, s.max_concurrency,
                                          rate_per_s=s.rpm / 60 if s.rpm else None, probe=_probe(c)))
            chat: ChatFn = EndpointPool(members, cooldown_s=cooldown_s,
                                        streams_per_lease=1.0 if both_sides or role == "mutator" else 0.5)
        else:
            chain_clients = [client(e) for e in spec.members[0]]
            chat = chain_clients[0] if len(chain_clients) == 1 else FailoverChat(chain_clients)
        built.append((spec, chat))
        return chat

    return RoleChats(chat_for("agent"), chat_for("opponent"), chat_for("mutator"), clients)
