"""Issue 12 item 10 through the real command: in a log (no terminal) a request outstanding past
``runtime.stall_warn_s`` is reported as such, and calls/s counts calls."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.llm.echo_servers import misbehaving_server
from tests.runtime.test_redaction_e2e import CONFIG

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_a_slow_request_is_reported_in_the_log(tmp_path):
    config = tmp_path / "slow.toml"
    config.write_text(CONFIG + "stall_warn_s = 5\n")  # appended to the [runtime] table, the last one
    with misbehaving_server("slow-first") as url:
        proc = subprocess.run(
            [sys.executable, str(ROOT / "experiments" / "poc.py"), "--config", str(config),
             "--results", str(tmp_path / "r"), "--provider", "custom", "--base-url", url],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"1 request outstanding for \d+ s on custom", proc.stderr), proc.stderr
    assert "run A1: generation 0" in proc.stderr  # each status change is a line
