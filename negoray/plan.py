"""The planner: call and token volumes of an experiment, and its cost and minimum wall time per provider.

Pure computation from an `ExperimentConfig`, a set of `Assumptions` and provider profiles
(`ProviderSpec`); `negoray plan` prints it. The volume model follows what `Evolution.step` really
does in one generation:

- **eval**: population x dev negotiations;
- after every generation but the last, **mutation**: tournament groups replace population - elites
  agents, market groups replace round-half-up(death_fraction x population) (at least 1), one
  mutation call each;
- **gating** (tournament groups only): each child *and its parent* play ``gating_scenarios`` val
  scenarios;
- in the last generation, **test**: the best agent plays the test split;
- once per experiment, **baseline**: the 8 seed strategies play the test split.

A negotiation makes ``calls_per_negotiation`` calls on average (at most 2 x max_rounds: it ends
early on acceptance). Prompt tokens per call are measured by building negoray's real prompts
(`system_prompt` + `turn_prompt`) and counting them with `messages_tokens`.

The wall time per provider is a lower bound: the largest of calls / RPM, tokens / TPM,
calls / requests-per-day, completion tokens / server throughput (local servers), and the
critical path of calls that must follow one another (per generation: one negotiation's calls, one
mutation call, one gating negotiation's calls; runs are independent, so the experiment's critical
path is one run's).

``user_assumptions`` reproduces the hand-made table in ``v7-architecture-and-scalability.md``
(10 calls a negotiation, 300 tokens a call, gating = the child only on 10 scenarios, mutation and
gating in all 10 generations and in every group, no test or baseline): 5,406 calls per
generation, 54,060 per run, 648,720 for 12 runs, 194,616,000 tokens. `differences` sets their
figures next to ours, each with the reason.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from negoray.chat import estimate_tokens, messages_tokens
from negoray.config import GROUPS, ExperimentConfig
from negoray.evolution.mutation import worst_cases
from negoray.evolution.mutation_prompts import BEGIN, END, WorstCase, random_mutation, reflective_mutation
from negoray.evolution.seeds import OPPONENT_PROMPT, SEED_STRATEGIES
from negoray.game.moves import Action, Move, MoveFormat
from negoray.game.outcome import rest
from negoray.game.protocol import Seen, system_prompt, turn_prompt
from negoray.llm.providers import PROVIDERS, ProviderSpec

PHASES = ("eval", "mutation", "gating", "test", "baseline")
"""The planner's phases: what the negotiations (or, for mutation, the calls) are for."""
NEGOTIATION_PHASES = ("eval", "gating", "test", "baseline")

BOUNDS = ("RPM", "TPM", "requests/day", "server throughput", "critical path")
"""The lower bounds on wall time, in the order a tie is named."""

DEFAULT_PROVIDERS = ("sim", "lmstudio", "vllm", "groq", "groq-free", "together", "openrouter", "openai", "anthropic")

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

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class StreamSpeed:
    """One request's speed: completion tokens/s of a single stream and a fixed overhead (network,
    queueing, time to first token). Per-call latency = completion / tps + overhead_s."""

    tps: float | None
    overhead_s: float


STREAM_SPEEDS: dict[str, StreamSpeed] = {
    "sim": StreamSpeed(None, 0.001),
    "local": StreamSpeed(60, 0.05),
    "lmstudio": StreamSpeed(100, 0.05),
    "vllm": StreamSpeed(80, 0.05),
    "llamacpp": StreamSpeed(60, 0.05),
    "ollama": StreamSpeed(60, 0.05),
    "groq": StreamSpeed(300, 0.2),
    "groq-free": StreamSpeed(300, 0.2),
    "together": StreamSpeed(200, 0.3),
    "openrouter": StreamSpeed(100, 0.5),
    "openai": StreamSpeed(80, 0.4),
    "xai": StreamSpeed(100, 0.4),
    "anthropic": StreamSpeed(80, 0.6),
    "custom": StreamSpeed(50, 0.5),
}
"""Typical single-stream speeds (the users' table where they gave one: LM Studio gemma ~100 tok/s,
Groq ~300, Together ~200, Claude ~80) -- only the critical-path bound uses them."""

DEFAULT_STREAM = StreamSpeed(50, 0.5)


