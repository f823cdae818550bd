"""`negoray sim-serve`'s server: the sim behind a real OpenAI-compatible HTTP API, with faults.

A Starlette app served by uvicorn. ``POST /v1/chat/completions`` answers with
`negoray.sim.model.SimModel` (JSON or SSE streaming), after the `FaultModel` has had its say:
429 with OpenAI's rate-limit headers, HTTP 500, a dropped connection, or LM Studio's
"model not loaded" error. ``GET /stats`` reports what happened; tests and benchmarks run it
with `serve_in_thread` (or `serve_in_subprocess`) and talk to it with ``openai.AsyncOpenAI``.
Request bodies are validated in `negoray.sim.requests`.
"""

from __future__ import annotations

import asyncio
import hashlib
import contextlib
import dataclasses
import json
import logging
import math
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from negoray.chat import ChatParams
from negoray.sim.faults import Decision, Fault, FaultConfig, FaultModel
from negoray.sim.requests import BadRequest, parse_chat_request
from negoray.sim.model import SimModel
from negoray.sim.thinking import with_thinking

Clock = Callable[[], float]

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
    return JSONResponse({"error": dict(error)}, status_code=status, headers=dict(headers or {}))


def _invalid(message: str, param: str | None = None, status: int = 400, code: str | None = None) -> JSONResponse:
    return _error(status, {"message": message, "type": "invalid_request_error", "param": param, "code": code})


class SimServer:
    """The app's state: config, fault model, capacity, counters. Lives on one event loop."""

    def __init__(self, config: FaultConfig, clock: Clock = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.faults = FaultModel(config, start=clock())
        self.sim = SimModel(config.model)
        self.stats = Stats()
        self._seen: set[bytes] = set()
        self._answered: set[bytes] = set()
        """`_sample_identity` of every request answered so far (for ``repeated_requests``)."""
        self._slots = asyncio.Semaphore(config.slots) if config.slots else None

    def stats_dict(self) -> dict[str, Any]:
        """``GET /stats``: the counters plus uptime and the current window usage."""
        now = self.clock()
        window_requests, window_tokens = self.faults.window_usage(now)
        return {
            **dataclasses.asdict(self.stats),
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
            try:
                body = json.loads(await request.body())
            except (ValueError, UnicodeDecodeError):
                raise BadRequest("We could not parse the JSON body of your request.") from None
            chat = parse_chat_request(body, request.headers)
        except BadRequest as e:
            self.stats.bad_requests += 1
            return _invalid(str(e), e.param)
        decision = self.faults.decide(self.clock(), chat.tokens)
        self.stats.early += decision.early
        headers = {"x-request-id": f"req_{uuid.uuid4().hex}", **decision.headers()}
        if not decision.admitted:
            self.stats.rate_limited += 1
            return _error(429, _rate_limit_error(self.config, decision, chat.tokens), headers)
        if decision.fault is not Fault.NONE:
            return self._fault(decision.fault, headers)
        identity = _sample_identity(chat.messages, chat.params)
        self.stats.repeated_requests += identity in self._answered
        self._answered.add(identity)
        params = dataclasses.replace(chat.params, replicate=0) if self.config.honour_seed else chat.params
        reply = self.sim.reply(chat.messages, params)
        completion = _Completion(self.config.model, reply.text, reply.prompt_tokens, reply.completion_tokens)
        if self.config.think_tokens:
            thought = with_thinking(reply.text, self.config.think_tokens if chat.thinking else 0, chat.params.max_tokens)
            completion = _Completion(self.config.model, thought.content, reply.prompt_tokens, thought.completion_tokens,
                                     thought.finish_reason, thought.reasoning_tokens)
        service_s = self.faults.service_time_s(completion.completion_tokens)
        if chat.stream:
            return StreamingResponse(self._stream(completion, service_s, chat.include_usage),
                                     media_type="text/event-stream", headers=headers)
        async with self.slot():
            await asyncio.sleep(service_s)
        self._count_completed(completion)
        return JSONResponse(completion.body(), headers=headers)

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

    async def _stream(self, c: _Completion, service_s: float, include_usage: bool) -> AsyncIterator[str]:
        pieces = re.findall(r"\s*\S+", c.text) or [c.text]
        per_token_s = self.config.per_token_ms * c.completion_tokens / 1000
        first_s, per_piece_s = max(0.0, service_s - per_token_s), per_token_s / len(pieces)
        async with self.slot():
            await asyncio.sleep(first_s)
            yield _sse(c.chunk({"role": "assistant", "content": ""}, None, include_usage))
            for piece in pieces:
                if per_piece_s:
                    await asyncio.sleep(per_piece_s)
                yield _sse(c.chunk({"content": piece}, None, include_usage))
            yield _sse(c.chunk({}, c.finish_reason, include_usage))
            if include_usage:
                yield _sse({**c.chunk({}, None, False), "choices": [], "usage": c.usage()})
            self._count_completed(c)
            yield "data: [DONE]\n\n"

    def _count_completed(self, c: _Completion) -> None:
        self.stats.completed += 1
        self.stats.prompt_tokens += c.prompt_tokens
        self.stats.completion_tokens += c.completion_tokens


def _sample_identity(messages: list[dict[str, str]], params: ChatParams) -> bytes:
    """What fixes the reply of a server that honours ``seed``: messages, seed, temperature, max_tokens."""
    key = [messages, params.seed, params.temperature, params.max_tokens]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).digest()


@dataclass(frozen=True)
class _Completion:
    """One sim answer, rendered in OpenAI's ``chat.completion`` and ``chat.completion.chunk`` schemas."""

    model: str
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"
    reasoning_tokens: int | None = None
    """Reported in ``usage.completion_tokens_details`` when set (a ``--think`` server)."""
    id: str = dataclasses.field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex[:24]}")
    created: int = dataclasses.field(default_factory=lambda: int(time.time()))

    def usage(self) -> dict[str, Any]:
        usage: dict[str, Any] = {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                                 "total_tokens": self.prompt_tokens + self.completion_tokens}
        if self.reasoning_tokens is not None:
            usage["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
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


def _sse(data: Mapping[str, Any]) -> str:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n"


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


def create_app(config: FaultConfig, clock: Clock = time.monotonic) -> Starlette:
    """The sim server as an ASGI app; ``app.state.sim`` is its `SimServer`.

    The unload window is timed from lifespan startup (or from this call, without a lifespan).
    """
    server = SimServer(config, clock)
    _install_drop_filter()

    async def models(request: Request) -> Response:
        model = {"id": config.model, "object": "model", "created": 0, "owned_by": "negoray"}
        return JSONResponse({"object": "list", "data": [model]})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "model": config.model})

    async def stats(request: Request) -> Response:
        return JSONResponse(server.stats_dict())

    async def reset_stats(request: Request) -> Response:
        server.stats.reset()
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
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.sim = server
    return app


