"""`RayBackend`: the evolution loop's `Backend` as resource-tagged Ray tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import ray

from negoray.chat import ChatParams, ChatReply, Message
from negoray.evolution.backend import Job
from negoray.tasks.base import Task, TaskRecord
from negoray.llm.providers import ProviderSpec
from negoray.runtime.sizing import (  # noqa: F401 - REMOTE_TASK_CPUS and task_cpus_for are re-exported
    IN_PROCESS_TASK_CPUS, REMOTE_TASK_CPUS, chunk_bounds, concurrent_tasks, task_cpus_for)
from negoray.runtime.worker import ChatSettings, chat_once, play_batch


def endpoint_tag(provider: str) -> str:
    """The custom resource that routes work for ``provider`` (e.g. ``endpoint:lmstudio``)."""
    return f"endpoint:{provider}"


def endpoint_slots_for(spec: ProviderSpec) -> int:
    """Units of the endpoint tag a workstation advertises by default: twice the requests one process
    sends the provider at once, so the server always has the next request waiting, but a serial
    server (the embedded model: 4) is not sent so many that queued calls time out."""
    return 2 * spec.max_concurrency


class RayBackend:
    """Splits a batch of jobs into tasks (`chunk_bounds`) that each hold ``in_flight`` units of the
    endpoint's resource tag and ``task_cpus`` CPUs and play all their negotiations at once with at most
    ``in_flight`` calls out (`negoray.runtime.task_slots`), so a node's advertised slots cap its
    endpoint's load. A batch is cut for the tasks the live nodes run at once (`concurrent_tasks`, read
    at each batch, so nodes that join or leave count), shared among ``sharers``: the backends that
    submit batches to the same tag at the same time (an experiment's runs)."""

    def __init__(self, task: Task, seed: int | None, settings: ChatSettings, tag: str, in_flight: int,
                 task_cpus: float = IN_PROCESS_TASK_CPUS, progress: Any = None, mutator_tag: str | None = None,
                 sharers: int = 1) -> None:
        self.task, self.seed, self.settings, self.sharers = task, seed, settings, sharers
        self.tag, self.in_flight, self.task_cpus = tag, in_flight, task_cpus
        self.mutator_tag = mutator_tag or tag
        """The tag a mutation call's task asks for: the mutator role's endpoint's (the agent's by default)."""
        self.progress = progress
        """An actor whose ``add_progress`` hears about negotiations as they end (live progress)."""
        self.placements: list[str] = []
        """The node each batch ran on (for diagnostics and tests)."""

    def submit(self, jobs: Sequence[Job]) -> list[ray.ObjectRef]:
        """Start the tasks; each ref resolves to (node id, records in job order). On the batch tier the
        whole stage is one task (one unit of the tag: the provider's batch queue, not a server slot,
        bounds the load), so its negotiations advance in lockstep through one `BatchTransport`."""
        if self.settings.lockstep and jobs:
            return [play_batch.options(resources={self.tag: 1}, num_cpus=self.task_cpus).remote(
                list(jobs), self.task, self.seed, self.settings, len(jobs), self.progress)]
        nodes = [(n["Resources"].get(self.tag, 0), n["Resources"].get("CPU", 0)) for n in ray.nodes() if n["Alive"]]
        room = concurrent_tasks(nodes, self.in_flight, self.task_cpus, self.sharers)
        chunks = [list(jobs[a:b]) for a, b in chunk_bounds(len(jobs), self.in_flight, room)]
        return [
            play_batch.options(resources={self.tag: min(self.in_flight, len(chunk))}, num_cpus=self.task_cpus).remote(
                chunk, self.task, self.seed, self.settings, min(self.in_flight, len(chunk)), self.progress
            )
            for chunk in chunks
        ]

    def collect(self, results: Sequence[tuple[str, list[TaskRecord]]]) -> list[TaskRecord]:
        self.placements += [node for node, _ in results]
        return [record for _, batch in results for record in batch]

    async def play(self, jobs: Sequence[Job]) -> list[TaskRecord]:
        return self.collect(await asyncio.gather(*self.submit(jobs)))

    async def chat(self, messages: Sequence[Message], params: ChatParams) -> ChatReply:
        return await chat_once.options(resources={self.mutator_tag: 1}, num_cpus=self.task_cpus).remote(
            list(messages), params, self.settings)
