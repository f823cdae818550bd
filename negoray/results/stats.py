"""The statistics the report needs: Welch's t-test, an exact permutation test, Cohen's d and Hedges' g,
what n runs can detect (one-sided, as the hypotheses are); Gini and HHI are `negoray.evolution.market`'s
(one rule for the loop's market columns and the report: all zeros read as equal shares).

Every test function takes plain sequences, ignores NaN values and answers NaN (never raises) when a
sample is too small: a partial experiment must still produce a report.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from negoray.evolution.market import gini, hhi
from negoray.fmt import decimal

__all__ = ["Comparison", "cohens_d", "gini", "hedges_g", "hedges_j", "hhi", "min_detectable_d", "permutation_p", "permutations",
           "power", "welch"]

NAN = float("nan")


def _clean(values: Sequence[float | None]) -> np.ndarray:
    a = np.asarray([v for v in values if v is not None], dtype=float)
    return a[~np.isnan(a)]


def welch(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided") -> tuple[float, float]:
    """Welch's t-test (unequal variances): (t, p). NaN when either side has fewer than 2 values
    or both have zero variance."""
    from scipy import stats

    x, y = _clean(a), _clean(b)
    if len(x) < 2 or len(y) < 2:
        return NAN, NAN
    if np.var(x) == 0 and np.var(y) == 0:
        return NAN, NAN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.ttest_ind(x, y, equal_var=False, alternative=alternative)
    return float(result.statistic), float(result.pvalue)


def cohens_d(a: Sequence[float], b: Sequence[float]) -> float:
    """(mean a - mean b) / pooled standard deviation; NaN with fewer than 2 values a side or no spread."""
    x, y = _clean(a), _clean(b)
    na, nb = len(x), len(y)
    if na < 2 or nb < 2:
        return NAN
    pooled = math.sqrt(((na - 1) * x.var(ddof=1) + (nb - 1) * y.var(ddof=1)) / (na + nb - 2))
    if pooled == 0:
        return NAN
    return float((x.mean() - y.mean()) / pooled)


def hedges_j(n_a: int, n_b: int) -> float:
    """The exact small-sample correction J(df) = Γ(df/2) / (√(df/2) Γ((df−1)/2)), df = n_a + n_b − 2
    (J = 0.80 for 3 vs 3)."""
    df = n_a + n_b - 2
    return math.exp(math.lgamma(df / 2) - math.lgamma((df - 1) / 2)) / math.sqrt(df / 2)


def hedges_g(a: Sequence[float], b: Sequence[float]) -> float:
    """Cohen's d times `hedges_j`: d overstates the effect of small samples."""
    d = cohens_d(a, b)
    if math.isnan(d):
        return d
    return float(d * hedges_j(len(_clean(a)), len(_clean(b))))


Alternative = Literal["greater", "less", "two-sided"]

MAX_EXACT_PERMUTATIONS = 100_000
"""Up to this many distinct splits the permutation test enumerates them all (3 vs 3: 20)."""


def permutations(n_a: int, n_b: int) -> int:
    """Distinct ways to split the pooled values into samples of n_a and n_b."""
    return math.comb(n_a + n_b, n_a)


def permutation_p(a: Sequence[float], b: Sequence[float], alternative: Alternative = "greater") -> float:
    """p of a permutation test of mean a − mean b: exact (every split enumerated) up to
    :data:`MAX_EXACT_PERMUTATIONS`, else 99,999 seeded random splits. It needs no normality and no
    variance, so it also answers when both samples are constant (e.g. 8, 8, 8 vs 1, 1, 1: one-sided
    p = 1/20). NaN when a sample has fewer than 2 values (scipy's limit). The smallest possible
    one-sided p is 1 / permutations."""
    from scipy import stats

    x, y = _clean(a), _clean(b)
    if len(x) < 2 or len(y) < 2:
        return NAN
    exact = permutations(len(x), len(y)) <= MAX_EXACT_PERMUTATIONS
    result = stats.permutation_test(
        (x, y), lambda u, v, axis: np.mean(u, axis=axis) - np.mean(v, axis=axis), vectorized=True,
        permutation_type="independent", alternative=alternative,
        n_resamples=np.inf if exact else 99_999, rng=np.random.default_rng(0),
    )
    return float(result.pvalue)


