"""The planner's assumptions about one negotiation (one record of the task), one call and the loop's
shape: measured from negoray's real prompts (a task's own, `negoray.tasks.base.PlannedTask`), or the
users' (``user=True``); explicit values win."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from negoray.chat import Message, estimate_tokens, messages_tokens
from negoray.config import ExperimentConfig
from negoray.evolution.mutation_prompts import BEGIN, END
from negoray.fmt import json_number
from negoray.game.moves import Action, Move, MoveFormat
from negoray.game.outcome import rest
from negoray.game.protocol import Seen, system_prompt, turn_prompt
from negoray.tasks.base import PlannedTask, PlanSample, plural, record_noun
from negoray.tasks.negotiation.mutation import WorstCase, random_mutation, reflective_mutation, worst_cases
from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES

TYPICAL_CALL_FRACTION = 0.65
"""Expected calls per negotiation as a fraction of the maximum (2 x max_rounds): the sim plays
~6.5 of the 10 calls at max_rounds = 5 (5.8 with the seed strategies, ~7 once they have evolved),
because a negotiation ends when a side accepts."""

COMPLETION_TOKENS = 40
"""A move is two short lines -- ``REASONING: <one sentence>`` and ``PROPOSE: I get [...], you get
[...]`` -- about 150-170 characters, ~40 tokens (the sim averages ~36)."""

MUTATION_DIAGNOSIS_TOKENS = 40
"""A reflective mutation's short diagnosis before the new strategy."""

USER_CALLS_PER_NEGOTIATION = 10
USER_TOKENS_PER_CALL = 300
USER_GATING_SCENARIOS = 10


_NOT_IN_JSON = ("sources", "noun", "longest_calls", "counterpart")
"""`Assumptions` fields that word the plan or shape its batch rounds and roles, kept out of its JSON
(which stays V7's)."""


class PlanError(ValueError):
    """A bad planner input; the message names the flag."""


@dataclass(frozen=True)
class Assumptions:
    """What the planner assumes about one negotiation, one call and the loop's shape."""

    calls_per_negotiation: float
    prompt_tokens: float
    """Prompt tokens of one negotiation call."""
    completion_tokens: float
    """Completion tokens of one negotiation call."""
    mutation_prompt_tokens: float
    mutation_completion_tokens: float
    gate_parent: bool = True
    """Gating plays the parent on the same scenarios as the child (negoray does)."""
    mutate_last_generation: bool = False
    """Mutation and gating after the last generation too (the users' table: 10 rounds, not 9)."""
    include_test: bool = True
    include_baseline: bool = True
    groups_alike: bool = False
    """Every group mutates population - elites agents and gates them (the users' table); negoray's
    market groups replace fewer and do not gate."""
    gating_scenarios: int | None = None
    """Override the config's gating_scenarios (None: the config's)."""
    latency_s: float | None = None
    """Per-call latency for the critical path (None: each provider's stream speed)."""
    user: bool = False
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Where each figure came from, for the assumptions table."""
    noun: str = field(default="negotiation", compare=False)
    """The task's word for one record (`negoray.tasks.base.record_noun`), for the plan's wording."""
    longest_calls: float | None = None
    """Calls of the longest evaluation, for batch rounds (None: a negotiation's 2 x max_rounds)."""
    counterpart: bool = True
    """The task has a counterpart (V7's opponent) that makes part of the calls, for the fleet's roles."""

    @property
    def tokens_per_call(self) -> float:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _NOT_IN_JSON}
        d["tokens_per_call"] = self.tokens_per_call
        d["sources"] = dict(self.sources)
        return {k: json_number(v) for k, v in d.items()}


def _example_history(counts: tuple[int, ...], n: int) -> list[tuple[str, Move]]:
    """``n`` plausible messages: alternating proposals that move an item at a time."""
    moves: list[tuple[str, Move]] = []
    mine = list(counts)
    for i in range(n):
        side = "agent" if i % 2 == 0 else "opponent"
        share = tuple(mine) if side == "agent" else rest(counts, tuple(max(0, c - 1) for c in counts))
        action = Action.PROPOSE if i == 0 else Action.REJECT
        moves.append((side, Move(action, share, "a short reason")))
        j = i % len(mine)
        if mine[j] > 0:
            mine[j] -= 1
    return moves


