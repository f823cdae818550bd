"""Scoring a negotiation's end: scores, Pareto-optimality, joint efficiency, Nash product."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from negoray.game.scenario import Counts, Scenario


class OutcomeKind(str, Enum):
    """How a negotiation ended. ``error`` means infrastructure failed: never a score."""

    AGREED = "agreed"
    TIMEOUT = "timeout"
    ERROR = "error"


class TimeoutPolicy(str, Enum):
    """What a negotiation without acceptance is worth.

    ``no_deal`` (default): 0 for both. ``last_proposal``: the original V7 code's rule, which
    scored the last standing proposal as if it had been accepted; kept only as an explicit option.
    """

    NO_DEAL = "no_deal"
    LAST_PROPOSAL = "last_proposal"


@lru_cache(maxsize=4096)
def all_splits(counts: Counts) -> tuple[Counts, ...]:
    """Every way to give the agent part of the pool (the opponent gets the rest)."""
    return tuple(itertools.product(*(range(c + 1) for c in counts)))  # type: ignore[arg-type]


def value(share: Counts, values: Counts) -> int:
    return sum(n * v for n, v in zip(share, values))


def rest(counts: Counts, share: Counts) -> Counts:
    """What the other side gets when one side takes ``share``."""
    return tuple(c - n for c, n in zip(counts, share))  # type: ignore[return-value]


def is_valid_share(share: Counts, counts: Counts) -> bool:
    return len(share) == len(counts) and all(0 <= n <= c for n, c in zip(share, counts))


def scores(scenario: Scenario, agent_share: Counts) -> tuple[int, int]:
    """(agent score, opponent score) when the agent gets ``agent_share``."""
    return (
        value(agent_share, scenario.agent_values),
        value(rest(scenario.counts, agent_share), scenario.opponent_values),
    )


@lru_cache(maxsize=4096)
def _frontier(counts: Counts, av: Counts, ov: Counts) -> tuple[frozenset[tuple[int, int]], int, int]:
    """Pareto-optimal score pairs, best joint score and best Nash product of a scenario."""
    pairs = {(value(s, av), value(rest(counts, s), ov)) for s in all_splits(counts)}
    frontier = frozenset(
        p for p in pairs if not any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in pairs)
    )
    return frontier, max(a + b for a, b in pairs), max(a * b for a, b in pairs)


def is_pareto_optimal(scenario: Scenario, agent_share: Counts) -> bool:
    """No other split makes one side better off without making the other worse off."""
    frontier, _, _ = _frontier(scenario.counts, scenario.agent_values, scenario.opponent_values)
    return scores(scenario, agent_share) in frontier


@dataclass(frozen=True)
class OutcomeMetrics:
    """Everything V7 measures about one negotiation's result."""

    kind: OutcomeKind
    agent_share: Counts | None
    agent_score: int
    opponent_score: int
    agent_normalized: float
    opponent_normalized: float
    pareto_optimal: bool
    joint_efficiency: float
    nash_product: int
    nash_ratio: float
    """Nash product over the best Nash product any split achieves."""


def evaluate(scenario: Scenario, kind: OutcomeKind, agent_share: Counts | None) -> OutcomeMetrics:
    """Metrics for a finished negotiation. ``agent_share`` is the split being scored: the accepted
    one, or under `TimeoutPolicy.LAST_PROPOSAL` the last standing one; None (no deal) scores 0 for
    both sides. An infrastructure error has no metrics at all: asking for them is a ValueError."""
    if kind is OutcomeKind.ERROR:
        raise ValueError("an infrastructure error is not a score: it has no metrics")
    if agent_share is None:
        return OutcomeMetrics(kind, None, 0, 0, 0.0, 0.0, False, 0.0, 0, 0.0)
    if not is_valid_share(agent_share, scenario.counts):
        raise ValueError(f"share {agent_share} is not a split of the pool {scenario.counts}")
    a, o = scores(scenario, agent_share)
    frontier, best_joint, best_nash = _frontier(scenario.counts, scenario.agent_values, scenario.opponent_values)
    return OutcomeMetrics(
        kind=kind,
        agent_share=tuple(agent_share),  # type: ignore[arg-type]
        agent_score=a,
        opponent_score=o,
        agent_normalized=a / scenario.agent_max if scenario.agent_max else 0.0,
        opponent_normalized=o / scenario.opponent_max if scenario.opponent_max else 0.0,
        pareto_optimal=(a, o) in frontier,
        joint_efficiency=(a + o) / best_joint if best_joint else 0.0,
        nash_product=a * o,
        nash_ratio=(a * o) / best_nash if best_nash else 0.0,
    )
