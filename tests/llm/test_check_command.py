"""`negoray check` gives every server a verdict, in seconds (issue 12 item 7): the real command
against small stdlib servers that answer HTML, JSON without ``data``, nothing at all, or echo the key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .echo_servers import misbehaving_server

ROOT = Path(__file__).resolve().parents[2]
CANARY = "sk-canary-check-4d2e9a7b1c"


def check(url, *extra):
    env = {**os.environ, "CUSTOM_API_KEY": CANARY, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "negoray.cli", "check", "--provider", "custom", "--base-url", url,
                           *extra], capture_output=True, text=True, env=env, timeout=60)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("mode,verdict", [
    ("ok", "OK"),
    ("html", "the tiny call answered HTTP 200 with text/html, not the JSON"),
    ("nodata", "the tiny call answered JSON without choices[0].message"),
    ("hang", "no answer within 1s"),
    ("echo400", "HTTP 400 bad request"),
])
def test_every_server_gets_a_verdict_without_a_traceback(mode, verdict):
    with misbehaving_server(mode) as url:
        code, out = check(url, "--timeout", "1")
    assert verdict in out, out
    assert "Traceback" not in out and CANARY not in out, out
    assert code == (0 if mode == "ok" else 1), out
    if mode == "html":
        assert "note: /models answered HTTP 200 with text/html" in out
    if mode == "nodata":
        assert "note: /models answered JSON without a 'data' list" in out


def test_a_bad_timeout_is_a_usage_error():
    code, out = check("http://127.0.0.1:9/v1", "--timeout", "0")
    assert code == 2 and "--timeout: must be a positive number" in out
