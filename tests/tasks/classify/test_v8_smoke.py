"""A V8-shaped smoke run on the sim (v8_smoke, made tiny) through LocalExperiment: the tables carry the
task's columns, the report its own sections; kill -9 in the middle and a rerun give identical tables."""

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from negoray.config import load_config
from negoray.local_experiment import LocalExperiment
from negoray.results.report import write_report
from negoray.tasks.classify.score import VERDICTS
from negoray.tasks.classify.synthetic import SHIPPED

ROOT = Path(__file__).resolve().parents[3]
TABLES = ("negotiations", "calls", "agents", "generations")
VOLATILE = {"latency_s", "wall_s", "cache_hit", "cache_hits", "attempts", "concurrency_limit"}


def tiny(results: Path, generations: int = 2):
    """v8_smoke on the shipped data's first 80 examples (32 dev clients, 16 val, 32 test), 2 generations."""
    results.mkdir(parents=True, exist_ok=True)
    data = results.parent / "examples.jsonl"
    data.write_text("".join(SHIPPED.read_text().splitlines(keepends=True)[:80]))
    config = load_config(str(ROOT / "experiments" / "configs" / "v8_smoke.toml"))
    task = {**config.task, "data": str(data), "fractions": {"dev": 0.4, "val": 0.2}}
    return dataclasses.replace(config, results=str(results), generations=generations, task=task).validate()


def table(root: Path, name: str):
    return ds.dataset(root / name, format="parquet").to_table().to_pandas()


def stable(root: Path, name: str):
    df = table(root, name).drop(columns=list(VOLATILE), errors="ignore")
    return df.sort_values(list(df.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    results = tmp_path_factory.mktemp("v8") / "r"
    LocalExperiment(tiny(results)).run()
    return results


def test_the_tables_have_the_task_columns_and_the_market_choices(smoke):
    neg = table(smoke, "negotiations")
    assert {"domain", "label", "predicted", "verdict", "market_chosen"} <= set(neg.columns)
    assert set(neg.phase) == {"eval", "test", "baseline"}  # market groups only: no gating
    assert set(neg.outcome) <= {"scored", "error"} and set(neg.verdict) <= set(VERDICTS)
    assert neg.domain.nunique() == 4 and (neg.normalized_score == (neg.verdict == "correct")).all()
    evals = neg[neg.phase == "eval"]
    chosen = evals[evals.market_chosen]
    assert chosen.groupby(["run_id", "generation", "scenario_id"]).size().eq(1).all()  # one agent per client
    assert len(chosen) == evals.groupby(["run_id", "generation"]).scenario_id.nunique().sum()
    assert neg[neg.phase != "eval"].market_chosen.isna().all()
    agents, gens = table(smoke, "agents"), table(smoke, "generations")
    assert agents.dev_accuracy.between(0, 1).all() and agents.dev_unparseable_rate.notna().all()
    assert (agents.dev_accuracy == agents.dev_fitness).all()
    assert gens.accuracy.between(0, 1).all() and len(gens) == 2 * 2
    assert {"accuracy", "unparseable_rate"} <= set(gens.columns) and "dev_deal_rate" in agents.columns


def test_the_report_has_the_task_sections_and_no_v7_seed_styles(smoke):
    report = (smoke / "report.md").read_text()
    assert report.startswith("# classify results")
    for section in ("## Per-domain accuracy", "## Which agents each domain's clients chose", "## Specialisation"):
        assert section in report
    assert "| B1 | 1 | movie |" in report and "Seed baselines missing" not in report
    assert "aggressive" not in report and "could not be built" not in report


def test_a_task_that_cannot_be_built_is_named_and_its_sections_left_out(smoke, tmp_path):
    copy = shutil.copytree(smoke, tmp_path / "r")
    saved = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**saved, "task": {**saved["task"], "data": "gone.jsonl"}}))
    report = write_report(copy).read_text()
    assert "The task could not be built from config.json (ExperimentConfigError: task.data: gone.jsonl" in report
    assert "## Specialisation" not in report and "## Runs" in report


def test_kill_9_mid_run_then_rerun_gives_identical_tables(tmp_path, smoke):
    killed = tmp_path / "killed"
    script = ("from pathlib import Path; from negoray.local_experiment import LocalExperiment; "
              "from tests.tasks.classify.test_v8_smoke import tiny; "
              f"LocalExperiment(tiny(Path({str(killed)!r}))).run()")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not list((killed / "generations").glob("*.parquet")):  # a first generation is written
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "report.md").exists() and len(list((killed / "generations").glob("*.parquet"))) < 2 * 2
    LocalExperiment(tiny(killed)).run()
    for name in TABLES:
        assert stable(killed, name).equals(stable(smoke, name)), name


def test_the_generic_sections_speak_of_classifications_and_count_the_configs_runs(smoke, tmp_path):
    report = (smoke / "report.md").read_text()
    generic = report[:report.index("## Per-domain accuracy")]
    assert "classifications" in generic.splitlines()[2] and "| classifications | errors |" in generic
    assert "Classifications within a run" in generic and "| group / phase | classifications | error | scored |" in generic
    assert "negotiation" not in generic.lower() and "turns" not in generic
    # the config's groups (B, C) and its one run per group are all there: nothing missing on that count
    assert "Groups with no finished generation" not in generic and "plans" not in generic
    copy = shutil.copytree(smoke, tmp_path / "r")
    saved = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**saved, "groups": ["A", "B", "C"], "runs_per_group": 2}))
    text = write_report(copy).read_text()
    assert "Group B has 1 run(s) with results; the config plans 2." in text
    assert "Groups with no finished generation: A (tournament × reflective)." in text and "V7" not in text.split("## Runs")[0]