class PlanError(ValueError):
    """A bad planner input; the message names the flag."""


# -- assumptions --------------------------------------------------------------------------------


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

    @property
    def tokens_per_call(self) -> float:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "sources"}
        d["tokens_per_call"] = self.tokens_per_call
        d["sources"] = dict(self.sources)
        return {k: _num(v) for k, v in d.items()}


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
    from negoray.evolution.evaluate import play_all
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


def make_assumptions(
    config: ExperimentConfig,
    *,
    user: bool = False,
    calls_per_negotiation: float | None = None,
    tokens_per_call: float | None = None,
    completion_tokens: float | None = None,
    latency_s: float | None = None,
) -> Assumptions:
    """The planner's assumptions: measured defaults, or the users' (``user``); explicit values win.

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
    sources: dict[str, str] = {}
    max_calls = 2 * config.max_rounds
    if calls_per_negotiation is not None:
        cpn = float(calls_per_negotiation)
        sources["calls_per_negotiation"] = "--calls-per-negotiation"
    elif user:
        cpn = float(USER_CALLS_PER_NEGOTIATION)
        sources["calls_per_negotiation"] = "the users' table: every negotiation runs all 5 rounds x 2 sides"
    else:
        cpn = default_calls_per_negotiation(config.max_rounds)
        sources["calls_per_negotiation"] = (f"{TYPICAL_CALL_FRACTION:.0%} of the {max_calls} maximum "
                                            "(negotiations end on acceptance; the sim plays ~6.5 of 10)")
    completion = float(completion_tokens) if completion_tokens is not None else float(COMPLETION_TOKENS)
    sources["completion_tokens"] = ("--completion-tokens" if completion_tokens is not None else
                                    "a two-line move (REASONING + PROPOSE) ~ 40 tokens; the sim averages ~36")
    if tokens_per_call is not None:
        total = float(tokens_per_call)
        sources["prompt_tokens"] = "--tokens-per-call minus completion"
    elif user:
        total = float(USER_TOKENS_PER_CALL)
        sources["prompt_tokens"] = "the users' 300 tokens a call, minus completion"
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
        user=user, sources=sources,
    )


# -- volumes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Volume:
    negotiations: float = 0.0
    calls: float = 0.0
    prompt_tokens: float = 0.0
    completion_tokens: float = 0.0

    @property
    def tokens(self) -> float:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Volume) -> Volume:
        return Volume(self.negotiations + other.negotiations, self.calls + other.calls,
                      self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)

    def scaled(self, k: float) -> Volume:
        return Volume(self.negotiations * k, self.calls * k, self.prompt_tokens * k, self.completion_tokens * k)

    def to_dict(self) -> dict[str, Any]:
        return {"negotiations": _num(self.negotiations), "calls": _num(self.calls),
                "prompt_tokens": _num(self.prompt_tokens), "completion_tokens": _num(self.completion_tokens),
                "tokens": _num(self.tokens)}


Breakdown = dict[str, Volume]
"""Volume by phase (`PHASES`)."""


def total(b: Mapping[str, Volume]) -> Volume:
    out = Volume()
    for v in b.values():
        out = out + v
    return out


def _add(a: Mapping[str, Volume], b: Mapping[str, Volume], k: float = 1.0) -> Breakdown:
    return {p: a.get(p, Volume()) + b.get(p, Volume()).scaled(k) for p in PHASES}


def _empty() -> Breakdown:
    return {p: Volume() for p in PHASES}


def negotiations_volume(n: float, a: Assumptions) -> Volume:
    calls = n * a.calls_per_negotiation
    return Volume(n, calls, calls * a.prompt_tokens, calls * a.completion_tokens)


def mutation_volume(k: float, a: Assumptions) -> Volume:
    return Volume(0.0, k, k * a.mutation_prompt_tokens, k * a.mutation_completion_tokens)


def selection_of(group: str, a: Assumptions) -> str:
    return "tournament" if a.groups_alike else GROUPS[group][0]


def mutation_slots(config: ExperimentConfig, group: str, a: Assumptions) -> int:
    """Agents replaced by mutation after a generation (what `Evolution._next_population` does)."""
    p, e = config.population, config.elites
    if selection_of(group, a) == "tournament":
        return p - e
    mortal = p - e
    if mortal <= 0:
        return 0
    dead = max(1, math.floor(config.market.death_fraction * p + 0.5 + 1e-9))
    return min(dead, mortal, p - max(1, e))


def gating_negotiations(config: ExperimentConfig, group: str, a: Assumptions) -> int:
    """Gating negotiations after a generation: each child (and its parent) on the val subset.

    An upper bound for negoray: a parent gating two children plays a shared scenario once, and a
    child whose mutation failed is a clone and is not gated."""
    if selection_of(group, a) != "tournament":
        return 0
    n = a.gating_scenarios if a.gating_scenarios is not None else config.gating_scenarios
    return mutation_slots(config, group, a) * n * (2 if a.gate_parent else 1)


def generation_breakdown(config: ExperimentConfig, group: str, generation: int, a: Assumptions) -> Breakdown:
    """What generation ``generation`` (0-based) of a run of ``group`` plays and calls."""
    last = generation == config.generations - 1
    b = _empty()
    b["eval"] = negotiations_volume(config.population * config.scenarios.dev, a)
    if not last or a.mutate_last_generation:
        b["mutation"] = mutation_volume(mutation_slots(config, group, a), a)
        b["gating"] = negotiations_volume(gating_negotiations(config, group, a), a)
    if last and a.include_test:
        b["test"] = negotiations_volume(config.scenarios.test, a)
    return b


def run_breakdown(config: ExperimentConfig, group: str, a: Assumptions) -> Breakdown:
    out = _empty()
    for g in range(config.generations):
        out = _add(out, generation_breakdown(config, group, g, a))
    return out


def baseline_breakdown(config: ExperimentConfig, a: Assumptions) -> Breakdown:
    b = _empty()
    if a.include_baseline:
        b["baseline"] = negotiations_volume(len(SEED_STRATEGIES) * config.scenarios.test, a)
    return b


# -- providers ----------------------------------------------------------------------------------


def stream_speed(spec: ProviderSpec) -> StreamSpeed:
    """The provider's single-stream speed: by name, else a built-in at the same URL, else a default."""
    if spec.name in STREAM_SPEEDS:
        return STREAM_SPEEDS[spec.name]
    for name, builtin in PROVIDERS.items():
        if spec.base_url and builtin.base_url == spec.base_url and name in STREAM_SPEEDS:
            return STREAM_SPEEDS[name]
    if spec.local and spec.throughput_tps:
        return StreamSpeed(spec.throughput_tps, 0.05)
    return DEFAULT_STREAM


