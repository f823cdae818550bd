"""`negoray sim-serve`'s app: the sim behind an OpenAI-compatible HTTP API, with faults.

A Starlette app (`create_app`). ``POST /v1/chat/completions`` answers with
`negoray.sim.model.SimModel` (JSON or SSE streaming), after the `FaultModel` has had its say:
429 with OpenAI's rate-limit headers, HTTP 500, a dropped connection, or LM Studio's
"model not loaded" error. ``GET /stats`` reports what happened. The wire format is
`negoray.sim.wire`; serving it (a thread, a subprocess, the foreground) is `negoray.sim.serving`.
Everything time-dependent reads the injected ``clock``, so tests can step it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from negoray.chat import ChatParams
from negoray.sim.batches import SimBatches
from negoray.sim.faults import Decision, Fault, FaultConfig, FaultModel
from negoray.sim.model import SimModel
from negoray.sim.prefix_cache import PrefixCache
from negoray.sim.thinking import with_thinking
from negoray.sim.wire import (
    SERVER_ERROR, UNLOADED_ERROR, UNLOADED_STATUS, BadRequest, Completion, error_body, invalid_request, models_body,
    parse_chat_body, sse,
)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Stats:
    """Counters behind ``GET /stats``. ``errors`` counts injected faults: 500s + drops + unloaded answers."""

    requests: int = 0
    completed: int = 0
    rate_limited: int = 0
    errors: int = 0
    server_errors: int = 0
    dropped: int = 0
    unloaded: int = 0
    bad_requests: int = 0
    unique_requests: int = 0
    """Distinct request bodies seen (a call sent twice counts once here, twice in ``requests``)."""
    repeated_requests: int = 0
    """Requests answered although an earlier answered request had the same (messages, seed,
    temperature, max_tokens): on a server that honours ``seed`` they got the same reply again.
    Retries of a request that failed do not count."""
    unauthorized: int = 0
    early: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    queued: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    """Of ``prompt_tokens``, those reported as cached (``--prefix-cache``)."""

    def reset(self) -> None:
        """Zero the counters; requests now being served stay counted in ``in_flight``/``queued``."""
        keep = {"in_flight": self.in_flight, "queued": self.queued, "max_in_flight": self.in_flight}
        for f in dataclasses.fields(self):
            setattr(self, f.name, keep.get(f.name, 0))


class ConnectionDropped(Exception):
    """Raised after the response has started, so uvicorn closes the connection mid-response."""


class _DropConnection(Response):
    """Starts a 200 response and dies: the client gets no complete response (an APIConnectionError)."""

    def __init__(self) -> None:
        super().__init__(status_code=200)
        # No content-length: the body is chunked, so the early close reads as an incomplete response.
        self.raw_headers = [(b"content-type", b"application/json")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        raise ConnectionDropped("negoray sim: injected connection drop")


class _QuietDrops(logging.Filter):
    """Keeps uvicorn's "Exception in ASGI application" traceback for injected drops out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def _install_drop_filter() -> None:
    log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in log.filters):
        log.addFilter(_QuietDrops())


def _error(status: int, error: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=status, headers=dict(headers or {}))


def _invalid(message: str, param: str | None = None, status: int = 400, code: str | None = None) -> JSONResponse:
    return JSONResponse(invalid_request(message, param, code), status_code=status)


