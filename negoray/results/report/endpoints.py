"""The report's "Scores by endpoint" section: when a role was pooled, the agents' normalised scores by
the endpoint that served the agent's turns (or, if only the opponent's role was pooled, the
opponent's), with a test for a provider effect.

A pool hands work to whichever member has room, not at random, so members may see different agents
and generations. The test therefore compares each negotiation's score minus the mean score of the
same agent (run, generation, agent) across all endpoints: what remains is the endpoint's own effect
plus scenario noise. Two endpoints: Welch's t-test; more: Kruskal-Wallis. A negotiation whose agent
turns went to more than one endpoint (its member left the pool midway) is counted as "mixed" and
left out of the test.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from negoray.results.report.common import markdown_table
from negoray.results.stats import welch
from negoray.results.writer import read_table
from negoray.tasks.base import plural

MIXED = "mixed"
KEY = ("run_id", "generation", "agent_id", "scenario_id", "phase", "replicate")


def side_endpoints(calls: list[dict[str, Any]], side: str) -> dict[tuple[Any, ...], str]:
    """Each negotiation's endpoint on ``side`` (``MIXED`` when that side's turns had several)."""
    seen: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for c in calls:
        if c["side"] == side and c["endpoint"]:
            seen[tuple(c[k] for k in KEY)].add(c["endpoint"])
    return {k: next(iter(v)) if len(v) == 1 else MIXED for k, v in seen.items()}


def endpoint_section(root: Path, noun: str = "negotiation") -> list[str]:
    """Markdown lines, or none when each side's turns went to one endpoint (nothing was pooled). The
    agent's side is shown when it was pooled, else the opponent's; ``noun``: the task's word for a record."""
    calls = read_table(root, "calls", [*KEY, "side", "endpoint"]).to_pylist()
    for side in ("agent", "opponent"):
        served = side_endpoints(calls, side)
        if len(set(served.values()) - {MIXED}) >= 2:
            break
    else:
        return []
    rows = read_table(root, "negotiations", [*KEY, "outcome", "normalized_score"]).to_pylist()
    scored = [(served.get(tuple(r[k] for k in KEY), ""), r) for r in rows if r["normalized_score"] is not None]
    by_agent: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for _, r in scored:
        by_agent[(r["run_id"], r["generation"], r["agent_id"])].append(r["normalized_score"])
    agent_mean = {k: statistics.fmean(v) for k, v in by_agent.items()}
    scores: dict[str, list[float]] = defaultdict(list)
    residuals: dict[str, list[float]] = defaultdict(list)
    for endpoint, r in scored:
        if not endpoint:
            continue
        scores[endpoint].append(r["normalized_score"])
        residuals[endpoint].append(r["normalized_score"] - agent_mean[(r["run_id"], r["generation"], r["agent_id"])])
    table = [[e, len(v), f"{statistics.fmean(v):.3f}", f"{statistics.stdev(v):.3f}" if len(v) > 1 else "n/a",
              f"{statistics.fmean(residuals[e]):+.4f}"] for e, v in sorted(scores.items())]
    tested = {e: v for e, v in residuals.items() if e != MIXED and len(v) > 1}
    if len(tested) == 2:
        a, b = tested.values()
        t, p = welch(a, b)
        verdict = (f"Welch's t = {t:.2f}, two-sided p = {p:.3g} ({' vs '.join(tested)})" if not math.isnan(p)
                   else "no variance to test")
    elif len(tested) > 2:
        from scipy.stats import kruskal

        h, p = kruskal(*tested.values())
        verdict = f"Kruskal-Wallis H = {h:.2f}, p = {p:.3g} across {len(tested)} endpoints"
    else:
        verdict, p = f"too few {plural(noun)} per endpoint for a test", math.nan
    read = ("no evidence that mixing endpoints moved the scores" if not math.isnan(p) and p >= 0.05
            else "the endpoints differ: treat the pool's members as a factor" if not math.isnan(p) else "")
    return ["## Scores by endpoint", "",
            f"The {side} role was served by several endpoints. Agents' normalised scores by the endpoint that "
            f"served the {side}'s turns; *vs own agent* is the mean of score minus the same agent's mean over "
            "every endpoint (the pool assigns work by capacity, not at random).", ""] + markdown_table(
        ["endpoint", plural(noun), "mean score", "sd", "vs own agent"], table) + [
        f"Provider effect: {verdict}" + (f": {read}." if read else "."), ""]
