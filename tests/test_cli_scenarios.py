"""`negoray scenarios`: in-process through `negoray.cli.main`, and once as a subprocess."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from negoray.commands import scenarios as scenarios_cmd
from negoray.game.fair import parse_fair, read_fair
from negoray.game.generators import generate_lewis, generate_v7, v7_splits
from negoray.game.scenario import load_scenarios_json, scenarios_from_json

ROOT = Path(__file__).resolve().parents[1]
# `negoray.cli` also registers `play`; until that module exists, drive the command directly.
CLI_COMPLETE = importlib.util.find_spec("negoray.commands.play") is not None


def _fallback_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="negoray")
    scenarios_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args, parser) or 0)


def cli(argv: Sequence[str]) -> int:
    """Run the CLI in-process; argparse's SystemExit becomes a return code."""
    if CLI_COMPLETE:
        from negoray.cli import main
    else:
        main = _fallback_main
    try:
        return main(list(argv))
    except SystemExit as e:
        return int(e.code or 0)


def triples(scenarios):
    return [(s.counts, s.agent_values, s.opponent_values) for s in scenarios]


def test_default_v7_json_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["scenarios"]) == 0
    out = scenarios_from_json(capsys.readouterr().out)
    assert out == generate_v7(200, 42) and [s.meta for s in out] == [s.meta for s in generate_v7(200, 42)]


def test_lewis_fair_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lewis.txt"
    assert cli(["scenarios", "--generator", "lewis", "--seed", "7", "--n", "25", "--format", "fair", "--out", str(path)]) == 0
    assert capsys.readouterr().out == ""
    assert triples(read_fair(path)) == triples(generate_lewis(25, 7))


def test_v7_split_json_to_file(tmp_path: Path) -> None:
    path = tmp_path / "test.json"
    assert cli(["scenarios", "--split", "test", "--seed", "3", "--out", str(path)]) == 0
    got = load_scenarios_json(path)
    want = v7_splits(3)["test"]
    assert got == want and all(s.meta["split"] == "test" for s in got)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--generator", "nope"], "--generator"),
        (["--format", "xml"], "--format"),
        (["--n", "0"], "--n"),
        (["--n", "many"], "--n"),
        (["--seed", "-1"], "--seed"),
        (["--split", "train"], "--split"),
        (["--split", "dev", "--generator", "lewis"], "--split"),
        (["--split", "dev", "--n", "50"], "--n"),
        (["--out", "/nonexistent-dir/x/out.json"], "--out"),
    ],
)
def test_bad_arguments_exit_2(argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["scenarios", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error:" in captured.err and flag in captured.err.strip().splitlines()[-1]


def test_help_describes_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["scenarios", "--help"]) == 0
    text = capsys.readouterr().out
    for word in ("--generator", "--seed", "--n", "--format", "--out", "--split", "v7", "lewis", "fair"):
        assert word in text


def test_subprocess(tmp_path: Path) -> None:
    if CLI_COMPLETE:
        cmd = [sys.executable, "-m", "negoray.cli"]
    else:
        code = "import sys; from tests.test_cli_scenarios import _fallback_main as m; sys.exit(m(sys.argv[1:]))"
        cmd = [sys.executable, "-c", code]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    ok = subprocess.run(
        [*cmd, "scenarios", "--generator", "lewis", "--seed", "5", "--n", "4", "--format", "fair"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert triples(parse_fair(ok.stdout)) == triples(generate_lewis(4, 5))
    bad = subprocess.run(
        [*cmd, "scenarios", "--n", "0"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and "--n" in bad.stderr and bad.stdout == ""
