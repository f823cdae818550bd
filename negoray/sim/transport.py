"""The sim behind the openai SDK, in process: an httpx2 transport that answers chat completions
with `SimModel`, so the sim takes exactly the code path of every real provider, minus sockets.
Requests and answers are OpenAI's wire format from `negoray.sim.wire`, as `negoray sim-serve` speaks it.

Example::

    client = LLMClient(LLMConfig(provider="sim").resolve(), transport=SimTransport())  # what `client_for` does
"""

from __future__ import annotations

import httpx2

from negoray.sim.model import SimModel
from negoray.sim.wire import BadRequest, Completion, invalid_request, models_body, parse_chat_body


class SimTransport(httpx2.AsyncBaseTransport):
    """Answers ``POST .../chat/completions`` and ``GET .../models`` with the sim."""

    def __init__(self, model: SimModel | None = None) -> None:
        self.sim = model or SimModel()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if request.method == "GET" and path.endswith("/models"):
            return httpx2.Response(200, json=models_body(self.sim.model))
        if request.method != "POST" or not path.endswith("/chat/completions"):
            return httpx2.Response(404, json=invalid_request(f"no route {request.method} {path}", code="not_found"))
        try:
            chat = parse_chat_body(await request.aread(), request.headers)
        except BadRequest as e:
            return httpx2.Response(400, json=invalid_request(str(e), e.param))
        reply = self.sim.reply(chat.messages, chat.params)
        return httpx2.Response(200, json=Completion(self.sim.model, reply.text, reply.prompt_tokens,
                                                    reply.completion_tokens).body())
