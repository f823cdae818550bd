"""LLMClient through the real openai SDK against `negoray sim-serve` on loopback, one fault at a time.

Where a test depends on time (rate windows, unload windows, cooldowns), the server, the client and
the failover chain share one `VirtualTime`: the client's sleeps advance it, so nothing races real
sleeps against the server's windows. The retry and rate logic itself is tested in test_client.py and
test_limiter.py.
"""

import asyncio
import json

import httpx2

import pytest

from negoray.chat import ChatParams
from negoray.llm.cache import ResponseCache
from negoray.llm.client import LLMClient
from negoray.llm.config import LLMConfig
from negoray.llm.cost import Budget
from negoray.llm.errors import BudgetExceeded, FatalProviderError
from negoray.llm.failover import FailoverChat
from negoray.sim.faults import FaultConfig
from negoray.sim.server import serve_in_thread

from .vtime import VirtualTime


def messages(i):
    return [{"role": "system", "content": "You negotiate."}, {"role": "user", "content": f"Request {i}: say hi."}]


def make_client(url, provider="custom", vt=None, **kw):
    if vt is not None:  # the client sleeps and reads time on the server's clock
        kw.update(sleep=vt.sleep, clock=vt)
    config = LLMConfig(provider=provider, base_url=url, **kw.pop("config", {}))
    return LLMClient(config.resolve({}), backoff_s=0.05, backoff_max_s=0.5, **kw)


async def ask_all(chat, n, params=ChatParams()):
    return await asyncio.gather(*(chat(messages(i), params) for i in range(n)))


@pytest.mark.parametrize("faults", [dict(error_rate=0.3), dict(drop_rate=0.3), dict(error_rate=0.2, drop_rate=0.2)])
def test_each_fault_kind_is_survived(faults):
    with serve_in_thread(FaultConfig(seed=1, **faults)) as server:
        replies = asyncio.run(ask_all(make_client(server), 30))
        stats = server.stats()
    assert len(replies) == 30 and all(r.text for r in replies)
    assert stats["errors"] > 0 and stats["completed"] == 30
    assert sum(r.attempts for r in replies) == stats["requests"]


class Recording(httpx2.AsyncHTTPTransport):
    """Logs, per request: which call it belongs to, when it was sent, when its answer came (on
    ``clock``), status, Retry-After."""

    def __init__(self, clock):
        super().__init__()
        self.log, self.clock = [], clock

    async def handle_async_request(self, request):
        call = json.loads(request.content)["messages"][-1]["content"]
        sent = self.clock()
        response = await super().handle_async_request(request)
        self.log.append((call, sent, self.clock(), response.status_code, response.headers.get("retry-after-ms")))
        return response


def test_a_429_storm_ends_with_every_call_answered_and_none_before_its_retry_after():
    vt = VirtualTime()
    recording = Recording(vt)
    with serve_in_thread(FaultConfig(rpm=8, window_s=0.5), clock=vt) as server:
        replies = asyncio.run(ask_all(make_client(server, vt=vt, transport=recording), 40))
        stats = server.stats()
    assert len(replies) == 40 and stats["completed"] == 40 and stats["rate_limited"] > 0
    by_call = {}
    for call, sent, answered, status, retry_ms in sorted(recording.log, key=lambda r: r[1]):
        by_call.setdefault(call, []).append((sent, answered, status, retry_ms))
    for attempts in by_call.values():
        assert attempts[-1][2] == 200
        for (_, answered, status, retry_ms), (next_sent, *_) in zip(attempts, attempts[1:]):
            assert status == 429 and next_sent >= answered + float(retry_ms) / 1000


def test_bad_key_fails_fast_with_a_clear_message():
    with serve_in_thread(FaultConfig(api_key="right-key")) as server:
        client = make_client(server, config={"api_key": "wrong-key"})
        with pytest.raises(FatalProviderError, match="rejected the API key") as err:
            asyncio.run(client(messages(0), ChatParams()))
        assert server.stats()["requests"] == 1
        assert "wrong-key" not in str(err.value)
        ok = make_client(server, config={"api_key": "right-key"})
        assert asyncio.run(ok(messages(0), ChatParams())).text


def test_a_model_unloaded_window_is_ridden_out():
    vt = VirtualTime()
    with serve_in_thread(FaultConfig(unload_after=0.0, unload_for=0.6), clock=vt) as server:
        replies = asyncio.run(ask_all(make_client(server, provider="lmstudio", vt=vt), 10))
        stats = server.stats()
    assert len(replies) == 10 and stats["unloaded"] > 0 and stats["completed"] == 10
    assert stats["uptime_s"] >= 0.6  # the client's retries waited the window out, in virtual time


def test_failover_chain_switches_and_switches_back():
    vt = VirtualTime()
    with serve_in_thread(FaultConfig(unload_after=30, unload_for=100), clock=vt) as primary_url, \
            serve_in_thread(FaultConfig(), clock=vt) as backup_url:
        primary = make_client(primary_url, provider="lmstudio", vt=vt)
        backup = make_client(backup_url, vt=vt)
        chain = FailoverChat([primary, backup], trip_after=2, cooldown_s=50, clock=vt)

        start = vt.now  # both servers' unload windows are timed from here

        async def scenario():
            served = [(await chain(messages(0), ChatParams())).provider]
            vt.now = start + 40  # primary's model unloads (from 30 s to 130 s)
            served.append((await chain(messages(1), ChatParams())).provider)  # trips the primary
            served.append((await chain(messages(2), ChatParams())).provider)  # it is cooling down
            assert vt.now < start + 130
            vt.now = start + 130 + 60  # model back, cooldown over
            served.append((await chain(messages(3), ChatParams())).provider)
            return served

        assert asyncio.run(scenario()) == ["lmstudio", "custom", "custom", "lmstudio"]


def test_budget_cap_stops_new_work():
    with serve_in_thread(FaultConfig()) as server:
        client = make_client(server, budget=Budget(max_tokens=200))

        async def until_stopped():
            done = 0
            with pytest.raises(BudgetExceeded):
                for i in range(100):
                    await client(messages(i), ChatParams(max_tokens=20))
                    done += 1
            return done

        done = asyncio.run(until_stopped())
        assert 0 < done < 100 and server.stats()["requests"] == done


def test_second_run_of_a_workload_makes_zero_network_calls(tmp_path):
    params = ChatParams(temperature=0.7, seed=3)
    with serve_in_thread(FaultConfig()) as server:
        first = asyncio.run(ask_all(make_client(server, cache=ResponseCache(tmp_path / "c.sqlite")), 20, params))
        before = server.stats()["requests"]
        second = asyncio.run(ask_all(make_client(server, cache=ResponseCache(tmp_path / "c.sqlite")), 20, params))
        assert server.stats()["requests"] == before == 20
    assert [r.text for r in first] == [r.text for r in second] and all(r.cache_hit for r in second)
