"""Batch mode is only a transport: a poc on `sim-serve` (seed-honouring) gives the same negotiations
on the batch tier as on the standard tier, and a driver killed (-9) with a batch in flight resumes by
collecting that batch: every request is submitted in exactly one batch."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from negoray.config import load_config, with_overrides
from negoray.local_experiment import LocalExperiment
from negoray.results.writer import read_table
from negoray.sim.faults import FaultConfig
from negoray.sim.server import serve_in_thread

ROOT = Path(__file__).resolve().parents[1]
TIMING = ["latency_s", "cache_hits", "cache_hit", "attempts"]
"""Columns that depend on the clock or on what the cache already held, not on the negotiation."""


def table(results, name):
    t = read_table(results, name)
    t = t.drop_columns([c for c in TIMING if c in t.column_names])
    keys = [c for c in ("run_id", "generation", "phase", "agent_id", "scenario_id", "replicate", "turn")
            if c in t.column_names]
    return t.sort_by([(c, "ascending") for c in keys])


def poc(results, profiles, tier):
    """The users' poc, made small: 2 generations, 6 dev and 8 test scenarios, 4 gating scenarios."""
    return with_overrides(load_config("poc"), results=str(results), generations=2, gating_scenarios=4,
                          **{"scenarios.dev": 6, "scenarios.test": 8, "provider.name": "simserve",
                             "provider.profiles": str(profiles), "provider.tier": tier})


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A seed-honouring sim-serve whose batches take 0.3 s, its profile, and the poc on the standard tier."""
    root = tmp_path_factory.mktemp("batch_mode")
    with serve_in_thread(FaultConfig(honour_seed=True, batch_delay_s=0.3)) as url:
        profiles = root / "profiles.toml"
        profiles.write_text(f'[providers.simserve]\nextends = "custom"\nbase_url = "{url}"\nbatch_gather_s = 0.05\n')
        LocalExperiment(poc(root / "standard", profiles, "standard")).run()
        yield url, profiles, root


def test_a_poc_in_batch_mode_plays_the_same_negotiations_as_on_the_standard_tier(served):
    url, profiles, root = served
    url.reset_stats()
    LocalExperiment(poc(root / "batch", profiles, "batch")).run()
    stats = url.stats()
    assert stats["requests"] == 0 and stats["batches"]["created"] > 0  # every call went in a batch
    for name in ("negotiations", "agents", "calls"):
        assert table(root / "batch", name).equals(table(root / "standard", name)), name


def test_a_driver_killed_with_a_batch_in_flight_resumes_by_collecting_it(served, tmp_path):
    url, profiles, root = served
    url.reset_stats()
    code = ("from negoray.config import load_config, with_overrides; from negoray.local_experiment import LocalExperiment; "
            f"import tests.test_batch_mode as t; LocalExperiment(t.poc({str(tmp_path / 'r')!r}, {str(profiles)!r}, 'batch')).run()")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    driver = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 120
        while not (url.stats()["batches"]["created"] >= 3 and url.stats()["batches"]["in_progress"] > 0):
            assert driver.poll() is None and time.monotonic() < deadline, "the driver ended before a batch was in flight"
            time.sleep(0.02)
        os.kill(driver.pid, signal.SIGKILL)
    finally:
        driver.wait(30)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=300)
    batches = url.stats()["batches"]
    assert batches["resubmitted"] == 0 and batches["unique_requests"] == batches["requests"]
    for name in ("negotiations", "agents"):
        assert table(tmp_path / "r", name).equals(table(root / "standard", name)), name
