"""Experiment configuration: a TOML file (``experiments/configs/NAME.toml``) plus overrides.

Every key is validated; an error names the file, the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from negoray.config_types import is_http_url, is_ip, type_problem, typed_values
from negoray.evolution.market import TemperatureMode
from negoray.evolution.settings import GROUPS, MarketConfig
from negoray.provider_config import ProviderConfig, check_endpoint, check_failover_entry
from negoray.roles import ROLE_SECTIONS, check_role_tables

CONFIG_DIR = Path(__file__).resolve().parent.parent / "experiments" / "configs"

LOOPBACK = ("127.0.0.1", "localhost")
"""`RuntimeConfig.bind` values that keep a local Ray on the loopback interface."""


class ExperimentConfigError(ValueError):
    """A bad config file, key or flag; the message says which and what is allowed."""


@dataclass(frozen=True)
class ScenarioConfig:
    """The scenario pool and its splits (``[scenarios]``)."""

    generator: str = "v7"
    """Scenario generator: "v7" (V7's) or "lewis" (Lewis et al. 2017) (default "v7")."""
    seed: int = 42
    """Seed of the scenario pool, independent of the experiment seed (default 42)."""
    dev: int = 60
    """Scenarios every agent is evaluated on each generation; its fitness (default 60)."""
    val: int = 60
    """Scenarios gating draws its subsets from (default 60)."""
    test: int = 80
    """Scenarios the final best agent and the seed baseline are tested on (default 80)."""


@dataclass(frozen=True)
class RuntimeConfig:
    """How the experiment runs (``[runtime]``); none of it changes the results."""

    address: str | None = None
    """Ray address: None starts a local Ray, "auto" joins the running cluster."""
    in_flight: int = 32
    """Calls out at once per evaluation task (the task asks for this many endpoint slots); the task plays
    its negotiations (`negoray.runtime.sizing.JOBS_PER_SLOT` per slot) all at once on them."""
    endpoint_slots: int | None = None
    """Slots of the endpoint's resource tag advertised on a workstation (calls out at once in all);
    None: twice the provider's ``max_concurrency`` (128 for most cloud providers, 8 for ``local``)."""
    task_cpus: float | None = None
    """CPUs an evaluation task reserves; None: 1 for the in-process sim (CPU-bound), 0.25 for a model
    behind HTTP (the task mostly waits, so several share a core)."""
    cache: str = "rw"
    """The response cache: "rw" (read and write, the default), "ro" (read only) or "off"."""
    progress: bool = True
    """Show live progress (``--no-progress``: off) (default true)."""
    pause_s: float = 30.0
    """Seconds a phase whose negotiations still fail after ``infra_retries`` pauses before trying again;
    each further pause doubles, up to `RetryPolicy.max_pause_s` (default 30)."""
    stall_warn_s: float = 60.0
    """The progress reports a request outstanding longer than this many seconds (a hung server)."""
    bind: str = "127.0.0.1"
    """Address a local Ray (no ``address``) listens on: "127.0.0.1" (loopback, the default: nothing
    outside this machine can reach it), "0.0.0.0" (Ray's own default: every interface), or one of
    this machine's IP addresses."""


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: the V7 design by default (``experiments/configs/NAME.toml``)."""

    name: str = "experiment"
    """The experiment's name (default: the TOML file's stem)."""
    seed: int = 42
    """Experiment seed: every random choice and every call's seed derives from it (default 42)."""
    groups: tuple[str, ...] = ("A", "B", "C", "D")
    """Groups to run, drawn from `GROUPS` (default all four)."""
    runs_per_group: int = 3
    """Independent runs (seeds) per group (default 3)."""
    population: int = 8
    """Agents per generation (default 8)."""
    generations: int = 10
    """Generations per run; the last one is tested instead of evolved (default 10)."""
    elites: int = 2
    """Best agents carried into the next generation unchanged (default 2)."""
    tournament_k: int = 3
    """Tournament size of tournament selection (default 3)."""
    mutation_temperature: float = 0.8
    """Sampling temperature of mutation requests (default 0.8)."""
    negotiation_temperature: float = 0.7
    """Sampling temperature of negotiation turns (default 0.7)."""
    max_rounds: int = 5
    """Rounds a negotiation may last before it times out (default 5)."""
    move_format: str = "text"
    """How moves are written: "text" (V7's) or "json" (default "text")."""
    timeout_policy: str = "no_deal"
    """A negotiation that times out: "no_deal" (V7's) or "last_proposal" (default "no_deal")."""
    max_tokens: int = 200
    """max_tokens of each negotiation turn (default 200, V7's)."""
    gating_scenarios: int = 10
    """Val scenarios a tournament child plays against its parent before entering (default 10)."""
    gating_tolerance: str | float = "se"
    """"se": one standard error of the difference; "strict": child >= parent; a number: that margin."""
    mutation_attempts: int = 3
    """Mutation requests per child before it becomes a clone of its parent (default 3)."""
    infra_retries: int = 2
    """Times a negotiation that ended in an infrastructure error is re-queued before it stays an error."""
    results: str = "results/experiment"
    """Results directory (default "results/experiment")."""
    max_runs: int | None = None
    """Only the first N runs (``--runs N``)."""
    scenarios: ScenarioConfig = field(default_factory=ScenarioConfig)
    """``[scenarios]``: the pool and its splits."""
    market: MarketConfig = field(default_factory=MarketConfig)
    """``[market]``: the market selection of groups B and C."""
    provider: ProviderConfig = field(default_factory=ProviderConfig)
    """``[provider]``: the model, failover and budget; the agent role's endpoint (the agents' turns)."""
    opponent: Mapping[str, Any] | None = None
    """``[opponent]``: the endpoint of the fixed opponent's turns, a table of the endpoint keys plus
    ``pool`` and ``failover`` (`negoray.roles`); None: the agent's (``--opponent-provider`` ...)."""
    mutator: Mapping[str, Any] | None = None
    """``[mutator]``: the endpoint of the mutation calls, keys as ``[opponent]``; None: the agent's."""
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    """``[runtime]``: how it runs."""
    task: str | Mapping[str, Any] = "negotiation"
    """What the agents are evolved for: ``task = "negotiation"`` (V7, the default), ``"classify"``, an
    entry point of group ``negoray.tasks`` or a ``"module:object"`` factory; or a ``[task]`` table,
    its ``name`` (default "negotiation") plus that task's options (`negoray.tasks.registry`)."""

    @property
    def task_name(self) -> str:
        return self.task if isinstance(self.task, str) else self.task.get("name", "negotiation")

    @property
    def task_options(self) -> Mapping[str, Any]:
        return {} if isinstance(self.task, str) else {k: v for k, v in self.task.items() if k != "name"}

    def runs(self) -> list[tuple[str, str, int]]:
        """(run_id, group, index) for every run, in a fixed order: A1, A2, A3, B1, ..."""
        runs = [(f"{g}{i}", g, i) for g in self.groups for i in range(1, self.runs_per_group + 1)]
        return runs[: self.max_runs] if self.max_runs is not None else runs

    def validate(self, source: str = "config") -> ExperimentConfig:
        def bad(key: str, allowed: str, value: Any) -> ExperimentConfigError:
            return ExperimentConfigError(f"{source}: {key} = {value!r} is not allowed; expected {allowed}")

        for key, value, expected in typed_values(self):
            if (allowed := type_problem(value, expected)) is not None:
                raise bad(key, allowed, value)
        for g in self.groups:
            if g not in GROUPS:
                raise bad("groups", f"a list drawn from {', '.join(GROUPS)}", list(self.groups))
        if not self.groups:
            raise bad("groups", f"a non-empty list drawn from {', '.join(GROUPS)}", [])
        positive = {"runs_per_group": self.runs_per_group, "population": self.population,
                    "generations": self.generations, "tournament_k": self.tournament_k, "max_rounds": self.max_rounds,
                    "max_tokens": self.max_tokens, "mutation_attempts": self.mutation_attempts,
                    "runtime.in_flight": self.runtime.in_flight, "scenarios.dev": self.scenarios.dev,
                    "scenarios.test": self.scenarios.test, "market.memory": self.market.memory}
        if self.runtime.endpoint_slots is not None:
            positive["runtime.endpoint_slots"] = self.runtime.endpoint_slots
        for key, value in positive.items():
            if not isinstance(value, int) or value < 1:
                raise bad(key, "an integer >= 1", value)
        if not 0 <= self.elites < self.population:
            raise bad("elites", f"an integer in 0..{self.population - 1} (less than population)", self.elites)
        if not 0 <= self.gating_scenarios <= self.scenarios.val:
            raise bad("gating_scenarios", f"an integer in 0..{self.scenarios.val} (scenarios.val)", self.gating_scenarios)
        if self.move_format not in ("text", "json"):
            raise bad("move_format", '"text" or "json"', self.move_format)
        if self.timeout_policy not in ("no_deal", "last_proposal"):
            raise bad("timeout_policy", '"no_deal" or "last_proposal"', self.timeout_policy)
        if not (self.gating_tolerance in ("se", "strict") or isinstance(self.gating_tolerance, (int, float))):
            raise bad("gating_tolerance", '"se", "strict" or a number', self.gating_tolerance)
        if self.scenarios.generator not in ("v7", "lewis"):
            raise bad("scenarios.generator", '"v7" or "lewis"', self.scenarios.generator)
        if self.provider.thinking not in (None, "off", "on"):
            raise bad("provider.thinking", '"off" or "on"', self.provider.thinking)
        if self.runtime.bind not in LOOPBACK and not is_ip(self.runtime.bind):
            raise bad("runtime.bind", '"127.0.0.1" (loopback), "0.0.0.0" (every interface) or an IP address',
                      self.runtime.bind)
        if self.runtime.cache not in ("rw", "ro", "off"):
            raise bad("runtime.cache", '"rw", "ro" or "off"', self.runtime.cache)
        stall = self.runtime.stall_warn_s
        if isinstance(stall, bool) or not isinstance(stall, (int, float)) or not stall > 0:
            raise bad("runtime.stall_warn_s", "a number of seconds > 0", stall)
        if self.runtime.pause_s < 0:
            raise bad("runtime.pause_s", "a number of seconds >= 0", self.runtime.pause_s)
        cpus = self.runtime.task_cpus
        if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or not 0 < cpus <= 64):
            raise bad("runtime.task_cpus", "a number in (0, 64], e.g. 0.25 or 1", cpus)
        if self.market.softmax not in typing.get_args(TemperatureMode):
            raise bad("market.softmax", " or ".join(f'"{m}"' for m in typing.get_args(TemperatureMode)), self.market.softmax)
        if not 0 < self.market.death_fraction < 1:
            raise bad("market.death_fraction", "a number between 0 and 1", self.market.death_fraction)
        for key in ("mutation_temperature", "negotiation_temperature", "market.temperature"):
            value = self.market.temperature if key == "market.temperature" else getattr(self, key)
            if not isinstance(value, (int, float)) or value < 0:
                raise bad(key, "a number >= 0", value)
        if self.provider.base_url is not None and not is_http_url(self.provider.base_url):
            raise bad("provider.base_url", "an http:// or https:// URL such as http://localhost:8000/v1",
                      self.provider.base_url)
        if self.provider.profiles is not None and not Path(self.provider.profiles).is_file():
            raise bad("provider.profiles", "the path of an existing TOML file of provider profiles",
                      self.provider.profiles)
        check_endpoint(self.provider, "provider", bad)
        for i, entry in enumerate(self.provider.failover):
            check_failover_entry(entry, f"provider.failover[{i}]", bad)
        check_role_tables(self, bad)
        if self.infra_retries < 0:
            raise bad("infra_retries", "an integer >= 0", self.infra_retries)
        if not isinstance(self.task_name, str) or not self.task_name:
            raise bad("task.name", 'a task name such as "negotiation" or "classify"', self.task_name)
        from negoray.tasks.registry import TaskNotFound, resolve  # lazily: the tasks import this module
        try:
            resolve(self.task_name, "task" if isinstance(self.task, str) else "task.name")
        except TaskNotFound as e:
            raise ExperimentConfigError(f"{source}: {e}") from None
        results = Path(self.results)
        if results.exists() and not results.is_dir():
            raise bad("results", "a directory (this path is a file)", self.results)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SECTIONS = {"scenarios": ScenarioConfig, "market": MarketConfig, "provider": ProviderConfig, "runtime": RuntimeConfig}