def min_detectable_d(n_a: int, n_b: int, alpha: float = 0.05, alternative: Alternative = "greater") -> float:
    """The smallest |Cohen's d| whose t-test can reach ``alpha`` with these sample sizes; one-sided
    by default, as V7's hypotheses are directional (pooled degrees of freedom; Welch's are fewer, so
    the real threshold is higher)."""
    from scipy import stats

    if n_a < 2 or n_b < 2:
        return NAN
    tail = alpha / 2 if alternative == "two-sided" else alpha
    t_crit = stats.t.ppf(1 - tail, n_a + n_b - 2)
    return float(t_crit / math.sqrt(n_a * n_b / (n_a + n_b)))


def power(d: float, n_a: int, n_b: int, alpha: float = 0.05, alternative: Alternative = "greater") -> float:
    """Probability that a two-sample t-test detects a true effect of size ``d`` in the hypothesised
    direction (one-sided by default; ``"two-sided"`` counts either tail)."""
    from scipy import stats

    if n_a < 2 or n_b < 2 or math.isnan(d):
        return NAN
    df = n_a + n_b - 2
    ncp = abs(d) * math.sqrt(n_a * n_b / (n_a + n_b))
    if alternative == "two-sided":
        t_crit = stats.t.ppf(1 - alpha / 2, df)
        return float(stats.nct.sf(t_crit, df, ncp) + stats.nct.cdf(-t_crit, df, ncp))
    return float(stats.nct.sf(stats.t.ppf(1 - alpha, df), df, ncp))


