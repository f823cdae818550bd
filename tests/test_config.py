"""Experiment config: one description of a provider, every key validated and documented."""

import ast
import dataclasses
import inspect
import json

import pytest

from negoray import config as config_module
from negoray.config import ExperimentConfig, ExperimentConfigError, load_config, with_overrides
from negoray.evolution import settings
from negoray.experiment_setup import check_results_dir, write_config
from negoray.llm import config as llm_config


def toml_config(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return load_config(str(path))


def test_provider_endpoint_keys_are_settable_from_toml_and_reach_the_llm_config(tmp_path):
    c = toml_config(tmp_path, '[provider]\nname = "groq"\nprice_in = 1.5\nprice_out = 2.5\nmax_concurrency = 7\n'
                              'timeout_s = 30\nmax_attempts = 3\nrpm = 10\nfailover = ["openai"]\n')
    first, fallback = c.provider.llm_configs()
    assert (first.provider, first.price_in, first.price_out, first.max_concurrency, first.timeout_s,
            first.max_attempts, first.rpm) == ("groq", 1.5, 2.5, 7, 30, 3, 10)
    spec = first.spec()
    assert (spec.price_in, spec.price_out, spec.max_concurrency) == (1.5, 2.5, 7)
    assert fallback.provider == "openai" and fallback.price_in is None  # a failover entry: its own defaults


def test_a_failover_table_is_described_like_the_provider(tmp_path):
    c = toml_config(tmp_path, '[provider]\nname = "groq"\nthinking = "on"\nfailover = ['
                              '{name = "openai", model = "gpt-4o-mini", timeout_s = 60, price_in = 0.15}, "xai"]\n')
    _, openai, xai = c.provider.llm_configs()
    assert (openai.provider, openai.model, openai.timeout_s, openai.price_in, openai.thinking) == (
        "openai", "gpt-4o-mini", 60, 0.15, "on")
    assert (xai.provider, xai.timeout_s, xai.thinking) == ("xai", 120.0, "on")
    json.dumps(c.to_dict())  # config.json holds it


def test_every_provider_config_field_shared_with_llm_config_is_passed_on():
    shared = {f.name for f in dataclasses.fields(llm_config.LLMConfig)} & {
        f.name for f in dataclasses.fields(config_module.ProviderConfig)}
    assert {"model", "base_url", "api_key_env", "rpm", "tpm", "rpd", "price_in", "price_out", "max_concurrency",
            "timeout_s", "max_attempts", "thinking"} <= shared
    values = {"model": "m", "base_url": "http://x:1/v1", "api_key_env": "K", "rpm": 1.0, "tpm": 2.0, "rpd": 3.0,
              "price_in": 4.0, "price_out": 5.0, "max_concurrency": 6, "timeout_s": 7.0, "max_attempts": 9,
              "thinking": "on"}
    (first,) = config_module.ProviderConfig(name="vllm", **values).llm_configs()
    assert {k: getattr(first, k) for k in values} == values


@pytest.mark.parametrize("toml,named", [
    ('[provider]\nmax_attempts = 0\n', "provider.max_attempts = 0 is not allowed; expected an integer >= 1"),
    ('[provider]\nmax_attempts = "many"\n', "provider.max_attempts = 'many' is not allowed; expected an integer"),
    ('[provider]\ntimeout_s = 0\n', "provider.timeout_s = 0 is not allowed; expected a number of seconds > 0"),
    ('[provider]\nprice_in = -1\n', "provider.price_in = -1 is not allowed"),
    ('[provider]\nprice_out = "cheap"\n', "provider.price_out = 'cheap' is not allowed"),
    ('[provider]\nmax_concurrency = 0\n', "provider.max_concurrency = 0 is not allowed; expected an integer >= 1"),
    ('[provider]\nmax_concurency = 4\n', "max_concurency"),
    ('[provider]\nfailover = [3]\n', "provider.failover[0] = 3 is not allowed; expected a provider name or a table"),
    ('[provider]\nfailover = [{model = "m"}]\n', "provider.failover[0] = {'model': 'm'} is not allowed"),
    ('[provider]\nfailover = [{name = "groq", rpn = 3}]\n', "with a name"),
    ('[provider]\nfailover = ["groq", {name = "openai", max_attempts = 0}]\n',
     "provider.failover[1].max_attempts = 0 is not allowed; expected an integer >= 1"),
    ('[provider]\nfailover = [{name = "openai", timeout_s = "soon"}]\n',
     "provider.failover[0].timeout_s = 'soon' is not allowed; expected a number"),
    ('[provider]\nfailover = [{name = "vllm", base_url = "gpu"}]\n', "provider.failover[0].base_url = 'gpu'"),
])
def test_bad_provider_keys_name_the_key(tmp_path, toml, named):
    with pytest.raises(ExperimentConfigError) as e:
        toml_config(tmp_path, toml)
    assert named in str(e.value)


@pytest.mark.parametrize("cls", [config_module.ScenarioConfig, config_module.ProviderConfig,
                                 config_module.RuntimeConfig, config_module.ExperimentConfig,
                                 settings.MarketConfig, llm_config.LLMConfig,
                                 llm_config.EndpointSettings])
def test_every_config_field_has_a_docstring(cls):
    documented = set()
    for klass in (k for k in cls.__mro__ if dataclasses.is_dataclass(k)):  # fields a base class declares too
        body = ast.parse(inspect.getsource(klass)).body[0].body
        documented |= {a.target.id for a, b in zip(body, body[1:]) if isinstance(a, ast.AnnAssign)
                       and isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant) and isinstance(b.value.value, str)}
    assert [f.name for f in dataclasses.fields(cls) if f.name not in documented] == []


def test_groups_and_market_settings_live_with_the_evolution():
    assert config_module.GROUPS is settings.GROUPS and config_module.MarketConfig is settings.MarketConfig


def test_a_results_directory_written_before_a_key_existed_still_resumes(tmp_path):
    """config.json of an older negoray lacks keys added since (here: [provider] price_in ...); they
    count as their defaults, so the same experiment resumes."""
    c = with_overrides(load_config("smoke"), results=str(tmp_path))
    write_config(c, finished=False)
    saved = json.loads((tmp_path / "config.json").read_text())
    for key in ("price_in", "price_out", "max_concurrency", "timeout_s", "max_attempts"):
        del saved["provider"][key]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    check_results_dir(c)  # no error
    with pytest.raises(ExperimentConfigError, match=r"differs in: provider"):
        check_results_dir(with_overrides(c, **{"provider.max_attempts": 3}))


def test_defaults_are_v7s():
    assert ExperimentConfig().provider.llm_configs()[0].provider == "sim"


def test_a_results_directory_from_before_the_softmax_setting_is_not_resumed_with_the_new_default(tmp_path):
    """Results written before `[market] softmax` existed were played with the inverse form: resuming
    them under the new default (standard) would mix two selection rules in one run, so it is refused;
    asking for `inverse` resumes them."""
    c = with_overrides(load_config("smoke"), results=str(tmp_path))
    write_config(c, finished=False)
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["market"]["softmax"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    with pytest.raises(ExperimentConfigError, match=r"differs in: market"):
        check_results_dir(c)
    check_results_dir(with_overrides(c, **{"market.softmax": "inverse"}))  # no error
