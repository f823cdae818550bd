"""The seed baseline (every seed strategy on the test split) as an actor, so it pauses and retries
through an outage exactly like a run's phases (`negoray.evolution.retry.play_until_done`).

``negotiations/baseline.parquet`` is written only once the baseline is complete (errors within the
tolerated rate); interrupted or failed, nothing is written and the next run of the same command
plays it again (answered from the cache).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ray

from negoray.config import ExperimentConfig
from negoray.evolution.backend import Job
from negoray.evolution.retry import RetryPolicy, play_until_done
from negoray.results.recorder import baseline_tables
from negoray.results.writer import ResultsWriter

BASELINE_FILE = "baseline.parquet"


def baseline_done(results: Path) -> bool:
    return ResultsWriter(results).path("negotiations", BASELINE_FILE).exists()


@ray.remote(num_cpus=0)
class Baseline:
    """Plays the baseline jobs through ``backend`` (a `RayBackend`) and writes its two tables."""

    def __init__(self, config: ExperimentConfig, jobs: Sequence[Job], backend: Any, prices: tuple[float, float],
                 pause_s: float = 30.0) -> None:
        self.config, self.jobs, self.backend, self.prices = config, list(jobs), backend, prices
        self.retry = RetryPolicy(config.infra_retries, pause_s)
        self._status = "seed strategies on the test split"

    async def status(self) -> str:
        return self._status

    def _set_status(self, message: str) -> None:
        self._status = message

    async def run(self) -> int:
        """Play and write the baseline; the number of negotiations written."""
        records = await play_until_done(self.backend, self.jobs, self.retry, label="the seed baseline",
                                        on_status=self._set_status)
        tables = baseline_tables(records, self.jobs, self.config, self.prices)
        writer = ResultsWriter(self.config.results)
        writer.write_extra("calls", "baseline", tables["calls"])
        writer.write_extra("negotiations", "baseline", tables["negotiations"])  # last: marks it complete
        self._status = "done"
        return len(records)
