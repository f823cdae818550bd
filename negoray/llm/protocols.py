"""The seams `LLMClient` is built on, as protocols: a response `Cache` and a rate `Limiter`.

`negoray.llm.cache.ResponseCache` and `negoray.llm.limiter.InProcessLimiter` implement them in one
process; `negoray.runtime`'s `RemoteCache` and `RemoteLimiter` implement them over Ray actors, so
every worker of a cluster shares one cache and one set of limits. Tests pass their own.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from negoray.chat import ChatReply
from negoray.llm.limiter import RateLimits


@runtime_checkable
class Cache(Protocol):
    """Replies by call key (`negoray.llm.cache.cache_key`)."""

    async def aget(self, key: str) -> ChatReply | None:
        """The stored reply for ``key``, or None."""
        ...

    async def aput(self, key: str, reply: ChatReply) -> ChatReply | None:
        """Store ``reply`` unless a reply is stored already; return the one stored (it wins)."""
        ...


@runtime_checkable
class Limiter(Protocol):
    """Request and token budgets per key (``PROVIDER:MODEL``); every wait is seconds to sleep first."""

    async def configure(self, key: str, limits: RateLimits) -> None:
        """Set the limits of ``key`` (idempotent)."""
        ...

    async def acquire(self, key: str, requests: int = 1, tokens: int = 0) -> float:
        """Reserve ``requests`` and ``tokens`` now; the wait before the call may be sent (0: go)."""
        ...

    async def resume(self, key: str, tokens: int = 0) -> float:
        """After a wait: the further wait (a 429 paused the key meanwhile), or 0."""
        ...

    async def settle(self, key: str, reserved_tokens: int, actual_tokens: int) -> None:
        """Replace a call's token reservation by what it really used."""
        ...

    async def pause(self, key: str, seconds: float) -> None:
        """Hold every call of ``key`` for ``seconds`` (a 429's Retry-After)."""
        ...
