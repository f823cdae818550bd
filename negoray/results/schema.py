"""The four results tables (negotiations, calls, agents, generations): Arrow schemas and domains.

A row is a plain ``dict`` keyed by column name (built by `negoray.results.rows`); `ResultsWriter` checks rows against these schemas
before anything reaches disk. Scores of a negotiation that ended in an infrastructure error are
null, never 0 (an error is not a score); ``market_*`` columns are null for tournament groups and
``gate_*`` columns are null where no gating happened. A task adds its own columns
(`task_table_columns`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from negoray.config import GROUPS
from negoray.evolution.backend import NEGOTIATION_PHASES, Phase
from negoray.evolution.genome import Origin
from negoray.tasks.base import Column, Task

SCHEMA_VERSION = "1"

PHASES = NEGOTIATION_PHASES
"""Why a negotiation was played: dev fitness, a gating match, the final test, a seed baseline."""
CALL_PHASES = (*PHASES, Phase.MUTATION)
SCORED, ERROR = "scored", "error"
OUTCOMES = (ERROR, SCORED)
"""The outcomes of any task's record: it has a score, or an infrastructure error; a task may have
more of its own (`task_outcomes`)."""
SPLITS = ("dev", "val", "test")
SIDES = ("agent", "opponent", "mutator")
STATUSES = ("ok", "failed")
ORIGINS = tuple(o.value for o in Origin)
MUTATION_KINDS = ("random", "reflective")

_S, _I32, _I64, _F, _B = pa.string(), pa.int32(), pa.int64(), pa.float64(), pa.bool_()


def _schema(table: str, fields: Iterable[tuple[str, pa.DataType, bool]]) -> pa.Schema:
    return pa.schema(
        [pa.field(name, typ, nullable=nullable) for name, typ, nullable in fields],
        metadata={"negoray.table": table, "negoray.schema_version": SCHEMA_VERSION},
    )


NEGOTIATIONS = _schema("negotiations", [
    ("run_id", _S, False),
    ("group", _S, True),
    ("seed", _I64, True),
    ("generation", _I32, True),
    ("agent_id", _S, False),
    ("scenario_id", _S, False),
    ("split", _S, False),
    ("phase", _S, False),
    ("replicate", _I32, False),
    ("outcome", _S, False),
    ("normalized_score", _F, True),
    ("turns", _I32, False),
    ("agent_unparseable", _I32, False),
    ("opponent_unparseable", _I32, False),
    ("truncated", _I32, False),
    ("calls", _I32, False),
    ("cache_hits", _I32, False),
    ("prompt_tokens", _I64, False),
    ("completion_tokens", _I64, False),
    ("reasoning_tokens", _I64, False),
    ("cached_prompt_tokens", _I64, False),
    ("cost_usd", _F, True),
    ("latency_s", _F, False),
    ("provider", _S, False),
    ("model", _S, False),
    ("error", _S, True),
    ("transcript", _S, False),
    ("market_chosen", _B, True),
])

CALLS = _schema("calls", [
    ("run_id", _S, False),
    ("generation", _I32, True),
    ("agent_id", _S, False),
    ("scenario_id", _S, False),
    ("phase", _S, False),
    ("replicate", _I32, False),
    ("turn", _I32, False),
    ("side", _S, False),
    ("round", _I32, False),
    ("provider", _S, False),
    ("model", _S, False),
    ("prompt_tokens", _I64, False),
    ("completion_tokens", _I64, False),
    ("latency_s", _F, False),
    ("attempts", _I32, False),
    ("cache_hit", _B, False),
    ("status", _S, False),
    ("cost_usd", _F, True),
    ("finish_reason", _S, True),
    ("reasoning_tokens", _I64, False),
    ("endpoint", _S, True),
    ("cached_prompt_tokens", _I64, False),
    ("concurrency_limit", _I32, True),
    ("tier", _S, True),
])

AGENTS = _schema("agents", [
    ("run_id", _S, False),
    ("group", _S, True),
    ("agent_id", _S, False),
    ("parent_id", _S, True),
    ("generation", _I32, False),
    ("origin", _S, False),
    ("mutation_kind", _S, True),
    ("lineage", _S, False),
    ("prompt", _S, False),
    ("note", _S, False),
    ("dev_fitness", _F, True),
    ("dev_deal_rate", _F, True),
    ("dev_pareto_rate", _F, True),
    ("dev_errors", _I32, True),
    ("gate_child_mean", _F, True),
    ("gate_parent_mean", _F, True),
    ("gate_accepted", _B, True),
    ("gate_child_id", _S, True),
    ("test_score", _F, True),
    ("market_revenue", _F, True),
    ("market_clients", _I32, True),
])

GENERATIONS = _schema("generations", [
    ("run_id", _S, False),
    ("group", _S, False),
    ("generation", _I32, False),
    ("mean_fitness", _F, True),
    ("best_fitness", _F, True),
    ("worst_fitness", _F, True),
    ("median_fitness", _F, True),
    ("deal_rate", _F, True),
    ("pareto_rate", _F, True),
    ("diversity_lineages", _I32, True),
    ("prompt_similarity", _F, True),
    ("gating_attempts", _I32, True),
    ("gating_accepted", _I32, True),
    ("market_gini", _F, True),
    ("market_hhi", _F, True),
    ("errors", _I32, True),
    ("negotiations", _I32, True),
    ("calls", _I32, True),
    ("prompt_tokens", _I64, True),
    ("completion_tokens", _I64, True),
    ("cost_usd", _F, True),
    ("wall_s", _F, True),
])

SCHEMAS: dict[str, pa.Schema] = {
    "negotiations": NEGOTIATIONS,
    "calls": CALLS,
    "agents": AGENTS,
    "generations": GENERATIONS,
}
TABLES = tuple(SCHEMAS)

DOMAINS: dict[str, dict[str, tuple[str, ...]]] = {
    "negotiations": {"phase": PHASES, "outcome": OUTCOMES, "split": SPLITS},
    "calls": {"phase": CALL_PHASES, "side": SIDES, "status": STATUSES},
    "agents": {"origin": ORIGINS, "mutation_kind": MUTATION_KINDS},
    "generations": {},
}
"""Allowed values of the categorical columns (null is allowed where the column is nullable)."""


def group_of(run_id: str) -> str | None:
    """The group a run id such as ``"C2"`` belongs to (its leading letter), or None."""
    return run_id[:1] if run_id[:1] in GROUPS else None


_ARROW = {"string": _S, "int32": _I32, "int64": _I64, "float64": _F, "bool": _B}


def with_task_columns(schema: pa.Schema, columns: Sequence[Column]) -> pa.Schema:
    """``schema`` plus a task's own columns (`negoray.tasks.base.Task.record_columns`), each after
    the column it names (`Column.after`) or at the end."""
    table = schema.metadata[b"negoray.table"].decode()
    clash = [c.name for c in columns if c.name in schema.names]
    if clash:
        raise ValueError(f"task column(s) {', '.join(clash)} clash with the {table} table's own columns")
    unknown = [f"{c.name} (after {c.after})" for c in columns if c.after is not None and c.after not in schema.names]
    if unknown:
        raise ValueError(f"task column(s) {', '.join(unknown)}: the {table} table has no such column to follow; "
                         f"its columns: {', '.join(schema.names)}")

    def field(c: Column) -> pa.Field:
        return pa.field(c.name, _ARROW[c.type], nullable=c.nullable)

    fields: list[pa.Field] = []
    for own in schema:
        fields += [own, *(field(c) for c in columns if c.after == own.name)]
    return pa.schema([*fields, *(field(c) for c in columns if c.after is None)], metadata=schema.metadata)


def task_table_columns(task: Task | None) -> dict[str, tuple[Column, ...]]:
    """A task's own columns of each table: its `Task.record_columns` in ``negotiations``; the figures of
    its `Task.summary` (read from ``summary(())``) as ``dev_<name>`` in ``agents`` and ``<name>`` in
    ``generations``, where the table does not have them already (V7's deal and Pareto rates)."""
    if task is None:
        return {}
    names = list(task.summary(()))
    return {"negotiations": tuple(task.record_columns),
            "agents": tuple(Column(f"dev_{n}", "float64") for n in names if f"dev_{n}" not in AGENTS.names),
            "generations": tuple(Column(n, "float64") for n in names if n not in GENERATIONS.names)}


def task_outcomes(task: Task | None) -> tuple[str, ...]:
    """The task's own values of ``outcome`` (its optional ``outcomes``; none without a task)."""
    return tuple(getattr(task, "outcomes", ()))


def to_table(table: str, rows: Iterable[Mapping[str, Any]], task_columns: Sequence[Column] = (),
             outcomes: Sequence[str] = ()) -> pa.Table:
    """Rows as an Arrow table with ``table``'s schema (plus ``task_columns``), after checking columns,
    nulls and domains (``outcomes``: the task's own, `task_outcomes`)."""
    schema = with_task_columns(SCHEMAS[table], task_columns) if task_columns else SCHEMAS[table]
    rows = list(rows)
    for i, row in enumerate(rows):
        extra = set(row) - set(schema.names)
        if extra:
            raise ValueError(f"{table} row {i}: unknown column(s) {', '.join(sorted(extra))}")
    arrow = pa.Table.from_pylist(rows, schema=schema)
    for f in schema:
        column = arrow.column(f.name)
        if not f.nullable and column.null_count:
            raise ValueError(f"{table}: column {f.name} must not be null ({column.null_count} null value(s))")
    for name, allowed in DOMAINS[table].items():
        allowed = (*allowed, *outcomes) if name == "outcome" else allowed
        bad = {v for v in arrow.column(name).to_pylist() if v is not None and v not in allowed}
        if bad:
            raise ValueError(f"{table}: column {name} has {sorted(bad)!r}; allowed: {', '.join(allowed)}")
    return arrow


def empty_table(table: str) -> pa.Table:
    return SCHEMAS[table].empty_table()
