"""`negoray plan` for a task that is not V7's negotiation: classify (V8) is planned from its own calls
(one call per classification, its own prompts and a label as the reply) and worded with its own noun."""

from __future__ import annotations

import json

import pytest

from negoray import plan as P
from negoray.chat import estimate_tokens, messages_tokens
from negoray.cli import main
from negoray.config import CONFIG_DIR, load_config
from negoray.tasks.classify.score import classify_messages
from negoray.tasks.registry import make_task

V8 = load_config("v8")


@pytest.fixture(scope="module")
def v8_json():
    return _json("--config", "v8", "--provider", "openai")


def _json(*argv):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["plan", "--json", *argv]) == 0
    return json.loads(out.getvalue())


def test_classify_is_planned_from_its_own_prompts_and_a_label_reply(v8_json):
    a = v8_json["assumptions"]
    task = make_task(V8)
    example = task.splits()["dev"][0]
    one_call = messages_tokens(classify_messages(task.seed_strategies()["plain"], example, task.labels))
    assert a["calls_per_negotiation"] == 1
    # the agent prompt and one example, not a negotiation's system + turn prompt (~410 tokens)
    assert 0.5 * one_call < a["prompt_tokens"] < 2 * one_call < 200
    assert a["completion_tokens"] == pytest.approx(sum(estimate_tokens(x) for x in task.labels) / len(task.labels))
    assert a["mutation_prompt_tokens"] > a["prompt_tokens"] and a["mutation_completion_tokens"] > 10
    total = v8_json["breakdown"]["total"]["eval"]
    assert total["prompt_tokens"] == pytest.approx(total["calls"] * a["prompt_tokens"])


def test_the_users_v7_table_is_not_set_next_to_a_classify_plan(v8_json):
    assert v8_json["differences"] == []
    # a classification is one call: a batch round per stage, not a negotiation's 2 x max_rounds
    per_run = 10 + 9 * (1 + 1) + 1
    assert {t["batch_rounds"] for t in v8_json["tiers"] if t["tier"] == "batch"} == {per_run}
    # the agent prompt repeats across an agent's examples: measured on classify's own requests
    assert 0.3 < v8_json["shared_prefix"]["share"] < 1


def test_the_header_and_tables_use_the_tasks_words(capsys):
    assert main(["plan", "--config", "v8", "--provider", "sim"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert header.endswith("80 test, 1 call per classification") and "rounds" not in header
    assert "calls per classification" in out and "gen: classifications" in out and "gating classifications / gen" in out
    assert "negotiation" not in out and "Differences from the users' table" not in out
    assert "measured on the task's own requests" in out


def test_the_users_assumptions_are_v7s_and_refused_for_classify(capsys):
    with pytest.raises(SystemExit) as e:
        main(["plan", "--config", "v8", "--user-assumptions"])
    assert e.value.code == 2 and "--user-assumptions: the users' table is V7's" in capsys.readouterr().err


def test_v7_is_still_planned_from_the_negotiation_prompts():
    config, shape = P.for_task(load_config("poc"))
    assert (shape.noun, shape.calls, shape.sample) == ("negotiation", None, None)
    a = P.make_assumptions(config, task=shape)
    assert a == P.make_assumptions(config) and P.per_record(a, config.max_rounds) == f"max {config.max_rounds} rounds"


def test_a_classify_config_with_data_beside_it_plans_from_any_directory(tmp_path, monkeypatch, capsys):
    from negoray.tasks.classify.synthetic import SHIPPED

    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "mine.jsonl").write_text("".join(SHIPPED.read_text().splitlines(keepends=True)[:40]))
    (folder / "mine.toml").write_text('generations = 2\n[task]\nname = "classify"\ndata = "mine.jsonl"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["plan", "--config", str(folder / "mine.toml"), "--provider", "sim"]) == 0
    assert "20 dev scenarios, gating on 10 val, 10 test, 1 call per classification" in capsys.readouterr().out


def test_a_task_without_a_counterpart_gives_the_opponent_role_no_calls(tmp_path, capsys):
    config = tmp_path / "v8_pools.toml"
    config.write_text((CONFIG_DIR / "v8_smoke.toml").read_text() + '\n[opponent]\nname = "groq"\n\n[mutator]\nname = "openai"\n')
    assert main(["plan", "--config", str(config), "--json", "--provider", "sim"]) == 0
    endpoints = {e["role"]: e for e in json.loads(capsys.readouterr().out)["fleet"]["endpoints"]}
    assert set(endpoints) == {"agent", "mutator"} and endpoints["mutator"]["calls"] == 4
