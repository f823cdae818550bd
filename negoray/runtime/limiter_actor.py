"""The cluster-wide rate limiter: one named async actor around the pure `RateLimiter` core.

It answers "wait w seconds" and never holds a call open, so its event loop never blocks. A 429 seen
by any worker pauses the key for every worker. Daily counters persist in ``state_path``. It also
holds each adaptive endpoint's concurrency limit and shares it among the worker processes of every
node (`negoray.llm.concurrency_pool`; processes sync a few times a second, not per call).
"""

from __future__ import annotations

from collections.abc import Sequence

import ray

from negoray.llm.concurrency_pool import Grant, Sample
from negoray.llm.limiter import InProcessLimiter, RateLimiter, RateLimits

LIMITER_NAME = "negoray-limiter"


@ray.remote(num_cpus=0, max_restarts=-1)
class RateLimiterActor(InProcessLimiter):
    """`InProcessLimiter`'s coroutines, served by one actor to every worker of the cluster."""

    def __init__(self, state_path: str | None = None) -> None:
        super().__init__(RateLimiter(state_path=state_path))


def get_or_create_limiter(namespace: str, state_path: str | None, head_node: str | None = None):
    """The cluster's limiter actor (created once, found by name afterwards)."""
    options = {"name": LIMITER_NAME, "namespace": namespace, "get_if_exists": True, "lifetime": "detached"}
    if head_node is not None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(head_node, soft=False)
    return RateLimiterActor.options(**options).remote(state_path)


class RemoteLimiter:
    """The client-side face of the actor: the same coroutines as `InProcessLimiter`."""

    def __init__(self, name: str = LIMITER_NAME, namespace: str = "negoray") -> None:
        self._actor = ray.get_actor(name, namespace=namespace)

    async def configure(self, key: str, limits: RateLimits) -> None:
        await self._actor.configure.remote(key, limits)

    async def acquire(self, key: str, requests: int = 1, tokens: int = 0) -> float:
        return await self._actor.acquire.remote(key, requests, tokens)

    async def settle(self, key: str, reserved_tokens: int, actual_tokens: int) -> None:
        await self._actor.settle.remote(key, reserved_tokens, actual_tokens)

    async def pause(self, key: str, seconds: float) -> None:
        await self._actor.pause.remote(key, seconds)

    async def paused_for(self, key: str) -> float:
        return await self._actor.paused_for.remote(key)

    async def resume(self, key: str, tokens: int = 0) -> float:
        return await self._actor.resume.remote(key, tokens)

    async def notes(self) -> list[str]:
        return await self._actor.notes.remote()

    async def configure_concurrency(self, key: str, fixed: int | None = None, ceiling: int | None = None) -> None:
        await self._actor.configure_concurrency.remote(key, fixed, ceiling)

    async def sync_concurrency(self, key: str, client: str, in_use: int, allowance: int, waiting: int,
                               samples: Sequence[Sample] = (), idle: bool = False) -> Grant:
        return await self._actor.sync_concurrency.remote(key, client, in_use, allowance, waiting, list(samples), idle)

    async def concurrency_stats(self) -> list[dict]:
        return await self._actor.concurrency_stats.remote()

    async def concurrency_history(self) -> list[dict]:
        return await self._actor.concurrency_history.remote()
