"""The response cache as a service: one actor on the head node owns the SQLite file, so a task
retried on another node still replays every call it already paid for."""

from __future__ import annotations

import ray

from negoray.chat import ChatReply
from negoray.llm.cache import CacheMode, ResponseCache

def cache_name(path: str) -> str:
    """One cache actor per cache file (and per job: it ends with the driver that made it)."""
    import hashlib

    return "negoray-cache-" + hashlib.sha256(path.encode()).hexdigest()[:12]


@ray.remote(num_cpus=0, max_restarts=-1)
class CacheActor:
    def __init__(self, path: str, mode: str) -> None:
        self.cache = ResponseCache(path, CacheMode(mode))

    async def get(self, key: str) -> ChatReply | None:
        return await self.cache.aget(key)

    async def put(self, key: str, reply: ChatReply) -> ChatReply:
        return await self.cache.aput(key, reply)


def get_or_create_cache(namespace: str, path: str, mode: str, head_node: str):
    """The cache actor for ``path``, on the head node (where the file is). Returns the handle; keep
    it referenced for as long as workers use the cache."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return CacheActor.options(name=cache_name(path), namespace=namespace, get_if_exists=True,
                              scheduling_strategy=NodeAffinitySchedulingStrategy(head_node, soft=False)).remote(path, mode)


class RemoteCache:
    """The client-side face of the actor: `ResponseCache`'s async methods."""

    def __init__(self, name: str, namespace: str = "negoray") -> None:
        self._actor = ray.get_actor(name, namespace=namespace)

    async def aget(self, key: str) -> ChatReply | None:
        return await self._actor.get.remote(key)

    async def aput(self, key: str, reply: ChatReply) -> ChatReply:
        return await self._actor.put.remote(key, reply)
