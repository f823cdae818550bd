"""The task of a results directory, for the report: built from ``config.json`` through the task
registry (the report imports no task module), for its seed strategies and its own sections."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from negoray.config import config_from_dict
from negoray.results.schema import SCHEMAS, task_table_columns
from negoray.results.writer import read_table
from negoray.tasks.base import ReportingTask, Task
from negoray.tasks.registry import make_task


def results_task(root: Path, saved: Mapping[str, Any]) -> tuple[Task | None, str | None]:
    """The task of the experiment whose ``config.json`` is ``saved`` ({}: none, V7's), or None and why
    it cannot be built (a data file that moved, a task that is no longer installed)."""
    try:
        return make_task(config_from_dict(saved, str(root / "config.json"))), None
    except Exception as e:  # a report must not die on it: it says why and leaves the task's parts out
        return None, f"{type(e).__name__}: {e}"


def task_sections(root: Path, task: Task) -> list[str]:
    """The task's own report sections (`ReportingTask.report_sections`), or none if it has no hook."""
    if not isinstance(task, ReportingTask):
        return []
    columns = task_table_columns(task)
    negotiations = [n for n in SCHEMAS["negotiations"].names if n != "transcript"]
    negotiations += [c.name for c in columns.get("negotiations", ())]
    tables = {"negotiations": read_table(root, "negotiations", negotiations, columns.get("negotiations", ())),
              **{t: read_table(root, t, task_columns=columns.get(t, ())) for t in ("agents", "generations")}}
    return task.report_sections(tables)
