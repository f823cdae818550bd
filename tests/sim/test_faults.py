"""The sim server's fault model, in virtual time."""

import copy
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from negoray.sim.faults import Fault, FaultConfig, FaultModel, Limits, format_duration


def admitted_log(model: FaultModel, arrivals: list[tuple[float, int]]) -> list[tuple[float, int]]:
    return [(t, n) for t, n in arrivals if model.decide(t, n).admitted]


arrival_lists = st.lists(
    st.tuples(st.floats(0, 20, allow_nan=False), st.integers(1, 40)), min_size=1, max_size=80,
).map(sorted)


@settings(max_examples=150, deadline=None)
@given(arrivals=arrival_lists, rpm=st.integers(1, 6), tpm=st.integers(40, 120), window=st.sampled_from([0.5, 1.0, 2.5]))
def test_never_more_than_the_limits_in_any_window(arrivals, rpm, tpm, window):
    log = admitted_log(FaultModel(FaultConfig(rpm=rpm, tpm=tpm, window_s=window)), arrivals)
    for t, _ in log:  # every window (t - window, t] ending at an admission
        inside = [n for u, n in log if t - window + 1e-6 < u <= t]
        assert len(inside) <= rpm
        assert sum(inside) <= tpm


@settings(max_examples=150, deadline=None)
@given(arrivals=arrival_lists, rpm=st.integers(1, 5), tpm=st.integers(40, 120), window=st.sampled_from([0.5, 1.0, 3.0]))
def test_retry_after_is_exact(arrivals, rpm, tpm, window):
    """A 429'd request retried exactly ``retry-after-ms`` later is admitted; a millisecond sooner it is not."""
    model = FaultModel(FaultConfig(rpm=rpm, tpm=tpm, window_s=window))
    for t, n in arrivals:
        before = copy.deepcopy(model)
        d = model.decide(t, n)
        if d.admitted or d.too_large:
            continue
        assert d.retry_after_ms == math.ceil(round(d.retry_after_s * 1000, 6)) > 0
        assert d.headers()["retry-after"] == str(math.ceil(d.retry_after_ms / 1000))
        assert d.headers()["retry-after-ms"] == str(d.retry_after_ms)
        assert copy.deepcopy(before).decide(t + d.retry_after_ms / 1000, n).admitted
        if d.retry_after_s > 0.002:
            assert not copy.deepcopy(before).decide(t + d.retry_after_s - 0.001, n).admitted


def test_retry_after_headers_for_a_request_limit():
    model = FaultModel(FaultConfig(rpm=2, window_s=10))
    assert model.decide(0.0, 10).admitted
    ok = model.decide(1.0, 10)
    assert ok.admitted and ok.headers() == {
        "x-ratelimit-limit-requests": "2", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "10s",
    }
    d = model.decide(2.5, 10)
    assert not d.admitted and d.limited_by == "requests"
    assert d.retry_after_s == 7.5
    assert d.headers() == {
        "x-ratelimit-limit-requests": "2", "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "8.5s",  # until the window is back to its initial state
        "retry-after": "8", "retry-after-ms": "7500",
    }
    assert not model.decide(9.999, 10).admitted
    assert model.decide(10.0, 10).admitted


def test_a_429_consumes_no_quota():
    model = FaultModel(FaultConfig(rpm=1, tpm=100, window_s=1))
    assert model.decide(0.0, 60).admitted
    for i in range(50):
        assert not model.decide(0.01 * (i + 1), 30).admitted
    assert model.window_usage(0.9) == (1, 60)
    assert model.decide(1.0, 60).admitted


def test_token_limit_waits_for_enough_tokens_to_leave():
    model = FaultModel(FaultConfig(tpm=100, window_s=10))
    assert model.decide(0.0, 50).admitted
    assert model.decide(1.0, 30).admitted
    d = model.decide(2.0, 60)  # needs the first 50 gone: at t=10
    assert not d.admitted and d.limited_by == "tokens" and d.retry_after_s == 8.0
    assert d.headers()["x-ratelimit-remaining-tokens"] == "20"
    assert "x-ratelimit-limit-requests" not in d.headers()
    assert model.decide(2.0, 20).admitted  # a small one still fits


