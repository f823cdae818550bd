"""The progress line printed when stderr is not a terminal (logs, `ray job submit`)."""

import io
import time

from rich.console import Console

from negoray.config import ExperimentConfig
from negoray.runtime.progress import ProgressView


def status(run_id, generation, calls, tokens):
    return {"run_id": run_id, "generation": generation, "status": f"generation {generation}", "negotiations": 3,
            "calls": calls, "tokens": tokens, "cost_usd": 0.5, "errors": 1}


def test_a_slow_provider_still_shows_its_rate():
    out = io.StringIO()
    config = ExperimentConfig(groups=("A",), runs_per_group=2, generations=3)
    view = ProgressView(Console(file=out, width=200), config, started=time.monotonic() - 100)
    with view:
        view.update([status("A1", 1, 10, 400), status("A2", 0, 8, 300)])
    line = out.getvalue()
    assert "1/6 generations" in line
    assert "0.18 calls/s, 7.0 tokens/s, $1.00 so far, 2 errors" in line


def test_the_seed_baseline_counts_while_it_plays():
    out = io.StringIO()
    config = ExperimentConfig(groups=("A",), runs_per_group=1, generations=2)
    view = ProgressView(Console(file=out, width=200), config, started=time.monotonic() - 10)
    with view:
        view.update([status("A1", 0, 0, 0)], baseline={"negotiations": 4, "calls": 20, "tokens": 3000, "errors": 0})
    assert "0/2 generations; 2.0 calls/s, 300 tokens/s" in out.getvalue()
