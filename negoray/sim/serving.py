"""Serving the sim app: in the foreground (`serve`), in a daemon thread (`serve_in_thread`, for
tests) or in a child process (`serve_in_subprocess`, its own GIL, for benchmarks), each yielding a
`ServerHandle` (the base URL, which also fetches ``/stats``). ``python -m negoray.sim.server`` is the
child process's entry point."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from negoray.sim.app import Clock, Sleep, create_app
from negoray.sim.faults import FaultConfig


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


def _uvicorn(config: FaultConfig, log_level: str, clock: Clock = time.monotonic,
             sleep: Sleep = asyncio.sleep) -> uvicorn.Server:
    app = create_app(config, clock, sleep)
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
                    log_level: str = "warning", startup_timeout_s: float = 10.0,
                    clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> Iterator[ServerHandle]:
    """Run the sim server in a daemon thread; yield its base URL (a `ServerHandle`); stop it on exit.

    ``clock`` times its rate windows, unload window and ``/stats`` uptime: tests pass a clock they
    step, so nothing races real sleeps; ``sleep`` is how a request spends its service time (on the
    server's event loop). Example::

        with serve_in_thread(FaultConfig(rpm=60)) as url:
            openai.OpenAI(base_url=url, api_key="sim").chat.completions.create(...)
    """
    sock = bind_socket(host, port)
    server = _uvicorn(config, log_level, clock, sleep)
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
