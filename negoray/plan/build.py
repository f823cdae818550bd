"""The plan: volumes per group, per generation, per run and in all, and each provider's cost and
minimum wall time (`make_plan`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from negoray.config import ExperimentConfig
from negoray.fmt import json_number
from negoray.llm.providers import PROVIDERS, ProviderSpec
from negoray.plan.assumptions import Assumptions, PlanError
from negoray.plan.costs import ProviderPlan, provider_plan
from negoray.plan.volumes import (Breakdown, add_breakdowns, baseline_breakdown, empty_breakdown, gating_negotiations,
                                  generation_breakdown, mutation_slots, run_breakdown, selection_of, total)

DEFAULT_PROVIDERS = ("sim", "lmstudio", "vllm", "groq", "groq-free", "together", "openrouter", "openai", "anthropic")



@dataclass(frozen=True)
class GroupPlan:
    group: str
    selection: str
    runs: int
    mutation_slots: int
    gating_negotiations: int
    per_generation: Breakdown
    """A generation that mutates (not the last)."""
    per_run: Breakdown


@dataclass(frozen=True)
class Plan:
    config: ExperimentConfig
    assumptions: Assumptions
    groups: dict[str, GroupPlan]
    per_generation: Breakdown
    """A mutating generation, the mean over the experiment's runs."""
    per_run: Breakdown
    """One run, the mean over the experiment's runs (the baseline is not part of a run)."""
    total: Breakdown
    """The whole experiment, baseline included."""
    providers: list[ProviderPlan]
    n_runs: int

    def to_dict(self) -> dict[str, Any]:
        g, r, t = total(self.per_generation), total(self.per_run), total(self.total)
        return {
            "config": self.config.name,
            "runs": self.n_runs,
            "generations": self.config.generations,
            "population": self.config.population,
            "groups": list(self.config.groups),
            "calls_per_generation": json_number(g.calls),
            "calls_per_run": json_number(r.calls),
            "calls_total": json_number(t.calls),
            "negotiations_per_generation": json_number(g.negotiations),
            "negotiations_per_run": json_number(r.negotiations),
            "negotiations_total": json_number(t.negotiations),
            "tokens_per_generation": json_number(g.tokens),
            "tokens_per_run": json_number(r.tokens),
            "tokens_total": json_number(t.tokens),
            "prompt_tokens_total": json_number(t.prompt_tokens),
            "completion_tokens_total": json_number(t.completion_tokens),
            "assumptions": self.assumptions.to_dict(),
            "breakdown": {
                "per_generation": {p: v.to_dict() for p, v in self.per_generation.items()},
                "per_run": {p: v.to_dict() for p, v in self.per_run.items()},
                "total": {p: v.to_dict() for p, v in self.total.items()},
            },
            "per_group": {
                name: {"selection": gp.selection, "runs": gp.runs, "mutation_slots": gp.mutation_slots,
                       "gating_negotiations_per_generation": gp.gating_negotiations,
                       "per_generation": total(gp.per_generation).to_dict(), "per_run": total(gp.per_run).to_dict()}
                for name, gp in self.groups.items()
            },
            "providers": [p.to_dict() for p in self.providers],
        }


def make_plan(config: ExperimentConfig, a: Assumptions, providers: Iterable[ProviderSpec] = ()) -> Plan:
    runs = config.runs()
    if not runs:
        raise PlanError("--config: the config has no runs")
    groups: dict[str, GroupPlan] = {}
    for _, group, _ in runs:
        if group not in groups:
            mutating = 0 if config.generations > 1 or a.mutate_last_generation else None
            per_gen = generation_breakdown(config, group, mutating if mutating is not None else 0, a)
            groups[group] = GroupPlan(group, selection_of(group, a), 0, mutation_slots(config, group, a),
                                      gating_negotiations(config, group, a), per_gen, run_breakdown(config, group, a))
        groups[group] = dataclasses.replace(groups[group], runs=groups[group].runs + 1)
    n = len(runs)
    per_generation, per_run, everything = empty_breakdown(), empty_breakdown(), empty_breakdown()
    for gp in groups.values():
        per_generation = add_breakdowns(per_generation, gp.per_generation, gp.runs / n)
        per_run = add_breakdowns(per_run, gp.per_run, gp.runs / n)
        everything = add_breakdowns(everything, gp.per_run, gp.runs)
    everything = add_breakdowns(everything, baseline_breakdown(config, a))
    t = total(everything)
    plans = [provider_plan(config, spec, t, a) for spec in providers]
    return Plan(config, a, groups, per_generation, per_run, everything, plans, n)


def resolve_providers(names: Sequence[str] | None, profiles: Mapping[str, ProviderSpec] | None = None) -> list[ProviderSpec]:
    """Provider specs by name (built in or from profiles); an unknown name names ``--provider``."""
    known = {**PROVIDERS, **(profiles or {})}
    if not names:
        names = [*DEFAULT_PROVIDERS, *[p for p in (profiles or {}) if p not in DEFAULT_PROVIDERS]]
    out = []
    for name in dict.fromkeys(names):
        if name not in known:
            raise PlanError(f"--provider: unknown provider {name!r}; known: {', '.join(sorted(known))}")
        out.append(known[name])
    return out
