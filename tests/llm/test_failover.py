import asyncio

import httpx2

from negoray.chat import ChatParams
from negoray.llm.client import LLMClient
from negoray.llm.config import LLMConfig
from negoray.llm.failover import FailoverChat
from negoray.llm.limiter import RateLimiter

from .vtime import VirtualTime

MSGS = [{"role": "user", "content": "hi"}]


class Switchable:
    """A server that is up or down."""

    def __init__(self, text):
        self.up, self.text, self.calls = True, text, 0

    def __call__(self, request):
        self.calls += 1
        if not self.up:
            return httpx2.Response(503, json={"error": {"message": "down"}})
        return httpx2.Response(200, json={"choices": [{"message": {"role": "assistant", "content": self.text}}]})


def make(name, server, vt):
    config = LLMConfig(provider="custom" if name == "backup" else "lmstudio", base_url=f"http://{name}.test/v1")
    return LLMClient(config.resolve({}), transport=httpx2.MockTransport(server), sleep=vt.sleep, clock=vt,
                     limiter=RateLimiter(clock=vt))


def test_chain_switches_over_and_back():
    vt = VirtualTime()
    primary, backup = Switchable("from primary"), Switchable("from backup")
    chain = FailoverChat([make("primary", primary, vt), make("backup", backup, vt)], trip_after=3, cooldown_s=60, clock=vt)

    def ask():
        return asyncio.run(chain(MSGS, ChatParams()))

    assert ask().provider == "lmstudio"
    primary.up = False
    reply = ask()
    assert reply.text == "from backup" and reply.provider == "custom"
    assert primary.calls == 1 + 3  # tripped after three consecutive failures, not after every retry
    calls_while_down = primary.calls
    assert ask().text == "from backup" and primary.calls == calls_while_down  # cooling down: not asked
    primary.up = True
    vt.now += 61
    reply = ask()
    assert reply.text == "from primary" and reply.provider == "lmstudio"


def test_every_provider_down_is_a_chat_failure():
    import pytest

    from negoray.chat import ChatFailure

    vt = VirtualTime()
    a, b = Switchable("a"), Switchable("b")
    a.up = b.up = False
    chain = FailoverChat([make("primary", a, vt), make("backup", b, vt)], trip_after=2, clock=vt)
    with pytest.raises(ChatFailure, match="every provider"):
        asyncio.run(chain(MSGS, ChatParams()))
