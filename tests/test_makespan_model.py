"""The makespan model (`negoray.plan.makespan`): importable without Ray, and its schedule obeys the
bounds it reports."""

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from negoray.evolution.market import death_count
from negoray.plan.makespan import Gen, Sched, Shape, Trace, evaluate, mutation_chains, sequential, synth_trace

WORKLOAD = {"negotiations": [[30, 40], [35, 35, 40, 20], [40] * 6, [25] * 10],
            "mutation_chains": [[300], [0, 320], [310]]}
"""A small hand-made workload: completion tokens per call of four negotiations, three mutation chains."""

NO_OVERHEAD = Sched(slots=2, endpoint_slots=4, cpus=4, in_flight=2, task_cpus=1, task_overhead_s=0, call_overhead_s=0)


def test_the_model_imports_without_ray():
    code = "import sys, negoray.plan.makespan; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_hand_checked_schedule():
    """Two one-call negotiations of 1 s on 2 slots end together at 1 s; a 3 s chain then follows."""
    trace = Trace([[Gen(eval=[[1.0], [1.0]]), Gen(test=[[1.0, 2.0]])]])
    res = evaluate(trace, NO_OVERHEAD, latency_ms=0, per_token_ms=1000, sigma=0, seed=0)
    assert res["makespan_s"] == pytest.approx(4.0)
    assert res["critical_path_s"] == pytest.approx(4.0) and res["total_service_s"] == pytest.approx(5.0)
    assert sequential(trace, 0) == pytest.approx(5.0)


def test_a_task_plays_all_its_negotiations_at_once_on_its_units():
    """Three chains of three 1-s calls in one 2-unit task: 9 s of calls on 2 units end at 5 s (with
    two negotiations in flight, the third would start only at 3 s and end at 6 s)."""
    trace = Trace([[Gen(eval=[[1.0] * 3] * 3)]])
    sched = Sched(slots=2, endpoint_slots=2, cpus=4, in_flight=2, task_cpus=1, task_overhead_s=0, call_overhead_s=0)
    assert evaluate(trace, sched, latency_ms=0, per_token_ms=1000, sigma=0, seed=0)["makespan_s"] == pytest.approx(5.0)


def test_market_deaths_are_the_markets():
    shape = Shape()
    assert shape.mutations("B") == death_count(8, 2, 0.3) == 2
    assert shape.mutations("A") == 6


@settings(max_examples=25, deadline=None)
@given(runs=st.integers(1, 5), generations=st.integers(1, 3), population=st.integers(3, 6), dev=st.integers(1, 4),
       slots=st.integers(1, 8), in_flight=st.integers(1, 4), seed=st.integers(0, 1000))
def test_the_schedule_lies_between_its_lower_bound_and_the_sequential_loop(runs, generations, population, dev, slots,
                                                                         in_flight, seed):
    shape = Shape(runs=runs, generations=generations, population=population, dev=dev, test=3, elites=1,
                  gating_scenarios=2, seeds=2)
    trace = synth_trace(shape, WORKLOAD, seed)
    # a task holds in_flight endpoint units: one that needs more than the node offers never starts (as in Ray)
    sched = Sched(slots=slots, endpoint_slots=max(2 * slots, in_flight), cpus=4, in_flight=in_flight, task_cpus=0.25,
                  task_overhead_s=0.0, call_overhead_s=0.0)
    res = evaluate(trace, sched, latency_ms=100, per_token_ms=1, sigma=0.3, seed=seed)
    assert res["makespan_s"] >= res["lower_bound_s"] * (1 - 1e-9)
    assert res["makespan_s"] <= res["sequential_s"] * (1 + 1e-9)
    assert res["calls"] == trace.calls()
    assert evaluate(trace, sched, latency_ms=100, per_token_ms=1, sigma=0.3, seed=seed)["makespan_s"] == res["makespan_s"]


def test_mutation_chains_end_at_the_accepted_reply():
    class Reply:
        def __init__(self, tokens):
            self.completion_tokens = tokens

    calls = [("p1", Reply(10), False), ("p2", Reply(5), True), ("p1", Reply(12), True), ("p3", None, False)]
    assert mutation_chains(calls) == [[5], [10, 12], [0]]
