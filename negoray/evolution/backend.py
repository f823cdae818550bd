"""What the evolution loop needs from the machinery below it, and an in-process implementation.

The loop hands over batches of `Job`s (evaluations of a prompt on a scenario by the task) and single mutation chats; the Ray
runtime implements the same `Backend` with remote tasks, tests and small runs use `LocalBackend`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from negoray.chat import ChatFn, ChatParams, ChatReply, Message, derive_seed
from negoray.tasks.base import Chats, Task, TaskRecord, TaskScenario


class Phase(StrEnum):
    """What a negotiation (or, for mutation, a call) is for; the values are the ``phase`` column of
    the results tables (a `StrEnum`: equal to, and written as, its string)."""

    EVAL = "eval"
    """Every agent on the dev split, each generation."""
    GATING = "gating"
    """A child and its parent on a val subset (tournament groups)."""
    TEST = "test"
    """The last generation's best agent on the test split."""
    BASELINE = "baseline"
    """The seed strategies on the test split, once per experiment."""
    MUTATION = "mutation"
    """A mutation call (not a negotiation)."""


NEGOTIATION_PHASES = (Phase.EVAL, Phase.GATING, Phase.TEST, Phase.BASELINE)
"""The phases that play negotiations, in the order of the results tables."""


@dataclass(frozen=True)
class Job:
    """One evaluation (a negotiation, a classified example, ...) of the task; (run_id, generation,
    phase, agent_id, scenario.id, replicate) is its key."""

    run_id: str
    generation: int
    phase: str
    """A `Phase` (a str-Enum, so plain strings also work)."""
    agent_id: str
    prompt: str
    scenario: TaskScenario
    replicate: int = 0

    @property
    def key(self) -> tuple[str, int, str, str, str, int]:
        return (self.run_id, self.generation, self.phase, self.agent_id, self.scenario.id, self.replicate)

    def seed(self, experiment_seed: int | None) -> int | None:
        """The negotiation's own seed: the experiment seed and the job's key, so every negotiation of
        every phase (and the baseline) samples afresh, and the same job replays the same calls."""
        return None if experiment_seed is None else derive_seed(experiment_seed, *self.key)


def baseline_jobs(strategies: Mapping[str, str], test: Sequence[TaskScenario]) -> list[Job]:
    """The seed baseline: every seed strategy (the task's `seed_strategies`) on the test split (run ``baseline``)."""
    return [Job("baseline", 0, Phase.BASELINE, name, prompt, s) for name, prompt in strategies.items() for s in test]


class Backend(Protocol):
    async def play(self, jobs: Sequence[Job]) -> list[TaskRecord]:
        """Evaluate every job by the task; records in the order of ``jobs``."""
        ...

    async def chat(self, messages: Sequence[Message], params: ChatParams) -> ChatReply:
        """One model call (a mutation request)."""
        ...


MAX_REPLAYS = 8
"""Times one negotiation is played again because a pool member serving it went down meanwhile."""


@asynccontextmanager
async def _seat(chat: Any) -> AsyncIterator[Any]:
    """A chat for one negotiation: a lease on a member of a pool (`negoray.llm.pool.EndpointPool`:
    anything with ``lease()``), else ``chat`` itself (it is never lost)."""
    if hasattr(chat, "lease"):
        async with chat.lease() as lease:
            yield lease
    else:
        yield chat


Wrap = Callable[[ChatFn], ChatFn]


async def play_job(job: Job, task: Task, chat: ChatFn, seed: int | None,
                   opponent_chat: ChatFn | None = None, wrap: Wrap | None = None) -> TaskRecord:
    """One evaluation by ``task``: the agent's calls through ``chat``, the counterpart's (the opponent
    role) through ``opponent_chat`` (default ``chat``), each seen through ``wrap`` (e.g. progress
    counting); ``seed``: the experiment seed (`Job.seed`). A pool's lease that is lost (its endpoint
    went down) plays the evaluation again on another member (calls already answered replay from the
    cache), so it is recorded once."""
    opponent_chat = chat if opponent_chat is None else opponent_chat
    for _ in range(MAX_REPLAYS):
        async with _seat(chat) as agent_side:
            async with (nullcontext(agent_side) if opponent_chat is chat else _seat(opponent_chat)) as opponent_side:
                agent_fn = agent_side if wrap is None else wrap(agent_side)
                opponent_fn = agent_fn if opponent_side is agent_side else (
                    opponent_side if wrap is None else wrap(opponent_side))
                record = await task.evaluate(job.prompt, job.scenario, Chats(agent_fn, opponent_fn), job.seed(seed),
                                             job.replicate)
        lost = getattr(agent_side, "lost", False) or getattr(opponent_side, "lost", False)
        if not (lost and record.error is not None):
            break
    return record


async def play_jobs(
    jobs: Sequence[Job], task: Task, chat: ChatFn, seed: int | None, concurrency: int,
    on_record: Callable[[TaskRecord], None] | None = None, *, opponent_chat: ChatFn | None = None,
    wrap: Wrap | None = None,
) -> list[TaskRecord]:
    """Evaluate jobs with at most ``concurrency`` in flight (used in process and in Ray tasks);
    ``on_record`` sees each record as its evaluation ends. ``opponent_chat``: the opponent role's
    chat, when it is not the agent's; ``seed``, ``wrap``: see `play_job`."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(job: Job) -> TaskRecord:
        async with gate:
            record = await play_job(job, task, chat, seed, opponent_chat, wrap)
        if on_record is not None:
            on_record(record)
        return record

    return list(await asyncio.gather(*(one(j) for j in jobs)))


class LocalBackend:
    """Everything in this process and event loop, through one `ChatFn` (or one per role: the
    opponent's turns through ``opponent_chat``, mutation calls through ``mutator_chat``)."""

    def __init__(self, chat: ChatFn, task: Task, seed: int | None, concurrency: int = 64, *,
                 opponent_chat: ChatFn | None = None, mutator_chat: ChatFn | None = None) -> None:
        self._chat, self.task, self.seed, self.concurrency = chat, task, seed, concurrency
        self._opponent_chat, self._mutator_chat = opponent_chat, mutator_chat or chat

    async def play(self, jobs: Sequence[Job]) -> list[TaskRecord]:
        return await play_jobs(jobs, self.task, self._chat, self.seed, self.concurrency,
                               opponent_chat=self._opponent_chat)

    async def chat(self, messages: Sequence[Message], params: ChatParams) -> ChatReply:
        return await self._mutator_chat(messages, params)
