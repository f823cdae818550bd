"""--thinking and --max-tokens on the experiment commands: overrides of the config, bad values exit 2."""

import argparse

import pytest

from negoray.commands.run import add_run_args, config_from_args, main
from negoray.experiment_setup import provider_configs


def error_of(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main("full_12x10", argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def parsed(argv):
    parser = argparse.ArgumentParser()
    add_run_args(parser, "smoke")
    return config_from_args(parser.parse_args(argv), parser)


def test_thinking_is_off_by_default_and_the_flags_override_the_config():
    assert parsed([]).provider.thinking is None
    assert provider_configs(parsed([]))[0].spec().thinking.value == "off"
    config = parsed(["--thinking", "on", "--max-tokens", "1024"])
    assert (config.provider.thinking, config.max_tokens) == ("on", 1024)
    assert provider_configs(config)[0].spec().thinking.value == "on"


@pytest.mark.parametrize("argv,named", [
    (["--thinking", "maybe"], "--thinking: invalid choice: 'maybe'"),
    (["--max-tokens", "0"], "--max-tokens: must be an integer >= 1"),
])
def test_bad_flags_exit_2_naming_the_flag(capsys, argv, named):
    assert named in error_of(capsys, argv)


def test_a_bad_thinking_key_exits_2_naming_it(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[provider]\nthinking = "sometimes"\n')
    assert "provider.thinking = 'sometimes' is not allowed; expected \"off\" or \"on\"" in error_of(capsys, ["--config", str(path)])
