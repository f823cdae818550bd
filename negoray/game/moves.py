"""Moves of the game and how they are written, in the V7 text form and the structured JSON form."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from negoray.game.outcome import rest
from negoray.game.scenario import ITEMS, Counts


class Action(str, Enum):
    PROPOSE = "propose"
    ACCEPT = "accept"
    REJECT = "reject"
    """Reject the standing proposal with a counter-proposal."""


class MoveFormat(str, Enum):
    """How a model is asked to answer, chosen per experiment."""

    TEXT = "text"
    JSON = "json"


@dataclass(frozen=True)
class Move:
    """One side's parsed message.

    ``share`` is what the speaker claims for itself (PROPOSE and REJECT). ``problem`` says why the
    move costs the turn: with ``action`` None the text could not be parsed; otherwise the move was
    understood but is invalid (over-claims the pool, a REJECT without a counter-proposal, an ACCEPT
    with nothing to accept).
    """

    action: Action | None
    share: Counts | None = None
    reasoning: str = ""
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.action is not None and self.problem is None

    @property
    def parsed(self) -> bool:
        return self.action is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value if self.action else None,
            "share": list(self.share) if self.share is not None else None,
            "reasoning": self.reasoning,
            "problem": self.problem,
        }


def describe_share(share: Counts) -> str:
    """``[2 books, 1 hat, 0 balls]`` -- singular where the count is one."""
    parts = [f"{n} {item[:-1] if n == 1 else item}" for n, item in zip(share, ITEMS)]
    return "[" + ", ".join(parts) + "]"


def format_move(move: Move, counts: Counts, fmt: MoveFormat = MoveFormat.TEXT) -> str:
    """Write a valid move as a model is asked to write it (used by the sim and by tests)."""
    if move.action is None:
        raise ValueError("cannot format an unparseable move")
    if fmt is MoveFormat.JSON:
        obj: dict[str, Any] = {"reasoning": move.reasoning, "action": move.action.value}
        if move.share is not None:
            obj["i_get"] = dict(zip(ITEMS, move.share))
            obj["you_get"] = dict(zip(ITEMS, rest(counts, move.share)))
        return json.dumps(obj)
    lines = [f"REASONING: {move.reasoning}"] if move.reasoning else []
    if move.action is Action.ACCEPT:
        lines.append("ACCEPT")
    else:
        if move.action is Action.REJECT:
            lines.append("REJECT")
        if move.share is not None:
            theirs = rest(counts, move.share)
            lines.append(f"PROPOSE: I get {describe_share(move.share)}, you get {describe_share(theirs)}")
    return "\n".join(lines)


def share_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {item: {"type": "integer", "minimum": 0} for item in ITEMS},
        "required": list(ITEMS),
    }


MOVE_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reasoning": {"type": "string"},
        "action": {"type": "string", "enum": [a.value for a in Action]},
        "i_get": share_schema(),
        "you_get": share_schema(),
    },
    "required": ["reasoning", "action", "i_get", "you_get"],
}
"""The structured move a model can be constrained to with ``response_format``."""
