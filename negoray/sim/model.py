"""`SimModel`: a synthetic chat model for negoray's game. Not an LLM.

Given the exact messages a real model would get, it answers negotiation turns (`negotiator`),
classification requests and their mutations (`negoray.tasks.classify.sim`) and negotiation mutation
requests (`mutator`) by reading the prompt text, deterministically for a given
(messages, temperature, seed, replicate). Usage follows a fixed 4-characters-per-token rule.
It is fast enough to run the full V7 experiment in minutes, which is what it is for: exercising
and benchmarking the whole stack, and testing that evolution has a signal to follow.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

from negoray.chat import ChatParams, ChatReply, Message, estimate_tokens, messages_tokens
from negoray.game.moves import MoveFormat
from negoray.sim.mutator import is_mutation_request, mutate
from negoray.sim.negotiator import negotiate
from negoray.tasks.classify import sim as classify_sim

SIM_MODEL_NAME = "negoray-sim-1"


def _rng(messages: Sequence[Message], params: ChatParams) -> random.Random:
    h = hashlib.blake2b(repr((params.temperature, params.seed, params.replicate)).encode(), digest_size=8)
    for m in messages:
        h.update(m.get("role", "").encode())
        h.update(b"\0")
        h.update(m.get("content", "").encode())
        h.update(b"\1")
    return random.Random(int.from_bytes(h.digest(), "little"))


def sim_reply_text(messages: Sequence[Message], params: ChatParams) -> str:
    """The sim's answer to a chat."""
    system = "\n".join(m["content"] for m in messages if m.get("role") == "system")
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    rng = _rng(messages, params)
    if classify_sim.is_mutation_request(user):
        return classify_sim.mutate(user, rng)
    if is_mutation_request(user):
        return mutate(user, rng)
    if classify_sim.is_classification_request(user):
        return classify_sim.classify_reply(system, user, rng)
    json_mode = params.response_format is not None or '"action": "propose"' in system
    reply = negotiate(system, user, rng, params.temperature, MoveFormat.JSON if json_mode else MoveFormat.TEXT)
    return reply if reply is not None else "OK. (negoray sim: a synthetic negotiation model, not an LLM.)"


class SimModel:
    """The sim as an in-process `ChatFn`."""

    provider = "sim"

    def __init__(self, model: str = SIM_MODEL_NAME) -> None:
        self.model = model

    def reply(self, messages: Sequence[Message], params: ChatParams) -> ChatReply:
        text = sim_reply_text(messages, params)
        completion = min(estimate_tokens(text), params.max_tokens) if params.max_tokens else estimate_tokens(text)
        return ChatReply(
            text=text, prompt_tokens=messages_tokens(messages), completion_tokens=completion,
            provider=self.provider, model=self.model,
        )

    async def __call__(self, messages: Sequence[Message], params: ChatParams) -> ChatReply:
        return self.reply(messages, params)
