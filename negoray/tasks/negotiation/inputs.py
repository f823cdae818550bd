"""What every V7 run plays on, built from its config: the scenario splits and the negotiation
settings (the task, the tests and the benchmarks use these)."""

from __future__ import annotations

from negoray.config import ExperimentConfig
from negoray.game.dialogue import NegotiationConfig
from negoray.game.generators import generate, split_scenarios
from negoray.game.moves import MoveFormat
from negoray.game.outcome import TimeoutPolicy
from negoray.game.scenario import Scenario


def make_splits(config: ExperimentConfig) -> dict[str, list[Scenario]]:
    """The dev, val and test splits of the config's scenario pool."""
    s = config.scenarios
    pool = generate(s.generator, s.dev + s.val + s.test, s.seed)
    return split_scenarios(pool, {"dev": s.dev, "val": s.val, "test": s.test})


def negotiation_config(config: ExperimentConfig) -> NegotiationConfig:
    """How every negotiation of the experiment is played."""
    return NegotiationConfig(max_rounds=config.max_rounds, move_format=MoveFormat(config.move_format),
                             timeout_policy=TimeoutPolicy(config.timeout_policy),
                             temperature=config.negotiation_temperature, max_tokens=config.max_tokens, seed=config.seed)
