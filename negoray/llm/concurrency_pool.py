"""`ConcurrencyPool`: the cluster-wide concurrency limits, one per endpoint key, and who holds how much
of each -- the state the limiter actor keeps (pure, clock-injected; `InProcessLimiter` holds one too).

Processes do not ask for a permit per call: each keeps an *allowance* (`ConcurrencyGate`) and reuses
it locally, and syncs with the pool now and then (`sync`: its calls in use, its callers waiting, the
completions since the last sync), so the actor sees a few calls per second per process whatever the
call rate. The pool shares the limit among the processes by what they want (water-filling: nobody
gets more than it asks for, the rest is split evenly), and never grants more than the limit minus
what the others may hold. What a process may hold until its next sync is the largest of its new
allowance, the allowance it had while the sync was on its way, and what it had in use: so the sum over
processes of the calls in flight never exceeds the limit (a lower limit takes effect as calls end:
requests already sent are never recalled). A process not heard of for ``client_ttl_s`` (it died)
holds nothing.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from negoray.llm.adaptive_concurrency import AdaptiveConcurrency, ControllerSettings, Outcome

OVERDUE_FLOOR_S = 10.0
OVERDUE_FACTOR = 4.0

Sample = tuple[float, str, int]
"""One completion as a process reports it: (latency in seconds, `Outcome` value, epoch it was sent in)."""


@dataclass(frozen=True)
class Grant:
    """The pool's answer to a sync: how many calls this process may have in use from now on."""

    allowance: int
    limit: int
    """The endpoint's limit in force (recorded with each call sent under it)."""
    epoch: int
    contended: bool
    """Other processes are waiting: hand back what you do not use soon."""
    overdue_s: float = OVERDUE_FLOOR_S
    """A request out this long holds no permit any more (`overdue_after`)."""


@dataclass
class _Client:
    claim: int = 0
    demand: int = 0
    seen: float = 0.0
    idle: bool = False


@dataclass
class _Endpoint:
    controller: AdaptiveConcurrency | None
    fixed: int | None
    ceiling: int | None = None
    clients: dict[str, _Client] = field(default_factory=dict)
    recent: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=512))
    """(time, latency) of the last successful calls (for p50/p95)."""
    syncs: int = 0

    @property
    def limit(self) -> int:
        return self.controller.limit if self.controller is not None else (self.fixed or 1)

    @property
    def epoch(self) -> int:
        return self.controller.epoch if self.controller is not None else 0


def water_fill(capacity: int, demands: dict[str, int]) -> dict[str, int]:
    """Share ``capacity`` units by demand: each gets at most what it wants, leftovers are split evenly
    (the remainder to the largest demands first), and the total never exceeds ``capacity``."""
    share = dict.fromkeys(demands, 0)
    left, open_ = capacity, sorted(demands, key=lambda k: (demands[k], k))
    while left > 0 and open_:
        each = left // len(open_)
        if each == 0:
            for k in reversed(open_[-left:]):
                share[k] += 1
            break
        still = []
        for k in open_:
            give = min(each, demands[k] - share[k])
            share[k] += give
            left -= give
            if share[k] < demands[k]:
                still.append(k)
        open_ = still
    return share


def targets_for(capacity: int, demands: dict[str, int], active: set[str]) -> dict[str, int]:
    """What each process should hold: its demand by `water_fill`, then the capacity left over split
    evenly among the ``active`` ones as headroom (so a new call rarely waits for a round trip)."""
    share = water_fill(capacity, demands)
    spare = capacity - sum(share.values())
    if spare > 0 and active:
        for k, extra in water_fill(spare, dict.fromkeys(sorted(active), spare)).items():
            share[k] += extra
    return share


