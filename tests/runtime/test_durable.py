"""Issue 12's fault trials that belong to the driver, run with the real commands: the seed baseline
through an outage, two runs on one results directory, SIGTERM, kill -9, fatal provider errors,
extending a finished run, and the local Ray on loopback."""

import dataclasses
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest
import ray

from negoray.chat import ChatFailure
from negoray.config import load_config
from negoray.driver import baseline_done
from negoray.evolution.backend import LocalBackend, baseline_jobs
from negoray.game.outcome import OutcomeKind
from negoray.results.lock import ResultsLock
from negoray.runtime.baseline import Baseline
from negoray.runtime.ray_reaper import descendants, process_table
from negoray.sim.faults import FaultConfig
from negoray.sim.model import SimModel
from negoray.sim.server import serve_in_subprocess
from negoray.tasks.negotiation import NegotiationTask
from negoray.tasks.negotiation.inputs import make_splits, negotiation_config
from negoray.tasks.negotiation.seeds import SEED_STRATEGIES

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
VOLATILE = {"latency_s", "wall_s", "cache_hit", "cache_hits", "attempts", "concurrency_limit"}

CONFIG = """
name = "durable"
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
endpoint_slots = 8
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "durable.toml"
    path.write_text(CONFIG)
    return path


STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def no_run_outlives_its_test():
    yield
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:  # a failed test left it running: its watchdog takes its Ray with it
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def start(config: Path, results: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    cmd = [sys.executable, str(ROOT / "experiments" / "full_12x10.py"), "--config", str(config),
           "--results", str(results), "--no-progress", *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={**os.environ, **(env or {})})
    STARTED.append(proc)
    return proc


def finish(proc: subprocess.Popen, timeout_s: float = 600) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout_s)
    return proc.returncode, out


def wait_for(condition, proc: subprocess.Popen, what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert proc.poll() is None, f"exited before {what}: {proc.stdout.read()}"
        assert time.monotonic() < deadline, f"no {what} after {timeout_s}s"
        time.sleep(0.2)


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def ray_tree(pid: int) -> dict[int, int]:
    """(pid -> start time) of the processes below ``pid``."""
    table = process_table()
    return {p: table[p][1] for p in descendants([pid], table)}


def stable(results: Path, name: str):
    df = ds.dataset(results / name, format="parquet").to_table().to_pandas()
    df = df.drop(columns=[c for c in df.columns if c in VOLATILE])
    return df.sort_values(list(df.columns)).reset_index(drop=True)


# -- item 1: the baseline pauses and retries like every phase ------------------------------------

class DownBackend(LocalBackend):
    """The provider is down for the first ``down_for`` batches (every negotiation an error)."""

    def __init__(self, down_for: int) -> None:
        smoke = load_config("smoke")
        super().__init__(SimModel(), NegotiationTask(negotiation_config(smoke)), smoke.seed)
        self.down_for, self.calls = down_for, 0

    async def play(self, jobs):
        self.calls += 1
        if self.calls > self.down_for:
            return await super().play(jobs)

        async def down(messages, params):
            raise ChatFailure("custom: the model is not loaded (No models loaded)")

        return await LocalBackend(down, self.task, self.seed).play(jobs)


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", object_store_memory=128 * 1024**2)
    yield
    ray.shutdown()


def test_the_seed_baseline_pauses_through_an_outage_and_is_written_only_complete(ray_cluster, tmp_path):
    smoke = load_config("smoke")
    config = dataclasses.replace(smoke, results=str(tmp_path), runtime=dataclasses.replace(smoke.runtime, pause_s=0.0))
    jobs = baseline_jobs(SEED_STRATEGIES, make_splits(config)["test"])
    baseline = Baseline.remote(config, jobs, DownBackend(down_for=5), (0.0, 0.0))
    assert ray.get(baseline.run.remote()) == len(jobs)  # more failed batches than infra_retries: it paused
    assert baseline_done(tmp_path)
    neg = ds.dataset(tmp_path / "negotiations", format="parquet").to_table().to_pandas()
    assert len(neg) == len(jobs) and (neg.outcome == OutcomeKind.ERROR.value).sum() == 0


def test_a_model_unloaded_for_longer_than_the_retries_leaves_no_error_in_the_baseline(tmp_path):
    """The issue's trial: `custom` (LM Studio's "No models loaded") unloaded for longer than one
    call's retries (here 3 attempts, under 3 s: `[provider] max_attempts`, so the outage need not
    outlast the default 8 attempts' ~62 s). Every phase, the baseline included, re-queues its failed
    negotiations until the model is back: the run ends with a complete baseline and no errors. The
    pauses start at 1 s (`[runtime] pause_s`; doubling: 1, 2, 4 s) so the run resumes soon after the
    8 s outage instead of after the default first pause of 30 s."""
    config = tmp_path / "quick-retries.toml"
    # no re-queue before pausing: 3 attempts take seconds, so only the pause can outlast the outage
    config.write_text("infra_retries = 0\n" + CONFIG + "pause_s = 1\n[provider]\nmax_attempts = 3\n")
    with serve_in_subprocess(FaultConfig(unload_after=0.0, unload_for=8.0, unload_from_first_request=True, seed=2)) as server:
        code, out = finish(start(config, tmp_path / "r", "--provider", "custom", "--base-url", str(server)))
        assert server.stats()["unloaded"] > 0
    assert code == 0, out
    neg = ds.dataset(tmp_path / "r" / "negotiations", format="parquet").to_table().to_pandas()
    baseline = neg[neg.phase == "baseline"]
    assert len(baseline) == 16 and (baseline.outcome == OutcomeKind.ERROR.value).sum() == 0
    assert (neg.outcome == OutcomeKind.ERROR.value).sum() == 0
    assert "nan)" not in (tmp_path / "r" / "report.md").read_text()


# -- items 2, 6, 11, 12: the lock, SIGTERM, kill -9, loopback -------------------------------------

def listening_addresses(pids: set[int]) -> set[str]:
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    found = set()
    for line in out.splitlines():
        if any(f"pid={p}," in line for p in pids):
            found.add(line.split()[3].rsplit(":", 1)[0])
    return found


@pytest.fixture
def slow_server():
    """A sim server slow enough that a run is still playing when the test acts."""
    with serve_in_subprocess(FaultConfig(latency_ms=300, slots=4, seed=1)) as server:
        yield ("--provider", "custom", "--base-url", str(server))


@pytest.fixture
def stalled_server():
    """A sim server whose model never loads: a run retries and pauses, and never completes its baseline
    however long the test takes to act (a merely slow server raced a loaded machine and lost)."""
    with serve_in_subprocess(FaultConfig(unload_after=0.0, seed=1)) as server:
        yield ("--provider", "custom", "--base-url", str(server))


def test_a_second_run_exits_2_naming_the_holder_and_sigterm_interrupts_with_130(config, tmp_path, stalled_server):
    first = start(config, tmp_path / "r", *stalled_server)
    wait_for(lambda: list((tmp_path / "r").glob("cache.sqlite*")), first, "the first run's cache")
    code, out = finish(start(config, tmp_path / "r", *stalled_server), timeout_s=120)
    assert code == 2 and f"PID {first.pid} on host {socket.gethostname()}" in out, out
    assert "Traceback" not in out

    if shutil.which("ss"):  # item 12: the local Ray listens on loopback only
        addresses = listening_addresses(set(ray_tree(first.pid)))
        assert addresses and addresses <= {"127.0.0.1", "[::ffff:127.0.0.1]"}, addresses

    os.killpg(first.pid, signal.SIGTERM)  # `ray job stop` sends it to the driver and its descendants
    code, out = finish(first, timeout_s=120)
    assert code == 130 and "Interrupted." in out, out
    assert "Traceback" not in out
    assert not baseline_done(tmp_path / "r")  # interrupted before it was complete: nothing final written


def test_kill_9_of_the_driver_takes_its_whole_ray_tree_and_its_lock_with_it(config, tmp_path, slow_server):
    proc = start(config, tmp_path / "r", *slow_server)
    names = ("raylet", "gcs_server", "ray::DashboardA", "ray::RuntimeEnv")
    wait_for(lambda: {comm(p) for p in ray_tree(proc.pid)} >= set(names), proc, "a running Ray")
    time.sleep(1.0)  # let the watchdog record the tree
    tree = ray_tree(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)  # the driver alone, not its process group
    proc.wait()
    deadline = time.monotonic() + 60
    while True:
        table = process_table()
        alive = {p: comm(p) for p, started in tree.items() if p in table and table[p][1] == started}
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not alive, f"left running after kill -9 of the driver: {alive}"
    ResultsLock(tmp_path / "r").acquire().release()  # the lock died with the driver: nothing stale


# -- item 5: a fatal provider error is one line and exit 1 or 2 -----------------------------------

class BadRequestServer(http.server.BaseHTTPRequestHandler):
    """Every chat completion is a 400 an OpenAI-style server would send."""

    def do_POST(self):
        body = json.dumps({"error": {"message": "max_tokens is too large for this model", "type": "invalid_request"}})
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def bad_request_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BadRequestServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_fatal_provider_errors_stop_the_run_in_one_line(config, tmp_path, bad_request_url):
    with serve_in_subprocess(FaultConfig(api_key="the-right-key")) as server:
        code, out = finish(start(config, tmp_path / "key", "--provider", "custom", "--base-url", str(server),
                                 env={"CUSTOM_API_KEY": "a-wrong-key"}))
    assert code == 2, out
    assert "negoray: error: custom rejected the API key (HTTP 401)" in out and "Traceback" not in out, out
    assert "a-wrong-key" not in out

    code, out = finish(start(config, tmp_path / "400", "--provider", "custom", "--base-url", bad_request_url))
    assert code == 1, out
    assert "negoray: error: custom: HTTP 400 bad request: max_tokens is too large" in out, out
    assert "Traceback" not in out


# -- item 3: more generations on a finished run ---------------------------------------------------

def test_a_finished_run_extended_by_more_generations_equals_a_run_of_that_length(config, tmp_path):
    code, out = finish(start(config, tmp_path / "extended"))
    assert code == 0, out
    code, out = finish(start(config, tmp_path / "extended", "--generations", "3"))
    assert code == 0, out
    assert json.loads((tmp_path / "extended" / "config.json").read_text())["generations"] == 3
    code, out = finish(start(config, tmp_path / "fresh", "--generations", "3"))
    assert code == 0, out
    for name in ("negotiations", "agents", "generations"):
        assert stable(tmp_path / "extended", name).equals(stable(tmp_path / "fresh", name)), name
    neg = stable(tmp_path / "extended", "negotiations")
    assert set(neg[neg.phase == "test"].generation) == {2}  # the old last generation's test is gone

    code, out = finish(start(config, tmp_path / "extended", "--generations", "2"))
    assert code == 2 and "a run can be extended, not shortened: use --generations 3 or more" in out, out
    assert json.loads((tmp_path / "extended" / "config.json").read_text())["generations"] == 3
