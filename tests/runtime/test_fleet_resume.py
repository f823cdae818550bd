"""kill -9 of the driver with a pooled agent role, then the same command again: the negotiations are
identical to an uninterrupted run's (the cache is keyed on the pool's model, so a resume replays
whichever member answered first). The Ray path runs the same pool code in its workers; its own
kill -9 trial is `tests/runtime/test_end_to_end.py`."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from negoray.config import load_config
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
generations = 2
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


DRIVER = "from negoray import LocalExperiment, load_config; LocalExperiment(load_config({path!r})).run()"


def test_kill_9_with_a_pool_then_rerun_gives_identical_negotiations(tmp_path):
    """The driver (one process, no Ray: the pool logic is the same in a Ray worker) is killed -9
    mid-run; the same command again finishes with the tables of an uninterrupted run."""
    faults = FaultConfig(latency_ms=10, slots=4, honour_seed=True)  # both members answer like vLLM given a seed
    with serve_in_subprocess(faults) as a, serve_in_subprocess(faults) as b:
        clean, killed = tmp_path / "clean.toml", tmp_path / "killed.toml"
        clean.write_text(f'results = "{tmp_path / "clean"}"\n' + CONFIG.format(a=a, b=b))
        LocalExperiment(load_config(str(clean))).run()
        killed.write_text(f'results = "{tmp_path / "killed"}"\n' + CONFIG.format(a=a, b=b))
        cmd = [sys.executable, "-c", DRIVER.format(path=str(killed))]
        for attempt in ("killed", "again"):
            if attempt == "killed":
                proc = subprocess.Popen(cmd, cwd=ROOT)
                deadline = time.monotonic() + 120
                while not list((tmp_path / "killed" / "generations").glob("*.parquet")) and proc.poll() is None:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                time.sleep(0.2)  # now in the middle of the next generation
                os.kill(proc.pid, signal.SIGKILL)
                assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
            else:
                subprocess.run(cmd, cwd=ROOT, check=True, timeout=300)
        served = [a.stats()["requests"], b.stats()["requests"]]
    assert min(served) > 0, served  # both members served
    for name in ("negotiations", "calls", "agents"):
        assert stable(tmp_path / "killed", name).equals(stable(tmp_path / "clean", name)), name
