"""How the runtime cuts a batch into tasks and how many Ray workers it keeps."""

import math

from hypothesis import given
from hypothesis import strategies as st

from negoray.runtime.sizing import JOBS_PER_SLOT, TASK_GROWTH, chunk_bounds, concurrent_tasks, kept_workers


def contiguous_even_cover(bounds, jobs):
    lengths = [b - a for a, b in bounds]
    return ([a for a, _ in bounds[1:]] == [b for _, b in bounds[:-1]]
            and ((bounds[0][0], bounds[-1][1]) == (0, jobs) if jobs else bounds == [])
            and all(n > 0 for n in lengths) and (not lengths or max(lengths) - min(lengths) <= 1))


@given(st.integers(0, 5000), st.integers(1, 256))
def test_chunks_cover_the_batch_in_order_as_few_and_as_even_as_can_be(jobs, in_flight):
    bounds = chunk_bounds(jobs, in_flight)
    size = in_flight * JOBS_PER_SLOT
    assert contiguous_even_cover(bounds, jobs)
    assert len(bounds) == math.ceil(jobs / size) and all(b - a <= size for a, b in bounds)


@given(st.integers(0, 20000), st.integers(1, 256), st.integers(1, 64))
def test_with_the_room_known_a_batch_runs_in_as_few_full_waves_as_bounded_tasks_allow(jobs, in_flight, room):
    bounds = chunk_bounds(jobs, in_flight, room)
    cap = in_flight * JOBS_PER_SLOT * TASK_GROWTH
    assert contiguous_even_cover(bounds, jobs)
    assert all(b - a <= cap for a, b in bounds)
    n = len(bounds)
    if jobs <= room * cap:  # one wave: every task it has room for, but none of fewer than in_flight jobs for it
        assert n == max(math.ceil(jobs / cap), min(room, math.ceil(jobs / in_flight))) <= room
    else:  # whole waves, as few as tasks of at most cap allow
        assert n % room == 0 and n // room == math.ceil(math.ceil(jobs / cap) / room)


def test_a_batch_of_a_24_s_benchmark_at_64_is_one_wave_of_four_tasks():
    """1,040 negotiations at 32 in flight on 128 units: 4 tasks of 260 (without the room: 11 in three waves)."""
    assert len(chunk_bounds(1040, 32)) == 11
    assert chunk_bounds(1040, 32, concurrent_tasks=4) == [(0, 260), (260, 520), (520, 780), (780, 1040)]
    assert chunk_bounds(264, 32, concurrent_tasks=4) == [(0, 66), (66, 132), (132, 198), (198, 264)]
    assert chunk_bounds(40, 32, concurrent_tasks=4) == [(0, 20), (20, 40)]  # no more tasks than 32 in flight need
    assert len(chunk_bounds(2000, 32, concurrent_tasks=4)) == 8  # two full waves, not 6 (4, then 2 on half the units)


def test_the_room_is_per_node_and_shared_by_the_batches_at_once():
    assert concurrent_tasks([(128, 2)], 32, 0.25) == 4  # the tag bounds it
    assert concurrent_tasks([(128, 2)], 32, 1.0) == 2  # the CPUs do
    assert concurrent_tasks([(48, 16), (48, 16)], 32, 0.25) == 2  # a task holds its units on one node
    assert concurrent_tasks([(512, 16)], 32, 0.25, sharers=3) == 6  # a share, rounded up
    assert concurrent_tasks([(128, 16)], 32, 0.25, sharers=12) == 1  # at least one
    assert concurrent_tasks([(0, 16)], 32, 0.25) == 1


def test_256_jobs_at_32_in_flight_are_three_even_tasks():
    assert chunk_bounds(256, 32) == [(0, 85), (85, 170), (170, 256)]


def test_a_node_keeps_a_worker_for_every_task_its_cpus_run_at_once():
    assert kept_workers(2, 0.25) == 8
    assert kept_workers(16, 1.0) == 16
    assert kept_workers(3, 0.5) == 6 and kept_workers(1, 4.0) == 1
