"""Playing a strategy against the fixed opponent over a set of scenarios, with bounded concurrency."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from negoray.chat import ChatFn
from negoray.evolution.backend import Job, Phase, play_jobs
from negoray.game.dialogue import NegotiationConfig, NegotiationRecord
from negoray.game.scenario import Scenario
from negoray.game.scored import deal_rate, errors, mean_score, pareto_rate, scored
from negoray.tasks.negotiation import NegotiationTask


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
