"""negoray: evolve LLM negotiation agents (Deal-or-No-Deal) at scale.

The public API is re-exported here and imported lazily, so ``negoray scenarios`` does not pay for
the openai SDK it does not use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "negoray.chat": ["ChatFailure", "ChatFn", "ChatParams", "ChatReply"],
    "negoray.compat": ["async_evaluate_batch", "check_provider", "create_async_llm_fn", "create_llm_fn"],
    "negoray.evolution.seeds": ["OPPONENT_PROMPT", "SEED_STRATEGIES"],
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
    "negoray.llm.failover": ["FailoverChat"],
    "negoray.llm.providers": ["PROVIDERS"],
    "negoray.sim.model": ["SimModel"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'negoray' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
