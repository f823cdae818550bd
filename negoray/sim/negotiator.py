"""The sim's negotiating behaviour: read the turn from the prompt text, decide with a
time-dependent aspiration, answer in the protocol's format.

Decision rule: accept an offer worth at least the current aspiration (or the strategy's immediate
``accept_at`` threshold, or after its late round its late floor); otherwise propose the split that still meets the aspiration and,
among those, gives the other side the most by the sim's estimate of their values (learned from
what they have asked for; equal values before they speak).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass


from negoray.game.moves import Action, Move, MoveFormat, format_move
from negoray.game.outcome import all_splits, value
from negoray.game.protocol import RULES_HEADER, STRATEGY_HEADER
from negoray.game.scenario import ITEMS, Counts
from negoray.sim.strategy import SimStrategy, read_strategy

_ITEM_COUNT = re.compile(r"(\d+)\s+(book|hat|ball)", re.I)
_VALUE = re.compile(r"\b(book|hat|ball)\s*=\s*(\d+)", re.I)
_WHERE = re.compile(r"Round\s+(\d+)\s+of\s+(\d+);\s+message\s+(\d+)\s+of\s+(\d+)", re.I)
_STANDING = re.compile(r"Standing proposal from the other side:\s*you get\s*(\[[^\]]*\])", re.I)
_THEIR_ASK = re.compile(r"-\s*they:\s*(?:PROPOSE|REJECT and counter-propose):.*?they get\s*(\[[^\]]*\])", re.I)


@dataclass(frozen=True)
class TurnState:
    """What the sim reads off one turn prompt."""

    counts: Counts
    values: Counts
    message: int
    last_message: int
    round: int
    offered: Counts | None
    their_asks: tuple[Counts, ...]

    @property
    def time(self) -> float:
        return (self.message - 1) / max(1, self.last_message - 1)


def _vector(text: str, pattern: re.Pattern[str], value_first: bool) -> Counts:
    found = {}
    for a, b in pattern.findall(text):
        n, item = (a, b) if value_first else (b, a)
        found.setdefault(item.lower() + "s", int(n))
    return tuple(found.get(item, 0) for item in ITEMS)  # type: ignore[return-value]


def read_turn(user: str) -> TurnState | None:
    """Parse a `negoray.game.protocol.turn_prompt`; None if this is not one."""
    pool = re.search(r"^Pool:(.*)$", user, re.M)
    values = re.search(r"^Your values:(.*)$", user, re.M)
    where = _WHERE.search(user)
    if not (pool and values and where):
        return None
    standing = _STANDING.search(user)
    return TurnState(
        counts=_vector(pool.group(1), _ITEM_COUNT, True),
        values=_vector(values.group(1), _VALUE, False),
        round=int(where.group(1)),
        message=int(where.group(3)),
        last_message=int(where.group(4)),
        offered=_vector(standing.group(1), _ITEM_COUNT, True) if standing else None,
        their_asks=tuple(_vector(m, _ITEM_COUNT, True) for m in _THEIR_ASK.findall(user)),
    )


def strategy_text(system: str) -> str:
    """The strategy part of a negotiation system prompt (the whole text if it has no sections)."""
    start = system.find(STRATEGY_HEADER)
    start = start + len(STRATEGY_HEADER) if start != -1 else 0
    end = system.find(RULES_HEADER, start)
    return system[start : end if end != -1 else len(system)]


def _their_weights(state: TurnState) -> list[float]:
    """Estimated per-item values of the other side: 1 plus the share of each item they asked for."""
    return [1.0 + sum(ask[i] for ask in state.their_asks) / max(1, c) for i, c in enumerate(state.counts)]


def decide(state: TurnState, strategy: SimStrategy, noise: float) -> Move:
    """The sim's move for this turn; ``noise`` shifts the aspiration (sampling temperature)."""
    total = value(state.counts, state.values)
    if total == 0:
        return Move(Action.ACCEPT, reasoning="Nothing here is worth anything to me.") if state.offered else \
            Move(Action.PROPOSE, tuple(0 for _ in ITEMS), "Nothing here is worth anything to me.")  # type: ignore[arg-type]
    aspiration = min(1.0, max(0.0, strategy.aspiration(state.time) + noise))
    threshold = aspiration
    if strategy.accept_at is not None:
        threshold = min(threshold, strategy.accept_at)
    if strategy.late_round is not None and strategy.late_floor is not None and state.round > strategy.late_round:
        threshold = min(threshold, strategy.late_floor)
    if state.message == state.last_message:
        threshold = min(threshold, strategy.floor)
    if state.offered is not None:
        got = value(state.offered, state.values) / total
        if got >= threshold - 1e-9:
            return Move(Action.ACCEPT, reasoning=f"The offer gives me {got:.0%}, at least the {threshold:.0%} I need now.")
    weights = _their_weights(state)
    need = aspiration * total - 1e-9
    best = min(
        (value(s, state.values), -sum(w * (c - n) for w, c, n in zip(weights, state.counts, s)), s)
        for s in all_splits(state.counts) if value(s, state.values) >= need
    )[2]
    action = Action.REJECT if state.offered is not None else Action.PROPOSE
    mine = value(best, state.values) / total
    return Move(action, best, f"I aim for about {aspiration:.0%} of my value; this proposal gives me {mine:.0%}.")


def negotiate(system: str, user: str, rng: random.Random, temperature: float, fmt: MoveFormat) -> str | None:
    """The sim's reply to a negotiation turn, or None if ``user`` is not a turn prompt."""
    state = read_turn(user)
    if state is None:
        return None
    strategy = read_strategy(strategy_text(system))
    noise = rng.gauss(0.0, 0.04 * temperature) if temperature > 0 else 0.0
    return format_move(decide(state, strategy, noise), state.counts, fmt)
