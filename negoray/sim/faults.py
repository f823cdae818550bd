"""The sim server's fault model: rate limits, capacity, latency and injected failures.

Pure and clock-injected: every method that depends on time takes ``now`` (seconds on any
monotonic clock), so the model is unit-tested in virtual time and the server just passes
``time.monotonic()``. All randomness comes from one seeded numpy generator, so a given
config and arrival order give the same faults and latencies every run.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from negoray.sim.model import SIM_MODEL_NAME

_EPS = 1e-9
"""Window entries expire this much early, so a client that waits exactly ``retry-after-ms`` is
admitted despite float rounding of ``now + wait``."""


@dataclass(frozen=True)
class FaultConfig:
    """How the sim server misbehaves. Zero means "no limit" for ``slots``, ``rpm`` and ``tpm``."""

    latency_ms: float = 0.0
    """Mean fixed part of the service time of one request."""
    per_token_ms: float = 0.0
    """Service time added per completion token (a crude continuous-batching GPU model)."""
    latency_sigma: float = 0.3
    """Log-space standard deviation of the lognormal jitter on ``latency_ms`` (mean preserved)."""
    slots: int = 0
    """Concurrent requests served at once; more wait in a queue."""
    rpm: int = 0
    """Requests allowed in any sliding window of ``window_s`` seconds."""
    tpm: int = 0
    """Tokens (prompt estimate + max_tokens) allowed in any sliding window of ``window_s`` seconds."""
    window_s: float = 60.0
    error_rate: float = 0.0
    """Fraction of admitted requests answered with HTTP 500."""
    drop_rate: float = 0.0
    """Fraction of admitted requests whose connection is closed without a complete response."""
    unload_after: float | None = None
    """Seconds after server start when the model "unloads" (None: never)."""
    unload_for: float = math.inf
    """How long it stays unloaded (default: for good)."""
    unload_from_first_request: bool = False
    """Time ``unload_after`` from the first request instead of server start, so a trial meets the
    unloaded window however long its client takes to start (default false)."""
    seed: int = 0
    think_tokens: int = 0
    """Play a reasoning model: a ``<think>`` block of this many tokens before each answer, unless the
    request switches thinking off (``sim-serve --think N``; 0: no thinking)."""
    model: str = SIM_MODEL_NAME
    api_key: str | None = field(default=None, repr=False)
    """If set, requests must carry ``Authorization: Bearer <api_key>`` or get OpenAI's 401."""
    honour_seed: bool = False
    """Answer like vLLM or llama.cpp given a ``seed``: from (messages, seed, temperature) only,
    ignoring ``replicate`` and every other negoray-specific field."""
    prefix_cache: bool = False
    """Count cached prompt prefixes like vLLM and report them in ``usage.prompt_tokens_details.cached_tokens``."""
    batch_delay_s: float = 0.0
    """Batch API: seconds from a batch's creation until it is completed (on the next poll after)."""
    batch_error_rate: float = 0.0
    """Batch API: fraction of a batch's requests answered with a per-request HTTP 500 in its error file."""
    batch_expire_rate: float = 0.0
    """Batch API: fraction of batches that expire: their first half completes, the rest is ``batch_expired``."""
    collapse_after: int = 0
    """Requests in the server (served and queued) past which it collapses (0: never): each request
    beyond it makes every service time ``collapse_factor / collapse_after`` longer, so latency grows
    faster than the queue and throughput falls (a server thrashing its KV cache or swapping)."""
    collapse_factor: float = 1.0
    overload_unload_s: float = 0.0
    """With ``collapse_after``: once more requests than that are in the server, the model "unloads" for
    this many seconds (LM Studio under memory pressure): every request meanwhile gets "No models
    loaded" (0: never)."""

    def __post_init__(self) -> None:
        for name in ("latency_ms", "per_token_ms", "latency_sigma", "unload_for", "collapse_factor", "overload_unload_s"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("slots", "rpm", "tpm", "think_tokens", "collapse_after"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not (self.window_s > 0 and math.isfinite(self.window_s)):
            raise ValueError(f"window_s must be a positive number, got {self.window_s}")
        if not self.batch_delay_s >= 0:
            raise ValueError(f"batch_delay_s must be >= 0, got {self.batch_delay_s}")
        for name in ("error_rate", "drop_rate", "batch_error_rate", "batch_expire_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.error_rate + self.drop_rate > 1.0:
            raise ValueError(f"error_rate + drop_rate must be <= 1, got {self.error_rate + self.drop_rate}")
        if self.unload_after is not None and not self.unload_after >= 0:
            raise ValueError(f"unload_after must be >= 0, got {self.unload_after}")


class Fault(Enum):
    """What happens to an admitted request."""

    NONE = "none"
    UNLOADED = "unloaded"
    SERVER_ERROR = "server_error"
    DROP = "drop"


@dataclass(frozen=True)
class Limits:
    """The rate-limit state reported in the ``x-ratelimit-*`` headers of one response."""

    limit_requests: int
    remaining_requests: int
    reset_requests_s: float
    limit_tokens: int
    remaining_tokens: int
    reset_tokens_s: float

    def headers(self) -> dict[str, str]:
        """OpenAI's header names; a dimension without a limit is left out."""
        out: dict[str, str] = {}
        if self.limit_requests:
            out["x-ratelimit-limit-requests"] = str(self.limit_requests)
            out["x-ratelimit-remaining-requests"] = str(self.remaining_requests)
            out["x-ratelimit-reset-requests"] = format_duration(self.reset_requests_s)
        if self.limit_tokens:
            out["x-ratelimit-limit-tokens"] = str(self.limit_tokens)
            out["x-ratelimit-remaining-tokens"] = str(self.remaining_tokens)
            out["x-ratelimit-reset-tokens"] = format_duration(self.reset_tokens_s)
        return out


@dataclass(frozen=True)
class Decision:
    """The fault model's verdict on one arriving request."""

    admitted: bool
    limits: Limits
    fault: Fault = Fault.NONE
    retry_after_s: float = 0.0
    """For a 429: the exact wait until the window admits this request."""
    limited_by: str | None = None
    """For a 429: ``"requests"`` or ``"tokens"``."""
    too_large: bool = False
    """For a 429: the request alone exceeds ``tpm``, so waiting never helps."""
    early: bool = False
    """It arrived before the reset time a previous 429 announced."""

    @property
    def retry_after_ms(self) -> int:
        return ceil_ms(self.retry_after_s)

    def headers(self) -> dict[str, str]:
        """``x-ratelimit-*`` headers, plus ``Retry-After`` (whole seconds) and ``retry-after-ms`` on a 429."""
        out = self.limits.headers()
        if not self.admitted:
            out["retry-after"] = str(math.ceil(self.retry_after_ms / 1000))
            out["retry-after-ms"] = str(self.retry_after_ms)
        return out


def ceil_ms(seconds: float) -> int:
    """Seconds rounded up to whole milliseconds (float noise below a nanosecond is ignored)."""
    return max(0, math.ceil(round(seconds * 1000, 6)))


def format_duration(seconds: float) -> str:
    """A reset time the way OpenAI writes it: ``"120ms"``, ``"1.5s"``, ``"6m0s"``, ``"1h2m3s"``."""
    ms = ceil_ms(seconds)
    if ms < 1000:
        return f"{ms}ms"
    hours, rest_ms = divmod(ms, 3_600_000)
    minutes, rest_ms = divmod(rest_ms, 60_000)
    secs = f"{rest_ms / 1000:g}s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    return f"{minutes}m{secs}" if minutes else secs


class FaultModel:
    """Decides, per arriving request, between 429, an injected fault, or service (and its duration).

    The rate limit is a strict sliding-window log: a request is admitted only if, counting it,
    no more than ``rpm`` requests and ``tpm`` tokens fall in the last ``window_s`` seconds.
    A 429'd request consumes no quota. Admitted requests consume quota whatever fault they
    then meet (a real gateway counts them before the backend fails).
    """

    def __init__(self, config: FaultConfig, start: float = 0.0) -> None:
        self.config = config
        self.start = start
        """Server start on the injected clock; the unload window is relative to it."""
        fault_seed, latency_seed = np.random.SeedSequence(config.seed).spawn(2)
        self._fault_rng = np.random.default_rng(fault_seed)
        self._latency_rng = np.random.default_rng(latency_seed)
        self._window: deque[tuple[float, int]] = deque()  # (admitted at, tokens), oldest first
        self._window_tokens = 0
        self.closed_until = -math.inf
        """The latest reset time any 429 announced; arrivals before it are "early"."""
        self.overloaded_until = -math.inf
        """End of the unload an overload caused (``overload_unload_s``)."""
        self._requested = False

    def unloaded(self, now: float) -> bool:
        """Whether ``now`` falls in the model-unloaded window (or an unload an overload caused)."""
        c = self.config
        if now < self.overloaded_until:
            return True
        if c.unload_after is None:
            return False
        begin = self.start + c.unload_after
        return begin <= now < begin + c.unload_for

    def window_usage(self, now: float) -> tuple[int, int]:
        """Requests and tokens counted in the window ending at ``now``."""
        self._expire(now)
        return len(self._window), self._window_tokens

    def slowdown(self, load: int) -> float:
        """The factor on every service time with ``load`` requests in the server (``collapse_after``)."""
        c = self.config
        if not c.collapse_after or load <= c.collapse_after:
            return 1.0
        return 1.0 + c.collapse_factor * (load - c.collapse_after) / c.collapse_after

    def decide(self, now: float, tokens: int, load: int = 0) -> Decision:
        """Admit (consuming quota, then drawing a fault) or refuse a request of ``tokens`` arriving at ``now``
        with ``load`` requests in the server, this one included (an overload may unload the model)."""
        c = self.config
        if c.unload_from_first_request and not self._requested:
            self.start = now
        self._requested = True
        if c.collapse_after and c.overload_unload_s and load > c.collapse_after and not self.unloaded(now):
            self.overloaded_until = now + c.overload_unload_s
        self._expire(now)
        early = now < self.closed_until
        wait_requests = self._wait_for_requests(now)
        wait_tokens, too_large = self._wait_for_tokens(now, tokens)
        if wait_requests > 0 or wait_tokens > 0:
            wait = max(wait_requests, wait_tokens)
            if too_large:
                wait = self.config.window_s
            else:
                self.closed_until = max(self.closed_until, now + ceil_ms(wait) / 1000)
            return Decision(
                admitted=False, limits=self._limits(now), retry_after_s=wait,
                limited_by="requests" if wait_requests >= wait_tokens else "tokens",
                too_large=too_large, early=early,
            )
        self._window.append((now, tokens))
        self._window_tokens += tokens
        return Decision(admitted=True, limits=self._limits(now), fault=self._draw_fault(now), early=early)

    def service_time_s(self, completion_tokens: int, load: int = 0) -> float:
        """Seconds one slot is busy: jittered ``latency_ms`` plus ``per_token_ms`` per completion token,
        times the `slowdown` at ``load`` requests in the server."""
        c = self.config
        base = 0.0
        if c.latency_ms > 0:
            sigma = c.latency_sigma
            base = c.latency_ms * float(self._latency_rng.lognormal(-sigma * sigma / 2, sigma)) if sigma else c.latency_ms
        return (base + c.per_token_ms * completion_tokens) / 1000 * self.slowdown(load)

    def _draw_fault(self, now: float) -> Fault:
        if self.unloaded(now):
            return Fault.UNLOADED
        c = self.config
        if c.error_rate == 0 and c.drop_rate == 0:
            return Fault.NONE
        u = float(self._fault_rng.random())
        if u < c.error_rate:
            return Fault.SERVER_ERROR
        if u < c.error_rate + c.drop_rate:
            return Fault.DROP
        return Fault.NONE

    def _expire(self, now: float) -> None:
        horizon = now - self.config.window_s + _EPS
        while self._window and self._window[0][0] <= horizon:
            self._window_tokens -= self._window.popleft()[1]

    def _wait_for_requests(self, now: float) -> float:
        rpm = self.config.rpm
        if not rpm or len(self._window) < rpm:
            return 0.0
        # The oldest len - rpm + 1 entries must leave before one more fits.
        return self._window[len(self._window) - rpm][0] + self.config.window_s - now

    def _wait_for_tokens(self, now: float, tokens: int) -> tuple[float, bool]:
        tpm = self.config.tpm
        if not tpm or self._window_tokens + tokens <= tpm:
            return 0.0, False
        if tokens > tpm:
            return self.config.window_s, True
        used = self._window_tokens
        for at, n in self._window:
            used -= n
            if used + tokens <= tpm:
                return at + self.config.window_s - now, False
        raise AssertionError("unreachable: an empty window admits any request of <= tpm tokens")

    def _limits(self, now: float) -> Limits:
        """Remaining quota and time until the window is back to its initial state (OpenAI's definition)."""
        c = self.config
        reset = self._window[-1][0] + c.window_s - now if self._window else 0.0
        return Limits(
            limit_requests=c.rpm, remaining_requests=max(0, c.rpm - len(self._window)), reset_requests_s=reset,
            limit_tokens=c.tpm, remaining_tokens=max(0, c.tpm - self._window_tokens), reset_tokens_s=reset,
        )
