"""V7's own columns of the ``negotiations`` table: the deal's metrics, the invalid moves, and what a
negotiation says better than the defaults every record gets (its outcome, turns, unparseable and
truncated moves, and its transcript). Where each goes (``after``) keeps V7's column order."""

from __future__ import annotations

import json
from typing import Any

from negoray.game.dialogue import NegotiationRecord
from negoray.game.outcome import OutcomeKind
from negoray.tasks.base import Column

OUTCOMES = tuple(k.value for k in OutcomeKind)
"""The values of ``outcome`` a negotiation has (`negoray.tasks.base.Task.outcomes`)."""

RECORD_COLUMNS = (
    Column("agent_score", "int32", after="outcome"),
    Column("opponent_score", "int32", after="outcome"),
    Column("opponent_normalized", "float64", after="normalized_score"),
    Column("pareto_optimal", "bool", after="normalized_score"),
    Column("joint_efficiency", "float64", after="normalized_score"),
    Column("nash_product", "int64", after="normalized_score"),
    Column("nash_ratio", "float64", after="normalized_score"),
    Column("agent_invalid", "int32", nullable=False, after="turns"),
    Column("opponent_invalid", "int32", nullable=False, after="turns"),
)
"""The score columns are null for an infrastructure error (an error is not a score)."""


def record_row(record: NegotiationRecord) -> dict[str, Any]:
    """One negotiation's values of `RECORD_COLUMNS` and of the generic columns it knows better."""
    m = record.metrics
    return {
        "outcome": record.outcome.value,
        "agent_score": m.agent_score if m is not None else None,
        "opponent_score": m.opponent_score if m is not None else None,
        "opponent_normalized": m.opponent_normalized if m is not None else None,
        "pareto_optimal": m.pareto_optimal if m is not None else None,
        "joint_efficiency": m.joint_efficiency if m is not None else None,
        "nash_product": m.nash_product if m is not None else None,
        "nash_ratio": m.nash_ratio if m is not None else None,
        "turns": record.n_turns,
        "agent_invalid": record.agent_invalid,
        "opponent_invalid": record.opponent_invalid,
        "agent_unparseable": record.agent_unparseable,
        "opponent_unparseable": record.opponent_unparseable,
        "truncated": record.truncated,
        # the turns, moves and outcome; per-call usage (timings, cache hits) lives in the calls table
        "transcript": json.dumps({k: v for k, v in record.to_dict().items() if k != "calls"},
                                 ensure_ascii=False, separators=(",", ":")),
    }
