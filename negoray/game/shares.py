"""Turning what a reply says each side gets into the speaker's own share, checked against the pool.

The parser (`negoray.game.parsing`) reads the words; this resolves them: "all" and "the rest",
the other side's share given instead of one's own, over-claims and shares that do not add up.
"""

from __future__ import annotations

from typing import Any

from negoray.game.moves import Action, Move
from negoray.game.scenario import ITEMS, Counts

ALL = "all"
"""Stands for "all of them" until the pool is known."""


def resolve_move(action: Action, mine: Any, theirs: Any, counts: Counts | None, reasoning: str, whole: Any) -> Move:
    """Turn what was said about each side into the speaker's own share, checked against the pool."""
    if mine == "rest" and theirs == "rest":
        return Move(None, reasoning=reasoning, problem="both sides get 'the rest'")
    if counts is None:
        if isinstance(mine, dict):
            share = tuple(mine.get(i, 0) for i in ITEMS)
            if ALL in share:
                return Move(None, reasoning=reasoning, problem="'all' needs the pool to resolve")
            return checked_move(action, share, None, reasoning)
        return Move(None, reasoning=reasoning, problem="the speaker's own share needs the pool to resolve")
    if mine == "all":
        mine = {item: ALL for item in ITEMS}
    if theirs == "all":
        theirs = {item: ALL for item in ITEMS}
    mine = mine if isinstance(mine, dict) else None
    theirs = theirs if isinstance(theirs, dict) else None
    if mine is None and theirs is None:
        return Move(None, reasoning=reasoning, problem="neither side's share could be read")
    # Per item: the speaker's own count where stated, else the pool less what the other side is
    # given. An item neither side mentions goes to the other side -- unless only the other
    # side's share was stated, and then the speaker keeps everything not given away.
    own: list[int] = []
    mismatch = False
    for item, c in zip(ITEMS, counts):
        a, b = stated(mine, item, c), stated(theirs, item, c)
        if a is not None:
            own.append(a)
            mismatch |= b is not None and a + b != c
        elif b is not None:
            own.append(c - b)
        else:
            own.append(c if mine is None else 0)
    share: Counts = tuple(own)  # type: ignore[assignment]
    if any(n < 0 for n, item in zip(share, ITEMS) if stated(mine, item, 0) is None):
        return Move(action, share, reasoning, "the other side's share claims more items than the pool has")
    move = checked_move(action, share, counts, reasoning)
    if mismatch and not move.problem:
        return Move(action, share, reasoning, "the two shares do not add up to the pool")
    return move


def stated(named: dict[str, int] | None, item: str, count: int) -> int | None:
    """What one side is explicitly given of ``item`` ("all" resolved to ``count``), or None."""
    if named is None or item not in named:
        return None
    return count if named[item] == ALL else named[item]


def checked_move(action: Action, share: Counts, counts: Counts | None, reasoning: str) -> Move:
    if any(n < 0 for n in share):
        return Move(action, share, reasoning, "negative item count")
    if counts is not None:
        over = [f"{n} {item} but the pool has {c}" for n, item, c in zip(share, ITEMS, counts) if n > c]
        if over:
            return Move(action, share, reasoning, "claims " + "; ".join(over))
    return Move(action, share, reasoning)
