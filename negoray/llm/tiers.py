"""Service tiers and prompt caching as registry data: what each provider sells besides its standard
tier (flex, the Batch API), at which prices and limits, and how it discounts cached prompt prefixes.

Figures are the providers' published ones as looked up on 2026-12-02 (each with its source); they
change, so the planner and the cost columns read them from here only, and a profile can override
the standard prices (a tier's prices then scale with them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class Tier(StrEnum):
    """How calls are sold (``--tier``, key ``tier``)."""

    STANDARD = "standard"
    FLEX = "flex"
    """The provider's ``service_tier: "flex"``: cheaper (OpenAI) or higher limits (Groq), may refuse."""
    BATCH = "batch"
    """The OpenAI-compatible Batch API (``/v1/files`` + ``/v1/batches``), turn-synchronous."""


class Prices(NamedTuple):
    """Dollars per million tokens of one endpoint at one tier (`ProviderSpec.prices`)."""

    price_in: float
    price_out: float
    price_cached_in: float | None = None
    """Cached prompt tokens (None: at ``price_in``)."""

    def cost(self, prompt_tokens: float, completion_tokens: float, cached_prompt_tokens: float = 0) -> float:
        cached_price = self.price_in if self.price_cached_in is None else self.price_cached_in
        return ((prompt_tokens - cached_prompt_tokens) * self.price_in + cached_prompt_tokens * cached_price
                + completion_tokens * self.price_out) / 1e6


class BatchRetry(StrEnum):
    """Where a batch request that failed (a per-request error, an expired batch) is tried again
    (``batch_retry``)."""

    BATCH = "batch"
    """In the next batch (default: every call stays at the batch price)."""
    STANDARD = "standard"
    """On the standard tier, at once (faster, at the standard price)."""


