"""The sim server through the real openai SDK (``max_retries=0``) over real HTTP."""

import asyncio

import httpx2
import openai
import pytest

from negoray.chat import ChatParams
from negoray.game.moves import MoveFormat
from negoray.game.protocol import system_prompt, turn_prompt
from negoray.sim.faults import FaultConfig
from negoray.sim.model import SIM_MODEL_NAME, sim_reply_text
from negoray.sim.server import UNLOADED_ERROR, serve_in_subprocess, serve_in_thread
from negoray.tasks.negotiation.seeds import SEED_STRATEGIES

from ..llm.vtime import VirtualTime

HELLO = [{"role": "user", "content": "hello"}]
NEGOTIATION = [
    {"role": "system", "content": system_prompt(SEED_STRATEGIES["cooperative"], 5, MoveFormat.TEXT)},
    {"role": "user", "content": turn_prompt((3, 2, 1), (1, 2, 3), [], 1, 5, True, None)},
]


def client(url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=url, api_key="sim", max_retries=0,
                              http_client=httpx2.AsyncClient(trust_env=False, timeout=10))


def call(url: str, messages=HELLO, **kwargs):
    async def go():
        async with client(url) as c:
            return await c.chat.completions.create(model=SIM_MODEL_NAME, messages=messages, **kwargs)
    return asyncio.run(go())


def failure(url: str, **kwargs) -> Exception:
    with pytest.raises(openai.OpenAIError) as info:
        call(url, **kwargs)
    return info.value


@pytest.fixture(scope="module")
def server():
    with serve_in_thread(FaultConfig()) as url:
        yield url


def test_a_completion_parses_with_usage_and_matches_the_sim(server):
    r = call(server, NEGOTIATION, temperature=1.0, seed=1, max_tokens=300)
    assert r.object == "chat.completion" and r.model == SIM_MODEL_NAME
    assert r.choices[0].message.role == "assistant" and r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.content == sim_reply_text(NEGOTIATION, ChatParams(temperature=1.0, seed=1, max_tokens=300))
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_replicate_comes_from_the_body_or_the_header(server):
    def expected(r):
        return sim_reply_text(NEGOTIATION, ChatParams(temperature=1.0, seed=1, replicate=r))
    by_body = [call(server, NEGOTIATION, temperature=1.0, seed=1, extra_body={"replicate": r}) for r in range(4)]
    assert [c.choices[0].message.content for c in by_body] == [expected(r) for r in range(4)]
    by_header = call(server, NEGOTIATION, temperature=1.0, seed=1, extra_headers={"x-negoray-replicate": "3"})
    assert by_header.choices[0].message.content == expected(3)


def test_streaming_gives_the_same_text_and_usage_last(server):
    async def go():
        async with client(server) as c:
            stream = await c.chat.completions.create(model=SIM_MODEL_NAME, messages=NEGOTIATION, seed=2,
                                                     stream=True, stream_options={"include_usage": True})
            return [chunk async for chunk in stream]

    chunks = asyncio.run(go())
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == sim_reply_text(NEGOTIATION, ChatParams(temperature=1.0, seed=2))  # OpenAI's default temperature
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert all(ch.usage is None for ch in chunks[:-1])


def test_stats_count_and_reset(server):
    server.reset_stats()
    call(server)
    call(server, max_tokens=7)
    with pytest.raises(openai.BadRequestError):
        call(server, messages=[])
    s = server.stats()
    assert (s["requests"], s["completed"], s["bad_requests"], s["errors"], s["rate_limited"]) == (3, 2, 1, 0, 0)
    assert s["in_flight"] == 0 and s["max_in_flight"] == 1
    assert s["prompt_tokens"] > 0 and s["completion_tokens"] > 0
    assert server.reset_stats()["requests"] == 0


def test_models_and_health(server):
    async def go():
        async with client(server) as c:
            return await c.models.list()
    assert [m.id for m in asyncio.run(go()).data] == [SIM_MODEL_NAME]
    with httpx2.Client(trust_env=False) as h:
        assert h.get(server.root + "/health").json()["status"] == "ok"
        bad = h.post(server + "/chat/completions", content=b"{not json")
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"


