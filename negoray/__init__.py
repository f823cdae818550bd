"""negoray: evolve LLM negotiation agents (Deal-or-No-Deal) at scale.

The public API: what a researcher imports, re-exported here and imported lazily (on first use),
so ``import negoray`` stays cheap and never imports Ray (only `Experiment` does, when it is used).
The original code's shims (``create_llm_fn`` ...) live in `negoray.compat` and are re-exported too.

Example::

    from negoray import Experiment, load_config, write_report
    config = load_config("poc")
    Experiment(config).run()  # Ray, the sim: 0 when every run finished
    write_report(config.results)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    # experiments: configure, run, report
    "Experiment",
    "LocalExperiment",
    "ExperimentConfig",
    "load_config",
    "make_plan",
    "write_report",
    "load_results",
    "Results",
    # the game
    "Action",
    "ITEMS",
    "Move",
    "MoveFormat",
    "NegotiationConfig",
    "NegotiationRecord",
    "OutcomeKind",
    "Scenario",
    "TimeoutPolicy",
    "generate_lewis",
    "generate_v7",
    "parse_move",
    "run_negotiation",
    "v7_splits",
    # the strategies
    "OPPONENT_PROMPT",
    "SEED_STRATEGIES",
    # calling models
    "Budget",
    "BudgetExceeded",
    "CacheMode",
    "ChatFailure",
    "ChatFn",
    "ChatParams",
    "ChatReply",
    "FailoverChat",
    "FatalProviderError",
    "LLMClient",
    "LLMConfig",
    "PROVIDERS",
    "ResponseCache",
    "UsageLedger",
    "client_for",
    # the sim
    "SimModel",
    # the original code's shims (negoray.compat)
    "async_evaluate_batch",
    "check_provider",
    "create_async_llm_fn",
    "create_llm_fn",
]

_EXPORTS = {
    "negoray.chat": ["ChatFailure", "ChatFn", "ChatParams", "ChatReply"],
    "negoray.compat": ["async_evaluate_batch", "check_provider", "create_async_llm_fn", "create_llm_fn"],
    "negoray.config": ["ExperimentConfig", "load_config"],
    "negoray.tasks.negotiation.seeds": ["OPPONENT_PROMPT", "SEED_STRATEGIES"],
    "negoray.game.dialogue": ["NegotiationConfig", "NegotiationRecord", "run_negotiation"],
    "negoray.game.generators": ["generate_lewis", "generate_v7", "v7_splits"],
    "negoray.game.moves": ["Action", "Move", "MoveFormat"],
    "negoray.game.outcome": ["OutcomeKind", "TimeoutPolicy"],
    "negoray.game.parsing": ["parse_move"],
    "negoray.game.scenario": ["ITEMS", "Scenario"],
    "negoray.llm.cache": ["CacheMode", "ResponseCache"],
    "negoray.llm.client": ["LLMClient"],
    "negoray.llm.config": ["LLMConfig"],
    "negoray.llm.cost": ["Budget", "UsageLedger"],
    "negoray.llm.errors": ["BudgetExceeded", "FatalProviderError"],
    "negoray.llm.factory": ["client_for"],
    "negoray.llm.failover": ["FailoverChat"],
    "negoray.llm.providers": ["PROVIDERS"],
    "negoray.local_experiment": ["LocalExperiment"],
    "negoray.plan": ["make_plan"],
    "negoray.results.report": ["Results", "load_results", "write_report"],
    "negoray.runtime.experiment": ["Experiment"],
    "negoray.sim.model": ["SimModel"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

if TYPE_CHECKING:  # what type checkers and IDEs read; at run time `__getattr__` imports on first use
    from negoray.chat import ChatFailure, ChatFn, ChatParams, ChatReply
    from negoray.compat import async_evaluate_batch, check_provider, create_async_llm_fn, create_llm_fn
    from negoray.config import ExperimentConfig, load_config
    from negoray.game.dialogue import NegotiationConfig, NegotiationRecord, run_negotiation
    from negoray.game.generators import generate_lewis, generate_v7, v7_splits
    from negoray.game.moves import Action, Move, MoveFormat
    from negoray.game.outcome import OutcomeKind, TimeoutPolicy
    from negoray.game.parsing import parse_move
    from negoray.game.scenario import ITEMS, Scenario
    from negoray.llm.cache import CacheMode, ResponseCache
    from negoray.llm.client import LLMClient
    from negoray.llm.config import LLMConfig
    from negoray.llm.cost import Budget, UsageLedger
    from negoray.llm.errors import BudgetExceeded, FatalProviderError
    from negoray.llm.factory import client_for
    from negoray.llm.failover import FailoverChat
    from negoray.llm.providers import PROVIDERS
    from negoray.local_experiment import LocalExperiment
    from negoray.plan import make_plan
    from negoray.results.report import Results, load_results, write_report
    from negoray.runtime.experiment import Experiment
    from negoray.sim.model import SimModel
    from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'negoray' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)
