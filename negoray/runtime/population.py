"""The `Population` actor: one per run, pinned to the head node so its files land in one place.

It owns the run's genomes and runs `negoray.driver.drive` (the loop `LocalExperiment` runs too)
over a `RayBackend`, adding live progress for the driver's display. Started again after a
crash, it resumes from its checkpoint; the interrupted generation replays from the cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ray

from negoray.config import ExperimentConfig
from negoray.driver import drive
from negoray.evolution.checkpoint import CheckpointStore
from negoray.evolution.loop import Evolution, GenerationOutput, RunState
from negoray.tasks.base import Task, TaskScenario
from negoray.llm.cost import PriceBook
from negoray.llm.redact import install_log_redaction
from negoray.results.writer import ResultsWriter
from negoray.runtime.ray_backend import RayBackend
from negoray.runtime.progress import LIVE_KEYS, OutstandingCalls
from negoray.runtime.worker import ChatSettings


@ray.remote(num_cpus=0)
class Population:
    def __init__(self, config: ExperimentConfig, run_id: str, group: str, index: int,
                 splits: Mapping[str, Sequence[TaskScenario]], task: Task,
                 settings: ChatSettings, tag: str, prices: PriceBook | tuple[float | None, ...], mutator_tag: str | None = None) -> None:
        install_log_redaction()
        self.config, self.results = config, Path(config.results)
        backend = RayBackend(task, config.seed, settings, tag, config.runtime.in_flight, config.runtime.task_cpus,
                             progress=ray.get_runtime_context().current_actor, mutator_tag=mutator_tag,
                             sharers=len(config.runs()))
        self.evolution = Evolution(config, run_id, group, index, splits, backend, task=task,
                                   on_status=self._set_status)
        self.writer = ResultsWriter(self.results)
        self.checkpoints = CheckpointStore(self.results)
        self.prices = prices
        self.run_id = run_id
        self._status = "starting"
        self._stop = False
        self.progress: dict[str, Any] = {"run_id": run_id, "group": group, "generation": 0, "done": False,
                                         "negotiations": 0, "calls": 0, "tokens": 0, "cost_usd": 0.0, "errors": 0}
        self.live = dict.fromkeys(LIVE_KEYS, 0)
        """Counts from the generation in progress, reported by its tasks as calls and negotiations end."""
        self.calls_out = OutstandingCalls()

    def _set_status(self, message: str) -> None:
        self._status = message

    async def status(self) -> dict[str, Any]:
        return {**self.progress, **{k: self.progress[k] + v for k, v in self.live.items()}, "status": self._status,
                "outstanding": self.calls_out.starts()}

    async def add_progress(self, **counts: int) -> None:
        for k, v in counts.items():
            self.live[k] += v

    async def outstanding(self, task: str, starts: list[tuple[float, str]]) -> None:
        """A task's calls in flight for long (`ProgressTally.heartbeat`)."""
        self.calls_out.report(task, starts)

    async def stop(self) -> None:
        """Finish the generation in progress, then stop (its results and checkpoint are kept)."""
        self._stop = True

    def _on_state(self, state: RunState) -> None:
        self.progress.update(generation=state.generation, done=state.done)
        if not state.done:
            self._status = f"generation {state.generation}"

    def _on_generation(self, out: GenerationOutput, tables: dict[str, Any]) -> None:
        s = out.summary
        self.live = dict.fromkeys(self.live, 0)  # the generation's own totals replace the live counts
        self.progress.update(
            negotiations=self.progress["negotiations"] + s["negotiations"], calls=self.progress["calls"] + s["calls"],
            errors=self.progress["errors"] + s["errors"],
            tokens=self.progress["tokens"] + s["prompt_tokens"] + s["completion_tokens"],
            cost_usd=self.progress["cost_usd"] + tables["generation_row"].get("cost_usd", 0.0),
        )

    async def run(self) -> dict[str, Any]:
        state = await drive(self.evolution, self.writer, self.checkpoints, prices=self.prices,
                            should_stop=lambda: self._stop, on_state=self._on_state, on_generation=self._on_generation)
        self._status = "done" if state.done else "stopped"
        return await self.status()
