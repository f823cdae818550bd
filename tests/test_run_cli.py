"""The experiment scripts' flags and config errors: exit status 2 with a message naming the key."""

import subprocess
import sys
from pathlib import Path

import pytest

from negoray.commands.run import main

ROOT = Path(__file__).resolve().parents[1]


def error_of(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main("full_12x10", argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("argv,named", [
    (["--config", "nope"], "--config: no config 'nope'; built in: full_12x10, poc, smoke"),
    (["--runs", "0"], "--runs: must be an integer >= 1"),
    (["--runs", "13"], "--runs: the config 'full_12x10' has 12 runs"),
    (["--generations", "0"], "--generations"),
    (["--rpm", "-3"], "--rpm: must be a positive number"),
    (["--max-usd", "0"], "--max-usd: must be a positive number"),
])
def test_bad_flags_exit_2_naming_the_flag(capsys, argv, named):
    assert named in error_of(capsys, argv)


@pytest.mark.parametrize("toml,named", [
    ('population = 8\nelitez = 2\n', "unknown key 'elitez'"),
    ('groups = ["A", "E"]\n', "groups = ['A', 'E'] is not allowed; expected a list drawn from A, B, C, D"),
    ('elites = 9\n', "elites = 9 is not allowed"),
    ('move_format = "xml"\n', 'move_format = \'xml\' is not allowed; expected "text" or "json"'),
    ('[market]\ndeath_fraction = 1.5\n', "market.death_fraction"),
    ('[market]\nsoftmax = "hot"\n', 'market.softmax = \'hot\' is not allowed; expected "standard" or "inverse"'),
    ('[runtime]\ncache = "sometimes"\n', "runtime.cache"),
    ('[runtime]\ntask_cpus = 0\n', "runtime.task_cpus = 0 is not allowed; expected a number in (0, 64]"),
    ('[runtime]\nendpoint_slots = 0\n', "runtime.endpoint_slots = 0 is not allowed; expected an integer >= 1"),
    ('population = [\n', "bad.toml"),
])
def test_bad_config_files_exit_2_naming_the_key(capsys, tmp_path, toml, named):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    assert named in error_of(capsys, ["--config", str(path)])


def test_help_lists_every_flag():
    out = subprocess.run([sys.executable, str(ROOT / "experiments" / "full_12x10.py"), "--help"],
                         capture_output=True, text=True, check=True).stdout
    for flag in ("--config", "--provider", "--model", "--base-url", "--api-key-env", "--rpm", "--results", "--runs",
                 "--generations", "--address", "--ray-bind", "--max-usd", "--seed"):
        assert flag in out


def test_missing_api_key_is_reported_before_any_work(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "experiments" / "poc.py"), "--provider", "groq",
                           "--results", str(tmp_path / "r")], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 2 and "GROQ_API_KEY" in proc.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("toml,named", [
    ('seed = "abc"\n', "seed = 'abc' is not allowed; expected an integer"),
    ('generations = 2.5\n', "generations = 2.5 is not allowed; expected an integer"),
    ('[runtime]\nprogress = "yes"\n', "runtime.progress = 'yes' is not allowed; expected true or false"),
    ('[provider]\nrpm = "fast"\n', "provider.rpm = 'fast' is not allowed; expected a number"),
    ('[provider]\nbase_url = "notaurl"\n', "provider.base_url = 'notaurl' is not allowed; expected an http://"),
    ('[runtime]\nbind = "everywhere"\n', "runtime.bind = 'everywhere' is not allowed"),
])
def test_every_key_is_type_checked_before_any_work(capsys, tmp_path, toml, named):
    """Issue 12 item 8: a wrong type is refused when the config is read (exit 2, naming the key),
    not in a traceback once Ray has started."""
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    assert named in error_of(capsys, ["--config", str(path)])


def test_bad_flag_values_exit_2_naming_the_key(capsys, tmp_path):
    (tmp_path / "file").write_text("not a directory")
    assert "results = " in error_of(capsys, ["--config", "smoke", "--results", str(tmp_path / "file")])
    assert "provider.base_url = 'notaurl'" in error_of(capsys, ["--config", "smoke", "--base-url", "notaurl"])
    assert "runtime.bind = 'nowhere'" in error_of(capsys, ["--config", "smoke", "--ray-bind", "nowhere"])


def test_a_results_directory_of_a_different_experiment_exits_2_before_any_work(capsys, tmp_path):
    results = tmp_path / "r"
    results.mkdir()
    (results / "config.json").write_text('{"name": "smoke", "seed": 999}')
    assert main("smoke", ["--results", str(results), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "holds results of a different experiment (differs in: " in err and "seed" in err
    assert sorted(p.name for p in results.iterdir()) == [".lock", "config.json"]  # nothing else was started
