"""Token and dollar accounting per call, per provider and per run, and the budget cap."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from negoray.llm.errors import BudgetExceeded
from negoray.llm.tiers import Prices


@dataclass
class Tally:
    """Running totals of one slice (a provider, a run, or everything)."""

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def call_cost(prompt_tokens: float, completion_tokens: float, price_in: float, price_out: float,
              cached_prompt_tokens: float = 0, price_cached_in: float | None = None) -> float:
    """Dollars for tokens at prices per million tokens (one call, or a planned volume); the cached
    part of the prompt at ``price_cached_in`` (None: at ``price_in``)."""
    return Prices(price_in, price_out, price_cached_in).cost(prompt_tokens, completion_tokens, cached_prompt_tokens)


EndpointPrices = tuple[float | None, float | None, float | None]
"""USD per million prompt, completion and cached prompt tokens of one endpoint (None: unknown; a
cached price of None: at the prompt price). A plain (in, out) pair is accepted where this is."""


PriceTable = Mapping[str | tuple[str, str], EndpointPrices]
"""Prices by endpoint name (at the endpoint's own tier) and by (endpoint name, tier) for each tier it
sells: a batch endpoint's call that fell back to the standard tier is priced at standard."""


def lookup_prices(table: PriceTable, endpoint: str, tier: str = "") -> EndpointPrices | None:
    """The prices of ``endpoint`` at ``tier`` ("": the endpoint's own); None when the table has none."""
    return table.get((endpoint, tier)) or table.get(endpoint)


@dataclass(frozen=True)
class PriceBook:
    """The prices of a fleet: each endpoint's own by name and tier (`negoray.llm.fleet.FleetSpec.prices`),
    and the agent endpoint's for a call that names none (a failed call)."""

    price_in: float | None = None
    price_out: float | None = None
    price_cached_in: float | None = None
    by_endpoint: PriceTable = field(default_factory=dict)

    def of(self, endpoint: str, tier: str = "") -> EndpointPrices:
        """The prices of ``endpoint`` at ``tier`` ("": its own; an unknown endpoint: the agent's)."""
        found = lookup_prices(self.by_endpoint, endpoint, tier)
        if found is None:
            return (self.price_in, self.price_out, self.price_cached_in)
        return (found[0], found[1], found[2] if len(found) > 2 else None)

    @staticmethod
    def of_prices(prices: PriceBook | tuple[float | None, ...]) -> PriceBook:
        """``prices`` as a `PriceBook` (a plain (in, out[, cached in]) tuple: one price for every call)."""
        if isinstance(prices, PriceBook):
            return prices
        return PriceBook(prices[0], prices[1], prices[2] if len(prices) > 2 else None)


class UsageLedger:
    """Thread-safe totals by provider and by run. Cache hits are counted but cost nothing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = Tally()
        self.by_provider: dict[str, Tally] = defaultdict(Tally)
        self.by_run: dict[str, Tally] = defaultdict(Tally)

    def record(self, provider: str, run: str, prompt_tokens: int, completion_tokens: int, usd: float, cache_hit: bool) -> None:
        with self._lock:
            for tally in (self.total, self.by_provider[provider], self.by_run[run]):
                tally.calls += 1
                if cache_hit:
                    tally.cache_hits += 1
                    continue
                tally.prompt_tokens += prompt_tokens
                tally.completion_tokens += completion_tokens
                tally.usd += usd


@dataclass(frozen=True)
class Budget:
    """Stop new work when either cap is reached (None: no cap)."""

    max_usd: float | None = None
    max_tokens: int | None = None

    def reached(self, usd: float, tokens: float) -> str | None:
        """Which cap ``usd`` dollars and ``tokens`` tokens have reached, in words; None when neither."""
        if self.max_usd is not None and usd >= self.max_usd:
            return f"${usd:.4f} spent of max_usd = ${self.max_usd:.4f}"
        if self.max_tokens is not None and tokens >= self.max_tokens:
            return f"{tokens} tokens used of max_tokens = {self.max_tokens}"
        return None

    def check(self, ledger: UsageLedger) -> None:
        """Raise `BudgetExceeded` if the ledger has reached a cap."""
        reached = self.reached(ledger.total.usd, ledger.total.tokens)
        if reached is not None:
            raise BudgetExceeded(f"budget reached: {reached}")
