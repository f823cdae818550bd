"""The experiment report: ``report.md`` plus PNG figures, from the Parquet results (and the
experiment's ``config.json`` for the settings it states, V7's defaults where there is none).

It works on a partial experiment: what is missing (groups, runs without a finished generation,
runs behind the others, the test phase, the seed baselines) is listed at the top, and every
figure or test that cannot be computed yet is skipped with a line saying why.
"""

from __future__ import annotations

import json
import logging
import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from negoray.config import GROUPS, ExperimentConfig
from negoray.evolution.market import death_count
from negoray.results.schema import CALL_PHASES, OUTCOMES, PHASES, group_of
from negoray.results.stats import Comparison, hhi, min_detectable_d, permutations, power
from negoray.results.writer import read_table

log = logging.getLogger(__name__)

FIGURES = {
    "generation_curves": "Best and mean dev fitness per generation (mean over runs; band: min..max over runs)",
    "test_scores": "Test score of each run's best agent per group, next to the eight seed baselines",
    "gating": "Gating acceptance rate per generation (tournament groups)",
    "diversity": "Distinct lineages, lineage concentration (HHI) and prompt similarity per generation",
    "market_concentration": "Market revenue concentration (Gini, HHI) per generation (market groups)",
    "outcomes": "Outcome mix (agreed / timeout / error) per group and phase",
    "usage": "Tokens and dollars by phase",
}
"""Figure name (``figures/{name}.png``) -> what it shows."""

PLANNED_RUNS = 3
COLORS = {"A": "tab:blue", "B": "tab:orange", "C": "tab:green", "D": "tab:red"}
OUTCOME_COLORS = {"agreed": "tab:green", "timeout": "tab:gray", "error": "tab:red"}
MARKET = tuple(g for g, (sel, _) in GROUPS.items() if sel == "market")
TOURNAMENT = tuple(g for g, (sel, _) in GROUPS.items() if sel == "tournament")


def group_label(group: str) -> str:
    sel, mut = GROUPS.get(group, ("?", "?"))
    return f"{group} ({sel} × {mut})"


