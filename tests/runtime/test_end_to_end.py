"""The real commands, end to end through Ray: a run, a resume, and a kill -9 in the middle."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from negoray.sim.faults import FaultConfig
from negoray.sim.server import serve_in_subprocess

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TABLES = ("negotiations", "calls", "agents", "generations")
VOLATILE = {"latency_s", "wall_s", "cache_hit", "cache_hits", "attempts", "concurrency_limit"}
REQUIRED = {
    "negotiations": {"run_id", "group", "generation", "agent_id", "scenario_id", "phase", "outcome",
                     "normalized_score", "pareto_optimal", "turns", "prompt_tokens", "completion_tokens"},
    "calls": {"run_id", "provider", "model", "prompt_tokens", "completion_tokens", "latency_s", "attempts",
              "cache_hit", "status"},
    "generations": {"run_id", "group", "generation", "mean_fitness", "best_fitness"},
    "agents": {"run_id", "agent_id", "parent_id", "generation", "origin", "prompt"},
}

CONFIG = """
name = "e2e"
seed = 5
groups = ["A", "C"]
runs_per_group = 1
population = 4
generations = 3
elites = 1
tournament_k = 2
gating_scenarios = 3
max_rounds = 4
[scenarios]
dev = 6
val = 10
test = 6
[runtime]
in_flight = 8
endpoint_slots = 16
"""


def run(config: Path, results: Path, *extra: str, wait: bool = True):
    cmd = [sys.executable, str(ROOT / "experiments" / "full_12x10.py"), "--config", str(config),
           "--results", str(results), "--no-progress", *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    if wait:
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, out
        return out
    return proc


def table(results: Path, name: str):
    return ds.dataset(results / name, format="parquet").to_table().to_pandas()


def stable(results: Path, name: str):
    df = table(results, name)
    df = df.drop(columns=[c for c in df.columns if c in VOLATILE])
    return df.sort_values(list(df.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "e2e.toml"
    path.write_text(CONFIG)
    return path


def test_run_then_resume_on_the_in_process_sim(config, tmp_path):
    out = run(config, tmp_path / "r")
    for name in TABLES:
        df = table(tmp_path / "r", name)
        assert REQUIRED[name] <= set(df.columns) and len(df) > 0
    neg = table(tmp_path / "r", "negotiations")
    assert set(neg.phase) == {"eval", "gating", "test", "baseline"}
    assert set(neg.outcome) <= {"agreed", "timeout", "error"}
    assert len(table(tmp_path / "r", "generations")) == 2 * 3
    assert (tmp_path / "r" / "report.md").exists(), out
    before = {name: stable(tmp_path / "r", name) for name in TABLES}
    run(config, tmp_path / "r")  # everything finished: a re-run changes nothing
    for name in TABLES:
        assert stable(tmp_path / "r", name).equals(before[name]), name


def test_kill_9_mid_generation_then_rerun_is_identical_and_pays_no_call_twice(config, tmp_path):
    faults = FaultConfig(latency_ms=20, slots=8, seed=1, honour_seed=True)  # answers like vLLM given a seed
    with serve_in_subprocess(faults) as server:
        flags = ("--provider", "custom", "--base-url", str(server))
        run(config, tmp_path / "clean", *flags)
        clean = server.stats()
        server.reset_stats()

        proc = run(config, tmp_path / "killed", *flags, wait=False)
        deadline = time.monotonic() + 300
        while not list((tmp_path / "killed" / "generations").glob("*.parquet")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
            time.sleep(0.2)
        time.sleep(0.5)  # now in the middle of the next generation
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and everything it started
        proc.wait()  # its watchdog (negoray.runtime.ray_reaper) kills what was left of its local Ray
        run(config, tmp_path / "killed", *flags)
        resumed = server.stats()

    for name in TABLES:
        assert stable(tmp_path / "killed", name).equals(stable(tmp_path / "clean", name)), name
    # The same distinct calls were made, and the killed-and-resumed run sent a call twice only if it
    # was in flight at the kill (sent, answer not yet cached): at most the negotiations in flight,
    # the tag's 16 units (`endpoint_slots`), two tasks of `in_flight = 8` -- beyond what the clean run itself repeated
    # (every call carries its own seed, so the clean run itself sends no request twice).
    assert clean["repeated_requests"] == 0 and clean["requests"] == clean["unique_requests"]
    assert resumed["unique_requests"] == clean["unique_requests"]
    repeats = resumed["requests"] - resumed["unique_requests"]
    assert repeats <= clean["requests"] - clean["unique_requests"] + 2 * 8, (clean, resumed)