def _build(cls: type, data: Mapping[str, Any], source: str, prefix: str = "") -> Any:
    names = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            allowed = ", ".join(sorted(names))
            raise ExperimentConfigError(f"{source}: unknown key {prefix + key!r}; allowed: {allowed}")
        if key in _SECTIONS and cls is ExperimentConfig:
            if not isinstance(value, Mapping):
                raise ExperimentConfigError(f"{source}: [{key}] must be a table")
            value = _build(_SECTIONS[key], value, source, f"{key}.")
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def config_from_dict(data: Mapping[str, Any], source: str) -> ExperimentConfig:
    """A config from its `ExperimentConfig.to_dict` form (a results directory's ``config.json``); keys
    it lacks take their defaults."""
    try:
        return _build(ExperimentConfig, data, source).validate(source)
    except TypeError as e:
        raise ExperimentConfigError(f"{source}: {e}") from None


def load_config(name_or_path: str) -> ExperimentConfig:
    """A config by name (``experiments/configs/NAME.toml``) or by path; the task's file options are
    relative to the file's folder (`negoray.tasks.registry.resolve_paths`)."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = CONFIG_DIR / f"{name_or_path}.toml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.toml")))
        raise ExperimentConfigError(f"--config: no config {name_or_path!r}; built in: {known}, or give a path to a .toml file")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ExperimentConfigError(f"{path}: {e}") from None
    data.setdefault("name", path.stem)
    from negoray.tasks.registry import resolve_paths  # lazily: the tasks import this module

    return resolve_paths(config_from_dict(data, str(path)), path.parent)


def with_overrides(config: ExperimentConfig, **overrides: Any) -> ExperimentConfig:
    """Apply non-None overrides; keys may be dotted (``provider.rpm``)."""
    top: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        if "." in key:
            section, sub = key.split(".", 1)
            sections.setdefault(section, {})[sub] = value
        else:
            top[key] = value
    for section, values in sections.items():
        if section in ROLE_SECTIONS:  # a role's table: the flags' keys over the config's (if any)
            top[section] = {**(getattr(config, section) or {}), **values}
            continue
        top[section] = dataclasses.replace(getattr(config, section), **values)
    return dataclasses.replace(config, **top).validate("overrides")
