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


def test_a_profile_extending_custom_needs_no_key_like_plain_custom():
    """Issue 12: ``extends = "custom"`` must not demand CUSTOM_API_KEY when ``--provider custom`` does not."""
    profiles = parse_profiles({"providers": {"box": {"extends": "custom", "base_url": "http://box:8000/v1"}}})
    assert LLMConfig(provider="custom", base_url="http://box:8000/v1").resolve({}).api_key == "not-needed"
    assert LLMConfig(provider="box", profiles=profiles).resolve({}).api_key == "not-needed"


def test_a_rejected_profile_key_names_the_profile_and_file_not_an_environment_variable():
    """Issue 12: a profile's ``api_key`` rejected with a 401 says where that key was written."""
    import httpx2
    import openai

    from negoray.llm.errors import classify

    profiles = parse_profiles({"providers": {"box": {"base_url": "http://box/v1", "api_key": "profile-key-1234"}}},
                              "team.toml")
    endpoint = LLMConfig(provider="box", profiles=profiles).resolve({})
    response = httpx2.Response(401, json={"error": {"message": "bad key"}},
                               request=httpx2.Request("POST", "http://box/v1/chat/completions"))
    err = openai.AuthenticationError("bad key", response=response, body={"error": {"message": "bad key"}})
    reason = classify(err, provider="box", local=False, key_env=endpoint.spec.api_key_env,
                      key_hint=endpoint.key_hint).reason
    assert "api_key in team.toml: [providers.box]" in reason and "CUSTOM_API_KEY" not in reason
    env_endpoint = LLMConfig(provider="groq").resolve({"GROQ_API_KEY": "gsk-abcdefgh"})
    assert env_endpoint.key_hint == "the key in GROQ_API_KEY"
