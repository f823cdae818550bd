"""The one retry/pause loop of every phase (`play_until_done`), in virtual time."""

import asyncio
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from negoray.evolution.retry import RetryPolicy, play_until_done
from negoray.game.outcome import OutcomeKind


@dataclass(frozen=True)
class Played:
    outcome: OutcomeKind
    error: str | None = None


class Scripted:
    """Batch number i fails the negotiations ``failing(i, job)`` says (an outage, then recovery)."""

    def __init__(self, failing):
        self.failing, self.batches = failing, 0

    async def play(self, jobs):
        self.batches += 1
        return [Played(OutcomeKind.ERROR, "HTTP 503") if self.failing(self.batches, j) else Played(OutcomeKind.AGREED)
                for j in jobs]


def play(backend, jobs, policy):
    slept, statuses = [], []

    async def sleep(s):
        slept.append(s)

    records = asyncio.run(play_until_done(backend, jobs, policy, label="test", sleep=sleep, on_status=statuses.append))
    return records, slept, statuses


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 60), outage=st.integers(0, 12), retries=st.integers(0, 3), data=st.data())
def test_a_batch_comes_back_complete_however_long_the_outage(n, outage, retries, data):
    """Whatever the outage, the records come back in job order with errors within the tolerated
    rate; it pauses only after its retries, the pauses double up to the cap, and it says so."""
    policy = RetryPolicy(retries=retries, pause_s=30.0, max_pause_s=120.0, max_error_rate=0.05)
    jobs = list(range(n))
    # everything fails during the outage; afterwards a tolerated few keep failing for good
    stragglers = data.draw(st.sets(st.sampled_from(jobs), max_size=int(0.05 * n)))
    backend = Scripted(lambda batch, job: batch <= outage or job in stragglers)
    records, slept, statuses = play(backend, jobs, policy)
    assert len(records) == n
    assert {j for j, r in zip(jobs, records) if r.outcome is OutcomeKind.ERROR} <= stragglers
    pauses = max(0, outage - retries)
    assert slept == [min(30.0 * 2**i, 120.0) for i in range(pauses)]
    assert len(statuses) == 2 * pauses and all(s.startswith("paused: ") for s in statuses[::2])


def test_the_status_line_names_the_reason():
    backend = Scripted(lambda batch, job: batch <= 4)
    _, slept, statuses = play(backend, [1, 2], RetryPolicy(retries=2))
    assert statuses == ["paused: 2/2 negotiations failed (HTTP 503); retrying in 30s", "running",
                        "paused: 2/2 negotiations failed (HTTP 503); retrying in 60s", "running"]
    assert slept == [30.0, 60.0]
