"""The driver: `Experiment(config).run()` checks everything, locks the results directory, starts or
joins Ray, creates the limiter, one `Population` actor per run and the `Baseline` actor, shows live
progress, and on Ctrl-C or SIGTERM stops with everything finished so far on disk (exit 130). A fatal
provider error in any phase stops the run with one line (exit 2 for a configuration problem: key,
model, URL; exit 1 otherwise). Running the same command again resumes.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import ray
from rich.console import Console
from rich.markup import escape

from negoray.config import LOOPBACK, ExperimentConfig, ExperimentConfigError
from negoray.driver import baseline_done
from negoray.evolution.backend import baseline_jobs
from negoray.tasks.registry import make_task
from negoray.experiment_setup import check_results_dir, fleet_for, over_budget, write_config
from negoray.llm.config import ConfigError
from negoray.llm.cost import PriceBook
from negoray.llm.errors import FatalProviderError
from negoray.llm.providers import ProviderSpec
from negoray.results.lock import ResultsLock
from negoray.runtime.ray_backend import RayBackend, endpoint_slots_for, endpoint_tag, task_cpus_for
from negoray.runtime.baseline import Baseline
from negoray.runtime.cache_actor import cache_name, get_or_create_cache
from negoray.runtime.failures import fatal_cause
from negoray.runtime.limiter_actor import LIMITER_NAME, get_or_create_limiter
from negoray.results.concurrency import write_concurrency_history
from negoray.runtime.population import Population
from negoray.runtime.progress import LiveCounts, ProgressView
from negoray.runtime.ray_reaper import RayReaper
from negoray.runtime.sizing import ray_system_config
from negoray.runtime.worker import ChatSettings

log = logging.getLogger(__name__)
NAMESPACE = "negoray"


def bind_options(bind: str) -> dict[str, Any]:
    """``ray.init`` arguments for a local Ray listening on ``bind`` (`RuntimeConfig.bind`).

    Ray 2.60 turns a loopback ``_node_ip_address`` into the machine's outward address
    (``services.resolve_ip_for_localhost``), so loopback is asked for the one way Ray honours: with
    clusters "disabled" (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, Ray's default on macOS and Windows)
    ``services.get_node_ip_address`` is 127.0.0.1 and every Ray process binds 127.0.0.1 (checked with
    ``ss -ltnp``). Ray's processes inherit the variable; this process read it when it imported Ray
    (``ray_constants.ENABLE_RAY_CLUSTER``), so the constant is set to match."""
    from ray._private import ray_constants

    loopback = bind in LOOPBACK
    os.environ[ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR] = "0" if loopback else "1"
    ray_constants.ENABLE_RAY_CLUSTER = not loopback
    return {} if loopback or bind == "0.0.0.0" else {"_node_ip_address": bind}


class Experiment:
    def __init__(self, config: ExperimentConfig, console: Console | None = None) -> None:
        self.config = config
        self.results = Path(config.results)
        self.console = console or Console(stderr=True)
        self._terminated = False
        self._deferred = False
        """While waiting for the runs, SIGTERM is only noted; the loop acts on it within 0.5 s."""

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        """SIGTERM (what ``ray job stop`` sends) stops the driver the way Ctrl-C does, as a
        KeyboardInterrupt: Ray's blocking calls pass that one on (any other exception raised by a
        signal handler inside them comes out as a SystemError). A handler's exception raised inside
        a finalizer is swallowed, so in the wait loop, where the driver spends its time, it only
        notes the signal and the loop raises (`_check_terminated`)."""
        self._terminated = True
        if not self._deferred:
            raise KeyboardInterrupt()

    def _check_terminated(self) -> None:
        if self._terminated:
            raise KeyboardInterrupt()

    def _init_ray(self, tag: str, spec: ProviderSpec, others: dict[str, ProviderSpec] | None = None) -> None:
        """``others``: the tags of the other roles' endpoints (the mutator's) and their specs."""
        rt = self.config.runtime
        others = {t: s for t, s in (others or {}).items() if t != tag}
        if rt.address:
            ray.init(address=rt.address, namespace=NAMESPACE, logging_level="WARNING", log_to_driver=False)
            for needed in (tag, *others):
                if not ray.cluster_resources().get(needed):
                    raise ExperimentConfigError(
                        f"no node of the cluster at {rt.address} advertises the resource {needed!r}: "
                        f"start nodes with --resources='{{\"{needed}\": N}}' or use the cluster YAML")
        else:
            slots = rt.endpoint_slots or endpoint_slots_for(spec)
            resources = {tag: slots, **{t: endpoint_slots_for(s) for t, s in others.items()}}
            self._reaper = RayReaper().start()
            ray.init(address="local", namespace=NAMESPACE, resources=resources, include_dashboard=False,
                     logging_level="WARNING", log_to_driver=False, object_store_memory=512 * 1024**2,
                     _system_config=ray_system_config(os.cpu_count() or 1, rt.task_cpus), **bind_options(rt.bind))
        slots = int(max((n["Resources"].get(tag, 0) for n in ray.nodes() if n["Alive"]), default=0))
        if slots < rt.in_flight:  # a task asks for in_flight slots on one node: it must fit somewhere
            if rt.address or rt.endpoint_slots:  # the user chose the slots; by default it is expected
                self.console.print(f"[yellow]note:[/] the largest node offers {slots} {tag} slots; "
                                   f"running {slots} negotiations per task instead of {rt.in_flight}")
            self.config = dataclasses.replace(self.config, runtime=dataclasses.replace(rt, in_flight=slots))

    def run(self) -> int:
        """Exit status: 0 done, 1 a run failed or the provider failed fatally, 2 a configuration
        problem (bad config or key, results directory in use), 130 interrupted."""
        previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        self._reaper: RayReaper | None = None
        lock = ResultsLock(self.results)
        try:
            existed = self.results.exists()
            lock.acquire()  # before any work: a second run of the same command stops here
            check_results_dir(self.config)
            try:
                fleet = fleet_for(self.config)
            except ConfigError:
                if not existed:  # leave no directory behind for a config that never ran
                    lock.release()
                    lock.path.unlink(missing_ok=True)
                    self.results.rmdir()
                raise
            chain = [e.config for e in fleet.agent.members[0]]
            spec = chain[0].spec()
            tag = endpoint_tag(spec.name)
            mutator_spec = fleet.mutator.primary.config.spec()
            mutator_tag = endpoint_tag(mutator_spec.name)
            if self.config.runtime.task_cpus is None:
                self.config = dataclasses.replace(self.config, runtime=dataclasses.replace(
                    self.config.runtime, task_cpus=task_cpus_for(spec.name)))
            write_config(self.config, finished=False)
            started = time.monotonic()
            self._init_ray(tag, spec, {mutator_tag: mutator_spec})
            signal.signal(signal.SIGTERM, self._on_sigterm)  # ray.init installs its own (sys.exit)
            self._check_terminated()
            head = ray.get_runtime_context().get_node_id()
            limiter = None
            if any(s.rpm or s.tpm or s.rpd or s.adaptive for s in (e.config.spec() for e in fleet.endpoints())):
                limiter = get_or_create_limiter(NAMESPACE, str(self.results / "limiter-daily.json"), head)
            cache_path = str((self.results / "cache.sqlite").resolve())
            service, self._cache_actor = None, None
            if len([n for n in ray.nodes() if n["Alive"]]) > 1:  # workers elsewhere reach the file through an actor
                self._cache_actor = get_or_create_cache(NAMESPACE, cache_path, self.config.runtime.cache, head)
                service = cache_name(cache_path)
            settings = ChatSettings(tuple(chain), cache_path, self.config.runtime.cache,
                                    LIMITER_NAME if limiter is not None else None, NAMESPACE, service, fleet,
                                    batch_dir=str((self.results / "batches").resolve()))
            self._mutator_tag = mutator_tag
            return self._run_all(settings, tag, head, fleet.prices(), started)
        except ray.exceptions.RayError:
            # SIGTERM to the whole process group (`ray job stop`) kills the actors too: the driver may
            # see an actor vanish before its own handler has run. Give a pending signal a moment.
            if not self._terminated:
                time.sleep(0.5)
            if not self._terminated:
                raise
            return self._interrupted()
        except KeyboardInterrupt:
            return self._interrupted()
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # no second SIGTERM in the middle of the cleanup
            if ray.is_initialized():
                ray.shutdown()
            if self._reaper is not None:
                self._reaper.release()
            lock.release()
            signal.signal(signal.SIGTERM, previous)

    def _interrupted(self) -> int:
        self.console.print(f"[yellow]Interrupted.[/] Finished generations are saved in {self.results}; "
                           "run the same command again to resume.")
        return 130

    def _run_all(self, settings: ChatSettings, tag: str, head: str, prices: PriceBook, started: float) -> int:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        config = self.config
        task = make_task(config)
        splits = task.splits()
        pin = NodeAffinitySchedulingStrategy(head, soft=False)
        actors = {
            run_id: Population.options(scheduling_strategy=pin, name=f"population-{config.name}-{run_id}").remote(
                config, run_id, group, index, splits, task, settings, tag, prices,
                self._mutator_tag)
            for run_id, group, index in config.runs()
        }
        pending = {actors[r].run.remote(): f"run {r}" for r in actors}
        baseline_counts = baseline = None
        if not baseline_done(self.results):
            baseline_counts = LiveCounts.options(scheduling_strategy=pin).remote()
            backend = RayBackend(task, config.seed, settings, tag, config.runtime.in_flight,
                                 config.runtime.task_cpus, progress=baseline_counts, sharers=len(actors))
            baseline = Baseline.options(scheduling_strategy=pin).remote(
                config, baseline_jobs(task.seed_strategies(), splits["test"]), backend, prices)
            pending[baseline.run.remote()] = "the seed baseline"
        limiter = ray.get_actor(settings.limiter_name, namespace=settings.namespace) if settings.limiter_name else None
        view = ProgressView(self.console, config, started, enabled=config.runtime.progress, limiter=limiter,
                            stall_warn_s=config.runtime.stall_warn_s)
        failures: list[str] = []
        self._deferred = True
        with view:
            while pending:
                self._check_terminated()
                done, _ = ray.wait(list(pending), timeout=0.5, num_returns=len(pending))
                for ref in done:
                    what = pending.pop(ref)
                    try:
                        ray.get(ref)
                    except ray.exceptions.RayError as e:
                        if (fatal := fatal_cause(e)) is not None:
                            return self._fatal(fatal, what)
                        failures.append(f"{what}: {getattr(e, 'cause', None) or e}")
                statuses = ray.get([a.status.remote() for a in actors.values()])
                counts = None
                if baseline_counts is not None:
                    counts = {**ray.get(baseline_counts.get.remote()), "status": ray.get(baseline.status.remote())}
                view.update(statuses, counts)
                if self._over_budget(statuses):
                    for a in actors.values():
                        a.stop.remote()
        self._deferred = False
        if limiter is not None:
            write_concurrency_history(self.results, ray.get(limiter.concurrency_history.remote()))
        self._check_terminated()
        if failures:
            for f in failures:
                self.console.print(f"[red]error[/] {escape(f)}")
            return 1
        from negoray.results.report import write_report

        write_config(self.config, finished=all(s["done"] for s in statuses))
        report = write_report(self.results)
        self.console.print(f"Done in {time.monotonic() - started:.0f}s. Results in {self.results}; report: {report}")
        return 0

    def _fatal(self, error: FatalProviderError, what: str) -> int:
        """One line for a failure retrying cannot fix; everything finished so far stays on disk."""
        self.console.print(f"[red]negoray: error:[/] {escape(str(error))} (while playing {what}; stopped: retrying cannot fix "
                           f"this; finished work is saved in {self.results}, run the same command again once it is "
                           "fixed)", highlight=False, soft_wrap=True)
        return getattr(error, "exit_code", 1)

    def _over_budget(self, statuses: list[dict[str, Any]]) -> bool:
        cost = sum(s["cost_usd"] for s in statuses)
        tokens = sum(s["tokens"] for s in statuses)
        hit = over_budget(self.config.provider, cost, tokens)
        if hit:
            self.console.print(f"[yellow]Budget reached[/] (${cost:.2f}, {tokens} tokens): stopping after the "
                               "generations in progress.")
        return hit
