"""The driver's rules, without starting Ray: the results lock and finding a fatal provider error
through Ray's wrapping (extending vs shortening a run: tests/evolution/test_checkpoint.py)."""

import os
import socket

import pytest
import ray.exceptions

from negoray.llm.errors import FatalProviderError
from negoray.results.lock import ResultsLock, ResultsLocked
from negoray.runtime.failures import fatal_cause


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


def test_a_fatal_error_is_found_through_every_wrapping():
    fatal = FatalProviderError("groq rejected the API key (HTTP 401): check the key in GROQ_API_KEY", 2)
    in_task = ray.exceptions.RayTaskError("play_batch", "traceback", fatal)
    in_actor = ray.exceptions.RayTaskError("Population.run", "traceback", in_task.as_instanceof_cause())
    found = fatal_cause(in_actor)
    assert found is fatal and found.exit_code == 2
    assert fatal_cause(ray.exceptions.RayTaskError("f", "tb", ValueError("a bug"))) is None