class ServerHandle(str):
    """A running sim server's base URL (``http://HOST:PORT/v1``), usable wherever a URL string is.

    Also knows its ``host``/``port`` and fetches ``stats()`` / ``reset_stats()`` over HTTP.
    """

    host: str
    port: int

    def __new__(cls, host: str, port: int) -> ServerHandle:
        self = super().__new__(cls, f"http://{host}:{port}/v1")
        self.host, self.port = host, port
        return self

    @property
    def base_url(self) -> str:
        return str(self)

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _call(self, method: str, path: str) -> dict[str, Any]:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(urllib.request.Request(self.root + path, method=method), timeout=10) as r:
            return json.loads(r.read())

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def reset_stats(self) -> dict[str, Any]:
        return self._call("POST", "/stats/reset")


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket (``port=0``: any free port), handed to uvicorn so the port is known up front."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _uvicorn(config: FaultConfig, log_level: str) -> uvicorn.Server:
    app = create_app(config)
    return uvicorn.Server(uvicorn.Config(
        app, log_level=log_level, access_log=False, lifespan="on", timeout_graceful_shutdown=2,
        timeout_keep_alive=30,
    ))


def serve(config: FaultConfig, host: str = "127.0.0.1", port: int = 8089, *,
          on_ready: Callable[[ServerHandle], None] | None = None, log_level: str = "warning") -> None:
    """Serve in the foreground until interrupted (Ctrl-C / SIGTERM shut it down gracefully)."""
    sock = bind_socket(host, port)
    server = _uvicorn(config, log_level)
    if on_ready is not None:
        on_ready(ServerHandle(host, sock.getsockname()[1]))
    server.run(sockets=[sock])


@contextlib.contextmanager
def serve_in_thread(config: FaultConfig, host: str = "127.0.0.1", port: int = 0, *,
                    log_level: str = "warning", startup_timeout_s: float = 10.0) -> Iterator[ServerHandle]:
    """Run the sim server in a daemon thread; yield its base URL (a `ServerHandle`); stop it on exit."""
    sock = bind_socket(host, port)
    server = _uvicorn(config, log_level)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="negoray-sim-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("negoray sim server failed to start")
        time.sleep(0.005)
    try:
        yield ServerHandle(host, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def serve_in_subprocess(config: FaultConfig, host: str = "127.0.0.1", port: int = 0, *,
                        startup_timeout_s: float = 30.0) -> Iterator[ServerHandle]:
    """Run the sim server in a child process (its own GIL, for benchmarks); yield its base URL."""
    cmd = [sys.executable, "-m", "negoray.sim.server", json.dumps(dataclasses.asdict(config)), host, str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = threading.Event()
        line: list[str] = []

        def read_first_line() -> None:
            line.append(proc.stdout.readline())  # type: ignore[union-attr]
            ready.set()

        threading.Thread(target=read_first_line, daemon=True).start()
        if not ready.wait(startup_timeout_s) or not line[0].startswith("http://"):
            raise RuntimeError(f"negoray sim server subprocess failed to start (exit code {proc.poll()})")
        bound_host, _, bound_port = line[0].strip().removeprefix("http://").removesuffix("/v1").rpartition(":")
        yield ServerHandle(bound_host, int(bound_port))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _main(argv: list[str]) -> None:
    """``python -m negoray.sim.server CONFIG_JSON [HOST [PORT]]``: serve, printing the base URL first."""
    config = FaultConfig(**json.loads(argv[0]))
    host = argv[1] if len(argv) > 1 else "127.0.0.1"
    port = int(argv[2]) if len(argv) > 2 else 0
    serve(config, host, port, on_ready=lambda url: print(url, flush=True))


if __name__ == "__main__":
    _main(sys.argv[1:])
