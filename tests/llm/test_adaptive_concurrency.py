"""The adaptive concurrency rule, in virtual time: it rises to a server's capacity, backs off on
latency past the knee, on overload errors and on 429s, and recovers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from negoray.llm.adaptive_concurrency import AdaptiveConcurrency, ControllerSettings, Outcome
from tests.llm.queue_model import simulate


def test_rises_to_the_capacity_of_a_slots_server_and_holds_latency():
    capacity = simulate(None, slots=24, fixed=24, seed=3).throughput
    unloaded = simulate(None, slots=24, fixed=1, seed=3).median_latency_s
    run = simulate(AdaptiveConcurrency(), slots=24, seed=3)
    assert 20 <= run.median_limit <= 36
    assert run.throughput >= 0.9 * capacity
    assert run.median_latency_s <= 1.5 * unloaded


def test_settles_below_a_collapse():
    run = simulate(AdaptiveConcurrency(), slots=48, collapse_after=48, collapse_factor=1.0, seed=2)
    best = simulate(None, slots=48, fixed=48, collapse_after=48, collapse_factor=1.0, seed=2).throughput
    flooded = simulate(None, slots=48, fixed=256, collapse_after=48, collapse_factor=1.0, seed=2).throughput
    assert 36 <= run.median_limit <= 60
    assert run.throughput >= 0.95 * best > 2 * flooded  # the knee memory: 0.934-0.943 without it


def test_a_serial_server_settles_at_one():
    run = simulate(AdaptiveConcurrency(), slots=1, latency_s=1.0, seconds=400)
    unloaded = simulate(None, slots=1, latency_s=1.0, seconds=400, fixed=1).median_latency_s
    assert run.median_limit == 1  # started at 2, the baseline was twice the latency: limit 2-3
    assert run.median_latency_s <= 1.5 * unloaded


def _window(ctl: AdaptiveConcurrency, latency_s: float, outcome: Outcome = Outcome.OK, errors: int | None = None) -> None:
    """One full window at the current limit, callers wanting more; ``errors`` of them with ``outcome``
    (default: all, unless it is OK)."""
    n = max(ctl.settings.min_samples, int(ctl.settings.window_factor * ctl.limit))
    bad = n if errors is None else errors
    epoch = ctl.epoch
    for i in range(n):
        ctl.demand(10_000)
        ctl.observe(latency_s, outcome if i < bad else Outcome.OK, epoch)


def test_backs_off_when_latency_climbs_past_the_knee():
    ctl = AdaptiveConcurrency(ControllerSettings(initial=32))
    _window(ctl, 0.3)  # the baseline; slow start doubles
    before = ctl.limit
    _window(ctl, 0.6)  # twice the latency at the same concurrency: queueing
    assert ctl.limit == int(before * 1.1 / 2)


def test_the_knee_is_remembered_on_the_way_back():
    ctl = AdaptiveConcurrency(ControllerSettings(initial=40))
    _window(ctl, 0.3)  # the baseline; slow start: 80
    _window(ctl, 0.6)  # queueing at 80: the knee, cut by the gradient to 80 * 1.1 / 2 = 44
    assert (ctl.knee, ctl.limit) == (80, 44)
    _window(ctl, 0.3)  # the cut helped; below 0.9 x the knee the limit climbs additively
    while ctl.limit < 72:
        _window(ctl, 0.3)
    at, windows = ctl.limit, 0
    while ctl.limit == at:  # from 72 on, by one every `knee_probe_every` windows
        _window(ctl, 0.3)
        windows += 1
    assert (ctl.limit, windows) == (at + 1, ctl.settings.knee_probe_every)
    limit = ctl.limit
    _window(ctl, 0.6)  # queueing again near the knee, but one slow window may be noise
    assert ctl.limit == limit
    _window(ctl, 0.6)  # the second in a row: a gentle cut, not the gradient's halving
    assert ctl.limit == int(limit * ctl.settings.knee_share) and ctl.knee == limit


def test_near_the_knee_a_little_queueing_steps_the_limit_down():
    """In the hold band by the knee the limit goes to the band's lower edge, one at a time: a
    collapsing server loses throughput with every request past its knee."""
    ctl = AdaptiveConcurrency(ControllerSettings(initial=40))
    _window(ctl, 0.3)
    _window(ctl, 0.6)  # the knee at 80, cut to 44
    while ctl.limit < 72:
        _window(ctl, 0.3)
    at = ctl.limit
    for _ in range(ctl.settings.knee_probe_every - 1):
        _window(ctl, 0.375)  # 1.25 x the baseline: in the hold band
        assert ctl.limit == at
    _window(ctl, 0.375)
    assert ctl.limit == at - 1 and ctl.knee == 80


def test_slow_start_outlasts_a_single_noisy_window():
    ctl = AdaptiveConcurrency(ControllerSettings(initial=4))
    _window(ctl, 0.3)  # 8
    _window(ctl, 0.4)  # one window in the hold band: holds
    assert ctl.limit == 8
    _window(ctl, 0.3)  # still slow start: doubles
    assert ctl.limit == 16


@pytest.mark.parametrize("outcome, factor", [(Outcome.OVERLOAD, 0.5), (Outcome.RATE_LIMITED, 0.75)])
def test_backs_off_on_errors_and_429s_then_recovers(outcome, factor):
    ctl = AdaptiveConcurrency(ControllerSettings(initial=32))
    _window(ctl, 0.3)
    before = ctl.limit
    _window(ctl, 0.0, outcome)
    assert ctl.limit == int(before * factor)
    _window(ctl, 0.0, outcome)
    assert ctl.limit == int(int(before * factor) * factor)
    for _ in range(30):  # the errors stop: slow start back towards where it was, then probing further
        _window(ctl, 0.3)
    assert ctl.limit > int(before * factor)


def test_a_few_stray_errors_do_not_lower_the_limit():
    ctl = AdaptiveConcurrency(ControllerSettings(initial=32))
    _window(ctl, 0.3)
    before = ctl.limit
    _window(ctl, 0.3, Outcome.OVERLOAD, errors=2)
    assert ctl.limit >= before


def test_completions_sent_under_an_older_limit_are_not_judged_against_the_new_one():
    ctl = AdaptiveConcurrency(ControllerSettings(initial=32))
    _window(ctl, 0.3)
    old = ctl.epoch
    _window(ctl, 0.0, Outcome.OVERLOAD)
    limit = ctl.limit
    for _ in range(256):
        ctl.observe(0.0, Outcome.OVERLOAD, old)
    assert ctl.limit == limit


def test_a_slower_server_is_not_starved():
    """The server gets slower for everyone (say, longer prompts): cutting does not help, so the cut is
    undone and the baseline moves up."""
    ctl = AdaptiveConcurrency(ControllerSettings(initial=16))
    _window(ctl, 0.3)
    before = ctl.limit
    _window(ctl, 0.9)  # looks like queueing: cut
    assert ctl.limit < before
    _window(ctl, 0.9)  # no faster after the cut: not ours
    assert ctl.limit >= before and ctl.baseline == pytest.approx(0.9)


def test_demand_below_the_limit_does_not_raise_it():
    ctl = AdaptiveConcurrency(ControllerSettings(initial=8))
    for _ in range(10):
        for _ in range(16):
            ctl.demand(3)
            ctl.observe(0.3, Outcome.OK, ctl.epoch)
    assert ctl.limit == 8


_observation = st.tuples(st.floats(0.001, 30.0), st.sampled_from(list(Outcome)), st.integers(0, 600))


@settings(max_examples=60, deadline=None)
@given(st.lists(_observation, max_size=400), st.integers(1, 8), st.integers(8, 128))
def test_the_limit_stays_within_its_bounds_and_epochs_only_grow(observations, floor, ceiling):
    ctl = AdaptiveConcurrency(ControllerSettings(initial=floor, floor=floor, ceiling=ceiling))
    epoch = ctl.epoch
    for latency, outcome, demand in observations:
        ctl.demand(demand)
        ctl.observe(latency, outcome, ctl.epoch)
        assert floor <= ctl.limit <= ceiling
        assert ctl.epoch >= epoch
        epoch = ctl.epoch


@settings(max_examples=40, deadline=None)
@given(st.floats(0.01, 5.0), st.integers(1, 64), st.integers(1, 30))
def test_steady_latency_and_full_demand_never_lower_it(latency, initial, windows):
    ctl = AdaptiveConcurrency(ControllerSettings(initial=initial))
    previous = ctl.limit
    for _ in range(windows):
        _window(ctl, latency)
        assert ctl.limit >= previous
        previous = ctl.limit
