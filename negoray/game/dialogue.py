"""Playing one negotiation: alternate turns through any `ChatFn`, parse, score, record everything."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from negoray.chat import ChatFailure, ChatFn, ChatParams, ChatReply, Message, derive_seed
from negoray.game.moves import Action, Move, MoveFormat
from negoray.game.outcome import OutcomeKind, OutcomeMetrics, TimeoutPolicy, evaluate, rest
from negoray.game.parsing import parse_move
from negoray.game.protocol import Seen, response_format, system_prompt, turn_prompt
from negoray.game.scenario import Counts, Scenario

AGENT, OPPONENT = "agent", "opponent"


@dataclass(frozen=True)
class NegotiationConfig:
    """How negotiations are played; the V7 defaults."""

    max_rounds: int = 5
    move_format: MoveFormat = MoveFormat.TEXT
    timeout_policy: TimeoutPolicy = TimeoutPolicy.NO_DEAL
    temperature: float = 0.7
    max_tokens: int = 200
    seed: int | None = None
    """The experiment seed: each negotiation's seed derives from it (`negoray.evolution.backend.Job.seed`);
    `run_negotiation` uses it as the negotiation's seed when given none."""

    def __post_init__(self) -> None:
        if self.max_rounds < 1:
            raise ValueError(f"max_rounds must be at least 1, got {self.max_rounds}")
        object.__setattr__(self, "move_format", MoveFormat(self.move_format))
        object.__setattr__(self, "timeout_policy", TimeoutPolicy(self.timeout_policy))


@dataclass(frozen=True)
class CallUsage:
    """What one LLM call cost and who served it."""

    side: str
    round: int
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cache_hit: bool
    attempts: int
    provider: str
    model: str
    ok: bool = True
    finish_reason: str | None = None
    reasoning_tokens: int = 0
    endpoint: str = ""
    """The endpoint that served the call (`ChatReply.endpoint`)."""
    cached_prompt_tokens: int = 0
    """Of ``prompt_tokens``, those served from the provider's prompt cache."""
    concurrency_limit: int | None = None
    tier: str = ""
    """The tier the call went out on (`ChatReply.tier`; "" for the endpoint's own): what it is priced at."""


TRUNCATED = "truncated: the reply reached max_tokens before it held a move"
EMPTY_REPLY = "empty reply"


@dataclass(frozen=True)
class Turn:
    """One message: the answer, the move it was read as, and the reasoning that came before it
    (kept for the transcript, never parsed)."""

    round: int
    side: str
    text: str
    move: Move
    usage: CallUsage
    reasoning: str = ""

    @property
    def truncated(self) -> bool:
        """Cut off by max_tokens before it held a move: a lost turn, not an unparseable one."""
        return self.usage.finish_reason == "length" and not self.move.parsed


