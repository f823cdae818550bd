"""The report's figures: one function a figure, each drawing ``figures/{name}.png`` from `Results` and
returning None, or why it was skipped."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from negoray.config import GROUPS
from negoray.results.report.common import COLORS, OUTCOME_COLORS, as_float, group_label
from negoray.results.report.load import (Results, RunResults, gating_by_group, gating_rate, negotiation_count,
                                        outcome_mix, outcomes_shown, phase_order)
from negoray.tasks.base import plural


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


def _figure(nrows: int = 1, ncols: int = 1, *, size: tuple[float, float] = (7, 4.5), **kw: Any) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _by_generation(runs: Sequence[RunResults], value: Callable[[RunResults, int], float]) -> tuple[list[int], list[float], list[float], list[float]]:
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


def _band(ax: Any, runs: Sequence[RunResults], value: Callable[[RunResults, int], float], color: str, label: str, style: str = "-") -> bool:
    xs, mean, lo, hi = _by_generation(runs, value)
    if not xs:
        return False
    ax.plot(xs, mean, style, color=color, label=label, marker="o", markersize=3)
    ax.fill_between(xs, lo, hi, color=color, alpha=0.15 if style == "-" else 0.08, linewidth=0)
    return True


def _int_xaxis(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _fig_generation_curves(data: Results, path: Path) -> str | None:
    groups = data.groups()
    if not groups:
        return "no finished generation"
    ncols = min(len(groups), 2)
    nrows = math.ceil(len(groups) / ncols)
    fig, axes = _figure(nrows, ncols, size=(5.5 * ncols, 3.8 * nrows), sharey=True)
    for i, g in enumerate(groups):
        ax = axes[i // ncols][i % ncols]
        runs = data.runs_of(g)
        _band(ax, runs, lambda r, k: as_float(r.gens[k].get("best_fitness")), COLORS.get(g, "k"), "best (mean of runs)")
        _band(ax, runs, lambda r, k: as_float(r.gens[k].get("mean_fitness")), COLORS.get(g, "k"), "population mean", "--")
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


def _fig_test_scores(data: Results, path: Path) -> str | None:
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


def _fig_gating(data: Results, path: Path) -> str | None:
    series = {g: s for g in data.groups() if (s := gating_by_group(data, g))}
    if not series:
        return "no gating recorded (gating_attempts is empty)"
    fig, axes = _figure(size=(7, 4.2))
    ax = axes[0][0]
    for g, s in series.items():
        ax.plot([x[0] for x in s], [x[2] / x[1] for x in s], marker="o", color=COLORS.get(g, "k"), label=group_label(g))
        _band(ax, data.runs_of(g), gating_rate, COLORS.get(g, "k"), "_nolegend_", ":")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("generation")
    ax.set_ylabel("children accepted / gated")
    ax.set_title("Gating acceptance (line: pooled over runs; dotted band: per-run min..max)")
    ax.grid(alpha=0.3)
    _int_xaxis(ax)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=120)
    return None


def _fig_diversity(data: Results, path: Path) -> str | None:
    groups = data.groups()
    if not groups:
        return "no finished generation"
    fig, axes = _figure(1, 3, size=(15, 4.2))
    panels = [
        ("distinct lineages", lambda r, g: r.lineages(g)),
        ("lineage HHI (lower: more even; 1: one lineage)", lambda r, g: r.lineage_hhi.get(g, float("nan"))),
        ("prompt similarity", lambda r, g: as_float(r.gens[g].get("prompt_similarity"))),
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


def _fig_market(data: Results, path: Path) -> str | None:
    groups = [g for g in data.groups()
              if any(r.gens[k].get("market_gini") is not None or r.gens[k].get("market_hhi") is not None
                     for r in data.runs_of(g) for k in r.gens)]
    if not groups:
        return "no market group has revenue concentration recorded"
    fig, axes = _figure(1, 2, size=(11, 4.2))
    for ax, column, title in zip(axes[0], ("market_gini", "market_hhi"), ("revenue Gini", "revenue HHI")):
        for g in groups:
            _band(ax, data.runs_of(g), lambda r, k, c=column: as_float(r.gens[k].get(c)), COLORS.get(g, "k"), group_label(g))
        ax.set_title(title)
        ax.set_xlabel("generation")
        ax.grid(alpha=0.3)
        _int_xaxis(ax)
        ax.legend(fontsize=8)
    fig.suptitle("Market concentration over generations (mean over runs; band: min..max)")
    fig.savefig(path, dpi=120)
    return None


def _fig_outcomes(data: Results, path: Path) -> str | None:
    mix = outcome_mix(data)
    if not mix:
        return f"no {plural(data.noun)} recorded"
    fig, axes = _figure(size=(max(6, 0.7 * len(mix) + 2), 4.2))
    ax = axes[0][0]
    bottom = [0.0] * len(mix)
    for outcome in outcomes_shown(mix):
        share = [c[outcome] / negotiation_count(c) for _, c in mix]
        ax.bar(range(len(mix)), share, bottom=bottom, color=OUTCOME_COLORS[outcome], label=outcome, width=0.7)
        bottom = [b + s for b, s in zip(bottom, share)]
    ax.set_xticks(range(len(mix)), [label for label, _ in mix], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel(f"share of {plural(data.noun)}")
    ax.set_title("Outcome mix per group and phase")
    ax.legend(fontsize=8, loc="lower right")
    fig.savefig(path, dpi=120)
    return None


def _fig_usage(data: Results, path: Path) -> str | None:
    if not data.usage:
        return f"no calls or {plural(data.noun)} recorded"
    phases = phase_order(data.usage)
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


def _fig_concurrency(data: Results, path: Path) -> str | None:
    if not data.concurrency:
        return "no adaptive concurrency limit was in use"
    fig, axes = _figure(2, 1, size=(9, 6), sharex=True)
    ax, bx = axes[0][0], axes[1][0]
    start = data.concurrency[0]["time"]
    for i, endpoint in enumerate(sorted({p["endpoint"] for p in data.concurrency})):
        pts = [p for p in data.concurrency if p["endpoint"] == endpoint]
        t = [(p["time"] - start) / 60 for p in pts]
        color = f"C{i}"
        ax.step(t, [p["limit"] for p in pts], where="post", color=color, label=f"{endpoint} limit")
        ax.plot(t, [p["in_flight"] for p in pts], ":", color=color, label=f"{endpoint} in flight")
        bx.plot(t, [as_float(p["p50_s"]) for p in pts], color=color, label=f"{endpoint} p50")
        bx.plot(t, [as_float(p["p95_s"]) for p in pts], "--", color=color, label=f"{endpoint} p95")
    ax.set_ylabel("requests in flight")
    ax.set_title("concurrency limit and calls in flight")
    bx.set_ylabel("latency (s)")
    bx.set_xlabel("minutes since the first point")
    for a in (ax, bx):
        a.grid(alpha=0.3)
        a.legend(fontsize=7)
    fig.savefig(path, dpi=120)
    return None


DRAW: dict[str, Callable[[Results, Path], str | None]] = {
    "generation_curves": _fig_generation_curves,
    "test_scores": _fig_test_scores,
    "gating": _fig_gating,
    "diversity": _fig_diversity,
    "market_concentration": _fig_market,
    "outcomes": _fig_outcomes,
    "usage": _fig_usage,
}

OPTIONAL_FIGURES = {
    "concurrency": ("Adaptive concurrency per endpoint over time: the limit, calls in flight, latency p50/p95",
                    _fig_concurrency, lambda data: bool(data.concurrency)),
}
"""Figures drawn only when their data exists (no adaptive limit in use: no figure, nothing missing):
name -> (caption, draw, whether there is something to draw)."""
