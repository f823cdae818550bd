"""The cluster-wide concurrency limit: the pool's shares, and processes (gates) sharing one endpoint
through it never exceeding the limit together."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from negoray.llm.adaptive_concurrency import ControllerSettings, Outcome
from negoray.llm.concurrency_gate import ConcurrencyGate
from negoray.llm.concurrency_pool import (OVERDUE_FACTOR, OVERDUE_FLOOR_S, ConcurrencyPool, overdue_after, targets_for,
                                        water_fill)
from negoray.llm.limiter import InProcessLimiter
from tests.llm.vtime import VirtualTime

_demands = st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 50), max_size=8)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 200), _demands)
def test_water_fill_never_gives_more_than_asked_or_than_there_is(capacity, demands):
    share = water_fill(capacity, demands)
    assert sum(share.values()) <= capacity
    assert all(0 <= share[k] <= demands[k] for k in demands)
    if sum(demands.values()) <= capacity:
        assert share == demands
    else:  # all of it is used, and nobody below its demand gets less than an even split
        assert sum(share.values()) == capacity
        even = capacity // len(demands)
        assert all(share[k] >= min(demands[k], even) for k in demands)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 200), _demands)
def test_targets_add_headroom_within_the_capacity(capacity, demands):
    targets = targets_for(capacity, demands, set(demands))
    assert sum(targets.values()) <= capacity
    assert all(targets[k] >= min(demands[k], capacity // max(1, len(demands))) for k in demands)


def test_a_process_gets_no_more_than_the_others_leave():
    pool = ConcurrencyPool(clock=VirtualTime())
    pool.configure("k", fixed=10)
    a = pool.sync("k", "a", in_use=0, allowance=0, waiting=10)
    assert a.allowance == 10 and a.limit == 10
    b = pool.sync("k", "b", in_use=0, allowance=0, waiting=10)
    assert b.allowance == 0  # a may hold all 10 until it next syncs
    a = pool.sync("k", "a", in_use=10, allowance=10, waiting=0)
    assert a.allowance == 5 and a.contended
    b = pool.sync("k", "b", in_use=0, allowance=0, waiting=10)
    assert b.allowance == 0  # a still has 10 in use
    pool.sync("k", "a", in_use=4, allowance=5, waiting=0)
    assert pool.sync("k", "b", in_use=0, allowance=0, waiting=10).allowance == 5
    assert pool.in_flight("k") <= 10


def test_a_dead_process_is_forgotten():
    clock = VirtualTime()
    pool = ConcurrencyPool(clock=clock, client_ttl_s=30)
    pool.configure("k", fixed=4)
    assert pool.sync("k", "dead", 0, 0, 4).allowance == 4
    assert pool.sync("k", "alive", 0, 0, 4).allowance == 0
    clock.now += 31
    assert pool.sync("k", "alive", 0, 0, 4).allowance == 4


def test_completions_reach_the_controller_and_the_stats():
    pool = ConcurrencyPool(clock=VirtualTime(), history_period_s=0)
    grant = pool.sync("k", "a", 0, 0, 50)
    initial = ControllerSettings().initial
    assert grant.limit == initial  # adaptive by default
    for _ in range(5):
        grant = pool.sync("k", "a", 1, 1, 50, [(0.3, Outcome.OK.value, grant.epoch)] * 16)
    assert grant.limit > initial
    stats = pool.stats()[0]
    assert stats["adaptive"] and stats["p50_s"] == pytest.approx(0.3)
    assert pool.history()[-1]["limit"] == grant.limit


class _SlowLimiter(InProcessLimiter):
    """An in-process limiter whose syncs take a random few event-loop turns, like an actor's round trip."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    async def sync_concurrency(self, *args, **kwargs):
        for _ in range(self.rng.randint(0, 5)):
            await asyncio.sleep(0)
        grant = await super().sync_concurrency(*args, **kwargs)
        for _ in range(self.rng.randint(0, 5)):
            await asyncio.sleep(0)
        return grant


@pytest.mark.parametrize("fixed", [3, 7, None])
def test_two_workers_sharing_one_endpoint_never_exceed_its_limit_together(fixed):
    rng = random.Random(fixed or 0)
    limiter = _SlowLimiter(rng)
    limiter.pool.configure("k", fixed=fixed)
    gates = [ConcurrencyGate(limiter, "k", client=name, sync_s=0.001, idle_s=0.002) for name in ("w1", "w2")]
    in_use, peak, over, calls = 0, 0, [], 0

    async def call(gate: ConcurrencyGate) -> None:
        nonlocal in_use, peak, calls
        async with gate.permit() as permit:
            in_use += 1
            calls += 1
            peak = max(peak, in_use)
            limit = fixed or limiter.pool.stats()[0]["limit"]  # steady latency: an adaptive limit only grows
            if in_use > limit:
                over.append((in_use, limit, permit.limit))
            for _ in range(rng.randint(0, 8)):
                await asyncio.sleep(0)
            permit.done(0.3, Outcome.OK)
            in_use -= 1

    async def worker(gate: ConcurrencyGate) -> None:
        for _ in range(30):
            await asyncio.gather(*(call(gate) for _ in range(rng.randint(1, 12))))

    async def main() -> None:
        await asyncio.gather(*(worker(g) for g in gates), *(worker(g) for g in gates))
        for _ in range(200):  # both hand everything back once idle
            if all(g._pump is None or g._pump.done() for g in gates):
                break
            await asyncio.sleep(0.002)

    asyncio.run(main())
    assert not over
    if fixed is not None:
        assert peak <= fixed
        assert peak == fixed  # and the limit is used
    assert limiter.pool.in_flight("k") == 0
    assert sum(g.syncs for g in gates) < calls  # far fewer round trips than calls