def call_latency(spec: ProviderSpec, completion_tokens: float, a: Assumptions) -> float:
    if a.latency_s is not None:
        return a.latency_s
    speed = stream_speed(spec)
    return (completion_tokens / speed.tps if speed.tps else 0.0) + speed.overhead_s


def critical_path_s(config: ExperimentConfig, spec: ProviderSpec, a: Assumptions) -> float:
    """One run's chain of calls that cannot overlap, the longest over the config's groups: per
    generation, one negotiation's calls, then one mutation call, then one gating negotiation's
    calls (the last generation: one test negotiation instead)."""
    neg = a.calls_per_negotiation * call_latency(spec, a.completion_tokens, a)
    mut = call_latency(spec, a.mutation_completion_tokens, a)
    longest = 0.0
    for group in dict.fromkeys(config.groups):
        s = 0.0
        for g in range(config.generations):
            b = generation_breakdown(config, group, g, a)
            s += neg
            s += mut if b["mutation"].calls else 0.0
            s += neg if b["gating"].negotiations else 0.0
            s += neg if b["test"].negotiations else 0.0
        longest = max(longest, s)
    return longest


@dataclass(frozen=True)
class ProviderPlan:
    name: str
    model: str
    price_in: float
    price_out: float
    cost_usd: float
    bounds_h: dict[str, float | None]
    """Each lower bound in hours; None where the provider has no such limit."""
    latency_s: float
    """Per negotiation call, for the critical path."""
    local: bool

    @property
    def hours(self) -> float:
        return max(v for v in self.bounds_h.values() if v is not None)

    @property
    def binding(self) -> str:
        return next(k for k in BOUNDS if self.bounds_h.get(k) is not None and math.isclose(self.bounds_h[k], self.hours))

    @property
    def ties(self) -> list[str]:
        return [k for k in BOUNDS if k != self.binding and self.bounds_h.get(k) is not None
                and math.isclose(self.bounds_h[k], self.hours, rel_tol=1e-9)]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "price_in": self.price_in, "price_out": self.price_out,
                "cost_usd": round(self.cost_usd, 4), "hours": round(self.hours, 4), "days": round(self.hours / 24, 4),
                "binding": self.binding, "ties": self.ties,
                "bounds_hours": {k: (None if v is None else round(v, 4)) for k, v in self.bounds_h.items()},
                "latency_s_per_call": round(self.latency_s, 4), "local": self.local}