class ConcurrencyPool:
    """Limits per key and the processes sharing them; see the module docstring."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 client_ttl_s: float = 30.0, history_period_s: float = 1.0) -> None:
        self._clock, self._wall, self.client_ttl_s = clock, wall, client_ttl_s
        self._keys: dict[str, _Endpoint] = {}
        self._history: list[dict] = []
        self._history_period_s = history_period_s
        self._last_point: dict[str, float] = {}

    def configure(self, key: str, fixed: int | None = None, ceiling: int | None = None) -> None:
        """An adaptive limit for ``key`` (at most ``ceiling``, default `ControllerSettings`'), or a
        ``fixed`` one; configuring a key the same way again changes nothing."""
        endpoint = self._keys.get(key)
        if endpoint is not None and (endpoint.fixed, endpoint.ceiling) == (fixed, ceiling):
            return
        default = ControllerSettings()
        settings = (ControllerSettings(initial=min(default.initial, ceiling), ceiling=ceiling) if ceiling is not None
                    else default)
        controller = None if fixed is not None else AdaptiveConcurrency(settings)
        if endpoint is None:
            self._keys[key] = _Endpoint(controller, fixed, ceiling)
        else:
            endpoint.controller, endpoint.fixed, endpoint.ceiling = controller, fixed, ceiling

    def sync(self, key: str, client: str, in_use: int, allowance: int, waiting: int,
             samples: Sequence[Sample] = (), idle: bool = False) -> Grant:
        """A process of ``key`` reports its ``in_use`` calls, the ``allowance`` it holds now, its callers
        ``waiting`` and its completions since the last sync; the answer is its new allowance. ``idle``:
        it has nothing to do and hands its allowance back (it gets none)."""
        now = self._clock()
        endpoint = self._keys.get(key)
        if endpoint is None:
            self.configure(key)
            endpoint = self._keys[key]
        endpoint.syncs += 1
        ctl = endpoint.controller
        for latency, outcome, epoch in samples:
            if outcome == Outcome.OK.value:
                endpoint.recent.append((now, latency))
            if ctl is not None:
                ctl.observe(latency, Outcome(outcome), epoch)
        for name in [c for c, s in endpoint.clients.items() if now - s.seen > self.client_ttl_s and c != client]:
            del endpoint.clients[name]
        me = endpoint.clients.setdefault(client, _Client())
        me.demand, me.seen, me.idle = in_use + waiting, now, idle
        limit = endpoint.limit
        if ctl is not None:
            ctl.demand(sum(c.demand for c in endpoint.clients.values()))
            limit = endpoint.limit
        targets = targets_for(limit, {name: c.demand for name, c in endpoint.clients.items()},
                              {name for name, c in endpoint.clients.items() if not c.idle})
        others = sum(c.claim for name, c in endpoint.clients.items() if name != client)
        grant = max(0, min(targets[client], limit - others))
        me.claim = max(grant, allowance, in_use)
        contended = any(c.demand > c.claim for name, c in endpoint.clients.items() if name != client)
        self._record(key, endpoint, now)
        return Grant(grant, limit, endpoint.epoch, contended, overdue_after([lat for _, lat in endpoint.recent]))

    def in_flight(self, key: str) -> int:
        """The most calls the processes of ``key`` may have in flight now (the sum of their claims)."""
        endpoint = self._keys.get(key)
        return sum(c.claim for c in endpoint.clients.values()) if endpoint else 0

    def stats(self) -> list[dict]:
        """Per key: the limit, calls in flight (claimed), callers waiting, latency p50/p95 of the last
        calls (seconds; NaN before any), whether it is adaptive."""
        out = []
        for key, e in sorted(self._keys.items()):
            latencies = [lat for _, lat in e.recent]
            out.append({"key": key, "limit": e.limit, "adaptive": e.controller is not None,
                        "in_flight": sum(min(c.claim, c.demand) for c in e.clients.values()),
                        "waiting": sum(max(0, c.demand - c.claim) for c in e.clients.values()),
                        "p50_s": _percentile(latencies, 0.50), "p95_s": _percentile(latencies, 0.95),
                        "syncs": e.syncs})
        return out

    def history(self) -> list[dict]:
        """Points (unix time, key, limit, in flight, latency p50/p95) at most one per key per period."""
        return list(self._history)

    def _record(self, key: str, endpoint: _Endpoint, now: float) -> None:
        if now - self._last_point.get(key, -math.inf) < self._history_period_s:
            return
        self._last_point[key] = now
        latencies = [lat for t, lat in endpoint.recent if now - t <= 10.0]
        self._history.append({"time": self._wall(), "endpoint": key, "limit": endpoint.limit,
                              "in_flight": sum(min(c.claim, c.demand) for c in endpoint.clients.values()),
                              "p50_s": _percentile(latencies, 0.50), "p95_s": _percentile(latencies, 0.95)})


def overdue_after(latencies: Sequence[float]) -> float:
    """Seconds after which a request is overdue, given the latencies of the last successful calls."""
    return max(OVERDUE_FLOOR_S, OVERDUE_FACTOR * _percentile(latencies, 0.95)) if latencies else OVERDUE_FLOOR_S


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]
