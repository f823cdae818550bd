"""How the runtime cuts a batch into tasks and how many Ray workers it keeps."""

import math

from hypothesis import given
from hypothesis import strategies as st

from negoray.runtime.sizing import JOBS_PER_SLOT, chunk_bounds, kept_workers


@given(st.integers(0, 5000), st.integers(1, 256))
def test_chunks_cover_the_batch_in_order_as_few_and_as_even_as_can_be(jobs, in_flight):
    bounds = chunk_bounds(jobs, in_flight)
    size = in_flight * JOBS_PER_SLOT
    assert [i for bound in bounds for i in bound] == sorted(i for bound in bounds for i in bound)  # in order
    assert [a for a, _ in bounds[1:]] == [b for _, b in bounds[:-1]]  # contiguous
    assert (bounds[0][0], bounds[-1][1]) == (0, jobs) if jobs else bounds == []
    assert len(bounds) == math.ceil(jobs / size)
    lengths = [b - a for a, b in bounds]
    assert all(0 < n <= size for n in lengths) and (not lengths or max(lengths) - min(lengths) <= 1)


def test_256_jobs_at_32_in_flight_are_three_even_tasks():
    assert chunk_bounds(256, 32) == [(0, 85), (85, 170), (170, 256)]


def test_a_node_keeps_a_worker_for_every_task_its_cpus_run_at_once():
    assert kept_workers(2, 0.25) == 8
    assert kept_workers(16, 1.0) == 16
    assert kept_workers(3, 0.5) == 6 and kept_workers(1, 4.0) == 1
