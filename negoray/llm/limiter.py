"""A pure, clock-injected rate limiter: RPM, TPM and requests-per-day per provider key.

GCRA (the generic cell rate algorithm) for requests and tokens: each key keeps a theoretical
arrival time per dimension, and `acquire` *reserves* the earliest start that respects every limit
and answers how long to wait -- it never holds a call open, so it can sit behind an async actor.
Token reservations (prompt estimate + max_tokens) are settled with actual usage afterwards. A 429
pauses the key for everyone until its Retry-After; callers whose reservation fell inside the pause
take a new one behind it (`resume`), so after a pause they are released at the limit's pace, not all
at once. Repeated 429s lower the key's effective rate (`AdaptiveRate`) until they stop; it is probed
back up slowly. The runtime wraps this core in a Ray actor; in one process `RateLimiter` is used as is.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from negoray.llm.adaptive_rate import AdaptiveRate
from negoray.llm.concurrency_pool import ConcurrencyPool, Grant, Sample

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimits:
    """Limits of one key; None means unlimited. ``headroom`` keeps a margin below the published rate
    so jitter between here and the server never trips a strict window."""

    rpm: float | None = None
    tpm: float | None = None
    rpd: float | None = None
    headroom: float = 0.97

    @property
    def unlimited(self) -> bool:
        return self.rpm is None and self.tpm is None and self.rpd is None


@dataclass
class _KeyState:
    limits: RateLimits
    request_tat: float = 0.0
    token_tat: float = 0.0
    paused_until: float = 0.0
    day: str = ""
    day_count: int = 0
    adaptive: AdaptiveRate = field(default_factory=AdaptiveRate)
    starts: deque[float] = field(default_factory=deque)
    """Reserved start times of the last minute: the observed rate of a key with no configured rpm."""

    def observed_rpm(self, now: float) -> float:
        while self.starts and self.starts[0] <= now - 60.0:
            self.starts.popleft()
        return float(len(self.starts))

    def rpm(self) -> float | None:
        """The request rate in force: the learned one after repeated 429s, else the configured one."""
        return self.adaptive.rpm if self.adaptive.rpm is not None else self.limits.rpm


def _utc_day(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, dt.timezone.utc).strftime("%Y-%m-%d")


def _seconds_to_next_utc_day(wall: float) -> float:
    now = dt.datetime.fromtimestamp(wall, dt.timezone.utc)
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


class RateLimiter:
    """Per-key GCRA over injected clocks: ``clock`` (monotonic seconds) and ``wall`` (unix time,
    for daily quotas). With ``state_path`` the daily counters are kept on disk across restarts."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        state_path: str | Path | None = None,
    ) -> None:
        self._clock, self._wall = clock, wall
        self._keys: dict[str, _KeyState] = {}
        self._state_path = Path(state_path) if state_path else None
        self._saved_daily = self._load_daily()

    def configure(self, key: str, limits: RateLimits) -> None:
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState(limits)
            day, count = self._saved_daily.get(key, ("", 0))
            if day == _utc_day(self._wall()):
                state.day, state.day_count = day, count
        state.limits = limits

    def acquire(self, key: str, requests: int = 1, tokens: int = 0) -> float:
        """Reserve the earliest start for this call and return how many seconds to wait for it."""
        state = self._keys.get(key)
        if state is None:
            return 0.0
        return self._reserve(key, state, requests, tokens, count_day=True)

    def resume(self, key: str, tokens: int = 0) -> float:
        """For a caller whose wait is over: 0 if it may go now; if a 429 paused the key meanwhile, a new
        reservation behind the pause (its place at the limit's pace) and the seconds to wait for it."""
        state = self._keys.get(key)
        if state is None or state.paused_until <= self._clock():
            return 0.0
        return self._reserve(key, state, 1, tokens, count_day=False)

    def _reserve(self, key: str, state: _KeyState, requests: int, tokens: int, count_day: bool) -> float:
        lim, now = state.limits, self._clock()
        if state.adaptive.tick(now):
            self._report(key, state, "no 429s for a while: raising")
        rpm = state.rpm()
        start = max(now, state.paused_until)
        if lim.unlimited and rpm is None:
            state.starts.append(start)
            state.observed_rpm(now)  # keeps only the last minute
            return start - now
        interval = 60.0 / (rpm * lim.headroom) if rpm else 0.0
        per_token = 60.0 / (lim.tpm * lim.headroom) if lim.tpm else 0.0
        if interval:
            start = max(start, state.request_tat + interval * (requests - 1))
        if per_token:
            # a burst allowance of (1 - headroom) of a minute's tokens keeps every 60 s window under tpm
            start = max(start, state.token_tat + tokens * per_token - 60.0 * (1.0 - lim.headroom) / lim.headroom)
        if lim.rpd is not None and count_day:
            wall = self._wall() + (start - now)
            day = _utc_day(wall)
            if state.day != day:
                state.day, state.day_count = day, 0
            if state.day_count + requests > lim.rpd:
                start += _seconds_to_next_utc_day(wall)
                state.day, state.day_count = _utc_day(self._wall() + (start - now)), 0
            state.day_count += requests
            self._save_daily()
        if interval:
            state.request_tat = max(state.request_tat, start) + interval * requests
        if per_token:
            state.token_tat = max(state.token_tat, start) + tokens * per_token
        if lim.rpm is None:
            state.starts.append(start)
            state.observed_rpm(now)
        return start - now

    def settle(self, key: str, reserved_tokens: int, actual_tokens: int) -> None:
        """Correct a token reservation with what the call really used."""
        state = self._keys.get(key)
        if state is not None and state.limits.tpm:
            state.token_tat += (actual_tokens - reserved_tokens) * 60.0 / (state.limits.tpm * state.limits.headroom)

    def pause(self, key: str, seconds: float) -> None:
        """A 429 with Retry-After: nobody calls ``key`` before it has passed, and the calls after it
        start at the key's pace (repeated 429s lower that pace: `AdaptiveRate`)."""
        state = self._keys.get(key)
        if state is None:
            return
        now = self._clock()
        state.paused_until = max(state.paused_until, now + max(0.0, seconds))
        if state.adaptive.on_429(now, state.limits.rpm or state.observed_rpm(now)):
            self._report(key, state, "repeated 429s: lowering")
        state.request_tat = max(state.request_tat, state.paused_until)
        state.token_tat = max(state.token_tat, state.paused_until)

    def notes(self) -> list[str]:
        """One line per key whose effective rate differs from its configured one (for the progress view)."""
        return [_describe(key, s) for key, s in sorted(self._keys.items()) if s.adaptive.rpm is not None]

    def _report(self, key: str, state: _KeyState, why: str) -> None:
        log.warning("%s: %s", why, _describe(key, state))

    def paused_for(self, key: str) -> float:
        """Seconds left of a pause on ``key`` (0 if none)."""
        state = self._keys.get(key)
        return max(0.0, state.paused_until - self._clock()) if state else 0.0

    def day_count(self, key: str) -> int:
        state = self._keys.get(key)
        return state.day_count if state else 0

    def _load_daily(self) -> dict[str, tuple[str, int]]:
        if self._state_path is None or not self._state_path.exists():
            return {}
        try:
            data = json.loads(self._state_path.read_text())
            return {k: (str(v["day"]), int(v["count"])) for k, v in data.items()}
        except (ValueError, KeyError, TypeError):
            return {}

    def _save_daily(self) -> None:
        if self._state_path is None:
            return
        data = {k: {"day": s.day, "count": s.day_count} for k, s in self._keys.items() if s.limits.rpd is not None}
        self._state_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._state_path.parent, prefix=".limiter-")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, self._state_path)


