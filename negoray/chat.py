"""The chat interface every layer shares: what a negotiation asks of a model and what comes back.

The game calls a `ChatFn`; the LLM layer (and the sim) provide one. Neither side knows the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Message = Mapping[str, str]
"""One chat message: ``{"role": "system" | "user" | "assistant", "content": str}``."""


@dataclass(frozen=True)
class ChatParams:
    """Sampling parameters of one call; part of the cache key together with the messages."""

    temperature: float = 0.7
    max_tokens: int = 256
    seed: int | None = None
    replicate: int = 0
    """Which independent sample this is: repeated samples at temperature > 0 are not collapsed."""
    response_format: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ChatReply:
    """A model's answer with its usage; ``provider``/``model`` say who actually served it."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    """From sending the request that succeeded to its answer (waits for the rate limiter, the client's
    concurrency cap and failed attempts not included); 0 for a cache hit."""
    cache_hit: bool = False
    attempts: int = 1
    provider: str = ""
    model: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    finish_reason: str | None = None
    """Why generation stopped, as the server said: ``"stop"``, ``"length"`` (cut by max_tokens), ...;
    None where the server did not say."""
    reasoning: str = ""
    """A reasoning model's thinking (a ``<think>`` block or a ``reasoning_content`` field), kept apart
    from ``text``, the answer: it is recorded, never read as the answer."""
    reasoning_tokens: int = 0
    """Of ``completion_tokens``, those spent reasoning (``completion_tokens_details.reasoning_tokens``)."""
    endpoint: str = ""
    """The endpoint that served it (a pool member's or a failover entry's name; `negoray.llm.fleet`);
    a cache hit keeps the one that answered first."""
    cached_prompt_tokens: int = 0
    """Of ``prompt_tokens``, those the provider served from its prompt cache
    (``prompt_tokens_details.cached_tokens``), priced at the cached-input price."""
    tier: str = ""
    """The tier that served the call ("standard", "flex", "batch"); "" for the endpoint's own."""
    concurrency_limit: int | None = None
    """The endpoint's adaptive concurrency limit in force when the request was sent (None: a fixed
    concurrency, or a cache hit)."""


class ChatFn(Protocol):
    """Any async callable ``(messages, params) -> ChatReply``."""

    def __call__(self, messages: Sequence[Message], params: ChatParams) -> Awaitable[ChatReply]: ...


class ChatFailure(Exception):
    """A call that failed for infrastructure reasons after every retry.

    A negotiation that meets one is recorded with outcome ``error`` -- never scored. Any other
    exception (a bad key, a bug) propagates and stops the work.
    """


def estimate_tokens(text: str) -> int:
    """A fixed 4-characters-per-token rule, for models that report no usage."""
    return max(1, (len(text) + 3) // 4) if text else 0


def messages_tokens(messages: Sequence[Message]) -> int:
    """Estimated prompt tokens of a chat (content plus a small per-message overhead)."""
    return sum(estimate_tokens(m.get("content", "")) + 4 for m in messages)


def derive_seed(*parts: object) -> int:
    """A 31-bit seed determined by a path of parts, e.g. (base seed, round, side): calls that are
    meant to be independent samples get different seeds, a replay of the same call the same one."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little") & (2**31 - 1)


@dataclass(frozen=True)
class CallUsage:
    """What one LLM call cost and who served it."""

    side: str
    round: int
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cache_hit: bool
    attempts: int
    provider: str
    model: str
    ok: bool = True
    finish_reason: str | None = None
    reasoning_tokens: int = 0
    endpoint: str = ""
    """The endpoint that served the call (`ChatReply.endpoint`)."""
    cached_prompt_tokens: int = 0
    """Of ``prompt_tokens``, those served from the provider's prompt cache."""
    concurrency_limit: int | None = None
    tier: str = ""
    """The tier the call went out on (`ChatReply.tier`; "" for the endpoint's own): what it is priced at."""

    @classmethod
    def of(cls, side: str, round_: int, reply: ChatReply | None) -> CallUsage:
        """A call's usage from its reply; None: a call that failed after every retry."""
        if reply is None:
            return cls(side, round_, 0, 0, 0.0, False, 0, "", "", ok=False)
        return cls(side, round_, reply.prompt_tokens, reply.completion_tokens, reply.latency_s, reply.cache_hit,
                   reply.attempts, reply.provider, reply.model, finish_reason=reply.finish_reason,
                   reasoning_tokens=reply.reasoning_tokens, endpoint=reply.endpoint,
                   cached_prompt_tokens=reply.cached_prompt_tokens, concurrency_limit=reply.concurrency_limit,
                   tier=reply.tier)
