"""Reading a strategy prompt into the sim's concession parameters, and writing parameters back.

The sim is a synthetic model: it reads the numbers and a few words a person would use
("never accept less than 45%", "open at about 80%", "concede slowly") and acts on them, so that
different prompts negotiate differently and evolving the prompt text changes behaviour.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

PCT = r"~?\s*(?P<pct>\d{1,3}(?:\.\d+)?)\s*%"
_GAP = r"[^.%\n]{0,60}?"
_FLOOR = [
    re.compile(rf"\bnever\s+accept{_GAP}(?:less\s+than|below|under){_GAP}{PCT}", re.I),
    re.compile(rf"\b(?:floor|minimum|reservation\s+value|walk[- ]away(?:\s+point)?)\b{_GAP}{PCT}", re.I),
]
_ACCEPT_AT = [  # "accept any offer worth at least 40%", "accepts >= 40%": an immediate acceptance threshold
    re.compile(rf"\baccepts?\s+(?:any|an|offers|deals)?{_GAP}(?:at\s+least|>=|≥|of\s+at\s+least){_GAP}{PCT}", re.I),
]
_OPENING = [
    re.compile(rf"\b(?:open|opening|anchor|first\s+offer|initial\s+demand|start){_GAP}{PCT}", re.I),
]
_LATE = re.compile(rf"\bafter\s+round\s+(?P<round>\d+){_GAP}accept{_GAP}{PCT}", re.I)
_EXPONENT = re.compile(r"\bconcession\s+exponent\D{0,12}(?P<e>\d+(?:\.\d+)?)", re.I)

_CONCESSION_WORDS: list[tuple[re.Pattern[str], float]] = [
    (re.compile(r"\bconcede\s+only\s+(?:in|at)\s+the\s+(?:last|final)|\bdeadline\b", re.I), 10.0),
    (re.compile(r"\bhold\s+firm\b|\bconcede\s+(?:very\s+)?slowly\b|\bone\s+item\s+at\s+a\s+time\b|\bboulware\b|\bstubborn", re.I), 2.5),
    (re.compile(r"\bconcede\s+(?:very\s+)?(?:quickly|fast|readily|generously)\b|\bconceder\b|\bflexible\b", re.I), 0.6),
    (re.compile(r"\b(?:steady|moderate|gradual)\s+pace\b|\bconcede\s+steadily\b|\bmirror\b", re.I), 1.0),
]


@dataclass(frozen=True)
class SimStrategy:
    """Aspiration ``u(t) = floor + (opening - floor) * (1 - t**exponent)`` over the game's time t in
    [0, 1]; exponent > 1 concedes slowly (Boulware), < 1 fast (Conceder). After ``late_round`` the
    acceptance threshold drops to ``late_floor``. ``accept_at`` ("accept any offer worth at least
    X%") accepts such an offer at once, whatever the aspiration still is."""

    opening: float = 0.8
    floor: float = 0.4
    exponent: float = 1.0
    late_round: int | None = None
    late_floor: float | None = None
    accept_at: float | None = None

    def aspiration(self, t: float) -> float:
        t = min(1.0, max(0.0, t))
        return self.floor + (self.opening - self.floor) * (1.0 - t**self.exponent)

    def clamped(self) -> SimStrategy:
        floor = min(0.95, max(0.0, self.floor))
        return SimStrategy(
            opening=min(1.0, max(floor, self.opening)),
            floor=floor,
            exponent=min(10.0, max(0.1, self.exponent)),
            late_round=self.late_round,
            late_floor=self.late_floor,
            accept_at=None if self.accept_at is None else min(1.0, max(0.0, self.accept_at)),
        )


def _first_pct(patterns: list[re.Pattern[str]], text: str) -> float | None:
    hits = [(m.start(), float(m.group("pct")) / 100) for p in patterns for m in p.finditer(text)]
    return min(hits)[1] if hits else None


@functools.lru_cache(maxsize=8192)
def read_strategy(text: str) -> SimStrategy:
    """Parameters stated in a strategy prompt; anything not stated keeps its default. A stated
    ``accept_at`` with no stated floor is also where the aspiration ends."""
    late = _LATE.search(text)
    body = text[: late.start()] + text[late.end() :] if late else text
    accept_at = _first_pct(_ACCEPT_AT, body)
    floor = _first_pct(_FLOOR, body)
    floor = floor if floor is not None else accept_at
    opening = _first_pct(_OPENING, body)
    m = _EXPONENT.search(body)
    words = [(hit.start(), e) for p, e in _CONCESSION_WORDS if (hit := p.search(body))]
    exponent = float(m.group("e")) if m else min(words)[1] if words else 1.0
    default = SimStrategy()
    return SimStrategy(
        opening=opening if opening is not None else default.opening,
        floor=floor if floor is not None else default.floor,
        exponent=exponent,
        late_round=int(late.group("round")) if late else None,
        late_floor=float(late.group("pct")) / 100 if late else None,
        accept_at=accept_at,
    ).clamped()


def _pace(exponent: float) -> str:
    if exponent >= 4:
        return "Hold firm and concede mostly at the end"
    if exponent >= 1.6:
        return "Concede slowly"
    if exponent <= 0.75:
        return "Concede quickly"
    return "Concede at a steady pace"


_PARAMETER_SENTENCE = re.compile(
    r"%|\bconcede|\bconcession|\bhold\s+firm|\bone\s+item\s+at\s+a\s+time|\bdeadline|\bopen|\bfloor|\baccept", re.I
)


def write_strategy(params: SimStrategy, previous: str = "") -> str:
    """A strategy prompt stating ``params``; keeps the previous prompt's sentences that set no
    parameter (its tactics and tone), so lineages keep their character."""
    p = params.clamped()
    lines = [
        f"Open by demanding about {round(p.opening * 100)}% of your total value.",
        f"{_pace(p.exponent)} (concession exponent {p.exponent:.2f}).",
        f"Never accept less than {round(p.floor * 100)}% of your total value.",
    ]
    if p.accept_at is not None:
        lines.append(f"Accept any offer worth at least {round(p.accept_at * 100)}% of your total value.")
    if p.late_round is not None and p.late_floor is not None:
        lines.append(f"After round {p.late_round}, accept any offer worth at least {round(p.late_floor * 100)}%.")
    kept = [
        s.strip()
        for s in re.split(r"(?<=[.!?])\s+|\n+", previous)
        if s.strip() and not _PARAMETER_SENTENCE.search(s)
    ]
    return "\n".join(kept[:6] + lines)
