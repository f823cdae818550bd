"""Issue 12 item 4: a canary API key against servers that echo the Authorization header (in a 400
and in a 500 body) never reaches stdout, stderr, the results directory or Ray's session logs."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.llm.echo_servers import misbehaving_server

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CANARY = "sk-canary-9f3b7c1e5a2d4f60b8e1"

CONFIG = """
name = "canary"
seed = 3
groups = ["A"]
runs_per_group = 1
population = 2
generations = 1
elites = 1
tournament_k = 2
gating_scenarios = 2
max_rounds = 2
infra_retries = 0
[scenarios]
dev = 2
val = 2
test = 2
[provider]
max_attempts = 3
[runtime]
in_flight = 4
endpoint_slots = 8
"""
FIXED = ("--concurrency", "16")
"""A fixed concurrency: an adaptive limit halved by every 500 only slows the run (issue 12 asks where
the key goes, not how fast a failing endpoint is served): 62 s -> 41 s for echo500-once."""


def sessions_since(started: float) -> list[Path]:
    """Ray session directories created by runs that began after ``started``."""
    root = Path("/tmp/ray")
    if not root.exists():
        return []
    return [p for p in root.glob("session_2*") if p.is_dir() and p.stat().st_mtime >= started - 1]


def files_holding(paths: list[Path], needle: bytes) -> list[str]:
    hits = []
    for base in paths:
        for f in (base.rglob("*") if base.is_dir() else [base]):
            try:
                if f.is_file() and not f.is_symlink() and needle in f.read_bytes():
                    hits.append(str(f))
            except OSError:
                pass
    return hits


@pytest.mark.parametrize("mode", ["echo400", "echo500-once"])
def test_a_canary_key_never_leaves_negoray(tmp_path, mode):
    config = tmp_path / "canary.toml"
    config.write_text(CONFIG)
    results = tmp_path / "results"
    env = {**os.environ, "CUSTOM_API_KEY": CANARY, "PYTHONPATH": str(ROOT)}
    started = time.time()
    with misbehaving_server(mode) as url:
        proc = subprocess.run(
            [sys.executable, str(ROOT / "experiments" / "poc.py"), "--config", str(config), "--results", str(results),
             "--provider", "custom", "--base-url", url, *FIXED], cwd=ROOT, env=env, capture_output=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert b"negoray" in out or proc.returncode == 0, out  # the run did something
    if mode == "echo400":
        assert proc.returncode != 0 and b"[redacted]" in out, out  # the fatal message is shown, the key is not
    assert CANARY.encode() not in out, out.decode(errors="replace")[-3000:]
    sessions = sessions_since(started)
    assert sessions, "the run left no Ray session logs to search"
    assert files_holding([results, *sessions], CANARY.encode()) == []


def test_a_canary_key_echoed_in_every_500_stays_out_of_the_pause_line_and_ray_logs(tmp_path):
    """Every call fails with the key in its body: the run pauses saying why (the status line, the
    population's log warning in Ray's session logs); Ctrl-C stops it. The key is in none of them."""
    config = tmp_path / "canary.toml"
    config.write_text(CONFIG)
    env = {**os.environ, "CUSTOM_API_KEY": CANARY, "PYTHONPATH": str(ROOT)}
    started = time.time()
    lines: list[str] = []
    with misbehaving_server("echo500") as url:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "experiments" / "poc.py"), "--config", str(config),
             "--results", str(tmp_path / "results"), "--provider", "custom", "--base-url", url, *FIXED],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            for line in proc.stderr:  # 3 attempts (max_attempts) take seconds before the first pause
                lines.append(line)
                if "paused:" in line or time.time() - started > 400:
                    break
            proc.send_signal(signal.SIGINT)
            lines += proc.communicate(timeout=120)[1].splitlines(keepends=True)
        finally:
            if proc.poll() is None:
                proc.kill()
    out = "".join(lines)
    assert "paused:" in out and "HTTP 500" in out and "[redacted]" in out, out[-3000:]
    assert CANARY not in out
    sessions = sessions_since(started)
    assert sessions and files_holding([tmp_path / "results", *sessions], CANARY.encode()) == []
    assert files_holding(sessions, b"negotiations failed"), "the pause warning reached Ray's logs"
