"""The driver: `Experiment(config).run()` starts or joins Ray, creates the limiter and one
`Population` actor per run, plays the seed baseline, shows live progress, and on Ctrl-C or SIGTERM
stops with everything finished so far on disk. Running the same command again resumes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import time
from pathlib import Path
from typing import Any

import ray
from rich.console import Console

from negoray.config import ExperimentConfig
from negoray.evolution.backend import Job
from negoray.evolution.seeds import OPPONENT_PROMPT, SEED_STRATEGIES
from negoray.game.dialogue import NegotiationConfig
from negoray.game.generators import generate, split_scenarios
from negoray.game.moves import MoveFormat
from negoray.game.outcome import TimeoutPolicy
from negoray.llm.config import LLMConfig, load_profiles
from negoray.llm.providers import ProviderSpec
from negoray.results.recorder import baseline_tables
from negoray.results.writer import ResultsWriter
from negoray.runtime.backend import RayBackend, endpoint_slots_for, endpoint_tag, task_cpus_for
from negoray.runtime.cache_actor import cache_name, get_or_create_cache
from negoray.runtime.limiter_actor import LIMITER_NAME, get_or_create_limiter
from negoray.runtime.population import Population
from negoray.runtime.progress import LiveCounts, ProgressView
from negoray.runtime.worker import ChatSettings

log = logging.getLogger(__name__)
NAMESPACE = "negoray"


class Interrupted(Exception):
    """SIGTERM, turned into an exception so the driver stops the same way as on Ctrl-C."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Interrupted()


def provider_configs(config: ExperimentConfig) -> list[LLMConfig]:
    """The preferred provider, then the failover chain; checked (keys included) before any work."""
    p = config.provider
    profiles = load_profiles(p.profiles) if p.profiles else {}
    first = LLMConfig(provider=p.name, model=p.model, base_url=p.base_url, api_key_env=p.api_key_env,
                      rpm=p.rpm, tpm=p.tpm, rpd=p.rpd, thinking=p.thinking, profiles=profiles)
    chain = [first] + [LLMConfig(provider=name, thinking=p.thinking, profiles=profiles) for name in p.failover]
    resolved = []
    for c in chain:
        endpoint = c.resolve()  # a missing key fails here, naming the variable
        # the embedded model is started once, here; workers on this machine share its URL
        resolved.append(dataclasses.replace(c, base_url=endpoint.url) if endpoint.name == "local" else c)
    return resolved


def make_splits(config: ExperimentConfig) -> dict[str, list]:
    s = config.scenarios
    pool = generate(s.generator, s.dev + s.val + s.test, s.seed)
    return split_scenarios(pool, {"dev": s.dev, "val": s.val, "test": s.test})


def negotiation_config(config: ExperimentConfig) -> NegotiationConfig:
    return NegotiationConfig(max_rounds=config.max_rounds, move_format=MoveFormat(config.move_format),
                             timeout_policy=TimeoutPolicy(config.timeout_policy),
                             temperature=config.negotiation_temperature, max_tokens=config.max_tokens, seed=config.seed)