def test_a_tiny_window_rate_limit_gives_rate_limit_errors_with_headers():
    vt = VirtualTime()
    with serve_in_thread(FaultConfig(rpm=2, window_s=2.0), clock=vt) as url:
        ok = asyncio.run(_raw_ok(url))
        assert ok["x-ratelimit-limit-requests"] == "2" and ok["x-ratelimit-remaining-requests"] == "1"
        assert ok["x-ratelimit-reset-requests"] == "2s"
        call(url)
        e = failure(url)
        assert isinstance(e, openai.RateLimitError) and e.code == "rate_limit_exceeded"
        h = e.response.headers
        wait_ms = int(h["retry-after-ms"])
        assert 0 < wait_ms <= 2000 and h["retry-after"] == str(-(-wait_ms // 1000))
        assert h["x-ratelimit-remaining-requests"] == "0" and h["x-ratelimit-limit-requests"] == "2"
        assert h["x-ratelimit-reset-requests"].endswith("s")
        assert isinstance(failure(url), openai.RateLimitError)  # too soon: counted as early
        vt.now += int(failure(url).response.headers["retry-after-ms"]) / 1000
        call(url)  # on time
        s = url.stats()
        assert (s["requests"], s["completed"], s["rate_limited"], s["early"]) == (6, 3, 3, 2)


async def _raw_ok(url):
    async with client(url) as c:
        raw = await c.chat.completions.with_raw_response.create(model=SIM_MODEL_NAME, messages=HELLO)
        return raw.headers


def test_a_token_limit_counts_max_tokens():
    with serve_in_thread(FaultConfig(tpm=600, window_s=30)) as url:
        call(url, max_tokens=500)
        e = failure(url, max_tokens=500)
        assert isinstance(e, openai.RateLimitError)
        assert e.body["type"] == "tokens" and int(e.response.headers["x-ratelimit-remaining-tokens"]) < 500
        call(url, max_tokens=50)


def test_error_rate_one_gives_internal_server_errors():
    with serve_in_thread(FaultConfig(error_rate=1.0)) as url:
        assert isinstance(failure(url), openai.InternalServerError)
        assert url.stats()["errors"] == url.stats()["server_errors"] == 1


@pytest.mark.parametrize("stream", [False, True])
def test_drop_rate_one_gives_connection_errors(stream):
    async def go(url):
        async with client(url) as c:
            r = await c.chat.completions.create(model=SIM_MODEL_NAME, messages=HELLO, stream=stream)
            if stream:
                async for _ in r:
                    pass

    with serve_in_thread(FaultConfig(drop_rate=1.0)) as url:
        with pytest.raises(openai.APIConnectionError):
            asyncio.run(go(url))
        assert url.stats()["dropped"] == url.stats()["errors"] == 1
        with httpx2.Client(trust_env=False) as h:  # the server is still up
            assert h.get(url.root + "/health").status_code == 200


def test_an_unload_window_gives_lm_studios_error_then_recovers():
    vt = VirtualTime()
    with serve_in_thread(FaultConfig(unload_after=0, unload_for=0.8), clock=vt) as url:
        e = failure(url)
        assert isinstance(e, openai.BadRequestError) and e.status_code == 400
        assert e.code == "model_not_found" and e.body["message"] == UNLOADED_ERROR["message"]
        assert url.stats()["unloaded_now"]
        vt.now += 0.8
        assert not url.stats()["unloaded_now"]
        call(url)
        s = url.stats()
        assert (s["unloaded"], s["errors"], s["completed"]) == (1, 1, 1)


class HoldUntil:
    """A server ``sleep`` that holds each request in its slot until ``n`` requests are held at once
    (then lets every one through): concurrency is seen whatever the machine's load."""

    def __init__(self, n):
        self.n, self.held = n, 0

    async def __call__(self, seconds):
        self.held += 1
        while self.held < self.n:
            await asyncio.sleep(0.001)


def test_one_slot_serialises_concurrent_requests():
    async def burst(url, n):
        async with client(url) as c:
            await asyncio.gather(*(c.chat.completions.create(model=SIM_MODEL_NAME, messages=HELLO) for _ in range(n)))

    with serve_in_thread(FaultConfig(slots=1, latency_ms=40)) as url:
        asyncio.run(burst(url, 5))
        s = url.stats()
        assert s["max_in_flight"] == 1 and s["completed"] == 5 and s["queued"] == 0
    with serve_in_thread(FaultConfig(slots=3), sleep=HoldUntil(3)) as url:
        asyncio.run(burst(url, 6))
        s = url.stats()
        assert s["max_in_flight"] == 3 and s["completed"] == 6


def test_serve_in_subprocess():
    with serve_in_subprocess(FaultConfig(rpm=1, window_s=30, seed=5)) as url:
        call(url)
        assert isinstance(failure(url), openai.RateLimitError)
        assert url.stats()["rate_limited"] == 1