class SimServer:
    """The app's state: config, fault model, capacity, counters. Lives on one event loop."""

    def __init__(self, config: FaultConfig, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self.config = config
        self.clock = clock
        self.sleep = sleep
        """How a request spends its service time (tests pass one that holds requests until they release them)."""
        self.faults = FaultModel(config, start=clock())
        self.sim = SimModel(config.model)
        self.stats = Stats()
        self._seen: set[bytes] = set()
        self._answered: set[bytes] = set()
        """`_sample_identity` of every request answered so far (for ``repeated_requests``)."""
        self._slots = asyncio.Semaphore(config.slots) if config.slots else None
        self.prefix_cache = PrefixCache() if config.prefix_cache else None
        self.batches = SimBatches(config, self._batch_answer, clock)

    def stats_dict(self) -> dict[str, Any]:
        """``GET /stats``: the counters plus uptime and the current window usage."""
        now = self.clock()
        window_requests, window_tokens = self.faults.window_usage(now)
        return {
            **dataclasses.asdict(self.stats),
            "batches": self.batches.stats_dict(),
            "uptime_s": round(now - self.faults.start, 3),
            "window_requests": window_requests,
            "window_tokens": window_tokens,
            "unloaded_now": self.faults.unloaded(now),
            "config": {k: (None if isinstance(v, float) and math.isinf(v) else v)
                       for k, v in dataclasses.asdict(self.config).items() if k != "api_key"},
        }

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the ``slots`` serving places (queueing when all are busy)."""
        s = self.stats
        s.queued += 1
        try:
            if self._slots is not None:
                await self._slots.acquire()
        finally:
            s.queued -= 1
        s.in_flight += 1
        s.max_in_flight = max(s.max_in_flight, s.in_flight)
        try:
            yield
        finally:
            s.in_flight -= 1
            if self._slots is not None:
                self._slots.release()

    async def chat_completions(self, request: Request) -> Response:
        self.stats.requests += 1
        digest = hashlib.sha256(await request.body()).digest()
        if digest not in self._seen:
            self._seen.add(digest)
            self.stats.unique_requests += 1
        if self.config.api_key is not None and request.headers.get("authorization") != f"Bearer {self.config.api_key}":
            self.stats.unauthorized += 1
            return _error(401, {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                "param": None, "code": "invalid_api_key"})
        try:
            chat = parse_chat_body(await request.body(), request.headers)
        except BadRequest as e:
            self.stats.bad_requests += 1
            return _invalid(str(e), e.param)
        load = self.stats.in_flight + self.stats.queued + 1  # requests in the server, this one included
        decision = self.faults.decide(self.clock(), chat.tokens, load)
        self.stats.early += decision.early
        headers = {"x-request-id": f"req_{uuid.uuid4().hex}", **decision.headers()}
        if not decision.admitted:
            self.stats.rate_limited += 1
            return _error(429, _rate_limit_error(self.config, decision, chat.tokens), headers)
        if decision.fault is not Fault.NONE:
            return self._fault(decision.fault, headers)
        completion = self.answer(chat)
        service_s = self.faults.service_time_s(completion.completion_tokens, load)
        if chat.stream:
            return StreamingResponse(self._stream(completion, service_s, chat.include_usage),
                                     media_type="text/event-stream", headers=headers)
        async with self.slot():
            await self.sleep(service_s)
        self._count_completed(completion)
        return JSONResponse(completion.body(), headers=headers)

    def answer(self, chat: Any) -> Completion:
        """The sim's answer to one parsed request (a `ChatRequest`), counted in ``repeated_requests``
        and, with ``--prefix-cache``, with its cached prompt tokens."""
        identity = _sample_identity(chat.messages, chat.params)
        self.stats.repeated_requests += identity in self._answered
        self._answered.add(identity)
        params = dataclasses.replace(chat.params, replicate=0) if self.config.honour_seed else chat.params
        reply = self.sim.reply(chat.messages, params)
        cached = None if self.prefix_cache is None else self.prefix_cache.lookup_and_insert(chat.messages, reply.prompt_tokens)
        completion = Completion(self.config.model, reply.text, reply.prompt_tokens, reply.completion_tokens,
                                cached_tokens=cached)
        if self.config.think_tokens:
            thought = with_thinking(reply.text, self.config.think_tokens if chat.thinking else 0, chat.params.max_tokens)
            completion = Completion(self.config.model, thought.content, reply.prompt_tokens, thought.completion_tokens,
                                    thought.finish_reason, thought.reasoning_tokens, cached)
        return completion

    def _batch_answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A batch line's (status, response body): the same answer as ``POST /v1/chat/completions``."""
        try:
            chat = parse_chat_body(json.dumps(body).encode(), {})
        except BadRequest as e:
            self.stats.bad_requests += 1
            return 400, invalid_request(str(e), e.param)
        completion = self.answer(chat)
        self._count_completed(completion)
        return 200, completion.body()

    def _fault(self, fault: Fault, headers: Mapping[str, str]) -> Response:
        self.stats.errors += 1
        if fault is Fault.UNLOADED:
            self.stats.unloaded += 1
            return _error(UNLOADED_STATUS, UNLOADED_ERROR, headers)
        if fault is Fault.SERVER_ERROR:
            self.stats.server_errors += 1
            return _error(500, SERVER_ERROR, headers)
        self.stats.dropped += 1
        return _DropConnection()

    async def _stream(self, c: Completion, service_s: float, include_usage: bool) -> AsyncIterator[str]:
        pieces = re.findall(r"\s*\S+", c.text) or [c.text]
        per_token_s = self.config.per_token_ms * c.completion_tokens / 1000
        first_s, per_piece_s = max(0.0, service_s - per_token_s), per_token_s / len(pieces)
        async with self.slot():
            await self.sleep(first_s)
            yield sse(c.chunk({"role": "assistant", "content": ""}, None, include_usage))
            for piece in pieces:
                if per_piece_s:
                    await self.sleep(per_piece_s)
                yield sse(c.chunk({"content": piece}, None, include_usage))
            yield sse(c.chunk({}, c.finish_reason, include_usage))
            if include_usage:
                yield sse(c.usage_chunk())
            self._count_completed(c)
            yield "data: [DONE]\n\n"

    def _count_completed(self, c: Completion) -> None:
        self.stats.completed += 1
        self.stats.prompt_tokens += c.prompt_tokens
        self.stats.completion_tokens += c.completion_tokens
        self.stats.cached_prompt_tokens += c.cached_tokens or 0


def _sample_identity(messages: list[dict[str, str]], params: ChatParams) -> bytes:
    """What fixes the reply of a server that honours ``seed``: messages, seed, temperature, max_tokens."""
    key = [messages, params.seed, params.temperature, params.max_tokens]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).digest()


