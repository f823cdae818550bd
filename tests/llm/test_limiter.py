"""The rate limiter core in virtual time."""

import datetime as dt

from hypothesis import given, settings, strategies as st

from negoray.llm.limiter import RateLimiter, RateLimits

from .vtime import VirtualTime


def run(limiter, key, n, tokens=0, clock=None):
    """Issue n calls as fast as allowed; return their start times."""
    starts = []
    for _ in range(n):
        wait = limiter.acquire(key, 1, tokens)
        starts.append(clock.now + wait)
    return starts


def max_in_window(starts, window=60.0):
    starts = sorted(starts)
    best, j = 0, 0
    for i, s in enumerate(starts):
        while starts[j] <= s - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_unconfigured_and_unlimited_keys_never_wait():
    limiter = RateLimiter(clock=VirtualTime())
    assert limiter.acquire("nobody") == 0
    limiter.configure("local", RateLimits())
    assert all(limiter.acquire("local", 1, 10_000) == 0 for _ in range(1000))


@settings(max_examples=40, deadline=None)
@given(rpm=st.integers(5, 3000), n=st.integers(1, 400))
def test_rpm_never_exceeded_in_any_window_and_rate_is_close(rpm, n):
    clock = VirtualTime()
    limiter = RateLimiter(clock=clock)
    limiter.configure("k", RateLimits(rpm=rpm))
    starts = run(limiter, "k", n, clock=clock)
    assert max_in_window(starts) <= rpm
    if n > rpm:  # sustained: achieved rate within the headroom of the limit
        span = starts[-1] - starts[0]
        assert (n - 1) / span * 60 >= 0.95 * rpm


@settings(max_examples=40, deadline=None)
@given(tpm=st.integers(2000, 200_000), tokens=st.integers(10, 1500), n=st.integers(1, 200))
def test_tpm_never_exceeded_in_any_window(tpm, tokens, n):
    clock = VirtualTime()
    limiter = RateLimiter(clock=clock)
    limiter.configure("k", RateLimits(tpm=tpm))
    starts = sorted(run(limiter, "k", n, tokens=tokens, clock=clock))
    assert max_in_window(starts) * tokens <= tpm


def test_calls_spread_over_time_as_the_clock_moves():
    clock = VirtualTime()
    limiter = RateLimiter(clock=clock)
    limiter.configure("k", RateLimits(rpm=60, headroom=1.0))
    assert limiter.acquire("k") == 0
    assert limiter.acquire("k") == 1.0
    clock.now += 5  # idle time does not bank a burst beyond one call
    assert limiter.acquire("k") == 0
    assert limiter.acquire("k") == 1.0


def test_a_429_pauses_the_key_for_everyone():
    clock = VirtualTime()
    limiter = RateLimiter(clock=clock)
    limiter.configure("k", RateLimits(rpm=6000))
    limiter.pause("k", 7.5)
    assert limiter.paused_for("k") == 7.5
    assert limiter.acquire("k") >= 7.5
    clock.now += 8
    assert limiter.paused_for("k") == 0


def test_settle_returns_unused_tokens():
    clock = VirtualTime()
    limiter = RateLimiter(clock=clock)
    limiter.configure("k", RateLimits(tpm=6000, headroom=1.0))
    first = [limiter.acquire("k", 1, 1000) for _ in range(3)]
    limiter.settle("k", 1000, 100)
    limiter.settle("k", 1000, 100)
    after_settle = limiter.acquire("k", 1, 1000)
    other = RateLimiter(clock=VirtualTime())
    other.configure("k", RateLimits(tpm=6000, headroom=1.0))
    unsettled = [other.acquire("k", 1, 1000) for _ in range(4)][-1]
    assert first[0] == 0 and after_settle < unsettled


def test_requests_per_day_wait_for_the_next_utc_day_and_survive_restarts(tmp_path):
    clock = VirtualTime()
    noon = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc).timestamp()
    wall = lambda: noon + (clock.now - 1000.0)  # noqa: E731
    state = tmp_path / "daily.json"
    limiter = RateLimiter(clock=clock, wall=wall, state_path=state)
    limiter.configure("k", RateLimits(rpd=3))
    assert [limiter.acquire("k") for _ in range(3)] == [0, 0, 0]
    restarted = RateLimiter(clock=clock, wall=wall, state_path=state)
    restarted.configure("k", RateLimits(rpd=3))
    assert restarted.day_count("k") == 3
    assert restarted.acquire("k") == 12 * 3600  # midnight UTC
