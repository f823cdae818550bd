"""Market selection: client memory, assignment, revenue, deaths and offspring, concentration."""

import json
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from negoray.evolution.genome import rng_for
from negoray.evolution.market import (
    ClientMemory,
    assign_clients,
    choice_probabilities,
    client_utilities,
    gini,
    hhi,
    market_step,
    revenue,
)

AGENTS = [f"a{i}" for i in range(8)]
CLIENTS = [f"dev-{i:03d}" for i in range(60)]


def table(seed, agents=AGENTS, clients=CLIENTS):
    rng = np.random.default_rng(seed)
    return {a: {c: float(rng.uniform()) for c in clients} for a in agents}


# ---- memory -------------------------------------------------------------------------------


def test_memory_is_pruned_to_the_last_three_generations():
    m = ClientMemory(memory=3)
    for g in range(6):
        m.remember(g, {"a": {"c1": g / 10, "c2": 0.5}, f"new{g}": {"c1": 0.2}})
    assert m.generations == [3, 4, 5]
    assert sorted(m.clients["c1"]) == [3, 4, 5]
    assert m.mean_scores("c1")["a"] == pytest.approx(0.4)
    assert set(m.mean_scores("c1")) == {"a", "new3", "new4", "new5"}


def test_memory_skips_nan_and_json_round_trips():
    m = ClientMemory(memory=3)
    m.remember(0, {"a": {"c1": 0.5, "c2": math.nan}, "b": {"c1": 0.25}})
    m.remember(1, {"a": {"c1": 0.75}})
    assert "a" not in m.mean_scores("c2")
    back = ClientMemory.from_dict(json.loads(json.dumps(m.to_dict())))
    assert back == m
    assert back.mean_scores("c1") == {"a": 0.625, "b": 0.25}


# ---- assignment ---------------------------------------------------------------------------


def test_generation_zero_is_uniform_random():
    counts = Counter()
    for seed in range(200):
        counts.update(assign_clients(AGENTS, CLIENTS, ClientMemory(), 0, np.random.default_rng(seed)).values())
    expected = 200 * 60 / 8
    assert all(abs(counts[a] - expected) < 0.1 * expected for a in AGENTS)


def test_clients_prefer_remembered_good_agents():
    memory = ClientMemory()
    memory.remember(0, {"good": {c: 1.0 for c in CLIENTS}, "bad": {c: 0.0 for c in CLIENTS}})
    counts = Counter()
    for seed in range(50):
        counts.update(assign_clients(["good", "bad"], CLIENTS, memory, 1, np.random.default_rng(seed), min_clients=0).values())
    # standard softmax at T = 2 (the default, as the original): P(good) = e^0.5 / (e^0.5 + 1) ≈ 0.622
    assert counts["good"] / (50 * 60) == pytest.approx(math.exp(0.5) / (math.exp(0.5) + 1), abs=0.02)
    counts = Counter()
    for seed in range(50):
        counts.update(assign_clients(["good", "bad"], CLIENTS, memory, 1, np.random.default_rng(seed), min_clients=0,
                                     temperature_mode="inverse").values())
    # inverse temperature 2 (the option): P(good) = e^2 / (e^2 + 1) ≈ 0.881
    assert counts["good"] / (50 * 60) == pytest.approx(math.exp(2) / (math.exp(2) + 1), abs=0.02)


def test_unknown_agent_gets_mean_plus_bonus():
    memory = ClientMemory()
    memory.remember(0, {"x": {"c": 0.2}, "y": {"c": 0.6}})
    assert client_utilities(["x", "new"], "c", memory, 0.1) == pytest.approx([0.2, 0.5])
    assert client_utilities(["new"], "unseen", memory, 0.1) == pytest.approx([0.1])


def test_choice_probabilities_modes():
    p = choice_probabilities([0.0, 1.0], 2.0)  # standard is the default
    assert p[1] / p[0] == pytest.approx(math.exp(0.5))
    p = choice_probabilities([0.0, 1.0], 2.0, "inverse")
    assert p[1] / p[0] == pytest.approx(math.exp(2))
    assert list(choice_probabilities([0.3, 0.9, 0.9], 0.0)) == [0.0, 0.5, 0.5]
    assert list(choice_probabilities([0.3, 0.9], 0.0, "inverse")) == [0.5, 0.5]
    with pytest.raises(ValueError, match="standard"):
        choice_probabilities([0.3], 1.0, "hot")  # type: ignore[arg-type]


UTILITIES = st.lists(st.floats(0, 1), min_size=1, max_size=12)


@given(UTILITIES, st.floats(0, 50), st.sampled_from(["standard", "inverse"]))
def test_choice_probabilities_are_a_distribution_that_prefers_better_agents(u, temperature, mode):
    p = choice_probabilities(u, temperature, mode)
    assert p.shape == (len(u),) and np.all(p >= 0) and p.sum() == pytest.approx(1.0)
    for i in range(len(u)):
        for j in range(len(u)):
            if u[i] > u[j]:
                assert p[i] >= p[j] - 1e-12


