"""Reading a model's reply as a move, tolerant of what real chat models write.

`parse_move` never raises: whatever the text, it returns a `Move`, and a reply it cannot read
comes back with ``action=None`` and the reason in ``problem``. It accepts both the V7 text form
(``REASONING: ...`` / ``PROPOSE: I get [...], you get [...]`` / ``ACCEPT`` / ``REJECT``) and the
structured JSON form, whichever the reply contains.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from negoray.game.moves import Action, Move
from negoray.game.scenario import ITEMS, Counts
from negoray.game.shares import ALL, resolve_move

_NUMBER_WORDS = {
    "zero": 0, "no": 0, "none": 0, "one": 1, "a": 1, "an": 1, "single": 1, "two": 2, "both": 2,
    "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "all": ALL, "the": ALL,
}
_ITEM = r"(?P<item>book|hat|ball)(?:e?s)?\b"
_NUM = r"(?P<num>-?\d+|zero|no|none|one|an?|single|two|both|three|four|five|six|seven|eight|nine|ten|all(?:\s+(?:of\s+)?the)?|the)"
_COUNT_THEN_ITEM = re.compile(rf"(?<![\w-]){_NUM}\s*(?:x\s*|×\s*)?(?:(?:the|of|of\s+the|extra|more)\s+)?{_ITEM}", re.I)
_ITEM_THEN_COUNT = re.compile(rf"\b{_ITEM}[\"']?\s*(?:[:=]|\bx|×)\s*(?P<num2>-?\d+)", re.I)
_TRIPLE = re.compile(r"[\[(]\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*[\])]")
_UNKNOWN_ITEM = re.compile(r"\b(\d+)\s+([a-z]{3,})\b", re.I)
_GENERIC_NOUNS = {"item", "items", "thing", "things", "object", "objects", "points", "point", "pts", "round", "rounds",
                  "total", "each", "value"}

_NOTHING = re.compile(r"\b(nothing|none|zero items|no items)\b", re.I)
_EVERYTHING = re.compile(r"\b(everything|all\s+(?:of\s+)?(?:the\s+)?items|the\s+whole\s+pool|all\s+of\s+it)\b", re.I)
_THE_REST = re.compile(r"\b(the\s+rest|everything\s+else|(?:all\s+)?the\s+remaining(?:\s+items)?|remainder|whatever\s+is\s+left|what'?s\s+left|the\s+remaining|rest\s+of)\b", re.I)

_VERB = r"(?:get|gets|take|takes|keep|keeps|receive|receives|have|has|claim|claims|want|wants|walk\s+away\s+with|end\s+up\s+with)"
_MODAL = r"(?:'ll|'d|\s+will|\s+would|\s+shall|\s+should|\s+can|\s+could|\s+want\s+to|\s+would\s+like\s+to|\s+'d\s+like\s+to)?"
_SELF = re.compile(
    rf"\b(?:I{_MODAL}\s+{_VERB}|I(?:'d|\s+would)\s+like\b|give\s+me|my\s+(?:share|part|portion|side)(?:\s+(?:is|would\s+be))?|me\s*[:=\-]|mine\s*[:=\-]|agent\s*[:=])",
    re.I,
)
_OTHER = re.compile(
    rf"\b(?:you{_MODAL}\s+{_VERB}|your\s+(?:share|part|portion|side)(?:\s+(?:is|would\s+be))?|you\s*[:=\-]|yours\s*[:=\-]|they{_MODAL}\s+{_VERB}|opponent\s*[:=]|(?:leaving|leave|give)\s+you(?:\s+with)?|and\s+you\s+(?:with|the))",
    re.I,
)

_FOR = re.compile(r"\bfor\s+(?P<who>me|you)\b(?!\s*[:=\-])", re.I)
"""Marks a share written before it ("2 books for me") or, failing that, after it."""
_PLACEHOLDER = re.compile(r"\b[B-HJ-Z]\s+(?:book|hat|ball)")
"""The answer template echoed back: "I get [X books, Y hats, Z balls]"."""

_NEGATION = re.compile(
    r"(?:\bnot\b|n't\b|\bnever\b|\bcannot\b|\bunable\s+to\b|\brefuse\s+to\b|\bno\s+way\s+(?:I|to)\b)[^\S\n]*(?:\w+[^\S\n]+){0,2}\Z",
    re.I,
)
"""Ends the text before a keyword that it negates ("I will not ACCEPT"), on the same line."""
_REASONING_LABEL = re.compile(r"\b(?:reasoning|reason|rationale|thoughts?|thinking|analysis|explanation)\s*:", re.I)
_DECISION_LABELLED = re.compile(
    r"(?:\b(?:decision|action|move|answer|response|final\s+answer|my\s+move)\s*[:\-]\s*)(?P<kw>accept|reject|propose|counter)",
    re.I,
)
_DECISION_LINE = re.compile(
    r"^\s*(?P<kw>(?:offer|proposal|deal)\s+accepted|accept(?:ed|ing)?|reject(?:ed|ing)?|propose|proposal|counter[- ]?(?:proposal|offer)|offer)\b",
    re.I | re.M,
)
_DECISION_CAPS = re.compile(r"\b(?P<kw>ACCEPT|REJECT|PROPOSE|PROPOSAL|COUNTER-?OFFER|COUNTER-?PROPOSAL)\b")
_PROPOSAL_COLON = re.compile(r"\b(?P<kw>propose|proposal|counter[- ]?(?:proposal|offer)|offer|new\s+offer)\s*:", re.I)
_PROSE_ACCEPT = re.compile(
    r"\b(?:I|we)(?:'ll|\s+(?:will|happily|gladly|can|shall|do))?\s+accept\b"
    r"|\bI\s+agree(?:\s+to\s+(?:your|the|this|that)\s+(?:offer|proposal|deal|terms))?\s*[.!]"
    r"|\b(?:it'?s\s+a\s+deal|deal!|agreed[.!]|you\s+have\s+a\s+deal|(?:ok(?:ay)?|sure|yes|fine|alright)[,.!]?\s+deal\b)",
    re.I,
)
_CONDITIONAL = re.compile(r"[^.!?\n]*?\b(?:if|provided|as\s+long\s+as|only\s+when|unless)\b", re.I)
_PROSE_REJECT = re.compile(
    r"\b(?:I|we)(?:'ll|\s+(?:must|have\s+to|will))?\s+(?:reject|decline)\b"
    r"|\b(?:I|we)(?:\s+|'m\s+|\s+am\s+)(?:can't|cannot|can\s+not|won't|will\s+not|don't|do\s+not|couldn't|unable\s+to)"
    r"\s+(?:\w+\s+){0,3}?accept\b"
    r"|\b(?:not\s+acceptable|unacceptable)\b",
    re.I,
)
_OWNED = re.compile(r"\b(?:your|their)[^\S\n]+(?:\w+[^\S\n]+)?\Z", re.I)
"""Before a keyword, marks the other side's proposal being talked about, not the speaker's move."""


def parse_move(text: Any, counts: Counts | None = None) -> Move:
    """Read a reply as a move. With the pool ``counts``, "the rest", "all" and the other side's
    share resolve to the speaker's own share, and over-claims are flagged."""
    try:
        if not isinstance(text, str) or not text.strip():
            return Move(None, problem="empty reply")
        obj = _find_json(text)
        move = _from_json(obj, counts) if obj is not None else None
        if move is None or not move.parsed:
            text_move = _from_text(text, counts)
            move = text_move if move is None or text_move.parsed else move
        return move
    except Exception as e:  # noqa: BLE001 - a parser must never break a negotiation
        return Move(None, problem=f"parser error: {type(e).__name__}: {e}")


