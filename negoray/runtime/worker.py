"""What runs inside Ray worker processes: evaluation tasks over one long-lived event loop.

Ray tasks are synchronous functions; each worker process keeps one background asyncio loop with
its `LLMClient`s (and their connection pools) and the response cache, and every task runs its
negotiations as coroutines on that loop, many in flight at once.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import ray

from negoray.background_loop import BackgroundLoop
from negoray.chat import ChatParams, ChatReply, Message
from negoray.evolution.backend import Job
from negoray.tasks.base import Task, TaskRecord
from negoray.llm.cache import CacheMode, ResponseCache
from negoray.llm.config import LLMConfig
from negoray.llm.factory import client_for
from negoray.llm.fleet import FleetSpec
from negoray.llm.fleet_chats import RoleChats, role_chats
from negoray.llm.protocols import Cache, Limiter
from negoray.llm.redact import install_log_redaction
from negoray.llm.tiers import Tier
from negoray.runtime.progress import BATCH_LABEL, LIVE_KEYS
from negoray.runtime.task_slots import play_on_slots

T = TypeVar("T")


@dataclass(frozen=True)
class ChatSettings:
    """How a worker reaches the model: providers (first preferred), cache and limiter.
    Carries no API key: workers read keys from their own environment."""

    providers: tuple[LLMConfig, ...]
    cache_path: str | None = None
    cache_mode: str = "rw"
    limiter_name: str | None = None
    namespace: str = "negoray"
    cache_service: str | None = None
    """Name of the cache actor (on a multi-node cluster); None: open ``cache_path`` directly."""
    fleet: FleetSpec | None = None
    """The endpoints of each role (agent, opponent, mutator); None: ``providers`` serve every role."""
    batch_dir: str | None = None
    """Batch tier: the results directory's batch journal (`negoray.llm.batch_journal`)."""

    @property
    def key(self) -> str:
        return repr((self.providers, self.cache_path, self.cache_mode, self.limiter_name, self.cache_service,
                     self.fleet, self.batch_dir))

    def fleet_spec(self) -> FleetSpec:
        return self.fleet if self.fleet is not None else FleetSpec.single(self.providers)

    @property
    def lockstep(self) -> bool:
        """Whether the agent's endpoint is on the batch tier: a stage's negotiations then run in one task."""
        return self.fleet_spec().agent.primary.config.spec().tier is Tier.BATCH


class _WorkerState:
    """This process's event loop and, per settings, its chat function."""

    def __init__(self) -> None:
        install_log_redaction()  # a worker's log lines (Ray's session logs) never carry an API key
        self.background = BackgroundLoop("negoray-worker-loop")
        self.chats: dict[str, Any] = {}

    def run(self, coro: Awaitable[T]) -> T:
        return self.background.run(coro)

    async def roles_for(self, settings: ChatSettings) -> RoleChats:
        roles = self.chats.get(settings.key)
        if roles is None:
            roles = self.chats[settings.key] = _make_roles(settings)
        return roles


def _make_roles(settings: ChatSettings) -> RoleChats:
    from negoray.runtime.cache_actor import RemoteCache
    from negoray.runtime.limiter_actor import RemoteLimiter

    cache: Cache | None
    if settings.cache_service:
        cache = RemoteCache(settings.cache_service, settings.namespace)
    elif settings.cache_path:
        cache = ResponseCache(settings.cache_path, CacheMode(settings.cache_mode))
    else:
        cache = None
    limiter: Limiter | None = RemoteLimiter(settings.limiter_name, settings.namespace) if settings.limiter_name else None
    return role_chats(settings.fleet_spec(),
                      lambda c, **options: client_for(c.resolve(), cache=cache, limiter=limiter,
                                                      batch_dir=settings.batch_dir, **options))


_state: _WorkerState | None = None
_lock = threading.Lock()


def worker_state() -> _WorkerState:
    global _state
    with _lock:
        if _state is None:
            _state = _WorkerState()
    return _state


STALL_REPORT_FLOOR_S = 5.0
"""Calls outstanding at least this long are reported to the progress sink (the view applies its own,
larger threshold); younger ones are normal latency."""
MAX_REPORTED = 32
_call_ids = itertools.count()


