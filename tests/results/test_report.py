"""The report on a full synthetic experiment and on partial ones; the `negoray report` command."""

import json
import shutil

import numpy as np
import pytest

from negoray.cli import main
from negoray.results.report import FIGURES, write_report
from negoray.results.writer import ResultsWriter
from tests.results.synthetic import WRITE, build, generation_tables

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def full_report(full):
    return write_report(full)


def test_full_report_has_every_section_and_figure(full, full_report):
    assert full_report == full / "report.md"
    text = full_report.read_text()
    for name in FIGURES:
        png = full / "figures" / f"{name}.png"
        assert png.exists() and png.stat().st_size > 5000, name
        assert png.read_bytes()[:8] == PNG
        assert f"figures/{name}.png" in text
    assert "Nothing: every group" in text and "skipped" not in text
    for heading in ("## Runs", "## Fitness over generations", "## Test scores", "### H1", "### H2", "### H3",
                    "What n = 3 runs per group can and cannot show", "## Gating", "## Diversity and market concentration",
                    "## Outcomes", "## Tokens and cost"):
        assert heading in text, heading
    assert "Welch t =" in text and "Cohen's d" in text and "Hedges' g" in text
    assert "one-sided t-test at α = 0.05 can only come out significant when Cohen's d ≥ 1.74" in text
    assert "exact permutation p (one-sided)" in text and "1/20 = 0.05" in text
    assert "### What the design itself confounds" in text
    assert "replaces 2 of 8 agents" in text and "replaces 6 of 8" in text and "only 9 rounds of variation" in text
    assert "Client choice: softmax `standard` at temperature 2.0" in text and "HHI of a uniform random choice" in text
    assert "| mutation |" in text and "| baseline |" in text
    assert "could not be computed" not in text


def test_report_is_repeatable(full, full_report):
    first = full_report.read_text()
    assert write_report(full).read_text() == first


def test_partial_report_lists_what_is_missing(tmp_path, pool):
    build(tmp_path, pool, groups=("D",), runs=2, generations=2, test=False, baseline=False)
    # a run that has started (calls written) but finished no generation, and one that is behind
    ResultsWriter(tmp_path).write_extra("calls", "D3_partial", [])
    w = ResultsWriter(tmp_path)
    tables = generation_tables("D4", "D", 0, pool, np.random.default_rng(1))[:4]
    w.write_generation("D4", 0, *tables, **WRITE)
    text = write_report(tmp_path).read_text()
    missing = text.split("## What is missing")[1].split("## Runs")[0]
    assert "A (tournament × reflective)" in missing and "C (market × reflective)" in missing
    assert "No test phase yet" in missing and "No seed baselines yet" in missing
    assert "cannot be tested yet: H1" in missing and "H3 (needs" in missing
    assert "D4 (at 0)" in missing
    assert "Figure `test_scores` skipped" in missing and "Figure `market_concentration` skipped" in missing
    assert "Cannot be computed on the test split yet" in text
    assert "H2" in text and "Cannot be computed yet" in text
    figures = {p.stem for p in (tmp_path / "figures").glob("*.png")}
    assert figures == {"generation_curves", "gating", "diversity", "outcomes", "usage"}
    assert "could not be computed" not in text


def test_report_with_only_baselines(tmp_path, pool):
    build(tmp_path, pool, groups=(), baseline=True)
    text = write_report(tmp_path).read_text()
    assert "Groups with no finished generation" in text and (tmp_path / "figures" / "test_scores.png").exists()
    assert "could not be computed" not in text


def test_figures_that_can_no_longer_be_drawn_are_removed(tmp_path, full, full_report):
    root = tmp_path / "copy"
    shutil.copytree(full, root)
    shutil.rmtree(root / "generations")
    text = write_report(root).read_text()
    assert not (root / "figures" / "generation_curves.png").exists()
    assert "Runs without any finished generation" in text


def test_cli_report(full, full_report, tmp_path, capsys):
    assert main(["report", str(full)]) == 0
    assert capsys.readouterr().out.strip() == str(full / "report.md")
    assert main(["report", str(tmp_path)]) == 2
    assert "no results" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nope")]) == 2


def test_report_states_the_market_softmax_mode_of_the_experiment(tmp_path, pool):
    build(tmp_path, pool, groups=("C",), runs=1, generations=2, test=False, baseline=False)
    (tmp_path / "config.json").write_text(json.dumps({"population": 6, "elites": 1, "generations": 4,
                                                      "market": {"softmax": "inverse", "temperature": 2.0,
                                                                 "death_fraction": 0.5}}))
    text = write_report(tmp_path).read_text()
    assert "Client choice: softmax `inverse` at temperature 2.0 (an option" in text
    assert "replaces 3 of 6 agents" in text and "replaces 5 of 6" in text and "4 generations are 4 evaluations" in text
    (tmp_path / "config.json").write_text(json.dumps({"market": {"temperature": 2.0}}))  # before the setting existed
    assert "softmax `inverse`" in write_report(tmp_path).read_text()


def test_a_baseline_with_no_score_is_not_reported_as_the_best_seed(tmp_path, pool):
    """Issue 12 item 1: never "beats the best seed (aggressive, nan)"."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    build(tmp_path, pool, groups=("A",), runs=1, baseline=True)
    path = tmp_path / "negotiations" / "baseline.parquet"
    t = pq.read_table(path)
    t = t.set_column(t.schema.get_field_index("outcome"), "outcome", pa.array(["error"] * len(t)))
    score = t.schema.get_field_index("normalized_score")
    t = t.set_column(score, t.schema.field(score), pc.cast(pa.nulls(len(t)), t.schema.field(score).type))
    pq.write_table(t, path)
    text = write_report(tmp_path).read_text()
    assert "best seed (" not in text and "nan)" not in text