def _normalise(text: str) -> str:
    text = text.replace("\r", "")
    text = re.sub(r"```[a-zA-Z]*", "\n", text)
    text = re.sub(r"[*`]+|(?<!\w)_+|_+(?!\w)", "", text)
    text = re.sub(r"^\s*(?:#+|>+|[-•]\s+|\d+[.)]\s+)\s*", "", text, flags=re.M)
    return text.replace("’", "'").replace("–", "-").replace("—", "-")


# ---- JSON form -------------------------------------------------------------------------------

def _find_json(text: str) -> dict[str, Any] | None:
    """The first object in the text with an action: JSON, or failing that a Python dict."""
    decoder = json.JSONDecoder()
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        try:
            obj = decoder.raw_decode(text, start)[0]
        except (ValueError, RecursionError):
            continue
        if _has_action(obj):
            return obj
    return _find_python_dict(text) if "'" in text else None


def _find_python_dict(text: str) -> dict[str, Any] | None:
    """Small models sometimes answer with a Python dict: ``{'action': 'accept'}``."""
    open_at: list[int] = []
    spans: list[tuple[int, int]] = []
    for i, ch in enumerate(text):
        if ch == "{":
            open_at.append(i)
        elif ch == "}" and open_at:
            spans.append((open_at.pop(), i + 1))
    for start, end in sorted(spans):
        if end - start > 5000:
            continue
        try:
            obj = ast.literal_eval(text[start:end])
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        if _has_action(obj):
            return obj
    return None