class ProgressTally:
    """Counts calls as they complete and negotiations as they end, and sends the counts to
    ``sink.add_progress`` (an actor method) at most once per ``period_s`` and on `flush`, so calls/s
    moves while negotiations are still running. It also tracks calls in flight: `heartbeat` sends the
    start times of those outstanding longer than `STALL_REPORT_FLOOR_S` to ``sink.outstanding``, so
    a hung server shows as such instead of as an idle run."""

    def __init__(self, sink: Any, period_s: float = 1.0, clock=time.monotonic, wall=time.time,
                 provider: str = "") -> None:
        self.sink, self.period_s, self.clock, self.wall, self.provider = sink, period_s, clock, wall, provider
        self.pending = dict.fromkeys(LIVE_KEYS, 0)
        self.last = clock()
        self.task = uuid.uuid4().hex[:12]
        self.batch: Any = None
        """Batch tier: the `BatchTransport` whose batches in flight are reported (not its calls: waiting is normal)."""
        self._in_flight: dict[int, float] = {}
        self._reported_outstanding = False

    def add(self, record: TaskRecord) -> None:
        self.pending["negotiations"] += 1
        self.pending["errors"] += record.score is None  # any task: an error is a record without a score
        self._maybe_flush()

    def call_started(self) -> int:
        token = next(_call_ids)
        self._in_flight[token] = self.wall()
        return token

    def call_ended(self, token: int, reply: ChatReply | None) -> None:
        self._in_flight.pop(token, None)
        if reply is not None:
            self.pending["calls"] += 1
            self.pending["tokens"] += reply.prompt_tokens + reply.completion_tokens
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self.clock() - self.last >= self.period_s:
            self.flush()

    def flush(self) -> None:
        if any(self.pending.values()):
            self.sink.add_progress.remote(**self.pending)
        self.pending, self.last = dict.fromkeys(LIVE_KEYS, 0), self.clock()

    def heartbeat(self) -> None:
        """Flush the counts and report calls outstanding for long (or that none are any more)."""
        self.flush()
        now = self.wall()
        old = sorted(t for t in self._in_flight.values() if now - t >= STALL_REPORT_FLOOR_S)[:MAX_REPORTED]
        entries = [(t, self.provider) for t in old]
        if self.batch is not None:
            entries = [(b.submitted_wall, f"{BATCH_LABEL}{b.batch_id} {b.requests}") for b in self.batch.in_flight.values()]
        if entries or self._reported_outstanding:
            self.sink.outstanding.remote(self.task, entries)
            self._reported_outstanding = bool(entries)

    def counting(self, chat: Any) -> Any:
        """``chat`` wrapped so each call is tracked while in flight and counted when it completes."""
        async def counted(messages: Sequence[Message], params: ChatParams) -> ChatReply:
            token = self.call_started()
            reply = None
            try:
                reply = await chat(messages, params)
                return reply
            finally:
                self.call_ended(token, reply)

        return counted


def play_batch_local(jobs: Sequence[Job], task: Task, seed: int | None, settings: ChatSettings,
                     in_flight: int, progress: Any = None) -> tuple[str, list[TaskRecord]]:
    """(the node it ran on, the records in job order): every job in play at once, at most ``in_flight``
    calls out (`negoray.runtime.task_slots`). ``progress``: an actor with ``add_progress`` and ``outstanding``."""
    state = worker_state()
    provider = settings.providers[0].provider_name() if settings.providers else ""
    tally = ProgressTally(progress, provider=provider) if progress is not None else None

    async def go() -> list[TaskRecord]:
        roles = await state.roles_for(settings)
        chat, opponent_chat = roles.agent, roles.opponent
        if tally is not None:
            tally.batch = getattr(chat, "batch", None)
        if tally is None:
            return await play_on_slots(jobs, task, chat, seed, in_flight, opponent_chat=opponent_chat)

        async def beat() -> None:
            while True:
                await asyncio.sleep(tally.period_s)
                tally.heartbeat()

        beating = asyncio.ensure_future(beat())
        try:
            return await play_on_slots(jobs, task, chat, seed, in_flight, on_record=tally.add,
                                       opponent_chat=opponent_chat, wrap=tally.counting)
        finally:
            beating.cancel()
            tally.heartbeat()  # the last counts, and "nothing outstanding" if something was

    records = state.run(go())
    return ray.get_runtime_context().get_node_id(), records


def chat_once_local(messages: Sequence[Message], params: ChatParams, settings: ChatSettings) -> ChatReply:
    state = worker_state()

    async def go() -> ChatReply:
        return await (await state.roles_for(settings)).mutator(messages, params)

    return state.run(go())


play_batch = ray.remote(max_retries=3)(play_batch_local)
"""Ray task: play a batch of negotiations with ``in_flight`` calls out at most; retried if a node dies
(replays are free: every call is in the cache)."""

chat_once = ray.remote(max_retries=3)(chat_once_local)
"""Ray task: one model call (a mutation request)."""
