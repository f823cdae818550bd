"""`client_for`: the one place an `LLMClient` is built for an endpoint, with its cache, limiter and
transport. The runtime's workers, `negoray.compat` and the health check all build clients here.

The client itself takes a transport and knows no provider by name; this factory picks the
transport: the sim's in-process `negoray.sim.transport.SimTransport` for the built-in ``sim``
provider (imported only then: the sim is a layer above the llm layer), the network otherwise.

Example::

    client = client_for(LLMConfig(provider="sim").resolve(), cache=ResponseCache("cache.sqlite"))
    reply = await client([{"role": "user", "content": "hi"}], ChatParams())
"""

from __future__ import annotations

from typing import Any

import httpx2

from negoray.llm.client import LLMClient
from negoray.llm.config import Endpoint
from negoray.llm.limiter import RateLimiter
from negoray.llm.protocols import Cache, Limiter

SIM_PROVIDER = "sim"
"""The built-in provider answered in process by the sim (no sockets)."""


def transport_for(endpoint: Endpoint) -> httpx2.AsyncBaseTransport | None:
    """The transport calls to ``endpoint`` take: the in-process sim for ``sim``, else None (the network)."""
    if endpoint.spec.name == SIM_PROVIDER:
        from negoray.sim.transport import SimTransport

        return SimTransport()
    return None


def client_for(endpoint: Endpoint, *, cache: Cache | None = None, limiter: Limiter | RateLimiter | None = None,
               transport: httpx2.AsyncBaseTransport | None = None, **options: Any) -> LLMClient:
    """An `LLMClient` for ``endpoint``; ``transport`` overrides `transport_for` (tests), and ``options``
    go to `LLMClient` as they are (``ledger``, ``budget``, ``run``, ``sleep``, ``clock``, ``backoff_s``...)."""
    return LLMClient(endpoint, cache=cache, limiter=limiter,
                     transport=transport if transport is not None else transport_for(endpoint), **options)