def _rate_limit_error(config: FaultConfig, d: Decision, tokens: int) -> dict[str, Any]:
    """OpenAI's 429 body: ``type`` is the limit that was hit, ``code`` is ``rate_limit_exceeded``."""
    per = "min" if config.window_s == 60 else f"{config.window_s:g}s"
    if d.too_large:
        message = (f"Request too large for {config.model} on tokens per {per} (TPM): "
                   f"Limit {config.tpm}, Requested {tokens}. The input or output tokens must be reduced.")
    elif d.limited_by == "requests":
        message = (f"Rate limit reached for {config.model} on requests per {per} (RPM): Limit {config.rpm}, "
                   f"Used {config.rpm - d.limits.remaining_requests}, Requested 1. "
                   f"Please try again in {d.retry_after_ms}ms.")
    else:
        message = (f"Rate limit reached for {config.model} on tokens per {per} (TPM): Limit {config.tpm}, "
                   f"Used {config.tpm - d.limits.remaining_tokens}, Requested {tokens}. "
                   f"Please try again in {d.retry_after_ms}ms.")
    return {"message": message, "type": d.limited_by, "param": None, "code": "rate_limit_exceeded"}


def create_app(config: FaultConfig, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> Starlette:
    """The sim server as an ASGI app; ``app.state.sim`` is its `SimServer`.

    The unload window is timed from lifespan startup (or from this call, without a lifespan).
    """
    server = SimServer(config, clock, sleep)
    _install_drop_filter()

    async def models(request: Request) -> Response:
        return JSONResponse(models_body(config.model))

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "model": config.model})

    async def stats(request: Request) -> Response:
        return JSONResponse(server.stats_dict())

    async def reset_stats(request: Request) -> Response:
        server.stats.reset()
        server.batches.reset()
        if server.prefix_cache is not None:
            server.prefix_cache = PrefixCache()  # forgotten by the reset, like the repeats
        server._seen.clear()
        server._answered.clear()
        return JSONResponse(server.stats_dict())

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _invalid(f"{request.method} {request.url.path}: {exc.detail}", status=exc.status_code,
                        code="not_found" if exc.status_code == 404 else None)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        server.faults.start = clock()
        yield

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", server.chat_completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/stats", stats, methods=["GET"]),
            Route("/stats/reset", reset_stats, methods=["POST"]),
            *server.batches.routes(),
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.sim = server
    return app