@dataclass(frozen=True)
class NegotiationRecord:
    """Everything about one negotiation: transcript, parsed moves, outcome and per-call usage.

    ``metrics`` is None exactly when the outcome is an infrastructure error: an error is not a score
    (means and rates over records: `negoray.game.scored`)."""

    scenario_id: str
    replicate: int
    outcome: OutcomeKind
    metrics: OutcomeMetrics | None
    turns: tuple[Turn, ...]
    calls: tuple[CallUsage, ...]
    error: str | None = None
    config: NegotiationConfig = field(default_factory=NegotiationConfig)

    def _count(self, side: str, *, parsed: bool | None) -> int:
        return sum(
            1 for t in self.turns
            if t.side == side and not t.move.ok and (parsed is None or (t.move.parsed == parsed and not t.truncated))
        )

    @property
    def n_turns(self) -> int:
        return len(self.turns)

    @property
    def agent_invalid(self) -> int:
        """Agent moves that cost the turn: unparseable, truncated or invalid."""
        return self._count(AGENT, parsed=None)

    @property
    def opponent_invalid(self) -> int:
        return self._count(OPPONENT, parsed=None)

    @property
    def agent_unparseable(self) -> int:
        return self._count(AGENT, parsed=False)

    @property
    def opponent_unparseable(self) -> int:
        return self._count(OPPONENT, parsed=False)

    @property
    def truncated(self) -> int:
        """Turns (either side) cut off by max_tokens before they held a move."""
        return sum(1 for t in self.turns if t.truncated)

    @property
    def reasoning_tokens(self) -> int:
        return sum(c.reasoning_tokens for c in self.calls)

    @property
    def prompt_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.calls)

    @property
    def cached_prompt_tokens(self) -> int:
        return sum(c.cached_prompt_tokens for c in self.calls)

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.calls)

    @property
    def latency_s(self) -> float:
        return sum(c.latency_s for c in self.calls)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the transcript column of the results)."""
        return {
            "scenario_id": self.scenario_id,
            "replicate": self.replicate,
            "outcome": self.outcome.value,
            "metrics": None if self.metrics is None else
            {k: (v.value if isinstance(v, OutcomeKind) else v) for k, v in dataclasses.asdict(self.metrics).items()},
            "turns": [
                {"round": t.round, "side": t.side, "text": t.text, "move": t.move.to_dict(),
                 "reasoning": t.reasoning, "finish_reason": t.usage.finish_reason, "truncated": t.truncated}
                for t in self.turns
            ],
            "calls": [dataclasses.asdict(c) for c in self.calls],
            "error": self.error,
        }


def _usage(side: str, round_: int, reply: Any | None) -> CallUsage:
    if reply is None:
        return CallUsage(side, round_, 0, 0, 0.0, False, 0, "", "", ok=False)
    return CallUsage(
        side, round_, reply.prompt_tokens, reply.completion_tokens, reply.latency_s,
        reply.cache_hit, reply.attempts, reply.provider, reply.model,
        finish_reason=reply.finish_reason, reasoning_tokens=reply.reasoning_tokens, endpoint=reply.endpoint,
        cached_prompt_tokens=reply.cached_prompt_tokens, concurrency_limit=reply.concurrency_limit, tier=reply.tier,
    )


async def _ask(chat: ChatFn, messages: list[Message], params: ChatParams, calls: list[CallUsage], side: str,
               round_: int) -> ChatReply:
    """One turn's call; an empty answer that was not cut off is asked again once, with a fresh seed.
    Every call made is appended to ``calls``; a `ChatFailure` propagates."""
    try:
        reply = await chat(messages, params)
        if not reply.text.strip() and reply.finish_reason != "length":
            calls.append(_usage(side, round_, reply))
            reply = await chat(messages, dataclasses.replace(params, seed=derive_seed(params.seed, "empty-retry")))
    except ChatFailure:
        calls.append(_usage(side, round_, None))
        raise
    calls.append(_usage(side, round_, reply))
    return reply


async def run_negotiation(
    agent_prompt: str,
    opponent_prompt: str,
    scenario: Scenario,
    chat: ChatFn,
    *,
    config: NegotiationConfig = NegotiationConfig(),
    opponent_chat: ChatFn | None = None,
    replicate: int = 0,
    seed: int | None = None,
) -> NegotiationRecord:
    """Play ``scenario`` between two strategies; the agent moves first in every round.

    ``seed`` is this negotiation's seed (default: ``config.seed``); each call carries
    ``derive_seed(seed, round, side)``, so no two calls share a seed and a replay sends the same ones
    (a server that honours ``seed`` then samples each turn afresh). None: calls carry no seed.

    Unparseable or invalid moves cost the turn. A `ChatFailure` (infrastructure) ends the
    negotiation with outcome ``error`` and no score; other exceptions propagate.
    """
    counts = scenario.counts
    sides = {
        AGENT: (system_prompt(agent_prompt, config.max_rounds, config.move_format), scenario.agent_values, chat),
        OPPONENT: (system_prompt(opponent_prompt, config.max_rounds, config.move_format), scenario.opponent_values, opponent_chat or chat),
    }
    params = ChatParams(
        temperature=config.temperature, max_tokens=config.max_tokens,
        replicate=replicate, response_format=response_format(config.move_format),
    )
    base_seed = config.seed if seed is None else seed
    turns: list[Turn] = []
    calls: list[CallUsage] = []
    standing: tuple[str, Counts] | None = None  # (proposer, the proposer's own share)
    agreed: Counts | None = None

    def finish(kind: OutcomeKind, share: Counts | None, error: str | None = None) -> NegotiationRecord:
        metrics = None if kind is OutcomeKind.ERROR else evaluate(scenario, kind, share)
        return NegotiationRecord(scenario.id, replicate, kind, metrics, tuple(turns), tuple(calls), error, config)

    for round_ in range(1, config.max_rounds + 1):
        for side in (AGENT, OPPONENT):
            system, values, side_chat = sides[side]
            history = [Seen(t.round, t.side == side, t.move) for t in turns]
            offered = rest(counts, standing[1]) if standing and standing[0] != side else None
            user = turn_prompt(counts, values, history, round_, config.max_rounds, side == AGENT, offered)
            messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
            call_seed = None if base_seed is None else derive_seed(base_seed, round_, side)
            try:
                reply = await _ask(side_chat, messages, dataclasses.replace(params, seed=call_seed), calls, side, round_)
            except ChatFailure as e:
                return finish(OutcomeKind.ERROR, None, f"{side} call in round {round_} failed: {e}")
            move = parse_move(reply.text, counts)
            if not move.parsed and reply.finish_reason == "length":
                move = dataclasses.replace(move, problem=TRUNCATED)
            elif not reply.text.strip():
                move = Move(None, problem=EMPTY_REPLY)
            if move.action is Action.ACCEPT:
                if offered is None:
                    move = dataclasses.replace(move, problem="ACCEPT with no standing proposal from the other side")
                else:
                    agreed = offered if side == AGENT else rest(counts, offered)
            elif move.ok:
                standing = (side, move.share)  # type: ignore[assignment]
            turns.append(Turn(round_, side, reply.text, move, calls[-1], reply.reasoning))
            if agreed is not None:
                return finish(OutcomeKind.AGREED, agreed)

    if config.timeout_policy is TimeoutPolicy.LAST_PROPOSAL and standing is not None:
        proposer, share = standing
        return finish(OutcomeKind.TIMEOUT, share if proposer == AGENT else rest(counts, share))
    return finish(OutcomeKind.TIMEOUT, None)
