"""The one driver loop (`negoray.driver.drive`) on the in-process sim, without Ray: it writes and
checkpoints every generation, a stopped run resumes to the same tables, and a finished run extends."""

import asyncio

import pyarrow.compute as pc

from negoray.config import load_config, with_overrides
from negoray.driver import drive, starting_state
from negoray.evolution.backend import LocalBackend
from negoray.evolution.checkpoint import CheckpointStore
from negoray.evolution.loop import Evolution
from negoray.results.writer import ResultsWriter, read_table
from negoray.sim.model import SimModel
from negoray.tasks.negotiation import NegotiationTask
from negoray.tasks.negotiation.inputs import make_splits, negotiation_config

SMOKE = load_config("smoke")
TIMING = ["latency_s", "cache_hits"]
"""Columns that depend on the clock or on what the cache already held, not on the negotiation."""


def evolution(config):
    backend = LocalBackend(SimModel(), NegotiationTask(negotiation_config(config)), config.seed)
    return Evolution(config, "A1", "A", 1, make_splits(config), backend, task=backend.task)


def go(config, results, **kwargs):
    return asyncio.run(drive(evolution(config), ResultsWriter(results), CheckpointStore(results),
                             prices=(0.0, 0.0), **kwargs))


def table(results, name):
    t = read_table(results, name)
    t = t.drop_columns([c for c in TIMING if c in t.column_names])
    return t.sort_by([(c, "ascending") for c in ("generation", "agent_id") + (("scenario_id",) if "scenario_id" in t.column_names else ())])


def test_every_generation_is_written_then_checkpointed(tmp_path):
    seen = []
    final = go(SMOKE, tmp_path, on_state=lambda s: seen.append((s.generation, s.done)),
               on_generation=lambda out, tables: seen.append(("written", out.state.generation)))
    assert final.done and final.generation == SMOKE.generations
    assert seen == [(0, False), ("written", 0), (1, False), ("written", 1), (2, True)]
    assert CheckpointStore(tmp_path).load("A1") == final
    assert sorted(pc.unique(read_table(tmp_path, "generations")["generation"]).to_pylist()) == [0, 1]


def test_a_stopped_run_resumes_to_the_tables_of_an_uninterrupted_one(tmp_path):
    go(SMOKE, tmp_path / "straight")
    played = []
    stopped = go(SMOKE, tmp_path / "resumed", should_stop=lambda: bool(played),
                 on_generation=lambda out, tables: played.append(out))
    assert (stopped.generation, stopped.done, len(played)) == (1, False, 1)
    go(SMOKE, tmp_path / "resumed")  # a new process: starts from the checkpoint
    for name in ("negotiations", "agents", "calls"):
        assert table(tmp_path / "resumed", name).equals(table(tmp_path / "straight", name)), name


def test_a_finished_run_is_extended_when_generations_grow(tmp_path):
    go(SMOKE, tmp_path)
    longer = with_overrides(SMOKE, generations=3)
    assert starting_state(evolution(longer), CheckpointStore(tmp_path)).generation == 1  # replays the old last one
    final = go(longer, tmp_path)
    assert final.done and final.generation == 3
    tested = read_table(tmp_path, "negotiations").filter(pc.equal(pc.field("phase"), "test"))
    assert pc.unique(tested["generation"]).to_pylist() == [2]  # the test moved to the new last generation


def test_without_a_writer_or_checkpoints_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outs = []
    final = asyncio.run(drive(evolution(SMOKE), None, None, prices=(0.0, 0.0),
                              on_generation=lambda out, tables: outs.append(out)))
    assert final.done and [o.state.generation for o in outs] == [0, 1]
    assert list(tmp_path.iterdir()) == []
