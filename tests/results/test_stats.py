"""Welch's t-test, the permutation test, Cohen's d, Hedges' g, power, Gini and HHI."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats as sps

from negoray.results.stats import (Comparison, cohens_d, gini, hedges_g, hhi, min_detectable_d, permutation_p,
                                  permutations, power, welch)


def test_welch_matches_scipy():
    a, b = [0.61, 0.65, 0.58], [0.52, 0.55, 0.50]
    t, p = welch(a, b)
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert t == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue)
    _, p1 = welch(a, b, alternative="greater")
    assert p1 == pytest.approx(p / 2)


@pytest.mark.parametrize("a,b", [([1.0], [1.0, 2.0]), ([], []), ([1.0, float("nan")], [2.0, 3.0]), ([1, 1], [1, 1])])
def test_welch_is_nan_safe(a, b):
    t, p = welch(a, b)
    assert math.isnan(t) and math.isnan(p)


def test_cohens_d():
    assert cohens_d([1, 2, 3], [2, 3, 4]) == pytest.approx(-1.0)
    assert cohens_d([1, 2, 3, None], [0, 1, 2, float("nan")]) == pytest.approx(1.0)
    assert math.isnan(cohens_d([1], [1, 2])) and math.isnan(cohens_d([1, 1], [1, 1]))


def test_power_and_detectable_effect():
    d = min_detectable_d(3, 3)  # one-sided by default, as the hypotheses are
    assert d == pytest.approx(sps.t.ppf(0.95, 4) / math.sqrt(1.5))
    two = min_detectable_d(3, 3, alternative="two-sided")
    assert two == pytest.approx(sps.t.ppf(0.975, 4) / math.sqrt(1.5)) and two > d
    assert 0.5 < power(d, 3, 3) < 0.6  # the noncentral t is skewed: a little over a half
    assert 0.5 < power(two, 3, 3, alternative="two-sided") < 0.6
    assert power(0.8, 3, 3) > power(0.8, 3, 3, alternative="two-sided")
    assert power(0.8, 3, 3) < power(0.8, 30, 30) < 1
    assert math.isnan(min_detectable_d(1, 3)) and math.isnan(power(0.5, 1, 3))


def test_hedges_g_known_value():
    # 3 vs 3: df = 4, J = Γ(2) / (√2 Γ(1.5)) = 0.7979
    assert hedges_g([1, 2, 3], [2, 3, 4]) == pytest.approx(-1.0 * 0.79788, abs=1e-4)
    assert math.isnan(hedges_g([1], [1, 2])) and math.isnan(hedges_g([8, 8, 8], [1, 1, 1]))


SAMPLE = st.lists(st.floats(-100, 100, allow_nan=False), min_size=2, max_size=8)


@given(SAMPLE, SAMPLE)
def test_hedges_g_is_smaller_than_cohens_d(a, b):
    d, g = cohens_d(a, b), hedges_g(a, b)
    if math.isnan(d):
        assert math.isnan(g)
    else:
        assert abs(g) <= abs(d) and (d == 0 or abs(g) < abs(d)) and (g == 0 or math.copysign(1, g) == math.copysign(1, d))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=4), st.lists(st.floats(0, 1), min_size=2, max_size=4),
       st.sampled_from(["greater", "less", "two-sided"]))
def test_permutation_p_is_bounded_by_the_number_of_arrangements(a, b, alternative):
    p = permutation_p(a, b, alternative)
    assert 1 / permutations(len(a), len(b)) - 1e-12 <= p <= 1 + 1e-12


def test_permutation_p_exact_values():
    assert permutations(3, 3) == 20
    assert permutation_p([8, 8, 8], [1, 1, 1]) == pytest.approx(1 / 20)  # complete separation, no variance
    assert permutation_p([8, 8, 8], [1, 1, 1], "less") == pytest.approx(1.0)
    assert permutation_p([8, 8, 8], [1, 1, 1], "two-sided") == pytest.approx(2 / 20)
    assert permutation_p([0.5, 0.6, 0.7], [0.4, 0.45, 0.65]) == pytest.approx(4 / 20)
    assert math.isnan(permutation_p([], [1.0])) and math.isnan(permutation_p([1.0], [1.0, 2.0]))


def test_complete_separation_without_variance_is_reported_not_untestable():
    c = Comparison.of("H2 lineages", "market", [8, 8, 8], "tournament", [1, 1, 1])
    assert c.no_variance and c.separated and math.isnan(c.t) and c.p_permutation == pytest.approx(0.05)
    text = c.sentence()
    assert "complete separation" in text and "permutation p = 0.050" in text and "no test" not in text
    assert "smallest possible with 3 vs 3 runs" in text and not c.significant  # 1/20 is not < 0.05
    assert c.row()[8] == "separated"
    same = Comparison.of("x", "a", [1, 1, 1], "b", [1, 1, 1])
    assert "same value" in same.sentence() and same.p_permutation == pytest.approx(1.0)


def test_comparison():
    c = Comparison.of("H1", "A", [0.7, 0.72, 0.75], "D", [0.6, 0.62, 0.61])
    assert c.testable and c.as_hypothesised and c.diff == pytest.approx(2.17 / 3 - 0.61)
    assert c.p_directional == pytest.approx(c.p / 2) and "A > D hypothesised" in c.sentence()
    assert len(c.row()) == 10 and c.separated
    assert "Hedges' g" in c.sentence() and "permutation p = 0.050 one-sided (exact over 20 arrangements" in c.sentence()
    assert abs(c.g) < abs(c.d)
    less = Comparison.of("sim", "market", [0.3, 0.4], "tournament", [0.5, 0.6], direction="less")
    assert less.as_hypothesised and less.p_directional < 0.5
    few = Comparison.of("H3", "C", [0.7], "A", [0.6, 0.5])
    assert not few.testable and "cannot be tested" in few.sentence() and not few.significant
    empty = Comparison.of("x", "a", [], "b", [])
    assert empty.as_hypothesised is None and "cannot be tested" in empty.sentence()


def test_gini_hhi_known_values():
    assert gini([1, 1, 1, 1]) == pytest.approx(0) and hhi([1, 1, 1, 1]) == pytest.approx(0.25)
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75) and hhi([0, 0, 0, 4]) == pytest.approx(1)
    assert math.isnan(gini([])) and math.isnan(hhi([]))
    # one rule with the market columns (negoray.evolution.market): all zeros read as equal shares
    assert gini([0, 0]) == 0.0 and hhi([0, 0]) == 0.5


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=30).filter(lambda xs: sum(xs) > 1e-6))
def test_gini_hhi_bounds(xs):
    n = len(xs)
    assert -1e-9 <= gini(xs) <= 1 - 1 / n + 1e-9
    assert 1 / n - 1e-9 <= hhi(xs) <= 1 + 1e-9
    assert gini(xs) == pytest.approx(gini(list(np.random.default_rng(0).permutation(xs))), abs=1e-9)
