"""Live progress of an experiment: runs x generations, calls/s, tokens/s, cost, errors, ETA, calls
outstanding for long, and limits learned from 429s. On a terminal a live table; in a log (no
terminal: `ray job logs`, a file) one line per status change or pause reason, and a summary line
every 10 s."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import ray
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from negoray.config import ExperimentConfig, RuntimeConfig
from negoray.fmt import rate
from negoray.llm.redact import redact


LIVE_KEYS = ("negotiations", "calls", "tokens", "errors")
"""What tasks report as their calls complete and their negotiations end (`negoray.runtime.worker.ProgressTally`)."""

STALL_WARN_S = RuntimeConfig.stall_warn_s
"""A request outstanding longer than this is reported ("1 request outstanding for 95 s on vllm")."""
_STALE_REPORT_S = 15.0


class OutstandingCalls:
    """The start times (unix seconds) of calls in flight for long, as each task last reported them."""

    def __init__(self, clock=time.time) -> None:
        self.clock = clock
        self.by_task: dict[str, tuple[float, list[tuple[float, str]]]] = {}

    def report(self, task: str, starts: Sequence[tuple[float, str]]) -> None:
        if starts:
            self.by_task[task] = (self.clock(), [tuple(s) for s in starts])
        else:
            self.by_task.pop(task, None)

    def starts(self) -> list[tuple[float, str]]:
        """All reported calls, oldest first; a task that stopped reporting (it died) is forgotten."""
        now = self.clock()
        for task in [t for t, (at, _) in self.by_task.items() if now - at > _STALE_REPORT_S]:
            del self.by_task[task]
        return sorted(s for _, starts in self.by_task.values() for s in starts)


BATCH_LABEL = "batch "
"""Outstanding entries labelled ``"batch ID N"`` are Batch API jobs in flight (N requests), not calls."""


def batches_summary(starts: Sequence[tuple[float, str]], now: float | None = None, age: bool = True) -> str:
    """``"2 batches in flight (960 requests), oldest 95 s"`` for the batch entries (the age left out
    with ``age=False``, for a log line printed when it changes); "" if none."""
    now = time.time() if now is None else now
    batches = [(now - t, int(label.rsplit(" ", 1)[1])) for t, label in starts if label.startswith(BATCH_LABEL)]
    if not batches:
        return ""
    n = len(batches)
    oldest = f", oldest {max(a for a, _ in batches):.0f} s" if age else ""
    return f"{n} batch{'es' if n > 1 else ''} in flight ({sum(r for _, r in batches)} requests){oldest}"


def stalled_summary(starts: Sequence[tuple[float, str]], threshold_s: float, now: float | None = None) -> str:
    """``"2 requests outstanding for 95 s on vllm"`` for calls older than ``threshold_s``; "" if none."""
    now = time.time() if now is None else now
    old = [(now - t, provider) for t, provider in starts if now - t >= threshold_s and not provider.startswith(BATCH_LABEL)]
    if not old:
        return ""
    by_provider: dict[str, list[float]] = {}
    for age, provider in old:
        by_provider.setdefault(provider or "the endpoint", []).append(age)
    return "; ".join(f"{len(ages)} request{'s' if len(ages) > 1 else ''} outstanding for {max(ages):.0f} s on {p}"
                     for p, ages in sorted(by_provider.items()))


@ray.remote(num_cpus=0)
class LiveCounts:
    """Live counts for work no `Population` owns (the seed baseline), for tasks to report into."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(LIVE_KEYS, 0)
        self.calls_out = OutstandingCalls()

    def add_progress(self, **counts: int) -> None:
        for k, v in counts.items():
            self.counts[k] += v

    def outstanding(self, task: str, starts: list[tuple[float, str]]) -> None:
        self.calls_out.report(task, starts)

    def get(self) -> dict[str, Any]:
        return {**self.counts, "outstanding": self.calls_out.starts()}


def concurrency_line(stat: dict[str, Any]) -> str:
    """``"concurrency vllm:m: limit 28 (adaptive), 27 in flight, 3 waiting, latency p50 0.31 s, p95 0.52 s"``."""
    def seconds(v: float) -> str:
        return "-" if v != v else f"{v:.2f} s"

    kind = "adaptive" if stat["adaptive"] else "fixed"
    waiting = f", {stat['waiting']} waiting" if stat["waiting"] else ""
    return (f"concurrency {stat['key']}: limit {stat['limit']} ({kind}), {stat['in_flight']} in flight{waiting}, "
            f"latency p50 {seconds(stat['p50_s'])}, p95 {seconds(stat['p95_s'])}")


