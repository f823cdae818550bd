"""The sim behind the openai SDK, in process: an httpx2 transport that answers chat completions
with `SimModel`, so the sim takes exactly the code path of every real provider, minus sockets."""

from __future__ import annotations

import json
import time

import httpx2

from negoray.chat import ChatParams
from negoray.sim.model import SimModel


def completion_body(model: str, text: str, prompt_tokens: int, completion_tokens: int) -> dict:
    """An OpenAI ``chat.completion`` object."""
    return {
        "id": f"chatcmpl-sim-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def params_from_body(body: dict) -> ChatParams:
    return ChatParams(
        temperature=float(body.get("temperature", 1.0)),
        max_tokens=int(body.get("max_tokens") or body.get("max_completion_tokens") or 256),
        seed=body.get("seed"),
        replicate=int(body.get("replicate", 0)),
        response_format=body.get("response_format"),
    )


class SimTransport(httpx2.AsyncBaseTransport):
    """Answers ``POST .../chat/completions`` and ``GET .../models`` with the sim."""

    def __init__(self, model: SimModel | None = None) -> None:
        self.sim = model or SimModel()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if request.method == "GET" and path.endswith("/models"):
            return httpx2.Response(200, json={"object": "list", "data": [{"id": self.sim.model, "object": "model", "owned_by": "negoray"}]})
        if request.method != "POST" or not path.endswith("/chat/completions"):
            return httpx2.Response(404, json={"error": {"message": f"no route {request.method} {path}", "type": "invalid_request_error"}})
        try:
            body = json.loads(await request.aread())
            messages = body["messages"]
        except (ValueError, KeyError, TypeError) as e:
            return httpx2.Response(400, json={"error": {"message": f"bad request body: {e}", "type": "invalid_request_error"}})
        reply = self.sim.reply(messages, params_from_body(body))
        return httpx2.Response(200, json=completion_body(body.get("model", self.sim.model), reply.text,
                                                         reply.prompt_tokens, reply.completion_tokens))
