"""Shared helpers of the benchmark scripts: output folder, percentiles, tables, real request shapes.

Not a benchmark itself. The scripts import it as ``_common`` (they run as ``python benchmarks/X.py``,
so this folder is on ``sys.path``); code that runs inside Ray workers never imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import statistics
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent / "out"


def out_path(name: str) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUT_DIR / name


def machine() -> dict[str, Any]:
    """Where the numbers came from (recorded in every JSON)."""
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "loadavg_at_start": load, "processor": platform.processor() or platform.machine(),
            "time": time.strftime("%Y-%m-%d %H:%M:%S")}


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), NaN for no values."""
    if not values:
        return math.nan
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def latency_summary(latencies_s: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99 and mean in milliseconds."""
    return {
        "mean_ms": statistics.fmean(latencies_s) * 1000 if latencies_s else math.nan,
        "p50_ms": percentile(latencies_s, 50) * 1000,
        "p90_ms": percentile(latencies_s, 90) * 1000,
        "p99_ms": percentile(latencies_s, 99) * 1000,
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
    """A plain fixed-width table (right-aligned numbers)."""
    def cell(v: Any) -> str:
        if isinstance(v, float):
            if math.isnan(v):
                return "-"
            return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}" if abs(v) < 1000 else f"{v:,.0f}"
        return str(v)

    text = [[cell(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) if text else len(h) for i, h in enumerate(headers)]
    lines = []
    if title:
        lines.append(title)
    lines.append("  ".join(h.rjust(w) for h, w in zip(headers, widths)))
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in text]
    return "\n".join(lines)


def _clean(o: Any) -> Any:
    """JSON-ready: NaN/inf -> None, numpy scalars -> Python, tuples -> lists."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if hasattr(o, "item") and not isinstance(o, (str, bytes)):
        return _clean(o.item())
    return o


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(_clean(data), indent=1, default=str))


def verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    if math.isnan(value):
        return "n/a"
    ok = value >= target if higher_is_better else value <= target
    return "MET" if ok else "MISSED"


# -- real request shapes -----------------------------------------------------------------------


def negotiation_requests(n_negotiations: int = 48, max_rounds: int = 5, seed: int = 1):
    """Real negotiation chats: every request that ``n_negotiations`` V7 negotiations (seed strategies
    against the fixed opponent, dev scenarios) send, played in process against the sim model.

    Returns (list of message lists, calls per negotiation, completion tokens per call). The sim
    answers the same messages identically over HTTP, so these are exactly the requests a full
    pipeline run sends.
    """
    from negoray.chat import ChatParams
    from negoray.game.dialogue import NegotiationConfig, run_negotiation
    from negoray.game.generators import v7_splits
    from negoray.sim.model import SimModel
    from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES

    sim = SimModel()
    seen: list[list[dict[str, str]]] = []

    async def chat(messages, params: ChatParams):
        seen.append([dict(m) for m in messages])
        return sim.reply(messages, params)

    scenarios = v7_splits()["dev"]
    prompts = list(SEED_STRATEGIES.values())
    config = NegotiationConfig(max_rounds=max_rounds, seed=seed)

    async def play():
        return [await run_negotiation(prompts[i % len(prompts)], OPPONENT_PROMPT, scenarios[i % len(scenarios)], chat,
                                      config=config) for i in range(n_negotiations)]

    records = asyncio.run(play())
    calls = [len(r.calls) for r in records]
    tokens = [c.completion_tokens for r in records for c in r.calls]
    return seen, calls, tokens


# -- the sim server ---------------------------------------------------------------------------

@contextlib.contextmanager
def serve_sim(config):
    """A sim server in a subprocess (`negoray.sim.server.serve_in_subprocess`), yielding its handle."""
    from negoray.sim.server import serve_in_subprocess

    with serve_in_subprocess(config) as handle:
        yield handle


class StatsPoller:
    """Polls a sim server's ``/stats`` in a daemon thread every ``period_s`` while in its ``with``
    block: ``samples`` holds (``time.perf_counter()``, the ``keys``' values) tuples. A poll the
    server does not answer is skipped; ``final_sample`` adds one more poll as the block ends::

        with StatsPoller(server, 0.2, "completed") as poller:
            ...  # the load
        rates = poller.samples  # [(t, completed), ...]
    """

    def __init__(self, server, period_s: float, *keys: str, final_sample: bool = False) -> None:
        self.server, self.period_s, self.keys, self.final_sample = server, period_s, keys, final_sample
        self.samples: list[tuple[Any, ...]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-stats-poller", daemon=True)

    def _poll(self) -> None:
        try:
            stats = self.server.stats()
        except OSError:
            return
        self.samples.append((time.perf_counter(), *(stats[k] for k in self.keys)))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._poll()
            self._stop.wait(self.period_s)

    def __enter__(self) -> StatsPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.final_sample:
            self._poll()


# -- Ray ------------------------------------------------------------------------------------------


def init_local_ray(namespace: str, num_cpus: int | None, resources: dict[str, float],
                   worker_niceness: int | None = None, task_cpus: float | None = None) -> None:
    """``ray.init`` for a benchmark on this machine: quiet, no dashboard, a 256 MiB object store;
    ``worker_niceness`` sets ``RAY_worker_niceness`` (Ray's default 15 measures the neighbours);
    ``task_cpus``: keep as many workers alive as such tasks fit, as negoray's own local Ray does
    (`negoray.runtime.sizing.ray_system_config`)."""
    import ray

    from negoray.runtime.sizing import ray_system_config

    if worker_niceness is not None:
        os.environ["RAY_worker_niceness"] = str(worker_niceness)
    system = ray_system_config(num_cpus or os.cpu_count() or 1, task_cpus) if task_cpus else None
    ray.init(num_cpus=num_cpus, resources=resources, include_dashboard=False, logging_level="WARNING",
             log_to_driver=False, namespace=namespace, object_store_memory=256 * 1024**2, _system_config=system)


# -- CPU accounting from /proc (Linux) ---------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields after "pid (comm)"


def proc_cpu_s(pids) -> float:
    """User + system CPU seconds of these processes so far (0 for any that is gone)."""
    total = 0
    for pid in pids:
        f = _stat(pid)
        if f is not None:
            total += int(f[11]) + int(f[12])  # utime, stime
    return total / _TICK


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            f = _stat(int(entry))
            if f is not None:
                children.setdefault(int(f[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


SERVER_MARKERS = ("negoray.sim.server", "vllm.entrypoints", "VLLM::")
"""In a server process's command line: a sim server, or a vLLM's API server, engine and workers."""


def sim_server_pids() -> list[int]:
    """The server subprocess(es) this process started (sim servers, or the vLLM of ``--vllm``)."""
    return [p for p in descendants(os.getpid()) if any(m in cmdline(p) for m in SERVER_MARKERS)]
