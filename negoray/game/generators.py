"""Deterministic scenario generators: the V7 pool (and its splits) and Lewis et al. 2017 rules.

Every generator takes a seed and draws from its own ``numpy.random.default_rng(seed)``,
so the same (n, seed) always gives the same scenarios and no global random state is used.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

import numpy as np

from negoray.game.scenario import Counts, Scenario

V7_POOL_SIZE = 200
V7_SPLITS: dict[str, int] = {"dev": 60, "val": 60, "test": 80}
"""The V7 experiment's split sizes, in pool order (dev, val, test)."""

LEWIS_TOTAL = 10
"""Each side's value of the whole pool in the Lewis et al. (FAIR) scenarios."""


def _check(n: int, seed: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def _ints(a: np.ndarray) -> Counts:
    """A length-3 numpy vector as a tuple of plain ints (Scenario rejects numpy ints)."""
    return tuple(int(x) for x in a)  # type: ignore[return-value]


def _draw_counts(rng: np.random.Generator, low: int, high: int, total_min: int, total_max: int) -> Counts:
    """Counts in [low, high] per type, rejection-sampled until the total is in range."""
    while True:
        counts = rng.integers(low, high + 1, size=3)
        if total_min <= counts.sum() <= total_max:
            return _ints(counts)


# ----------------------------------------------------------------------------- v7


def _v7_values(rng: np.random.Generator, counts: Counts, divergent: bool) -> tuple[Counts, Counts]:
    """Agent and opponent values in 0..3, resampled until both sides value the pool."""
    c = np.array(counts)
    while True:
        if divergent:
            agent = rng.choice(4, size=3, replace=False)  # a shuffled ranking of distinct values
            opp = np.clip(3 - agent + rng.integers(-1, 2, size=3), 0, 3)
        else:
            agent = rng.integers(0, 4, size=3)
            opp = np.clip(agent + rng.integers(-1, 2, size=3), 0, 3)
        if (c * agent).sum() > 0 and (c * opp).sum() > 0:
            return _ints(agent), _ints(opp)


def generate_v7(n: int = V7_POOL_SIZE, seed: int = 42) -> list[Scenario]:
    """The V7 pool: counts 1-5 (5-10 items), values 0-3, exactly ``n // 2`` divergent scenarios."""
    _check(n, seed)
    rng = np.random.default_rng(seed)
    divergent = rng.permutation(np.arange(n) < n // 2)
    out = []
    for i in range(n):
        counts = _draw_counts(rng, 1, 5, 5, 10)
        agent, opp = _v7_values(rng, counts, bool(divergent[i]))
        kind = "divergent" if divergent[i] else "similar"
        out.append(
            Scenario(f"v7-{seed}-{i:03d}", counts, agent, opp, meta={"generator": "v7", "seed": seed, "kind": kind})
        )
    return out


# ------------------------------------------------------------------------- lewis


@lru_cache(maxsize=None)
def lewis_value_vectors(counts: Counts, total: int = LEWIS_TOTAL) -> tuple[Counts, ...]:
    """Every non-negative value vector with ``sum(count * value) == total``."""
    ranges = [range(total // c + 1) for c in counts]
    return tuple(v for v in itertools.product(*ranges) if sum(c * x for c, x in zip(counts, v)) == total)


def lewis_pair_ok(agent: Sequence[int], opp: Sequence[int]) -> bool:
    """Every item worth something to at least one side, and some item worth something to both."""
    return all(a > 0 or o > 0 for a, o in zip(agent, opp)) and any(a > 0 and o > 0 for a, o in zip(agent, opp))


@lru_cache(maxsize=None)
def _lewis_pairs(counts: Counts) -> tuple[tuple[Counts, Counts], ...]:
    vecs = lewis_value_vectors(counts)
    return tuple((a, o) for a in vecs for o in vecs if lewis_pair_ok(a, o))


def generate_lewis(n: int, seed: int) -> list[Scenario]:
    """Lewis et al. 2017 rules: counts 1-4 (5-7 items), each side's pool worth exactly 10.

    Value pairs are drawn uniformly from all valid (agent, opponent) pairs for the counts.
    """
    _check(n, seed)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        while True:
            counts = _draw_counts(rng, 1, 4, 5, 7)
            pairs = _lewis_pairs(counts)
            if pairs:
                break
        agent, opp = pairs[int(rng.integers(len(pairs)))]
        out.append(Scenario(f"lewis-{seed}-{i:03d}", counts, agent, opp, meta={"generator": "lewis", "seed": seed}))
    return out


# ---------------------------------------------------------------------- registry

GENERATORS: dict[str, Callable[[int, int], list[Scenario]]] = {"v7": generate_v7, "lewis": generate_lewis}


def generate(name: str, n: int, seed: int) -> list[Scenario]:
    """Run the generator called ``name``; ValueError on an unknown name or ``n < 1``."""
    if name not in GENERATORS:
        raise ValueError(f"unknown scenario generator {name!r}; choose one of: {', '.join(GENERATORS)}")
    return GENERATORS[name](n, seed)


# ------------------------------------------------------------------------ splits


def split_scenarios(scenarios: Sequence[Scenario], sizes: Mapping[str, int] = V7_SPLITS) -> dict[str, list[Scenario]]:
    """Consecutive slices of ``scenarios`` in the order of ``sizes``; each tagged ``meta["split"]``.

    Scenarios beyond the sum of the sizes are left out.
    """
    if any(isinstance(k, bool) or not isinstance(k, int) or k < 0 for k in sizes.values()):
        raise ValueError(f"split sizes must be non-negative integers, got {dict(sizes)!r}")
    need = sum(sizes.values())
    if len(scenarios) < need:
        detail = " + ".join(f"{k} {v}" for k, v in sizes.items())
        raise ValueError(f"need {need} scenarios to split ({detail}), got {len(scenarios)}")
    out: dict[str, list[Scenario]] = {}
    start = 0
    for name, size in sizes.items():
        out[name] = [dataclasses.replace(s, meta={**s.meta, "split": name}) for s in scenarios[start : start + size]]
        start += size
    return out


def v7_splits(seed: int = 42) -> dict[str, list[Scenario]]:
    """The V7 experiment's dev/val/test scenarios: the 200-scenario v7 pool, split 60/60/80."""
    return split_scenarios(generate_v7(V7_POOL_SIZE, seed))
