"""The client under an adaptive concurrency limit: each call records the limit it was sent under, a
fixed concurrency records none, and failures are read as load signals."""

from __future__ import annotations

import asyncio

import httpx2
import openai
import pytest

from negoray.chat import ChatParams
from negoray.llm.adaptive_concurrency import Outcome
from negoray.llm.client import LLMClient, load_outcome
from negoray.llm.config import LLMConfig
from negoray.sim.transport import SimTransport

MSGS = [{"role": "user", "content": "Make your offer."}]


def _client(**config) -> LLMClient:
    endpoint = LLMConfig(provider="custom", base_url="http://sim.test/v1", model="negoray-sim-1", **config).resolve({})
    return LLMClient(endpoint, transport=SimTransport())


async def _calls(client: LLMClient, n: int):
    replies = await asyncio.gather(*(client(MSGS, ChatParams(replicate=i)) for i in range(n)))
    await client.aclose()
    return replies


def test_a_custom_url_is_adaptive_and_each_call_records_its_limit():
    client = _client()
    assert client.endpoint.spec.adaptive
    replies = asyncio.run(_calls(client, 40))
    assert all(isinstance(r.concurrency_limit, int) and r.concurrency_limit >= 1 for r in replies)
    assert client.concurrency is not None and client.concurrency.in_use == 0


@pytest.mark.parametrize("config", [{"max_concurrency": 8}, {"adaptive": False}])
def test_a_fixed_concurrency_records_no_limit(config):
    client = _client(**config)
    assert not client.endpoint.spec.adaptive and client.concurrency is None
    assert all(r.concurrency_limit is None for r in asyncio.run(_calls(client, 3)))


def test_adaptive_can_be_forced_with_a_fixed_cap():
    assert _client(max_concurrency=8, adaptive=True).endpoint.spec.adaptive


def test_the_built_in_sim_and_cloud_providers_are_not_adaptive():
    assert not LLMConfig(provider="sim").spec().adaptive
    assert not LLMConfig(provider="groq").spec().adaptive
    assert all(LLMConfig(provider=p).spec().adaptive for p in ("vllm", "lmstudio", "llamacpp", "ollama", "local"))


def _status(code: int, message: str) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://x/v1/chat/completions")
    response = httpx2.Response(code, request=request, json={"error": {"message": message}})
    cls = {429: openai.RateLimitError, 500: openai.InternalServerError, 400: openai.BadRequestError}[code]
    return cls(message, response=response, body=None)


def test_failures_are_read_as_load_signals():
    request = httpx2.Request("POST", "http://x/v1/chat/completions")
    assert load_outcome(_status(429, "slow down")) is Outcome.RATE_LIMITED
    assert load_outcome(_status(500, "boom")) is Outcome.OVERLOAD
    assert load_outcome(_status(400, "No models loaded. Please load a model")) is Outcome.OVERLOAD
    assert load_outcome(openai.APITimeoutError(request=request)) is Outcome.OVERLOAD
    assert load_outcome(_status(400, "max_tokens must be positive")) is Outcome.OTHER
    assert load_outcome(ValueError("not JSON")) is Outcome.OTHER
