"""Gating: a mutated child enters the population only if it is not clearly worse than its parent
on a subset of the val scenarios."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class GateDecision:
    """The verdict and the numbers behind it (for the agents table and the report)."""

    accepted: bool
    child_mean: float
    parent_mean: float
    tolerance: float
    """The margin the child may fall below its parent by and still enter."""
    n: int
    """Scenarios compared: pairs when paired, else the child's count (NaNs dropped)."""
    paired: bool = True


def _clean(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if not math.isnan(v)]


def _var(values: list[float]) -> float:
    return statistics.variance(values) if len(values) >= 2 else 0.0


def gate(
    child_scores: Sequence[float],
    parent_scores: Sequence[float],
    tolerance: Literal["se", "strict"] | float = "se",
) -> GateDecision:
    """Accept the child if ``child_mean >= parent_mean - tol``.

    ``tolerance``: ``"strict"`` -> tol = 0; a number -> that margin; ``"se"`` -> one standard
    error of the difference of the two means. When both lists have the same length they are
    taken as paired per scenario (child and parent played the same scenarios, in the same order)
    and the paired SE is used: ``stdev(c_i - p_i) / sqrt(n)`` (ddof=1), which removes the
    between-scenario variance both share. Otherwise the unpaired (Welch) SE
    ``sqrt(var_c/n_c + var_p/n_p)``. A variance is 0 when fewer than two values back it.
    NaN scores (errored negotiations) are dropped: the whole pair when paired. With no scores
    left on either side the child is rejected with tolerance 0.
    """
    paired = len(child_scores) == len(parent_scores)
    if paired:
        pairs = [(float(c), float(p)) for c, p in zip(child_scores, parent_scores)
                 if not (math.isnan(c) or math.isnan(p))]
        child, parent = [c for c, _ in pairs], [p for _, p in pairs]
    else:
        child, parent = _clean(child_scores), _clean(parent_scores)
    if not child or not parent:
        nan = float("nan")
        return GateDecision(False, statistics.fmean(child) if child else nan,
                            statistics.fmean(parent) if parent else nan, 0.0, len(child), paired)

    child_mean, parent_mean = statistics.fmean(child), statistics.fmean(parent)
    if tolerance == "strict":
        tol = 0.0
    elif tolerance == "se":
        if paired:
            tol = math.sqrt(_var([c - p for c, p in zip(child, parent)]) / len(child))
        else:
            tol = math.sqrt(_var(child) / len(child) + _var(parent) / len(parent))
    elif isinstance(tolerance, (int, float)) and not isinstance(tolerance, bool):
        tol = float(tolerance)
    else:
        raise ValueError(f'gate: tolerance must be "se", "strict" or a number, got {tolerance!r}')
    return GateDecision(child_mean >= parent_mean - tol, child_mean, parent_mean, tol, len(child), paired)
