"""V7's columns come from the task, in the places and with the types V7's Parquet files have."""

import pytest

from negoray.results.schema import ERROR, NEGOTIATIONS, task_outcomes, task_table_columns, to_table, with_task_columns
from negoray.tasks.base import Column
from negoray.tasks.negotiation import NegotiationTask

V7_NEGOTIATIONS = [  # the negotiations table of every V7 results directory written before tasks were plugins
    ("run_id", "string", False), ("group", "string", True), ("seed", "int64", True), ("generation", "int32", True),
    ("agent_id", "string", False), ("scenario_id", "string", False), ("split", "string", False),
    ("phase", "string", False), ("replicate", "int32", False), ("outcome", "string", False),
    ("agent_score", "int32", True), ("opponent_score", "int32", True), ("normalized_score", "double", True),
    ("opponent_normalized", "double", True), ("pareto_optimal", "bool", True), ("joint_efficiency", "double", True),
    ("nash_product", "int64", True), ("nash_ratio", "double", True), ("turns", "int32", False),
    ("agent_invalid", "int32", False), ("opponent_invalid", "int32", False), ("agent_unparseable", "int32", False),
    ("opponent_unparseable", "int32", False), ("truncated", "int32", False), ("calls", "int32", False),
    ("cache_hits", "int32", False), ("prompt_tokens", "int64", False), ("completion_tokens", "int64", False),
    ("reasoning_tokens", "int64", False), ("cached_prompt_tokens", "int64", False), ("cost_usd", "double", True),
    ("latency_s", "double", False), ("provider", "string", False), ("model", "string", False),
    ("error", "string", True), ("transcript", "string", False), ("market_chosen", "bool", True),
]


def test_v7_negotiations_schema_is_unchanged():
    schema = with_task_columns(NEGOTIATIONS, task_table_columns(NegotiationTask())["negotiations"])
    assert [(f.name, str(f.type), f.nullable) for f in schema] == V7_NEGOTIATIONS


def test_a_column_follows_the_one_it_names_and_unknown_places_are_refused():
    columns = (Column("b", "int32", after="run_id"), Column("z", "bool"), Column("c", "string", after="run_id"))
    assert with_task_columns(NEGOTIATIONS, columns).names[:4] == ["run_id", "b", "c", "group"]
    assert with_task_columns(NEGOTIATIONS, columns).names[-1] == "z"
    with pytest.raises(ValueError, match="x .after nowhere.*no such column"):
        with_task_columns(NEGOTIATIONS, (Column("x", "int32", after="nowhere"),))


def test_the_outcomes_a_negotiation_has_are_the_tasks():
    task = NegotiationTask()
    assert ERROR in task_outcomes(task) and set(task_outcomes(task)) == {"agreed", "timeout", "error"}
    assert task_outcomes(None) == ()
    counts = ("replicate", "turns", "agent_unparseable", "opponent_unparseable", "truncated", "calls", "cache_hits",
              "prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_prompt_tokens")
    row = {"run_id": "A1", "agent_id": "a", "scenario_id": "s", "split": "dev", "phase": "eval", "outcome": "agreed",
           "provider": "", "model": "", "transcript": "", "latency_s": 0.0, **dict.fromkeys(counts, 0)}
    assert to_table("negotiations", [row], outcomes=task.outcomes).num_rows == 1
    with pytest.raises(ValueError, match="outcome"):
        to_table("negotiations", [row])