class Experiment:
    def __init__(self, config: ExperimentConfig, console: Console | None = None) -> None:
        self.config = config
        self.results = Path(config.results)
        self.console = console or Console(stderr=True)

    def _check_results_dir(self) -> None:
        """A results directory holds one experiment: refuse to mix in a different config."""
        self.results.mkdir(parents=True, exist_ok=True)
        path = self.results / "config.json"
        current = json.loads(json.dumps(self.config.to_dict()))
        if path.exists():
            saved = json.loads(path.read_text())
            keep = ("results", "runtime", "generations")  # may change between resume attempts
            differs = sorted(k for k in current if k not in keep and saved.get(k) != current.get(k))
            if differs:
                raise SystemExit(f"{self.results} holds results of a different experiment (differs in: "
                                 f"{', '.join(differs)}); choose another --results directory")
        path.write_text(json.dumps(current, indent=1))

    def _init_ray(self, tag: str, spec: ProviderSpec) -> None:
        rt = self.config.runtime
        if rt.address:
            ray.init(address=rt.address, namespace=NAMESPACE, logging_level="WARNING", log_to_driver=False)
            if not ray.cluster_resources().get(tag):
                raise SystemExit(f"no node of the cluster at {rt.address} advertises the resource {tag!r}: "
                                 f"start nodes with --resources='{{\"{tag}\": N}}' or use the cluster YAML")
        else:
            slots = rt.endpoint_slots or endpoint_slots_for(spec)
            ray.init(address="local", namespace=NAMESPACE, resources={tag: slots}, include_dashboard=False,
                     logging_level="WARNING", log_to_driver=False, object_store_memory=512 * 1024**2)
        slots = int(max((n["Resources"].get(tag, 0) for n in ray.nodes() if n["Alive"]), default=0))
        if slots < rt.in_flight:  # a task asks for in_flight slots on one node: it must fit somewhere
            if rt.address or rt.endpoint_slots:  # the user chose the slots; by default it is expected
                self.console.print(f"[yellow]note:[/] the largest node offers {slots} {tag} slots; "
                                   f"running {slots} negotiations per task instead of {rt.in_flight}")
            self.config = dataclasses.replace(self.config, runtime=dataclasses.replace(rt, in_flight=slots))

    def run(self) -> int:
        chain = provider_configs(self.config)
        spec = chain[0].spec()
        tag = endpoint_tag(spec.name)
        if self.config.runtime.task_cpus is None:
            self.config = dataclasses.replace(self.config, runtime=dataclasses.replace(
                self.config.runtime, task_cpus=task_cpus_for(spec.name)))
        self._check_results_dir()
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        started = time.monotonic()
        try:
            self._init_ray(tag, spec)
            head = ray.get_runtime_context().get_node_id()
            limiter = None
            if any(c.spec().rpm or c.spec().tpm or c.spec().rpd for c in chain):
                limiter = get_or_create_limiter(NAMESPACE, str(self.results / "limiter-daily.json"), head)
            cache_path = str((self.results / "cache.sqlite").resolve())
            service, self._cache_actor = None, None
            if len([n for n in ray.nodes() if n["Alive"]]) > 1:  # workers elsewhere reach the file through an actor
                self._cache_actor = get_or_create_cache(NAMESPACE, cache_path, self.config.runtime.cache, head)
                service = cache_name(cache_path)
            settings = ChatSettings(tuple(chain), cache_path, self.config.runtime.cache,
                                    LIMITER_NAME if limiter is not None else None, NAMESPACE, service)
            return self._run_all(settings, tag, head, (spec.price_in, spec.price_out), started)
        except (KeyboardInterrupt, Interrupted):
            self.console.print(f"[yellow]Interrupted.[/] Finished generations are saved in {self.results}; "
                               "run the same command again to resume.")
            return 130
        finally:
            signal.signal(signal.SIGTERM, previous)
            if ray.is_initialized():
                ray.shutdown()

    def _run_all(self, settings: ChatSettings, tag: str, head: str, prices: tuple[float, float], started: float) -> int:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        config = self.config
        splits = make_splits(config)
        negotiation = negotiation_config(config)
        writer = ResultsWriter(self.results)
        pin = NodeAffinitySchedulingStrategy(head, soft=False)
        baseline_jobs = [] if writer.path("negotiations", "baseline.parquet").exists() else self._baseline_jobs(splits)
        baseline_counts = LiveCounts.options(scheduling_strategy=pin).remote() if baseline_jobs else None
        baseline = RayBackend(OPPONENT_PROMPT, negotiation, settings, tag, config.runtime.in_flight,
                              config.runtime.task_cpus, progress=baseline_counts)
        baseline_refs = baseline.submit(baseline_jobs)
        actors = {
            run_id: Population.options(scheduling_strategy=pin, name=f"population-{config.name}-{run_id}").remote(
                config, run_id, group, index, splits, OPPONENT_PROMPT, negotiation, settings, tag, prices)
            for run_id, group, index in config.runs()
        }
        pending = {actors[r].run.remote(): r for r in actors}
        limiter = ray.get_actor(settings.limiter_name, namespace=settings.namespace) if settings.limiter_name else None
        view = ProgressView(self.console, config, started, enabled=config.runtime.progress, limiter=limiter,
                            stall_warn_s=config.runtime.stall_warn_s)
        failures: list[str] = []
        with view:
            # the view keeps updating while the seed baseline is still playing after the runs are done
            while pending or (baseline_refs and ray.wait(baseline_refs, num_returns=len(baseline_refs), timeout=0)[1]):
                done = ray.wait(list(pending), timeout=0.5, num_returns=len(pending))[0] if pending else []
                if not pending:
                    time.sleep(0.5)
                for ref in done:
                    run_id = pending.pop(ref)
                    try:
                        ray.get(ref)
                    except ray.exceptions.RayTaskError as e:
                        failures.append(f"run {run_id}: {e.cause if hasattr(e, 'cause') else e}")
                statuses = ray.get([a.status.remote() for a in actors.values()])
                view.update(statuses, ray.get(baseline_counts.get.remote()) if baseline_counts else None)
                if self._over_budget(statuses):
                    for a in actors.values():
                        a.stop.remote()
            if baseline_refs:
                records = baseline.collect(ray.get(baseline_refs))
                tables = baseline_tables(records, baseline_jobs, config, prices)
                writer.write_extra("negotiations", "baseline", tables["negotiations"])
                writer.write_extra("calls", "baseline", tables["calls"])
        if failures:
            for f in failures:
                self.console.print(f"[red]error[/] {f}")
            return 1
        from negoray.results.report import write_report

        report = write_report(self.results)
        self.console.print(f"Done in {time.monotonic() - started:.0f}s. Results in {self.results}; report: {report}")
        return 0

    def _over_budget(self, statuses: list[dict[str, Any]]) -> bool:
        p = self.config.provider
        cost = sum(s["cost_usd"] for s in statuses)
        tokens = sum(s["tokens"] for s in statuses)
        hit = (p.max_usd is not None and cost >= p.max_usd) or (p.max_tokens is not None and tokens >= p.max_tokens)
        if hit:
            self.console.print(f"[yellow]Budget reached[/] (${cost:.2f}, {tokens} tokens): stopping after the "
                               "generations in progress.")
        return hit

    def _baseline_jobs(self, splits: dict[str, list]) -> list[Job]:
        return [Job("baseline", 0, "baseline", name, prompt, s) for name, prompt in SEED_STRATEGIES.items()
                for s in splits["test"]]
