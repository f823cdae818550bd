"""The driver's rules, without starting Ray: the results lock, extending vs shortening a run,
and finding a fatal provider error through Ray's wrapping."""

import os
import socket

import pytest
import ray.exceptions

from negoray.evolution.genome import Genome, Origin
from negoray.evolution.run import RunState
from negoray.llm.errors import FatalProviderError
from negoray.runtime.checkpoint import resume_problem, save_checkpoint
from negoray.runtime.failures import fatal_cause
from negoray.runtime.results_lock import ResultsLock, ResultsLocked


def test_a_held_results_directory_is_refused_naming_the_holder(tmp_path):
    with ResultsLock(tmp_path):
        with pytest.raises(ResultsLocked, match=f"PID {os.getpid()} on host {socket.gethostname()}"):
            ResultsLock(tmp_path).acquire()
    ResultsLock(tmp_path).acquire().release()  # released: free again


def test_a_lock_file_left_behind_holds_nothing(tmp_path):
    (tmp_path / ".lock").write_text("PID 1 on host gone\n")  # a killed run's file: no flock on it
    lock = ResultsLock(tmp_path).acquire()
    assert (tmp_path / ".lock").read_text() == f"PID {os.getpid()} on host {socket.gethostname()}\n"
    lock.release()


def state(generation, done):
    population = [Genome("A1-g0-0", "A1", 0, "be firm", Origin.SEED, lineage="firm")]
    return RunState("A1", "A", 1, generation, population, {"A1-g0-0": {"gate_accepted": True}}, None, done)


@pytest.mark.parametrize("generation,done,asked,problem", [
    (3, True, 3, None), (3, True, 5, None), (3, True, 2, "use --generations 3 or more"),
    (2, False, 3, None), (2, False, 2, "use --generations 3 or more"), (2, False, 10, None),
])
def test_a_run_can_be_extended_not_shortened(tmp_path, generation, done, asked, problem):
    save_checkpoint(tmp_path, state(generation, done))
    found = resume_problem(tmp_path, ["A1", "B1"], asked)
    assert found is None if problem is None else problem in found


def test_a_finished_run_reopens_at_its_last_generation():
    """The done checkpoint is the last generation's input, so reopening replays that generation."""
    reopened = state(3, True).reopened()
    assert (reopened.generation, reopened.done) == (2, False)
    assert reopened.births == state(3, True).births and reopened.population == state(3, True).population
    with pytest.raises(ValueError):
        state(2, False).reopened()


def test_a_fatal_error_is_found_through_every_wrapping():
    fatal = FatalProviderError("groq rejected the API key (HTTP 401): check the key in GROQ_API_KEY", 2)
    in_task = ray.exceptions.RayTaskError("play_batch", "traceback", fatal)
    in_actor = ray.exceptions.RayTaskError("Population.run", "traceback", in_task.as_instanceof_cause())
    found = fatal_cause(in_actor)
    assert found is fatal and found.exit_code == 2
    assert fatal_cause(ray.exceptions.RayTaskError("f", "tb", ValueError("a bug"))) is None
