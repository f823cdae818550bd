"""Separating a reasoning model's thinking from its answer.

Servers hand reasoning back in one of three ways: a ``reasoning_content`` field (DeepSeek, vLLM before
0.10, llama.cpp, Groq's ``parsed`` format), a ``reasoning`` field (vLLM now, OpenRouter, Ollama), or
inline, as a ``<think>...</think>`` block leading the content (any server without a reasoning parser).
Newer Qwen templates open the block in the prompt, so the content then starts inside it and only
``</think>`` appears. Only what follows the block is the answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REASONING_FIELDS = ("reasoning_content", "reasoning")
_OPEN, _CLOSE = "<think>", "</think>"
_LEADING_OPEN = re.compile(r"\s*<think>", re.I)


def split_reasoning(message: Mapping[str, Any]) -> tuple[str, str]:
    """``(answer, reasoning)`` of one chat-completion ``message``.

    An unterminated leading ``<think>`` block (the reply was cut inside it) leaves no answer at all.
    """
    content = message.get("content") or ""
    if not isinstance(content, str):
        content = ""
    fields = [v for k in REASONING_FIELDS if isinstance(v := message.get(k), str) and v]
    inline, answer = _split_inline(content)
    parts = [p for p in dict.fromkeys([*fields, inline]) if p]  # the same text in two fields counts once
    return answer, "\n".join(parts)


def _split_inline(content: str) -> tuple[str, str]:
    """(reasoning, answer) of content that may carry its own think block."""
    opened = _LEADING_OPEN.match(content)
    if opened:
        rest = content[opened.end():]
        end = rest.lower().find(_CLOSE)
        if end < 0:
            return rest.strip(), ""
        return rest[:end].strip(), rest[end + len(_CLOSE):].strip()
    end = content.lower().find(_CLOSE)
    if end >= 0 and _OPEN not in content[:end].lower():  # the template opened the block
        return content[:end].strip(), content[end + len(_CLOSE):].strip()
    return "", content


def reasoning_tokens(usage: Mapping[str, Any]) -> int:
    """``usage.completion_tokens_details.reasoning_tokens`` (or a top-level ``reasoning_tokens``), else 0."""
    details = usage.get("completion_tokens_details")
    value = details.get("reasoning_tokens") if isinstance(details, Mapping) else None
    if value is None:
        value = usage.get("reasoning_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
