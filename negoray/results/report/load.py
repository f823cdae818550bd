"""Loading a results directory into typed data: `load_results(dir)` -> `Results` (one `RunResults` per
run, the seed baselines, usage by phase), plus the tallies the figures and sections share.

For notebooks::

    from negoray.results.report import load_results
    results = load_results("results/full_12x10")
    [r.test_score for r in results.runs_of("C")]
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from negoray.config import GROUPS, ExperimentConfig
from negoray.evolution.backend import Phase
from negoray.results.report.common import PLANNED_RUNS, as_float, nanmean, run_key
from negoray.results.concurrency import read_concurrency_history
from negoray.results.schema import CALL_PHASES, OUTCOMES, PHASES, SCORED, group_of
from negoray.results.stats import hhi
from negoray.results.writer import read_table


@dataclass
class RunResults:
    """One run (group x seed) as the results tables record it."""

    run_id: str
    group: str | None
    """The V7 group (A-D); None when neither the tables nor the run id name one."""
    gens: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Generation -> its row of the ``generations`` table (finished generations only)."""
    lineage_hhi: dict[int, float] = field(default_factory=dict)
    """Generation -> HHI of the population's seed lineages (1: one lineage)."""
    lineage_count: dict[int, int] = field(default_factory=dict)
    """Generation -> distinct seed lineages in the population."""
    test_score: float | None = None
    """Mean normalized test score of the run's tested (best) agent; None before the test phase."""
    test_agent: str | None = None
    test_n: int = 0
    """Test negotiations of that agent."""
    test_errors: int = 0
    """Of which infrastructure errors (never scored)."""

    @property
    def last(self) -> int | None:
        """The last finished generation (None: none yet)."""
        return max(self.gens) if self.gens else None

    def final(self, column: str) -> float:
        """``column`` of the last finished generation (NaN: none, or not recorded)."""
        return as_float(self.gens[self.last].get(column)) if self.gens else float("nan")

    def lineages(self, g: int) -> float:
        """Distinct lineages of generation ``g``: the generations table's, else counted from the agents."""
        v = self.gens[g].get("diversity_lineages") if g in self.gens else None
        return float(v) if v is not None else float(self.lineage_count.get(g, float("nan")))

    def over_generations(self, value: Callable[[int], float]) -> float:
        """Mean over generations after 0 (all seeds start equal), or generation 0 alone."""
        gens = [g for g in self.gens if g > 0] or list(self.gens)
        return nanmean(value(g) for g in gens)


@dataclass
class Results:
    """A results directory, loaded (`load_results`): the rows the report reads, and per-run summaries."""

    negotiations: list[dict[str, Any]]
    """Rows of the ``negotiations`` table (the columns the report reads)."""
    agents: list[dict[str, Any]]
    """Rows of the ``agents`` table (run, agent, generation, lineage, fitness, market clients)."""
    generations: list[dict[str, Any]]
    """Rows of the ``generations`` table, every column."""
    usage: dict[str, dict[str, float]]
    """Phase -> calls, prompt/completion/reasoning tokens, cache hits, failed calls, dollars (NaN: unknown)."""
    runs: dict[str, RunResults]
    """Run id -> its summary (every run any table mentions, the baseline excepted)."""
    baselines: dict[str, tuple[float, int, int]]
    """seed style -> (mean test score, negotiations, errors)"""
    config: dict[str, Any] = field(default_factory=dict)
    """The experiment's ``config.json`` (empty if the results directory has none)."""
    concurrency: list[dict[str, Any]] = field(default_factory=list)
    """The adaptive concurrency limits over time (`negoray.results.concurrency`; [] if none)."""
    noun: str = "negotiation"
    """The task's word for one record (`negoray.tasks.base.record_noun`; `write_report` sets it from the task)."""

    @property
    def task_name(self) -> str:
        """The experiment's task, as ``config.json`` names it (none: V7's negotiation)."""
        return ExperimentConfig(task=self.config.get("task", "negotiation")).task_name

    @property
    def negotiation(self) -> bool:
        """Whether the records are V7's negotiations (turns, deals and V7's plan apply)."""
        return self.task_name == "negotiation"

    @property
    def planned_groups(self) -> list[str]:
        """The groups the report expects: V7's four for negotiations, the config's ``groups`` for another task."""
        return list(GROUPS) if self.negotiation else list(self.config.get("groups", GROUPS))

    @property
    def planned_runs(self) -> int:
        """Runs per group the report counts against: V7's plan for negotiations, the config's
        ``runs_per_group`` for another task."""
        return PLANNED_RUNS if self.negotiation else int(self.config.get("runs_per_group", PLANNED_RUNS))

    def groups(self) -> list[str]:
        """The groups with at least one finished generation, sorted."""
        return sorted({r.group for r in self.runs.values() if r.group and r.gens})

    def runs_of(self, group: str) -> list[RunResults]:
        """The group's runs in run-id order (C2 before C10)."""
        return sorted((r for r in self.runs.values() if r.group == group), key=lambda r: run_key(r.run_id))

    def tested(self, group: str) -> list[float]:
        """The test scores of the group's runs that have one."""
        return [r.test_score for r in self.runs_of(group) if r.test_score is not None]

    def final_best(self, group: str) -> list[float]:
        """The best dev fitness of each of the group's runs in its last finished generation."""
        return [v for r in self.runs_of(group) if not math.isnan(v := r.final("best_fitness"))]


