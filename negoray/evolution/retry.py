"""Playing a batch until the provider has answered it: the one retry/pause loop every phase uses
(evaluation, gating, test, and the seed baseline).

Negotiations that ended in an infrastructure error are re-queued ``retries`` times; if more than
``max_error_rate`` of the batch still failed, the loop pauses (saying why), doubling the pause up to
``max_pause_s``, and tries again until the provider is back. It returns only a batch whose errors
are within the tolerated rate, so no phase is ever recorded as final with its errors left in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from negoray.evolution.backend import Backend, Job
from negoray.tasks.base import TaskRecord

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2
    """Times failed negotiations are re-queued before the batch pauses (``infra_retries``)."""
    pause_s: float = 30.0
    """The first pause; each further pause doubles, up to ``max_pause_s``."""
    max_pause_s: float = 600.0
    max_error_rate: float = 0.05
    """Errors a batch may keep after its retries (recorded as errors, excluded from fitness)."""


async def play_until_done(
    backend: Backend,
    jobs: Sequence[Job],
    policy: RetryPolicy,
    *,
    label: str,
    sleep: Sleep = asyncio.sleep,
    on_status: Callable[[str], None] = lambda message: None,
) -> list[TaskRecord]:
    """Records in job order, with at most ``policy.max_error_rate`` of them errors. ``label`` names
    the work in the log (e.g. "run A1", "the seed baseline"); ``on_status`` hears pauses and resumes."""
    records = list(await backend.play(jobs))
    pause = policy.pause_s
    attempt = 0
    while True:
        failed = [i for i, r in enumerate(records) if r.error is not None]
        if not failed:
            return records
        if attempt >= policy.retries:
            if len(failed) <= policy.max_error_rate * len(records):
                return records
            reason = records[failed[0]].error or "unknown error"
            on_status(f"paused: {len(failed)}/{len(records)} negotiations failed ({reason}); retrying in {pause:.0f}s")
            log.warning("%s paused: %d/%d negotiations failed: %s", label, len(failed), len(records), reason)
            await sleep(pause)
            pause = min(pause * 2, policy.max_pause_s)
        attempt += 1
        again = await backend.play([jobs[i] for i in failed])
        for i, record in zip(failed, again):
            records[i] = record
        if attempt > policy.retries:
            on_status("running")