def test_headroom_a_process_does_not_use_goes_to_the_others_at_its_next_sync():
    limiter = InProcessLimiter()
    limiter.pool.configure("k", fixed=8)
    first, second = (ConcurrencyGate(limiter, "k", client=name, sync_s=3600, starved_s=3600) for name in ("w1", "w2"))
    release = asyncio.Event()

    async def call(gate: ConcurrencyGate) -> None:
        async with gate.permit() as permit:
            await release.wait()
            permit.done(0.1, Outcome.OK)

    async def turns() -> None:
        for _ in range(20):
            await asyncio.sleep(0)

    async def main() -> None:
        calls = [asyncio.ensure_future(call(first)) for _ in range(2)]
        await turns()
        assert (first.in_use, first.allowance) == (2, 8)  # alone: its 2 and all the rest as headroom
        calls += [asyncio.ensure_future(call(second)) for _ in range(4)]
        await turns()
        assert second.in_use == 0  # the first one's headroom is its claim until it syncs
        await first._sync()  # its next sync reports the 2 it uses, not the 8 it held
        await second._sync()
        assert second.in_use == 4 and limiter.pool.in_flight("k") <= 8
        release.set()
        await asyncio.gather(*calls)

    asyncio.run(main())


def test_callers_queueing_behind_a_full_allowance_do_not_each_cost_a_sync():
    limiter = InProcessLimiter()
    limiter.pool.configure("k", fixed=2)
    gate = ConcurrencyGate(limiter, "k", client="w1", sync_s=3600, starved_s=3600)
    release = asyncio.Event()

    async def call() -> None:
        async with gate.permit() as permit:
            await release.wait()
            permit.done(0.1, Outcome.OK)

    async def main() -> None:
        calls = []
        for _ in range(12):  # one at a time: 2 get the permits, 10 queue
            calls.append(asyncio.ensure_future(call()))
            for _ in range(10):
                await asyncio.sleep(0)
        assert (gate.in_use, len(gate._waiters)) == (2, 10)
        assert gate.syncs <= 3  # the first to wait syncs; the others wait for the pump's backed-off syncs
        release.set()
        await asyncio.gather(*calls)

    asyncio.run(main())


def test_a_hung_request_gives_its_permit_back_once_overdue():
    """At a limit of 1, a request out past ``overdue_s`` no longer holds the endpoint; overdue ones
    never number more than the limit, and everything is accounted for when they end."""
    limiter = InProcessLimiter()
    limiter.pool.configure("k", fixed=1)
    now = [0.0]
    gate = ConcurrencyGate(limiter, "k", client="w1", sync_s=0.001, starved_s=0.001, clock=lambda: now[0])
    hung, started = asyncio.Event(), []

    async def call(name: str, wait: asyncio.Event | None) -> None:
        async with gate.permit() as permit:
            started.append(name)
            if wait is not None:
                await wait.wait()
            permit.done(0.1, Outcome.OK)

    async def turns(n: int = 50) -> None:
        for _ in range(n):
            await asyncio.sleep(0.001)

    async def main() -> None:
        calls = [asyncio.ensure_future(call(f"hung{i}", hung)) for i in range(3)]
        calls.append(asyncio.ensure_future(call("quick", None)))
        await turns()
        assert started == ["hung0"]  # the limit is 1: the rest wait
        now[0] = gate.overdue_s - 0.5
        await turns()
        assert started == ["hung0"]  # not yet overdue
        now[0] = gate.overdue_s + 0.5
        await turns()
        assert started == ["hung0", "hung1"]  # hung0 gave its permit back, and hung1 took it
        now[0] = 2 * gate.overdue_s + 1
        await turns()
        assert started == ["hung0", "hung1"]  # at most one overdue at a limit of 1: hung1 keeps its permit
        hung.set()
        await asyncio.gather(*calls)
        assert sorted(started) == ["hung0", "hung1", "hung2", "quick"]
        assert (gate.in_use, gate._overdue, gate._held) == (0, 0, {})

    asyncio.run(main())


def test_overdue_follows_the_recent_latencies():
    assert overdue_after([]) == OVERDUE_FLOOR_S
    assert overdue_after([0.3] * 50) == OVERDUE_FLOOR_S
    assert overdue_after([1.0] * 40 + [20.0] * 10) == pytest.approx(OVERDUE_FACTOR * 20.0)