def cost_usd(volume: Volume, spec: ProviderSpec) -> float:
    return (volume.prompt_tokens * spec.price_in + volume.completion_tokens * spec.price_out) / 1e6


def provider_plan(config: ExperimentConfig, spec: ProviderSpec, volume: Volume, a: Assumptions) -> ProviderPlan:
    bounds: dict[str, float | None] = {
        "RPM": volume.calls / spec.rpm / 60 if spec.rpm else None,
        "TPM": volume.tokens / spec.tpm / 60 if spec.tpm else None,
        "requests/day": volume.calls / spec.rpd * 24 if spec.rpd else None,
        "server throughput": volume.completion_tokens / spec.throughput_tps / 3600 if spec.throughput_tps else None,
        "critical path": critical_path_s(config, spec, a) / 3600,
    }
    return ProviderPlan(spec.name, spec.default_model, spec.price_in, spec.price_out, cost_usd(volume, spec), bounds,
                        call_latency(spec, a.completion_tokens, a), spec.local)


# -- the plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupPlan:
    group: str
    selection: str
    runs: int
    mutation_slots: int
    gating_negotiations: int
    per_generation: Breakdown
    """A generation that mutates (not the last)."""
    per_run: Breakdown


@dataclass(frozen=True)
class Plan:
    config: ExperimentConfig
    assumptions: Assumptions
    groups: dict[str, GroupPlan]
    per_generation: Breakdown
    """A mutating generation, the mean over the experiment's runs."""
    per_run: Breakdown
    """One run, the mean over the experiment's runs (the baseline is not part of a run)."""
    total: Breakdown
    """The whole experiment, baseline included."""
    providers: list[ProviderPlan]
    n_runs: int

    def to_dict(self) -> dict[str, Any]:
        g, r, t = total(self.per_generation), total(self.per_run), total(self.total)
        return {
            "config": self.config.name,
            "runs": self.n_runs,
            "generations": self.config.generations,
            "population": self.config.population,
            "groups": list(self.config.groups),
            "calls_per_generation": _num(g.calls),
            "calls_per_run": _num(r.calls),
            "calls_total": _num(t.calls),
            "negotiations_per_generation": _num(g.negotiations),
            "negotiations_per_run": _num(r.negotiations),
            "negotiations_total": _num(t.negotiations),
            "tokens_per_generation": _num(g.tokens),
            "tokens_per_run": _num(r.tokens),
            "tokens_total": _num(t.tokens),
            "prompt_tokens_total": _num(t.prompt_tokens),
            "completion_tokens_total": _num(t.completion_tokens),
            "assumptions": self.assumptions.to_dict(),
            "breakdown": {
                "per_generation": {p: v.to_dict() for p, v in self.per_generation.items()},
                "per_run": {p: v.to_dict() for p, v in self.per_run.items()},
                "total": {p: v.to_dict() for p, v in self.total.items()},
            },
            "per_group": {
                name: {"selection": gp.selection, "runs": gp.runs, "mutation_slots": gp.mutation_slots,
                       "gating_negotiations_per_generation": gp.gating_negotiations,
                       "per_generation": total(gp.per_generation).to_dict(), "per_run": total(gp.per_run).to_dict()}
                for name, gp in self.groups.items()
            },
            "providers": [p.to_dict() for p in self.providers],
        }