@given(UTILITIES)
def test_standard_softmax_approaches_uniform_at_high_temperature(u):
    """'Higher = more exploratory': at T = 1e6 every agent is (nearly) equally likely."""
    p = choice_probabilities(u, 1e6, "standard")
    assert np.allclose(p, 1 / len(u), atol=1e-6)
    hot, cold = choice_probabilities(u, 10.0, "standard"), choice_probabilities(u, 0.5, "standard")
    assert np.abs(hot - 1 / len(u)).max() <= np.abs(cold - 1 / len(u)).max() + 1e-12


@given(UTILITIES, st.floats(0.01, 10))
def test_inverse_mode_is_standard_at_the_reciprocal_temperature(u, temperature):
    assert np.allclose(choice_probabilities(u, temperature, "inverse"), choice_probabilities(u, 1 / temperature))


@settings(max_examples=100, deadline=None)
@given(
    n_agents=st.integers(1, 10),
    n_clients=st.integers(0, 70),
    min_clients=st.integers(0, 4),
    generation=st.integers(0, 3),
    seed=st.integers(0, 2**32 - 1),
    skew=st.floats(0, 50),
    mode=st.sampled_from(["standard", "inverse"]),
)
def test_no_agent_is_starved(n_agents, n_clients, min_clients, generation, seed, skew, mode):
    agents = [f"a{i}" for i in range(n_agents)]
    clients = [f"c{i}" for i in range(n_clients)]
    memory = ClientMemory()
    if generation:  # a memory where one agent is far better, so softmax piles clients onto it
        memory.remember(generation - 1, {a: {c: 1.0 if a == "a0" else 0.0 for c in clients} for a in agents[:-1]})
    out = assign_clients(agents, clients, memory, generation, np.random.default_rng(seed),
                         temperature=skew if mode == "inverse" else 1 / (1 + skew), min_clients=min_clients,
                         temperature_mode=mode)
    assert sorted(out) == sorted(clients) and set(out.values()) <= set(agents)
    counts = Counter(out.values())
    floor = min(min_clients, n_clients // n_agents)
    assert all(counts[a] >= floor for a in agents)


def test_assignment_is_deterministic():
    memory = ClientMemory()
    memory.remember(0, table(1))
    a = assign_clients(AGENTS, CLIENTS, memory, 1, rng_for(42, "B1", 1, "market"))
    b = assign_clients(AGENTS, CLIENTS, memory, 1, rng_for(42, "B1", 1, "market"))
    assert a == b


# ---- revenue ------------------------------------------------------------------------------


def test_revenue_uses_per_client_scores_not_the_mean():
    # Both agents have mean score 0.5 over all clients; "spec" is excellent on the clients it got.
    scores = {"spec": {"c1": 1.0, "c2": 1.0, "c3": 0.0, "c4": 0.0},
              "flat": {"c1": 0.5, "c2": 0.5, "c3": 0.5, "c4": 0.5}}
    assignment = {"c1": "spec", "c2": "spec", "c3": "flat", "c4": "flat"}
    r = revenue(assignment, scores)
    assert r == {"spec": 2.0, "flat": 1.0}  # mean-score revenue would give 1.0 and 1.0


def test_revenue_zero_without_clients_and_nan_imputed():
    scores = {"a": {"c1": 0.4, "c2": math.nan}, "b": {"c1": 0.9, "c2": 0.9}, "c": {"c1": math.nan}}
    r = revenue({"c1": "a", "c2": "a", "c3": "c"}, scores)
    assert r["a"] == pytest.approx(0.8) and r["b"] == 0.0 and math.isnan(r["c"])


# ---- deaths and offspring -----------------------------------------------------------------

REV = {"a0": 9.0, "a1": 7.5, "a2": 6.0, "a3": 5.0, "a4": 4.0, "a5": 3.0, "a6": 1.0, "a7": 0.5}


def test_bottom_30_percent_die():
    out = market_step(REV, ["a0", "a1"], 0.3, np.random.default_rng(0))
    assert out.dead == ("a6", "a7")
    assert out.survivors == ("a0", "a1", "a2", "a3", "a4", "a5")
    assert len(out.parents) == 2 and set(out.parents) <= set(out.survivors)


def test_elites_are_immune_even_with_the_lowest_revenue():
    out = market_step(REV, ["a7", "a6"], 0.3, np.random.default_rng(0))
    assert out.dead == ("a4", "a5")
    assert {"a6", "a7"} <= set(out.survivors)


@settings(max_examples=100, deadline=None)
@given(
    revenues=st.lists(st.one_of(st.floats(0, 60), st.just(math.nan)), min_size=1, max_size=12),
    n_elites=st.integers(0, 4),
    fraction=st.floats(0, 0.95),
    seed=st.integers(0, 2**32 - 1),
)
def test_market_step_properties(revenues, n_elites, fraction, seed):
    rev = {f"a{i:02d}": v for i, v in enumerate(revenues)}
    elite_ids = sorted(rev)[:n_elites]
    out = market_step(rev, elite_ids, fraction, np.random.default_rng(seed))
    assert not set(out.dead) & set(elite_ids)
    assert sorted(out.dead + out.survivors) == sorted(rev)
    assert out.survivors and len(out.parents) == len(out.dead)
    assert set(out.parents) <= set(out.survivors)
    mortal = len(rev) - len(set(elite_ids) & set(rev))
    expected = min(max(math.floor(fraction * len(rev) + 0.5 + 1e-9), 1 if fraction > 0 and mortal else 0),
                   mortal, len(rev) - max(1, len(set(elite_ids) & set(rev))))
    assert len(out.dead) == expected


def test_ties_broken_by_id():
    out = market_step({"b": 1.0, "a": 1.0, "c": 1.0, "d": 2.0}, [], 0.25, np.random.default_rng(0))
    assert out.dead == ("c",)


def test_parents_proportional_to_revenue():
    rev = {"a": 6.0, "b": 3.0, "c": 1.0, "d": 0.0, "x": 0.0, "y": 0.0}  # x, y die (ties by id); d lives
    counts = Counter()
    rng = np.random.default_rng(7)
    for _ in range(3000):
        counts.update(market_step(rev, ["a"], 0.34, rng).parents)
    assert counts["d"] == 0 and counts["x"] == 0 and counts["y"] == 0  # zero revenue never breeds
    total = sum(counts.values())
    assert total == 6000
    for agent, share in (("a", 0.6), ("b", 0.3), ("c", 0.1)):
        # binomial sd ≈ sqrt(p(1-p)/6000) < 0.0065; allow 4 sd
        assert counts[agent] / total == pytest.approx(share, abs=0.026)


def test_parents_uniform_when_all_revenue_zero():
    counts = Counter()
    rng = np.random.default_rng(3)
    for _ in range(2000):
        counts.update(market_step({"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0}, [], 0.25, rng).parents)
    assert set(counts) == {"a", "b", "c"}
    assert all(abs(counts[a] / 2000 - 1 / 3) < 0.05 for a in "abc")


def test_market_step_is_deterministic():
    a = market_step(REV, ["a0", "a1"], 0.3, rng_for(42, "C2", 4, "market"))
    b = market_step(REV, ["a0", "a1"], 0.3, rng_for(42, "C2", 4, "market"))
    assert a == b


# ---- concentration ------------------------------------------------------------------------


def test_gini_known_vectors():
    assert gini([1, 1, 1, 1]) == 0.0
    assert gini([1, 0, 0, 0]) == pytest.approx(0.75)
    assert gini([0, 0, 0]) == 0.0
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)  # Σ|xi-xj| = 20; 20 / (2·16·2.5)
    assert math.isnan(gini([]))


def test_hhi_known_vectors():
    assert hhi([1, 1, 1, 1]) == pytest.approx(0.25)
    assert hhi([5, 0, 0, 0]) == 1.0
    assert hhi([3, 1]) == pytest.approx(0.625)
    assert hhi([0, 0]) == 0.5
    with pytest.raises(ValueError):
        hhi([1, -1])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=20))
def test_concentration_ranges(values):
    n = len(values)
    assert 0 <= gini(values) <= (n - 1) / n + 1e-9
    assert 1 / n - 1e-9 <= hhi(values) <= 1 + 1e-9


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 20), st.floats(0.01, 1e3))
def test_concentration_of_equal_shares_including_all_zeros(n, amount):
    """The one rule for all-zero input (what the report and the market columns both use): nothing
    earned reads as equal shares, like any equal split."""
    for values in ([0.0] * n, [amount] * n):
        assert gini(values) == pytest.approx(0.0, abs=1e-12)
        assert hhi(values) == pytest.approx(1 / n)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=20).filter(lambda xs: sum(xs) > 1e-6), st.floats(0.1, 10))
def test_concentration_is_scale_free_and_matches_the_sorted_formula(values, k):
    x = np.sort(np.asarray(values))
    n = len(x)
    sorted_gini = float((2 * np.arange(1, n + 1) - n - 1).dot(x) / (n * x.sum()))
    assert gini(values) == pytest.approx(sorted_gini, abs=1e-9)
    assert gini([v * k for v in values]) == pytest.approx(gini(values), abs=1e-9)
    assert hhi([v * k for v in values]) == pytest.approx(hhi(values), abs=1e-9)


def test_survivors_are_remembered_under_their_new_id():
    memory = ClientMemory(3)
    memory.remember(0, {"A1-g00-0": {"s1": 0.9}, "A1-g00-1": {"s1": 0.2}})
    memory.carry_over({"A1-g00-0": "A1-g01-0"})
    assert memory.mean_scores("s1")["A1-g01-0"] == 0.9
