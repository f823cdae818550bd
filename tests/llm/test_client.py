"""LLMClient over the real openai SDK with scripted transports, in virtual time."""

import asyncio
import json

import httpx2
import pytest

from negoray.chat import ChatFailure, ChatParams
from negoray.llm.cache import ResponseCache
from negoray.llm.client import LLMClient
from negoray.llm.config import LLMConfig
from negoray.llm.cost import Budget
from negoray.llm.errors import BudgetExceeded, FatalProviderError
from negoray.llm.limiter import RateLimiter

from .vtime import VirtualTime

MSGS = [{"role": "system", "content": "You negotiate."}, {"role": "user", "content": "Your move."}]


def ok(text="ACCEPT", usage=True):
    body = {"choices": [{"message": {"role": "assistant", "content": text}}]}
    if usage:
        body["usage"] = {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
    return httpx2.Response(200, json=body)


class Script:
    """Answers requests from a list of responses (the last one repeats) and records bodies and times."""

    def __init__(self, responses, clock=None):
        self.responses, self.clock = list(responses), clock
        self.bodies, self.times = [], []

    def __call__(self, request):
        self.bodies.append(json.loads(request.content))
        self.times.append(self.clock.now if self.clock else 0)
        return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]


def client(script, vt, provider="custom", **kw):
    config = LLMConfig(provider=provider, base_url="http://server.test/v1", **kw.pop("config", {}))
    return LLMClient(config.resolve({}), transport=httpx2.MockTransport(script), sleep=vt.sleep, clock=vt,
                     limiter=kw.pop("limiter", RateLimiter(clock=vt)), **kw)


def call(c, params=ChatParams()):
    return asyncio.run(c(MSGS, params))


def test_success_reports_usage_provider_and_attempts():
    vt = VirtualTime()
    reply = call(client(Script([ok()], vt), vt))
    assert (reply.text, reply.prompt_tokens, reply.completion_tokens, reply.attempts) == ("ACCEPT", 11, 3, 1)
    assert reply.provider == "custom" and not reply.cache_hit


def test_usage_is_counted_locally_when_the_server_omits_it():
    vt = VirtualTime()
    reply = call(client(Script([ok("PROPOSE: I get [1 book, 0 hats, 0 balls]", usage=False)], vt), vt))
    assert reply.prompt_tokens > 0 and reply.completion_tokens == 10


def test_retry_after_is_honoured_exactly_and_no_call_is_early():
    vt = VirtualTime()
    script = Script([httpx2.Response(429, json={"error": {"message": "slow"}}, headers={"retry-after-ms": "1500"}),
                     httpx2.Response(429, json={"error": {"message": "slow"}}, headers={"retry-after": "3"}),
                     ok()], vt)
    reply = call(client(script, vt), ChatParams())
    assert reply.attempts == 3
    assert script.times[1] - script.times[0] == pytest.approx(1.5)
    assert script.times[2] - script.times[1] == pytest.approx(3.0)


def test_latency_is_the_answering_request_only_not_the_waits_before_it():
    vt = VirtualTime()

    def slow(request):  # the server takes 0.7 s to answer, after a 429 that asked for 3 s
        if not hasattr(slow, "seen"):
            slow.seen = True
            return httpx2.Response(429, json={}, headers={"retry-after": "3"})
        vt.now += 0.7
        return ok()

    reply = call(client(slow, vt))
    assert reply.attempts == 2 and reply.latency_s == pytest.approx(0.7)


def test_ratelimit_reset_headers_are_honoured():
    vt = VirtualTime()
    script = Script([httpx2.Response(429, json={}, headers={"x-ratelimit-reset-requests": "2s",
                                                            "x-ratelimit-remaining-requests": "0"}), ok()], vt)
    call(client(script, vt))
    assert script.times[1] - script.times[0] == pytest.approx(2.0)


def test_a_429_pauses_every_caller_of_the_key():
    vt = VirtualTime()
    limiter = RateLimiter(clock=vt)
    script = Script([httpx2.Response(429, json={}, headers={"retry-after": "10"}), ok()], vt)
    c = client(script, vt, limiter=limiter)
    call(c)
    assert limiter.paused_for(c.limit_key) == 0
    assert script.times[1] >= script.times[0] + 10


def test_server_errors_back_off_then_give_up_as_chat_failure():
    vt = VirtualTime()
    script = Script([httpx2.Response(503, json={"error": {"message": "overloaded"}})], vt)
    c = client(script, vt, config={})
    with pytest.raises(ChatFailure, match="gave up after 8 attempt"):
        call(c)
    assert len(script.bodies) == 8
    assert all(0 < s <= 30 for s in vt.sleeps) and vt.sleeps[-1] > vt.sleeps[0]


