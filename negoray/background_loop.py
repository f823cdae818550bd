"""An asyncio event loop running forever in a daemon thread, for synchronous callers of async code
(Ray task functions, the compat shims, plain scripts and notebooks that already run a loop)::

    background = BackgroundLoop("negoray-worker-loop")
    reply = background.run(client.chat(messages, params))  # from any thread, blocks until done
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """One event loop in one daemon thread named ``name``; coroutines submitted with `run` share it
    (and whatever they keep on it: connection pools, caches)."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable[T]) -> T:
        """Run ``coro`` on the loop and wait for its result (its exception is raised here)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()  # type: ignore[arg-type]

    def stop(self) -> None:
        """Stop the loop after what it is running now (idempotent; for ``atexit``)."""
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