def make_plan(config: ExperimentConfig, a: Assumptions, providers: Iterable[ProviderSpec] = ()) -> Plan:
    runs = config.runs()
    if not runs:
        raise PlanError("--config: the config has no runs")
    groups: dict[str, GroupPlan] = {}
    for _, group, _ in runs:
        if group not in groups:
            mutating = 0 if config.generations > 1 or a.mutate_last_generation else None
            per_gen = generation_breakdown(config, group, mutating if mutating is not None else 0, a)
            groups[group] = GroupPlan(group, selection_of(group, a), 0, mutation_slots(config, group, a),
                                      gating_negotiations(config, group, a), per_gen, run_breakdown(config, group, a))
        groups[group] = dataclasses.replace(groups[group], runs=groups[group].runs + 1)
    n = len(runs)
    per_generation, per_run, everything = _empty(), _empty(), _empty()
    for gp in groups.values():
        per_generation = _add(per_generation, gp.per_generation, gp.runs / n)
        per_run = _add(per_run, gp.per_run, gp.runs / n)
        everything = _add(everything, gp.per_run, gp.runs)
    everything = _add(everything, baseline_breakdown(config, a))
    t = total(everything)
    plans = [provider_plan(config, spec, t, a) for spec in providers]
    return Plan(config, a, groups, per_generation, per_run, everything, plans, n)


def resolve_providers(names: Sequence[str] | None, profiles: Mapping[str, ProviderSpec] | None = None) -> list[ProviderSpec]:
    """Provider specs by name (built in or from profiles); an unknown name names ``--provider``."""
    known = {**PROVIDERS, **(profiles or {})}
    if not names:
        names = [*DEFAULT_PROVIDERS, *[p for p in (profiles or {}) if p not in DEFAULT_PROVIDERS]]
    out = []
    for name in dict.fromkeys(names):
        if name not in known:
            raise PlanError(f"--provider: unknown provider {name!r}; known: {', '.join(sorted(known))}")
        out.append(known[name])
    return out


# -- the users' table ---------------------------------------------------------------------------


USER_TABLE: dict[str, dict[str, Any]] = {
    "calls_per_generation": {"value": 5_406},
    "calls_per_run": {"value": 54_060},
    "calls_total": {"value": 648_720},
    "tokens_total": {"value": 194.6e6},
    "groq": {"cost_usd": 153.0, "hours": 9.0, "tps": 300},
    "groq-free": {"days": 45.0, "tps": 300, "rpd": 14_400},
    "lmstudio": {"hours": 27.0, "tps": 100, "model": "gemma-3-4b"},
    "together": {"cost_usd": 171.0, "hours": 14.0, "tps": 200},
    "anthropic": {"cost_usd": 3500.0, "hours": 34.0, "tps": 80},
}
"""The figures the users wrote in ``v7-architecture-and-scalability.md`` (their stated numbers,
kept only to be set next to what their own assumptions and ours compute)."""


def implied_output_tokens() -> float:
    """Completion tokens a call that their hours imply: hours x 3600 x tok/s / calls, one call at a
    time -- 15 (14.98 to 15.5) for every row of their table, rounded."""
    calls = USER_TABLE["calls_total"]["value"]
    rows = [USER_TABLE[n] for n in ("groq", "lmstudio", "together", "anthropic")]
    return float(round(statistics.fmean(r["hours"] * 3600 * r["tps"] / calls for r in rows)))


@dataclass(frozen=True)
class Difference:
    item: str
    user_table: str
    user_method: str
    """Their figure recomputed from their stated assumptions (for this config)."""
    user_volumes: str
    """At their volumes, with our pricing and bounds."""
    this_plan: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def user_shape(config: ExperimentConfig) -> bool:
    """Whether the config is the experiment of the users' table (12 runs x 10 generations x 8 x 60)."""
    return (len(config.runs()) == 12 and config.generations == 10 and config.population == 8
            and config.elites == 2 and config.scenarios.dev == 60)


