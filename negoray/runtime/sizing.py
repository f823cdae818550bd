"""How the runtime cuts work into Ray tasks and what a task reserves (no Ray import: the makespan
model in `negoray.plan.makespan` follows the same numbers)."""

from __future__ import annotations

JOBS_PER_SLOT = 3
"""A task gets this many negotiations per slot it holds and keeps every slot busy until its queue is
empty, so a task's slots do not idle while its longest negotiation finishes."""


IN_PROCESS_TASK_CPUS = 1.0
"""A task whose model runs inside the worker (the sim) is CPU-bound: it reserves a whole CPU."""
REMOTE_TASK_CPUS = 0.25
"""A task whose model is behind HTTP mostly waits (a few ms of CPU per call): four share a CPU, so a
2-core machine can keep 8 tasks x ``in_flight`` negotiations in flight; the endpoint tag, not the CPU
count, caps the load."""


def task_cpus_for(provider: str) -> float:
    """The CPUs an evaluation task reserves by default for ``provider``."""
    return IN_PROCESS_TASK_CPUS if provider == "sim" else REMOTE_TASK_CPUS
