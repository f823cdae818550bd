"""Ranking, elites and tournaments on hand-made fitness tables."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from negoray.evolution.genome import rng_for
from negoray.evolution.selection import elites, fill_by_tournament, rank, tournament

FITNESS = {"a": 0.40, "b": 0.62, "c": 0.55, "d": 0.62, "e": math.nan, "f": 0.10, "g": 0.48, "h": 0.30}

fitness_tables = st.dictionaries(
    st.text("abcdefghij", min_size=1, max_size=3),
    st.one_of(st.floats(0, 1), st.just(math.nan)),
    min_size=1, max_size=12,
)


def test_rank_best_first_ties_by_id_nan_last():
    assert rank(FITNESS) == ["b", "d", "c", "g", "a", "h", "f", "e"]


def test_rank_ignores_insertion_order():
    assert rank(dict(reversed(list(FITNESS.items())))) == rank(FITNESS)


def test_elites_are_the_top_n():
    assert elites(FITNESS, 2) == ["b", "d"]
    assert elites(FITNESS, 0) == []
    assert elites(FITNESS, 20) == rank(FITNESS)


@settings(max_examples=50, deadline=None)
@given(fitness_tables, st.integers(0, 12))
def test_elites_are_never_worse_than_a_non_elite(fitness, n):
    top = elites(fitness, n)
    assert len(top) == min(n, len(fitness))
    rest = [a for a in fitness if a not in top]
    for e in top:
        for r in rest:
            if not math.isnan(fitness[r]):
                assert not math.isnan(fitness[e]) and fitness[e] >= fitness[r]


@settings(max_examples=50, deadline=None)
@given(fitness_tables, st.integers(1, 15), st.integers(0, 2**32 - 1))
def test_tournament_returns_a_member(fitness, k, seed):
    assert tournament(fitness, k, np.random.default_rng(seed)) in fitness


@settings(max_examples=50, deadline=None)
@given(fitness_tables, st.integers(0, 2**32 - 1))
def test_tournament_over_everyone_returns_the_best(fitness, seed):
    rng = np.random.default_rng(seed)
    assert tournament(fitness, len(fitness), rng) == rank(fitness)[0]
    assert tournament(fitness, len(fitness) + 5, rng) == rank(fitness)[0]


def test_tournament_winner_is_the_best_of_its_draw():
    # Replay the draw tournament() makes and check the winner is its best contestant.
    for seed in range(50):
        ids = sorted(FITNESS)
        drawn = [ids[i] for i in np.random.default_rng(seed).choice(len(ids), size=3, replace=False)]
        assert tournament(FITNESS, 3, np.random.default_rng(seed)) == rank({a: FITNESS[a] for a in drawn})[0]


def test_tournament_k1_is_uniform_and_worst_can_win():
    rng = np.random.default_rng(0)
    wins = [tournament(FITNESS, 1, rng) for _ in range(4000)]
    assert set(wins) == set(FITNESS)


def test_tournament_pressure_favours_the_fit():
    wins = fill_by_tournament(FITNESS, 4000, 3, np.random.default_rng(1))
    assert wins.count("b") > wins.count("a") > wins.count("f")
    # With k = 3 at least one contestant beats the two worst (NaN, then 0.10): they never win.
    assert "e" not in wins and "f" not in wins


def test_fill_by_tournament_is_deterministic():
    a = fill_by_tournament(FITNESS, 6, 3, rng_for(42, "A1", 3, "tournament"))
    b = fill_by_tournament(FITNESS, 6, 3, rng_for(42, "A1", 3, "tournament"))
    assert a == b and len(a) == 6 and set(a) <= set(FITNESS)
