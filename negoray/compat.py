"""The original V7 code's interface, so existing scripts switch to negoray with one import.

    from negoray import LLMConfig, create_llm_fn
    llm = create_llm_fn(LLMConfig(provider="groq"))
    reply = llm("You are a negotiator.", "Make your offer.")

The synchronous functions run negoray's async client on a private event loop in a background
thread, so they work from plain scripts and from inside notebooks that already run a loop.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from negoray.background_loop import BackgroundLoop
from negoray.chat import ChatParams
from negoray.tasks.negotiation import play_all
from negoray.game.dialogue import NegotiationConfig, NegotiationRecord
from negoray.game.scenario import Scenario
from negoray.llm.factory import client_for
from negoray.llm.config import LLMConfig
from negoray.llm.health import HealthReport, acheck_provider
from negoray.llm.local_server import with_local_server

T = TypeVar("T")

_background: BackgroundLoop | None = None
_lock = threading.Lock()


def _run(coro: Awaitable[T]) -> T:
    """Run a coroutine on the shared background loop and wait for its result."""
    global _background
    with _lock:
        if _background is None:
            _background = BackgroundLoop("negoray-compat")
            atexit.register(_background.stop)
    return _background.run(coro)


def create_async_llm_fn(
    config: LLMConfig, *, temperature: float = 0.7, max_tokens: int = 512
) -> Callable[[str, str], Awaitable[str]]:
    """``async (system_prompt, user_prompt) -> str`` over negoray's client (retries, limits)."""
    client = client_for(with_local_server(config).resolve())
    params = ChatParams(temperature=temperature, max_tokens=max_tokens)

    async def llm(system_prompt: str, user_prompt: str) -> str:
        messages = [{"role": "system", "content": system_prompt}, {"role": "user", "content": user_prompt}]
        return (await client(messages, params)).text

    return llm


def create_llm_fn(config: LLMConfig, *, temperature: float = 0.7, max_tokens: int = 512) -> Callable[[str, str], str]:
    """Synchronous ``(system_prompt, user_prompt) -> str``; a drop-in for the original ``call_llm``."""
    holder: dict[str, Callable[[str, str], Awaitable[str]]] = {}

    async def make() -> None:  # the client must be created on the loop that will use it
        holder["fn"] = create_async_llm_fn(config, temperature=temperature, max_tokens=max_tokens)

    _run(make())
    return lambda system_prompt, user_prompt: _run(holder["fn"](system_prompt, user_prompt))


def check_provider(config: LLMConfig) -> HealthReport:
    """Reachability, model list, one tiny call, latency and reported limits of a provider."""
    return _run(acheck_provider(config))


async def async_evaluate_batch(
    agent_prompt: str,
    scenarios: Sequence[Scenario],
    opponent_prompt: str,
    config: LLMConfig,
    max_concurrent: int = 5,
    negotiation: NegotiationConfig = NegotiationConfig(),
) -> list[NegotiationRecord]:
    """Play ``agent_prompt`` against ``opponent_prompt`` on every scenario, concurrently."""
    client = client_for(with_local_server(config).resolve())
    try:
        return await play_all(agent_prompt, opponent_prompt, scenarios, client, negotiation, concurrency=max_concurrent)
    finally:
        await client.aclose()
