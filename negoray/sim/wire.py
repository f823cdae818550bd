"""OpenAI's chat-completions wire format, written once for the sim's HTTP server and its in-process
transport: request bodies to `ChatRequest` (via `negoray.sim.requests`), ``chat.completion`` bodies,
``chat.completion.chunk`` events, usage (with reasoning tokens) and error bodies.

Defaults for fields a request leaves out are OpenAI's where it has one (``temperature`` 1.0,
https://platform.openai.com/docs/api-reference/chat/create); negoray's client always sends
``temperature`` and ``max_tokens``, so they only matter for other clients.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from negoray.sim.requests import BadRequest, ChatRequest, parse_chat_request

__all__ = [
    "BadRequest", "ChatRequest", "Completion", "SERVER_ERROR", "UNLOADED_ERROR", "UNLOADED_STATUS",
    "error_body", "invalid_request", "models_body", "parse_chat_body", "sse",
]

# LM Studio's answer when no model is loaded (it sends this, with HTTP 400, while a model is
# unloaded or after it was evicted). We mimic it verbatim so the client's retry policy can
# recognise "model not loaded" as a transient infrastructure failure and retry, not score it.
UNLOADED_STATUS = 400
UNLOADED_ERROR = {
    "message": "No models loaded. Please load a model in the developer page or use the `lms load` command.",
    "type": "invalid_request_error",
    "param": None,
    "code": "model_not_found",
}
SERVER_ERROR = {
    "message": "The server had an error while processing your request. Sorry about that!",
    "type": "server_error",
    "param": None,
    "code": None,
}


def parse_chat_body(raw: bytes, headers: Mapping[str, str]) -> ChatRequest:
    """A raw request body (JSON bytes) as a validated `ChatRequest`; raises `BadRequest` (HTTP 400)."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("We could not parse the JSON body of your request.") from None
    return parse_chat_request(body, headers)


def error_body(error: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI's error envelope: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": dict(error)}


def invalid_request(message: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    """An ``invalid_request_error`` envelope (sent with 400, or 404 for an unknown route)."""
    return error_body({"message": message, "type": "invalid_request_error", "param": param, "code": code})


def models_body(model: str) -> dict[str, Any]:
    """``GET /v1/models``: a list with the one model served."""
    return {"object": "list", "data": [{"id": model, "object": "model", "created": 0, "owned_by": "negoray"}]}


@dataclass(frozen=True)
class Completion:
    """One answer, rendered in OpenAI's ``chat.completion`` and ``chat.completion.chunk`` schemas."""

    model: str
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"
    reasoning_tokens: int | None = None
    """Reported in ``usage.completion_tokens_details`` when set (a ``--think`` server)."""
    cached_tokens: int | None = None
    """Reported in ``usage.prompt_tokens_details.cached_tokens`` when set (a ``--prefix-cache`` server)."""
    id: str = dataclasses.field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex[:24]}")
    created: int = dataclasses.field(default_factory=lambda: int(time.time()))

    def usage(self) -> dict[str, Any]:
        usage: dict[str, Any] = {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                                 "total_tokens": self.prompt_tokens + self.completion_tokens}
        if self.reasoning_tokens is not None:
            usage["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        if self.cached_tokens is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        return usage

    def _head(self, obj: str) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model,
                "system_fingerprint": "negoray-sim"}

    def body(self) -> dict[str, Any]:
        message = {"role": "assistant", "content": self.text, "refusal": None}
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish_reason}
        return {**self._head("chat.completion"), "choices": [choice], "usage": self.usage()}

    def chunk(self, delta: dict[str, Any], finish_reason: str | None, usage_field: bool) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        out = {**self._head("chat.completion.chunk"), "choices": [choice]}
        if usage_field:  # OpenAI sends "usage": null on every chunk but the last when usage is asked for
            out["usage"] = None
        return out

    def usage_chunk(self) -> dict[str, Any]:
        """The last chunk of a stream that asked for usage: no choices, the usage."""
        return {**self.chunk({}, None, False), "choices": [], "usage": self.usage()}


def sse(data: Mapping[str, Any]) -> str:
    """One server-sent event carrying ``data`` as compact JSON."""
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n"
