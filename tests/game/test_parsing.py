"""Reading model replies as moves: a corpus of realistic replies, round trips of what
`format_move` writes, and the parser's never-raises guarantee."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from negoray.game.moves import Action, Move, MoveFormat, format_move
from negoray.game.outcome import is_valid_share, rest
from negoray.game.parsing import parse_move
from tests.game.parser_corpus import CORPUS

Counts = tuple[int, int, int]


def verdict(move: Move) -> Any:
    """A parsed move in the corpus's terms."""
    if move.action is None:
        return "unparseable"
    if move.problem is not None:
        return ("invalid", move.action.value)
    return (move.action.value, move.share)


# ---- corpus ------------------------------------------------------------------------------------


def test_corpus_is_large_and_well_formed() -> None:
    assert len(CORPUS) >= 45
    for text, counts, expected in CORPUS:
        assert isinstance(text, str) and len(counts) == 3
        if isinstance(expected, tuple) and expected[0] in ("propose", "reject"):
            assert is_valid_share(expected[1], counts), text


@pytest.mark.parametrize(("text", "counts", "expected"), CORPUS, ids=[f"{i:02d}" for i in range(len(CORPUS))])
def test_corpus(text: str, counts: Counts, expected: Any) -> None:
    move = parse_move(text, counts)
    assert verdict(move) == expected, f"{text!r}\n-> {move}"
    if move.action is None or move.problem is not None:
        assert move.problem


def test_unparseable_and_invalid_moves_say_why() -> None:
    assert "REJECT" in (parse_move("REJECT", (1, 1, 1)).problem or "")
    assert "claims" in (parse_move("PROPOSE: I get [2 books, 0 hats, 0 balls]", (1, 1, 1)).problem or "")
    assert "negative" in (parse_move("PROPOSE: I get [-1 books, 0 hats, 0 balls]", (1, 1, 1)).problem or "")
    assert "add up" in (
        parse_move("PROPOSE: I get [1 book, 0 hats, 0 balls], you get [1 book, 1 hat, 1 ball]", (1, 1, 1)).problem or ""
    )
    assert parse_move("PROPOSE: I get [2 apples], you get [1 pear]", (1, 1, 1)).problem


def test_reasoning_is_kept_apart_from_the_move() -> None:
    move = parse_move("REASONING: hats are worth 3 each to me.\nACCEPT", (1, 1, 1))
    assert move == Move(Action.ACCEPT, None, "hats are worth 3 each to me.")


def test_without_the_pool_only_explicit_own_shares_resolve() -> None:
    assert parse_move("PROPOSE: I get [1 book, 2 hats, 0 balls], you get [0 books, 0 hats, 1 ball]").share == (1, 2, 0)
    assert not parse_move("PROPOSE: I get all the hats").parsed
    assert not parse_move("You can have the books.").parsed


# ---- round trips -----------------------------------------------------------------------------

counts_st = st.tuples(*[st.integers(0, 5)] * 3)

# Reasoning as models write it for the text form: words (numbers and item names included) on
# one line, without the decision keywords the format reserves.
WORDS = ["i", "you", "they", "value", "hats", "books", "balls", "ball", "hat", "book", "most", "least",
         "is", "are", "worth", "to", "me", "the", "a", "and", "but", "so", "fair", "split", "keep", "want",
         "get", "rest", "all", "nothing", "3", "10", "points", "my", "your", "their", "floor", "is", "60%",
         "round", "last", "not", "never", "can't", "won't", "if", "for", "nevertheless"]
text_reasoning = st.one_of(
    st.just(""),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=15).map(" ".join),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=15).map(lambda ws: " ".join(ws).capitalize() + "."),
)


@st.composite
def pool_and_share(draw: st.DrawFn) -> tuple[Counts, Counts]:
    counts = draw(counts_st)
    return counts, tuple(draw(st.integers(0, c)) for c in counts)  # type: ignore[return-value]


def _wrap_text(text: str, style: str) -> str:
    """The V7 text form as chat models tend to decorate it."""
    if style == "one line":
        return text.replace("\n", " ")
    if style == "chatty":
        return f"Sure! Here's my response:\n\n{text}\n\nLet me know what you think!"
    if style == "markdown":
        return "\n".join(f"**{line.replace(':', ':**', 1)}" if ":" in line else f"**{line}**" for line in text.split("\n"))
    return text


@given(pool_and_share(), st.sampled_from([Action.PROPOSE, Action.REJECT]), text_reasoning,
       st.sampled_from(["plain", "one line", "chatty", "markdown"]))
def test_text_round_trip(pool: tuple[Counts, Counts], action: Action, reasoning: str, style: str) -> None:
    counts, share = pool
    if style == "one line" and reasoning and not reasoning.endswith("."):
        reasoning += "."  # "... I will not PROPOSE: ..." on one line would be a negated keyword
    text = _wrap_text(format_move(Move(action, share, reasoning), counts, MoveFormat.TEXT), style)
    move = parse_move(text, counts)
    assert (move.action, move.share, move.problem) == (action, share, None), text
    if style != "one line":
        assert move.reasoning == " ".join(reasoning.split())


@given(pool_and_share(), st.sampled_from(list(Action)), st.text())
def test_json_round_trip(pool: tuple[Counts, Counts], action: Action, reasoning: str) -> None:
    counts, share = pool
    written = Move(action, None if action is Action.ACCEPT else share, reasoning)
    text = format_move(written, counts, MoveFormat.JSON)
    assert parse_move(text, counts) == written
    assert parse_move(f"```json\n{text}\n```", counts) == written


