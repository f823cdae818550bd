"""Two writers racing on one cache key: the first write wins and *both* go on with the stored reply,
so a resume replays the transcript the run recorded even on a server that ignores ``seed``."""

from __future__ import annotations

import asyncio
import threading

import httpx2

from negoray.chat import ChatParams, ChatReply
from negoray.llm.cache import CacheMode, ResponseCache
from negoray.llm.client import LLMClient
from negoray.llm.config import LLMConfig

from .test_client import MSGS, ok

KEYS = [f"{i:064x}" for i in range(20)]


def reply(text: str) -> ChatReply:
    return ChatReply(text=text, prompt_tokens=len(text), completion_tokens=1, provider="p", model="m")


def test_put_returns_its_own_reply_when_first_and_the_stored_one_after(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    mine = reply("first")
    assert cache.put(KEYS[0], mine) is mine
    stored = cache.put(KEYS[0], reply("second"))
    assert (stored.text, stored.prompt_tokens, stored.cache_hit) == ("first", 5, True)
    assert asyncio.run(cache.aput(KEYS[0], reply("third"))).text == "first"
    assert cache.stats().writes == 1


def test_puts_that_write_nothing_return_the_reply_given(tmp_path):
    ResponseCache(tmp_path / "c.sqlite").put(KEYS[0], reply("stored"))
    mine = reply("mine")
    assert ResponseCache(tmp_path / "c.sqlite", CacheMode.READ_ONLY).put(KEYS[0], mine) is mine
    assert asyncio.run(ResponseCache(tmp_path / "o.sqlite", CacheMode.OFF).aput(KEYS[0], mine)) is mine


def test_two_caches_on_one_file_racing_in_threads_both_get_the_first_write(tmp_path):
    caches = [ResponseCache(tmp_path / "c.sqlite") for _ in range(2)]
    start = threading.Barrier(2)
    results: dict[int, list[str]] = {}

    def write(i: int) -> None:
        start.wait()
        results[i] = [caches[i].put(k, reply(f"writer {i}")).text for k in KEYS]

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = [caches[0].get(k).text for k in KEYS]
    assert results[0] == results[1] == stored
    assert sum(c.stats().writes for c in caches) == len(KEYS)


def test_two_caches_on_one_file_racing_with_group_commit_both_get_the_first_write(tmp_path):
    caches = [ResponseCache(tmp_path / "c.sqlite") for _ in range(2)]

    async def race() -> list[list[ChatReply]]:
        return await asyncio.gather(*(asyncio.gather(*(c.aput(k, reply(f"writer {i}")) for k in KEYS))
                                      for i, c in enumerate(caches)))

    first, second = asyncio.run(race())
    stored = [caches[1].get(k).text for k in KEYS]
    assert [r.text for r in first] == [r.text for r in second] == stored


def test_two_clients_racing_on_one_call_both_answer_with_the_reply_the_cache_kept(tmp_path):
    """Both miss the cache, both ask a server that samples afresh each time (it ignores seed), and
    each gets a different text: the one stored first is what both return, and what a resume replays."""

    async def race() -> list[str]:
        arrived, both = [0], asyncio.Event()

        def server(text: str):
            async def answer(request: httpx2.Request) -> httpx2.Response:
                arrived[0] += 1
                if arrived[0] == 2:
                    both.set()
                await both.wait()  # neither answers before both requests are out: a real race
                return ok(text)
            return answer

        config = LLMConfig(provider="custom", base_url="http://server.test/v1").resolve({})
        clients = [LLMClient(config, cache=ResponseCache(tmp_path / "c.sqlite"),
                             transport=httpx2.MockTransport(server(f"PROPOSE from worker {i}"))) for i in range(2)]
        replies = await asyncio.gather(*(c(MSGS, ChatParams(seed=1)) for c in clients))
        resumed = LLMClient(config, cache=ResponseCache(tmp_path / "c.sqlite"),
                            transport=httpx2.MockTransport(server("never asked")))
        replay = await resumed(MSGS, ChatParams(seed=1))
        assert replay.cache_hit and all(not r.cache_hit and r.attempts == 1 for r in replies)
        return [r.text for r in replies] + [replay.text]

    texts = asyncio.run(race())
    assert len(set(texts)) == 1 and texts[0].startswith("PROPOSE from worker")
