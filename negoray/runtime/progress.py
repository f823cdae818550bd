"""Live progress of an experiment: runs x generations, calls/s, tokens/s, cost, errors, ETA."""

from __future__ import annotations

import time
from typing import Any

import ray
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from negoray.config import ExperimentConfig


LIVE_KEYS = ("negotiations", "calls", "tokens", "errors")
"""What tasks report as their negotiations end (`negoray.runtime.worker.ProgressTally`)."""


@ray.remote(num_cpus=0)
class LiveCounts:
    """Live counts for work no `Population` owns (the seed baseline), for tasks to report into."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(LIVE_KEYS, 0)

    def add_progress(self, **counts: int) -> None:
        for k, v in counts.items():
            self.counts[k] += v

    def get(self) -> dict[str, int]:
        return dict(self.counts)


class ProgressView:
    """A rich live display fed with the population actors' status dicts."""

    def __init__(self, console: Console, config: ExperimentConfig, started: float, enabled: bool = True) -> None:
        self.console, self.config, self.started, self.enabled = console, config, started, enabled
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

    def update(self, statuses: list[dict[str, Any]], baseline: dict[str, int] | None = None) -> None:
        """``statuses``: the runs'; ``baseline``: live counts of the seed baseline, if it is being played."""
        elapsed = max(1e-9, time.monotonic() - self.started)
        done = sum(min(s["generation"], self.config.generations) for s in statuses)
        counted = statuses + ([baseline] if baseline else [])
        calls = sum(s["calls"] for s in counted)
        tokens = sum(s["tokens"] for s in counted)
        cost = sum(s["cost_usd"] for s in statuses)
        errors = sum(s["errors"] for s in counted)
        self.bar.update(self.task, completed=done)
        table = Table(show_edge=False, box=None)
        for col in ("run", "generation", "status", "negotiations", "errors"):
            table.add_column(col)
        for s in statuses:
            table.add_row(s["run_id"], f"{min(s['generation'], self.config.generations)}/{self.config.generations}",
                          s["status"], str(s["negotiations"]), str(s["errors"]))
        if baseline:
            table.add_row("baseline", "-", baseline.get("status", "seed strategies on the test split"), str(baseline["negotiations"]),
                          str(baseline["errors"]))
        table.caption = (f"{_rate(calls / elapsed)} calls/s, {_rate(tokens / elapsed)} tokens/s, ${cost:.2f} so far, "
                         f"{errors} errors, {elapsed:.0f}s elapsed")
        if self.enabled and self.console.is_terminal:
            self.live.update(Group(self.bar, table))
        elif self.enabled and time.monotonic() - self._last_print > 10:  # a log line every 10 s when not a terminal
            self._last_print = time.monotonic()
            total = len(statuses) * self.config.generations
            self.console.print(f"[{elapsed:.0f}s] {done}/{total} generations; {table.caption}", soft_wrap=True)


def _rate(per_s: float) -> str:
    """A rate readable at both ends: 561, 12.5, 0.18 (a slow local model or a daily quota)."""
    return f"{per_s:.0f}" if per_s >= 100 else f"{per_s:.1f}" if per_s >= 1 else f"{per_s:.2f}"
