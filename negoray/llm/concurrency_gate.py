"""`ConcurrencyGate`: this process's share of an endpoint's cluster-wide concurrency limit.

Every call to an adaptive endpoint holds a permit while its request is out. Permits come from the
process's *allowance*, which a background pump keeps in step with the limiter (`ConcurrencyPool.sync`
behind the actor or `InProcessLimiter`): it reports calls in use, callers waiting and the completions
since the last sync, and gets the new allowance back. A released permit goes straight to the next
waiting caller of this process without a round trip; the pump syncs every ``sync_s`` while calls are
about, at once when a caller finds no permit (then every ``starved_s``, doubling up to ``sync_s``) or
when others wait for what this process holds, and hands everything back when it goes idle. A request
out past the pool's ``overdue_s`` gives its permit back at the next sync (at most as many at once as
the limit, so never more than twice the limit in flight): a hung request does not hold the endpoint.
So the
actor sees a handful of calls per second per process, not two per LLM call (`benchmarks/adaptive.py`
counts them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from negoray.llm.adaptive_concurrency import Outcome
from negoray.llm.concurrency_pool import OVERDUE_FLOOR_S, Grant, Sample

log = logging.getLogger(__name__)


@dataclass
class Permit:
    """One call's place: the limit in force when it was given, and what the call came to (`done`)."""

    limit: int
    epoch: int
    started: float = 0.0
    latency_s: float = 0.0
    outcome: Outcome = Outcome.OTHER
    overdue: bool = False
    """Out past ``overdue_s``: it no longer holds a permit of the gate's."""

    def done(self, latency_s: float, outcome: Outcome) -> None:
        self.latency_s, self.outcome = latency_s, outcome


class ConcurrencyGate:
    """Permits for one endpoint key in this process; ``limiter`` offers ``sync_concurrency``."""

    def __init__(self, limiter: Any, key: str, *, client: str | None = None, sync_s: float = 0.1,
                 starved_s: float = 0.005, batch: int = 64, idle_s: float = 1.0,
                 clock=time.monotonic) -> None:
        self.limiter, self.key, self._clock = limiter, key, clock
        self.client = client or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.sync_s, self.starved_s, self.batch, self.idle_s = sync_s, starved_s, batch, idle_s
        self.allowance = 0
        self.in_use = 0
        self.limit: int | None = None
        self.epoch = 0
        self.contended = False
        self.overdue_s = OVERDUE_FLOOR_S
        self.syncs = 0
        """Round trips to the limiter so far (for the benchmark)."""
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._samples: list[Sample] = []
        self._held: dict[int, Permit] = {}
        self._overdue = 0
        self._pump: asyncio.Task[None] | None = None
        self._kick: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @contextlib.asynccontextmanager
    async def permit(self) -> AsyncIterator[Permit]:
        """Hold a permit for one request; call ``permit.done(latency, outcome)`` before leaving."""
        await self._acquire()
        permit = Permit(self.limit or 0, self.epoch, self._clock())
        self._held[id(permit)] = permit
        try:
            yield permit
        finally:
            self._release(permit)

    async def _acquire(self) -> None:
        self._on_this_loop()
        if self.in_use < self.allowance and not self._waiters:
            self.in_use += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        # the first caller to wait syncs at once; while callers wait, the pump backs off (``starved_s``,
        # doubling): a sync per new waiter was a round trip per call or two, and the share stays the same
        self._ensure_pump(kick=len(self._waiters) == 1)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # it was given a permit as it was cancelled
                self.in_use -= 1
                self._wake()
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def _release(self, permit: Permit) -> None:
        del self._held[id(permit)]
        if permit.overdue:
            self._overdue -= 1
        else:
            self.in_use -= 1
        if permit.outcome is not Outcome.OTHER:
            self._samples.append((permit.latency_s, permit.outcome.value, permit.epoch))
        self._wake()
        # a permit nobody here waits for, while other processes wait: hand it back now, not at the next sync
        spare = self.contended and not self._waiters and self.in_use < self.allowance
        self._ensure_pump(kick=spare or len(self._samples) >= self.batch)

    def _free_overdue(self) -> None:
        """Permits of requests out past ``overdue_s`` go back (see the module docstring)."""
        now, most = self._clock(), max(1, self.limit or 1)
        for permit in self._held.values():
            if self._overdue >= most:
                break
            if not permit.overdue and now - permit.started >= self.overdue_s:
                permit.overdue, self.in_use, self._overdue = True, self.in_use - 1, self._overdue + 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_use < self.allowance:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_use += 1
                waiter.set_result(None)

    def _on_this_loop(self) -> None:
        """A client used from a new event loop (``asyncio.run`` twice) starts its pump afresh there."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._kick, self._pump = loop, asyncio.Event(), None
            self._waiters = deque(w for w in self._waiters if not w.done() and w.get_loop() is loop)

    def _ensure_pump(self, kick: bool = False) -> None:
        self._on_this_loop()
        assert self._kick is not None
        if kick:
            self._kick.set()
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._run_pump())

    async def _sync(self, idle: bool = False) -> Grant | None:
        self._free_overdue()
        samples, self._samples = self._samples, []
        if idle:
            self.allowance = 0  # before the round trip: nothing starts on what is being handed back
        elif not self._waiters:
            # unused headroom too: the pool counts what a process may use while its sync is on the way,
            # so headroom kept over the round trip would stay the others' loss until the sync after
            # (a batch's first process held the whole limit for ~0.3 s while the others starved)
            self.allowance = self.in_use
        try:
            grant = await self.limiter.sync_concurrency(self.key, self.client, self.in_use, self.allowance,
                                                        len(self._waiters), samples, idle)
        except Exception as e:  # noqa: BLE001 - the limiter restarting must not fail calls
            log.warning("concurrency limiter unreachable for %s (%s); keeping %d permits", self.key, e, self.allowance)
            return None
        self.syncs += 1
        self.allowance, self.limit, self.epoch, self.contended = grant.allowance, grant.limit, grant.epoch, grant.contended
        self.overdue_s = grant.overdue_s
        self._wake()
        return grant

    def _idle(self) -> bool:
        return self.in_use == 0 and not self._waiters and not self._samples

    async def _run_pump(self) -> None:
        assert self._kick is not None
        loop = asyncio.get_running_loop()
        starved_s, idle_since = self.starved_s, None
        while True:
            self._kick.clear()
            if self._idle() and idle_since is not None and loop.time() - idle_since >= self.idle_s:
                grant = await self._sync(idle=True)
                if grant is not None and self._idle():
                    return  # everything handed back, and the pool knows it
            else:
                await self._sync()
            idle_since = (idle_since or loop.time()) if self._idle() else None
            if self._waiters and self.in_use >= self.allowance:
                delay, starved_s = starved_s, min(self.sync_s, 2 * starved_s)
            else:
                delay, starved_s = self.sync_s, self.starved_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), delay)