def measure_prompt_tokens(max_rounds: int, move_format: str = "text", calls: float | None = None,
                          counts: tuple[int, int, int] = (3, 4, 3), values: tuple[int, int, int] = (1, 3, 0)) -> float:
    """Mean prompt tokens of one negotiation call, from negoray's real prompts.

    Builds the system prompt (each seed strategy for the agent, the fixed opponent's for the
    opponent) and the turn prompt of each of the first ``calls`` messages (the history grows one
    move a message), and counts them with `messages_tokens`.
    """
    fmt = MoveFormat(move_format)
    n = max(1, min(2 * max_rounds, round(calls if calls is not None else TYPICAL_CALL_FRACTION * 2 * max_rounds)))
    history = _example_history(counts, n)
    samples = []
    for strategy in SEED_STRATEGIES.values():
        for k in range(n):
            side = "agent" if k % 2 == 0 else "opponent"
            system = system_prompt(strategy if side == "agent" else OPPONENT_PROMPT, max_rounds, fmt)
            seen = [Seen(1 + i // 2, s == side, m) for i, (s, m) in enumerate(history[:k])]
            standing = None
            if k > 0:
                _, prev = history[k - 1]
                standing = rest(counts, prev.share) if prev.share is not None else None
            user = turn_prompt(counts, values, seen, 1 + k // 2, max_rounds, side == "agent", standing)
            samples.append(messages_tokens([{"role": "system", "content": system}, {"role": "user", "content": user}]))
    return statistics.fmean(samples)


def _sample_worst_cases() -> list[WorstCase]:
    """The five worst of 20 dev negotiations of the aggressive seed on the sim: real details."""
    from negoray.tasks.negotiation import play_all
    from negoray.game.generators import v7_splits
    from negoray.sim.model import SimModel

    dev = v7_splits()["dev"][:20]
    records = asyncio.run(play_all(SEED_STRATEGIES["aggressive"], OPPONENT_PROMPT, dev, SimModel()))
    return worst_cases(records, {sc.id: sc for sc in dev})


def measure_mutation_tokens() -> tuple[float, float]:
    """(prompt, completion) tokens of one mutation call, from the real mutation prompts: the mean
    over the seed strategies of a random and a reflective request (5 worst scenarios, each with
    its detail as `worst_cases` writes it); the answer is a strategy of the same size between the
    markers (plus a short diagnosis, reflective)."""
    worst = _sample_worst_cases()
    prompts, completions = [], []
    for strategy in SEED_STRATEGIES.values():
        prompts.append(messages_tokens(random_mutation(strategy)))
        prompts.append(messages_tokens(reflective_mutation(strategy, 0.42, 0.7, worst)))
        answer = estimate_tokens(f"{BEGIN}\n{strategy}\n{END}")
        completions += [answer, answer + MUTATION_DIAGNOSIS_TOKENS]
    return statistics.fmean(prompts), statistics.fmean(completions)


def default_calls_per_negotiation(max_rounds: int) -> float:
    return round(TYPICAL_CALL_FRACTION * 2 * max_rounds, 2)


@dataclass(frozen=True)
class TaskShape:
    """What the planner reads from the config's task (`for_task`): its name, its word for a record,
    its calls per evaluation and its typical calls (`PlannedTask`; None: V7's negotiations, planned
    from ``max_rounds`` and the negotiation prompts)."""

    name: str = "negotiation"
    noun: str = "negotiation"
    calls: float | None = None
    sample: PlanSample | None = None
    counterpart: bool = True


def _mean_prompt(requests: Sequence[Sequence[Message]]) -> float:
    return statistics.fmean(messages_tokens(list(r)) for r in requests)


def _mean_reply(replies: Sequence[str]) -> float:
    return statistics.fmean(estimate_tokens(r) for r in replies)


def make_assumptions(
    config: ExperimentConfig,
    *,
    user: bool = False,
    calls_per_negotiation: float | None = None,
    tokens_per_call: float | None = None,
    completion_tokens: float | None = None,
    latency_s: float | None = None,
    task: TaskShape = TaskShape(),
) -> Assumptions:
    """The planner's assumptions: measured defaults, or the users' (``user``); explicit values win.
    ``task``: the config's task (`for_task`; the default: V7's negotiations).

    ``tokens_per_call`` is prompt + completion of one negotiation call (the users' "300 tokens a
    call"); ``completion_tokens`` its completion part. Errors name the flag.
    """
    if calls_per_negotiation is not None and not calls_per_negotiation > 0:
        raise PlanError(f"--calls-per-negotiation: must be a positive number, got {calls_per_negotiation}")
    if tokens_per_call is not None and not tokens_per_call > 0:
        raise PlanError(f"--tokens-per-call: must be a positive number, got {tokens_per_call}")
    if completion_tokens is not None and not completion_tokens >= 0:
        raise PlanError(f"--completion-tokens: must be a number >= 0, got {completion_tokens}")
    if latency_s is not None and not latency_s >= 0:
        raise PlanError(f"--latency-s: must be a number >= 0, got {latency_s}")
    sample = task.sample
    if user and sample is not None:
        raise PlanError(f"--user-assumptions: the users' table is V7's negotiation experiment; the {task.name} task "
                        "is planned from its own calls (give --calls-per-negotiation, --tokens-per-call ... instead)")
    sources: dict[str, str] = {}
    max_calls = 2 * config.max_rounds
    if calls_per_negotiation is not None:
        cpn = float(calls_per_negotiation)
        sources["calls_per_negotiation"] = "--calls-per-negotiation"
    elif task.calls is not None and not user:
        cpn = float(task.calls)
        sources["calls_per_negotiation"] = f"the task's calls per evaluation ({config.task_name})"
    elif user:
        cpn = float(USER_CALLS_PER_NEGOTIATION)
        sources["calls_per_negotiation"] = "the users' table: every negotiation runs all 5 rounds x 2 sides"
    else:
        cpn = default_calls_per_negotiation(config.max_rounds)
        sources["calls_per_negotiation"] = (f"{TYPICAL_CALL_FRACTION:.0%} of the {max_calls} maximum "
                                            "(negotiations end on acceptance; the sim plays ~6.5 of 10)")
    if completion_tokens is not None:
        completion = float(completion_tokens)
        sources["completion_tokens"] = "--completion-tokens"
    elif sample is not None:
        completion = round(_mean_reply(sample.replies), 1)
        sources["completion_tokens"] = f"the task's reply: {sample.reply}"
    else:
        completion = float(COMPLETION_TOKENS)
        sources["completion_tokens"] = "a two-line move (REASONING + PROPOSE) ~ 40 tokens; the sim averages ~36"
    if tokens_per_call is not None:
        total = float(tokens_per_call)
        sources["prompt_tokens"] = "--tokens-per-call minus completion"
    elif user:
        total = float(USER_TOKENS_PER_CALL)
        sources["prompt_tokens"] = "the users' 300 tokens a call, minus completion"
    elif sample is not None:
        total = round(_mean_prompt(sample.requests)) + completion
        sources["prompt_tokens"] = (f"measured: the task's own requests ({len(sample.requests):,}: its seed prompts on "
                                    "its scenarios) counted with messages_tokens")
    else:
        prompt = measure_prompt_tokens(config.max_rounds, config.move_format, cpn)
        total = round(prompt) + completion
        sources["prompt_tokens"] = "measured: system_prompt + turn_prompt counted with messages_tokens"
    prompt_tokens = total - completion
    if prompt_tokens <= 0:
        raise PlanError(f"--completion-tokens: {completion:g} leaves no prompt tokens in {total:g} tokens a call "
                        "(--tokens-per-call is prompt + completion)")
    if user:
        mutation_prompt, mutation_completion = prompt_tokens, completion
        sources["mutation"] = "the users' table: a mutation call is an ordinary 300-token call"
    elif sample is not None:
        mutation_prompt = float(round(_mean_prompt(sample.mutation_requests)))
        mutation_completion = float(round(_mean_reply(sample.mutation_replies)))
        sources["mutation"] = "measured: the task's own mutation prompts; the answer is a whole prompt"
    else:
        mp, mc = measure_mutation_tokens()
        mutation_prompt, mutation_completion = float(round(mp)), float(round(mc))
        sources["mutation"] = "measured: the real mutation prompts; the answer is a whole strategy"
    if latency_s is not None:
        sources["latency_s"] = "--latency-s"
    return Assumptions(
        calls_per_negotiation=cpn, prompt_tokens=prompt_tokens, completion_tokens=completion,
        mutation_prompt_tokens=mutation_prompt, mutation_completion_tokens=mutation_completion,
        gate_parent=not user, mutate_last_generation=user, include_test=not user, include_baseline=not user,
        groups_alike=user, gating_scenarios=USER_GATING_SCENARIOS if user else None, latency_s=latency_s,
        user=user, sources=sources, noun=task.noun, counterpart=task.counterpart,
        longest_calls=None if task.calls is None else float(math.ceil(cpn)),
    )


def for_task(config: ExperimentConfig) -> tuple[ExperimentConfig, TaskShape]:
    """The config as the planner counts its task: ``[scenarios]`` sized as the task's dev, val and test
    splits (classify: its examples), and the task's shape: its record's word, its ``calls_per_evaluation``
    and its `PlannedTask.plan_sample` where it has them (None: a negotiation's, from ``max_rounds``)."""
    from negoray.tasks.registry import make_task

    task = make_task(config)
    sizes = {name: len(scenarios) for name, scenarios in task.splits().items()}
    sized = dataclasses.replace(config, scenarios=dataclasses.replace(config.scenarios, **sizes))
    sample = task.plan_sample() if isinstance(task, PlannedTask) else None
    return sized, TaskShape(task.name, record_noun(task), getattr(task, "calls_per_evaluation", None), sample,
                            task.counterpart is not None)


def per_record(a: Assumptions, max_rounds: int) -> str:
    """The plan header's words for one record's calls: V7's "max 5 rounds", or "1 call per classification"."""
    if a.noun == "negotiation":
        return f"max {max_rounds} rounds"
    n = a.calls_per_negotiation
    return f"{n:g} {plural('call', n)} per {a.noun}"
