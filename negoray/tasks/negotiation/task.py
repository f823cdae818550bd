"""The negotiation task: V7's Deal-or-No-Deal against a fixed opponent, today's behaviour wrapped;
and playing one strategy over a scenario set (`play_all`, `Summary`), for tools outside a run.

Everything comes from the game layer and this package's V7 pieces (seed strategies, the opponent,
mutation wording and checks, columns); this module only puts them behind the `Task` interface.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from negoray.chat import ChatFn, Message
from negoray.config import ExperimentConfig, ExperimentConfigError
from negoray.evolution.backend import Job, Phase, play_jobs
from negoray.evolution.mutation import extract_strategy
from negoray.game.dialogue import NegotiationConfig, NegotiationRecord, run_negotiation
from negoray.game.scenario import Scenario
from negoray.game.scored import deal_rate, errors, mean_score, pareto_rate, scored
from negoray.tasks.base import Chats, Column, MutationKind
from negoray.tasks.negotiation import columns, mutation
from negoray.tasks.negotiation.inputs import make_splits, negotiation_config
from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES


class NegotiationTask:
    """V7: the agent prompt negotiates each scenario against `OPPONENT_PROMPT`; the score is the
    agent's normalised value of the deal (0 for no deal), an infrastructure error is no score."""

    name = "negotiation"
    record_noun = "negotiation"
    record_columns: Sequence[Column] = columns.RECORD_COLUMNS
    outcomes: Sequence[str] = columns.OUTCOMES

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

    async def evaluate(self, prompt: str, scenario: Scenario, chats: Chats, seed: int | None,
                       replicate: int) -> NegotiationRecord:
        return await run_negotiation(prompt, self.counterpart, scenario, chats.agent, config=self.negotiation,
                                     opponent_chat=chats.counterpart, replicate=replicate, seed=seed)

    def seed_strategies(self) -> Mapping[str, str]:
        return SEED_STRATEGIES

    def mutation_messages(self, kind: MutationKind, parent_prompt: str, records: Sequence[NegotiationRecord],
                          scenarios: Mapping[str, Scenario]) -> list[Message]:
        return mutation.mutation_messages(kind, parent_prompt, mean_score(records), deal_rate(records),
                                          mutation.worst_cases(records, scenarios))

    def extract_prompt(self, reply: str) -> str | None:
        return extract_strategy(reply)

    def check_prompt(self, child: str | None, parent: str) -> str | None:
        return mutation.check_strategy(child, parent)

    def record_row(self, record: NegotiationRecord) -> dict[str, Any]:
        return columns.record_row(record)

    def summary(self, records: Sequence[NegotiationRecord]) -> dict[str, float]:
        return {"deal_rate": deal_rate(records), "pareto_rate": pareto_rate(records)}


def make_task(config: ExperimentConfig, options: Mapping[str, Any]) -> NegotiationTask:
    """The negotiation task; its settings are the config's top-level keys, so ``[task]`` takes none."""
    if options:
        raise ExperimentConfigError(f"task.{next(iter(options))}: the negotiation task takes no [task] options "
                                    "(its settings are max_rounds, move_format, ... and [scenarios])")
    return NegotiationTask(negotiation_config(config), config)


async def play_all(
    strategy: str,
    opponent: str,
    scenarios: Sequence[Scenario],
    chat: ChatFn,
    config: NegotiationConfig = NegotiationConfig(),
    *,
    concurrency: int = 32,
    replicate: int = 0,
) -> list[NegotiationRecord]:
    """One negotiation per scenario, at most ``concurrency`` in flight; results in scenario order."""
    jobs = [Job("", 0, Phase.EVAL, "", strategy, s, replicate) for s in scenarios]
    return await play_jobs(jobs, NegotiationTask(config, opponent=opponent), chat, config.seed, concurrency)


@dataclass(frozen=True)
class Summary:
    """A strategy's results over a scenario set. Errors are excluded from the means, and counted."""

    n: int
    errors: int
    deal_rate: float
    mean_score: float
    pareto_rate: float
    mean_turns: float
    invalid_moves: int

    @classmethod
    def of(cls, records: Sequence[NegotiationRecord]) -> Summary:
        with_score = scored(records)
        return cls(
            n=len(records),
            errors=errors(records),
            deal_rate=deal_rate(records),
            mean_score=mean_score(records),
            pareto_rate=pareto_rate(records),
            mean_turns=statistics.fmean(r.n_turns for r in with_score) if with_score else float("nan"),
            invalid_moves=sum(r.agent_invalid for r in with_score),
        )
