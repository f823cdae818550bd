"""gate(): tolerance modes, pairing, empty and NaN inputs."""

import math
import statistics

import pytest

from negoray.evolution.gating import gate

PARENT = [0.6, 0.4, 0.7, 0.5, 0.3, 0.8, 0.55, 0.45, 0.65, 0.35]


def test_equal_child_is_accepted_in_every_mode():
    for tol in ("se", "strict", 0.05):
        d = gate(PARENT, PARENT, tol)
        assert d.accepted and d.child_mean == d.parent_mean and d.n == 10


def test_much_worse_child_is_rejected():
    worse = [s - 0.3 for s in PARENT]
    for tol in ("se", "strict", 0.05):
        assert not gate(worse, PARENT, tol).accepted


def test_strict_rejects_slightly_worse_se_accepts_noisy_slightly_worse():
    noise = [0.08, -0.07, 0.06, -0.09, 0.05, -0.06, 0.07, -0.08, 0.04, -0.02]
    child = [p + e - 0.01 for p, e in zip(PARENT, noise)]
    assert statistics.fmean(child) < statistics.fmean(PARENT)
    assert not gate(child, PARENT, "strict").accepted
    d = gate(child, PARENT, "se")
    assert d.accepted and d.paired and d.tolerance > 0.01


def test_paired_se_is_stdev_of_differences_over_sqrt_n():
    child = [0.5, 0.7, 0.2, 0.9]
    parent = [0.4, 0.8, 0.3, 0.6]
    diffs = [c - p for c, p in zip(child, parent)]
    d = gate(child, parent, "se")
    assert d.paired
    assert d.tolerance == pytest.approx(statistics.stdev(diffs) / 2)


def test_unpaired_se_when_lengths_differ():
    child = [0.5, 0.7, 0.2]
    parent = [0.4, 0.8, 0.3, 0.6]
    d = gate(child, parent, "se")
    assert not d.paired and d.n == 3
    assert d.tolerance == pytest.approx(math.sqrt(statistics.variance(child) / 3 + statistics.variance(parent) / 4))


def test_numeric_margin():
    child = [s - 0.04 for s in PARENT]
    assert gate(child, PARENT, 0.05).accepted
    assert not gate(child, PARENT, 0.03).accepted
    assert gate(child, PARENT, 0.05).tolerance == 0.05


def test_single_scenario_has_zero_se():
    assert gate([0.5], [0.5], "se").tolerance == 0.0
    assert not gate([0.49], [0.5], "se").accepted


def test_empty_rejects():
    for child, parent in (([], []), ([], [0.5]), ([0.5], [])):
        d = gate(child, parent, "se")
        assert not d.accepted and d.tolerance == 0.0


def test_nan_pairs_are_dropped():
    d = gate([0.5, math.nan, 0.7], [0.5, 0.1, math.nan], "strict")
    assert d.n == 1 and d.accepted and d.child_mean == 0.5
    assert not gate([math.nan], [0.5], "se").accepted


def test_bad_tolerance():
    with pytest.raises(ValueError):
        gate([0.5], [0.5], "loose")