def _describe(key: str, state: _KeyState) -> str:
    configured = f"configured {state.limits.rpm:g} rpm" if state.limits.rpm else "no rpm configured"
    rpm = state.adaptive.rpm
    now = f"{rpm:.0f} rpm" if rpm is not None else f"back to {configured}"
    return f"rate limit {key}: {now} ({configured}) after 429s" if rpm is not None else f"rate limit {key}: {now}"


class InProcessLimiter:
    """The async face every client uses, over a `RateLimiter` and a `ConcurrencyPool` (the endpoints'
    concurrency limits) in this process. The runtime's Ray actor handle offers the same coroutines,
    so a client never knows which it has."""

    def __init__(self, core: RateLimiter | None = None, pool: ConcurrencyPool | None = None) -> None:
        self.core = core if core is not None else RateLimiter()
        self.pool = pool if pool is not None else ConcurrencyPool()

    async def configure(self, key: str, limits: RateLimits) -> None:
        self.core.configure(key, limits)

    async def acquire(self, key: str, requests: int = 1, tokens: int = 0) -> float:
        return self.core.acquire(key, requests, tokens)

    async def settle(self, key: str, reserved_tokens: int, actual_tokens: int) -> None:
        self.core.settle(key, reserved_tokens, actual_tokens)

    async def pause(self, key: str, seconds: float) -> None:
        self.core.pause(key, seconds)

    async def paused_for(self, key: str) -> float:
        return self.core.paused_for(key)

    async def resume(self, key: str, tokens: int = 0) -> float:
        return self.core.resume(key, tokens)

    async def notes(self) -> list[str]:
        return self.core.notes()

    async def configure_concurrency(self, key: str, fixed: int | None = None, ceiling: int | None = None) -> None:
        self.pool.configure(key, fixed, ceiling)

    async def sync_concurrency(self, key: str, client: str, in_use: int, allowance: int, waiting: int,
                               samples: Sequence[Sample] = (), idle: bool = False) -> Grant:
        return self.pool.sync(key, client, in_use, allowance, waiting, samples, idle)

    async def concurrency_stats(self) -> list[dict]:
        return self.pool.stats()

    async def concurrency_history(self) -> list[dict]:
        return self.pool.history()
