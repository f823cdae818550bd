"""`load_config` / `ExperimentConfig.validate` in process: every bad key is an `ExperimentConfigError`
naming the file, the key and what is allowed (the CLI turns it into exit 2: test_run_cli.py)."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from negoray.config import CONFIG_DIR, ExperimentConfig, ExperimentConfigError, load_config, with_overrides


def error_of(tmp_path, toml: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ExperimentConfigError) as info:
        load_config(str(path))
    message = str(info.value)
    assert str(path) in message  # the file is named
    return message


@pytest.mark.parametrize("toml,named", [
    ('population = "8"\n', "population = '8' is not allowed; expected an integer"),
    ("population = 0\n", "population = 0 is not allowed; expected an integer >= 1"),
    ("runs_per_group = -1\n", "runs_per_group"),
    ("generations = 0\n", "generations"),
    ("tournament_k = 0\n", "tournament_k"),
    ("max_rounds = 0\n", "max_rounds"),
    ("max_tokens = 0\n", "max_tokens"),
    ("mutation_attempts = 0\n", "mutation_attempts"),
    ("infra_retries = -1\n", "infra_retries = -1 is not allowed; expected an integer >= 0"),
    ("elites = -1\n", "elites"),
    ("gating_scenarios = 61\n", "gating_scenarios = 61 is not allowed; expected an integer in 0..60"),
    ('gating_tolerance = "loose"\n', "gating_tolerance"),
    ('timeout_policy = "forever"\n', "timeout_policy"),
    ("groups = []\n", "groups"),
    ('groups = "A"\n', "groups"),
    ("mutation_temperature = -0.1\n", "mutation_temperature"),
    ("negotiation_temperature = -1\n", "negotiation_temperature"),
    ("[scenarios]\ngenerator = \"random\"\n", "scenarios.generator"),
    ("[scenarios]\ndev = 0\n", "scenarios.dev"),
    ("[scenarios]\ntest = 0\n", "scenarios.test"),
    ("[scenarios]\nsplit = 3\n", "unknown key 'scenarios.split'"),
    ("[market]\ntemperature = -2\n", "market.temperature"),
    ("[market]\nmemory = 0\n", "market.memory"),
    ("[market]\ndeath_fraction = 0\n", "market.death_fraction"),
    ('[provider]\nthinking = "maybe"\n', "provider.thinking"),
    ('[provider]\nbase_url = "localhost:8000"\n', "provider.base_url = 'localhost:8000' is not allowed; expected an http"),
    ('[provider]\nprofiles = "/nonexistent/profiles.toml"\n', "provider.profiles"),
    ('[provider]\nrpm = "fast"\n', "provider.rpm"),
    ('[runtime]\nbind = "everywhere"\n', "runtime.bind"),
    ("[runtime]\nin_flight = 0\n", "runtime.in_flight"),
    ("[runtime]\nstall_warn_s = 0\n", "runtime.stall_warn_s"),
    ("[runtime]\npause_s = -1\n", "runtime.pause_s = -1 is not allowed; expected a number of seconds >= 0"),
    ("[runtime]\nprogress = 1\n", "runtime.progress = 1 is not allowed; expected true or false"),
    ("market = 3\n", "[market] must be a table"),
    ("scenarios = 3\n", "[scenarios] must be a table"),
    ("population = \n", "bad.toml"),
])
def test_every_bad_key_is_named_with_what_is_allowed(tmp_path, toml, named):
    assert named in error_of(tmp_path, toml)


def test_results_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("")
    assert "results" in error_of(tmp_path, f'results = "{tmp_path / "taken"}"\n')


def test_an_unknown_config_name_lists_the_built_in_ones():
    with pytest.raises(ExperimentConfigError, match="--config: no config 'nope'; built in: .*poc"):
        load_config("nope")


def test_overrides_are_validated_and_named():
    config = load_config("poc")
    with pytest.raises(ExperimentConfigError, match="overrides: population = 0"):
        with_overrides(config, population=0)
    with pytest.raises(ExperimentConfigError, match="overrides: provider.rpm"):
        with_overrides(config, **{"provider.rpm": "fast"})
    assert with_overrides(config, population=None) == config  # None leaves a key as it is


@pytest.mark.parametrize("name", sorted(p.stem for p in CONFIG_DIR.glob("*.toml")))
def test_the_built_in_configs_are_valid(name):
    config = load_config(name)
    assert config.name == name and config.validate() is config


@given(population=st.integers(1, 64), elites=st.integers(-3, 70))
def test_elites_are_allowed_exactly_below_the_population(population, elites):
    config = dataclasses.replace(ExperimentConfig(), population=population, elites=elites)
    if 0 <= elites < population:
        assert config.validate() is config
    else:
        with pytest.raises(ExperimentConfigError, match=f"elites = {elites} is not allowed"):
            config.validate()
