"""Atomic per-run checkpoints: one JSON file per run, replaced in one `os.replace`.

`CheckpointStore` is what the driver takes; the functions are the same operations on a results
directory.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from negoray.evolution.loop import RunState


def checkpoint_path(results: str | Path, run_id: str) -> Path:
    return Path(results) / "checkpoints" / f"{run_id}.json"


def save_checkpoint(results: str | Path, state: RunState) -> None:
    """Write the state so that a kill at any moment leaves either the old or the new file."""
    path = checkpoint_path(results, state.run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{state.run_id}-", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(state.to_dict(), f, indent=1, allow_nan=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(results: str | Path, run_id: str) -> RunState | None:
    path = checkpoint_path(results, run_id)
    if not path.exists():
        return None
    return RunState.from_dict(json.loads(path.read_text()))


def resume_problem(results: str | Path, run_ids: Iterable[str], generations: int) -> str | None:
    """Why these runs cannot be resumed with ``generations`` generations (a run can be extended,
    not shortened), or None."""
    for run_id in run_ids:
        state = load_checkpoint(results, run_id)
        if state is None:
            continue
        # done at g: generations 0..g-1 played, the test at g-1; not done at g: 0..g-1 played and evolved
        least = state.generation if state.done else state.generation + 1
        if generations < least:
            return (f"run {run_id} in {results} has already played {state.generation} generation(s); a run can be "
                    f"extended, not shortened: use --generations {least} or more, or another --results directory")
    return None


class CheckpointStore:
    """The checkpoints of one results directory (``RESULTS/checkpoints/RUN.json``)."""

    def __init__(self, results: str | Path) -> None:
        self.results = Path(results)

    def path(self, run_id: str) -> Path:
        return checkpoint_path(self.results, run_id)

    def save(self, state: RunState) -> None:
        save_checkpoint(self.results, state)

    def load(self, run_id: str) -> RunState | None:
        return load_checkpoint(self.results, run_id)

    def resume_problem(self, run_ids: Iterable[str], generations: int) -> str | None:
        return resume_problem(self.results, run_ids, generations)
