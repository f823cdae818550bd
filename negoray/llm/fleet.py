"""The endpoints of an experiment by role: who serves the agents' turns, the opponent's, the mutations.

A `FleetSpec` is plain data (it travels to Ray workers): for each role (`ROLES`), one endpoint with its
failover chain, or a pool of interchangeable endpoints. Every endpoint has a stable name (the
``calls.endpoint`` column, its limiter key, its prices): the provider's name, or ``provider@host:port``
where two endpoints of the fleet share a provider. `negoray.llm.fleet_chats.role_chats` builds the
chat functions from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from negoray.llm.config import LLMConfig
from negoray.llm.cost import EndpointPrices, PriceBook, PriceTable
from negoray.llm.providers import ProviderSpec

ROLES = ("agent", "opponent", "mutator")
"""The kinds of call: the evolving strategies' turns, the fixed opponent's turns, mutation requests."""


@dataclass(frozen=True)
class NamedEndpoint:
    name: str
    """Stable name: ``calls.endpoint``, the limiter key's first part, the key of its prices."""
    config: LLMConfig


@dataclass(frozen=True)
class RoleSpec:
    """One role's endpoints: ``members`` (several: a pool), each an endpoint then its failover chain."""

    members: tuple[tuple[NamedEndpoint, ...], ...]

    @property
    def pooled(self) -> bool:
        return len(self.members) > 1

    @property
    def primary(self) -> NamedEndpoint:
        return self.members[0][0]

    def endpoints(self) -> Iterator[NamedEndpoint]:
        for chain in self.members:
            yield from chain


@dataclass(frozen=True)
class FleetSpec:
    agent: RoleSpec
    opponent: RoleSpec
    mutator: RoleSpec

    def role(self, name: str) -> RoleSpec:
        return getattr(self, name)

    def endpoints(self) -> list[NamedEndpoint]:
        """Every endpoint once (by name), in role order."""
        seen: dict[str, NamedEndpoint] = {}
        for role in ROLES:
            for e in self.role(role).endpoints():
                seen.setdefault(e.name, e)
        return list(seen.values())

    def prices(self) -> PriceBook:
        """Each endpoint's prices (with its cached-input price) by name at its own tier and by (name, tier)
        at each tier it sells; the agent's for a call that names none (a failed call)."""
        by_endpoint = {k: v for e in self.endpoints() for k, v in endpoint_prices(e.name, e.config.spec()).items()}
        return PriceBook(*by_endpoint[self.agent.primary.name], by_endpoint=by_endpoint)

    @property
    def mixed(self) -> bool:
        """Whether the roles use more than the one endpoint (and failover chain) of ``[provider]``."""
        return bool(self.pooled_roles) or not self.agent == self.opponent == self.mutator

    @property
    def pooled_roles(self) -> tuple[str, ...]:
        return tuple(r for r in ROLES if self.role(r).pooled)

    @staticmethod
    def single(chain: list[LLMConfig] | tuple[LLMConfig, ...]) -> FleetSpec:
        """Every role served by one endpoint and its failover chain (the experiment before roles)."""
        role = RoleSpec((name_endpoints([list(chain)])[0],))
        return FleetSpec(role, role, role)


def endpoint_prices(name: str, spec: ProviderSpec) -> PriceTable:
    """One endpoint's entries of `PriceBook.by_endpoint`: at its own tier by ``name``, and at each tier
    it sells by (``name``, tier) -- what a call priced at the tier it went out on looks up."""
    own: dict[str | tuple[str, str], EndpointPrices] = {name: tuple(spec.prices())}
    return own | {(name, t.value): tuple(spec.prices(t)) for t in spec.offered_tiers()}


def _identity(config: LLMConfig) -> tuple[str, str]:
    spec = config.spec()
    return spec.name, (spec.base_url or "").rstrip("/")


def name_endpoints(chains: list[list[LLMConfig]]) -> list[tuple[NamedEndpoint, ...]]:
    """Name every endpoint of ``chains`` (all of a fleet's, so names are unique across it): the
    provider's name, or ``provider@host:port`` (the whole URL if that is not enough) where two
    endpoints share a provider; one server (provider and URL) has one name."""
    ids = {_identity(c) for chain in chains for c in chain}

    def name(config: LLMConfig) -> str:
        provider, url = _identity(config)
        same = [u for p, u in ids if p == provider]
        if len(same) == 1:
            return provider
        host = urlsplit(url).netloc
        return f"{provider}@{host}" if sum(urlsplit(u).netloc == host for u in same) == 1 else f"{provider}@{url}"

    return [tuple(NamedEndpoint(name(c), c) for c in chain) for chain in chains]

