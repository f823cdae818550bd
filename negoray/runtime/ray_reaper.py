"""A local Ray that dies with the driver that started it, even when the driver is killed with -9.

Ray's own fate sharing ends the GCS and the raylet with the driver, but the agents the raylet starts
(``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``, ~200 MB, they ignore SIGTERM) survive a kill -9.
`RayReaper` starts a small watchdog process (its own session, so a signal to the driver's process
group spares it) just *before* ``ray.init``. The watchdog remembers the driver's children that
already exist (an embedded model server, a test's servers: not Ray's), then every
``period_s`` records every other descendant of the driver -- the processes ``ray.init`` started and
theirs -- with its start time. When the driver is gone (its end of the watchdog's stdin closes,
however it ended), the watchdog SIGKILLs the recorded processes that are still the same processes,
and their descendants. Nothing else is touched: another Ray cluster on the machine is not a
descendant of this driver. Linux only (it reads ``/proc``); elsewhere it does nothing.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

_PROC = Path("/proc")


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a live process, or None."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces
    if fields[0] == "Z":  # a zombie is already dead
        return None
    return int(fields[1]), int(fields[19])


def process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, start time) of every live process."""
    table = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            table[int(entry.name)] = st
    return table


def descendants(roots: Iterable[int], table: dict[int, tuple[int, int]]) -> set[int]:
    """Every process below ``roots`` in ``table`` (the roots excluded)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def watch(driver: int, period_s: float = 0.5) -> None:
    """The watchdog's loop: runs until the driver is gone, then kills what it recorded."""
    table = process_table()
    spared = {pid: table[pid][1] for pid in descendants([driver], table)}  # before ray.init: not Ray's
    print("ready", flush=True)  # the driver calls ray.init only now
    recorded: dict[int, int] = {}
    while True:
        readable, _, _ = select.select([sys.stdin], [], [], period_s)
        if readable and not os.read(sys.stdin.fileno(), 4096):
            break  # EOF: the driver ended (or let go of Ray)
        table = process_table()
        for pid in descendants([driver], table):
            if spared.get(pid) != table[pid][1] and pid != os.getpid():
                recorded[pid] = table[pid][1]
    for _ in range(3):  # a dying raylet may still start a worker: look again
        table = process_table()
        alive = {pid for pid, start in recorded.items() if pid in table and table[pid][1] == start}
        targets = alive | descendants(alive, table)
        if not targets:
            return
        for pid in targets:
            recorded.setdefault(pid, table[pid][1])
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)


class RayReaper:
    """Start it before ``ray.init(address="local")``; `release` after ``ray.shutdown`` (it also
    cleans up what a normal shutdown left)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def start(self) -> RayReaper:
        if sys.platform.startswith("linux") and self.proc is None:
            self.proc = subprocess.Popen([sys.executable, "-m", "negoray.runtime.ray_reaper", str(os.getpid())],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
            self.proc.stdout.readline()  # its snapshot of what is not Ray's is taken
        return self

    def release(self, timeout_s: float = 10.0) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None


if __name__ == "__main__":
    watch(int(sys.argv[1]))
