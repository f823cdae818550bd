"""Property tests for the deterministic scenario generators and the V7 splits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from negoray.game.fair import format_fair, parse_fair
from negoray.game.generators import (
    GENERATORS,
    V7_SPLITS,
    generate,
    generate_lewis,
    generate_v7,
    lewis_value_vectors,
    split_scenarios,
    v7_splits,
)
from negoray.game.scenario import Scenario, scenarios_from_json, scenarios_to_json

seeds = st.integers(min_value=0, max_value=2**63)
sizes = st.integers(min_value=1, max_value=60)


def content(scenarios: list[Scenario]) -> list[tuple]:
    return [(s.counts, s.agent_values, s.opponent_values) for s in scenarios]


def check_v7(s: Scenario, seed: int) -> None:
    assert all(1 <= c <= 5 for c in s.counts) and 5 <= sum(s.counts) <= 10
    assert all(0 <= v <= 3 for v in s.agent_values + s.opponent_values)
    assert s.agent_max > 0 and s.opponent_max > 0
    assert s.meta["generator"] == "v7" and s.meta["seed"] == seed
    if s.meta["kind"] == "divergent":
        assert len(set(s.agent_values)) == 3
        assert all(abs(o - (3 - a)) <= 1 for a, o in zip(s.agent_values, s.opponent_values))
    else:
        assert s.meta["kind"] == "similar"
        assert all(abs(o - a) <= 1 for a, o in zip(s.agent_values, s.opponent_values))


def check_lewis(s: Scenario, seed: int) -> None:
    assert all(1 <= c <= 4 for c in s.counts) and 5 <= sum(s.counts) <= 7
    assert s.agent_max == 10 and s.opponent_max == 10
    pairs = list(zip(s.agent_values, s.opponent_values))
    assert all(a > 0 or o > 0 for a, o in pairs)
    assert any(a > 0 and o > 0 for a, o in pairs)
    assert s.meta == {"generator": "lewis", "seed": seed}


@settings(max_examples=50, deadline=None)
@given(seed=seeds, n=sizes)
def test_v7_constraints(seed: int, n: int) -> None:
    pool = generate_v7(n, seed)
    assert len(pool) == n
    assert [s.id for s in pool] == [f"v7-{seed}-{i:03d}" for i in range(n)]
    for s in pool:
        check_v7(s, seed)
    assert sum(s.meta["kind"] == "divergent" for s in pool) == n // 2


@settings(max_examples=50, deadline=None)
@given(seed=seeds, n=sizes)
def test_lewis_constraints(seed: int, n: int) -> None:
    pool = generate_lewis(n, seed)
    assert len(pool) == n
    assert [s.id for s in pool] == [f"lewis-{seed}-{i:03d}" for i in range(n)]
    for s in pool:
        check_lewis(s, seed)


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(sorted(GENERATORS)), seed=seeds, n=sizes)
def test_deterministic(name: str, seed: int, n: int) -> None:
    a, b = generate(name, n, seed), generate(name, n, seed)
    assert a == b and [s.meta for s in a] == [s.meta for s in b]


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(sorted(GENERATORS)), seeds=st.lists(seeds, min_size=2, max_size=2, unique=True))
def test_different_seeds_differ(name: str, seeds: list[int]) -> None:
    a, b = (generate(name, 30, s) for s in seeds)
    assert content(a) != content(b)


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(sorted(GENERATORS)), seed=seeds, n=sizes)
def test_json_and_fair_round_trip(name: str, seed: int, n: int) -> None:
    pool = generate(name, n, seed)
    back = scenarios_from_json(scenarios_to_json(pool))
    assert back == pool and [s.meta for s in back] == [s.meta for s in pool]
    assert content(parse_fair(format_fair(pool))) == content(pool)


def test_v7_default_pool_and_splits() -> None:
    pool = generate_v7()
    assert len(pool) == 200 and sum(s.meta["kind"] == "divergent" for s in pool) == 100
    kinds = [s.meta["kind"] for s in pool]
    assert kinds != sorted(kinds)  # placement is shuffled
    splits = v7_splits()
    assert list(splits) == ["dev", "val", "test"]
    assert {k: len(v) for k, v in splits.items()} == V7_SPLITS
    flat = [s for part in splits.values() for s in part]
    assert [s.id for s in flat] == [s.id for s in pool]  # consecutive slices, in order
    assert content(flat) == content(pool)
    for name, part in splits.items():
        assert all(s.meta["split"] == name and s.meta["generator"] == "v7" for s in part)
    assert all("split" not in s.meta for s in pool)  # the pool itself is untouched


@settings(max_examples=20, deadline=None)
@given(seed=seeds)
def test_splits_disjoint(seed: int) -> None:
    splits = v7_splits(seed)
    ids = [s.id for part in splits.values() for s in part]
    assert len(ids) == len(set(ids)) == 200
    for name, part in splits.items():
        assert len(part) == V7_SPLITS[name]


@given(sizes=st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 10)), extra=st.integers(1, 5))
def test_split_scenarios_custom_sizes(sizes: dict[str, int], extra: int) -> None:
    pool = generate_v7(sum(sizes.values()) + extra, 1)
    out = split_scenarios(pool, sizes)
    assert list(out) == list(sizes)
    assert [len(v) for v in out.values()] == list(sizes.values())
    assert [s.id for v in out.values() for s in v] == [s.id for s in pool[: sum(sizes.values())]]


def test_split_too_small() -> None:
    with pytest.raises(ValueError, match=r"need 200 scenarios.*dev 60 \+ val 60 \+ test 80.*got 199"):
        split_scenarios(generate_v7(199, 0))


def test_generate_errors() -> None:
    with pytest.raises(ValueError, match=r"'nope'.*v7, lewis"):
        generate("nope", 5, 0)
    for name in GENERATORS:
        with pytest.raises(ValueError, match="n must be"):
            generate(name, 0, 0)
        with pytest.raises(ValueError, match="seed"):
            generate(name, 3, -1)


def test_lewis_value_vectors() -> None:
    vecs = lewis_value_vectors((1, 2, 3))
    assert (10, 0, 0) in vecs and (0, 2, 2) in vecs and (1, 3, 1) in vecs
    assert all(v[0] + 2 * v[1] + 3 * v[2] == 10 for v in vecs)
    assert len(vecs) == len(set(vecs)) == 14
