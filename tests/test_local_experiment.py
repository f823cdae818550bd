"""`LocalExperiment`: a whole experiment in one process, without Ray, writing what `Experiment` writes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from negoray.config import ExperimentConfigError, load_config, with_overrides
from negoray.local_experiment import LocalExperiment
from negoray.results.writer import read_table

ROOT = Path(__file__).resolve().parents[1]
TIMING = ["latency_s", "cache_hits", "cache_hit", "concurrency_limit"]
"""Columns that depend on the clock (the adaptive limit learns from latency) or on what the cache
already held, not on the negotiation."""


def table(results, name):
    t = read_table(results, name)
    t = t.drop_columns([c for c in TIMING if c in t.column_names])
    keys = [c for c in ("run_id", "generation", "phase", "agent_id", "scenario_id", "replicate", "turn")
            if c in t.column_names]
    return t.sort_by([(c, "ascending") for c in keys])


def smoke(results, **overrides):
    return with_overrides(load_config("smoke"), results=str(results), **overrides)


def test_runs_every_run_and_the_baseline_without_ray(tmp_path):
    code = ("import sys; from negoray.config import load_config, with_overrides; "
            "from negoray.local_experiment import LocalExperiment; "
            f"LocalExperiment(with_overrides(load_config('smoke'), results={str(tmp_path / 'r')!r})).run(); "
            "assert 'ray' not in sys.modules, 'LocalExperiment imported Ray'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=300)
    results = tmp_path / "r"
    assert (results / "report.md").exists() and (results / "config.json").exists()
    assert set(read_table(results, "negotiations")["phase"].to_pylist()) == {"eval", "gating", "test", "baseline"}
    assert (results / "checkpoints" / "A1.json").exists()


def test_a_second_run_resumes_and_a_different_experiment_is_refused(tmp_path):
    LocalExperiment(smoke(tmp_path)).run()
    before = table(tmp_path, "negotiations")
    LocalExperiment(smoke(tmp_path)).run()  # everything on disk: nothing is played again
    assert table(tmp_path, "negotiations").equals(before)
    with pytest.raises(ExperimentConfigError, match="differs in: seed"):
        LocalExperiment(smoke(tmp_path, seed=8)).run()
    with pytest.raises(ExperimentConfigError, match="use --generations 2 or more"):
        LocalExperiment(smoke(tmp_path, generations=1)).run()


@pytest.mark.slow
def test_the_same_negotiations_and_agents_as_the_ray_experiment(tmp_path):
    """One config, both drivers, on the sim: identical negotiations, calls and agents tables."""
    LocalExperiment(smoke(tmp_path / "local")).run()
    cmd = [sys.executable, str(ROOT / "experiments" / "full_12x10.py"), "--config", "smoke",
           "--results", str(tmp_path / "ray"), "--no-progress"]
    subprocess.run(cmd, check=True, cwd=ROOT, timeout=300, env={**os.environ, "RAY_ADDRESS": "local"})
    for name in ("negotiations", "calls", "agents"):
        assert table(tmp_path / "local", name).equals(table(tmp_path / "ray", name)), name
