"""`client_for`: the sim is reached through its transport, chosen by the factory; the client itself
knows no provider by name (what differs is data on the spec)."""

import asyncio
import dataclasses
import json

import httpx2

from negoray.chat import ChatParams
from negoray.llm.cache import cache_key
from negoray.llm.client import LLMClient
from negoray.llm.config import LLMConfig
from negoray.llm.factory import client_for, transport_for
from negoray.sim.model import SimModel
from negoray.sim.transport import SimTransport

MSGS = [{"role": "user", "content": "hi"}]


def test_the_sim_gets_the_in_process_transport_and_others_the_network():
    assert isinstance(transport_for(LLMConfig(provider="sim").resolve({})), SimTransport)
    assert transport_for(LLMConfig(provider="custom", base_url="http://x.test/v1").resolve({})) is None


def test_a_sim_client_answers_like_the_sim_model():
    params = ChatParams(temperature=1.0, seed=4, replicate=2)

    async def go():
        client = client_for(LLMConfig(provider="sim").resolve({}))
        try:
            return await client(MSGS, params)
        finally:
            await client.aclose()

    assert asyncio.run(go()).text == SimModel().reply(MSGS, params).text


def _bodies(provider: str, **spec):
    bodies = []

    def handle(request):
        bodies.append(json.loads(request.content))
        return httpx2.Response(200, json={"choices": [{"message": {"content": "OK"}, "finish_reason": "stop"}],
                                          "usage": {"prompt_tokens": 1, "completion_tokens": 1}})

    endpoint = LLMConfig(provider=provider, base_url="http://x.test/v1", api_key="k").resolve({})
    endpoint = dataclasses.replace(endpoint, spec=endpoint.spec.with_overrides(**spec))
    client = client_for(endpoint, transport=httpx2.MockTransport(handle))
    asyncio.run(client(MSGS, ChatParams(replicate=3)))
    return client, bodies


def test_replicate_is_sent_only_where_the_spec_accepts_it():
    assert _bodies("sim")[1][0]["replicate"] == 3
    assert "replicate" not in _bodies("vllm")[1][0]
    assert _bodies("vllm", accepts_replicate=True)[1][0]["replicate"] == 3


def test_a_server_whose_url_changes_is_cached_by_model():
    local, _ = _bodies("local")
    assert local._cache_endpoint == "local:SmolLM2-135M-Instruct"  # the key negoray always used
    vllm, _ = _bodies("vllm")
    assert vllm._cache_endpoint == "http://x.test/v1"
    assert cache_key(local._cache_endpoint, "m", MSGS, ChatParams()) != cache_key(vllm._cache_endpoint, "m", MSGS, ChatParams())


def test_client_for_passes_options_through():
    client = client_for(LLMConfig(provider="sim").resolve({}), run="r1", backoff_s=0.01)
    assert isinstance(client, LLMClient) and client.run == "r1"


def test_the_cache_and_limiter_seams_are_met_by_negorays_own(tmp_path):
    from negoray.llm.cache import ResponseCache
    from negoray.llm.limiter import InProcessLimiter
    from negoray.llm.protocols import Cache, Limiter

    assert isinstance(ResponseCache(tmp_path / "c.sqlite"), Cache)
    assert isinstance(InProcessLimiter(), Limiter)
    assert not isinstance(object(), Cache) and not isinstance(object(), Limiter)
