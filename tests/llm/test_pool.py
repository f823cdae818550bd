"""`EndpointPool`: leases go to members with room, a member that fails leaves the pool and its work
is played again elsewhere (recorded once), a passed health check brings it back."""

import asyncio
import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from negoray.chat import ChatFailure, ChatParams
from negoray.evolution.backend import Job, play_jobs
from negoray.game.dialogue import NegotiationConfig
from negoray.game.generators import v7_splits
from negoray.llm.pool import EndpointPool, PoolMember
from negoray.sim.model import SimModel
from negoray.tasks.negotiation import NegotiationTask
from negoray.tasks.negotiation.seeds import SEED_STRATEGIES

CONFIG = NegotiationConfig(max_rounds=3, seed=7)


class Member:
    """A chat that answers with the sim after ``delay_s`` (or fails from ``fail_after`` calls on)."""

    def __init__(self, name, delay_s=0.0, fail_after=None):
        self.name, self.delay_s, self.fail_after = name, delay_s, fail_after
        self.sim, self.calls, self.in_flight, self.peak = SimModel(), 0, 0, 0

    async def __call__(self, messages, params):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise ChatFailure(f"{self.name} is down")
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
            reply = await self.sim(messages, params)
        finally:
            self.in_flight -= 1
        return dataclasses.replace(reply, endpoint=self.name, latency_s=self.delay_s)


def jobs(n):
    scenarios, prompts = v7_splits()["dev"], list(SEED_STRATEGIES.values())
    return [Job("p", 0, "eval", f"a{i % 8}", prompts[i % 8], scenarios[i % len(scenarios)], replicate=i) for i in range(n)]


def pool(*members, capacity=(4, 4), **options):
    return EndpointPool([PoolMember(m.name, m, c) for m, c in zip(members, capacity)], **options)


def test_a_pool_plays_the_same_negotiations_as_one_endpoint_and_spreads_them():
    alone = asyncio.run(play_jobs(jobs(24), NegotiationTask(CONFIG), SimModel(), CONFIG.seed, 16))
    fast, slow = Member("fast", 0.001), Member("slow", 0.02)
    pooled = asyncio.run(play_jobs(jobs(24), NegotiationTask(CONFIG), pool(fast, slow), CONFIG.seed, 16))
    assert [[t.text for t in r.turns] for r in pooled] == [[t.text for t in r.turns] for r in alone]
    assert fast.calls > slow.calls > 0
    assert fast.peak <= 4 and slow.peak <= 4  # a lease holds both sides: one call at a time each


def test_a_member_that_goes_down_leaves_the_pool_and_its_work_is_played_once_elsewhere():
    healthy, dying = Member("healthy", 0.001), Member("dying", 0.001, fail_after=5)
    p = pool(healthy, dying, cooldown_s=600)
    records = asyncio.run(play_jobs(jobs(20), NegotiationTask(CONFIG), p, CONFIG.seed, 8))
    assert len(records) == 20 and all(r.outcome.value != "error" for r in records)
    assert not p.healthy(p.members[1])
    # the negotiations that were on it when it failed were played again, whole, on the other member
    assert all(len({c.endpoint for c in r.calls}) == 1 and all(c.ok for c in r.calls) for r in records)


def test_with_every_member_down_a_call_fails_and_the_negotiation_is_an_error():
    p = pool(Member("a", fail_after=0), Member("b", fail_after=0), cooldown_s=600)
    records = asyncio.run(play_jobs(jobs(3), NegotiationTask(CONFIG), p, CONFIG.seed, 4))
    assert all(r.outcome.value == "error" for r in records)
    assert "down" in records[0].error


def test_a_member_rejoins_when_its_health_check_passes():
    now = [0.0]
    up = Member("up", 0.0)
    checks = []

    async def probe():
        checks.append(now[0])
        return len(checks) > 1  # fails the first check, passes the second

    p = EndpointPool([PoolMember("up", up, 2, probe=probe)], cooldown_s=10, clock=lambda: now[0])
    p.mark_down(p.members[0], "test")

    async def go():
        assert await p._acquire() is None  # down, and no other member: the lease fails at once
        now[0] = 10.0
        p._start_probes()
        await asyncio.sleep(0)
        assert not p.healthy(p.members[0]) and checks == [10.0]
        now[0] = 20.0
        p._start_probes()
        await asyncio.sleep(0)
        assert p.healthy(p.members[0])
        return await p(([{"role": "user", "content": "x"}]), ChatParams(seed=1))

    assert asyncio.run(go()).endpoint == "up"


def test_a_rate_limited_member_holds_only_what_its_rate_keeps_fed():
    m = PoolMember("cloud", Member("cloud"), capacity=64, rate_per_s=2.0)
    assert m.limit(1.0) == 64 and m.limit(0.5) == 128  # nothing measured yet: its places
    m.service_s = 0.5
    assert m.limit(1.0) == 2 and m.limit(0.5) == 3  # 2 calls/s x 0.5 s in flight, plus one
    m.service_s = 4.0
    assert m.limit(1.0) == 9 and m.limit(0.5) == 17


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(1, 12))
def test_no_member_ever_holds_more_than_its_capacity(capacities, n):
    members = [Member(f"m{i}", 0.001) for i in range(len(capacities))]
    p = EndpointPool([PoolMember(m.name, m, c) for m, c in zip(members, capacities)])
    records = asyncio.run(play_jobs(jobs(n), NegotiationTask(CONFIG), p, CONFIG.seed, 16))
    assert len(records) == n
    assert all(m.peak <= c for m, c in zip(members, capacities))
    assert all(pm.held == 0 for pm in p.members)
