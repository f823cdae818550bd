"""The proof of concept, end to end, against a server that answers like vLLM or llama.cpp given a seed
(`sim-serve --honour-seed`): no request is the same sample twice, and an elite re-evaluated in the
next generation plays fresh negotiations, not replays of its lucky (or unlucky) ones."""

import json
import subprocess
import sys

import pyarrow.dataset as ds
import pytest

from negoray.sim.faults import FaultConfig
from negoray.sim.server import serve_in_subprocess

from .test_end_to_end import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def poc(tmp_path_factory):
    """2 runs (groups C and D) x 2 generations of the poc; (results dir, the server's /stats)."""
    results = tmp_path_factory.mktemp("poc") / "r"
    with serve_in_subprocess(FaultConfig(honour_seed=True)) as server:
        proc = subprocess.run(
            [sys.executable, str(ROOT / "experiments" / "poc.py"), "--runs", "2", "--generations", "2",
             "--provider", "custom", "--base-url", str(server), "--results", str(results), "--no-progress"],
            cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return results, server.stats()


def table(results, name):
    return ds.dataset(results / name, format="parquet").to_table().to_pandas()


def test_a_poc_against_a_seed_honouring_server_sends_no_request_twice(poc):
    results, stats = poc
    assert stats["requests"] == stats["completed"] > 1000
    assert stats["repeated_requests"] == 0
    assert set(table(results, "generations").run_id) == {"C1", "D1"}


def test_an_elite_re_evaluated_in_generation_1_plays_fresh_negotiations(poc):
    results, _ = poc
    agents, negotiations = table(results, "agents"), table(results, "negotiations")
    dev = negotiations[negotiations.phase == "eval"]

    def texts(agent_id):
        return {row.scenario_id: [t["text"] for t in json.loads(row.transcript)["turns"]]
                for row in dev[dev.agent_id == agent_id].itertuples()}

    elites = agents[(agents.origin == "elite") & (agents.generation == 1)]
    assert len(elites) >= 2
    for elite in elites.itertuples():
        now, before = texts(elite.agent_id), texts(elite.parent_id)
        assert now.keys() == before.keys() and len(now) == 20
        differing = sum(now[s] != before[s] for s in now)
        assert differing >= len(now) // 2, (elite.agent_id, differing)
