"""--thinking: each provider's documented switch is sent, keyed in the cache, and the reply is split."""

import asyncio
import json

import httpx2
import pytest

from negoray.chat import ChatParams
from negoray.llm.cache import ResponseCache
from negoray.llm.client import LLMClient
from negoray.llm.config import ConfigError, LLMConfig, parse_profiles
from negoray.llm.limiter import RateLimiter
from negoray.llm.providers import PROVIDERS, Thinking

from .vtime import VirtualTime

MSGS = [{"role": "system", "content": "You negotiate."}, {"role": "user", "content": "Your move."}]


def answer(content, finish="stop", reasoning_tokens=None, completion_tokens=30, **message):
    usage = {"prompt_tokens": 11, "completion_tokens": completion_tokens}
    if reasoning_tokens is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    body = {"choices": [{"message": {"role": "assistant", "content": content, **message}, "finish_reason": finish}],
            "usage": usage}
    return httpx2.Response(200, json=body)


def client(responses, provider="vllm", cache=None, **config):
    bodies = []

    def handle(request):
        bodies.append(json.loads(request.content))
        return responses[min(len(bodies), len(responses)) - 1]

    vt = VirtualTime()
    c = LLMClient(LLMConfig(provider=provider, base_url="http://server.test/v1", api_key="k", **config).resolve({}),
                  transport=httpx2.MockTransport(handle), sleep=vt.sleep, clock=vt, limiter=RateLimiter(clock=vt),
                  cache=cache)
    return c, bodies


def call(c, params=ChatParams()):
    return asyncio.run(c(MSGS, params))


def test_every_provider_says_how_reasoning_is_switched_or_that_it_cannot_be():
    for name, spec in PROVIDERS.items():
        if name in ("sim", "custom"):
            continue  # the sim does not reason; a custom endpoint's server is unknown
        assert spec.thinking_switches, name
        for switch in spec.thinking_switches:
            assert switch.source, name
            assert switch.off is not None or switch.note, name  # no switch: the data says so, and what to do


@pytest.mark.parametrize("provider,model,off", [
    ("vllm", "Qwen/Qwen3-30B-A3B", {"chat_template_kwargs": {"enable_thinking": False}}),
    ("llamacpp", "default", {"chat_template_kwargs": {"enable_thinking": False}}),
    ("sglang", "Qwen/Qwen3-30B-A3B", {"chat_template_kwargs": {"enable_thinking": False}}),
    ("openai", "gpt-5-mini", {"reasoning_effort": "minimal"}),
    ("openai", "o3-mini", {"reasoning_effort": "low"}),
    ("openai", "gpt-4o-mini", {}),  # not a reasoning model: it would reject the field
    ("xai", "grok-3-mini", {"reasoning_effort": "low"}),
    ("xai", "grok-4", {}),
    ("groq", "qwen/qwen3-32b", {"reasoning_effort": "none"}),
    ("groq", "llama-3.3-70b-versatile", {}),
    ("openrouter", "qwen/qwen3-30b-a3b", {"reasoning": {"enabled": False}}),
    ("ollama", "qwen3:30b", {"reasoning_effort": "none"}),
    ("lmstudio", "qwen/qwen3-30b", {}),
])
def test_thinking_off_sends_the_providers_documented_switch(provider, model, off):
    c, bodies = client([answer("ACCEPT")], provider=provider, model=model)
    call(c)
    assert {k: bodies[0][k] for k in off} == off
    assert not {"chat_template_kwargs", "reasoning_effort", "reasoning"} - set(off) & set(bodies[0])


def test_thinking_on_sends_the_on_switch_and_is_its_own_cache_entry(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    off, off_bodies = client([answer("ACCEPT")], cache=cache)
    on, on_bodies = client([answer("<think>hmm</think>REJECT")], cache=cache, thinking="on")
    assert call(off).text == "ACCEPT"
    assert call(on).text == "REJECT"  # not the cached thinking-off reply
    assert on_bodies[0]["chat_template_kwargs"] == {"enable_thinking": True}
    assert off_bodies[0]["chat_template_kwargs"] == {"enable_thinking": False}
    assert len(cache) == 2


def test_the_reply_keeps_reasoning_finish_reason_and_reasoning_tokens_through_the_cache(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    c, _ = client([answer("<think>weigh it</think>\nACCEPT", reasoning_tokens=20)], cache=cache, thinking="on")
    reply = call(c)
    assert (reply.text, reply.reasoning, reply.finish_reason, reply.reasoning_tokens) == ("ACCEPT", "weigh it", "stop", 20)
    again, sent = client([answer("never")], cache=cache, thinking="on")
    hit = call(again)
    assert not sent and hit.cache_hit
    assert (hit.text, hit.reasoning, hit.finish_reason, hit.reasoning_tokens) == ("ACCEPT", "weigh it", "stop", 20)


def test_a_reply_cut_inside_its_reasoning_has_no_answer():
    c, _ = client([answer("<think>first the books, then", finish="length")], thinking="on")
    reply = call(c)
    assert (reply.text, reply.finish_reason) == ("", "length") and reply.reasoning == "first the books, then"


def test_a_reasoning_content_field_is_the_reasoning():
    c, _ = client([answer("PROPOSE: ...", reasoning_content="maybe ACCEPT?")], thinking="on")
    reply = call(c)
    assert (reply.text, reply.reasoning) == ("PROPOSE: ...", "maybe ACCEPT?")


def test_reasoning_tokens_are_priced_as_output_where_the_provider_reports_them_apart():
    # OpenAI counts them inside completion_tokens; xAI reports them next to it.
    openai, _ = client([answer("ACCEPT", reasoning_tokens=20, completion_tokens=30)], provider="openai", model="o3-mini")
    xai, _ = client([answer("ACCEPT", reasoning_tokens=20, completion_tokens=30)], provider="xai")
    assert call(openai).completion_tokens == 30
    assert call(xai).completion_tokens == 50
    assert xai.ledger.total.usd == pytest.approx((11 * 0.30 + 50 * 0.50) / 1e6)


def test_the_profile_key_and_the_setting_choose_thinking():
    profiles = parse_profiles({"providers": {"qwen": {"extends": "vllm", "model": "Qwen/Qwen3-30B-A3B", "thinking": "on"}}})
    assert profiles["qwen"].thinking is Thinking.ON
    assert LLMConfig(provider="qwen", profiles=profiles).spec().thinking is Thinking.ON
    assert LLMConfig(provider="qwen", thinking="off", profiles=profiles).spec().thinking is Thinking.OFF
    assert LLMConfig(provider="vllm").spec().thinking is Thinking.OFF  # the default
    with pytest.raises(ConfigError, match=r"\[providers.qwen\]: thinking = 'maybe' is not allowed; expected \"off\" or \"on\""):
        parse_profiles({"providers": {"qwen": {"extends": "vllm", "thinking": "maybe"}}})
    with pytest.raises(ConfigError, match="thinking = 'yes'"):
        LLMConfig(provider="vllm", thinking="yes").spec()
