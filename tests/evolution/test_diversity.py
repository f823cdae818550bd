"""Lineage counts and prompt similarity."""

import math

import pytest

from negoray.evolution.diversity import distinct_lineages, jaccard, prompt_similarity
from negoray.evolution.genome import Genome, Origin
from negoray.tasks.negotiation.seeds import SEED_STRATEGIES


def genome(i, lineage):
    return Genome(f"A1-g03-{i}", "A1", 3, "prompt", Origin.MUTATION, lineage)


def test_distinct_lineages():
    assert distinct_lineages([genome(0, "aggressive"), genome(1, "aggressive"), genome(2, "deadline")]) == 2
    assert distinct_lineages([]) == 0


def test_jaccard():
    assert jaccard("accept 40%", "Accept 40 %") == 1.0
    assert jaccard("accept 40%", "accept 50%") == pytest.approx(1 / 3)
    assert jaccard("", "") == 1.0
    assert jaccard("a b", "c d") == 0.0


def test_prompt_similarity():
    assert prompt_similarity(["one prompt"]) == 1.0
    assert math.isnan(prompt_similarity([]))
    assert prompt_similarity(["x y", "x y", "x y"]) == 1.0
    assert prompt_similarity(["a b", "a c", "d e"]) == pytest.approx((1 / 3 + 0 + 0) / 3)
    seeds = list(SEED_STRATEGIES.values())
    assert 0 < prompt_similarity(seeds) < prompt_similarity([seeds[0]] * 7 + [seeds[1]]) < 1
