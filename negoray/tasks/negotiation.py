"""The negotiation task: V7's Deal-or-No-Deal against a fixed opponent, today's behaviour wrapped.

Everything comes from the game layer and the V7 pieces of evolution (seed strategies, the opponent,
mutation wording and checks); this module only puts them behind the `Task` interface.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from negoray.config import ExperimentConfig, ExperimentConfigError
from negoray.evolution import mutation
from negoray.evolution.inputs import make_splits, negotiation_config
from negoray.evolution.seeds import OPPONENT_PROMPT, SEED_STRATEGIES
from negoray.game.dialogue import NegotiationConfig, NegotiationRecord, run_negotiation
from negoray.game.scenario import Scenario
from negoray.game.scored import deal_rate, mean_score, pareto_rate
from negoray.chat import Message
from negoray.tasks.base import Chats, Column, MutationKind


class NegotiationTask:
    """V7: the agent prompt negotiates each scenario against `OPPONENT_PROMPT`; the score is the
    agent's normalised value of the deal (0 for no deal), an infrastructure error is no score."""

    name = "negotiation"
    record_columns: Sequence[Column] = ()
    """Its columns are the ``negotiations`` table's own (`negoray.results.schema.NEGOTIATIONS`)."""

    def __init__(self, negotiation: NegotiationConfig = NegotiationConfig(), config: ExperimentConfig | None = None,
                 opponent: str = OPPONENT_PROMPT) -> None:
        """``negotiation``: how each negotiation is played; ``config``: the experiment whose
        ``[scenarios]`` give the splits (None: a task that only plays, e.g. in a benchmark)."""
        self.negotiation, self.config, self.counterpart = negotiation, config, opponent
        self._splits: dict[str, list[Scenario]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_splits": None}  # a Ray task that plays does not need the splits

    def splits(self) -> Mapping[str, Sequence[Scenario]]:
        if self.config is None:
            raise ValueError("this negotiation task was built without an experiment config: it has no splits")
        if self._splits is None:
            self._splits = make_splits(self.config)
        return self._splits

    async def evaluate(self, prompt: str, scenario: Scenario, chats: Chats, seed: int | None,  # type: ignore[override]
                       replicate: int) -> NegotiationRecord:
        return await run_negotiation(prompt, self.counterpart, scenario, chats.agent, config=self.negotiation,
                                     opponent_chat=chats.counterpart, replicate=replicate, seed=seed)

    def seed_strategies(self) -> Mapping[str, str]:
        return SEED_STRATEGIES

    def mutation_messages(self, kind: MutationKind, parent_prompt: str, records: Sequence[NegotiationRecord],  # type: ignore[override]
                          scenarios: Mapping[str, Scenario]) -> list[Message]:
        return mutation.mutation_messages(kind, parent_prompt, mean_score(records), deal_rate(records),
                                          mutation.worst_cases(records, scenarios))

    def extract_prompt(self, reply: str) -> str | None:
        return mutation.extract_strategy(reply)

    def check_prompt(self, child: str | None, parent: str) -> str | None:
        return mutation.check_strategy(child, parent)

    def record_row(self, record: NegotiationRecord) -> dict[str, Any]:  # type: ignore[override]
        return {}

    def summary(self, records: Sequence[NegotiationRecord]) -> dict[str, float]:  # type: ignore[override]
        return {"deal_rate": deal_rate(records), "pareto_rate": pareto_rate(records)}


def make_task(config: ExperimentConfig, options: Mapping[str, Any]) -> NegotiationTask:
    """The negotiation task; its settings are the config's top-level keys, so ``[task]`` takes none."""
    if options:
        raise ExperimentConfigError(f"task.{next(iter(options))}: the negotiation task takes no [task] options "
                                    "(its settings are max_rounds, move_format, ... and [scenarios])")
    return NegotiationTask(negotiation_config(config), config)
