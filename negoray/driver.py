"""The one loop that runs a run: checkpoint -> `Evolution.step` -> write -> checkpoint.

`drive` is what the Ray `Population` actor and the one-process `LocalExperiment` both run::

    state = await drive(evolution, ResultsWriter(results), CheckpointStore(results), prices=(0.0, 0.0))

It starts from the run's checkpoint (or generation 0), reopens a finished run whose config now asks
for more generations, and after every generation writes its results and then checkpoints the next
state (after mutation and gating), so a kill at any moment loses at most the generation in progress,
which replays from the cache. It sits above the evolution and the results layers, which it joins,
and below the runtime; it needs no Ray.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from negoray.config import ExperimentConfig
from negoray.evolution.backend import Backend, Job
from negoray.evolution.checkpoint import CheckpointStore
from negoray.evolution.retry import RetryPolicy, play_until_done
from negoray.evolution.loop import Evolution, GenerationOutput, RunState
from negoray.llm.cost import PriceBook
from negoray.results.recorder import baseline_tables, generation_tables
from negoray.results.schema import task_outcomes, task_table_columns
from negoray.results.writer import ResultsWriter
from negoray.tasks.base import Task

BASELINE_FILE = "baseline.parquet"


def starting_state(evolution: Evolution, checkpoints: CheckpointStore | None) -> RunState:
    """The run's checkpoint, reopened if ``--generations`` grew since it finished; else generation 0."""
    state = checkpoints.load(evolution.run_id) if checkpoints is not None else None
    state = state or evolution.initial_state()
    if state.done and state.generation < evolution.config.generations:  # extended: --generations grew
        state = state.reopened()
    return state


async def drive(
    evolution: Evolution,
    writer: ResultsWriter | None,
    checkpoints: CheckpointStore | None,
    *,
    prices: PriceBook | tuple[float | None, ...],
    should_stop: Callable[[], bool] = lambda: False,
    on_state: Callable[[RunState], None] = lambda state: None,
    on_generation: Callable[[GenerationOutput, dict[str, Any]], None] = lambda out, tables: None,
    clock: Callable[[], float] = time.monotonic,
) -> RunState:
    """Play the run's remaining generations, or until ``should_stop()`` (checked between
    generations); the last state. ``on_state`` hears the starting state and each next one, after
    ``on_generation`` has heard the generation's output and its table rows. ``writer`` /
    ``checkpoints`` None: nothing is written / the run starts at generation 0 and is not saved
    (benchmarks that only need the outputs)."""
    state = starting_state(evolution, checkpoints)
    on_state(state)
    while not state.done and not should_stop():
        started = clock()
        out = await evolution.step(state)
        tables = generation_tables(out, evolution.config, prices, wall_s=clock() - started, task=evolution.task)
        if writer is not None:
            writer.write_generation(evolution.run_id, state.generation, **tables)
        if checkpoints is not None:
            checkpoints.save(out.next_state)
        state = out.next_state
        on_generation(out, tables)
        on_state(state)
    return state


def baseline_done(results: str | Path) -> bool:
    """Whether the seed baseline of this results directory is complete (its negotiations are written last)."""
    return ResultsWriter(results).path("negotiations", BASELINE_FILE).exists()


async def play_baseline(backend: Backend, jobs: Sequence[Job], config: ExperimentConfig, prices: PriceBook | tuple[float | None, ...],
                        *, on_status: Callable[[str], None] = lambda message: None,
                        task: Task | None = None) -> int:
    """Play the seed baseline (`negoray.evolution.backend.baseline_jobs`), pausing and retrying through an
    outage like every phase of a run, and write its two tables; the number of negotiations written.
    ``negotiations/baseline.parquet`` is written only once the baseline is complete (errors within the
    tolerated rate); interrupted or failed, nothing is written and the next attempt plays it again
    (answered from the cache). ``task``: the task whose own columns the negotiations rows get."""
    records = await play_until_done(backend, jobs, RetryPolicy(config.infra_retries, config.runtime.pause_s),
                                    label="the seed baseline", on_status=on_status)
    tables = baseline_tables(records, jobs, config, prices, task)
    columns = task_table_columns(task).get("negotiations", ())
    writer = ResultsWriter(config.results)
    writer.write_extra("calls", "baseline", tables["calls"])
    writer.write_extra("negotiations", "baseline", tables["negotiations"], columns,  # last: marks it complete
                       task_outcomes(task))
    return len(records)