def _has_action(obj: Any) -> bool:
    return isinstance(obj, dict) and any(isinstance(k, str) and k.lower() in ("action", "decision", "move") for k in obj)


def _json_share(value: Any) -> dict[str, int] | None:
    if isinstance(value, list) and len(value) == len(ITEMS) and all(type(x) is int for x in value):
        return dict(zip(ITEMS, value))
    if isinstance(value, dict):
        out: dict[str, int] = {}
        for key, n in value.items():
            m = re.fullmatch(r"\s*(book|hat|ball)(?:e?s)?\s*", str(key), re.I)
            if not m:
                continue
            if isinstance(n, bool) or not isinstance(n, (int, float)) or n != int(n):
                return None
            out[m.group(1).lower() + "s"] = int(n)
        return out or None
    return None


def _from_json(obj: dict[str, Any], counts: Counts | None) -> Move | None:
    lowered = {str(k).lower(): v for k, v in obj.items()}
    raw = next((lowered[k] for k in ("action", "decision", "move") if k in lowered), None)
    reasoning = str(lowered.get("reasoning", lowered.get("reason", "")) or "")
    kw = str(raw).strip().lower() if raw is not None else ""
    action = {"propose": Action.PROPOSE, "accept": Action.ACCEPT, "reject": Action.REJECT,
              "counter": Action.REJECT}.get(kw)
    if action is None:
        return Move(None, reasoning=reasoning, problem=f"JSON action {raw!r} is not propose, accept or reject")
    if action is Action.ACCEPT:
        return Move(action, reasoning=reasoning)
    mine = next((_json_share(lowered[k]) for k in ("i_get", "my_share", "me", "mine", "self") if k in lowered), None)
    theirs = next((_json_share(lowered[k]) for k in ("you_get", "your_share", "you", "them", "opponent") if k in lowered), None)
    if action is Action.REJECT and mine is None and theirs is None:
        return Move(action, reasoning=reasoning, problem="REJECT needs a counter-proposal")
    return resolve_move(action, mine, theirs, counts, reasoning, whole=None)


# ---- text form -------------------------------------------------------------------------------

def _keyword(text: str) -> tuple[int, int, str] | None:
    """The decision keyword that states the speaker's move, as (start, end, keyword).

    Negated keywords ("I cannot ACCEPT") and the other side's proposal ("your offer:") do not
    count. A keyword that opens a line or a sentence wins over one inside a sentence ("they
    would likely ACCEPT this"); failing that, the first keyword counts.
    """
    found: list[tuple[bool, int, int, str]] = []
    for pattern in (_DECISION_LABELLED, _DECISION_LINE, _DECISION_CAPS, _PROPOSAL_COLON):
        for m in pattern.finditer(text):
            before = text[max(0, m.start() - 40) : m.start()]
            if _NEGATION.search(before) or _OWNED.search(before):
                continue
            opens = text[: m.start()].rstrip(" \t")[-1:] in ("", "\n", ".", "!", "?", ":", ";")
            found.append((not opens, m.start(), m.end(), m.group("kw").lower()))
    if not found:
        return None
    _, start, end, kw = min(found)
    return start, end, kw


def _decision(text: str) -> tuple[str, int] | None:
    """The speaker's decision keyword, as accept/reject/propose, and where it ends."""
    found = _keyword(text)
    if found is None:
        return None
    _, end, kw = found
    kind = "accept" if "accept" in kw else "reject" if kw.startswith("reject") or kw.startswith("counter") else "propose"
    return kind, end


def _split_reasoning(text: str) -> tuple[str, str]:
    """(reasoning, the rest): the reasoning runs from its label to the decision keyword."""
    m = _REASONING_LABEL.search(text)
    if not m:
        return "", text
    after = text[m.end() :]
    found = _keyword(after)
    cut = found[0] if found else len(after)
    reasoning = after[:cut].strip()
    return " ".join(reasoning.split()), text[: m.start()] + "\n" + after[cut:]