def differences(config: ExperimentConfig, ours: Plan, user: Plan, profiles: Mapping[str, ProviderSpec] | None = None,
                ) -> list[Difference]:
    """Their figures, recomputed from their assumptions, next to ours, each with a one-line reason.

    ``user`` is the plan under `make_assumptions(user=True)` for the same config (their volumes).
    The "their table" column is filled only when the config is the experiment their table is about.
    """
    known = {**PROVIDERS, **(profiles or {})}
    shape = user_shape(config)
    a, ua = ours.assumptions, user.assumptions
    ug, ur, ut = total(user.per_generation), total(user.per_run), total(user.total)
    og, orr, ot = total(ours.per_generation), total(ours.per_run), total(ours.total)
    stated = (lambda s: s) if shape else (lambda s: "-")
    rows: list[Difference] = []
    market = [g for g in ours.groups.values() if g.selection == "market"]
    tourn = [g for g in ours.groups.values() if g.selection == "tournament"]
    why = [f"{_fmt(a.calls_per_negotiation)} calls a negotiation, not {_fmt(ua.calls_per_negotiation)} (it ends on acceptance)"]
    if a.gate_parent and tourn:
        why.append("gating plays the child and its parent")
    if market and not a.groups_alike:
        why.append(f"market groups ({', '.join(g.group for g in market)}) replace {market[0].mutation_slots} agents and do not gate")
    user_mutations = user.per_generation["mutation"].calls
    rows.append(Difference(
        "negotiations per generation", stated("~546"), _int(ug.negotiations + user_mutations), _int(ug.negotiations),
        _int(og.negotiations),
        f"their ~546 counts the {_int(user_mutations)} mutation calls as negotiations; a mutation is one call, not a game"
        + ("" if a.user else f"; here gating plays {'child and parent' if a.gate_parent else 'the child'} and market groups do not gate")))
    rows.append(Difference("calls per generation", stated("5,406"), _int(ug.calls), _int(ug.calls), _int(og.calls),
                           "; ".join(why) if not a.user else "their assumptions"))
    extra = []
    if not a.mutate_last_generation and config.generations > 0:
        extra.append(f"{config.generations - 1} mutation rounds a run, not {config.generations} (the last generation plays the test split)")
    if a.include_test or a.include_baseline:
        extra.append(f"+ {_int(ours.total['test'].negotiations)} test and {_int(ours.total['baseline'].negotiations)} baseline negotiations")
    rows.append(Difference("calls per run", stated("54,060"), _int(ur.calls), _int(ur.calls), _int(orr.calls),
                           "; ".join(why[:1] + extra[:1]) if not a.user else "their assumptions"))
    rows.append(Difference("calls, whole experiment", stated("648,720"), _int(ut.calls), _int(ut.calls), _int(ot.calls),
                           "; ".join(why[:1] + extra) if not a.user else "their assumptions"))
    rows.append(Difference(
        "tokens, whole experiment", stated("~194.6M"), _tok(ut.tokens), _tok(ut.tokens), _tok(ot.tokens),
        f"{_fmt(a.prompt_tokens)} prompt + {_fmt(a.completion_tokens)} completion tokens a call "
        f"({a.sources.get('prompt_tokens', '')}), not 300 in all" if not a.user else
        "300 tokens a call x their calls"))

    def cost_row(name: str, label: str, their_rate: float, their_rule: str) -> None:
        spec = known.get(name)
        if spec is None:
            return
        stated_cost = USER_TABLE[name]["cost_usd"]
        theirs = ut.tokens * their_rate / 1e6
        at_theirs = cost_usd(ut, spec)
        ours_cost = cost_usd(ot, spec)
        if math.isclose(spec.price_in, spec.price_out):
            reason = (f"prompt and completion cost the same (${spec.price_in:g}/M), so only the volume differs")
        else:
            reason = (f"they priced all {_tok(ut.tokens)} tokens at {their_rule}; split, "
                      f"{_tok(ut.prompt_tokens)} prompt x ${spec.price_in:g} + {_tok(ut.completion_tokens)} completion x "
                      f"${spec.price_out:g} per M")
        rows.append(Difference(f"{label} cost", stated(f"~${stated_cost:,.0f}"), _usd(theirs), _usd(at_theirs),
                               _usd(ours_cost), reason))

    def time_row(name: str, label: str) -> None:
        spec = known.get(name)
        if spec is None:
            return
        t = USER_TABLE[name]
        out_tokens = implied_output_tokens()
        theirs_h = ut.calls * out_tokens / t["tps"] / 3600
        at_theirs = provider_plan(config, spec, ut, ua)
        ours_p = provider_plan(config, spec, ot, a)
        stated_s = f"~{t['days']:g} days" if "days" in t else f"~{t['hours']:g}h"
        if name == "groq-free":
            rpd = t["rpd"]
            theirs_s = _hours(ut.calls / rpd * 24)
            others = ", ".join(f"{k} alone {_hours(v)}" for k, v in at_theirs.bounds_h.items()
                               if v is not None and k != at_theirs.binding)
            reason = (f"bound by {at_theirs.binding} ({_int(spec.rpd or 0)} a day): {_int(ut.calls)} calls / "
                      f"{_int(spec.rpd or 0)} = {ut.calls / (spec.rpd or 1):.2f} days; {others}")
        else:
            theirs_s = _hours(theirs_h)
            reason = (f"their hours = calls x ~{out_tokens:.0f} output tokens / {t['tps']} tok/s, one call at a time; "
                      f"the real bound is {at_theirs.binding}"
                      + (f" ({_int(spec.throughput_tps or 0)} tok/s shared by all concurrent calls, "
                         f"{_fmt(ua.completion_tokens)} completion tokens a call)" if at_theirs.binding == "server throughput"
                         else _limit_words(spec, at_theirs.binding)))
        rows.append(Difference(f"{label} time", stated(stated_s), theirs_s,
                               f"{_hours(at_theirs.hours)} ({at_theirs.binding})", f"{_hours(ours_p.hours)} ({ours_p.binding})",
                               reason))

    cost_row("groq", "Groq (paid)", spec_price(known, "groq", "out"), f"~the output price (${spec_price(known, 'groq', 'out'):g}/M)")
    time_row("groq", "Groq (paid)")
    time_row("groq-free", "Groq (free)")
    time_row("lmstudio", "LM Studio (gemma-3-4b)")
    cost_row("together", "Together", spec_price(known, "together", "out"), f"${spec_price(known, 'together', 'out'):g}/M")
    time_row("together", "Together")
    anth = known.get("anthropic")
    if anth is not None:
        cost_row("anthropic", "Claude", anth.price_in + anth.price_out,
                 f"in + out price added (${anth.price_in:g} + ${anth.price_out:g} = ${anth.price_in + anth.price_out:g}/M)")
        time_row("anthropic", "Claude")
    return rows


