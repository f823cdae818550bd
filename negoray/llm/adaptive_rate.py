"""`AdaptiveRate`: a key's effective request rate learned from its 429s (AIMD on the rate).

A configured limit can be wrong (``--rpm 90`` against a provider that allows 60): then every minute
brings 429s. After repeated 429s the effective rate drops multiplicatively until they stop; after a
quiet spell it creeps back up additively towards the configured rate, so a limit that was raised
(or a transient squeeze) is found again. Pure and clock-free: callers pass ``now``. The adaptive
*concurrency* limit (issue 15) is a separate class beside this one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class AdaptiveRate:
    """The effective requests-per-minute of one key; None while it is the configured one."""

    decrease: float = 0.8
    """Multiplicative decrease applied after repeated 429s."""
    strikes: int = 2
    """429s within ``window_s`` that count as "repeated" (one stray 429 only pauses)."""
    window_s: float = 60.0
    cooldown_s: float = 15.0
    """At most one decrease per cooldown: the 429s of one overshoot (every call in flight) count once."""
    quiet_s: float = 60.0
    """A 429-free spell after which the rate is raised one step."""
    step: float = 0.03
    """Additive increase per quiet spell, as a fraction of the ceiling (slow probing)."""
    floor_rpm: float = 1.0
    rpm: float | None = None
    ceiling: float | None = None
    """The rate probed back up to: the configured rpm, or the observed rate at the first decrease."""
    _recent: deque[float] = field(default_factory=deque)
    _last_429: float = float("-inf")
    _last_change: float = float("-inf")

    def on_429(self, now: float, base_rpm: float | None) -> bool:
        """Hear a 429 at ``now``; ``base_rpm``: the configured rate, or the observed one if none is.
        True if the effective rate was lowered."""
        self._last_429 = now
        self._recent.append(now)
        while self._recent and self._recent[0] <= now - self.window_s:
            self._recent.popleft()
        if len(self._recent) < self.strikes or now - self._last_change < self.cooldown_s:
            return False
        current = self.rpm if self.rpm is not None else base_rpm
        if not current:
            return False
        if self.ceiling is None:
            self.ceiling = base_rpm
        self.rpm = max(self.floor_rpm, current * self.decrease)
        self._last_change = now
        self._recent.clear()
        return True

    def tick(self, now: float) -> bool:
        """Probe one step up after a quiet spell; True if the rate changed (back to None at the ceiling)."""
        if self.rpm is None or self.ceiling is None:
            return False
        if now - max(self._last_429, self._last_change) < self.quiet_s:
            return False
        self.rpm += self.step * self.ceiling
        self._last_change = now
        if self.rpm >= self.ceiling:
            self.rpm = self.ceiling = None
        return True
