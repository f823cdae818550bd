"""``negoray plan --check``: the plan against a results directory, phase by phase."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from negoray.evolution.backend import NEGOTIATION_PHASES
from negoray.fmt import json_number
from negoray.plan.build import Plan
from negoray.plan.volumes import (PHASES, Volume, add_breakdowns, baseline_breakdown, empty_breakdown,
                                  generation_breakdown)


@dataclass(frozen=True)
class CheckRow:
    phase: str
    planned: Volume
    """The whole plan."""
    planned_done: Volume
    """The plan for what the results directory says finished."""
    actual: Volume

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "planned": self.planned.to_dict(), "planned_done": self.planned_done.to_dict(),
                "actual": self.actual.to_dict(),
                "ratio": {k: ratio(getattr(self.actual, k), getattr(self.planned_done, k))
                          for k in ("negotiations", "calls", "prompt_tokens", "completion_tokens")}}


@dataclass(frozen=True)
class CheckResult:
    root: str
    rows: list[CheckRow]
    generations_planned: int
    generations_done: int
    missing: dict[str, list[int]]
    """Run id -> the generations not (completely) written."""
    missing_test: list[str]
    baseline_done: bool
    measured: dict[str, float | None]
    """Calls per negotiation, prompt and completion tokens per negotiation call, as recorded."""
    cache_hits: int

    def to_dict(self) -> dict[str, Any]:
        return {"results": self.root, "rows": [r.to_dict() for r in self.rows],
                "generations_planned": self.generations_planned, "generations_done": self.generations_done,
                "missing": {k: v for k, v in self.missing.items() if v}, "missing_test": self.missing_test,
                "baseline_done": self.baseline_done, "measured": {k: json_number(v) for k, v in self.measured.items()},
                "cache_hits": self.cache_hits}


def check(root: Path | str, plan: Plan) -> CheckResult:
    """Compare ``plan`` with the Parquet tables under ``root`` (negotiations by phase, mutation
    calls, finished generations)."""
    import pyarrow.compute as pc

    from negoray.results.writer import read_table

    config, a = plan.config, plan.assumptions
    neg = read_table(root, "negotiations", ["run_id", "generation", "phase", "calls", "cache_hits",
                                              "prompt_tokens", "completion_tokens"])
    calls = read_table(root, "calls", ["phase", "prompt_tokens", "completion_tokens"])
    gens = read_table(root, "generations", ["run_id", "generation"])
    actual: dict[str, Volume] = {}
    phases = neg.column("phase").to_pylist()
    n_calls = neg.column("calls").to_pylist()
    pt = neg.column("prompt_tokens").to_pylist()
    ct = neg.column("completion_tokens").to_pylist()
    for p in NEGOTIATION_PHASES:
        idx = [i for i, x in enumerate(phases) if x == p]
        actual[p] = Volume(len(idx), sum(n_calls[i] for i in idx), sum(pt[i] for i in idx), sum(ct[i] for i in idx))
    mut = calls.filter(pc.equal(calls.column("phase"), "mutation"))
    actual["mutation"] = Volume(0, mut.num_rows, sum(mut.column("prompt_tokens").to_pylist()),
                                sum(mut.column("completion_tokens").to_pylist()))
    done = set(zip(gens.column("run_id").to_pylist(), gens.column("generation").to_pylist()))
    planned_done = empty_breakdown()
    missing: dict[str, list[int]] = {}
    missing_test = []
    for run_id, group, _ in config.runs():
        missing[run_id] = [g for g in range(config.generations) if (run_id, g) not in done]
        for g in range(config.generations):
            if (run_id, g) in done:
                planned_done = add_breakdowns(planned_done, generation_breakdown(config, group, g, a))
        if a.include_test and (run_id, config.generations - 1) not in done:
            missing_test.append(run_id)
    baseline_done = actual["baseline"].negotiations > 0
    if baseline_done:
        planned_done = add_breakdowns(planned_done, baseline_breakdown(config, a))
    rows = [CheckRow(p, plan.total[p], planned_done[p], actual[p]) for p in PHASES]
    negotiation_calls = sum(actual[p].calls for p in NEGOTIATION_PHASES)
    negotiations = sum(actual[p].negotiations for p in NEGOTIATION_PHASES)
    measured = {
        "calls_per_negotiation": negotiation_calls / negotiations if negotiations else None,
        "prompt_tokens_per_call": sum(actual[p].prompt_tokens for p in NEGOTIATION_PHASES) / negotiation_calls
        if negotiation_calls else None,
        "completion_tokens_per_call": sum(actual[p].completion_tokens for p in NEGOTIATION_PHASES) / negotiation_calls
        if negotiation_calls else None,
    }
    return CheckResult(str(root), rows, config.generations * len(config.runs()),
                       sum(1 for r, _, _ in config.runs() for g in range(config.generations) if (r, g) in done),
                       missing, missing_test, baseline_done, measured, int(sum(neg.column("cache_hits").to_pylist())))


def ratio(actual: float, planned: float) -> float | None:
    """``actual / planned`` rounded to 4 places; None when nothing was planned."""
    return round(actual / planned, 4) if planned else None
