"""A relative ``[task] data`` / ``files`` path in a config file names a file beside the config, wherever
the command runs; absolute paths and the shipped default keep working; ``config.json`` keeps the
resolved path, so the report (which rebuilds the task from it) finds the data again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from negoray.config import config_from_dict, load_config
from negoray.tasks.classify.synthetic import SHIPPED
from negoray.tasks.registry import make_task

LINES = [{"text": f"text number {i} {'great' if i % 2 else 'awful'}", "label": "positive" if i % 2 else "negative",
          "domain": "movie"} for i in range(40)]


def _jsonl(path: Path, rows=LINES) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _config(path: Path, task_lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'name = "paths"\n[task]\nname = "classify"\n{task_lines}\n')
    return path


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    cwd = tmp_path / "somewhere" / "else"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    return cwd


def test_a_relative_data_path_is_relative_to_the_config_file(tmp_path, elsewhere, monkeypatch):
    data = _jsonl(tmp_path / "configs" / "data" / "mine.jsonl")
    config = load_config(str(_config(tmp_path / "configs" / "exp.toml", 'data = "data/mine.jsonl"')))
    assert config.task["data"] == str(data)
    assert sum(len(v) for v in make_task(config).splits().values()) == 40
    # the report rebuilds the task from config.json, from yet another working directory
    saved = json.loads(json.dumps(config.to_dict()))
    (elsewhere / "deeper").mkdir()
    monkeypatch.chdir(elsewhere / "deeper")
    assert sum(len(v) for v in make_task(config_from_dict(saved, "config.json")).splits().values()) == 40


def test_relative_files_absolute_paths_and_the_shipped_default(tmp_path, elsewhere):
    for split in ("dev", "val", "test"):
        _jsonl(tmp_path / "cfg" / f"{split}.jsonl", [dict(r, text=f"{split} {r['text']}") for r in LINES[:6]])
    files = 'files = { dev = "dev.jsonl", val = "val.jsonl", test = "test.jsonl" }'
    config = load_config(str(_config(tmp_path / "cfg" / "files.toml", files)))
    assert config.task["files"] == {s: str(tmp_path / "cfg" / f"{s}.jsonl") for s in ("dev", "val", "test")}
    assert {k: len(v) for k, v in make_task(config).splits().items()} == {"dev": 6, "val": 6, "test": 6}

    absolute = _jsonl(tmp_path / "abs" / "all.jsonl")
    config = load_config(str(_config(tmp_path / "cfg" / "abs.toml", f'data = "{absolute}"')))
    assert config.task["data"] == str(absolute)

    default = load_config(str(_config(tmp_path / "cfg" / "default.toml", "")))
    assert "data" not in default.task and sum(len(v) for v in make_task(default).splits().values()) == 320
    assert SHIPPED.is_absolute()


def test_a_missing_relative_file_is_named_where_it_was_looked_for(tmp_path, elsewhere):
    config = load_config(str(_config(tmp_path / "c" / "exp.toml", 'data = "nope.jsonl"')))
    with pytest.raises(Exception, match=str(tmp_path / "c" / "nope.jsonl")):
        make_task(config)
