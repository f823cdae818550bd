"""Checkpoints: what a resume may ask for (extend, never shorten), reopening, the store."""

import pytest

from negoray.evolution.checkpoint import CheckpointStore
from negoray.evolution.genome import Genome, Origin
from negoray.evolution.loop import RunState


def state(generation, done):
    population = [Genome("A1-g0-0", "A1", 0, "be firm", Origin.SEED, lineage="firm")]
    return RunState("A1", "A", 1, generation, population, {"A1-g0-0": {"gate_accepted": True}}, None, done)


@pytest.mark.parametrize("generation,done,asked,problem", [
    (3, True, 3, None), (3, True, 5, None), (3, True, 2, "use --generations 3 or more"),
    (2, False, 3, None), (2, False, 2, "use --generations 3 or more"), (2, False, 10, None),
])
def test_a_run_can_be_extended_not_shortened(tmp_path, generation, done, asked, problem):
    CheckpointStore(tmp_path).save(state(generation, done))
    found = CheckpointStore(tmp_path).resume_problem(["A1", "B1"], asked)
    assert found is None if problem is None else problem in found


def test_a_finished_run_reopens_at_its_last_generation():
    """The done checkpoint is the last generation's input, so reopening replays that generation."""
    reopened = state(3, True).reopened()
    assert (reopened.generation, reopened.done) == (2, False)
    assert reopened.births == state(3, True).births and reopened.population == state(3, True).population
    with pytest.raises(ValueError):
        state(2, False).reopened()


def test_a_checkpoint_round_trips_and_a_missing_one_is_none(tmp_path):
    store = CheckpointStore(tmp_path)
    assert store.load("A1") is None
    store.save(state(2, False))
    assert store.load("A1") == state(2, False)
    assert store.path("A1") == tmp_path / "checkpoints" / "A1.json"