def test_bad_key_fails_fast_with_a_clear_message():
    vt = VirtualTime()
    script = Script([httpx2.Response(401, json={"error": {"message": "Invalid API Key"}})], vt)
    c = client(script, vt, config={"api_key": "sk-live-very-secret"})
    with pytest.raises(FatalProviderError, match="rejected the API key") as err:
        call(c)
    assert len(script.bodies) == 1 and "sk-live-very-secret" not in str(err.value)
    assert "sk-live-very-secret" not in repr(c.endpoint) and "sk-live-very-secret" not in repr(c.endpoint.spec)


def test_local_model_unloaded_is_ridden_out():
    vt = VirtualTime()
    unloaded = httpx2.Response(400, json={"error": {"message": "No models loaded. Please load a model."}})
    script = Script([unloaded, unloaded, unloaded, ok()], vt)
    reply = call(client(script, vt, provider="lmstudio"))
    assert reply.attempts == 4


def test_structured_output_uses_the_providers_form():
    vt = VirtualTime()
    fmt = {"type": "json_schema", "json_schema": {"name": "move", "schema": {"type": "object"}}}
    script = Script([ok()], vt)
    call(client(script, vt, provider="llamacpp"), ChatParams(response_format=fmt))
    assert script.bodies[0]["response_format"] == {"type": "json_object", "schema": {"type": "object"}}
    script = Script([ok()], vt)
    call(client(script, vt, provider="vllm"), ChatParams(response_format=fmt))
    assert script.bodies[0]["response_format"]["json_schema"]["schema"] == {"type": "object"}
    script = Script([ok()], vt)
    call(client(script, vt, provider="anthropic", config={"api_key": "k"}), ChatParams(response_format=fmt))
    assert "response_format" not in script.bodies[0]


def test_cache_hits_are_exact_and_a_second_run_makes_no_calls(tmp_path):
    vt = VirtualTime()
    script = Script([ok("first"), ok("second"), ok("third")], vt)
    cache = ResponseCache(tmp_path / "cache.sqlite")
    c = client(script, vt, cache=cache)
    a, b = call(c, ChatParams(replicate=0)), call(c, ChatParams(replicate=1))
    assert (a.text, b.text) == ("first", "second")  # replicates are separate samples
    again = client(Script([ok("never")], vt), vt, cache=cache)
    hits = [call(again, ChatParams(replicate=r)) for r in (0, 1)]
    assert [h.text for h in hits] == ["first", "second"] and all(h.cache_hit for h in hits)
    assert again.ledger.total.cache_hits == 2 and again.ledger.total.tokens == 0


def test_budget_cap_stops_new_calls():
    vt = VirtualTime()
    script = Script([ok()], vt)
    c = client(script, vt, budget=Budget(max_tokens=25))
    call(c)
    call(c)
    with pytest.raises(BudgetExceeded, match="max_tokens"):
        call(c)
    assert len(script.bodies) == 2


def test_dollars_are_accounted_from_the_price_table():
    vt = VirtualTime()
    c = client(Script([ok()], vt), vt, run="run-A", config={"price_in": 2.0, "price_out": 10.0})
    call(c)
    assert c.ledger.total.usd == pytest.approx((11 * 2.0 + 3 * 10.0) / 1e6)
    assert c.ledger.by_run["run-A"].calls == 1 and c.ledger.by_provider["custom"].prompt_tokens == 11


def test_the_local_models_cache_survives_a_new_port(tmp_path):
    vt = VirtualTime()
    cache = ResponseCache(tmp_path / "cache.sqlite")

    def local_client(port, script):
        endpoint = LLMConfig(provider="local", base_url=f"http://127.0.0.1:{port}/v1").resolve({})
        return LLMClient(endpoint, cache=cache, transport=httpx2.MockTransport(script), sleep=vt.sleep, clock=vt)

    call(local_client(40001, Script([ok("first")], vt)))
    again = call(local_client(40002, Script([ok("never")], vt)))
    assert again.text == "first" and again.cache_hit


def test_identical_concurrent_calls_are_sent_once():
    vt = VirtualTime()
    script = Script([ok("shared")], vt)
    c = client(script, vt)

    async def both():
        return await asyncio.gather(c(MSGS, ChatParams()), c(MSGS, ChatParams()), c(MSGS, ChatParams(replicate=1)))

    first, second, other = asyncio.run(both())
    assert len(script.bodies) == 2  # the two identical calls shared one request; replicate 1 is its own
    assert first.text == second.text == "shared" and not first.cache_hit and second.cache_hit