_NEG_COLUMNS = ["run_id", "group", "generation", "agent_id", "phase", "outcome", "normalized_score",
                "prompt_tokens", "completion_tokens", "cost_usd", "calls", "cache_hits",
                "turns", "agent_unparseable", "opponent_unparseable", "truncated"]


def _usage_by_phase(root: Path, negotiations: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """phase -> calls, prompt/completion tokens, cache hits, failed calls, dollars (NaN: unknown)."""
    calls = read_table(root, "calls", ["phase", "prompt_tokens", "completion_tokens", "cache_hit", "status", "cost_usd",
                                       "reasoning_tokens", "cached_prompt_tokens"])
    usage: dict[str, dict[str, float]] = {}
    if calls.num_rows:
        calls = calls.append_column("failed", pc.cast(pc.equal(calls["status"], "failed"), pa.int64()))
        calls = calls.set_column(calls.schema.get_field_index("cache_hit"), "cache_hit", pc.cast(calls["cache_hit"], pa.int64()))
        for r in calls.group_by("phase").aggregate([
            ("phase", "count"), ("prompt_tokens", "sum"), ("completion_tokens", "sum"), ("cache_hit", "sum"),
            ("failed", "sum"), ("cost_usd", "sum"), ("cost_usd", "count"), ("reasoning_tokens", "sum"),
            ("cached_prompt_tokens", "sum"),
        ]).to_pylist():
            usage[r["phase"]] = {
                "calls": r["phase_count"], "prompt_tokens": r["prompt_tokens_sum"],
                "completion_tokens": r["completion_tokens_sum"], "cache_hits": r["cache_hit_sum"],
                "failed": r["failed_sum"], "cost_usd": r["cost_usd_sum"] if r["cost_usd_count"] else float("nan"),
                "reasoning_tokens": r["reasoning_tokens_sum"] or 0,
                "cached_prompt_tokens": r["cached_prompt_tokens_sum"] or 0,
            }
    # Dollars of negotiation phases come from the negotiations table (priced when written).
    by_phase: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n in negotiations:
        by_phase[n["phase"]].append(n)
    for phase, rows in by_phase.items():
        costs = [n["cost_usd"] for n in rows if n["cost_usd"] is not None]
        entry = usage.setdefault(phase, {
            "calls": sum(n["calls"] for n in rows), "prompt_tokens": sum(n["prompt_tokens"] for n in rows),
            "completion_tokens": sum(n["completion_tokens"] for n in rows),
            "cache_hits": sum(n["cache_hits"] for n in rows), "failed": float("nan"), "cost_usd": float("nan"),
        })
        if costs:
            entry["cost_usd"] = sum(costs)
    return usage


def load_results(root: Path | str) -> Results:
    """Read the Parquet tables and ``config.json`` under ``root`` into `Results` (a partial experiment
    loads too: what is missing is simply absent)."""
    root = Path(root)
    negotiations = read_table(root, "negotiations", _NEG_COLUMNS).to_pylist()
    agents_t = read_table(root, "agents", ["run_id", "group", "agent_id", "generation", "lineage", "dev_fitness",
                                           "market_clients"])
    agents = agents_t.to_pylist()
    generations = read_table(root, "generations").to_pylist()
    call_runs = read_table(root, "calls", ["run_id", "phase"])
    call_runs = call_runs.filter(pc.not_equal(call_runs["phase"], Phase.BASELINE))
    call_run_ids = set(pc.unique(call_runs["run_id"]).to_pylist()) if call_runs.num_rows else set()

    runs: dict[str, RunResults] = {}

    def run(run_id: str, group: str | None) -> RunResults:
        r = runs.setdefault(run_id, RunResults(run_id, group or group_of(run_id)))
        if r.group is None and group:
            r.group = group
        return r

    for g in generations:
        run(g["run_id"], g["group"]).gens[g["generation"]] = g
    members: dict[tuple[str, int], list[str]] = defaultdict(list)
    fitness: dict[str, float] = {}
    for a in agents:
        run(a["run_id"], a["group"])
        members[(a["run_id"], a["generation"])].append(a["lineage"])
        if a["dev_fitness"] is not None:
            fitness[a["agent_id"]] = a["dev_fitness"]
    for (run_id, gen), lineages in members.items():
        runs[run_id].lineage_count[gen] = len(set(lineages))
        runs[run_id].lineage_hhi[gen] = hhi(list(Counter(lineages).values()))
    for n in negotiations:
        if n["phase"] != Phase.BASELINE:
            run(n["run_id"], n["group"])
    for run_id in call_run_ids:
        run(run_id, None)

    test_rows: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    baseline_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n in negotiations:
        if n["phase"] == Phase.TEST:
            test_rows[n["run_id"]][n["agent_id"]].append(n)
        elif n["phase"] == Phase.BASELINE:
            baseline_rows[n["agent_id"]].append(n)
    for run_id, by_agent in test_rows.items():
        # The run's best agent is the one tested; if several were, the one with the best dev fitness.
        agent = max(sorted(by_agent), key=lambda a: (fitness.get(a, float("-inf")), len(by_agent[a])))
        rows = by_agent[agent]
        r = runs[run_id]
        r.test_agent, r.test_n = agent, len(rows)
        r.test_errors = sum(1 for n in rows if n["outcome"] == "error")
        score = nanmean(n["normalized_score"] for n in rows)
        r.test_score = None if math.isnan(score) else score
    baselines = {
        style: (nanmean(n["normalized_score"] for n in rows), len(rows), sum(1 for n in rows if n["outcome"] == "error"))
        for style, rows in sorted(baseline_rows.items())
    }
    config_path = root / "config.json"
    config = json.loads(config_path.read_text()) if config_path.exists() else {}
    return Results(negotiations, agents, generations, _usage_by_phase(root, negotiations), runs, baselines, config,
                   read_concurrency_history(root))


def gating_rate(r: RunResults, g: int) -> float:
    row = r.gens[g]
    attempts, accepted = row.get("gating_attempts"), row.get("gating_accepted")
    return float("nan") if not attempts or accepted is None else accepted / attempts


def gating_by_group(data: Results, group: str) -> list[tuple[int, int, int]]:
    """(generation, attempts, accepted) summed over the group's runs."""
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in data.runs_of(group):
        for g, row in r.gens.items():
            if row.get("gating_attempts"):
                sums[g][0] += row["gating_attempts"]
                sums[g][1] += row.get("gating_accepted") or 0
    return [(g, a, b) for g, (a, b) in sorted(sums.items())]


def outcome_mix(data: Results) -> list[tuple[str, Counter[str]]]:
    """Per group and phase: negotiations by outcome, plus the turns played (``turns``) and those lost
    to unparseable (``unparseable``) and truncated (``truncated``) replies."""
    mix: dict[tuple[str, int, str], Counter[str]] = defaultdict(Counter)
    order = {p: i for i, p in enumerate(PHASES)}
    for n in data.negotiations:
        group = "seed" if n["phase"] == Phase.BASELINE else (n["group"] or group_of(n["run_id"]) or "?")
        c = mix[(group, order.get(n["phase"], 99), n["phase"])]
        c[n["outcome"]] += 1
        c["turns"] += n.get("turns") or 0
        c["unparseable"] += (n.get("agent_unparseable") or 0) + (n.get("opponent_unparseable") or 0)
        c["truncated"] += n.get("truncated") or 0  # null in results written before the column existed
    return [(f"{g} {p}", c) for (g, _, p), c in sorted(mix.items())]


_PLAYED = ("turns", "unparseable", "truncated")
"""The keys of an `outcome_mix` counter that are not outcomes."""


def negotiation_count(c: Counter[str]) -> int:
    return sum(n for key, n in c.items() if key not in _PLAYED)


def outcomes_shown(mix: Sequence[tuple[str, Counter[str]]]) -> list[str]:
    """The outcomes a report shows: a task's own that its records have (negotiation: agreed, timeout),
    ``error`` always, and ``scored`` only where there are some."""
    own = sorted({key for _, c in mix for key in c if key not in _PLAYED} - set(OUTCOMES))
    return [*own, *(o for o in OUTCOMES if o != SCORED or any(c[SCORED] for _, c in mix))]


def phase_order(phases: Iterable[str]) -> list[str]:
    order = {p: i for i, p in enumerate(CALL_PHASES)}
    return sorted(phases, key=lambda p: (order.get(p, 99), p))
