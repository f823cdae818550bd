import asyncio
import json
from pathlib import Path

import pytest

from negoray.config import ExperimentConfig, ExperimentConfigError, load_config
from negoray.sim.model import SimModel
from negoray.tasks.base import Chats
from negoray.tasks.classify.score import RECORD_COLUMNS
from negoray.tasks.classify.task import ClassifyTask
from negoray.tasks.registry import make_task

CONFIGS = Path(__file__).parents[3] / "experiments" / "configs"


def task(**options):
    return make_task(ExperimentConfig(task={"name": "classify", **options}))


def test_the_v8_configs_load_and_build_the_task():
    for name in ("v8.toml", "v8_smoke.toml"):
        config = load_config(str(CONFIGS / name))
        built = make_task(config)
        assert isinstance(built, ClassifyTask) and config.task_name == "classify"
        sizes = {k: len(v) for k, v in built.splits().items()}
        assert sum(sizes.values()) == 320 and sizes["dev"] >= 80
    assert (config.population, config.generations) == (4, 3)
    v8 = load_config(str(CONFIGS / "v8.toml"))
    assert (v8.groups, v8.runs_per_group, v8.population, v8.generations) == (("A", "B", "C", "D"), 3, 8, 10)


def test_evaluate_record_row_and_summary_through_the_sim():
    t = task(fractions={"dev": 0.1, "val": 0.1})
    dev = t.splits()["dev"]

    async def go():
        return [await t.evaluate(t.seed_strategies()["plain"], e, Chats(SimModel()), i, 0) for i, e in enumerate(dev)]
    records = asyncio.run(go())
    assert all(r.score in (0.0, 1.0) for r in records)
    row = t.record_row(records[0])
    assert list(row) == [c.name for c in RECORD_COLUMNS] and row["domain"] == dev[0].domain
    summary = t.summary(records)
    assert 0.5 < summary["accuracy"] <= 1 and summary["unparseable_rate"] == 0.0
    assert len(t.seed_strategies()) == 8 and t.counterpart is None


def test_mutation_round_trip_and_checks():
    t = task()
    parent = t.seed_strategies()["plain"]
    messages = t.mutation_messages("random", parent, [], {})
    assert t.extract_prompt(f"Sure.\n<<<STRATEGY\n{parent} Be brief.\nSTRATEGY>>>") == f"{parent} Be brief."
    assert t.check_prompt(parent, parent) == "identical to the parent"
    assert t.check_prompt(f"{parent} Mind the domain.", parent) is None
    assert messages[0]["role"] == "system"


def test_three_files(tmp_path):
    files = {}
    for split in ("dev", "val", "test"):
        files[split] = str(tmp_path / f"{split}.jsonl")
        Path(files[split]).write_text(json.dumps({"text": f"{split} text", "label": "yes"}) + "\n")
    t = task(files=files, labels=["yes", "no"])
    assert [e.text for e in t.splits()["val"]] == ["val text"]


@pytest.mark.parametrize("options, message", [
    ({"colour": 1}, "task.colour: not a classify option"),
    ({"labels": ["only"]}, "task.labels: expected a list of at least two"),
    ({"labels": "positive"}, "task.labels: expected a list"),
    ({"data": "x.jsonl", "files": {}}, "task.files: give either"),
    ({"files": {"dev": "a"}}, "task.files: expected a table with exactly dev, val and test"),
    ({"data": "missing.jsonl"}, "task.data: missing.jsonl: cannot read"),
    ({"fractions": {"dev": 0.9, "val": 0.2}}, r"task.data: split fractions"),
    ({"show_domain": "yes"}, "task.show_domain: expected true or false"),
    ({"max_tokens": True}, "task.max_tokens: expected an integer"),
    ({"temperature": -1}, "task.temperature >= 0"),
])
def test_bad_options_name_the_key(options, message):
    with pytest.raises(ExperimentConfigError, match=message):
        task(**options)


def test_a_bad_line_in_the_data_names_file_and_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "ok", "label": "positive"}\n{"text": "x", "label": "maybe"}\n')
    with pytest.raises(ExperimentConfigError, match=r"task.data: .*d.jsonl:2: field 'label' is 'maybe'"):
        task(data=str(path))


def test_the_plan_counts_one_call_per_example_on_the_task_splits_and_v7_as_before():
    from negoray.plan import for_task, make_assumptions

    v8, shape = for_task(load_config("v8"))
    assert (v8.scenarios.dev, v8.scenarios.val, v8.scenarios.test, shape.calls) == (160, 80, 80, 1.0)
    assert make_assumptions(v8, task=shape).calls_per_negotiation == 1.0
    smoke = load_config("smoke")
    sized, shape = for_task(smoke)
    assert sized == smoke and shape.calls is None  # negotiation: its [scenarios], calls from max_rounds
