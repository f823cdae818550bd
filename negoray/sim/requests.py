"""What the sim server accepts: an OpenAI chat-completions body validated into a `ChatRequest`,
with OpenAI's 400 messages (naming the offending parameter) for anything else."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from negoray.chat import ChatParams, messages_tokens


DEFAULT_TEMPERATURE = 1.0
"""OpenAI's default when a request leaves ``temperature`` out (https://platform.openai.com/docs/api-reference/chat/create)."""
DEFAULT_MAX_TOKENS = ChatParams().max_tokens
"""OpenAI's is the model's limit; the sim caps an answer that asks for no limit at negoray's default."""


class BadRequest(Exception):
    """A request body the API rejects with 400."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class ChatRequest:
    """The parts of a chat-completions request the sim uses."""

    messages: list[dict[str, str]]
    params: ChatParams
    stream: bool = False
    include_usage: bool = False
    thinking: bool = True
    """False when the request switched reasoning off the vLLM way (``chat_template_kwargs.enable_thinking``)."""

    @property
    def tokens(self) -> int:
        """What the TPM limit counts: estimated prompt tokens plus the max_tokens reservation."""
        return messages_tokens(self.messages) + self.params.max_tokens


def _content_text(content: Any, i: int) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    raise BadRequest(f"Invalid type for 'messages[{i}].content': expected a string or an array of parts.", f"messages[{i}].content")


def _number(body: Mapping[str, Any], key: str, kind: type, low: float, high: float = math.inf) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int):
        raise BadRequest(f"Invalid type for '{key}': expected {'a number' if kind is float else 'an integer'}.", key)
    if not low <= value <= high:
        raise BadRequest(f"Invalid value for '{key}': must be in [{low}, {high}], got {value}.", key)
    return value


def parse_chat_request(body: Any, headers: Mapping[str, str]) -> ChatRequest:
    """Validate an OpenAI chat-completions body into a `ChatRequest`; raise `BadRequest`.

    ``replicate`` is negoray's extension: an extra body field (``extra_body={"replicate": r}``)
    or the ``x-negoray-replicate`` header; the body wins when both are given.
    """
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("'messages' must be a non-empty array.", "messages")
    messages = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise BadRequest(f"Invalid 'messages[{i}]': expected an object with a string 'role'.", f"messages[{i}]")
        messages.append({"role": m["role"], "content": _content_text(m.get("content"), i)})
    if body.get("n") not in (None, 1):
        raise BadRequest("The sim supports only n=1.", "n")
    temperature = _number(body, "temperature", float, 0.0, 2.0)
    max_tokens = _number(body, "max_completion_tokens", int, 1)
    if max_tokens is None:
        max_tokens = _number(body, "max_tokens", int, 1)
    seed = _number(body, "seed", int, -math.inf)
    response_format = body.get("response_format")
    if response_format is not None and not isinstance(response_format, dict):
        raise BadRequest("Invalid type for 'response_format': expected an object.", "response_format")
    replicate = _number(body, "replicate", int, 0)
    if replicate is None and "x-negoray-replicate" in headers:
        try:
            replicate = int(headers["x-negoray-replicate"])
        except ValueError:
            raise BadRequest("Invalid 'x-negoray-replicate' header: expected an integer.") from None
        if replicate < 0:
            raise BadRequest("Invalid 'x-negoray-replicate' header: must be >= 0.")
    stream = body.get("stream") or False
    if not isinstance(stream, bool):
        raise BadRequest("Invalid type for 'stream': expected a boolean.", "stream")
    stream_options = body.get("stream_options") or {}
    if not isinstance(stream_options, dict):
        raise BadRequest("Invalid type for 'stream_options': expected an object.", "stream_options")
    template_kwargs = body.get("chat_template_kwargs") or {}
    if not isinstance(template_kwargs, dict):
        raise BadRequest("Invalid type for 'chat_template_kwargs': expected an object.", "chat_template_kwargs")
    params = ChatParams(
        temperature=DEFAULT_TEMPERATURE if temperature is None else float(temperature),
        max_tokens=DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
        seed=seed,
        replicate=replicate or 0,
        response_format=response_format,
    )
    return ChatRequest(messages, params, stream, bool(stream_options.get("include_usage")),
                       template_kwargs.get("enable_thinking", True) is not False)
