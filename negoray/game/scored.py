"""Means and rates over the negotiations that have a score.

A negotiation that ended in an infrastructure error carries no metrics (``record.metrics is None``):
it is not a score. Every mean, rate and per-scenario score goes through these helpers, so no caller
has to remember to leave errors out.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from negoray.game.outcome import OutcomeKind, OutcomeMetrics

if TYPE_CHECKING:
    from negoray.game.dialogue import NegotiationRecord


def scored(records: Iterable[NegotiationRecord]) -> list[NegotiationRecord]:
    """The records that have metrics (everything but infrastructure errors), in order."""
    return [r for r in records if r.metrics is not None]


def errors(records: Iterable[NegotiationRecord]) -> int:
    """How many records have no score (infrastructure errors)."""
    return sum(1 for r in records if r.metrics is None)


def mean_of(records: Iterable[NegotiationRecord], metric: Callable[[OutcomeMetrics], float]) -> float:
    """Mean of ``metric`` over the scored records; NaN if none is scored."""
    values = [float(metric(r.metrics)) for r in scored(records)]  # type: ignore[arg-type]
    return statistics.fmean(values) if values else math.nan


def mean_score(records: Iterable[NegotiationRecord]) -> float:
    """Mean normalised agent score over the scored records (NaN if every negotiation errored)."""
    return mean_of(records, lambda m: m.agent_normalized)


def deal_rate(records: Iterable[NegotiationRecord]) -> float:
    """Share of the scored records that ended in agreement (NaN if none is scored)."""
    return mean_of(records, lambda m: m.kind is OutcomeKind.AGREED)


def pareto_rate(records: Iterable[NegotiationRecord]) -> float:
    """Share of the scored records whose outcome is Pareto-optimal (NaN if none is scored)."""
    return mean_of(records, lambda m: m.pareto_optimal)


def scores_by_scenario(records: Sequence[NegotiationRecord]) -> dict[str, float]:
    """Scenario id -> normalised agent score, for the scored records only."""
    return {r.scenario_id: r.metrics.agent_normalized for r in scored(records)}  # type: ignore[union-attr]
