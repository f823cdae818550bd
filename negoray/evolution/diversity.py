"""Diversity measures for H2 (market keeps more diversity than tournament)."""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections.abc import Iterable, Sequence

from negoray.evolution.genome import Genome

_TOKEN = re.compile(r"[a-z0-9]+")


def distinct_lineages(genomes: Iterable[Genome]) -> int:
    """How many seed styles still have a descendant in the population."""
    return len({g.lineage for g in genomes})


def _tokens(prompt: str) -> frozenset[str]:
    return frozenset(_TOKEN.findall(prompt.lower()))


def jaccard(a: str, b: str) -> float:
    """Token-set Jaccard similarity ``|A ∩ B| / |A ∪ B|`` of lower-cased alphanumeric tokens
    (numbers count, so "50%" vs "40%" differ); 1.0 for two token-less prompts."""
    ta, tb = _tokens(a), _tokens(b)
    union = ta | tb
    return len(ta & tb) / len(union) if union else 1.0


def prompt_similarity(prompts: Sequence[str]) -> float:
    """Mean pairwise :func:`jaccard` similarity in [0, 1]: 1.0 for a single prompt, NaN for none.

    Token-set Jaccard rather than difflib's ratio: it is symmetric, independent of order and
    of line wrapping, and reads "same words, same thresholds" as similar, which is what a
    population converging on one strategy looks like.
    """
    if not prompts:
        return math.nan
    if len(prompts) == 1:
        return 1.0
    return statistics.fmean(jaccard(a, b) for a, b in itertools.combinations(prompts, 2))
