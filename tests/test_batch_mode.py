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
from negoray.sim.faults import FaultConfig
from negoray.sim.server import serve_in_thread
from tests.test_local_experiment import table

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def poc(results, profiles, tier):
    """The users' poc (groups C and D, population 4), made small: 2 generations of negotiations of at
    most 3 rounds, 4 dev and 4 test scenarios, 2 gating scenarios."""
    return with_overrides(load_config("poc"), results=str(results), generations=2, gating_scenarios=2, max_rounds=3,
                          **{"scenarios.dev": 4, "scenarios.test": 4, "provider.name": "simserve",
                             "provider.profiles": str(profiles), "provider.tier": tier})


class FreezableClock:
    """The server's clock: real time, or stopped (batches then stay in flight)."""

    def __init__(self):
        self.frozen = None

    def __call__(self):
        return self.frozen if self.frozen is not None else time.monotonic()


NO_REPORT = "import negoray.results.report as report; report.write_report = lambda root: root"
"""The runs here check tables, not the report (its figures take seconds)."""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A seed-honouring sim-serve (batches take 0.02 s on a clock the test can stop), its profile,
    and the poc on the standard tier."""
    root = tmp_path_factory.mktemp("batch_mode")
    clock = FreezableClock()
    with pytest.MonkeyPatch.context() as patch, \
            serve_in_thread(FaultConfig(honour_seed=True, batch_delay_s=0.02), clock=clock) as url:
        patch.setattr("negoray.results.report.write_report", lambda root: root)
        profiles = root / "profiles.toml"
        profiles.write_text(f'[providers.simserve]\nextends = "custom"\nbase_url = "{url}"\nbatch_gather_s = 0.01\n')
        LocalExperiment(poc(root / "standard", profiles, "standard")).run()
        yield url, profiles, root, clock


def test_a_poc_in_batch_mode_plays_the_same_negotiations_as_on_the_standard_tier(served):
    url, profiles, root, _ = served
    url.reset_stats()
    LocalExperiment(poc(root / "batch", profiles, "batch")).run()
    stats = url.stats()
    assert stats["requests"] == 0 and stats["batches"]["created"] > 0  # every call went in a batch
    batch_calls = table(root / "batch", "calls")
    assert set(batch_calls["tier"].to_pylist()) <= {"batch", "standard"} and "batch" in batch_calls["tier"].to_pylist()
    assert set(table(root / "standard", "calls")["tier"].to_pylist()) <= {"standard", None}
    for name in ("negotiations", "agents", "calls"):  # the same but for the tier each call went out on
        assert table(root / "batch", name).drop_columns(["tier"] if name == "calls" else []).equals(
            table(root / "standard", name).drop_columns(["tier"] if name == "calls" else [])), name


def test_a_driver_killed_with_a_batch_in_flight_resumes_by_collecting_it(served, tmp_path):
    url, profiles, root, clock = served
    url.reset_stats()
    code = (f"{NO_REPORT}; from negoray.config import load_config, with_overrides; from negoray.local_experiment import LocalExperiment; "
            f"import tests.test_batch_mode as t; LocalExperiment(t.poc({str(tmp_path / 'r')!r}, {str(profiles)!r}, 'batch')).run()")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    driver = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 120

        def wait_for(condition):
            while not condition(url.stats()["batches"]):
                assert driver.poll() is None and time.monotonic() < deadline, "the driver ended too early"
                time.sleep(0.05)

        wait_for(lambda b: b["created"] >= 2)
        clock.frozen = time.monotonic()  # batches created from now on stay in flight
        wait_for(lambda b: b["in_progress"] > 0)
        os.kill(driver.pid, signal.SIGKILL)
    finally:
        driver.wait(30)
        clock.frozen = None
    assert url.stats()["batches"]["in_progress"] > 0  # killed with a batch in flight
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=300)
    batches = url.stats()["batches"]
    assert batches["resubmitted"] == 0 and batches["unique_requests"] == batches["requests"]
    for name in ("negotiations", "agents"):
        assert table(tmp_path / "r", name).equals(table(root / "standard", name)), name