@dataclass(frozen=True)
class PromptCaching:
    """How a provider counts and prices a cached prompt prefix.

    ``min_tokens``: prompts shorter than this are never cached; ``block_tokens``: the cached prefix
    is counted in whole blocks of this many tokens (OpenAI: 1024 then 128-token increments; vLLM's
    automatic prefix caching: 16-token blocks, no minimum)."""

    price_factor: float
    """Cached prompt tokens cost this fraction of the tier's input price."""
    min_tokens: int = 0
    block_tokens: int = 1
    source: str = ""

    def cached(self, prompt_tokens: float, shared_prefix_tokens: float) -> float:
        """Tokens of a ``prompt_tokens`` prompt the provider would serve from its cache when its
        first ``shared_prefix_tokens`` were seen before (the planner's model)."""
        if prompt_tokens < self.min_tokens:
            return 0.0
        block = max(1, self.block_tokens)
        return float(int(min(shared_prefix_tokens, prompt_tokens) // block) * block)


@dataclass(frozen=True)
class TierOffer:
    """One non-standard tier of a provider: prices as fractions of the standard ones, the request
    field that asks for it, its limits and, for batch, its typical turnaround."""

    tier: Tier
    price_factor_in: float = 1.0
    price_factor_out: float = 1.0
    service_tier: str | None = None
    """The ``service_tier`` body value (flex); None for batch (the Batch API itself is the tier)."""
    rate_factor: float = 1.0
    """Its rate limits as a multiple of the standard ones (Groq flex: 10x); batch calls skip them."""
    models: str = ""
    """A regular expression searched in the model name; "" matches every model."""
    turnaround_s: float | None = None
    """Batch: the published typical time from submission to results (the planner's default latency)."""
    completion_window: str = "24h"
    max_requests: int = 50_000
    """Batch: requests in one input file."""
    max_bytes: int = 200_000_000
    """Batch: bytes of one input file."""
    max_enqueued_tokens: int | None = None
    """Batch: prompt tokens enqueued at once per model (None: none published)."""
    timeout_s: float | None = None
    """Flex: the request timeout the provider recommends (None: the endpoint's)."""
    source: str = ""

    def matches(self, model: str) -> bool:
        return re.search(self.models, model) is not None


def custom_offer(tier: Tier) -> TierOffer:
    """What ``--tier flex|batch`` on an endpoint without a registry entry means: the user says it has
    the tier; prices stay the endpoint's own (no discount assumed) and OpenAI's limits apply."""
    return TierOffer(tier, service_tier="flex" if tier is Tier.FLEX else None, turnaround_s=3600.0 if tier is Tier.BATCH else None,
                     source="the user's --tier on an endpoint negoray has no tier data for")


def parse_tier(value: object, key: str = "tier") -> Tier:
    from negoray.llm.config import ConfigError

    try:
        return Tier(value)
    except ValueError:
        raise ConfigError(f"{key} = {value!r} is not allowed; expected one of {', '.join(t.value for t in Tier)}") from None


def parse_batch_retry(value: object, key: str = "batch_retry") -> BatchRetry:
    from negoray.llm.config import ConfigError

    try:
        return BatchRetry(value)
    except ValueError:
        raise ConfigError(f"{key} = {value!r} is not allowed; expected \"batch\" or \"standard\"") from None


# -- the published figures ---------------------------------------------------------------------

OPENAI_CACHING = PromptCaching(
    0.5, min_tokens=1024, block_tokens=128,
    source="https://platform.openai.com/docs/guides/prompt-caching (automatic for prompts of 1024+ tokens, "
           "in 128-token increments; gpt-4o-mini cached input $0.075 vs $0.15), looked up 2026-12-02")
GROQ_CACHING = PromptCaching(
    0.5, source="https://groq.com/pricing ('Prompt Caching offers a 50% discount on cached input tokens'), 2026-12-02")
XAI_CACHING = PromptCaching(
    0.25, block_tokens=128,
    source="https://docs.x.ai/developers/advanced-api-usage/prompt-caching/usage-and-pricing "
           "(usage.prompt_tokens_details.cached_tokens; cached input 0.25x), 2026-12-02")
ANTHROPIC_CACHING = PromptCaching(
    0.1, min_tokens=1024,
    source="https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching (cache reads 0.1x the input price; "
           "1024-token minimum for Sonnet; needs cache_control, which the OpenAI-compatible endpoint does not send), 2026-12-02")
VLLM_CACHING = PromptCaching(
    0.0, block_tokens=16,
    source="https://docs.vllm.ai/en/latest/features/automatic_prefix_caching.html (16-token blocks; "
           "usage.prompt_tokens_details.cached_tokens with --enable-prompt-tokens-details), 2026-12-02")

OPENAI_TIERS = (
    TierOffer(Tier.FLEX, 0.5, 0.5, service_tier="flex", models=r"^(o3|o4-mini|gpt-5)", timeout_s=900.0,
              source="https://developers.openai.com/api/docs/guides/flex-processing (service_tier 'flex', priced at "
                     "Batch API rates, 429 'Resource Unavailable' when capacity is short, 15-minute timeouts; "
                     "limited models), 2026-12-02"),
    TierOffer(Tier.BATCH, 0.5, 0.5, turnaround_s=3600.0, max_requests=50_000, max_bytes=200_000_000,
              max_enqueued_tokens=2_000_000,
              source="https://platform.openai.com/docs/guides/batch and https://help.openai.com/en/articles/9197833 "
                     "(50% off, 24h window 'usually faster', 50,000 requests / 200 MB a file, enqueued-token limit "
                     "per usage tier: 2M for gpt-4o-mini at tier 1), 2026-12-02; turnaround assumed 1 h"),
)
GROQ_TIERS = (
    TierOffer(Tier.FLEX, service_tier="flex", rate_factor=10.0,
              source="https://console.groq.com/docs/flex-processing (same price as on-demand, 10x rate limits; "
                     "fails fast with 498 capacity_exceeded: retry with jittered backoff), 2026-12-02"),
    TierOffer(Tier.BATCH, 0.5, 0.5, turnaround_s=3600.0, max_requests=50_000, max_bytes=200_000_000,
              source="https://console.groq.com/docs/batch and https://groq.com/pricing (Batch API 50% off; "
                     "24h-7d windows), 2026-12-02; turnaround assumed 1 h"),
)
TOGETHER_TIERS = (
    TierOffer(Tier.BATCH, 0.5, 0.5, turnaround_s=3600.0, max_requests=50_000, max_bytes=100_000_000,
              source="https://docs.together.ai/docs/batch-inference (up to 50% off, 50,000 requests / 100 MB a file, "
                     "best-effort 24h), 2026-12-02; turnaround assumed 1 h"),
)
