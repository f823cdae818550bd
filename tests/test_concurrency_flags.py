"""How the concurrency is chosen: adaptive by default for a custom URL, fixed by ``--concurrency N`` or
``max_concurrency``, forced either way by ``adaptive``; a bad value exits 2 naming the flag or key."""

from __future__ import annotations

import argparse

import pytest

from negoray.commands.run import add_run_args, config_from_args
from negoray.config import load_config


def _spec(*argv: str):
    parser = argparse.ArgumentParser()
    add_run_args(parser, "poc")
    config = config_from_args(parser.parse_args(["--provider", "custom", "--base-url", "http://gpu:8000/v1", *argv]),
                              parser)
    return config.provider.llm_configs()[0].spec()


def test_a_custom_url_is_adaptive_unless_the_concurrency_is_given():
    assert _spec().adaptive
    fixed = _spec("--concurrency", "8")
    assert not fixed.adaptive and fixed.max_concurrency == 8


def test_a_bad_concurrency_exits_2_naming_the_flag(capsys):
    with pytest.raises(SystemExit) as e:
        _spec("--concurrency", "0")
    assert e.value.code == 2 and "--concurrency" in capsys.readouterr().err


@pytest.mark.parametrize("table, adaptive", [
    ('max_concurrency = 8\n', False),
    ('max_concurrency = 8\nadaptive = true\n', True),
    ('adaptive = false\n', False),
])
def test_the_provider_table_sets_it(tmp_path, table, adaptive):
    path = tmp_path / "c.toml"
    path.write_text(f'[provider]\nname = "vllm"\n{table}')
    assert load_config(path).provider.llm_configs()[0].spec().adaptive is adaptive


def test_adaptive_must_be_true_or_false(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[provider]\nname = "vllm"\nadaptive = "yes"\n')
    with pytest.raises(Exception, match="provider.adaptive"):
        load_config(path)


def test_a_rate_limit_given_for_a_custom_url_makes_it_a_rate_limited_endpoint():
    assert not _spec("--rpm", "300").adaptive
