"""The report's other sections, each a list of Markdown lines from `Results`: what is missing, runs,
test scores, gating, diversity, outcomes, tokens and cost."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from negoray.config import GROUPS
from negoray.fmt import decimal
from negoray.results.report.common import (MARKET, TOURNAMENT, as_float, group_label, markdown_table, nanmean, nansd,
                                           run_key)
from negoray.results.report.load import (Results, gating_by_group, negotiation_count, outcome_mix, outcomes_shown,
                                         phase_order)
from negoray.tasks.base import plural


def missing_section(data: Results, styles: Sequence[str] | None = None) -> list[str]:
    """What the results lack; ``styles``: the seed strategies the baseline must cover (the task's;
    None: unknown, not checked)."""
    out: list[str] = []
    present = data.groups()
    absent = [g for g in data.planned_groups if g not in present]
    if absent:
        out.append("Groups with no finished generation: " + ", ".join(group_label(g) for g in absent) + ".")
    unknown = sorted({r.group or "?" for r in data.runs.values() if r.group not in GROUPS})
    if unknown:
        out.append(f"Runs whose group is not a {'V7' if data.negotiation else 'known'} group: {', '.join(unknown)}.")
    for g in present:
        n = len([r for r in data.runs_of(g) if r.gens])
        if n < data.planned_runs:
            out.append(f"Group {g} has {n} run(s) with results; {'V7' if data.negotiation else 'the config'} "
                       f"plans {data.planned_runs}.")
    empty = sorted((r.run_id for r in data.runs.values() if not r.gens), key=run_key)
    if empty:
        out.append("Runs without any finished generation (data in other tables only): " + ", ".join(empty) + ".")
    lasts = [r.last for r in data.runs.values() if r.gens]
    if lasts:
        top = max(lasts)
        behind = sorted((r for r in data.runs.values() if r.gens and r.last < top), key=lambda r: run_key(r.run_id))
        if behind:
            out.append(f"Runs behind the furthest one (generation {top}): "
                       + ", ".join(f"{r.run_id} (at {r.last})" for r in behind) + ".")
        for r in sorted(data.runs.values(), key=lambda r: run_key(r.run_id)):
            gaps = [g for g in range(0, r.last + 1) if g not in r.gens] if r.gens else []
            if gaps:
                out.append(f"Run {r.run_id} is missing generation(s) {', '.join(map(str, gaps))}.")
    with_gens = [r for r in data.runs.values() if r.gens]
    untested = sorted((r.run_id for r in with_gens if r.test_score is None), key=run_key)
    if with_gens and len(untested) == len(with_gens):
        out.append("No test phase yet: no run's best agent has played the test split.")
    elif untested:
        out.append("Runs without a test score yet: " + ", ".join(untested) + ".")
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


def runs_section(data: Results) -> list[str]:
    neg_by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n in data.negotiations:
        neg_by_run[n["run_id"]].append(n)
    rows = []
    for r in sorted(data.runs.values(), key=lambda r: (r.group or "~", run_key(r.run_id))):
        negs = neg_by_run.get(r.run_id, [])
        costs = [n["cost_usd"] for n in negs if n["cost_usd"] is not None]
        rows.append([
            r.run_id, group_label(r.group) if r.group else "?",
            f"0..{r.last} ({len(r.gens)})" if r.gens else "none",
            decimal(r.final("best_fitness")), decimal(r.final("mean_fitness")),
            f"{decimal(r.test_score)} ({r.test_agent}, n={r.test_n})" if r.test_score is not None else "not yet",
            len(negs), sum(1 for n in negs if n["outcome"] == "error"),
            f"{sum(costs):.2f}" if costs else "n/a",
        ])
    return ["## Runs", ""] + markdown_table(
        ["run", "group", "generations", "best dev fitness (last gen)", "mean dev fitness (last gen)",
         "test score (agent)", plural(data.noun), "errors", "US$"], rows)


def test_section(data: Results) -> list[str]:
    out = ["## Test scores", ""]
    rows = []
    for g in data.groups():
        scores = data.tested(g)
        if scores:
            rows.append([group_label(g), len(scores), decimal(statistics.fmean(scores)), decimal(nansd(scores)),
                         ", ".join(f"{s:.3f}" for s in scores)])
    if rows:
        out += markdown_table(["group", "runs tested", "mean", "sd", "per run"], rows)
    else:
        out += ["No test scores yet.", ""]
    if data.baselines:
        out += ["Seed strategies on the test split (the baseline an evolved agent must beat):", ""]
        out += markdown_table(["seed style", "mean test score", plural(data.noun), "errors"],
                              [[s, decimal(m), n, e] for s, (m, n, e) in sorted(data.baselines.items(), key=lambda kv: -as_float(kv[1][0]))])
        best_style, (best, _, _) = max(data.baselines.items(), key=lambda kv: as_float(kv[1][0]))
        beating = [r.run_id for r in data.runs.values() if r.test_score is not None and r.test_score > best]
        if rows and not math.isnan(as_float(best)):
            out += [f"Runs whose best agent beats the best seed ({best_style}, {best:.3f}): "
                    + (", ".join(sorted(beating, key=run_key)) if beating else "none") + ".", ""]
    return out


def gating_section(data: Results) -> list[str]:
    out = ["## Gating", ""]
    rows = []
    for g in data.groups():
        for gen, attempts, accepted in gating_by_group(data, g):
            rows.append([group_label(g), gen, attempts, accepted, f"{accepted / attempts:.0%}"])
    out += markdown_table(["group", "generation", "children gated", "accepted", "rate"], rows) if rows else ["No gating recorded.", ""]
    return out


def diversity_section(data: Results) -> list[str]:
    rows = []
    for g in data.groups():
        runs = [r for r in data.runs_of(g) if r.gens]
        rows.append([group_label(g), decimal(nanmean(r.lineages(r.last) for r in runs), 2),
                     decimal(nanmean(r.lineage_hhi.get(r.last, float("nan")) for r in runs)),
                     decimal(nanmean(r.final("prompt_similarity") for r in runs)),
                     decimal(nanmean(r.final("market_gini") for r in runs)), decimal(nanmean(r.final("market_hhi") for r in runs))])
    return ["## Diversity and market concentration", "", "Last generation, mean over runs:", ""] + markdown_table(
        ["group", "distinct lineages", "lineage HHI", "prompt similarity", "revenue Gini", "revenue HHI"], rows)


def outcome_section(data: Results) -> list[str]:
    mix = outcome_mix(data)
    records = plural(data.noun)
    if not mix:
        return ["## Outcomes", "", f"No {records} recorded.", ""]
    shown = outcomes_shown(mix)
    note = "Errors are infrastructure failures: never scored, excluded from every mean."
    rows = [[label, negotiation_count(c)] + [f"{c[o]} ({c[o] / negotiation_count(c):.0%})" for o in shown]
            for label, c in mix]
    if not data.negotiation:  # one record is not a dialogue of turns: no turn counts
        return ["## Outcomes", "", note, ""] + markdown_table(["group / phase", records, *shown], rows)
    rows = [row + [c["turns"], c["unparseable"], c["truncated"]] for row, (_, c) in zip(rows, mix)]
    return ["## Outcomes", "", note + " Unparseable and truncated turns (cut off by max_tokens before a move) "
            "cost the turn.", ""] + markdown_table(
        ["group / phase", records, *shown, "turns", "unparseable", "truncated"], rows) + _truncation_note(mix)


def usage_section(data: Results) -> list[str]:
    if not data.usage:
        return ["## Tokens and cost", "", "No calls recorded.", ""]
    u = data.usage
    phases = phase_order(u)
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
    cached = int(sum(u[p].get("cached_prompt_tokens", 0) for p in phases))
    if cached:
        prompt = sum(u[p]["prompt_tokens"] for p in phases)
        extra += [f"Prompt tokens include {cached:,} served from the provider's prompt cache "
                  f"({cached / max(1, prompt):.0%}), priced at the cached-input price.", ""]
    return ["## Tokens and cost", ""] + markdown_table(
        ["phase", "calls", "prompt tokens", "completion tokens", "cache hits", "failed calls", "US$"], rows) + extra
