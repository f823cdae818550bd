"""`RayBackend`: the evolution loop's `Backend` as resource-tagged Ray tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from negoray.chat import ChatParams, ChatReply, Message
from negoray.evolution.backend import Job
from negoray.game.dialogue import NegotiationConfig, NegotiationRecord
from negoray.runtime.worker import ChatSettings, chat_once, play_batch


def endpoint_tag(provider: str) -> str:
    """The custom resource that routes work for ``provider`` (e.g. ``endpoint:lmstudio``)."""
    return f"endpoint:{provider}"


class RayBackend:
    """Splits a batch of jobs into tasks of ``in_flight`` negotiations, each asking for ``in_flight``
    units of the endpoint's resource tag, so a node's advertised slots cap its endpoint's load."""

    def __init__(self, opponent: str, config: NegotiationConfig, settings: ChatSettings, tag: str, in_flight: int) -> None:
        self.opponent, self.config, self.settings = opponent, config, settings
        self.tag, self.in_flight = tag, in_flight
        self.placements: list[str] = []
        """The node each batch ran on (for diagnostics and tests)."""

    async def play(self, jobs: Sequence[Job]) -> list[NegotiationRecord]:
        chunks = [list(jobs[i:i + self.in_flight]) for i in range(0, len(jobs), self.in_flight)]
        refs = [
            play_batch.options(resources={self.tag: len(chunk)}, num_cpus=1).remote(
                chunk, self.opponent, self.config, self.settings, len(chunk)
            )
            for chunk in chunks
        ]
        results = await asyncio.gather(*refs)
        self.placements += [node for node, _ in results]
        return [record for _, batch in results for record in batch]

    async def chat(self, messages: Sequence[Message], params: ChatParams) -> ChatReply:
        return await chat_once.options(resources={self.tag: 1}, num_cpus=1).remote(list(messages), params, self.settings)