@dataclass(frozen=True)
class Comparison:
    """One hypothesis test between two samples of per-run values, hypothesised ``a > b``
    (``direction="greater"``) or ``a < b`` (``"less"``). The verdict is one-sided, in the hypothesised
    direction, as is the report's minimum-detectable-effect caveat."""

    label: str
    a_name: str
    b_name: str
    a: tuple[float, ...]
    b: tuple[float, ...]
    t: float
    p: float
    """Two-sided p of Welch's test."""
    p_directional: float
    """One-sided p of Welch's test in the hypothesised direction."""
    d: float
    direction: Literal["greater", "less"] = "greater"
    alpha: float = 0.05
    g: float = NAN
    """Hedges' g: Cohen's d with the small-sample correction."""
    p_permutation: float = NAN
    """One-sided p of the permutation test in the hypothesised direction (exact for small samples)."""

    @classmethod
    def of(
        cls,
        label: str,
        a_name: str,
        a: Sequence[float],
        b_name: str,
        b: Sequence[float],
        direction: Literal["greater", "less"] = "greater",
        alpha: float = 0.05,
    ) -> Comparison:
        x, y = tuple(map(float, _clean(a))), tuple(map(float, _clean(b)))
        t, p = welch(x, y)
        _, p_dir = welch(x, y, alternative=direction)
        return cls(label, a_name, b_name, x, y, t, p, p_dir, cohens_d(x, y), direction, alpha,
                   hedges_g(x, y), permutation_p(x, y, direction))

    @property
    def n_a(self) -> int:
        return len(self.a)

    @property
    def n_b(self) -> int:
        return len(self.b)

    @property
    def mean_a(self) -> float:
        return float(np.mean(self.a)) if self.a else NAN

    @property
    def mean_b(self) -> float:
        return float(np.mean(self.b)) if self.b else NAN

    @property
    def diff(self) -> float:
        return self.mean_a - self.mean_b

    @property
    def testable(self) -> bool:
        return self.n_a >= 2 and self.n_b >= 2

    @property
    def separated(self) -> bool:
        """Complete separation: every value of one sample lies above every value of the other."""
        return bool(self.a and self.b and (min(self.a) > max(self.b) or max(self.a) < min(self.b)))

    @property
    def no_variance(self) -> bool:
        """Neither sample varies (Welch's t and Cohen's d are undefined; the permutation test is not)."""
        return self.testable and np.var(self.a) == 0 and np.var(self.b) == 0

    @property
    def min_permutation_p(self) -> float:
        """The smallest one-sided permutation p these sample sizes allow (3 vs 3: 1/20 = 0.05)."""
        return 1 / permutations(self.n_a, self.n_b) if self.a and self.b else NAN

    @property
    def as_hypothesised(self) -> bool | None:
        """Whether the observed difference points the hypothesised way (None: no data)."""
        if math.isnan(self.diff):
            return None
        return self.diff > 0 if self.direction == "greater" else self.diff < 0

    @property
    def p_verdict(self) -> float:
        """The p the verdict rests on, one-sided in the hypothesised direction: Welch's, or, where
        Welch's test is undefined (neither sample varies), the exact permutation p."""
        return self.p_permutation if self.no_variance else self.p_directional

    def significant_at(self, alpha: float) -> bool:
        return not math.isnan(self.p_verdict) and self.p_verdict < alpha

    @property
    def significant(self) -> bool:
        return self.significant_at(self.alpha)

    def _permutation_words(self) -> str:
        n = permutations(self.n_a, self.n_b)
        how = f"exact over {n} arrangements" if n <= MAX_EXACT_PERMUTATIONS else "99,999 random arrangements"
        floor = (f", the smallest possible with {self.n_a} vs {self.n_b} runs"
                 if math.isclose(self.p_permutation, self.min_permutation_p) else "")
        return f"permutation p = {decimal(self.p_permutation)} one-sided ({how}{floor})"

    def sentence(self) -> str:
        """The result in one plain sentence."""
        sign = ">" if self.direction == "greater" else "<"
        head = (f"{self.label}: {self.a_name} (n = {self.n_a}, mean {decimal(self.mean_a)}) vs "
                f"{self.b_name} (n = {self.n_b}, mean {decimal(self.mean_b)})")
        if not self.testable:
            return (f"{head}: cannot be tested, Welch's test needs at least 2 runs on each side "
                    f"(have {self.n_a} and {self.n_b}).")
        verdict = (f"significant at α = {self.alpha} (one-sided)" if self.significant
                   else f"not significant at α = {self.alpha} (one-sided)")
        if self.no_variance:
            if self.diff == 0:
                return f"{head}: every run of both groups has the same value, so there is no difference to test."
            above, below = (self.a_name, self.b_name) if self.diff > 0 else (self.b_name, self.a_name)
            way = "as hypothesised" if self.as_hypothesised else "opposite to the hypothesis"
            return (f"{head}: complete separation, every {above} run lies above every {below} run ({way}); neither "
                    f"sample varies, so Welch's t and Cohen's d are undefined; {self._permutation_words()}; {verdict}.")
        way = "as hypothesised" if self.as_hypothesised else "opposite to the hypothesis"
        separation = "; the samples are completely separated" if self.separated else ""
        return (f"{head}: difference {self.diff:+.3f} ({self.a_name} {sign} {self.b_name} hypothesised; observed {way}"
                f"{separation}), Welch t = {decimal(self.t, 2)}, p = {decimal(self.p)} two-sided / {decimal(self.p_directional)} "
                f"one-sided, {self._permutation_words()}, Cohen's d = {decimal(self.d, 2)}, Hedges' g = {decimal(self.g, 2)}; "
                f"{verdict}.")

    def row(self) -> list[str]:
        """A Markdown table row: label, means, n, difference, t, p two-sided, p one-sided, exact
        permutation p (one-sided), d, g."""
        d = "separated" if self.no_variance and self.diff != 0 else decimal(self.d, 2)
        return [self.label, f"{decimal(self.mean_a)} (n={self.n_a})", f"{decimal(self.mean_b)} (n={self.n_b})",
                decimal(self.diff), decimal(self.t, 2), decimal(self.p), decimal(self.p_directional), decimal(self.p_permutation),
                d, decimal(self.g, 2)]