def spec_price(known: Mapping[str, ProviderSpec], name: str, which: str) -> float:
    spec = known.get(name)
    if spec is None:
        return 0.0
    return spec.price_out if which == "out" else spec.price_in


def _limit_words(spec: ProviderSpec, binding: str) -> str:
    return {"RPM": f" ({_int(spec.rpm or 0)} requests a minute)", "TPM": f" ({_int(spec.tpm or 0)} tokens a minute)",
            "requests/day": f" ({_int(spec.rpd or 0)} requests a day)", "critical path": " (calls that must follow one another)",
            }.get(binding, "")


# -- check: the plan against a results directory ------------------------------------------------


@dataclass(frozen=True)
class CheckRow:
    phase: str
    planned: Volume
    """The whole plan."""
    planned_done: Volume
    """The plan for what the results directory says finished."""
    actual: Volume

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "planned": self.planned.to_dict(), "planned_done": self.planned_done.to_dict(),
                "actual": self.actual.to_dict(),
                "ratio": {k: _ratio(getattr(self.actual, k), getattr(self.planned_done, k))
                          for k in ("negotiations", "calls", "prompt_tokens", "completion_tokens")}}


@dataclass(frozen=True)
class CheckResult:
    root: str
    rows: list[CheckRow]
    generations_planned: int
    generations_done: int
    missing: dict[str, list[int]]
    """Run id -> the generations not (completely) written."""
    missing_test: list[str]
    baseline_done: bool
    measured: dict[str, float | None]
    """Calls per negotiation, prompt and completion tokens per negotiation call, as recorded."""
    cache_hits: int

    def to_dict(self) -> dict[str, Any]:
        return {"results": self.root, "rows": [r.to_dict() for r in self.rows],
                "generations_planned": self.generations_planned, "generations_done": self.generations_done,
                "missing": {k: v for k, v in self.missing.items() if v}, "missing_test": self.missing_test,
                "baseline_done": self.baseline_done, "measured": {k: _num(v) for k, v in self.measured.items()},
                "cache_hits": self.cache_hits}