def test_a_request_larger_than_tpm_is_refused_without_closing_the_window():
    model = FaultModel(FaultConfig(tpm=100, window_s=10))
    d = model.decide(0.0, 101)
    assert not d.admitted and d.too_large and d.retry_after_s == 10
    assert not model.decide(0.1, 5).early
    assert model.decide(0.2, 5).admitted


def test_early_counts_arrivals_before_the_announced_reset():
    model = FaultModel(FaultConfig(rpm=1, window_s=10))
    assert not model.decide(0.0, 1).early
    refused = model.decide(1.0, 1)
    assert not refused.admitted and not refused.early  # it could not know
    assert model.closed_until == 10.0
    assert model.decide(5.0, 1).early
    assert model.decide(9.999, 1).early
    on_time = model.decide(10.0, 1)
    assert on_time.admitted and not on_time.early


@pytest.mark.parametrize("unload_for", [3.0, math.inf])
def test_unload_window_timing(unload_for):
    model = FaultModel(FaultConfig(unload_after=5, unload_for=unload_for), start=100.0)
    assert not model.unloaded(104.999)
    assert model.unloaded(105.0) and model.unloaded(107.999)
    assert model.unloaded(108.0) is math.isinf(unload_for)
    assert model.decide(106.0, 10).fault is Fault.UNLOADED
    assert model.decide(109.0, 10).fault is (Fault.UNLOADED if math.isinf(unload_for) else Fault.NONE)
    assert not FaultModel(FaultConfig(), start=0).unloaded(1e9)


def test_the_unload_window_can_start_at_the_first_request():
    """A trial whose client takes long to start (Ray under load) still meets the whole window."""
    model = FaultModel(FaultConfig(unload_after=0, unload_for=20, unload_from_first_request=True), start=0.0)
    assert model.decide(30.0, 10).fault is Fault.UNLOADED  # server start + 30 s: the window opens now
    assert model.decide(49.9, 10).fault is Fault.UNLOADED
    assert model.decide(50.0, 10).fault is Fault.NONE


def test_error_and_drop_rates_match_and_are_seeded():
    def faults(seed):
        model = FaultModel(FaultConfig(error_rate=0.1, drop_rate=0.05, seed=seed))
        return [model.decide(i * 0.001, 1).fault for i in range(20_000)]

    drawn = faults(7)
    assert drawn == faults(7) and drawn != faults(8)
    assert drawn.count(Fault.SERVER_ERROR) / len(drawn) == pytest.approx(0.1, abs=0.01)
    assert drawn.count(Fault.DROP) / len(drawn) == pytest.approx(0.05, abs=0.007)
    assert set(drawn) == {Fault.NONE, Fault.SERVER_ERROR, Fault.DROP}


def test_service_time_has_the_configured_mean_and_grows_with_tokens():
    model = FaultModel(FaultConfig(latency_ms=200, seed=3))
    draws = [model.service_time_s(0) for _ in range(20_000)]
    assert sum(draws) / len(draws) == pytest.approx(0.2, rel=0.02)
    assert min(draws) < 0.15 < 0.25 < max(draws)
    fixed = FaultModel(FaultConfig(latency_ms=100, latency_sigma=0, per_token_ms=2))
    assert fixed.service_time_s(0) == pytest.approx(0.1)
    assert fixed.service_time_s(50) == pytest.approx(0.2)


def test_reset_durations_are_written_like_openai():
    assert [format_duration(s) for s in (0, 0.0004, 0.12, 1.5, 20, 59.9991, 360, 3723.5)] == [
        "0ms", "1ms", "120ms", "1.5s", "20s", "1m0s", "6m0s", "1h2m3.5s",
    ]
    assert Limits(0, 0, 0, 0, 0, 0).headers() == {}


@pytest.mark.parametrize("bad", [
    {"error_rate": 1.5}, {"drop_rate": -0.1}, {"error_rate": 0.6, "drop_rate": 0.5}, {"rpm": -1},
    {"window_s": 0}, {"latency_ms": -1}, {"unload_after": -1}, {"unload_for": -2}, {"latency_ms": math.nan},
])
def test_config_validation(bad):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        FaultConfig(**bad)
