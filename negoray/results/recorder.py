"""Turning what the evolution loop produced into rows of the four results tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from negoray.config import ExperimentConfig
from negoray.evolution.backend import Job, Phase
from negoray.evolution.loop import GenerationOutput
from negoray.llm.cost import PriceBook
from negoray.results.rows import agent_row, call_rows, generation_row, mutation_call_row, negotiation_row
from negoray.results.schema import task_outcomes, task_table_columns
from negoray.tasks.base import Task, TaskRecord

_SPLIT = {Phase.EVAL: "dev", Phase.GATING: "val", Phase.TEST: "test", Phase.BASELINE: "test"}


Played = tuple[str, int, str, str, TaskRecord]
"""(run_id, generation, phase, agent_id, record)."""


def _from_jobs(pairs: Sequence[tuple[Job, TaskRecord]]) -> list[Played]:
    return [(j.run_id, j.generation, j.phase, j.agent_id, r) for j, r in pairs]


def _played(played: Sequence[Played], group: str | None, seed: int | None,
            prices: PriceBook | tuple[float | None, ...], task: Task | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    book = PriceBook.of_prices(prices)
    negotiations, calls = [], []
    for run_id, generation, phase, agent_id, record in played:
        negotiations.append(negotiation_row(
            record, run_id=run_id, group=group, seed=seed, generation=generation, agent_id=agent_id,
            split=_SPLIT[phase], phase=phase, price_in=book.price_in, price_out=book.price_out, price_cached_in=book.price_cached_in,
            by_endpoint=book.by_endpoint, task_fields=task.record_row(record) if task is not None else None))
        calls += call_rows(record, run_id=run_id, generation=generation, agent_id=agent_id, phase=phase,
                           price_in=book.price_in, price_out=book.price_out, price_cached_in=book.price_cached_in, by_endpoint=book.by_endpoint)
    return negotiations, calls


def generation_tables(out: GenerationOutput, config: ExperimentConfig, prices: PriceBook | tuple[float | None, ...],
                      wall_s: float, task: Task | None = None) -> dict[str, Any]:
    """Rows of every table for one generation of one run (keyword arguments of `write_generation`);
    ``task``: the task whose own columns the negotiations rows get (None: none)."""
    state = out.state
    seed = config.seed * 1000 + state.index
    evals: list[Played] = [(state.run_id, state.generation, Phase.EVAL, gid, r)
                           for gid, recs in out.eval_records.items() for r in recs]
    negotiations, calls = _played(evals + _from_jobs(out.gating) + _from_jobs(out.test), state.group, seed, prices,
                                  task)
    book = PriceBook.of_prices(prices)
    attempts: dict[str, int] = {}
    for parent_id, reply, ok in out.mutation_calls:
        attempts[parent_id] = attempts.get(parent_id, -1) + 1
        calls.append(mutation_call_row(state.run_id, state.generation, parent_id, reply, ok,
                                       attempt=attempts[parent_id], price_in=book.price_in, price_out=book.price_out, price_cached_in=book.price_cached_in,
                                       by_endpoint=book.by_endpoint))
    if out.market_assignment:  # which agent each dev client chose (market groups)
        for row in negotiations[:len(evals)]:
            row["market_chosen"] = out.market_assignment.get(row["scenario_id"]) == row["agent_id"]
    columns = task_table_columns(task)
    agents = [agent_row(g, group=state.group, task_scores=[c.name for c in columns.get("agents", ())],
                        **out.agent_stats.get(g.id, {})) for g in state.population]
    summary = {**out.summary, "cost_usd": sum(c["cost_usd"] or 0.0 for c in calls), "wall_s": wall_s}
    return {"negotiations": negotiations, "calls": calls, "agents": agents,
            "generation_row": generation_row(summary, [c.name for c in columns.get("generations", ())]),
            "task_columns": columns, "outcomes": task_outcomes(task)}


def baseline_tables(records: Sequence[TaskRecord], jobs: Sequence[Job], config: ExperimentConfig,
                    prices: PriceBook | tuple[float | None, ...], task: Task | None = None) -> dict[str, list[dict[str, Any]]]:
    """Rows for the seed strategies' test-set baseline (run_id "baseline", agent_id = style)."""
    negotiations, calls = _played(_from_jobs(list(zip(jobs, records))), None, config.seed, prices, task)
    return {"negotiations": negotiations, "calls": calls}
