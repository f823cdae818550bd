"""The planner's tiers: cost and minimum wall time per provider and tier (standard, flex, batch), each
with and without prompt caching, and batch mode's sequential rounds.

The cached share is measured, not assumed: `measure_shared_prefix` plays the seed strategies on the
sim through a recording chat and, for every call, counts the longest prefix it shares with any
earlier request (what an ideal prefix cache could serve); each provider's `PromptCaching` then keeps
what it really caches (OpenAI: nothing under 1024 tokens, then 128-token steps; vLLM: 16-token blocks).
"""

from __future__ import annotations

import asyncio
import bisect
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from negoray.chat import ChatParams, ChatReply, Message, estimate_tokens, messages_tokens
from negoray.config import ExperimentConfig
from negoray.fmt import json_number
from negoray.llm.providers import ProviderSpec
from negoray.llm.tiers import Tier
from negoray.plan.assumptions import Assumptions
from negoray.plan.costs import ProviderPlan, longest_stage_chain, provider_plan
from negoray.plan.volumes import Volume
from negoray.tasks.base import PlanSample

PREFIX_SCENARIOS = 12
"""Dev scenarios per seed strategy played to measure the shared prefix."""


@dataclass(frozen=True)
class PrefixShare:
    """Per negotiation call (a task's call): prompt tokens and the tokens of its longest prefix shared
    with an earlier call."""

    calls: tuple[tuple[int, int], ...]
    measured_on: str = "the sim, seed strategies"
    """What was measured, for the plan's sentence."""

    @property
    def prompt_tokens(self) -> float:
        return statistics.fmean(p for p, _ in self.calls)

    @property
    def shared_tokens(self) -> float:
        return statistics.fmean(s for _, s in self.calls)

    @property
    def share(self) -> float:
        """Of all prompt tokens, the fraction an ideal prefix cache serves."""
        return sum(s for _, s in self.calls) / max(1, sum(p for p, _ in self.calls))

    def cached_share(self, spec: ProviderSpec) -> float:
        """Of all prompt tokens, the fraction ``spec``'s prompt cache serves (0 without one)."""
        caching = spec.prompt_caching
        if caching is None:
            return 0.0
        return sum(caching.cached(p, s) for p, s in self.calls) / max(1, sum(p for p, _ in self.calls))


def _render(messages: Sequence[Message]) -> str:
    return "".join(f"<|{m['role']}|>{m['content']}" for m in messages)


class _PrefixRecorder:
    """Each request's prompt tokens and the tokens of its longest prefix shared with an earlier one."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.calls: list[tuple[int, int]] = []

    def add(self, messages: Sequence[Message]) -> None:
        text = _render(messages)
        i = bisect.bisect_left(self.seen, text)
        shared = max((_common(text, self.seen[j]) for j in (i - 1, i) if 0 <= j < len(self.seen)), default=0)
        self.seen.insert(i, text)
        self.calls.append((messages_tokens(messages), min(messages_tokens(messages), estimate_tokens(text[:shared]))))


def measure_shared_prefix(config: ExperimentConfig, scenarios: int = PREFIX_SCENARIOS,
                          sample: PlanSample | None = None) -> PrefixShare:
    """Play each seed strategy against the fixed opponent on the first dev scenarios (the sim, in
    process) and measure every call's prompt and the prefix it shares with the calls before it; or,
    for a task that gives its own (`PlanSample`), measure its requests in their order."""
    recorder = _PrefixRecorder()
    if sample is not None:
        for request in sample.requests:
            recorder.add(list(request))
        return PrefixShare(tuple(recorder.calls), "the task's own requests")

    from negoray.game.generators import v7_splits
    from negoray.sim.model import SimModel
    from negoray.tasks.negotiation import play_all
    from negoray.tasks.negotiation.inputs import negotiation_config
    from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES

    sim = SimModel()

    async def recording(messages: Sequence[Message], params: ChatParams) -> ChatReply:
        recorder.add(messages)
        return await sim(messages, params)

    dev = v7_splits()["dev"][:scenarios]
    negotiation = negotiation_config(config)

    async def play() -> None:
        for strategy in SEED_STRATEGIES.values():
            await play_all(strategy, OPPONENT_PROMPT, dev, recording, negotiation, concurrency=1)

    asyncio.run(play())
    return PrefixShare(tuple(recorder.calls))


def _common(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def batch_rounds(config: ExperimentConfig, a: Assumptions) -> int:
    """Sequential batches of one run (the longest group): a stage advances one turn per batch and waits
    for its longest negotiation (2 x max_rounds calls; another task's longest evaluation), a mutation
    step is one batch."""
    longest = a.longest_calls if a.longest_calls is not None else 2 * config.max_rounds
    return round(longest_stage_chain(config, a, longest, 1))


@dataclass(frozen=True)
class TierPlan:
    """One provider at one tier, with or without prompt caching."""

    provider: str
    model: str
    tier: Tier
    caching: bool
    cost_usd: float
    hours: float
    binding: str
    cached_share: float
    rounds: int | None = None
    """Batch: sequential batch rounds."""
    batch_latency_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "model": self.model, "tier": self.tier.value, "caching": self.caching,
                "cost_usd": round(self.cost_usd, 4), "hours": round(self.hours, 4), "binding": self.binding,
                "cached_share": json_number(round(self.cached_share, 4)), "batch_rounds": self.rounds,
                "batch_latency_s": self.batch_latency_s}


def tier_plans(config: ExperimentConfig, a: Assumptions, volume: Volume, specs: Sequence[ProviderSpec],
               prefix: PrefixShare, batch_latency_s: float | None = None) -> list[TierPlan]:
    """For each provider and each tier it offers: cost without and with caching, and the minimum wall
    time (standard: its rate limits and critical path; flex: the same with the tier's limits; batch:
    the sequential rounds times the batch latency, ``batch_latency_s`` or the provider's published
    typical turnaround)."""
    out: list[TierPlan] = []
    rounds = batch_rounds(config, a)
    for spec in specs:
        share = prefix.cached_share(spec)
        for tier in spec.offered_tiers():
            offer = spec.tier_offer(tier)
            prices = spec.prices(tier)
            if tier is Tier.BATCH:
                assert offer is not None
                latency = batch_latency_s if batch_latency_s is not None else (offer.turnaround_s or 3600.0)
                hours, binding, n, lat = rounds * latency / 3600, "batch rounds", rounds, latency
            else:
                f = offer.rate_factor if offer is not None else 1.0
                scaled = spec.with_overrides(**{k: getattr(spec, k) * f for k in ("rpm", "tpm", "rpd") if getattr(spec, k)})
                pp: ProviderPlan = provider_plan(config, scaled, volume, a)
                hours, binding, n, lat = pp.hours, pp.binding, None, None
            for caching in (False, True):
                cached = volume.prompt_tokens * share if caching else 0.0
                cost = prices.cost(volume.prompt_tokens, volume.completion_tokens, cached)
                out.append(TierPlan(spec.name, spec.default_model, tier, caching, cost, hours, binding,
                                    share if caching else 0.0, n, lat))
    return out
