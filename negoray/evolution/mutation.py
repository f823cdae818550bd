"""Reading a mutation reply, for any task: extract the new prompt, reject unusable ones (a task's
own checks build on `check_prompt_text`)."""

from __future__ import annotations

import re

MIN_LENGTH = 40

_BEGIN = re.compile(r"<<<\s*STRATEGY(?:\s*>>>)?", re.I)
_END = re.compile(r"(?:<<<\s*/?\s*(?:END\s*)?)?STRATEGY\s*>>>|<<<\s*END\s*>>>", re.I)
_FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:\n```|\Z)", re.S)
_PREAMBLE = re.compile(
    r"^\W*(?:(?:sure|certainly|of course|okay|ok|absolutely)\b.*"
    r"|(?:here(?:'s| is| are)|below is|the following is)\b.*"
    r"|(?:the\s+)?(?:new|improved|revised|updated|modified|different|complete|final)?\s*"
    r"(?:strategy|system)?\s*(?:prompt|strategy|variation|version)\s*(?:\(.*\))?\W*)$",
    re.I,
)
_DIAGNOSIS = re.compile(r"^\W*(?:diagnosis|analysis|reasoning|why it loses value)\b", re.I)
_POSTAMBLE = re.compile(r"^\W*(?:let me know|i hope|feel free|this (?:version|variation|revision|new|revised|improved)\b|"
                        r"(?:key )?changes?\b.*:|note:)", re.I)


def _strip_fences(text: str) -> str:
    """The longest fenced block if the text has one, else the text without stray fence lines."""
    blocks = [b for b in _FENCE.findall(text) if b.strip()]
    if blocks:
        return max(blocks, key=len)
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("```"))


def _is_preamble(line: str) -> bool:
    return bool(_PREAMBLE.match(line)) and (line.endswith(":") or len(line) < 100)


def _clean(text: str, commentary: bool) -> str:
    """Strip fences and quotes; with ``commentary`` (no markers) also preambles, a leading
    diagnosis and a trailing remark, which inside markers would be part of the prompt."""
    if not commentary:  # inside markers: unwrap a fence only if it wraps the whole body
        text = text.strip()
        return _unquote(_strip_fences(text).strip() if text.startswith("```") else text)
    text = _strip_fences(text).strip()
    paragraphs = re.split(r"\n\s*\n", text)
    # A leading diagnosis paragraph (reflective replies) is not part of the prompt.
    while len(paragraphs) > 1 and _DIAGNOSIS.match(paragraphs[0]):
        paragraphs.pop(0)
    # A trailing "This version ..." / "Let me know ..." paragraph is commentary.
    while len(paragraphs) > 1 and _POSTAMBLE.match(paragraphs[-1]):
        paragraphs.pop()
    lines = "\n\n".join(paragraphs).strip().splitlines()
    while lines and (not lines[0].strip() or _is_preamble(lines[0].strip())):
        lines.pop(0)
    return _unquote("\n".join(lines).strip())


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" and text.count(text[0]) == 2:
        return text[1:-1].strip()
    return text


def extract_strategy(reply: str) -> str | None:
    """The new strategy in a mutation reply, or None if there is nothing usable.

    Preferred: the text between the ``<<<STRATEGY`` and ``STRATEGY>>>`` lines (the last complete
    block, as a reply may quote the old strategy first). Tolerated: marker variants
    (``<<<STRATEGY>>>``, ``<<</STRATEGY>>>``), a missing END (the rest of the reply) or a missing
    BEGIN (what precedes END), code fences, "Here is the improved prompt:" preambles, a leading
    "Diagnosis:" paragraph and a trailing "This version ..." paragraph.
    """
    if not reply or not reply.strip():
        return None
    begins = list(_BEGIN.finditer(reply))
    for begin in reversed(begins):
        end = _END.search(reply, begin.end())
        if end is not None:
            return _clean(reply[begin.end(): end.start()], commentary=False) or None
    if begins:
        # No END: the rest of the reply, which may end in a remark.
        return _clean(reply[begins[-1].end():], commentary=True) or None
    end = _END.search(reply)
    return _clean(reply[: end.start()] if end else reply, commentary=True) or None


_REFUSAL = re.compile(
    r"^\W*(?:i['’]?m (?:sorry|unable|not able)|sorry\b|as an ai\b|unfortunately,? i\b"
    r"|i (?:am sorry|can(?:no|['’])?t|won['’]t|will not|am unable|am not able))",
    re.I,
)
_TERMINAL = tuple(".!?)]\"'’”%*>")
_DANGLING_CHARS = tuple(",;:-–—(/&+=")
_DANGLING_WORDS = frozenset(
    # Words a sentence cannot end on; particles that can ("give in", "if you have to") are left out.
    "a an the and or but nor than if because whose your my their our of from into onto between per each "
    "every at by with".split()
)


def _normalise(text: str) -> str:
    return " ".join(text.split()).lower()


def looks_truncated(text: str) -> bool:
    """True if the text ends mid-sentence: its last line has no terminal punctuation and ends on a
    dangling character (``,`` ``:`` ``-`` ``(`` ...) or a word that cannot end a sentence (an
    article, conjunction, possessive, some prepositions: "... never accept less than"), or a fence or
    parenthesis is left open. A list item that ends "... 40%" or "Be friendly" is not truncated."""
    stripped = text.rstrip()
    if not stripped:
        return False
    if stripped.count("```") % 2 or stripped.count("(") > stripped.count(")"):
        return True
    if stripped.endswith(_TERMINAL):
        return False
    if stripped.endswith(_DANGLING_CHARS):
        return True
    last = re.findall(r"[A-Za-z']+", stripped.splitlines()[-1])
    return bool(last) and last[-1].lower() in _DANGLING_WORDS


def check_prompt_text(text: str | None, parent: str) -> str | None:
    """Why ``text`` is not a usable child prompt of any task, or None if it is. The reasons, in the
    order checked: empty, a refusal, shorter than :data:`MIN_LENGTH` characters, identical to the
    parent (up to whitespace and case: a mutation must change something), truncated
    (:func:`looks_truncated`)."""
    if text is None or not text.strip():
        return "empty reply"
    if _REFUSAL.match(text):
        return "a refusal"
    if len(text.strip()) < MIN_LENGTH:
        return f"shorter than {MIN_LENGTH} characters"
    if _normalise(text) == _normalise(parent):
        return "identical to the parent"
    if looks_truncated(text):
        return "truncated mid-sentence"
    return None