def _from_text(raw: str, counts: Counts | None) -> Move:
    text = _normalise(raw)
    reasoning, body = _split_reasoning(text)
    decision = _decision(body)
    if decision is None:
        if _prose_accept(body):
            return Move(Action.ACCEPT, reasoning=reasoning)
        mine, theirs, _ = _parse_split(body)
        refused = _PROSE_REJECT.search(body) is not None
        if mine is None and theirs is None and not refused:
            return Move(None, reasoning=reasoning, problem="no ACCEPT, REJECT or PROPOSE found")
        decision = ("reject" if refused else "propose", 0)
    kind, end = decision
    if kind == "accept":
        return Move(Action.ACCEPT, reasoning=reasoning)
    action = Action.REJECT if kind == "reject" else Action.PROPOSE
    mine, theirs, whole = _parse_split(body[end:])
    if mine is None and theirs is None:
        mine, theirs, whole = _parse_split(body)
    if mine is None and theirs is None:
        if action is Action.REJECT:
            return Move(Action.REJECT, reasoning=reasoning, problem="REJECT needs a counter-proposal")
        unknown = _unknown_items(body)
        problem = f"unknown item(s): {', '.join(unknown)}" if unknown else "PROPOSE without a readable split"
        return Move(None, reasoning=reasoning, problem=problem)
    return resolve_move(action, mine, theirs, counts, reasoning, whole)


def _prose_accept(text: str) -> bool:
    """An acceptance in plain words ("I accept", "Deal!"), neither negated nor conditional."""
    for m in _PROSE_ACCEPT.finditer(text):
        negated = _NEGATION.search(text[max(0, m.start() - 40) : m.start()])
        if not negated and not _CONDITIONAL.match(text[m.end() : m.end() + 200]):
            return True
    return False


def _unknown_items(text: str) -> list[str]:
    return sorted({m.group(2).lower() for m in _UNKNOWN_ITEM.finditer(text)
                   if m.group(2).lower() not in _GENERIC_NOUNS and not re.match(r"(book|hat|ball)", m.group(2), re.I)})


def _segment_counts(seg: str) -> dict[str, int] | str | None:
    """Counts named in one side's segment; "rest" or "all" for those words; None if nothing
    (or if the share is the template's placeholders, or a bracketed share names an item the game
    does not have)."""
    if _PLACEHOLDER.search(seg) or any(_unknown_items(b) for b in re.findall(r"\[[^\]]*\]", seg)):
        return None
    found: dict[str, int] = {}
    for m in _COUNT_THEN_ITEM.finditer(seg):
        item = m.group("item").lower() + "s"
        word = m.group("num").lower().split()[0]
        n = int(word) if word.lstrip("-").isdigit() else _NUMBER_WORDS[word]
        found.setdefault(item, n)
    for m in _ITEM_THEN_COUNT.finditer(seg):
        found.setdefault(m.group("item").lower() + "s", int(m.group("num2")))
    if found:
        return found
    t = _TRIPLE.search(seg)
    if t:
        return dict(zip(ITEMS, (int(x) for x in t.groups())))
    if _THE_REST.search(seg):
        return "rest"
    if _EVERYTHING.search(seg):
        return "all"
    if _NOTHING.search(seg):
        return {}
    return None


def _parse_split(text: str) -> tuple[Any, Any, Any]:
    """(mine, theirs, whole-text counts) as found in ``text``; each may be None."""
    markers = sorted(
        [(m.start(), m.end(), "self", False) for m in _SELF.finditer(text)]
        + [(m.start(), m.end(), "other", False) for m in _OTHER.finditer(text)]
        + [(m.start(), m.end(), "self" if m.group("who").lower() == "me" else "other", True) for m in _FOR.finditer(text)]
    )
    # Each marker's segment, as (side, where its words begin, segment start, segment end or None
    # for "up to the next marker's words"): after the marker ("I get 2 books"), or before it
    # ("2 books for me", back to the previous marker or the start of the clause).
    segments: list[tuple[str, int, int, int | None]] = []
    prev_end, prev_forward = 0, False
    for start, end, side, may_look_back in markers:
        if may_look_back:
            before = text[prev_end:start]
            clause = max(before.rfind(c) for c in ".;:!?\n")
            back = prev_end + clause + 1 if clause >= 0 else start if prev_forward else prev_end
            if _segment_counts(text[back:start]) is not None:
                segments.append((side, back, back, start))
                prev_end, prev_forward = end, False
                continue
        segments.append((side, start, end, None))
        prev_end, prev_forward = end, True
    mine = theirs = None
    for i, (side, _, lo, hi) in enumerate(segments):
        if hi is None:
            hi = segments[i + 1][1] if i + 1 < len(segments) else len(text)
            paragraph = text.find("\n\n", lo, hi)
            hi = hi if paragraph == -1 else paragraph
        counts = _segment_counts(text[lo:hi])
        if counts is None:
            continue
        if side == "self" and mine is None:
            mine = counts
        elif side == "other" and theirs is None:
            theirs = counts
    whole = None
    if mine is None and theirs is None:
        bracket = re.search(r"\[[^\]]*\]", text)
        if bracket and isinstance(c := _segment_counts(bracket.group(0)), dict) and c:
            whole = c
            mine = c
    return mine, theirs, whole
