"""Every call is priced at the tier it went out on: on the batch tier, the calls sent on the standard
tier instead (fewer waiting than ``batch_min_requests``, ``batch_retry = "standard"``) cost standard
prices in the ``calls`` rows and in the client's ledger (the budget), the rest batch prices."""

import asyncio
import dataclasses

from negoray.chat import CallUsage, ChatParams
from negoray.llm.client import LLMClient
from negoray.llm.config import LLMConfig
from negoray.llm.cost import PriceBook
from negoray.llm.fleet import endpoint_prices
from negoray.llm.tiers import Tier, TierOffer
from negoray.results.rows import mutation_call_row
from negoray.sim.faults import FaultConfig
from negoray.sim.server import serve_in_thread
from tests.llm.test_batch_tier import messages

PRICES = {"price_in": 2.0, "price_out": 8.0, "price_cached_in": 0.5}
"""USD per million tokens at standard; the batch offer below takes half of each."""


def batch_client(url, **spec):
    endpoint = LLMConfig(provider="custom", base_url=url, tier="batch").resolve({})
    spec = endpoint.spec.with_overrides(batch_gather_s=0.02, tiers=(TierOffer(Tier.BATCH, 0.5, 0.5, models=".*"),),
                                        **PRICES, **spec)
    return LLMClient(dataclasses.replace(endpoint, spec=spec), backoff_s=0.01, backoff_max_s=0.02)


async def ask(c, seeds):
    return await asyncio.gather(*(c(messages(i), ChatParams(seed=i, temperature=0.7)) for i in seeds))


def test_calls_that_fall_back_to_the_standard_tier_are_priced_at_standard():
    async def both(c):
        try:  # 3 waiting < batch_min_requests = 5: standard; then 8 waiting: one batch
            return await ask(c, range(3)) + await ask(c, range(3, 11))
        finally:
            await c.aclose()

    with serve_in_thread(FaultConfig(honour_seed=True, prefix_cache=True)) as url:
        c = batch_client(url, batch_min_requests=5)
        replies = asyncio.run(both(c))
        assert url.stats()["batches"]["created"] == 1
    assert [r.tier for r in replies] == ["standard"] * 3 + ["batch"] * 8
    assert sum(r.cached_prompt_tokens for r in replies) > 0  # the cached-input price is exercised too
    book = PriceBook(by_endpoint=endpoint_prices(replies[0].endpoint, c.endpoint.spec))
    rows = [mutation_call_row("r", 0, f"a{i}", r, True, by_endpoint=book.by_endpoint) for i, r in enumerate(replies)]
    for r, row in zip(replies, rows):
        f = 1.0 if r.tier == "standard" else 0.5
        fresh = r.prompt_tokens - r.cached_prompt_tokens
        expected = f * (fresh * 2.0 + r.cached_prompt_tokens * 0.5 + r.completion_tokens * 8.0) / 1e6
        assert row["tier"] == r.tier and abs(row["cost_usd"] - expected) < 1e-12
        assert CallUsage.of("agent", 1, r).tier == r.tier  # a negotiation's calls carry it into their rows too
    assert abs(sum(row["cost_usd"] for row in rows) - c.ledger.total.usd) < 1e-12  # the budget's dollars