def check(root: Path | str, plan: Plan) -> CheckResult:
    """Compare ``plan`` with the Parquet tables under ``root`` (negotiations by phase, mutation
    calls, finished generations)."""
    import pyarrow.compute as pc

    from negoray.results.writer import read_table

    config, a = plan.config, plan.assumptions
    neg = read_table(root, "negotiations", ["run_id", "generation", "phase", "calls", "cache_hits",
                                              "prompt_tokens", "completion_tokens"])
    calls = read_table(root, "calls", ["phase", "prompt_tokens", "completion_tokens"])
    gens = read_table(root, "generations", ["run_id", "generation"])
    actual: dict[str, Volume] = {}
    phases = neg.column("phase").to_pylist()
    n_calls = neg.column("calls").to_pylist()
    pt = neg.column("prompt_tokens").to_pylist()
    ct = neg.column("completion_tokens").to_pylist()
    for p in NEGOTIATION_PHASES:
        idx = [i for i, x in enumerate(phases) if x == p]
        actual[p] = Volume(len(idx), sum(n_calls[i] for i in idx), sum(pt[i] for i in idx), sum(ct[i] for i in idx))
    mut = calls.filter(pc.equal(calls.column("phase"), "mutation"))
    actual["mutation"] = Volume(0, mut.num_rows, sum(mut.column("prompt_tokens").to_pylist()),
                                sum(mut.column("completion_tokens").to_pylist()))
    done = set(zip(gens.column("run_id").to_pylist(), gens.column("generation").to_pylist()))
    planned_done = _empty()
    missing: dict[str, list[int]] = {}
    missing_test = []
    for run_id, group, _ in config.runs():
        missing[run_id] = [g for g in range(config.generations) if (run_id, g) not in done]
        for g in range(config.generations):
            if (run_id, g) in done:
                planned_done = _add(planned_done, generation_breakdown(config, group, g, a))
        if a.include_test and (run_id, config.generations - 1) not in done:
            missing_test.append(run_id)
    baseline_done = actual["baseline"].negotiations > 0
    if baseline_done:
        planned_done = _add(planned_done, baseline_breakdown(config, a))
    rows = [CheckRow(p, plan.total[p], planned_done[p], actual[p]) for p in PHASES]
    negotiation_calls = sum(actual[p].calls for p in NEGOTIATION_PHASES)
    negotiations = sum(actual[p].negotiations for p in NEGOTIATION_PHASES)
    measured = {
        "calls_per_negotiation": negotiation_calls / negotiations if negotiations else None,
        "prompt_tokens_per_call": sum(actual[p].prompt_tokens for p in NEGOTIATION_PHASES) / negotiation_calls
        if negotiation_calls else None,
        "completion_tokens_per_call": sum(actual[p].completion_tokens for p in NEGOTIATION_PHASES) / negotiation_calls
        if negotiation_calls else None,
    }
    return CheckResult(str(root), rows, config.generations * len(config.runs()),
                       sum(1 for r, _, _ in config.runs() for g in range(config.generations) if (r, g) in done),
                       missing, missing_test, baseline_done, measured, int(sum(neg.column("cache_hits").to_pylist())))


# -- formatting helpers -------------------------------------------------------------------------


def _num(v: Any) -> Any:
    """Integral floats as ints, others rounded (JSON-friendly)."""
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return None
        if v.is_integer():
            return int(v)
        return round(v, 4)
    return v


def _ratio(actual: float, planned: float) -> float | None:
    return round(actual / planned, 4) if planned else None


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}".rstrip("0").rstrip(".")


def _int(v: float) -> str:
    return f"{v:,.0f}"


def _tok(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:,.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:,.1f}K"
    return f"{v:,.0f}"


def _usd(v: float) -> str:
    return f"${v:,.2f}" if v < 1000 else f"${v:,.0f}"


def _hours(h: float) -> str:
    """Hours, with days when it is two days or more; seconds/minutes when under an hour."""
    if h >= 48:
        return f"{h / 24:,.2f} days"
    if h >= 1:
        return f"{h:,.1f}h"
    if h * 60 >= 1:
        return f"{h * 60:,.1f} min"
    return f"{h * 3600:,.1f} s"
