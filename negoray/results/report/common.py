"""What every part of the report shares: the groups' labels and colours, the planned runs, NaN-aware
means, run ordering and Markdown tables."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from negoray.config import GROUPS

PLANNED_RUNS = 3
"""Runs per group in V7's plan (the report's n)."""
COLORS = {"A": "tab:blue", "B": "tab:orange", "C": "tab:green", "D": "tab:red"}
OUTCOME_COLORS = {"agreed": "tab:green", "timeout": "tab:gray", "error": "tab:red", "scored": "tab:blue"}
MARKET = tuple(g for g, (sel, _) in GROUPS.items() if sel == "market")
TOURNAMENT = tuple(g for g, (sel, _) in GROUPS.items() if sel == "tournament")


def group_label(group: str) -> str:
    """``"C (market × reflective)"``."""
    sel, mut = GROUPS.get(group, ("?", "?"))
    return f"{group} ({sel} × {mut})"


def as_float(v: Any) -> float:
    """A table value as a float, None as NaN."""
    return float("nan") if v is None else float(v)


def nanmean(values: Iterable[float | None]) -> float:
    """Mean of the values that are not None or NaN; NaN when none are."""
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return statistics.fmean(xs) if xs else float("nan")


def nansd(values: Sequence[float]) -> float:
    """Sample standard deviation ignoring NaN; NaN under two values."""
    xs = [v for v in values if not math.isnan(v)]
    return statistics.stdev(xs) if len(xs) > 1 else float("nan")


def run_key(run_id: str) -> tuple[str, int, str]:
    """Sort key that puts C2 before C10."""
    m = re.match(r"^(\D*)(\d+)(.*)$", run_id)
    return (m.group(1), int(m.group(2)), m.group(3)) if m else (run_id, -1, "")


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A Markdown table's lines, then a blank one."""
    rows = [[str(c) for c in r] for r in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines + [""]
