"""How the runtime cuts work into Ray tasks and what a task reserves (no Ray import: the makespan
model in `negoray.plan.makespan` follows the same numbers)."""

from __future__ import annotations

import math
from collections.abc import Iterable

JOBS_PER_SLOT = 3
"""A task gets this many negotiations per slot it holds; all of them play at once, the slots bounding
its calls out (`negoray.runtime.task_slots`), so its slots do not idle while its longest negotiation
finishes."""

TASK_GROWTH = 4
"""Where the room for tasks is known, a task may take up to this many times `JOBS_PER_SLOT`
negotiations per slot, so a batch of up to that many per slot the cluster offers runs as one wave;
not more, since a task lost with its node is played again whole."""


def concurrent_tasks(nodes: Iterable[tuple[float, float]], in_flight: int, task_cpus: float, sharers: int = 1) -> int:
    """How many tasks of ``in_flight`` units of an endpoint's tag and ``task_cpus`` CPUs each one batch
    may count on running at once: ``nodes`` is each node's (units of the tag, CPUs); a task fits on one
    node, so each node runs the fewer of its units // ``in_flight`` and its CPUs // ``task_cpus``.
    ``sharers``: batches that share the tag at once (an experiment's runs, each a population
    submitting its stages while the others do); each counts on its share, rounded up: with the whole
    room each run's batch would be cut into few large tasks that wait behind the other runs' in
    several waves. Rounded down (12 runs on 16 tasks' room: 1 each, so tasks of 384) the runs lose
    the parallelism that fills the slots another run leaves while it mutates: in the makespan model
    (`negoray.plan.makespan`, 3-generation V7 shapes) rounding up stayed within 0.7% of the old cut
    where that was best (6-12 runs) and gained 1-24% with 1-3 runs; rounding down lost 2-3% at 6-12."""
    fit = sum(min(int(units // max(1, in_flight)), int(cpus / task_cpus + 1e-9)) for units, cpus in nodes)
    return max(1, math.ceil(fit / max(1, sharers)))


def chunk_bounds(jobs: int, in_flight: int, concurrent_tasks: int | None = None) -> list[tuple[int, int]]:
    """How a batch of ``jobs`` is cut into tasks: (start, end) of each, as even as can be (256 jobs at
    32 in flight: 86, 85, 85, not 96, 96, 64), so no task ends long before the others and leaves the
    last ones to drain the batch alone.

    Without ``concurrent_tasks`` a task takes at most ``in_flight`` x `JOBS_PER_SLOT` jobs. With it
    (how many tasks of ``in_flight`` units can run at once, `concurrent_tasks`) the batch runs in as
    few waves as tasks of up to `TASK_GROWTH` times that size allow, each wave full: a batch that
    fits is ``concurrent_tasks`` tasks (fewer if it has fewer than ``in_flight`` jobs each), all
    running at once, rather than small tasks in waves that lose throughput at each turnover (1,040
    jobs at 32 in flight on 128 units: 4 tasks of 260 instead of 11 of ~95 in three waves); a larger
    one is whole waves of ``concurrent_tasks`` tasks, so no last wave leaves most slots idle."""
    if jobs <= 0:
        return []
    size = max(1, in_flight) * JOBS_PER_SLOT
    n = math.ceil(jobs / size)
    if concurrent_tasks is not None:
        c = max(1, concurrent_tasks)
        n = max(math.ceil(jobs / (size * TASK_GROWTH)), min(c, math.ceil(jobs / max(1, in_flight))))
        n = c * math.ceil(n / c) if n > c else n
    cuts = [jobs * i // n for i in range(n + 1)]
    return list(zip(cuts, cuts[1:]))


IN_PROCESS_TASK_CPUS = 1.0
"""A task whose model runs inside the worker (the sim) is CPU-bound: it reserves a whole CPU."""
REMOTE_TASK_CPUS = 0.25
"""A task whose model is behind HTTP mostly waits (a few ms of CPU per call): four share a CPU, so a
2-core machine can keep 8 tasks x ``in_flight`` negotiations in flight; the endpoint tag, not the CPU
count, caps the load."""


def task_cpus_for(provider: str) -> float:
    """The CPUs an evaluation task reserves by default for ``provider``."""
    return IN_PROCESS_TASK_CPUS if provider == "sim" else REMOTE_TASK_CPUS


def kept_workers(num_cpus: float, task_cpus: float) -> int:
    """Ray worker processes a node keeps alive once started: as many as run tasks of ``task_cpus`` on
    its ``num_cpus`` at once. Ray's default keeps one per CPU and ends the others after a second
    idle, so with 0.25-CPU tasks three workers in four were started again (Python, Ray and negoray's
    imports: seconds on a busy machine) inside every stage of every generation."""
    return max(1, math.ceil(num_cpus / task_cpus))


def ray_system_config(num_cpus: float, task_cpus: float) -> dict[str, int]:
    """``ray.init(_system_config=...)`` for a node that negoray starts itself (`kept_workers`)."""
    return {"num_workers_soft_limit": kept_workers(num_cpus, task_cpus)}
