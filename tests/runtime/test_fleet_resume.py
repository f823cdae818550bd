"""kill -9 of the driver with a pooled agent role, then the same command again: the negotiations are
identical to an uninterrupted run's (the cache is keyed on the pool's model, so a resume replays
whichever member answered first)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from negoray.config import load_config, with_overrides
from negoray.local_experiment import LocalExperiment
from negoray.sim.faults import FaultConfig
from negoray.sim.server import serve_in_subprocess

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
VOLATILE = {"latency_s", "wall_s", "cache_hit", "cache_hits", "attempts", "endpoint"}

CONFIG = """
name = "fleet-resume"
seed = 3
groups = ["A"]
runs_per_group = 1
population = 3
generations = 3
elites = 1
tournament_k = 2
gating_scenarios = 2
max_rounds = 3
[scenarios]
dev = 3
val = 4
test = 2
[runtime]
in_flight = 4
endpoint_slots = 8
[provider]
name = "custom"
base_url = "{a}"
max_concurrency = 4
pool = [{{ base_url = "{b}" }}]
"""


def stable(results: Path, name: str):
    df = ds.dataset(results / name, format="parquet").to_table().to_pandas()
    df = df.drop(columns=[c for c in df.columns if c in VOLATILE])
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def test_kill_9_with_a_pool_then_rerun_gives_identical_negotiations(tmp_path):
    faults = FaultConfig(latency_ms=40, slots=4, honour_seed=True)  # both members answer like vLLM given a seed
    with serve_in_subprocess(faults) as a, serve_in_subprocess(faults) as b:
        path = tmp_path / "fleet.toml"
        path.write_text(CONFIG.format(a=a, b=b))
        LocalExperiment(with_overrides(load_config(str(path)), results=str(tmp_path / "clean"))).run()
        cmd = [sys.executable, str(ROOT / "experiments" / "full_12x10.py"), "--config", str(path),
               "--results", str(tmp_path / "killed"), "--no-progress"]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        deadline = time.monotonic() + 300
        while not list((tmp_path / "killed" / "generations").glob("*.parquet")) and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.3)  # now in the middle of the next generation
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, again.stdout + again.stderr
        served = [a.stats()["requests"], b.stats()["requests"]]
    assert min(served) > 0, served  # both members served
    for name in ("negotiations", "calls", "agents"):
        assert stable(tmp_path / "killed", name).equals(stable(tmp_path / "clean", name)), name
