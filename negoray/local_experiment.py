"""`LocalExperiment`: a whole experiment in one process and one event loop, without Ray.

For tests, notebooks and models of the makespan: every run and the seed baseline run concurrently,
through the same loop the Ray driver runs (`negoray.driver.drive`, `play_baseline`), and write the
same tables, checkpoints, config.json and report, so a results directory can be resumed by either::

    from negoray import LocalExperiment, load_config

    results = LocalExperiment(load_config("smoke")).run()   # the results directory

Errors are raised, typed (`ExperimentConfigError`, `ConfigError`, `ResultsLocked`,
`FatalProviderError`); only the CLI turns them into exit statuses.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from negoray.config import ExperimentConfig
from negoray.driver import baseline_done, drive, play_baseline
from negoray.evolution.backend import LocalBackend, baseline_jobs
from negoray.evolution.checkpoint import CheckpointStore
from negoray.evolution.loop import Evolution, GenerationOutput, RunState
from negoray.tasks.registry import make_task
from negoray.experiment_setup import check_results_dir, fleet_for, over_budget, write_config
from negoray.llm.cache import CacheMode, ResponseCache
from negoray.llm.factory import client_for
from negoray.llm.fleet import FleetSpec
from negoray.llm.fleet_chats import RoleChats, role_chats
from negoray.llm.limiter import InProcessLimiter, RateLimiter
from negoray.llm.tiers import Tier
from negoray.results.lock import ResultsLock
from negoray.results.writer import ResultsWriter

log = logging.getLogger(__name__)


class LocalExperiment:
    """Runs ``config`` in this process: ``run()`` plays what is not yet on disk and returns the
    results directory (``config.results``)."""

    def __init__(self, config: ExperimentConfig) -> None:
        self.config = config
        self.results = Path(config.results)
        self._cost_usd = 0.0
        self._tokens = 0

    def run(self) -> Path:
        """Every run and the seed baseline, then the report. Checks everything before any work."""
        fleet = fleet_for(self.config)  # a bad provider or a missing key: before anything is created
        with ResultsLock(self.results):
            check_results_dir(self.config)
            write_config(self.config, finished=False)
            states = asyncio.run(self._run_all(fleet))
            from negoray.results.report import write_report

            write_config(self.config, finished=all(s.done for s in states.values()))
            write_report(self.results)
        return self.results

    def _chats(self, fleet: FleetSpec) -> RoleChats:
        """Each role's chat over one client per endpoint, the results directory's cache (and one
        limiter if any endpoint has limits), as a Ray worker builds them."""
        cache = ResponseCache(self.results / "cache.sqlite", CacheMode(self.config.runtime.cache))
        limiter = None
        if any(s.rpm or s.tpm or s.rpd for s in (e.config.spec() for e in fleet.endpoints())):
            limiter = InProcessLimiter(RateLimiter(state_path=str(self.results / "limiter-daily.json")))
        batch_dir = str(self.results / "batches")
        return role_chats(fleet, lambda c, **options: client_for(c.resolve(), cache=cache, limiter=limiter,
                                                                 batch_dir=batch_dir, **options))

    def _count(self, out: GenerationOutput, tables: dict[str, Any]) -> None:
        s = out.summary
        self._cost_usd += tables["generation_row"].get("cost_usd", 0.0)
        self._tokens += s["prompt_tokens"] + s["completion_tokens"]

    def _over_budget(self) -> bool:
        hit = over_budget(self.config.provider, self._cost_usd, self._tokens)
        if hit:
            log.warning("budget reached ($%.2f, %d tokens): stopping after the generations in progress",
                        self._cost_usd, self._tokens)
        return hit

    async def _run_all(self, fleet: FleetSpec) -> dict[str, RunState]:
        config = self.config
        prices = fleet.prices()
        lockstep = fleet.agent.primary.config.spec().tier is Tier.BATCH  # a stage all in flight: one batch a turn
        task = make_task(config)
        splits = task.splits()
        roles = self._chats(fleet)
        writer, checkpoints = ResultsWriter(self.results), CheckpointStore(self.results)

        def backend() -> LocalBackend:
            return LocalBackend(roles.agent, task, config.seed,
                                10**9 if lockstep else config.runtime.in_flight,
                                opponent_chat=roles.opponent, mutator_chat=roles.mutator)

        try:
            async with asyncio.TaskGroup() as tasks:  # a fatal error in one cancels the rest
                runs = {run_id: tasks.create_task(drive(
                    Evolution(config, run_id, group, index, splits, backend(), task=task), writer, checkpoints, prices=prices,
                    should_stop=self._over_budget, on_generation=self._count))
                    for run_id, group, index in config.runs()}
                if not baseline_done(self.results):
                    tasks.create_task(play_baseline(backend(), baseline_jobs(task.seed_strategies(), splits["test"]), config, prices,
                                                   task=task))
        except BaseExceptionGroup as group:
            raise group.exceptions[0] from None  # the first failure, typed as it was raised
        finally:
            for client in roles.clients:
                await client.aclose()
        return {run_id: task.result() for run_id, task in runs.items()}
