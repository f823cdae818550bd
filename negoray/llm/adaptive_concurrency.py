"""`AdaptiveConcurrency`: how many requests an endpoint should have in flight, learned from its latency
and errors (a gradient rule on latency with additive increase, as in TCP Vegas / Netflix's
concurrency-limits and Envoy's adaptive-concurrency filter).

Servers that never answer 429 (vLLM, LM Studio, llama.cpp, Ollama) queue what they cannot serve at
once: past their capacity (the "knee") more requests in flight buy no throughput, only latency. The
controller watches completions in *windows* (at least ``min_samples`` and at least ``limit`` of them,
about one round trip) and compares each window's median latency with the **baseline**, the lowest
smoothed window median seen (the latency of an unloaded server):

- ratio below ``hold_ratio`` and callers wanted more than the limit (the limit was what held them
  back): raise it -- doubling at first ("slow start", until the first sign of queueing), then by
  ``increase`` of itself (at least 1) per window;
- ratio between ``hold_ratio`` and ``tolerance``: hold (the knee is near), raising it by one every
  ``probe_every``-th such window (latency that grows a little with load below the knee, or a baseline
  measured a little low, must not hold it far below capacity);
- ratio above ``tolerance``: past the knee. Cut the limit in proportion, ``limit * aim_ratio / ratio``
  (Netflix's and Envoy's gradient ``min_rtt / sample_rtt``): by Little's law a queueing server then
  lands where its latency is ``aim_ratio`` x the baseline;
- the **knee** (the limit at the last latency cut, as CUBIC remembers W_max) shapes the way back:
  from ``knee_share`` of it upwards the limit steps by one every ``knee_probe_every``-th window
  towards where the latency is ``aim_ratio`` x the baseline (down above it, up below it), and a cut
  there takes ``knee_confirm`` windows past ``tolerance`` in a row (one slow window there is as
  likely noise) and goes to ``knee_share`` x the limit, not by the gradient. A collapsing server
  loses throughput with every request past its knee: it must not be pushed past it every few
  windows, nor held in the hold band above it. A cut that did not help (below) forgets the knee;
- a share of timeouts, 5xx or "model not loaded" above ``overload_share``: halve
  (``overload_backoff``); of 429s above ``rate_limit_share``: x ``rate_limit_backoff`` (on top of the
  Retry-After pause the rate limiter applies). After an error cut the limit doubles back (slow
  start) to ``recover_share`` of where it was, then probes additively.

Every change starts a new *epoch*: completions of requests sent before it (under the old limit) are
not judged against the new one. If a latency cut did not bring the latency down (the next window is
no faster), the slowdown was not ours (the server got slower for everyone, e.g. longer prompts): the
baseline moves up to the new latency and the cut is undone, so a slower server is not starved.

It starts at one request in flight (``initial``), so the first window's median, the first baseline, is
the latency of a server serving us alone even if it serves one request at a time (started at 2, a
serial server's baseline was twice its latency and the limit settled at 2-3 at ~2.5x the latency).
Slow start ends after ``slow_start_holds`` hold windows in a row, not at the first (one noisy window,
or two -- seen on the machine at 4 in flight, windows of 16 -- would leave a 24-slot server
climbing by one per window from 4, ~25 s).

Pure and clock-free (it counts completions, not seconds), so tests drive it in virtual time. Sources: Netflix, "Performance Under Load" (2018) and
https://github.com/Netflix/concurrency-limits (gradient ``limit * min_rtt / rtt``); Envoy's
adaptive concurrency filter, https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/adaptive_concurrency_filter
(windowed sample latency vs a measured no-load latency, gradient clamped to [0.5, 2]); TCP Vegas
(Brakmo & Peterson 1995: hold between two thresholds of expected vs actual rate).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from enum import Enum


class Outcome(str, Enum):
    """What one request to the endpoint came to, as the controller reads it."""

    OK = "ok"
    OVERLOAD = "overload"
    """A timeout, a dropped connection, a 5xx or "model not loaded": the server could not cope."""
    RATE_LIMITED = "rate_limited"
    """A 429."""
    OTHER = "other"
    """Says nothing about load (a 400, a malformed body): ignored."""


@dataclass(frozen=True)
class ControllerSettings:
    """The rule's constants (see the module docstring)."""

    initial: int = 1
    floor: int = 1
    ceiling: int = 1024
    min_samples: int = 16
    window_factor: float = 1.0
    """A window holds at least this many completions per unit of the limit."""
    hold_ratio: float = 1.15
    tolerance: float = 1.35
    aim_ratio: float = 1.1
    probe_every: int = 2
    """Hold windows in a row after which the limit is raised by one anyway (a baseline estimated too
    low would otherwise hold it below the knee for good)."""
    increase: float = 0.04
    knee_share: float = 0.9
    knee_probe_every: int = 4
    """Windows between steps of one from ``knee_share`` of the knee upwards."""
    knee_confirm: int = 2
    """Windows past ``tolerance`` in a row it takes to cut near the knee."""
    slow_start_holds: int = 3
    smoothing: float = 0.5
    """Weight of a new window median in the smoothed median the baseline is the minimum of."""
    overload_share: float = 0.2
    overload_backoff: float = 0.5
    rate_limit_share: float = 0.1
    rate_limit_backoff: float = 0.75
    recover_share: float = 0.75

    def __post_init__(self) -> None:
        if not 1 <= self.floor <= self.initial <= self.ceiling:
            raise ValueError(f"need 1 <= floor <= initial <= ceiling, got {self.floor}, {self.initial}, {self.ceiling}")
        if not 1.0 <= self.hold_ratio <= self.tolerance:
            raise ValueError(f"need 1 <= hold_ratio <= tolerance, got {self.hold_ratio}, {self.tolerance}")


