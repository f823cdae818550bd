"""How `negoray sim-serve --think N` plays a reasoning model such as Qwen3 behind vLLM.

The answer is preceded by a ``<think>`` block of N tokens (4 characters each, the sim's rule) in the
content, as a server without a reasoning parser sends it, unless the request switched thinking off
the vLLM way (``chat_template_kwargs: {"enable_thinking": false}``). A reply that does not fit in
``max_tokens`` is cut there, with ``finish_reason = "length"`` -- inside the block, if it is long.
The block muses about accepting, so a client that parsed the reasoning as the move would be caught.
"""

from __future__ import annotations

from dataclasses import dataclass

from negoray.chat import estimate_tokens

CHARS_PER_TOKEN = 4
_MUSING = (
    "Let me weigh each item against my values. Maybe I should just ACCEPT whatever is on the table? "
    "No: first compare what I would keep with what I give away, then decide on a counter-proposal. "
)


@dataclass(frozen=True)
class Thought:
    """One reply as a reasoning model sends it."""

    content: str
    completion_tokens: int
    reasoning_tokens: int
    finish_reason: str


def think_block(tokens: int) -> str:
    """A ``<think>...</think>`` block of about ``tokens`` tokens, followed by a blank line."""
    head, tail = "<think>\n", "\n</think>\n\n"
    body_chars = max(0, tokens * CHARS_PER_TOKEN - len(head) - len(tail))
    body = (_MUSING * (body_chars // len(_MUSING) + 1))[:body_chars]
    return head + body + tail


def with_thinking(answer: str, think_tokens: int, max_tokens: int) -> Thought:
    """``answer`` after a block of ``think_tokens`` tokens (none when 0), cut at ``max_tokens``."""
    block = think_block(think_tokens) if think_tokens > 0 else ""
    full = block + answer
    limit = max_tokens * CHARS_PER_TOKEN
    if len(full) > limit:
        return Thought(full[:limit], max_tokens, min(estimate_tokens(block), max_tokens), "length")
    return Thought(full, estimate_tokens(full), estimate_tokens(block), "stop")
