"""Child server processes that never outlive negoray (the embedded llama.cpp and vLLM servers).

Every child gets its own process group (stopped as a whole by its owner), every running server is
stopped from an ``atexit`` hook and from a SIGTERM/SIGHUP handler, and on Linux the child asks the
kernel (``PR_SET_PDEATHSIG``) to be killed when its parent dies, which covers ``kill -9`` of negoray.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any, Protocol

_PR_SET_PDEATHSIG = 1


class Stoppable(Protocol):
    def stop(self) -> None: ...


_RUNNING: set[Stoppable] = set()
_RUNNING_LOCK = threading.RLock()  # re-entrant: the signal handler may run while the main thread holds it
_hooks_installed = False
_launcher: ThreadPoolExecutor | None = None


def die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the kernel SIGKILL the child when its parent thread dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def spawn(cmd: list[str], **kwargs: Any) -> subprocess.Popen:
    """Popen, from a thread that lives as long as the process.

    ``PR_SET_PDEATHSIG`` fires when the thread that forked the child ends, not the process; a server
    started from a short-lived worker thread would otherwise be killed with that thread.
    """
    global _launcher
    if threading.current_thread() is threading.main_thread():
        return subprocess.Popen(cmd, **kwargs)
    with _RUNNING_LOCK:
        if _launcher is None:
            _launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="negoray-local-launcher")
    return _launcher.submit(subprocess.Popen, cmd, **kwargs).result()


def stop_all() -> None:
    """Stop every server this process started (the atexit and signal hook)."""
    with _RUNNING_LOCK:
        servers = list(_RUNNING)
    for server in servers:
        server.stop()


def _on_signal(previous: Any) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop_all()
        if callable(previous):
            previous(signum, frame)
        else:  # the default action: die by this signal, as if we had never been here
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    handler.negoray_local_cleanup = True  # type: ignore[attr-defined]
    return handler


def install_hooks() -> None:
    """atexit always; SIGTERM/SIGHUP handlers that stop the servers and then do what was there before
    (only from the main thread, where Python allows it; SIGINT raises KeyboardInterrupt, which unwinds
    through the context managers and atexit)."""
    global _hooks_installed
    with _RUNNING_LOCK:
        if not _hooks_installed:
            atexit.register(stop_all)
            _hooks_installed = True
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is None:
            continue
        previous = signal.getsignal(sig)
        if previous is signal.SIG_IGN or previous is None or getattr(previous, "negoray_local_cleanup", False):
            continue
        signal.signal(sig, _on_signal(previous))


def register(server: Stoppable) -> None:
    """Stop ``server`` at exit or on SIGTERM/SIGHUP unless it is `unregister`ed first."""
    with _RUNNING_LOCK:
        _RUNNING.add(server)


def unregister(server: Stoppable) -> None:
    with _RUNNING_LOCK:
        _RUNNING.discard(server)
