"""The statistics the report needs: Welch's t-test, Cohen's d, what n runs can detect, Gini and HHI.

Every function takes plain sequences, ignores NaN values and answers NaN (never raises) when a
sample is too small: a partial experiment must still produce a report.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

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


def min_detectable_d(n_a: int, n_b: int, alpha: float = 0.05) -> float:
    """The smallest |Cohen's d| whose two-sided t-test can reach ``alpha`` with these sample sizes
    (pooled degrees of freedom; Welch's are fewer, so the real threshold is higher)."""
    from scipy import stats

    if n_a < 2 or n_b < 2:
        return NAN
    t_crit = stats.t.ppf(1 - alpha / 2, n_a + n_b - 2)
    return float(t_crit / math.sqrt(n_a * n_b / (n_a + n_b)))


def power(d: float, n_a: int, n_b: int, alpha: float = 0.05) -> float:
    """Probability that a two-sided two-sample t-test detects a true effect of size ``d``."""
    from scipy import stats

    if n_a < 2 or n_b < 2 or math.isnan(d):
        return NAN
    df = n_a + n_b - 2
    t_crit = stats.t.ppf(1 - alpha / 2, df)
    ncp = abs(d) * math.sqrt(n_a * n_b / (n_a + n_b))
    return float(stats.nct.sf(t_crit, df, ncp) + stats.nct.cdf(-t_crit, df, ncp))


def gini(values: Sequence[float]) -> float:
    """Gini coefficient of non-negative amounts (0: equal shares, towards 1: one holder takes all)."""
    x = np.sort(_clean(values))
    if len(x) == 0 or x.sum() <= 0:
        return NAN
    n = len(x)
    return float((2 * np.arange(1, n + 1) - n - 1).dot(x) / (n * x.sum()))


def hhi(values: Sequence[float]) -> float:
    """Herfindahl-Hirschman index: the sum of squared shares (1/n: equal shares, 1: monopoly)."""
    x = _clean(values)
    if len(x) == 0 or x.sum() <= 0:
        return NAN
    shares = x / x.sum()
    return float((shares**2).sum())


def _fmt(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.{digits}f}"


@dataclass(frozen=True)
class Comparison:
    """One hypothesis test between two samples of per-run values, hypothesised ``a > b``
    (``direction="greater"``) or ``a < b`` (``"less"``)."""

    label: str
    a_name: str
    b_name: str
    a: tuple[float, ...]
    b: tuple[float, ...]
    t: float
    p: float
    """Two-sided p of Welch's test."""
    p_directional: float
    """One-sided p in the hypothesised direction."""
    d: float
    direction: Literal["greater", "less"] = "greater"
    alpha: float = 0.05

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
        return cls(label, a_name, b_name, x, y, t, p, p_dir, cohens_d(x, y), direction, alpha)

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
    def as_hypothesised(self) -> bool | None:
        """Whether the observed difference points the hypothesised way (None: no data)."""
        if math.isnan(self.diff):
            return None
        return self.diff > 0 if self.direction == "greater" else self.diff < 0

    @property
    def significant(self) -> bool:
        return not math.isnan(self.p_directional) and self.p_directional < self.alpha

    def sentence(self) -> str:
        """The result in one plain sentence."""
        sign = ">" if self.direction == "greater" else "<"
        head = (f"{self.label}: {self.a_name} (n = {self.n_a}, mean {_fmt(self.mean_a)}) vs "
                f"{self.b_name} (n = {self.n_b}, mean {_fmt(self.mean_b)})")
        if not self.testable:
            return (f"{head}: cannot be tested, Welch's test needs at least 2 runs on each side "
                    f"(have {self.n_a} and {self.n_b}).")
        if math.isnan(self.t):
            return f"{head}: no variation in either sample, so no test is possible."
        way = "as hypothesised" if self.as_hypothesised else "opposite to the hypothesis"
        verdict = (f"significant at α = {self.alpha} (one-sided)" if self.significant
                   else f"not significant at α = {self.alpha}")
        return (f"{head}: difference {self.diff:+.3f} ({self.a_name} {sign} {self.b_name} hypothesised; observed {way}), "
                f"Welch t = {_fmt(self.t, 2)}, p = {_fmt(self.p)} two-sided / {_fmt(self.p_directional)} one-sided, "
                f"Cohen's d = {_fmt(self.d, 2)}; {verdict}.")

    def row(self) -> list[str]:
        """A Markdown table row: label, means, n, difference, t, p, one-sided p, d."""
        return [self.label, f"{_fmt(self.mean_a)} (n={self.n_a})", f"{_fmt(self.mean_b)} (n={self.n_b})",
                _fmt(self.diff), _fmt(self.t, 2), _fmt(self.p), _fmt(self.p_directional), _fmt(self.d, 2)]
