"""Issue 12 item 9, in virtual time: after a 429 pause callers are released at the limit's pace, and
a configured rate above the provider's real one is learned down (then probed back up slowly)."""

import heapq

from hypothesis import given, settings, strategies as st

from negoray.llm.adaptive_rate import AdaptiveRate
from negoray.llm.limiter import RateLimiter, RateLimits
from negoray.sim.faults import FaultConfig, FaultModel

from .vtime import VirtualTime


def simulate(limiter, clock, server, callers, until, key="k", latency=0.5):
    """Callers loop like `LLMClient`: acquire, sleep, resume (a pause may push them back), send; a 429
    pauses the key and the call retries after its Retry-After. Returns (sent at, admitted) per request."""
    events = [(clock.now, i, "acquire") for i in range(callers)]
    heapq.heapify(events)
    sent, seq = [], callers
    while events:
        t, _, what = heapq.heappop(events)
        if t > until:
            break
        clock.now = t
        seq += 1
        if what == "acquire":
            heapq.heappush(events, (t + limiter.acquire(key, 1, 0), seq, "wake"))
        elif (wait := limiter.resume(key)) > 0:
            heapq.heappush(events, (t + wait, seq, "wake"))
        else:
            decision = server(t)
            sent.append((t, decision.admitted))
            if decision.admitted:
                heapq.heappush(events, (t + latency, seq, "acquire"))
            else:
                limiter.pause(key, decision.retry_after_s)
                heapq.heappush(events, (t + decision.retry_after_s, seq, "acquire"))
    return sent


def test_after_a_pause_waiting_callers_are_released_at_the_limits_pace():
    clock = VirtualTime(0.0)
    limiter = RateLimiter(clock=clock)
    limiter.configure("k", RateLimits(rpm=60))
    waits = [limiter.acquire("k") for _ in range(30)]  # 30 reservations, one per ~1.03 s
    clock.now = 5.0
    limiter.pause("k", 20.0)  # a 429 at t=5 asks for 20 s
    starts = []
    for w in waits:
        if w < 5.0:
            continue  # already sent before the pause
        clock.now = w
        while (again := limiter.resume("k")) > 0:
            clock.now += again
        starts.append(clock.now)
    after = sorted(s for s in starts if s >= 25.0)
    assert after and min(after) >= 25.0  # nobody inside the pause
    gaps = [b - a for a, b in zip(after, after[1:])]
    assert min(gaps) >= 60 / 60 * 0.97 - 1e-9  # paced, not a burst
    assert sum(1 for s in after if s < 30.0) <= 6  # at most the limit's 5 s worth (+1) in the next 5 s


def test_a_configured_rate_above_the_real_one_is_learned_down(caplog):
    clock = VirtualTime(0.0)
    limiter = RateLimiter(clock=clock)
    limiter.configure("k", RateLimits(rpm=90))  # the provider really allows 60
    model = FaultModel(FaultConfig(rpm=60, window_s=60.0))
    sent = simulate(limiter, clock, lambda t: model.decide(t, 0), callers=16, until=30 * 60)
    late = [ok for t, ok in sent if t >= 20 * 60]
    assert late.count(False) <= 0.05 * len(late)  # learned: the 429s (nearly) stopped
    assert late.count(True) / 10 >= 0.8 * 60  # and the rate did not collapse below the real limit
    assert "repeated 429s: lowering: rate limit k:" in caplog.text and "(configured 90 rpm)" in caplog.text


def test_the_learned_rate_is_probed_back_up_when_429s_stop():
    clock = VirtualTime(0.0)
    limiter = RateLimiter(clock=clock)
    limiter.configure("k", RateLimits(rpm=90))
    for t in (0.0, 1.0):
        clock.now = t
        limiter.pause("k", 1.0)
    lowered = limiter._keys["k"].rpm()
    assert lowered < 90
    clock.now = 1000.0  # a long quiet spell: a few slow probe steps, never above the configured rate
    rates = []
    for _ in range(200):
        clock.now += limiter.acquire("k") + 61.0
        rates.append(limiter._keys["k"].rpm())
    assert rates == sorted(rates) and rates[-1] == 90 and rates[0] - lowered <= 0.05 * 90
    assert limiter.notes() == []


@settings(max_examples=60, deadline=None)
@given(times=st.lists(st.floats(0, 3600), min_size=1, max_size=60), base=st.floats(1, 5000))
def test_adaptive_rate_stays_between_floor_and_ceiling_and_one_429_never_lowers(times, base):
    rate = AdaptiveRate()
    assert not rate.on_429(0.0, base) or rate.strikes <= 1
    rate = AdaptiveRate()
    for now in sorted(times):
        rate.on_429(now, base)
        rate.tick(now)
        if rate.rpm is not None:
            assert rate.floor_rpm <= rate.rpm <= base