@dataclass
class AdaptiveConcurrency:
    """The limit of one endpoint; feed it with `observe` (each completion) and `demand` (callers
    wanting a permit, in use or waiting), read `limit` and `epoch` (starting at ``initial``: 1)."""

    settings: ControllerSettings = field(default_factory=ControllerSettings)
    limit_f: float = 0.0
    epoch: int = 0
    baseline: float | None = None
    slow_start_until: float = math.inf
    """Doubling while the limit is below this (inf until the first sign of queueing)."""
    _smoothed: float | None = None
    _latencies: list[float] = field(default_factory=list)
    _counts: dict[Outcome, int] = field(default_factory=dict)
    _peak_demand: int = 0
    knee: float | None = None
    """The limit at the last latency cut (None: none yet, or forgotten)."""
    _holds: int = 0
    _holds_in_row: int = 0
    _near_knee: int = 0
    _over_in_row: int = 0
    _cut: tuple[float, float] | None = None
    """(limit before, window median before) of the last latency cut, until the next window judges it."""

    def __post_init__(self) -> None:
        if not self.limit_f:
            self.limit_f = float(self.settings.initial)

    @property
    def limit(self) -> int:
        return max(self.settings.floor, int(self.limit_f))

    def demand(self, wanted: int) -> None:
        """Callers want ``wanted`` permits now (in use + waiting), cluster-wide."""
        self._peak_demand = max(self._peak_demand, wanted)

    def observe(self, latency_s: float, outcome: Outcome, epoch: int) -> bool:
        """One completion of a request sent in ``epoch``; True if the limit changed."""
        if epoch != self.epoch or outcome is Outcome.OTHER:
            return False
        self._counts[outcome] = self._counts.get(outcome, 0) + 1
        if outcome is Outcome.OK:
            self._latencies.append(latency_s)
        n = sum(self._counts.values())
        if n < max(self.settings.min_samples, self.settings.window_factor * self.limit):
            return False
        return self._judge(n)

    def _judge(self, n: int) -> bool:
        s, before = self.settings, self.limit_f
        overload = self._counts.get(Outcome.OVERLOAD, 0) / n
        limited = self._counts.get(Outcome.RATE_LIMITED, 0) / n
        saturated = self._peak_demand >= self.limit
        median = statistics.median(self._latencies) if len(self._latencies) >= max(3, n // 2) else None
        if overload > s.overload_share or limited > s.rate_limit_share:
            factor = s.overload_backoff if overload > s.overload_share else s.rate_limit_backoff
            self.slow_start_until = max(s.floor, self.limit_f * s.recover_share)
            self.limit_f *= factor
            self._cut = None
        elif median is not None:
            self._smoothed = median if self._smoothed is None else s.smoothing * median + (1 - s.smoothing) * self._smoothed
            if self.baseline is None or self._smoothed < self.baseline:
                self.baseline = self._smoothed
            if self._cut is not None and median >= 0.95 * self._cut[1]:
                # the cut did not help: the server is slower for everyone, not queueing our requests
                self.baseline, self._smoothed = median, median
                self.limit_f, self._cut, self.knee = max(self.limit_f, self._cut[0]), None, None
            else:
                self._cut = None
                self._latency_rule(median, saturated)
        self.limit_f = min(float(s.ceiling), max(float(s.floor), self.limit_f))
        self._latencies, self._counts, self._peak_demand = [], {}, 0
        if int(self.limit_f) != int(before):
            self.epoch += 1
            return True
        return False

    def _latency_rule(self, median: float, saturated: bool) -> None:
        """Cut, hold or raise by the window's ``median`` latency against the baseline (module docstring)."""
        s, ratio = self.settings, median / self.baseline
        near_knee = self.knee is not None and self.limit_f >= min(s.knee_share * self.knee, self.knee - 1)
        holding = s.hold_ratio <= ratio <= s.tolerance
        self._holds_in_row = self._holds_in_row + 1 if holding else 0
        self._over_in_row = self._over_in_row + 1 if ratio > s.tolerance else 0
        if ratio > s.tolerance and near_knee and self._over_in_row < s.knee_confirm:
            pass  # one slow window near the knee may be noise: the next one decides
        elif ratio > s.tolerance:
            if self.limit > s.floor:  # a real cut: at least one request fewer at once
                cut = self.limit_f * (s.knee_share if near_knee else max(0.5, s.aim_ratio / ratio))
                self.knee, self._cut = self.limit_f, (self.limit_f, median)  # the next window judges it
                self.limit_f = min(cut, self.limit - 1.0)
                self._holds = self._near_knee = 0
            self.slow_start_until = 0.0
        elif near_knee:  # step by one towards where the latency is ``aim_ratio`` x the baseline
            if ratio > s.aim_ratio:
                self._holds += 1
                if self._holds >= s.knee_probe_every and self.limit > s.floor:
                    self.limit_f, self._holds = self.limit - 1.0, 0
            elif saturated:
                self._near_knee += 1
                if self._near_knee >= s.knee_probe_every:
                    self.limit_f, self._near_knee = self.limit + 1.0, 0
        elif holding:
            if self._holds_in_row >= s.slow_start_holds:
                self.slow_start_until = 0.0
            self._holds += 1
            if self._holds >= s.probe_every and saturated:
                self.limit_f, self._holds = self.limit + 1.0, 0
        elif saturated:
            if self.limit_f < self.slow_start_until:
                self.limit_f = min(self.limit_f * 2, self.slow_start_until)
            else:
                self.limit_f += max(1.0, s.increase * self.limit_f)
