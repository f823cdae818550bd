"""The prompts a side sees: a system prompt (its strategy plus the rules) and one user message per
turn with the pool, its own values, the history from its own point of view, and its standing offer.

Each call is stateless (system + one user message), so every call can be cached and replayed on
its own. Only parsed moves cross between the sides; a side's ``REASONING`` stays private.
"""

from __future__ import annotations

from dataclasses import dataclass

from negoray.game.moves import MOVE_JSON_SCHEMA, Action, Move, MoveFormat, describe_share
from negoray.game.outcome import rest
from negoray.game.scenario import ITEMS, Counts

STRATEGY_HEADER = "## Your negotiation strategy"
RULES_HEADER = "## The game"

_TEXT_FORMAT = """Answer with exactly two lines:
REASONING: <one short sentence; the other side never sees it>
and then exactly one of:
PROPOSE: I get [X books, Y hats, Z balls], you get [A books, B hats, C balls]
ACCEPT
REJECT PROPOSE: I get [X books, Y hats, Z balls], you get [A books, B hats, C balls]
A proposal must divide the whole pool: your items plus theirs equal the pool. ACCEPT accepts the
other side's standing proposal; REJECT must come with your counter-proposal."""

_JSON_FORMAT = """Answer with one JSON object and nothing else:
{"reasoning": "<one short sentence; the other side never sees it>",
 "action": "propose" | "accept" | "reject",
 "i_get": {"books": X, "hats": Y, "balls": Z},
 "you_get": {"books": A, "hats": B, "balls": C}}
A proposal must divide the whole pool: your items plus theirs equal the pool. "accept" accepts the
other side's standing proposal (the shares are then ignored); "reject" makes a counter-proposal."""


def format_instructions(fmt: MoveFormat) -> str:
    return _JSON_FORMAT if fmt is MoveFormat.JSON else _TEXT_FORMAT


def response_format(fmt: MoveFormat) -> dict | None:
    """The ``response_format`` that constrains a model to the structured move (None for text)."""
    if fmt is MoveFormat.JSON:
        return {"type": "json_schema", "json_schema": {"name": "move", "schema": MOVE_JSON_SCHEMA}}
    return None


def system_prompt(strategy: str, max_rounds: int, fmt: MoveFormat) -> str:
    """The strategy (a genome, or the fixed opponent's) followed by the rules and the answer format."""
    return f"""{STRATEGY_HEADER}
{strategy.strip()}

{RULES_HEADER}
You are negotiating with another party over how to divide a pool of books, hats and balls.
Each side has its own private value per item type; you do not know the other side's values.
The sides take turns, one message each per round, for at most {max_rounds} rounds.
A deal is made only when a side ACCEPTs the other side's standing proposal. If nothing has been
accepted when the last round ends, there is no deal and both sides score 0.
Your score is the total value, by your values, of the items you end up with.

## How to answer
{format_instructions(fmt)}"""


@dataclass(frozen=True)
class Seen:
    """One earlier message as the reader sees it: ``mine`` says whether the reader sent it."""

    round: int
    mine: bool
    move: Move


def _share_words(share: Counts) -> str:
    return ", ".join(f"{n} {item[:-1] if n == 1 else item}" for n, item in zip(share, ITEMS))


def _describe(seen: Seen, counts: Counts) -> str:
    who = "you" if seen.mine else "they"
    move = seen.move
    if not move.ok:
        return f"Round {seen.round} - {who}: (wasted turn: {move.problem})"
    if move.action is Action.ACCEPT:
        return f"Round {seen.round} - {who}: ACCEPT"
    assert move.share is not None
    verb = "REJECT and counter-propose" if move.action is Action.REJECT else "PROPOSE"
    speaker, other = move.share, rest(counts, move.share)
    yours, theirs = (speaker, other) if seen.mine else (other, speaker)
    return f"Round {seen.round} - {who}: {verb}: you get {describe_share(yours)}, they get {describe_share(theirs)}"


def turn_prompt(
    counts: Counts,
    values: Counts,
    history: list[Seen],
    round_: int,
    max_rounds: int,
    first: bool,
    standing_for_me: Counts | None,
) -> str:
    """The user message for one turn. ``standing_for_me`` is what the reader would get by accepting."""
    total = sum(c * v for c, v in zip(counts, values))
    message = 2 * (round_ - 1) + (1 if first else 2)
    last_message = 2 * max_rounds
    lines = [
        "## Items",
        f"Pool: {_share_words(counts)}",
        "Your values: " + ", ".join(f"{item[:-1]} = {v}" for item, v in zip(ITEMS, values)),
        f"Total value of the whole pool to you: {total}",
        "",
        "## Negotiation so far",
    ]
    lines += [_describe(s, counts) for s in history] or ["(nothing yet - you open the negotiation)"]
    lines += ["", "## Your move", f"Round {round_} of {max_rounds}; message {message} of {last_message}."]
    if standing_for_me is not None:
        lines.append(
            f"Standing proposal from the other side: you get {describe_share(standing_for_me)}, "
            f"they get {describe_share(rest(counts, standing_for_me))}."
        )
    else:
        lines.append("There is no standing proposal from the other side.")
    if message == last_message:
        lines.append("This is the last message of the negotiation: if you do not ACCEPT now, there is no deal.")
    elif message == last_message - 1:
        lines.append("This is your last message: the other side can only accept or let the negotiation end.")
    return "\n".join(lines)
