"""What the evolution loop needs from the machinery below it, and an in-process implementation.

The loop hands over batches of `Job`s (negotiations to play) and single mutation chats; the Ray
runtime implements the same `Backend` with remote tasks, tests and small runs use `LocalBackend`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from negoray.chat import ChatFn, ChatParams, ChatReply, Message, derive_seed
from negoray.game.dialogue import NegotiationConfig, NegotiationRecord, run_negotiation
from negoray.game.scenario import Scenario


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
    """One negotiation to play; (run_id, generation, phase, agent_id, scenario.id, replicate) is its key."""

    run_id: str
    generation: int
    phase: str
    """A `Phase` (a str-Enum, so plain strings also work)."""
    agent_id: str
    prompt: str
    scenario: Scenario
    replicate: int = 0

    @property
    def key(self) -> tuple[str, int, str, str, str, int]:
        return (self.run_id, self.generation, self.phase, self.agent_id, self.scenario.id, self.replicate)

    def seed(self, experiment_seed: int | None) -> int | None:
        """The negotiation's own seed: the experiment seed and the job's key, so every negotiation of
        every phase (and the baseline) samples afresh, and the same job replays the same calls."""
        return None if experiment_seed is None else derive_seed(experiment_seed, *self.key)


class Backend(Protocol):
    async def play(self, jobs: Sequence[Job]) -> list[NegotiationRecord]:
        """Play every job against the fixed opponent; records in the order of ``jobs``."""
        ...

    async def chat(self, messages: Sequence[Message], params: ChatParams) -> ChatReply:
        """One model call (a mutation request)."""
        ...


async def play_jobs(
    jobs: Sequence[Job], opponent: str, chat: ChatFn, config: NegotiationConfig, concurrency: int,
    on_record: Callable[[NegotiationRecord], None] | None = None,
) -> list[NegotiationRecord]:
    """Play jobs with at most ``concurrency`` negotiations in flight (used in process and in Ray tasks);
    ``on_record`` sees each record as its negotiation ends."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(job: Job) -> NegotiationRecord:
        async with gate:
            record = await run_negotiation(job.prompt, opponent, job.scenario, chat, config=config,
                                           replicate=job.replicate, seed=job.seed(config.seed))
        if on_record is not None:
            on_record(record)
        return record

    return list(await asyncio.gather(*(one(j) for j in jobs)))


class LocalBackend:
    """Everything in this process and event loop, through one `ChatFn`."""

    def __init__(self, chat: ChatFn, opponent: str, config: NegotiationConfig, concurrency: int = 64) -> None:
        self._chat, self.opponent, self.config, self.concurrency = chat, opponent, config, concurrency

    async def play(self, jobs: Sequence[Job]) -> list[NegotiationRecord]:
        return await play_jobs(jobs, self.opponent, self._chat, self.config, self.concurrency)

    async def chat(self, messages: Sequence[Message], params: ChatParams) -> ChatReply:
        return await self._chat(messages, params)
