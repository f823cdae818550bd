"""Tournament selection: ranking by fitness, elites, and k-way tournaments.

Fitness is a mapping agent id -> mean normalised dev score. NaN (every evaluation errored:
infrastructure failure is never a score) ranks below every number. Ties are broken by id, so
the result never depends on the mapping's insertion order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np


def _key(item: tuple[str, float]) -> tuple[int, float, str]:
    agent, value = item
    if math.isnan(value):
        return (1, 0.0, agent)
    return (0, -value, agent)


def rank(fitness: Mapping[str, float]) -> list[str]:
    """Agent ids best first; equal fitness goes to the smaller id; NaN last."""
    return [agent for agent, _ in sorted(((a, float(v)) for a, v in fitness.items()), key=_key)]


def elites(fitness: Mapping[str, float], n: int) -> list[str]:
    """The top ``n`` agents by :func:`rank` (all of them when ``n`` >= population)."""
    return rank(fitness)[: max(0, n)]


def tournament(fitness: Mapping[str, float], k: int, rng: np.random.Generator) -> str:
    """Draw ``k`` distinct contestants uniformly (``k`` capped at the population) and return the
    best of them by :func:`rank`'s order."""
    if not fitness:
        raise ValueError("tournament: empty population")
    if k < 1:
        raise ValueError(f"tournament: k must be >= 1, got {k}")
    ids = sorted(fitness)
    drawn = rng.choice(len(ids), size=min(k, len(ids)), replace=False)
    return rank({ids[i]: fitness[ids[i]] for i in drawn})[0]


def fill_by_tournament(fitness: Mapping[str, float], n_slots: int, k: int, rng: np.random.Generator) -> list[str]:
    """One parent id per slot, each from an independent tournament (parents may repeat)."""
    return [tournament(fitness, k, rng) for _ in range(n_slots)]