class ProgressView:
    """A rich live display fed with the population actors' status dicts."""

    def __init__(self, console: Console, config: ExperimentConfig, started: float, enabled: bool = True,
                 limiter: Any = None, stall_warn_s: float = STALL_WARN_S) -> None:
        """``limiter``: the limiter actor (its `notes`: rates learned from 429s); ``stall_warn_s``: report
        requests outstanding longer than this."""
        self.console, self.config, self.started, self.enabled = console, config, started, enabled
        self.limiter, self.stall_warn_s = limiter, stall_warn_s
        self._said: dict[str, str] = {}
        """What log mode last printed per run (and for the limiter): a line is printed when it changes."""
        self._stalled = False
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} generations"),
                            TimeRemainingColumn(), console=console)
        total = len(config.runs()) * config.generations
        self.task = self.bar.add_task(f"{config.name}", total=total)
        self.table = Table()
        self.live = Live(Group(self.bar, self.table), console=console, refresh_per_second=2, transient=False)
        self._last_print = 0.0

    def __enter__(self) -> ProgressView:
        if self.enabled and self.console.is_terminal:
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.enabled and self.console.is_terminal:
            self.live.__exit__(*exc)

    def update(self, statuses: list[dict[str, Any]], baseline: dict[str, Any] | None = None,
               notes: Sequence[str] | None = None) -> None:
        """``statuses``: the runs'; ``baseline``: live counts of the seed baseline, if it is being played;
        ``notes``: extra lines (default: the limiter's notes, if it has a limiter)."""
        elapsed = max(1e-9, time.monotonic() - self.started)
        done = sum(min(s["generation"], self.config.generations) for s in statuses)
        counted = statuses + ([baseline] if baseline else [])
        calls = sum(s["calls"] for s in counted)
        tokens = sum(s["tokens"] for s in counted)
        cost = sum(s["cost_usd"] for s in statuses)
        errors = sum(s["errors"] for s in counted)
        if notes is None:
            notes = self._limiter_notes()
        concurrency = self._concurrency_lines()
        outstanding = [tuple(o) for s in counted for o in s.get("outstanding", ())]
        stalled = stalled_summary(outstanding, self.stall_warn_s)
        in_batches = batches_summary(outstanding)
        batch_note = [batches_summary(outstanding, age=False)] if in_batches else []
        self.bar.update(self.task, completed=done)
        table = Table(show_edge=False, box=None)
        for col in ("run", "generation", "status", "negotiations", "errors"):
            table.add_column(col)
        for s in statuses:
            table.add_row(s["run_id"], f"{min(s['generation'], self.config.generations)}/{self.config.generations}",
                          Text(redact(s["status"])), str(s["negotiations"]), str(s["errors"]))
        if baseline:
            table.add_row("baseline", "-", baseline.get("status", "seed strategies on the test split"), str(baseline["negotiations"]),
                          str(baseline["errors"]))
        caption = (f"{rate(calls / elapsed)} calls/s, {rate(tokens / elapsed)} tokens/s, ${cost:.2f} so far, "
                   f"{errors} errors, {elapsed:.0f}s elapsed")
        table.caption = Text("\n".join([caption, *([stalled] if stalled else []), *([in_batches] if in_batches else []),
                                        *notes, *concurrency]))  # no markup or emoji
        if self.enabled and self.console.is_terminal:
            self.live.update(Group(self.bar, table))
        elif self.enabled:
            self._log_changes(elapsed, statuses, [*notes, *batch_note], stalled)
            if time.monotonic() - self._last_print > 10:  # a summary line every 10 s when not a terminal
                self._last_print = time.monotonic()
                total = len(statuses) * self.config.generations
                extra = "".join(f"; {x}" for x in [stalled, *concurrency] if x)
                self._print_line(elapsed, f"{done}/{total} generations; {caption}{extra}")

    def _log_changes(self, elapsed: float, statuses: list[dict[str, Any]], notes: Sequence[str], stalled: str) -> None:
        """Log mode: a line for each run whose status changed (a pause and its reason, a new generation),
        for a change in the limiter's notes, and when requests start being outstanding for long."""
        lines = {f"run {s['run_id']}: ": redact(s["status"]) for s in statuses}
        lines["limits"] = "; ".join(notes)
        for key, text in lines.items():
            if self._said.get(key, "") != text:
                self._said[key] = text
                self._print_line(elapsed, text if key == "limits" else key + text)
        if bool(stalled) != self._stalled:
            self._stalled = bool(stalled)
            self._print_line(elapsed, stalled)

    def _print_line(self, elapsed: float, text: str) -> None:
        if text:
            self.console.print(f"[{elapsed:.0f}s] {text}", soft_wrap=True, markup=False, highlight=False, emoji=False)

    def _concurrency_lines(self) -> list[str]:
        """One line per endpoint with a cluster-wide concurrency limit (its limit, in flight, latency)."""
        if self.limiter is None:
            return []
        try:
            return [concurrency_line(s) for s in ray.get(self.limiter.concurrency_stats.remote(), timeout=2)]
        except Exception:  # noqa: BLE001 - progress must never stop a run
            return []

    def _limiter_notes(self) -> list[str]:
        if self.limiter is None:
            return []
        try:
            return list(ray.get(self.limiter.notes.remote(), timeout=2))
        except Exception:  # noqa: BLE001 - progress must never stop a run
            return []
