"""Call, token and negotiation volumes by phase: what one generation, one run and the baseline play
and call (what `Evolution.step` really does)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from negoray.config import GROUPS, ExperimentConfig
from negoray.evolution.backend import Phase
from negoray.evolution.market import death_count
from negoray.fmt import json_number
from negoray.plan.assumptions import Assumptions
from negoray.tasks.negotiation.seeds import SEED_STRATEGIES

PHASES = (Phase.EVAL, Phase.MUTATION, Phase.GATING, Phase.TEST, Phase.BASELINE)
"""The planner's phases: what the negotiations (or, for mutation, the calls) are for."""


@dataclass(frozen=True)
class Volume:
    negotiations: float = 0.0
    calls: float = 0.0
    prompt_tokens: float = 0.0
    completion_tokens: float = 0.0

    @property
    def tokens(self) -> float:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Volume) -> Volume:
        return Volume(self.negotiations + other.negotiations, self.calls + other.calls,
                      self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)

    def scaled(self, k: float) -> Volume:
        return Volume(self.negotiations * k, self.calls * k, self.prompt_tokens * k, self.completion_tokens * k)

    def to_dict(self) -> dict[str, Any]:
        return {"negotiations": json_number(self.negotiations), "calls": json_number(self.calls),
                "prompt_tokens": json_number(self.prompt_tokens), "completion_tokens": json_number(self.completion_tokens),
                "tokens": json_number(self.tokens)}


Breakdown = dict[str, Volume]
"""Volume by phase (`PHASES`)."""


def total(b: Mapping[str, Volume]) -> Volume:
    out = Volume()
    for v in b.values():
        out = out + v
    return out


def add_breakdowns(a: Mapping[str, Volume], b: Mapping[str, Volume], k: float = 1.0) -> Breakdown:
    """``a + k * b``, phase by phase."""
    return {p: a.get(p, Volume()) + b.get(p, Volume()).scaled(k) for p in PHASES}


def empty_breakdown() -> Breakdown:
    """Every phase at zero."""
    return {p: Volume() for p in PHASES}


def negotiations_volume(n: float, a: Assumptions) -> Volume:
    calls = n * a.calls_per_negotiation
    return Volume(n, calls, calls * a.prompt_tokens, calls * a.completion_tokens)


def mutation_volume(k: float, a: Assumptions) -> Volume:
    return Volume(0.0, k, k * a.mutation_prompt_tokens, k * a.mutation_completion_tokens)


def selection_of(group: str, a: Assumptions) -> str:
    return "tournament" if a.groups_alike else GROUPS[group][0]


def mutation_slots(config: ExperimentConfig, group: str, a: Assumptions) -> int:
    """Agents replaced by mutation after a generation (what `Evolution._next_population` does)."""
    p, e = config.population, config.elites
    if selection_of(group, a) == "tournament":
        return p - e
    return death_count(p, e, config.market.death_fraction)


def gating_negotiations(config: ExperimentConfig, group: str, a: Assumptions) -> int:
    """Gating negotiations after a generation: each child (and its parent) on the val subset.

    An upper bound for negoray: a parent gating two children plays a shared scenario once, and a
    child whose mutation failed is a clone and is not gated."""
    if selection_of(group, a) != "tournament":
        return 0
    n = a.gating_scenarios if a.gating_scenarios is not None else config.gating_scenarios
    return mutation_slots(config, group, a) * n * (2 if a.gate_parent else 1)


def generation_breakdown(config: ExperimentConfig, group: str, generation: int, a: Assumptions) -> Breakdown:
    """What generation ``generation`` (0-based) of a run of ``group`` plays and calls."""
    last = generation == config.generations - 1
    b = empty_breakdown()
    b["eval"] = negotiations_volume(config.population * config.scenarios.dev, a)
    if not last or a.mutate_last_generation:
        b["mutation"] = mutation_volume(mutation_slots(config, group, a), a)
        b["gating"] = negotiations_volume(gating_negotiations(config, group, a), a)
    if last and a.include_test:
        b["test"] = negotiations_volume(config.scenarios.test, a)
    return b


def run_breakdown(config: ExperimentConfig, group: str, a: Assumptions) -> Breakdown:
    out = empty_breakdown()
    for g in range(config.generations):
        out = add_breakdowns(out, generation_breakdown(config, group, g, a))
    return out


def baseline_breakdown(config: ExperimentConfig, a: Assumptions) -> Breakdown:
    b = empty_breakdown()
    if a.include_baseline:
        b["baseline"] = negotiations_volume(len(SEED_STRATEGIES) * config.scenarios.test, a)
    return b
