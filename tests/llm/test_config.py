import pytest

from negoray.llm.config import ConfigError, LLMConfig, MissingAPIKey, load_profiles, parse_profiles
from negoray.llm.providers import PROVIDERS, JsonMode

REQUIRED = {"lmstudio", "vllm", "llamacpp", "ollama", "groq", "together", "openrouter", "openai", "xai",
            "anthropic", "custom", "sim", "local"}


def test_registry_has_every_provider_with_defaults():
    assert REQUIRED <= set(PROVIDERS)
    for spec in PROVIDERS.values():
        assert spec.default_model
        assert (spec.api_key_env is None) == spec.local, spec.name  # cloud providers name their key variable
        assert spec.price_in >= 0 and spec.price_out >= 0


def test_default_provider_is_sim_and_env_var_switches(monkeypatch):
    assert LLMConfig().provider_name() == "sim"
    monkeypatch.setenv("NEGORAY_PROVIDER", "vllm")
    assert LLMConfig().spec().name == "vllm"
    assert LLMConfig(provider="ollama").spec().name == "ollama"


def test_every_default_can_be_overridden():
    spec = LLMConfig(provider="groq", model="m", base_url="http://u/v1", rpm=5, tpm=6, rpd=7,
                     price_in=1.5, price_out=2.5, max_concurrency=3).spec()
    assert (spec.default_model, spec.base_url, spec.rpm, spec.tpm, spec.rpd, spec.price_in, spec.price_out,
            spec.max_concurrency) == ("m", "http://u/v1", 5, 6, 7, 1.5, 2.5, 3)


def test_missing_key_names_the_variable():
    with pytest.raises(MissingAPIKey, match="GROQ_API_KEY"):
        LLMConfig(provider="groq").resolve({})
    with pytest.raises(MissingAPIKey, match="MY_KEY"):
        LLMConfig(provider="openai", api_key_env="MY_KEY").resolve({})
    ep = LLMConfig(provider="groq").resolve({"GROQ_API_KEY": "gsk_secretsecret"})
    assert ep.api_key == "gsk_secretsecret" and "gsk_secretsecret" not in repr(ep)
    assert LLMConfig(provider="lmstudio").resolve({}).api_key  # local servers need none


def test_unknown_provider_lists_the_known_ones():
    with pytest.raises(ConfigError, match="known: .*groq"):
        LLMConfig(provider="grok").spec()


def test_custom_needs_a_base_url():
    with pytest.raises(ConfigError, match="base_url"):
        LLMConfig(provider="custom").resolve({})


def test_toml_profiles(tmp_path):
    path = tmp_path / "profiles.toml"
    path.write_text('[providers.my-vllm]\nextends = "vllm"\nbase_url = "http://gpu:8000/v1"\nmodel = "Qwen"\n'
                    'rpm = 600\n\n[providers.box]\nbase_url = "http://box/v1"\njson_mode = "json_object_schema"\n')
    profiles = load_profiles(path)
    spec = LLMConfig(provider="my-vllm", profiles=profiles).spec()
    assert (spec.base_url, spec.default_model, spec.rpm, spec.local) == ("http://gpu:8000/v1", "Qwen", 600, True)
    assert profiles["box"].json_mode is JsonMode.JSON_OBJECT_SCHEMA and profiles["box"].api_key_env == "CUSTOM_API_KEY"


@pytest.mark.parametrize("text,message", [
    ('[providers.x]\nbase_urll = "u"\n', "unknown key.*base_urll"),
    ('[providers.x]\nextends = "nope"\n', "extends = 'nope'"),
    ('[providers.x]\njson_mode = "xml"\n', "json_mode must be one of"),
    ('providers = 3\n', "must be a table"),
])
def test_bad_profiles_name_the_section_and_key(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_profiles(__import__("tomllib").loads(text), "p.toml")


def test_profile_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[providers.x\n")
    with pytest.raises(ConfigError, match="bad.toml"):
        load_profiles(bad)
    with pytest.raises(ConfigError, match="no such profile file"):
        load_profiles(tmp_path / "missing.toml")
