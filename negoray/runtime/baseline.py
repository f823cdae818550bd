"""The seed baseline (every seed strategy on the test split) as an actor, so it pauses and retries
through an outage exactly like a run's phases; it runs `negoray.driver.play_baseline`, as
`LocalExperiment` does in one process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ray

from negoray.config import ExperimentConfig
from negoray.driver import play_baseline
from negoray.evolution.backend import Job
from negoray.llm.cost import PriceBook

@ray.remote(num_cpus=0)
class Baseline:
    """Plays the baseline jobs through ``backend`` (a `RayBackend`) and writes its two tables."""

    def __init__(self, config: ExperimentConfig, jobs: Sequence[Job], backend: Any, prices: PriceBook | tuple[float | None, ...],
                 pause_s: float = 30.0) -> None:
        self.config, self.jobs, self.backend, self.prices = config, list(jobs), backend, prices
        self.pause_s = pause_s
        self._status = "seed strategies on the test split"

    async def status(self) -> str:
        return self._status

    def _set_status(self, message: str) -> None:
        self._status = message

    async def run(self) -> int:
        """Play and write the baseline; the number of negotiations written."""
        n = await play_baseline(self.backend, self.jobs, self.config, self.prices, pause_s=self.pause_s,
                                on_status=self._set_status, task=self.backend.task)
        self._status = "done"
        return n
