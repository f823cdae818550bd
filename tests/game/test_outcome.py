"""Scoring a negotiation's end, checked against brute force over every split of the pool."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from negoray.game.outcome import (
    OutcomeKind,
    OutcomeMetrics,
    all_splits,
    evaluate,
    is_pareto_optimal,
    is_valid_share,
    rest,
    scores,
)
from negoray.game.scenario import Scenario

Counts = tuple[int, int, int]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    counts = draw(st.tuples(*[st.integers(1, 5)] * 3))
    values = st.tuples(*[st.integers(0, 5)] * 3)
    return Scenario("h", counts, draw(values), draw(values))


@st.composite
def scenario_and_split(draw: st.DrawFn) -> tuple[Scenario, Counts]:
    s = draw(scenarios())
    return s, tuple(draw(st.integers(0, c)) for c in s.counts)  # type: ignore[return-value]


# ---- a brute-force reference, written without the module's helpers ---------------------------


def every_split(counts: Counts) -> list[Counts]:
    return [(b, h, x) for b in range(counts[0] + 1) for h in range(counts[1] + 1) for x in range(counts[2] + 1)]


def payoff(s: Scenario, share: Counts) -> tuple[int, int]:
    mine = sum(n * v for n, v in zip(share, s.agent_values))
    theirs = sum((c - n) * v for c, n, v in zip(s.counts, share, s.opponent_values))
    return mine, theirs


def reference_pareto(s: Scenario, share: Counts) -> bool:
    a, o = payoff(s, share)
    for other in every_split(s.counts):
        qa, qo = payoff(s, other)
        if qa >= a and qo >= o and (qa > a or qo > o):
            return False
    return True


# ---- properties ------------------------------------------------------------------------------


@given(scenarios())
def test_pareto_agrees_with_brute_force_on_every_split(s: Scenario) -> None:
    splits = every_split(s.counts)
    assert sorted(all_splits(s.counts)) == sorted(splits)
    flags = [is_pareto_optimal(s, share) for share in splits]
    assert flags == [reference_pareto(s, share) for share in splits]
    assert any(flags)
    for share, flag in zip(splits, flags):
        assert evaluate(s, OutcomeKind.AGREED, share).pareto_optimal == flag


@given(scenario_and_split())
def test_scores_are_each_sides_value_of_its_items(pair: tuple[Scenario, Counts]) -> None:
    s, share = pair
    assert scores(s, share) == payoff(s, share)
    m = evaluate(s, OutcomeKind.AGREED, share)
    assert (m.agent_score, m.opponent_score) == payoff(s, share)
    assert m.agent_share == share
    assert m.nash_product == m.agent_score * m.opponent_score


@given(scenario_and_split())
def test_swapping_sides_swaps_the_scores(pair: tuple[Scenario, Counts]) -> None:
    s, share = pair
    m = evaluate(s, OutcomeKind.AGREED, share)
    w = evaluate(s.swapped(), OutcomeKind.AGREED, rest(s.counts, share))
    assert (w.agent_score, w.opponent_score) == (m.opponent_score, m.agent_score)
    assert (w.agent_normalized, w.opponent_normalized) == (m.opponent_normalized, m.agent_normalized)
    assert w.pareto_optimal == m.pareto_optimal
    assert is_pareto_optimal(s.swapped(), rest(s.counts, share)) == is_pareto_optimal(s, share)
    assert w.joint_efficiency == pytest.approx(m.joint_efficiency)
    assert w.nash_product == m.nash_product
    assert w.nash_ratio == pytest.approx(m.nash_ratio)


@given(scenario_and_split())
def test_normalised_scores_and_efficiency_are_in_range(pair: tuple[Scenario, Counts]) -> None:
    s, share = pair
    m = evaluate(s, OutcomeKind.AGREED, share)
    for x in (m.agent_normalized, m.opponent_normalized, m.joint_efficiency, m.nash_ratio):
        assert 0.0 <= x <= 1.0
    assert m.agent_normalized == (m.agent_score / s.agent_max if s.agent_max else 0.0)
    assert m.opponent_normalized == (m.opponent_score / s.opponent_max if s.opponent_max else 0.0)


@given(scenarios())
def test_joint_efficiency_and_nash_ratio_against_brute_force(s: Scenario) -> None:
    pairs = {share: payoff(s, share) for share in every_split(s.counts)}
    best_joint = max(a + o for a, o in pairs.values())
    best_nash = max(a * o for a, o in pairs.values())
    for share, (a, o) in pairs.items():
        m = evaluate(s, OutcomeKind.AGREED, share)
        assert math.isclose(m.joint_efficiency, (a + o) / best_joint if best_joint else 0.0)
        assert math.isclose(m.nash_ratio, a * o / best_nash if best_nash else 0.0)
    best = max(pairs, key=lambda share: sum(pairs[share]))
    m = evaluate(s, OutcomeKind.AGREED, best)
    assert m.joint_efficiency == (1.0 if best_joint else 0.0)
    assert m.pareto_optimal  # a split with the best joint score cannot be dominated


def assert_scores_nothing(m: OutcomeMetrics) -> None:
    assert m.agent_share is None
    assert (m.agent_score, m.opponent_score, m.nash_product) == (0, 0, 0)
    assert (m.agent_normalized, m.opponent_normalized, m.joint_efficiency, m.nash_ratio) == (0.0, 0.0, 0.0, 0.0)
    assert not m.pareto_optimal


@given(scenario_and_split(), st.sampled_from([k for k in OutcomeKind if k is not OutcomeKind.ERROR]))
def test_no_deal_scores_nothing(pair: tuple[Scenario, Counts], kind: OutcomeKind) -> None:
    s, _ = pair
    assert_scores_nothing(evaluate(s, kind, None))
    assert evaluate(s, kind, None).kind is kind


@given(scenario_and_split())
def test_an_error_has_no_metrics_at_all(pair: tuple[Scenario, Counts]) -> None:
    """An infrastructure error is not a score of 0: it has no metrics, whatever share is passed."""
    s, share = pair
    for passed in (share, None):
        with pytest.raises(ValueError, match="not a score"):
            evaluate(s, OutcomeKind.ERROR, passed)


@given(scenario_and_split())
def test_a_scored_timeout_is_scored_like_the_same_deal(pair: tuple[Scenario, Counts]) -> None:
    """Under `TimeoutPolicy.LAST_PROPOSAL` a timeout comes with the last standing share."""
    s, share = pair
    timeout, agreed = evaluate(s, OutcomeKind.TIMEOUT, share), evaluate(s, OutcomeKind.AGREED, share)
    assert timeout.kind is OutcomeKind.TIMEOUT
    assert dataclasses.replace(timeout, kind=OutcomeKind.AGREED) == agreed


@given(scenarios(), st.integers(0, 2), st.sampled_from([-1, 1]))
def test_a_share_outside_the_pool_is_not_a_deal(s: Scenario, item: int, step: int) -> None:
    share = list(s.counts if step > 0 else (0, 0, 0))
    share[item] += step
    assert not is_valid_share(tuple(share), s.counts)
    with pytest.raises(ValueError):
        evaluate(s, OutcomeKind.AGREED, tuple(share))


def test_worked_example() -> None:
    s = Scenario("x", (3, 2, 1), (1, 3, 1), (2, 0, 4))
    # The agent values hats, the opponent books and the ball: hats to the agent, the rest to them.
    m = evaluate(s, OutcomeKind.AGREED, (0, 2, 0))
    assert (m.agent_score, m.opponent_score) == (6, 10)
    assert m.pareto_optimal and m.joint_efficiency == 1.0
    assert m.agent_normalized == 6 / 10 and m.opponent_normalized == 10 / 10
    worse = evaluate(s, OutcomeKind.AGREED, (3, 0, 1))
    assert (worse.agent_score, worse.opponent_score) == (4, 0) and not worse.pareto_optimal


def test_all_splits_counts_every_division() -> None:
    for counts in itertools.product(range(4), repeat=3):
        assert len(all_splits(counts)) == math.prod(c + 1 for c in counts)
        assert all(is_valid_share(share, counts) for share in all_splits(counts))
