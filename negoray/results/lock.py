"""One run at a time per results directory: an OS file lock on ``RESULTS/.lock``.

`fcntl.flock` belongs to the open file, so it is released when the process ends however it ends
(kill -9 included): a lock file left on disk by a dead run holds nothing, and the next run takes
it. The file says who holds it (PID and host), for the message a second run prints.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import IO

LOCK_NAME = ".lock"


class ResultsLocked(RuntimeError):
    """Another process is running an experiment on this results directory."""


class ResultsLock:
    """Held from `acquire` until `release` or the end of the process."""

    def __init__(self, results: Path | str) -> None:
        self.path = Path(results) / LOCK_NAME
        self._file: IO[str] | None = None

    def acquire(self) -> ResultsLock:
        """Take the lock or raise `ResultsLocked` naming the PID and host that hold it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise ResultsLocked(f"{self.path.parent} is in use by a run of negoray ({holder}): wait for it to "
                                "finish or stop it, or choose another --results directory") from None
        f.seek(0)
        f.truncate()
        f.write(f"PID {os.getpid()} on host {socket.gethostname()}\n")
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file releases the lock
            self._file = None

    def __enter__(self) -> ResultsLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