@given(counts_st, text_reasoning, st.sampled_from(["plain", "chatty", "markdown"]))
def test_text_accept_round_trip(counts: Counts, reasoning: str, style: str) -> None:
    text = _wrap_text(format_move(Move(Action.ACCEPT, None, reasoning), counts, MoveFormat.TEXT), style)
    move = parse_move(text, counts)
    assert (move.action, move.share, move.problem) == (Action.ACCEPT, None, None), text


# ---- never raises ----------------------------------------------------------------------------

TOKENS = ["PROPOSE:", "PROPOSE", "ACCEPT", "REJECT", "REASONING:", "accept", "I accept", "Deal!", "I can't",
          "not", "if", "your offer:", "counter-offer:", "I get", "you get", "I'll take", "you can have",
          "for me", "me:", "[", "]", "(", ")", "{", "}", '"action"', '"i_get"', ":", ",", "'", '"', "0", "1",
          "2", "-1", "99999999999999999999", "two", "both", "all", "the", "the rest", "nothing", "everything",
          "book", "books", "hat", "hats", "ball", "balls", "notebooks", "x", "×", "\n", " ", "**", "```json",
          "—", "’", "é", "\x00", "\u2028"]
keyword_soup = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)), max_size=40).map(" ".join)
tight_soup = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
any_counts = st.one_of(st.none(), counts_st, st.tuples(*[st.integers(0, 10)] * 3))


def check_well_formed(move: Any, counts: Counts | None) -> None:
    assert isinstance(move, Move)
    json.dumps(move.to_dict())
    if move.action is None:
        assert move.problem
        assert move.share is None
    if move.action is Action.ACCEPT:
        assert move.share is None
    if move.share is not None:
        assert len(move.share) == 3 and all(type(n) is int for n in move.share)
    if move.ok and move.action is not Action.ACCEPT:
        assert move.share is not None
        if counts is not None:
            assert is_valid_share(move.share, counts)
        else:
            assert all(n >= 0 for n in move.share)


@given(st.one_of(st.text(), keyword_soup, tight_soup), any_counts)
def test_never_raises_on_text(text: str, counts: Counts | None) -> None:
    check_well_formed(parse_move(text, counts), counts)


@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary(), st.lists(st.text()),
                 st.dictionaries(st.text(), st.text()), st.builds(object)), any_counts)
def test_never_raises_on_non_text(value: Any, counts: Counts | None) -> None:
    move = parse_move(value, counts)
    check_well_formed(move, counts)
    assert move.action is None


@given(st.dictionaries(st.sampled_from(["action", "reasoning", "i_get", "you_get", "decision", "me", "you"]),
                       st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                                    max_leaves=10)),
       any_counts)
def test_never_raises_on_odd_json(obj: dict[str, Any], counts: Counts | None) -> None:
    check_well_formed(parse_move(json.dumps(obj), counts), counts)


# ---- invalid moves are flagged -----------------------------------------------------------------


@st.composite
def over_claims(draw: st.DrawFn) -> tuple[Counts, Counts]:
    counts = draw(counts_st)
    share = [draw(st.integers(0, c)) for c in counts]
    i = draw(st.integers(0, 2))
    share[i] = counts[i] + draw(st.integers(1, 5))
    return counts, tuple(share)  # type: ignore[return-value]


@st.composite
def negative_shares(draw: st.DrawFn) -> tuple[Counts, Counts]:
    counts = draw(counts_st)
    share = [draw(st.integers(0, c)) for c in counts]
    i = draw(st.integers(0, 2))
    share[i] = -draw(st.integers(1, 5))
    return counts, tuple(share)  # type: ignore[return-value]


@given(st.one_of(over_claims(), negative_shares()), st.sampled_from([Action.PROPOSE, Action.REJECT]),
       st.sampled_from(list(MoveFormat)))
def test_over_claims_and_negatives_are_invalid(pool: tuple[Counts, Counts], action: Action, fmt: MoveFormat) -> None:
    counts, share = pool
    move = parse_move(format_move(Move(action, share, "greedy"), counts, fmt), counts)
    assert move.action is action
    assert move.problem
    assert not move.ok


@given(st.one_of(over_claims(), negative_shares()))
def test_own_share_alone_is_checked(pool: tuple[Counts, Counts]) -> None:
    counts, share = pool
    words = ", ".join(f"{n} {item}" for n, item in zip(share, ("books", "hats", "balls")))
    move = parse_move(f"PROPOSE: I get [{words}]", counts)
    assert move.action is Action.PROPOSE and move.share == share and move.problem


@given(over_claims())
def test_other_sides_over_claim_is_invalid(pool: tuple[Counts, Counts]) -> None:
    counts, theirs = pool
    words = ", ".join(f"{n} {item}" for n, item in zip(theirs, ("books", "hats", "balls")))
    move = parse_move(f"PROPOSE: you get [{words}], I get the rest", counts)
    assert move.action is Action.PROPOSE and move.problem
    assert move.share == rest(counts, theirs)


@given(negative_shares())
def test_negatives_are_invalid_without_the_pool(pool: tuple[Counts, Counts]) -> None:
    _, share = pool
    words = ", ".join(f"{n} {item}" for n, item in zip(share, ("books", "hats", "balls")))
    move = parse_move(f"PROPOSE: I get [{words}]")
    assert move.action is Action.PROPOSE and move.problem
