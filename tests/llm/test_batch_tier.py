"""The batch tier against `sim-serve`'s Files and Batch API: turn-synchronous batches that answer
like the standard tier, per-request failures and expiry retried (never scored), stragglers on the
standard tier, and re-attaching to a batch in flight after a crash instead of paying for it again."""

import asyncio
import dataclasses
import json

import pytest

from negoray.chat import ChatParams
from negoray.llm.client import LLMClient
from negoray.llm.config import LLMConfig
from negoray.sim.faults import FaultConfig
from negoray.sim.server import serve_in_thread

SYSTEM = "## Your negotiation strategy\nOpen at about 80%.\n\n## The game\nDivide books, hats and balls."


def messages(i):
    user = f"## Items\nPool: 1 book, 2 hats, 2 balls\nYour values: book = {i % 5}, hat = 2, ball = 1\n## Your move\nRound 1 of 5."
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def client(url, tier="batch", batch_dir=None, **spec):
    endpoint = LLMConfig(provider="custom", base_url=url, tier=tier).resolve({})
    endpoint = dataclasses.replace(endpoint, spec=endpoint.spec.with_overrides(batch_gather_s=0.02, **spec))
    return LLMClient(endpoint, batch_dir=batch_dir, backoff_s=0.01, backoff_max_s=0.02)


async def ask_all(c, n=12):
    try:
        return await asyncio.gather(*(c(messages(i), ChatParams(seed=i, temperature=0.7)) for i in range(n)))
    finally:
        await c.aclose()


@pytest.fixture(scope="module")
def server():
    with serve_in_thread(FaultConfig(honour_seed=True, prefix_cache=True)) as url:
        yield url


def test_calls_waiting_together_go_in_one_batch_and_answer_as_on_the_standard_tier(server):
    server.reset_stats()
    batched = asyncio.run(ask_all(client(server)))
    stats = server.stats()["batches"]
    assert (stats["created"], stats["requests"], stats["resubmitted"]) == (1, 12, 0)
    standard = asyncio.run(ask_all(client(server, tier="standard")))
    assert [r.text for r in batched] == [r.text for r in standard]
    assert {r.tier for r in batched} == {"batch"} and {r.tier for r in standard} == {"standard"}
    # the shared system prompt is cached by the time the standard calls come (vLLM-style blocks of 16)
    assert all(r.cached_prompt_tokens > 0 and r.cached_prompt_tokens % 16 == 0 for r in standard)


def test_per_request_errors_and_expired_batches_are_retried_in_new_batches():
    with serve_in_thread(FaultConfig(honour_seed=True, batch_error_rate=0.3, batch_expire_rate=0.5, seed=3)) as url:
        replies = asyncio.run(ask_all(client(url), n=16))
        stats = url.stats()["batches"]
    assert len(replies) == 16 and all(r.text for r in replies)  # every call answered, none an error
    assert stats["failed_requests"] > 0 and stats["created"] > 1
    assert stats["unique_requests"] == 16 and stats["resubmitted"] == stats["requests"] - 16
    assert max(r.attempts for r in replies) > 1


def test_retries_can_go_to_the_standard_tier_and_stragglers_skip_the_batch():
    with serve_in_thread(FaultConfig(honour_seed=True, batch_error_rate=1.0)) as url:
        replies = asyncio.run(ask_all(client(url, batch_retry="standard"), n=4))
        assert url.stats()["batches"]["created"] == 1 and url.stats()["completed"] == 4
        assert {r.tier for r in replies} == {"standard"}
    with serve_in_thread(FaultConfig(honour_seed=True)) as url:
        replies = asyncio.run(ask_all(client(url, batch_min_requests=5), n=3))  # 3 waiting < 5: standard
        assert url.stats()["batches"]["created"] == 0 and {r.tier for r in replies} == {"standard"}


@pytest.mark.parametrize("lost_id", [False, True], ids=["batch-id-on-disk", "killed-before-the-id-was-written"])
def test_a_rerun_reattaches_to_the_batch_in_flight_instead_of_paying_again(tmp_path, lost_id):
    now = [0.0]
    with serve_in_thread(FaultConfig(honour_seed=True, batch_delay_s=100.0), clock=lambda: now[0]) as url:
        async def crash():
            task = asyncio.ensure_future(ask_all(client(url, batch_dir=tmp_path)))
            while url.stats()["batches"]["created"] == 0:
                await asyncio.sleep(0.01)
            task.cancel()  # the driver dies with its batch in flight
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(crash())
        (entry,) = [p for p in tmp_path.glob("*.json")]
        if lost_id:  # killed between creating the batch and writing its id: found again by its metadata
            data = json.loads(entry.read_text())
            entry.write_text(json.dumps({**data, "state": "preparing", "batch_id": None}))
        now[0] = 200.0  # the batch completes
        replies = asyncio.run(ask_all(client(url, batch_dir=tmp_path)))
        stats = url.stats()["batches"]
    assert (stats["created"], stats["unique_requests"], stats["resubmitted"]) == (1, 12, 0)
    with serve_in_thread(FaultConfig(honour_seed=True)) as plain:
        assert [r.text for r in replies] == [r.text for r in asyncio.run(ask_all(client(plain, tier="standard")))]


def test_batches_are_sized_within_the_providers_limits(server):
    import openai

    from negoray.llm.batching import BatchTransport
    from negoray.llm.tiers import Tier, TierOffer

    async def go(offer):
        sdk = openai.AsyncOpenAI(base_url=server, api_key="sim", max_retries=0)
        transport = BatchTransport(sdk, offer, gather_s=0.02)
        bodies = [{"model": "m", "messages": messages(i), "seed": i, "max_tokens": 50} for i in range(7)]
        try:
            outcomes = await asyncio.gather(*(transport.send(f"k{i}", b) for i, b in enumerate(bodies)))
        finally:
            await sdk.close()
        return outcomes

    server.reset_stats()
    outcomes = asyncio.run(go(TierOffer(Tier.BATCH, max_requests=3)))
    assert {o.status_code for o in outcomes} == {200} and server.stats()["batches"]["created"] == 3  # 3 + 3 + 1
    server.reset_stats()
    asyncio.run(go(TierOffer(Tier.BATCH, max_enqueued_tokens=130)))  # 58 prompt tokens a request: 2 a batch
    assert server.stats()["batches"]["created"] == 4
