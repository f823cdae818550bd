"""Failover across an ordered chain of providers (e.g. ``lmstudio -> groq``).

A provider that fails a call after its retries, or piles up ``trip_after`` consecutive retryable
failures, is cooled down for ``cooldown_s`` and the next one in the chain takes the calls; once the
cooldown is over the preferred provider is tried again, and takes over again if it answers.
Each reply's ``provider`` says who served it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from negoray.chat import ChatFailure, ChatParams, ChatReply, Message
from negoray.llm.client import LLMClient

log = logging.getLogger(__name__)


class FailoverChat:
    """A `ChatFn` over several `LLMClient`s, most preferred first."""

    def __init__(
        self,
        clients: Sequence[LLMClient],
        *,
        trip_after: int = 3,
        cooldown_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not clients:
            raise ValueError("a failover chain needs at least one provider")
        self.clients = list(clients)
        self.trip_after, self.cooldown_s, self._clock = trip_after, cooldown_s, clock

        for client in self.clients:
            client.trip_after = trip_after

    def available(self) -> list[LLMClient]:
        """Clients not cooling down, in preference order."""
        now = self._clock()
        return [c for c in self.clients if c.health.down_until <= now]

    def _trip(self, client: LLMClient, why: str) -> None:
        client.health.down_until = self._clock() + self.cooldown_s
        client.health.consecutive_failures = 0  # after the cooldown it gets a fresh chance
        log.warning("provider %s is down (%s); cooling down for %.0fs", client.endpoint.name, why, self.cooldown_s)

    async def __call__(self, messages: Sequence[Message], params: ChatParams) -> ChatReply:
        errors = []
        for client in self.available():
            try:
                reply = await client(messages, params)
            except ChatFailure as e:
                self._trip(client, str(e))
                errors.append(str(e))
                continue
            return reply
        names = ", ".join(c.endpoint.name for c in self.clients)
        raise ChatFailure(f"every provider in the chain ({names}) is down: " + "; ".join(errors or ["all cooling down"]))
