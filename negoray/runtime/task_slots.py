"""How an evaluation task uses the endpoint slots it holds: every job of its chunk is in play at once,
and the slots bound the task's calls out, not its negotiations (no Ray import: plain asyncio).

A task holding k units of the endpoint's tag used to keep k negotiations running, so a unit idled
whenever its negotiation was between two calls, and once the task's queue was empty its units idled
one by one while the longest of its last k negotiations finished (2 to 10 calls each). Here all of
the chunk's negotiations start at once and queue, first come first served, for the k calls: a unit is
idle only when none of the task's negotiations has a call to send, and since all of them advance
together the task ends with the last few calls of its longest negotiations, not with a whole one
that started late (`benchmarks/throughput.py` measures it). The load on the endpoint is bounded as
before: at most k calls per task, so at most the node's units per node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from negoray.chat import ChatFn, ChatParams, ChatReply, Message
from negoray.evolution.backend import Job, Wrap, play_jobs
from negoray.tasks.base import Task, TaskRecord


def bounded(slots: asyncio.Semaphore, wrap: Wrap | None = None) -> Wrap:
    """A `Wrap` whose calls each hold one of ``slots`` while out (``wrap`` inside it: waiting for a slot
    is not a call in flight)."""
    def wrapped(chat: ChatFn) -> ChatFn:
        inner = chat if wrap is None else wrap(chat)

        async def call(messages: Sequence[Message], params: ChatParams) -> ChatReply:
            async with slots:
                return await inner(messages, params)

        return call

    return wrapped


async def play_on_slots(jobs: Sequence[Job], task: Task, chat: ChatFn, seed: int | None, slots: int, *,
                        opponent_chat: ChatFn | None = None, on_record: Callable[[TaskRecord], None] | None = None,
                        wrap: Wrap | None = None) -> list[TaskRecord]:
    """Every job at once, with at most ``slots`` calls (agent's and opponent's together) out at a time;
    records in job order, as `play_jobs` gives them."""
    return await play_jobs(jobs, task, chat, seed, len(jobs), on_record, opponent_chat=opponent_chat,
                           wrap=bounded(asyncio.Semaphore(max(1, slots)), wrap))
