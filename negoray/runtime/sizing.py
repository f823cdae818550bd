"""How the runtime cuts work into Ray tasks and what a task reserves (no Ray import: the makespan
model in `negoray.plan.makespan` follows the same numbers)."""

from __future__ import annotations

import math

JOBS_PER_SLOT = 3
"""A task gets this many negotiations per slot it holds; all of them play at once, the slots bounding
its calls out (`negoray.runtime.task_slots`), so its slots do not idle while its longest negotiation
finishes."""


def chunk_bounds(jobs: int, in_flight: int) -> list[tuple[int, int]]:
    """How a batch of ``jobs`` is cut into tasks of at most ``in_flight`` x `JOBS_PER_SLOT` jobs: (start,
    end) of each, as even as can be (256 jobs at 32 in flight: 86, 85, 85, not 96, 96, 64), so no task
    ends long before the others and leaves the last ones to drain the batch alone."""
    if jobs <= 0:
        return []
    n = math.ceil(jobs / (max(1, in_flight) * JOBS_PER_SLOT))
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
