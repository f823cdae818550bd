"""`negoray plan`: the users' table reproduced exactly, the bounds, the JSON shape, --check against a
real results directory, and the exit-status-2 paths."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from negoray import plan as P
from negoray.cli import main
from negoray.config import load_config, with_overrides

ROOT = Path(__file__).resolve().parents[1]
FULL = load_config("full_12x10")


def user_plan(providers=("groq-free", "groq", "lmstudio")):
    return P.make_plan(FULL, P.make_assumptions(FULL, user=True), P.resolve_providers(list(providers)))


# -- the users' table ---------------------------------------------------------------------------


def test_user_assumptions_reproduce_the_users_table_exactly():
    d = user_plan().to_dict()
    assert d["calls_per_generation"] == 5_406
    assert d["calls_per_run"] == 54_060
    assert d["calls_total"] == 648_720
    assert d["tokens_total"] == 194_616_000
    assert d["runs"] == 12
    per_gen = d["breakdown"]["per_generation"]
    assert per_gen["eval"]["calls"] == 4_800 and per_gen["mutation"]["calls"] == 6 and per_gen["gating"]["calls"] == 600
    assert d["breakdown"]["total"]["test"]["calls"] == 0 and d["breakdown"]["total"]["baseline"]["calls"] == 0


def test_groq_free_is_bound_by_requests_per_day_at_45_05_days():
    groq_free = next(p for p in user_plan().providers if p.name == "groq-free")
    assert groq_free.binding == "requests/day"
    assert round(groq_free.hours / 24, 2) == 45.05
    assert groq_free.bounds_h["RPM"] < groq_free.hours and groq_free.bounds_h["TPM"] < groq_free.hours
    assert groq_free.cost_usd == 0


def test_groq_cost_split_by_prompt_and_completion_is_below_their_output_price_estimate():
    plan = user_plan()
    groq = next(p for p in plan.providers if p.name == "groq")
    their = P.total(plan.total).tokens * 0.79 / 1e6  # their method: every token at ~the output price
    assert their == pytest.approx(153.75, abs=0.01)
    assert groq.cost_usd == pytest.approx((168_667_200 * 0.59 + 25_948_800 * 0.79) / 1e6)
    assert groq.cost_usd < their


def test_differences_are_computed_against_their_figures():
    ours = P.make_plan(FULL, P.make_assumptions(FULL))
    rows = {d.item: d for d in P.differences(FULL, ours, user_plan())}
    assert rows["calls, whole experiment"].user_table == "648,720"
    assert rows["calls, whole experiment"].user_method == "648,720"
    assert rows["Groq (paid) cost"].user_method == "$153.75" and rows["Groq (paid) cost"].user_volumes == "$120.01"
    assert "45.05 days" in rows["Groq (free) time"].user_method
    assert "requests/day" in rows["Groq (free) time"].user_volumes
    assert "server throughput" in rows["LM Studio (gemma-3-4b) time"].user_volumes
    assert rows["negotiations per generation"].user_method == "546"
    assert all(d.why for d in rows.values())
    assert P.implied_output_tokens() == 15


# -- the default model --------------------------------------------------------------------------


def test_default_plan_follows_the_loop():
    a = P.make_assumptions(FULL)
    assert a.calls_per_negotiation == 6.5
    assert 300 <= a.prompt_tokens <= 700 and a.completion_tokens == 40
    plan = P.make_plan(FULL, a)
    tournament, market = plan.groups["A"], plan.groups["B"]
    assert (tournament.mutation_slots, tournament.gating_negotiations) == (6, 6 * 10 * 2)
    assert (market.mutation_slots, market.gating_negotiations) == (2, 0)  # round(0.3 x 8) = 2, no gating
    assert plan.total["eval"].negotiations == 12 * 10 * 8 * 60
    assert plan.total["mutation"].calls == 9 * 3 * (6 + 2 + 2 + 6)  # 9 rounds a run, the last one plays test
    assert plan.total["test"].negotiations == 12 * 80
    assert plan.total["baseline"].negotiations == 8 * 80


def test_market_slots_at_least_one_and_critical_path():
    small = with_overrides(FULL, population=3, elites=1)
    a = P.make_assumptions(small)
    assert P.mutation_slots(small, "B", a) == 1  # round(0.3 x 3) = 1
    spec = P.PROVIDERS["groq"]
    fixed = P.make_assumptions(FULL, latency_s=1.0)
    # per generation: a negotiation + a mutation call + a gating negotiation; the last: + a test one
    assert P.critical_path_s(FULL, spec, fixed) == pytest.approx(9 * (6.5 + 1 + 6.5) + (6.5 + 6.5))


# -- the CLI ------------------------------------------------------------------------------------


def run_cli(capsys, *argv):
    code = main(["plan", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_shape(capsys):
    code, out, _ = run_cli(capsys, "--json", "--user-assumptions")
    assert code == 0
    d = json.loads(out)
    for key in ("calls_per_generation", "calls_per_run", "calls_total", "tokens_total", "providers", "breakdown",
                "assumptions", "differences", "per_group"):
        assert key in d
    assert (d["calls_per_generation"], d["calls_per_run"], d["calls_total"], d["tokens_total"]) == (
        5406, 54060, 648720, 194616000)
    names = [p["name"] for p in d["providers"]]
    assert names == list(P.DEFAULT_PROVIDERS)
    for p in d["providers"]:
        assert {"name", "cost_usd", "hours", "binding"} <= set(p)
        assert p["binding"] in P.BOUNDS
    free = next(p for p in d["providers"] if p["name"] == "groq-free")
    assert free["binding"] == "requests/day" and free["days"] == pytest.approx(45.05, abs=0.005)
    assert set(d["breakdown"]["total"]) == set(P.PHASES)


def test_human_output_and_provider_choice(capsys):
    code, out, _ = run_cli(capsys, "--user-assumptions", "--provider", "groq-free", "--provider", "lmstudio")
    assert code == 0
    assert "5,406" in out and "648,720" in out and "194,616,000" in out
    assert "45.05 days" in out and "requests/day" in out and "server throughput" in out
    assert "Differences from the users' table" in out


def test_flags_override_assumptions(capsys):
    code, out, _ = run_cli(capsys, "--json", "--config", "poc", "--calls-per-negotiation", "8",
                           "--tokens-per-call", "600", "--completion-tokens", "60", "--provider", "sim")
    assert code == 0
    d = json.loads(out)
    assert d["assumptions"]["calls_per_negotiation"] == 8 and d["assumptions"]["prompt_tokens"] == 540
    assert d["negotiations_total"] * 8 == d["breakdown"]["total"]["eval"]["calls"] + sum(
        d["breakdown"]["total"][p]["calls"] for p in ("gating", "test", "baseline"))


def test_profiles_are_planned(tmp_path, capsys):
    profiles = tmp_path / "p.toml"
    profiles.write_text('[providers.my-vllm]\nextends = "vllm"\nthroughput_tps = 500\nprice_in = 0.1\n')
    code, out, _ = run_cli(capsys, "--json", "--profiles", str(profiles), "--provider", "my-vllm")
    assert code == 0
    (p,) = json.loads(out)["providers"]
    assert p["name"] == "my-vllm" and p["binding"] == "server throughput" and p["cost_usd"] > 0


@pytest.mark.parametrize("argv, flag", [
    (["--provider", "nope"], "--provider"),
    (["--config", "no-such-config"], "--config"),
    (["--calls-per-negotiation", "0"], "--calls-per-negotiation"),
    (["--tokens-per-call", "-3"], "--tokens-per-call"),
    (["--tokens-per-call", "30", "--completion-tokens", "40"], "--completion-tokens"),
    (["--latency-s", "-1"], "--latency-s"),
    (["--profiles", "/no/such/profiles.toml"], "--profiles"),
    (["--check", "/no/such/results"], "--check"),
])
def test_errors_exit_2_naming_the_flag(capsys, argv, flag):
    with pytest.raises(SystemExit) as e:
        main(["plan", *argv])
    assert e.value.code == 2
    assert flag in capsys.readouterr().err


def test_bad_config_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("population = 0\n")
    with pytest.raises(SystemExit) as e:
        main(["plan", "--config", str(bad)])
    assert e.value.code == 2
    assert "--config" in capsys.readouterr().err


def test_check_needs_a_config_and_results(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["plan", "--check", str(tmp_path)])  # no config.json, no --config
    assert e.value.code == 2 and "config.json" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["plan", "--check", str(tmp_path), "--config", "smoke"])  # no results
    assert e.value.code == 2 and "no results" in capsys.readouterr().err


# -- --check on a real (tiny) results directory -------------------------------------------------


def _write_in_process(config, results: Path) -> None:
    """What the driver writes, played in this process (used only if the Ray script fails here)."""
    from negoray.local_experiment import LocalExperiment

    LocalExperiment(with_overrides(config, results=str(results))).run()


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory) -> Path:
    results = tmp_path_factory.mktemp("plan") / "smoke"
    cmd = [sys.executable, str(ROOT / "experiments" / "full_12x10.py"), "--config", "smoke",
           "--results", str(results), "--no-progress"]
    try:
        # RAY_ADDRESS=local: a Ray of its own, even if another test left a cluster running here
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240,
                              env={**os.environ, "RAY_ADDRESS": "local"})
        ok, why = proc.returncode == 0, (proc.stdout + proc.stderr)[-600:]
    except subprocess.TimeoutExpired:
        ok, why = False, "timed out"
    if not ok:  # e.g. Ray cannot start on an overloaded machine: the same tables, written in process
        warnings.warn(f"experiments/full_12x10.py --config smoke failed here ({why}); writing the results in process")
        shutil.rmtree(results, ignore_errors=True)
        _write_in_process(load_config("smoke"), results)
    return results


@pytest.mark.slow
def test_check_matches_the_smoke_run(smoke_results, capsys):
    code, out, _ = run_cli(capsys, "--json", "--check", str(smoke_results), "--provider", "sim")
    assert code == 0
    d = json.loads(out)
    assert d["config"] == "smoke"
    rows = {r["phase"]: r for r in d["check"]["rows"]}
    smoke = load_config("smoke")
    eval_planned = smoke.population * smoke.scenarios.dev * smoke.generations
    assert rows["eval"]["planned"]["negotiations"] == eval_planned
    assert rows["eval"]["actual"]["negotiations"] == eval_planned  # deterministic: exact
    assert rows["eval"]["ratio"]["negotiations"] == 1.0
    assert rows["test"]["actual"]["negotiations"] == rows["test"]["planned"]["negotiations"] == smoke.scenarios.test
    assert rows["baseline"]["actual"]["negotiations"] == rows["baseline"]["planned"]["negotiations"] == 8 * smoke.scenarios.test
    # gating: at most child + parent per mutated slot (a parent's shared scenario is played once)
    assert 0 < rows["gating"]["actual"]["negotiations"] <= rows["gating"]["planned"]["negotiations"]
    assert rows["mutation"]["actual"]["calls"] >= rows["mutation"]["planned"]["calls"]
    assert rows["eval"]["actual"]["calls"] > 0 and rows["eval"]["actual"]["prompt_tokens"] > 0
    check = d["check"]
    assert check["generations_done"] == check["generations_planned"] == 2
    assert check["missing"] == {} and check["missing_test"] == [] and check["baseline_done"]
    measured = check["measured"]
    assert 1 <= measured["calls_per_negotiation"] <= 2 * smoke.max_rounds
    # the planner's measured prompt size is close to what the sim counted
    assert 0.7 < rows["eval"]["ratio"]["prompt_tokens"] / rows["eval"]["ratio"]["calls"] < 1.3


@pytest.mark.slow
def test_check_human_output_and_missing_generations(smoke_results, tmp_path, capsys):
    partial = tmp_path / "partial"
    shutil.copytree(smoke_results, partial)
    (partial / "generations" / "A1_g01.parquet").unlink()
    code, out, _ = run_cli(capsys, "--check", str(partial), "--provider", "sim")
    assert code == 0
    assert "Plan vs" in out and "Generations finished: 1 of 2" in out
    assert "A1" in out and "g1" in out and "Missing" in out
    code, out, _ = run_cli(capsys, "--json", "--check", str(partial), "--provider", "sim")
    check = json.loads(out)["check"]
    assert check["missing"] == {"A1": [1]} and check["missing_test"] == ["A1"]
