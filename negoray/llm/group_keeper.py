"""Run a command whose process tree must die with the keeper's parent: ``python group_keeper.py PARENT_PID -- CMD...``.

`negoray.llm.child_process` makes the kernel kill a server when negoray dies (``PR_SET_PDEATHSIG``),
but only the direct child: vLLM's API server starts an engine process and workers, which were left
running (4 GB) after a ``kill -9`` of negoray. This keeper is that direct child instead. It leads the
process group the server runs in, and:

- when negoray (``PARENT_PID``) dies, however it died, the kernel sends it SIGUSR1 and it SIGKILLs the
  whole group;
- as a child subreaper it adopts the server's orphans, so when the command exits on its own (a crash),
  it SIGKILLs what the command left behind in the group, then exits with the command's status (dying
  by the same signal if the command did);
- SIGTERM (negoray's `stop`, sent to the whole group) reaches the command itself; the keeper waits.

A standalone script (standard library only, Linux), run by path so it starts in milliseconds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _kill_the_rest(pgid: int) -> None:
    for _ in range(3):  # a dying process may still fork; a few passes catch its children
        members = _group_members(pgid)
        if not members:
            return
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: group_keeper.py PARENT_PID -- CMD [ARGS...]", file=sys.stderr)
        return 2
    parent, cmd = int(argv[0]), argv[2:]
    pgid = os.getpgrp()
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    signal.signal(signal.SIGUSR1, lambda *_: os.killpg(pgid, signal.SIGKILL))
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGUSR1, 0, 0, 0)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    if os.getppid() != parent:  # negoray died before the signal was armed
        return 1
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the stop request is for the command; it came to us too
    child = subprocess.Popen(cmd, preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
    while True:
        try:
            code = child.wait()
            break
        except InterruptedError:
            continue
    _kill_the_rest(pgid)
    if code < 0:  # die as the command died, so our parent sees the same status
        if -code != signal.SIGKILL:  # SIGKILL's action cannot be changed (nor caught)
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
