"""Playing a strategy against the fixed opponent over a set of scenarios, with bounded concurrency."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from negoray.chat import ChatFn
from negoray.evolution.backend import Job, play_jobs
from negoray.game.dialogue import NegotiationConfig, NegotiationRecord
from negoray.game.outcome import OutcomeKind
from negoray.game.scenario import Scenario


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
    jobs = [Job("", 0, "eval", "", strategy, s, replicate) for s in scenarios]
    return await play_jobs(jobs, opponent, chat, config, concurrency)


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
        scored = [r for r in records if r.outcome is not OutcomeKind.ERROR]

        def mean(values: list[float]) -> float:
            return statistics.fmean(values) if values else float("nan")

        return cls(
            n=len(records),
            errors=len(records) - len(scored),
            deal_rate=mean([float(r.outcome is OutcomeKind.AGREED) for r in scored]),
            mean_score=mean([r.metrics.agent_normalized for r in scored]),
            pareto_rate=mean([float(r.metrics.pareto_optimal) for r in scored]),
            mean_turns=mean([float(r.n_turns) for r in scored]),
            invalid_moves=sum(r.agent_invalid for r in scored),
        )
