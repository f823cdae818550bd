"""`EndpointPool`: several interchangeable endpoints serving one role, pulled from as they free up.

Work is leased, not pushed: a negotiation (or a single call) takes a `Lease` on the member that has a
free place now -- the fastest of those, by its recent time per call -- and waits while every healthy
member is full. A fast server frees its places sooner and so takes more of the work; a rate-limited
one holds only as many negotiations as its rate keeps fed (its rate x its time per call, plus one),
so it never hoards work that waits on its limiter while another member is idle. The share each
member gets is therefore what it can take right now, with no split decided in advance.

A member whose call fails after its retries (`ChatFailure`) leaves the pool for ``cooldown_s``: every
lease on it is *lost* (its calls fail at once, and the caller plays that work again on another
member, `negoray.evolution.backend.play_jobs`); after the cooldown its health check (``probe``) is
run, and it rejoins when the check passes. Only when no member is healthy does a lease fail, and the
caller's retry/pause loop takes over, as for a single endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from negoray.chat import ChatFailure, ChatFn, ChatParams, ChatReply, Message

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[bool]]
EWMA_WEIGHT = 0.2
"""Weight of the newest call in a member's moving averages of time per call."""


@dataclass(eq=False)
class PoolMember:
    """One endpoint of a pool: its chat function, how much it may hold at once, and its health."""

    name: str
    chat: ChatFn
    capacity: int
    """Calls it may have in flight at once (its ``max_concurrency``, per process)."""
    rate_per_s: float | None = None
    """Its request rate limit (rpm / 60), None when it has none."""
    probe: Probe | None = None
    """Its health check (True: up); None: it rejoins when its cooldown ends."""
    held: int = 0
    down_until: float = 0.0
    probing: bool = False
    served: int = 0
    wall_s: float | None = None
    """Moving average of a call's time as the caller sees it (limiter waits included)."""
    service_s: float | None = None
    """Moving average of a call's time at the server (request sent to answer)."""

    def limit(self, streams_per_lease: float) -> int:
        """Leases it may hold now, each keeping ``streams_per_lease`` calls in flight on it over time:
        enough for its capacity, or for a rate-limited member only what its rate keeps fed."""
        most = math.ceil(self.capacity / streams_per_lease)
        if self.rate_per_s is None or not self.service_s:
            return most
        return max(1, min(most, math.ceil(self.rate_per_s * self.service_s / streams_per_lease) + 1))


def _average(old: float | None, new: float) -> float:
    return new if old is None else (1 - EWMA_WEIGHT) * old + EWMA_WEIGHT * new


class Lease:
    """A `ChatFn` bound to one member for the length of a negotiation (or one call). ``lost`` says the
    member went down meanwhile: the work must be played again elsewhere."""

    def __init__(self, pool: EndpointPool, member: PoolMember | None) -> None:
        self.pool, self.member, self.lost = pool, member, False

    async def __call__(self, messages: Sequence[Message], params: ChatParams) -> ChatReply:
        member = self.member
        if member is None:
            raise ChatFailure(f"every endpoint of the pool ({self.pool.names}) is down")
        if self.lost or not self.pool.healthy(member):
            self.lost = True
            raise ChatFailure(f"{member.name} left the pool")
        started = self.pool.clock()
        try:
            reply = await member.chat(messages, params)
        except ChatFailure as e:
            self.lost = True
            self.pool.mark_down(member, str(e))
            raise
        if not reply.cache_hit:
            member.wall_s = _average(member.wall_s, self.pool.clock() - started)
            member.service_s = _average(member.service_s, reply.latency_s)
            member.served += 1
        return reply


class EndpointPool:
    """Interchangeable endpoints of one role (see the module docstring). ``streams_per_lease``: calls
    a lease keeps in flight on its member over time, 1 when the lease serves both sides of a
    negotiation (or one call), 0.5 when the other side's turns go elsewhere (a member may then hold
    twice as many leases as it has places)."""

    def __init__(self, members: Sequence[PoolMember], *, cooldown_s: float = 30.0, streams_per_lease: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not members:
            raise ValueError("a pool needs at least one endpoint")
        self.members = list(members)
        self.cooldown_s, self.streams_per_lease, self.clock = cooldown_s, streams_per_lease, clock
        self._freed: asyncio.Condition | None = None
        self._probes: set[asyncio.Task] = set()

    @property
    def names(self) -> str:
        return ", ".join(m.name for m in self.members)

    def _condition(self) -> asyncio.Condition:
        if self._freed is None:
            self._freed = asyncio.Condition()
        return self._freed

    def healthy(self, member: PoolMember) -> bool:
        return member.down_until == 0.0

    def mark_down(self, member: PoolMember, why: str) -> None:
        """Take ``member`` out of the pool for ``cooldown_s`` (its leases are lost)."""
        if self.healthy(member):
            log.warning("endpoint %s left the pool (%s); health check in %.0fs", member.name, why, self.cooldown_s)
        member.down_until = self.clock() + self.cooldown_s

    def _start_probes(self) -> None:
        now = self.clock()
        for m in self.members:
            if not self.healthy(m) and not m.probing and now >= m.down_until:
                m.probing = True
                task = asyncio.ensure_future(self._probe(m))
                self._probes.add(task)
                task.add_done_callback(self._probes.discard)

    async def _probe(self, member: PoolMember) -> None:
        try:
            ok = True if member.probe is None else await member.probe()
        except Exception:  # a failed check is a "not yet", whatever it raised
            ok = False
        member.probing = False
        if ok:
            member.down_until = 0.0
            log.warning("endpoint %s passed its health check and rejoined the pool", member.name)
            async with self._condition():
                self._condition().notify_all()
        else:
            member.down_until = self.clock() + self.cooldown_s

    def _choose(self) -> PoolMember | None:
        free = [m for m in self.members if self.healthy(m) and m.held < m.limit(self.streams_per_lease)]
        # the fastest free member first (untried ones before any measured), then the one with most room
        return min(free, key=lambda m: (m.wall_s or 0.0, m.held - m.limit(self.streams_per_lease)), default=None)

    async def _acquire(self) -> PoolMember | None:
        """The member to lease, waiting while every healthy one is full; None when none is healthy."""
        freed = self._condition()
        async with freed:
            while True:
                self._start_probes()
                member = self._choose()
                if member is not None:
                    member.held += 1
                    return member
                if not any(self.healthy(m) for m in self.members):
                    return None
                try:  # a probe that passes, or a lease released, wakes the wait; so does time (cooldowns)
                    await asyncio.wait_for(freed.wait(), timeout=max(0.05, min(1.0, self.cooldown_s)))
                except TimeoutError:
                    pass

    async def _release(self, member: PoolMember | None) -> None:
        if member is None:
            return
        member.held -= 1
        freed = self._condition()
        async with freed:
            freed.notify()

    @asynccontextmanager
    async def lease(self) -> AsyncIterator[Lease]:
        """A `Lease` on a member with room (its calls fail when no member is healthy)."""
        member = await self._acquire()
        try:
            yield Lease(self, member)
        finally:
            await self._release(member)

    async def __call__(self, messages: Sequence[Message], params: ChatParams) -> ChatReply:
        """One call (a mutation request) on whichever member has room; played again on another
        member if its own goes down meanwhile."""
        while True:
            async with self.lease() as chat:
                try:
                    return await chat(messages, params)
                except ChatFailure:
                    if not chat.lost or chat.member is None:
                        raise
