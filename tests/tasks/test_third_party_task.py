"""A task defined in the test suite (`tests.tasks.echo_task`) runs through the same machinery as V7."""

import dataclasses
import json

import pyarrow.dataset as ds
import pytest

from negoray.config import ExperimentConfigError, load_config
from negoray.experiment_setup import check_results_dir
from negoray.local_experiment import LocalExperiment
from negoray.tasks.registry import make_task
from negoray.tasks.negotiation import NegotiationTask

ECHO = "tests.tasks.echo_task:make_task"


def echo_config(tmp_path, **task):
    return dataclasses.replace(load_config("smoke"), results=str(tmp_path), task={"name": ECHO, **task}).validate()


def table(root, name):
    return ds.dataset(root / name, format="parquet").to_table().to_pandas()


def test_the_echo_task_runs_through_local_experiment_and_writes_every_table_with_its_columns(tmp_path):
    config = echo_config(tmp_path, prefix="x")
    LocalExperiment(config).run()
    neg = table(tmp_path, "negotiations")
    assert set(neg.phase) == {"eval", "gating", "test", "baseline"}
    assert {"word", "reply_length"} <= set(neg.columns) and neg.word.notna().all()
    assert set(neg.outcome) == {"scored"} and neg.normalized_score.between(0, 1).all()
    assert neg.scenario_id.str.startswith("x").all()
    assert len(table(tmp_path, "generations")) == config.generations
    agents = table(tmp_path, "agents")
    assert agents[agents.generation == 0].prompt.str.contains("style").all()  # the task's seed strategies
    calls = table(tmp_path, "calls")
    assert (calls.phase == "mutation").any() and len(calls[calls.phase != "mutation"]) == len(neg)


def test_the_echo_task_replays_identically(tmp_path):
    LocalExperiment(echo_config(tmp_path / "a")).run()
    LocalExperiment(echo_config(tmp_path / "b")).run()
    cols = ["run_id", "generation", "phase", "agent_id", "scenario_id", "replicate", "normalized_score", "word"]
    a, b = (table(tmp_path / r, "negotiations")[cols].sort_values(cols).reset_index(drop=True) for r in "ab")
    assert a.equals(b)


def test_a_task_is_named_by_its_config_and_bad_names_and_options_say_what_is_allowed(tmp_path):
    smoke = load_config("smoke")
    assert isinstance(make_task(smoke), NegotiationTask) and smoke.task_name == "negotiation"
    with pytest.raises(ExperimentConfigError, match=r"task = 'nope' is not a task; expected .*\"negotiation\""):
        dataclasses.replace(smoke, task="nope").validate("x.toml")
    with pytest.raises(ExperimentConfigError, match=r"task.name = 'tests.tasks.echo_task:absent'.* has no 'absent'"):
        dataclasses.replace(smoke, task={"name": "tests.tasks.echo_task:absent"}).validate("x.toml")
    with pytest.raises(ExperimentConfigError, match="task.colour: unknown option; allowed: prefix"):
        make_task(echo_config(tmp_path, colour="red"))
    with pytest.raises(ExperimentConfigError, match=r"task.rounds: the negotiation task takes no \[task\] options"):
        make_task(dataclasses.replace(smoke, task={"name": "negotiation", "rounds": 3}))


def test_results_written_before_there_were_tasks_resume_as_negotiation(tmp_path):
    config = dataclasses.replace(load_config("smoke"), results=str(tmp_path))
    saved = json.loads(json.dumps(config.to_dict()))
    del saved["task"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    check_results_dir(config)  # the same experiment
    with pytest.raises(ExperimentConfigError, match="differs in: task"):
        check_results_dir(dataclasses.replace(config, task=ECHO))