def _num(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _mean(values: Iterable[float | None]) -> float:
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return statistics.fmean(xs) if xs else float("nan")


def _sd(values: Sequence[float]) -> float:
    xs = [v for v in values if not math.isnan(v)]
    return statistics.stdev(xs) if len(xs) > 1 else float("nan")


def _f(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _run_key(run_id: str) -> tuple[str, int, str]:
    m = re.match(r"^(\D*)(\d+)(.*)$", run_id)
    return (m.group(1), int(m.group(2)), m.group(3)) if m else (run_id, -1, "")


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    rows = [[str(c) for c in r] for r in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines + [""]


# --------------------------------------------------------------------------- data


@dataclass
class _Run:
    run_id: str
    group: str | None
    gens: dict[int, dict[str, Any]] = field(default_factory=dict)
    lineage_hhi: dict[int, float] = field(default_factory=dict)
    lineage_count: dict[int, int] = field(default_factory=dict)
    test_score: float | None = None
    test_agent: str | None = None
    test_n: int = 0
    test_errors: int = 0

    @property
    def last(self) -> int | None:
        return max(self.gens) if self.gens else None

    def final(self, column: str) -> float:
        return _num(self.gens[self.last].get(column)) if self.gens else float("nan")

    def lineages(self, g: int) -> float:
        v = self.gens[g].get("diversity_lineages") if g in self.gens else None
        return float(v) if v is not None else float(self.lineage_count.get(g, float("nan")))

    def over_generations(self, value: Callable[[int], float]) -> float:
        """Mean over generations after 0 (all seeds start equal), or generation 0 alone."""
        gens = [g for g in self.gens if g > 0] or list(self.gens)
        return _mean(value(g) for g in gens)


@dataclass
class _Data:
    negotiations: list[dict[str, Any]]
    agents: list[dict[str, Any]]
    generations: list[dict[str, Any]]
    usage: dict[str, dict[str, float]]
    runs: dict[str, _Run]
    baselines: dict[str, tuple[float, int, int]]
    """seed style -> (mean test score, negotiations, errors)"""
    config: dict[str, Any] = field(default_factory=dict)
    """The experiment's ``config.json`` (empty if the results directory has none)."""

    def groups(self) -> list[str]:
        return sorted({r.group for r in self.runs.values() if r.group and r.gens})

    def runs_of(self, group: str) -> list[_Run]:
        return sorted((r for r in self.runs.values() if r.group == group), key=lambda r: _run_key(r.run_id))

    def tested(self, group: str) -> list[float]:
        return [r.test_score for r in self.runs_of(group) if r.test_score is not None]

    def final_best(self, group: str) -> list[float]:
        return [v for r in self.runs_of(group) if not math.isnan(v := r.final("best_fitness"))]


_NEG_COLUMNS = ["run_id", "group", "generation", "agent_id", "phase", "outcome", "normalized_score",
                "prompt_tokens", "completion_tokens", "cost_usd", "calls", "cache_hits",
                "turns", "agent_unparseable", "opponent_unparseable", "truncated"]


def _usage_by_phase(root: Path, negotiations: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """phase -> calls, prompt/completion tokens, cache hits, failed calls, dollars (NaN: unknown)."""
    calls = read_table(root, "calls", ["phase", "prompt_tokens", "completion_tokens", "cache_hit", "status", "cost_usd",
                                       "reasoning_tokens"])
    usage: dict[str, dict[str, float]] = {}
    if calls.num_rows:
        calls = calls.append_column("failed", pc.cast(pc.equal(calls["status"], "failed"), pa.int64()))
        calls = calls.set_column(calls.schema.get_field_index("cache_hit"), "cache_hit", pc.cast(calls["cache_hit"], pa.int64()))
        for r in calls.group_by("phase").aggregate([
            ("phase", "count"), ("prompt_tokens", "sum"), ("completion_tokens", "sum"), ("cache_hit", "sum"),
            ("failed", "sum"), ("cost_usd", "sum"), ("cost_usd", "count"), ("reasoning_tokens", "sum"),
        ]).to_pylist():
            usage[r["phase"]] = {
                "calls": r["phase_count"], "prompt_tokens": r["prompt_tokens_sum"],
                "completion_tokens": r["completion_tokens_sum"], "cache_hits": r["cache_hit_sum"],
                "failed": r["failed_sum"], "cost_usd": r["cost_usd_sum"] if r["cost_usd_count"] else float("nan"),
                "reasoning_tokens": r["reasoning_tokens_sum"] or 0,
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


def _load(root: Path) -> _Data:
    negotiations = read_table(root, "negotiations", _NEG_COLUMNS).to_pylist()
    agents_t = read_table(root, "agents", ["run_id", "group", "agent_id", "generation", "lineage", "dev_fitness",
                                           "market_clients"])
    agents = agents_t.to_pylist()
    generations = read_table(root, "generations").to_pylist()
    call_runs = read_table(root, "calls", ["run_id", "phase"])
    call_runs = call_runs.filter(pc.not_equal(call_runs["phase"], "baseline"))
    call_run_ids = set(pc.unique(call_runs["run_id"]).to_pylist()) if call_runs.num_rows else set()

    runs: dict[str, _Run] = {}

    def run(run_id: str, group: str | None) -> _Run:
        r = runs.setdefault(run_id, _Run(run_id, group or group_of(run_id)))
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
        if n["phase"] != "baseline":
            run(n["run_id"], n["group"])
    for run_id in call_run_ids:
        run(run_id, None)

    test_rows: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    baseline_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n in negotiations:
        if n["phase"] == "test":
            test_rows[n["run_id"]][n["agent_id"]].append(n)
        elif n["phase"] == "baseline":
            baseline_rows[n["agent_id"]].append(n)
    for run_id, by_agent in test_rows.items():
        # The run's best agent is the one tested; if several were, the one with the best dev fitness.
        agent = max(sorted(by_agent), key=lambda a: (fitness.get(a, float("-inf")), len(by_agent[a])))
        rows = by_agent[agent]
        r = runs[run_id]
        r.test_agent, r.test_n = agent, len(rows)
        r.test_errors = sum(1 for n in rows if n["outcome"] == "error")
        score = _mean(n["normalized_score"] for n in rows)
        r.test_score = None if math.isnan(score) else score
    baselines = {
        style: (_mean(n["normalized_score"] for n in rows), len(rows), sum(1 for n in rows if n["outcome"] == "error"))
        for style, rows in sorted(baseline_rows.items())
    }
    config_path = root / "config.json"
    config = json.loads(config_path.read_text()) if config_path.exists() else {}
    return _Data(negotiations, agents, generations, _usage_by_phase(root, negotiations), runs, baselines, config)


# --------------------------------------------------------------------------- missing


def _missing(data: _Data) -> list[str]:
    out: list[str] = []
    present = data.groups()
    absent = [g for g in GROUPS if g not in present]
    if absent:
        out.append("Groups with no finished generation: " + ", ".join(group_label(g) for g in absent) + ".")
    unknown = sorted({r.group or "?" for r in data.runs.values() if r.group not in GROUPS})
    if unknown:
        out.append(f"Runs whose group is not a V7 group: {', '.join(unknown)}.")
    for g in present:
        n = len([r for r in data.runs_of(g) if r.gens])
        if n < PLANNED_RUNS:
            out.append(f"Group {g} has {n} run(s) with results; V7 plans {PLANNED_RUNS}.")
    empty = sorted((r.run_id for r in data.runs.values() if not r.gens), key=_run_key)
    if empty:
        out.append("Runs without any finished generation (data in other tables only): " + ", ".join(empty) + ".")
    lasts = [r.last for r in data.runs.values() if r.gens]
    if lasts:
        top = max(lasts)
        behind = sorted((r for r in data.runs.values() if r.gens and r.last < top), key=lambda r: _run_key(r.run_id))
        if behind:
            out.append(f"Runs behind the furthest one (generation {top}): "
                       + ", ".join(f"{r.run_id} (at {r.last})" for r in behind) + ".")
        for r in sorted(data.runs.values(), key=lambda r: _run_key(r.run_id)):
            gaps = [g for g in range(0, r.last + 1) if g not in r.gens] if r.gens else []
            if gaps:
                out.append(f"Run {r.run_id} is missing generation(s) {', '.join(map(str, gaps))}.")
    with_gens = [r for r in data.runs.values() if r.gens]
    untested = sorted((r.run_id for r in with_gens if r.test_score is None), key=_run_key)
    if with_gens and len(untested) == len(with_gens):
        out.append("No test phase yet: no run's best agent has played the test split.")
    elif untested:
        out.append("Runs without a test score yet: " + ", ".join(untested) + ".")
    try:
        from negoray.evolution.seeds import SEED_STRATEGIES

        styles = list(SEED_STRATEGIES)
    except Exception:  # pragma: no cover - the seeds module is part of negoray
        styles = []
    if not data.baselines:
        out.append("No seed baselines yet (phase `baseline`).")
    elif styles and (lacking := [s for s in styles if s not in data.baselines]):
        out.append("Seed baselines missing for: " + ", ".join(lacking) + ".")
    blocked = []
    if not (data.tested("A") and data.tested("D")):
        blocked.append("H1 (needs test scores of A and D)")
    if not (any(data.runs_of(g) and any(r.gens for r in data.runs_of(g)) for g in MARKET)
            and any(any(r.gens for r in data.runs_of(g)) for g in TOURNAMENT)):
        blocked.append("H2 (needs finished generations of a market and a tournament group)")
    if not (data.tested("C") and any(data.tested(g) for g in GROUPS if g != "C")):
        blocked.append("H3 (needs test scores of C and at least one other group)")
    if blocked:
        out.append("Hypotheses that cannot be tested yet: " + "; ".join(blocked) + ".")
    return out


# --------------------------------------------------------------------------- figures


def _figure(nrows: int = 1, ncols: int = 1, *, size: tuple[float, float] = (7, 4.5), **kw: Any) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _by_generation(runs: Sequence[_Run], value: Callable[[_Run, int], float]) -> tuple[list[int], list[float], list[float], list[float]]:
    """Generations, and per generation the mean, min and max of ``value`` over the runs that have it."""
    gens = sorted({g for r in runs for g in r.gens})
    xs, mean, lo, hi = [], [], [], []
    for g in gens:
        vals = [v for r in runs if g in r.gens and not math.isnan(v := value(r, g))]
        if vals:
            xs.append(g)
            mean.append(statistics.fmean(vals))
            lo.append(min(vals))
            hi.append(max(vals))
    return xs, mean, lo, hi


def _band(ax: Any, runs: Sequence[_Run], value: Callable[[_Run, int], float], color: str, label: str, style: str = "-") -> bool:
    xs, mean, lo, hi = _by_generation(runs, value)
    if not xs:
        return False
    ax.plot(xs, mean, style, color=color, label=label, marker="o", markersize=3)
    ax.fill_between(xs, lo, hi, color=color, alpha=0.15 if style == "-" else 0.08, linewidth=0)
    return True


def _int_xaxis(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _fig_generation_curves(data: _Data, path: Path) -> str | None:
    groups = data.groups()
    if not groups:
        return "no finished generation"
    ncols = min(len(groups), 2)
    nrows = math.ceil(len(groups) / ncols)
    fig, axes = _figure(nrows, ncols, size=(5.5 * ncols, 3.8 * nrows), sharey=True)
    for i, g in enumerate(groups):
        ax = axes[i // ncols][i % ncols]
        runs = data.runs_of(g)
        _band(ax, runs, lambda r, k: _num(r.gens[k].get("best_fitness")), COLORS.get(g, "k"), "best (mean of runs)")
        _band(ax, runs, lambda r, k: _num(r.gens[k].get("mean_fitness")), COLORS.get(g, "k"), "population mean", "--")
        ax.set_title(f"{group_label(g)}, {len(runs)} run(s)")
        ax.set_xlabel("generation")
        ax.set_ylabel("dev fitness (mean normalised score)")
        ax.grid(alpha=0.3)
        _int_xaxis(ax)
        ax.legend(fontsize=8, loc="lower right")
    for j in range(len(groups), nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    fig.suptitle("Fitness over generations (band: min..max over runs)")
    fig.savefig(path, dpi=120)
    return None


def _fig_test_scores(data: _Data, path: Path) -> str | None:
    groups = [g for g in data.groups() if data.tested(g)]
    if not groups and not data.baselines:
        return "no test scores and no seed baselines yet"
    widths = [max(len(groups), 1), max(len(data.baselines), 1)]
    fig, axes = _figure(1, 2, size=(11, 4.5), sharey=True, width_ratios=widths)
    ax, bx = axes[0]
    for i, g in enumerate(groups):
        scores = data.tested(g)
        ax.bar(i, statistics.fmean(scores), color=COLORS.get(g, "k"), alpha=0.35, width=0.6)
        ax.scatter([i + (j - (len(scores) - 1) / 2) * 0.08 for j in range(len(scores))], scores,
                   color=COLORS.get(g, "k"), zorder=3, s=24)
    ax.set_xticks(range(len(groups)), [f"{g}\n{GROUPS[g][0]}\n× {GROUPS[g][1]}" if g in GROUPS else g for g in groups],
                  fontsize=8)
    ax.set_title("evolved (dot: a run's best agent; bar: mean)", fontsize=10)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("test score (mean normalised score)")
    if not groups:
        ax.text(0.5, 0.5, "no test phase yet", ha="center", va="center", transform=ax.transAxes)
    styles = list(data.baselines)
    bx.bar(range(len(styles)), [data.baselines[s][0] for s in styles], color="tab:purple", alpha=0.6, width=0.6)
    bx.set_xticks(range(len(styles)), styles, rotation=35, ha="right", fontsize=8)
    bx.set_title("seed strategies (baseline)", fontsize=10)
    if not styles:
        bx.text(0.5, 0.5, "no baselines yet", ha="center", va="center", transform=bx.transAxes)
    if styles:
        best = max(data.baselines[s][0] for s in styles)
        for a in (ax, bx):
            a.axhline(best, color="tab:purple", linestyle=":", linewidth=1)
    for a in (ax, bx):
        a.grid(axis="y", alpha=0.3)
    fig.suptitle("Test split: evolved agents vs the seed strategies (dotted: best seed)")
    fig.savefig(path, dpi=120)
    return None


def _gating_rate(r: _Run, g: int) -> float:
    row = r.gens[g]
    attempts, accepted = row.get("gating_attempts"), row.get("gating_accepted")
    return float("nan") if not attempts or accepted is None else accepted / attempts


def _gating_by_group(data: _Data, group: str) -> list[tuple[int, int, int]]:
    """(generation, attempts, accepted) summed over the group's runs."""
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in data.runs_of(group):
        for g, row in r.gens.items():
            if row.get("gating_attempts"):
                sums[g][0] += row["gating_attempts"]
                sums[g][1] += row.get("gating_accepted") or 0
    return [(g, a, b) for g, (a, b) in sorted(sums.items())]


def _fig_gating(data: _Data, path: Path) -> str | None:
    series = {g: s for g in data.groups() if (s := _gating_by_group(data, g))}
    if not series:
        return "no gating recorded (gating_attempts is empty)"
    fig, axes = _figure(size=(7, 4.2))
    ax = axes[0][0]
    for g, s in series.items():
        ax.plot([x[0] for x in s], [x[2] / x[1] for x in s], marker="o", color=COLORS.get(g, "k"), label=group_label(g))
        _band(ax, data.runs_of(g), _gating_rate, COLORS.get(g, "k"), "_nolegend_", ":")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("generation")
    ax.set_ylabel("children accepted / gated")
    ax.set_title("Gating acceptance (line: pooled over runs; dotted band: per-run min..max)")
    ax.grid(alpha=0.3)
    _int_xaxis(ax)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=120)
    return None


def _fig_diversity(data: _Data, path: Path) -> str | None:
    groups = data.groups()
    if not groups:
        return "no finished generation"
    fig, axes = _figure(1, 3, size=(15, 4.2))
    panels = [
        ("distinct lineages", lambda r, g: r.lineages(g)),
        ("lineage HHI (lower: more even; 1: one lineage)", lambda r, g: r.lineage_hhi.get(g, float("nan"))),
        ("prompt similarity", lambda r, g: _num(r.gens[g].get("prompt_similarity"))),
    ]
    drawn = 0
    for ax, (title, value) in zip(axes[0], panels):
        any_line = False
        for g in groups:
            any_line |= _band(ax, data.runs_of(g), value, COLORS.get(g, "k"), group_label(g))
        ax.set_title(title)
        ax.set_xlabel("generation")
        ax.grid(alpha=0.3)
        _int_xaxis(ax)
        if any_line:
            drawn += 1
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes)
    if not drawn:
        return "no diversity measures recorded"
    fig.suptitle("Diversity over generations (mean over runs; band: min..max)")
    fig.savefig(path, dpi=120)
    return None


def _fig_market(data: _Data, path: Path) -> str | None:
    groups = [g for g in data.groups()
              if any(r.gens[k].get("market_gini") is not None or r.gens[k].get("market_hhi") is not None
                     for r in data.runs_of(g) for k in r.gens)]
    if not groups:
        return "no market group has revenue concentration recorded"
    fig, axes = _figure(1, 2, size=(11, 4.2))
    for ax, column, title in zip(axes[0], ("market_gini", "market_hhi"), ("revenue Gini", "revenue HHI")):
        for g in groups:
            _band(ax, data.runs_of(g), lambda r, k, c=column: _num(r.gens[k].get(c)), COLORS.get(g, "k"), group_label(g))
        ax.set_title(title)
        ax.set_xlabel("generation")
        ax.grid(alpha=0.3)
        _int_xaxis(ax)
        ax.legend(fontsize=8)
    fig.suptitle("Market concentration over generations (mean over runs; band: min..max)")
    fig.savefig(path, dpi=120)
    return None


def _outcome_mix(data: _Data) -> list[tuple[str, Counter[str]]]:
    """Per group and phase: negotiations by outcome, plus the turns played (``turns``) and those lost
    to unparseable (``unparseable``) and truncated (``truncated``) replies."""
    mix: dict[tuple[str, int, str], Counter[str]] = defaultdict(Counter)
    order = {p: i for i, p in enumerate(PHASES)}
    for n in data.negotiations:
        group = "seed" if n["phase"] == "baseline" else (n["group"] or group_of(n["run_id"]) or "?")
        c = mix[(group, order.get(n["phase"], 99), n["phase"])]
        c[n["outcome"]] += 1
        c["turns"] += n.get("turns") or 0
        c["unparseable"] += (n.get("agent_unparseable") or 0) + (n.get("opponent_unparseable") or 0)
        c["truncated"] += n.get("truncated") or 0  # null in results written before the column existed
    return [(f"{g} {p}", c) for (g, _, p), c in sorted(mix.items())]


def _negotiations(c: Counter[str]) -> int:
    return sum(c[o] for o in OUTCOMES)


def _truncation_note(mix: Sequence[tuple[str, Counter[str]]]) -> list[str]:
    """How many turns max_tokens cut off before they held a move, and what to change."""
    truncated = sum(c["truncated"] for _, c in mix)
    if not truncated:
        return []
    turns = sum(c["turns"] for _, c in mix)
    return [f"**{truncated:,} turn(s) ({truncated / max(turns, 1):.1%} of {turns:,}) were lost to truncation**: "
            "the reply reached max_tokens before it held a move (usually a reasoning model still thinking). "
            "They cost the turn like an unparseable move but are counted apart, and are never an error. "
            "To avoid them, run with `--thinking off`, or give a larger `--max-tokens`.", ""]


def _fig_outcomes(data: _Data, path: Path) -> str | None:
    mix = _outcome_mix(data)
    if not mix:
        return "no negotiations recorded"
    fig, axes = _figure(size=(max(6, 0.7 * len(mix) + 2), 4.2))
    ax = axes[0][0]
    bottom = [0.0] * len(mix)
    for outcome in OUTCOMES:
        share = [c[outcome] / _negotiations(c) for _, c in mix]
        ax.bar(range(len(mix)), share, bottom=bottom, color=OUTCOME_COLORS[outcome], label=outcome, width=0.7)
        bottom = [b + s for b, s in zip(bottom, share)]
    ax.set_xticks(range(len(mix)), [label for label, _ in mix], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("share of negotiations")
    ax.set_title("Outcome mix per group and phase")
    ax.legend(fontsize=8, loc="lower right")
    fig.savefig(path, dpi=120)
    return None


def _phase_order(phases: Iterable[str]) -> list[str]:
    order = {p: i for i, p in enumerate(CALL_PHASES)}
    return sorted(phases, key=lambda p: (order.get(p, 99), p))


def _fig_usage(data: _Data, path: Path) -> str | None:
    if not data.usage:
        return "no calls or negotiations recorded"
    phases = _phase_order(data.usage)
    u = data.usage
    fig, axes = _figure(1, 2, size=(11, 4.2))
    ax, bx = axes[0]
    prompt = [u[p]["prompt_tokens"] / 1e6 for p in phases]
    completion = [u[p]["completion_tokens"] / 1e6 for p in phases]
    ax.bar(phases, prompt, label="prompt", color="tab:blue")
    ax.bar(phases, completion, bottom=prompt, label="completion", color="tab:orange")
    ax.set_ylabel("million tokens")
    ax.set_title("tokens by phase (cache hits included)")
    ax.legend(fontsize=8)
    costs = [u[p]["cost_usd"] for p in phases]
    if all(math.isnan(c) for c in costs):
        bx.text(0.5, 0.5, "no prices recorded", ha="center", va="center", transform=bx.transAxes)
    else:
        bx.bar(phases, [0.0 if math.isnan(c) else c for c in costs], color="tab:green")
        for i, c in enumerate(costs):
            if math.isnan(c):
                bx.annotate("n/a", (i, 0), ha="center", va="bottom", fontsize=8)
    bx.set_ylabel("US dollars")
    bx.set_title("dollars by phase (cache hits cost nothing)")
    for a in (ax, bx):
        a.grid(axis="y", alpha=0.3)
    fig.savefig(path, dpi=120)
    return None


_DRAW: dict[str, Callable[[_Data, Path], str | None]] = {
    "generation_curves": _fig_generation_curves,
    "test_scores": _fig_test_scores,
    "gating": _fig_gating,
    "diversity": _fig_diversity,
    "market_concentration": _fig_market,
    "outcomes": _fig_outcomes,
    "usage": _fig_usage,
}


# --------------------------------------------------------------------------- sections


def _comparison_table(comparisons: Sequence[Comparison]) -> list[str]:
    return _table(["comparison", "mean a", "mean b", "a − b", "Welch t", "p (two-sided)", "p (one-sided)",
                   "exact permutation p (one-sided)", "Cohen's d", "Hedges' g"], [c.row() for c in comparisons])


def _caveat(data: _Data) -> list[str]:
    sizes = sorted({len(data.tested(g)) or len(data.final_best(g)) for g in data.groups()} - {0})
    n = min(sizes) if sizes else PLANNED_RUNS
    d_planned = min_detectable_d(PLANNED_RUNS, PLANNED_RUNS)
    return [
        "### What n = 3 runs per group can and cannot show",
        "",
        "The unit of every test is a run (one seed): its best agent's mean score over the test scenarios, "
        "or a per-run diversity measure. Negotiations within a run are not independent samples of a "
        "selection scheme, so they do not add to n.",
        "",
        "- Every hypothesis is directional, so every verdict, the bar and the power below are one-sided "
        "(the two-sided Welch p is shown for reference only).",
        f"- With {PLANNED_RUNS} vs {PLANNED_RUNS} runs a one-sided t-test at α = 0.05 can only come out significant "
        f"when Cohen's d ≥ {d_planned:.2f} in the hypothesised direction (pooled degrees of freedom; Welch's test has "
        f"fewer, so the bar is higher). The chance of detecting a large effect (d = 0.8) is about "
        f"{power(0.8, PLANNED_RUNS, PLANNED_RUNS):.0%}, a very large one (d = 1.5) about "
        f"{power(1.5, PLANNED_RUNS, PLANNED_RUNS):.0%}."
        + _bar_now(n),
        f"- The exact permutation test needs no normality: it ranks the observed difference among all "
        f"{permutations(PLANNED_RUNS, PLANNED_RUNS)} ways to split the {2 * PLANNED_RUNS} runs into two groups of "
        f"{PLANNED_RUNS}. Its smallest possible one-sided p is 1/{permutations(PLANNED_RUNS, PLANNED_RUNS)} = "
        f"{1 / permutations(PLANNED_RUNS, PLANNED_RUNS):.2f}, reached only by complete separation (every run of one "
        "group above every run of the other): at n = 3 it can never fall below α = 0.05 on its own.",
        "- Cohen's d overstates effects of small samples; Hedges' g corrects it (×0.80 at 3 vs 3). When neither "
        "sample varies (e.g. lineages 8, 8, 8 vs 1, 1, 1) d and Welch's t are undefined, and the report states "
        "the complete separation and its permutation p instead.",
        "- So a non-significant result is *not* evidence that the groups are equal; it says the experiment is "
        "too small to tell. A significant one rests on three values per side and on the t-test's normality "
        "assumption, which three values cannot check.",
        "- H3 makes three comparisons with C's runs on one side; against a Bonferroni-corrected α = 0.017 the bar is higher still.",
        "- What n = 3 can show: the direction and rough size of a difference (means, Cohen's d, the per-run values "
        "below), and whether the runs of one group all lie above or below those of another. Read the effect "
        "sizes and the per-run values, not only the p-values.",
        "",
    ]


def _bar_now(n: int) -> str:
    """The caveat's sentence for the runs present, when they differ from the plan."""
    if n == PLANNED_RUNS:
        return ""
    if n < 2:
        return " With 1 run in the smallest group present now no test can be made (a t-test needs 2 runs a side)."
    return f" With the {n} runs per group present now the bar is d ≥ {min_detectable_d(n, n):.2f}."


def _setting(data: _Data, key: str) -> Any:
    """A config value of the experiment (``market.softmax``), or the default where the results
    directory has no ``config.json``."""
    section, _, name = key.rpartition(".")
    saved = data.config.get(section, {}) if section else data.config
    if name in saved:
        return saved[name]
    return getattr(getattr(ExperimentConfig(), section) if section else ExperimentConfig(), name)


def _confounds(data: _Data) -> list[str]:
    """What the V7 design itself confounds with the factors it compares."""
    pop, elites, generations = (_setting(data, k) for k in ("population", "elites", "generations"))
    fraction = _setting(data, "market.death_fraction")
    dead = death_count(pop, elites, fraction)
    return [
        "### What the design itself confounds",
        "",
        f"- Replacement rate and gating differ with the selection scheme: a market generation replaces {dead} of "
        f"{pop} agents (the bottom {fraction:.0%} by revenue, elites immune) and lets every child in ungated; a "
        f"tournament generation replaces {pop - elites} of {pop} (all but the {elites} elites) and lets a child in "
        "only if it passes gating against its parent. A market-vs-tournament difference (H2, H3) is therefore also "
        "a difference of how many agents change per generation and of whether children are filtered, not of the "
        "selection rule alone.",
        f"- {generations} generations are {generations} evaluations but only {generations - 1} rounds of variation: "
        "the last generation is evaluated and its best agent tested, it is not mutated. Fitness curves over "
        f"generations show {generations - 1} steps of evolution.",
        "",
    ]


def _client_choice(data: _Data) -> list[str]:
    """How the market's clients chose: the HHI of the per-agent client counts against a uniform choice."""
    mode, temperature = _setting(data, "market.softmax"), _setting(data, "market.temperature")
    older = bool(data.config) and "softmax" not in data.config.get("market", {})
    if older:  # written before [market] softmax existed, when the inverse form was the only one
        mode = "inverse"
    out = [f"Client choice: softmax `{mode}` at temperature {temperature} "
           + ("(the original V7 form, p ∝ exp((u − max u) / T): higher T = more exploratory)." if mode == "standard"
              else "(an option, p ∝ exp(T · u): T read as a sharpness, not the original's form).")
           + (" These results predate the `[market] softmax` setting; the code then always used this form." if older
              else ""), ""]
    counts: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for a in data.agents:
        group = a["group"] or group_of(a["run_id"])
        if a.get("market_clients") is not None and group in MARKET:
            counts[(group, a["run_id"], a["generation"])].append(a["market_clients"])
    if not counts:
        return out + ["No client assignments (agents.market_clients) recorded yet.", ""]
    rows = []
    for g in MARKET:
        per_gen = {k: v for k, v in counts.items() if k[0] == g and sum(v)}
        if not per_gen:
            continue
        n_agents = round(_mean(len(v) for v in per_gen.values()))
        n_clients = round(_mean(sum(v) for v in per_gen.values()))
        uniform = 1 / n_agents + (1 - 1 / n_agents) / n_clients  # E[HHI] of n_clients uniform draws
        first = _mean(hhi(v) for k, v in per_gen.items() if k[2] == 0)
        later = _mean(hhi(v) for k, v in per_gen.items() if k[2] > 0)
        rows.append([group_label(g), len({k[1] for k in per_gen}), f"{1 / n_agents:.3f}", f"{uniform:.3f}",
                     _f(first), _f(later), _f(1 / later if later else float("nan"), 1)])
    out += _table(["group", "runs", "HHI if shared equally (1/N)", "HHI of a uniform random choice",
                   "HHI, generation 0 (random)", "HHI, later generations (softmax)", "effective agents chosen"], rows)
    out += ["The HHI of the per-agent client counts is 1/N when every agent has as many clients as the others and "
            "1 when one agent has them all; a softmax choice that stays close to the uniform random choice's HHI "
            "puts little selection pressure on the agents through their clients.", ""]
    return out


def _h1(data: _Data) -> list[str]:
    out = ["### H1: reflective mutation beats random under tournament selection (A > D on test)", ""]
    a, d = data.tested("A"), data.tested("D")
    if a and d:
        c = Comparison.of("H1 test score", "A", a, "D", d)
        out += [c.sentence(), ""] + _comparison_table([c])
    else:
        out += ["Cannot be computed on the test split yet: "
                + ("; ".join(f"group {g} has no test scores" for g, v in (("A", a), ("D", d)) if not v)) + ".", ""]
    fa, fd = data.final_best("A"), data.final_best("D")
    if fa and fd:
        c = Comparison.of("H1 last-generation best dev fitness", "A", fa, "D", fd)
        out += ["For reference, on the best dev fitness of the last generation (in-sample: selection maximised "
                "this very number, so it flatters every group):", ""] + _comparison_table([c])
    return out


def _h2(data: _Data) -> list[str]:
    out = ["### H2: market selection keeps more diversity than tournament selection", ""]
    market = [r for g in MARKET for r in data.runs_of(g) if r.gens]
    tourn = [r for g in TOURNAMENT for r in data.runs_of(g) if r.gens]
    if not market or not tourn:
        out += ["Cannot be computed yet: needs finished generations from both a market group (B, C) and a "
                f"tournament group (A, D); have {len(market)} market and {len(tourn)} tournament run(s).", ""]
    else:
        def values(runs: Sequence[_Run], f: Callable[[_Run], float]) -> list[float]:
            return [v for r in runs if not math.isnan(v := f(r))]

        measures: list[tuple[str, Callable[[_Run], float], str]] = [
            ("distinct lineages, last generation", lambda r: r.lineages(r.last), "greater"),
            ("distinct lineages, mean over generations", lambda r: r.over_generations(r.lineages), "greater"),
            ("lineage HHI, last generation", lambda r: r.lineage_hhi.get(r.last, float("nan")), "less"),
            ("prompt similarity, last generation", lambda r: r.final("prompt_similarity"), "less"),
            ("prompt similarity, mean over generations",
             lambda r: r.over_generations(lambda g: _num(r.gens[g].get("prompt_similarity"))), "less"),
        ]
        comparisons = [Comparison.of(f"{label} (market {'>' if way == 'greater' else '<'} tournament)", "market",
                                     values(market, f), "tournament", values(tourn, f), way)  # type: ignore[arg-type]
                       for label, f, way in measures]
        for a, b in (("C", "A"), ("B", "D")):
            ra, rb = data.runs_of(a), data.runs_of(b)
            if ra and rb:
                comparisons.append(Comparison.of(f"distinct lineages, last generation ({a} > {b}, same mutation)", a,
                                                 values(ra, lambda r: r.lineages(r.last) if r.gens else float("nan")), b,
                                                 values(rb, lambda r: r.lineages(r.last) if r.gens else float("nan"))))
        shown = [c for c in comparisons if c.n_a or c.n_b]
        out += [f"Market runs: {len(market)}; tournament runs: {len(tourn)} (pooled over mutation operators).", ""]
        out += _comparison_table(shown)
        out += [c.sentence() for c in shown[:1]] + [""]
    rows = []
    for g in MARKET:
        runs = [r for r in data.runs_of(g) if r.gens]
        first = [_num(r.gens[min(r.gens)].get("market_gini")) for r in runs]
        last = [r.final("market_gini") for r in runs]
        first_h = [_num(r.gens[min(r.gens)].get("market_hhi")) for r in runs]
        last_h = [r.final("market_hhi") for r in runs]
        if any(not math.isnan(v) for v in first + last + first_h + last_h):
            rows.append([group_label(g), len(runs), _f(_mean(first)), _f(_mean(last)), _f(_mean(first_h)), _f(_mean(last_h))])
    if rows:
        out += ["Revenue concentration exists only in the market groups (tournaments have no revenue), so it is "
                "described, not compared; the lineage HHI above is the concentration measure both schemes share.", ""]
        out += _table(["group", "runs", "Gini, first generation", "Gini, last", "HHI, first generation", "HHI, last"], rows)
    else:
        out += ["No market revenue concentration (market_gini / market_hhi) recorded yet.", ""]
    return out + _client_choice(data)


def _h3(data: _Data) -> list[str]:
    out = ["### H3: market selection with reflective mutation (C) is the best group", ""]
    tested = {g: data.tested(g) for g in GROUPS if data.tested(g)}
    if "C" not in tested or len(tested) < 2:
        missing = [g for g in GROUPS if g not in tested]
        out += ["Cannot be computed on the test split yet: no test scores for " + ", ".join(missing) + ".", ""]
    else:
        ranking = sorted(tested, key=lambda g: statistics.fmean(tested[g]), reverse=True)
        out += ["Group ranking by mean test score: "
                + " > ".join(f"{g} ({statistics.fmean(tested[g]):.3f})" for g in ranking) + ".", ""]
        comparisons = [Comparison.of(f"H3 C > {g} (test score)", "C", tested["C"], g, tested[g]) for g in ranking if g != "C"]
        out += _comparison_table(comparisons)
        best = ranking[0] == "C"
        all_sig = all(c.significant_at(0.05 / 3) for c in comparisons) and len(comparisons) == len(GROUPS) - 1
        out += [("C has the highest mean test score" if best else f"C is not the best group on the test split ({ranking[0]} is)")
                + ("; every comparison passes a Bonferroni-corrected one-sided α = 0.017." if best and all_sig
                   else "; H3 would need C above every other group with significant differences, which this data does not show."
                   if best else "."), ""]
    finals = {g: data.final_best(g) for g in GROUPS if data.final_best(g)}
    if "C" in finals and len(finals) > 1:
        out += ["For reference, on the best dev fitness of the last generation (in-sample):", ""]
        out += _comparison_table([Comparison.of(f"C > {g} (dev fitness)", "C", finals["C"], g, finals[g]) for g in finals if g != "C"])
    return out


def _runs_section(data: _Data) -> list[str]:
    neg_by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n in data.negotiations:
        neg_by_run[n["run_id"]].append(n)
    rows = []
    for r in sorted(data.runs.values(), key=lambda r: (r.group or "~", _run_key(r.run_id))):
        negs = neg_by_run.get(r.run_id, [])
        costs = [n["cost_usd"] for n in negs if n["cost_usd"] is not None]
        rows.append([
            r.run_id, group_label(r.group) if r.group else "?",
            f"0..{r.last} ({len(r.gens)})" if r.gens else "none",
            _f(r.final("best_fitness")), _f(r.final("mean_fitness")),
            f"{_f(r.test_score)} ({r.test_agent}, n={r.test_n})" if r.test_score is not None else "not yet",
            len(negs), sum(1 for n in negs if n["outcome"] == "error"),
            f"{sum(costs):.2f}" if costs else "n/a",
        ])
    return ["## Runs", ""] + _table(
        ["run", "group", "generations", "best dev fitness (last gen)", "mean dev fitness (last gen)",
         "test score (agent)", "negotiations", "errors", "US$"], rows)


def _test_section(data: _Data) -> list[str]:
    out = ["## Test scores", ""]
    rows = []
    for g in data.groups():
        scores = data.tested(g)
        if scores:
            rows.append([group_label(g), len(scores), _f(statistics.fmean(scores)), _f(_sd(scores)),
                         ", ".join(f"{s:.3f}" for s in scores)])
    if rows:
        out += _table(["group", "runs tested", "mean", "sd", "per run"], rows)
    else:
        out += ["No test scores yet.", ""]
    if data.baselines:
        out += ["Seed strategies on the test split (the baseline an evolved agent must beat):", ""]
        out += _table(["seed style", "mean test score", "negotiations", "errors"],
                      [[s, _f(m), n, e] for s, (m, n, e) in sorted(data.baselines.items(), key=lambda kv: -_num(kv[1][0]))])
        best_style, (best, _, _) = max(data.baselines.items(), key=lambda kv: _num(kv[1][0]))
        beating = [r.run_id for r in data.runs.values() if r.test_score is not None and r.test_score > best]
        if rows and not math.isnan(_num(best)):
            out += [f"Runs whose best agent beats the best seed ({best_style}, {best:.3f}): "
                    + (", ".join(sorted(beating, key=_run_key)) if beating else "none") + ".", ""]
    return out


def _gating_section(data: _Data) -> list[str]:
    out = ["## Gating", ""]
    rows = []
    for g in data.groups():
        for gen, attempts, accepted in _gating_by_group(data, g):
            rows.append([group_label(g), gen, attempts, accepted, f"{accepted / attempts:.0%}"])
    out += _table(["group", "generation", "children gated", "accepted", "rate"], rows) if rows else ["No gating recorded.", ""]
    return out


def _diversity_section(data: _Data) -> list[str]:
    rows = []
    for g in data.groups():
        runs = [r for r in data.runs_of(g) if r.gens]
        rows.append([group_label(g), _f(_mean(r.lineages(r.last) for r in runs), 2),
                     _f(_mean(r.lineage_hhi.get(r.last, float("nan")) for r in runs)),
                     _f(_mean(r.final("prompt_similarity") for r in runs)),
                     _f(_mean(r.final("market_gini") for r in runs)), _f(_mean(r.final("market_hhi") for r in runs))])
    return ["## Diversity and market concentration", "", "Last generation, mean over runs:", ""] + _table(
        ["group", "distinct lineages", "lineage HHI", "prompt similarity", "revenue Gini", "revenue HHI"], rows)


def _outcome_section(data: _Data) -> list[str]:
    mix = _outcome_mix(data)
    if not mix:
        return ["## Outcomes", "", "No negotiations recorded.", ""]
    rows = [[label, _negotiations(c)] + [f"{c[o]} ({c[o] / _negotiations(c):.0%})" for o in OUTCOMES]
            + [c["turns"], c["unparseable"], c["truncated"]] for label, c in mix]
    return ["## Outcomes", "", "Errors are infrastructure failures: never scored, excluded from every mean. "
            "Unparseable and truncated turns (cut off by max_tokens before a move) cost the turn.", ""] + _table(
        ["group / phase", "negotiations", *OUTCOMES, "turns", "unparseable", "truncated"], rows) + _truncation_note(mix)


def _usage_section(data: _Data) -> list[str]:
    if not data.usage:
        return ["## Tokens and cost", "", "No calls recorded.", ""]
    u = data.usage
    phases = _phase_order(u)
    rows = [[p, int(u[p]["calls"]), f"{int(u[p]['prompt_tokens']):,}", f"{int(u[p]['completion_tokens']):,}",
             int(u[p]["cache_hits"]), "n/a" if math.isnan(u[p]["failed"]) else int(u[p]["failed"]),
             "n/a" if math.isnan(u[p]["cost_usd"]) else f"{u[p]['cost_usd']:.2f}"] for p in phases]
    known = [u[p]["cost_usd"] for p in phases if not math.isnan(u[p]["cost_usd"])]
    rows.append(["**total**", int(sum(u[p]["calls"] for p in phases)),
                 f"{int(sum(u[p]['prompt_tokens'] for p in phases)):,}",
                 f"{int(sum(u[p]['completion_tokens'] for p in phases)):,}",
                 int(sum(u[p]["cache_hits"] for p in phases)), "",
                 f"{sum(known):.2f}" if known else "n/a"])
    wall = [g.get("wall_s") for g in data.generations if g.get("wall_s") is not None]
    extra = [f"Wall time of the finished generations, summed over runs: {sum(wall) / 3600:.2f} h.", ""] if wall else []
    reasoning = int(sum(u[p].get("reasoning_tokens", 0) for p in phases))
    if reasoning:
        extra += [f"Completion tokens include {reasoning:,} reasoning tokens (priced as output tokens).", ""]
    return ["## Tokens and cost", ""] + _table(
        ["phase", "calls", "prompt tokens", "completion tokens", "cache hits", "failed calls", "US$"], rows) + extra


# --------------------------------------------------------------------------- entry point


def write_report(results_dir: Path | str) -> Path:
    """Write ``results_dir/report.md`` and ``results_dir/figures/*.png``; returns the report's path."""
    root = Path(results_dir)
    data = _load(root)
    figures = root / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    drawn: dict[str, str | None] = {}
    for name, draw in _DRAW.items():
        path = figures / f"{name}.png"
        path.unlink(missing_ok=True)  # a figure that can no longer be drawn must not linger from an old report
        try:
            drawn[name] = draw(data, path)
        except Exception as e:  # a report on a partial experiment must not die on one figure
            log.exception("figure %s failed", name)
            drawn[name] = f"failed: {type(e).__name__}: {e}"

    def fig(name: str) -> list[str]:
        why = drawn.get(name)
        if why is None:
            return [f"![{FIGURES[name]}](figures/{name}.png)", "", f"*{FIGURES[name]}.*", ""]
        return [f"*Figure `{name}` skipped: {why}.*", ""]

    sections: list[tuple[str, Callable[[], list[str]]]] = [
        ("runs", lambda: _runs_section(data)),
        ("curves", lambda: ["## Fitness over generations", ""] + fig("generation_curves")),
        ("test", lambda: _test_section(data) + fig("test_scores")),
        ("hypotheses", lambda: ["## Hypotheses", ""] + _caveat(data) + _confounds(data) + _h1(data) + _h2(data) + _h3(data)),
        ("gating", lambda: _gating_section(data) + fig("gating")),
        ("diversity", lambda: _diversity_section(data) + fig("diversity") + fig("market_concentration")),
        ("outcomes", lambda: _outcome_section(data) + fig("outcomes")),
        ("usage", lambda: _usage_section(data) + fig("usage")),
    ]
    n_neg = len(data.negotiations)
    lines = [
        f"# V7 results: {root.resolve().name}",
        "",
        f"{len([r for r in data.runs.values() if r.gens])} run(s) with finished generations in "
        f"{len(data.groups())} group(s); {len(data.generations)} generation row(s), {n_neg:,} negotiations, "
        f"{int(sum(u['calls'] for u in data.usage.values())):,} LLM calls.",
        "",
        "## What is missing",
        "",
    ]
    missing = _missing(data)
    skipped = [f"Figure `{n}` skipped: {why}." for n, why in drawn.items() if why is not None]
    lines += [f"- {m}" for m in missing + skipped] if missing or skipped else ["Nothing: every group, run, generation, the test phase and the baselines are present."]
    lines.append("")
    for name, build in sections:
        try:
            lines += build()
        except Exception as e:
            log.exception("report section %s failed", name)
            lines += [f"*Section `{name}` could not be computed: {type(e).__name__}: {e}.*", ""]
    report = root / "report.md"
    tmp = root / ".report.md.tmp"
    tmp.write_text("\n".join(lines).rstrip() + "\n")
    tmp.replace(report)
    return report
