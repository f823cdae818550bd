"""Prompt caching counted and priced, the tiers in the registry, and flex's semantics (virtual time)."""

import dataclasses

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from negoray.llm.config import ConfigError, LLMConfig
from negoray.llm.cost import call_cost
from negoray.llm.prompt_cache import cached_prompt_tokens
from negoray.llm.providers import PROVIDERS
from negoray.llm.tiers import OPENAI_CACHING, PromptCaching, Tier

from .test_client import Script, call, client, ok
from .vtime import VirtualTime


def cached_ok(cached):
    body = {"choices": [{"message": {"role": "assistant", "content": "ACCEPT"}}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 10, "prompt_tokens_details": {"cached_tokens": cached}}}
    return httpx2.Response(200, json=body)


def test_cached_tokens_are_read_from_every_usage_shape():
    assert cached_prompt_tokens({"prompt_tokens_details": {"cached_tokens": 96}}) == 96  # OpenAI, xAI, vLLM, Groq
    assert cached_prompt_tokens({"prompt_cache_hit_tokens": 64}) == 64  # DeepSeek
    assert cached_prompt_tokens({"cache_read_input_tokens": 32}) == 32  # Anthropic's native usage
    assert cached_prompt_tokens({"prompt_tokens_details": None}) == 0 == cached_prompt_tokens({})


def test_a_call_records_its_cached_tokens_and_pays_the_cached_price_for_them():
    vt = VirtualTime()
    c = client(Script([cached_ok(768)], vt), vt, config={"price_in": 1.0, "price_out": 2.0})
    c.endpoint = dataclasses.replace(c.endpoint, spec=c.endpoint.spec.with_overrides(price_cached_in=0.1))
    reply = call(c)
    assert reply.cached_prompt_tokens == 768 and reply.prompt_tokens == 1000
    assert c.ledger.total.usd == pytest.approx((232 * 1.0 + 768 * 0.1 + 10 * 2.0) / 1e6)


@given(st.integers(0, 5000), st.integers(0, 5000), st.floats(0, 10), st.floats(0, 10), st.floats(0, 10))
def test_caching_never_costs_more_and_no_cached_tokens_cost_the_plain_price(prompt, cached, p_in, p_out, p_cached):
    cached = min(cached, prompt)
    plain = call_cost(prompt, 7, p_in, p_out)
    assert call_cost(prompt, 7, p_in, p_out, 0, p_cached) == pytest.approx(plain)
    if p_cached <= p_in:
        assert call_cost(prompt, 7, p_in, p_out, cached, p_cached) <= plain + 1e-12


@given(st.integers(0, 4000), st.integers(0, 4000))
def test_the_planned_cached_share_is_whole_blocks_of_the_shared_prefix_above_the_minimum(prompt, prefix):
    cached = OPENAI_CACHING.cached(prompt, prefix)
    assert 0 <= cached <= min(prompt, prefix) and cached % 128 == 0
    assert cached == 0 or prompt >= 1024
    assert PromptCaching(0.5).cached(prompt, prefix) == min(prompt, prefix)


def test_the_registry_holds_each_providers_tiers_and_prices():
    openai = PROVIDERS["openai"]
    assert openai.prices(Tier.BATCH) == (0.075, 0.30, 0.0375)
    assert openai.offered_tiers() == [Tier.STANDARD, Tier.BATCH]  # flex: o3 / o4-mini / gpt-5 only
    assert PROVIDERS["openai"].with_overrides(default_model="gpt-5-mini").tier_offer(Tier.FLEX).service_tier == "flex"
    groq_flex = PROVIDERS["groq"].tier_offer(Tier.FLEX)
    assert groq_flex.rate_factor == 10 and PROVIDERS["groq"].prices(Tier.FLEX)[:2] == (0.59, 0.79)
    assert Tier.BATCH in PROVIDERS["custom"].offered_tiers()  # the user says so
    assert PROVIDERS["groq-free"].offered_tiers() == [Tier.STANDARD]


def test_a_tier_the_provider_does_not_offer_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"tier = 'flex' is not offered by provider 'together'.*standard, batch"):
        LLMConfig(provider="together", tier="flex").resolve({"TOGETHER_API_KEY": "k"})
    with pytest.raises(ConfigError, match="tier = 'cheap' is not allowed"):
        LLMConfig(provider="custom", tier="cheap").spec()


def test_flex_sends_service_tier_and_gets_the_recommended_timeout():
    vt = VirtualTime()
    script = Script([ok()], vt)
    c = client(script, vt, config={"tier": "flex"})
    call(c)
    assert script.bodies[0]["service_tier"] == "flex"
    assert LLMConfig(provider="openai", model="gpt-5-mini", tier="flex").resolve({"OPENAI_API_KEY": "k"}).timeout_s == 900


def test_groq_flex_498_is_retried_without_pausing_the_key():
    vt = VirtualTime()
    full = httpx2.Response(498, json={"error": {"message": "flex tier capacity exceeded", "code": "capacity_exceeded"}})
    c = client(Script([full, full, ok()], vt), vt, config={"tier": "flex"})
    reply = call(c)
    assert reply.text == "ACCEPT" and reply.attempts == 3
    assert not c._use_limiter  # never paused: a 498 is the provider's capacity, not our rate


def test_openai_flex_resource_unavailable_backs_off_without_pausing_the_key():
    vt = VirtualTime()
    busy = httpx2.Response(429, json={"error": {"message": "Resource Unavailable: flex capacity", "type": "resource_unavailable"}})
    c = client(Script([busy, ok()], vt), vt, config={"tier": "flex"})
    assert call(c).attempts == 2 and not c._use_limiter
    vt2 = VirtualTime()
    limited = httpx2.Response(429, json={"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}})
    c2 = client(Script([limited, ok()], vt2), vt2)
    assert call(c2).attempts == 2 and c2._use_limiter  # an ordinary 429 still pauses the key



def test_the_config_keys_are_checked_naming_them():
    from negoray.config import ExperimentConfigError, load_config, with_overrides

    for key, value, allowed in [("provider.tier", "cheap", '"standard", "flex" or "batch"'),
                                ("provider.batch_retry", "never", '"batch" or "standard"'),
                                ("provider.batch_min_requests", 0, "an integer >= 1")]:
        with pytest.raises(ExperimentConfigError, match=f"{key}.*{allowed}"):
            with_overrides(load_config("smoke"), **{key: value})
    with pytest.raises(ConfigError, match="tier = 'batch' is not offered by provider 'sim'"):
        LLMConfig(provider="sim", tier="batch").resolve({})
