"""The real command against `sim-serve --think`: a thinking model given 200 tokens loses its turns to
truncation, and the results and the report count them as such -- never as errors."""

import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from negoray.sim.faults import FaultConfig
from negoray.sim.server import serve_in_subprocess

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
name = "think"
seed = 3
groups = ["A"]
runs_per_group = 1
population = 2
generations = 1
elites = 1
tournament_k = 2
gating_scenarios = 1
max_rounds = 2
[scenarios]
dev = 2
val = 2
test = 2
[runtime]
in_flight = 4
endpoint_slots = 8
"""


def test_thinking_on_with_200_tokens_is_counted_as_truncation_in_the_tables_and_the_report(tmp_path):
    config = tmp_path / "think.toml"
    config.write_text(CONFIG)
    results = tmp_path / "r"
    with serve_in_subprocess(FaultConfig(think_tokens=300)) as server:
        proc = subprocess.run(
            [sys.executable, str(ROOT / "experiments" / "full_12x10.py"), "--config", str(config),
             "--results", str(results), "--no-progress", "--provider", "vllm", "--base-url", str(server),
             "--thinking", "on", "--max-tokens", "200"],
            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    neg = ds.dataset(results / "negotiations", format="parquet").to_table().to_pandas()
    calls = ds.dataset(results / "calls", format="parquet").to_table().to_pandas()
    assert (neg.outcome != "error").all() and neg.error.isna().all()
    assert (neg.truncated == neg.turns).all() and neg.truncated.sum() > 0
    assert (neg.agent_unparseable + neg.opponent_unparseable).sum() == 0
    played = calls[calls.phase != "mutation"]
    assert (played.finish_reason == "length").all() and (played.reasoning_tokens > 0).all()
    assert '"reasoning":"<think>' not in neg.transcript.iloc[0] and '"reasoning":"Let me weigh' in neg.transcript.iloc[0]
    report = (results / "report.md").read_text()
    assert "lost to truncation" in report and "`--thinking off`" in report and "`--max-tokens`" in report
