"""What both drivers (`Experiment` on Ray, `LocalExperiment` in one process) do before and after
the work: check the results directory, resolve the providers, keep ``config.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from negoray.config import ExperimentConfig, ExperimentConfigError, ProviderConfig
from negoray.evolution.checkpoint import CheckpointStore
from negoray.evolution.settings import SOFTMAX_BEFORE_THE_SETTING
from negoray.llm.config import LLMConfig
from negoray.llm.cost import Budget
from negoray.llm.fleet import FleetSpec
from negoray.llm.local_server import with_local_server
from negoray.roles import fleet_spec

RESUMABLE_KEYS = ("results", "runtime", "generations")
"""Keys of config.json that may change between attempts at the same experiment."""


def _as_json(config: ExperimentConfig) -> dict[str, Any]:
    return json.loads(json.dumps(config.to_dict()))


def _with_defaults(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved config.json with the tables' keys added since it was written at their defaults (or, where
    the default changed since, at what the code did then)."""
    defaults = _as_json(ExperimentConfig())
    if isinstance(saved.get("market"), dict) and "softmax" not in saved["market"]:  # the default changed since
        saved = {**saved, "market": {**saved["market"], "softmax": SOFTMAX_BEFORE_THE_SETTING}}
    saved = {"task": "negotiation", **saved}  # written before there were tasks: V7's
    return {k: {**defaults[k], **v} if isinstance(v, dict) and isinstance(defaults.get(k), dict) else v
            for k, v in saved.items()}


def check_results_dir(config: ExperimentConfig) -> None:
    """A results directory holds one experiment: refuse to mix in a different config, or to
    shorten runs that already played more generations (extending them is fine)."""
    results = Path(config.results)
    path = results / "config.json"
    if path.exists():
        saved = _with_defaults(json.loads(path.read_text()))
        current = _as_json(config)
        differs = sorted(k for k in current if k not in RESUMABLE_KEYS and saved.get(k) != current.get(k))
        if differs:
            raise ExperimentConfigError(f"{results} holds results of a different experiment (differs in: "
                                        f"{', '.join(differs)}); choose another --results directory")
    problem = CheckpointStore(results).resume_problem([r for r, _, _ in config.runs()], config.generations)
    if problem:
        raise ExperimentConfigError(f"--generations {config.generations}: {problem}")


def write_config(config: ExperimentConfig, finished: bool) -> None:
    """config.json: the experiment's config. Until the runs are finished, ``generations`` keeps
    the number a previous, finished invocation played, so the file never claims generations
    that were not played (a fresh directory starts with the target)."""
    path = Path(config.results) / "config.json"
    current = _as_json(config)
    if path.exists() and not finished:
        current["generations"] = json.loads(path.read_text()).get("generations", current["generations"])
    path.write_text(json.dumps(current, indent=1))


def _prepared(c: LLMConfig) -> LLMConfig:
    """``c`` with the embedded model started if it is ``local`` (once per process; workers on this
    machine share its URL), checked (keys included) before any work."""
    c = with_local_server(c)
    c.resolve()  # a missing key fails here, naming the variable
    return c


def provider_configs(config: ExperimentConfig) -> list[LLMConfig]:
    """The preferred provider, then the failover chain; checked (keys included) before any work."""
    return [_prepared(c) for c in config.provider.llm_configs()]


def fleet_for(config: ExperimentConfig) -> FleetSpec:
    """Every role's endpoints (`negoray.roles`), each checked like `provider_configs`."""
    return fleet_spec(config, _prepared)


def over_budget(provider: ProviderConfig, cost_usd: float, tokens: int) -> bool:
    """Whether ``[provider] max_usd`` or ``max_tokens`` is reached: new work stops."""
    return Budget(provider.max_usd, provider.max_tokens).reached(cost_usd, tokens) is not None
