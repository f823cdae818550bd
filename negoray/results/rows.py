"""Row builders of the four results tables: a negotiation, its calls, a mutation call, an agent, a
generation, each as a plain ``dict`` keyed by the columns of `negoray.results.schema`.

Scores of a negotiation that ended in an infrastructure error are null, never 0 (an error is not a
score); ``market_*`` columns are null for tournament groups and ``gate_*`` columns are null where no
gating happened. Secrets are redacted from every text column.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from negoray.chat import CallUsage, ChatReply
from negoray.evolution.backend import Phase
from negoray.evolution.genome import Genome, Origin
from negoray.llm.cost import PriceBook, PriceTable, call_cost
from negoray.llm.redact import redact
from negoray.results.schema import AGENTS, ERROR, GENERATIONS, PHASES, SCORED, SPLITS, group_of
from negoray.tasks.base import TaskRecord


def _check(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} = {value!r} is not one of {', '.join(allowed)}")


def _cost(prompt: int, completion: int, price_in: float | None, price_out: float | None, cached: int = 0,
          price_cached_in: float | None = None) -> float | None:
    """Dollars at prices per million tokens, the cached part of the prompt at ``price_cached_in``; None
    when the prices are unknown. ``completion`` includes the reasoning tokens (the client counts them
    in where a provider reports them apart)."""
    if price_in is None or price_out is None:
        return None
    return call_cost(prompt, completion, price_in, price_out, cached, price_cached_in)


def _call_cost(prompt: int, completion: int, cache_hit: bool, price_in: float | None, price_out: float | None,
               cached: int = 0, price_cached_in: float | None = None) -> float | None:
    """One call's dollars: a cache hit costs nothing; None when the prices are unknown."""
    cost = _cost(prompt, completion, price_in, price_out, cached, price_cached_in)
    return 0.0 if cache_hit and cost is not None else cost


def _prices_of(endpoint: str, tier: str, price_in: float | None, price_out: float | None, price_cached_in: float | None,
               by_endpoint: PriceTable | None) -> tuple[float | None, float | None, float | None]:
    """The (in, out, cached in) prices of the endpoint that served a call at the tier it went out on
    (`PriceBook.by_endpoint`; default: the given ones)."""
    return PriceBook(price_in, price_out, price_cached_in, by_endpoint or {}).of(endpoint, tier)


def _usage_cost(c: Any, price_in: float | None, price_out: float | None, price_cached_in: float | None,
                by_endpoint: PriceTable | None) -> float | None:
    """One call's dollars (a `CallUsage` or a `ChatReply`) at its endpoint's prices at its tier."""
    p_in, p_out, p_cached = _prices_of(c.endpoint, c.tier, price_in, price_out, price_cached_in, by_endpoint)
    return _call_cost(c.prompt_tokens, c.completion_tokens, c.cache_hit, p_in, p_out, c.cached_prompt_tokens, p_cached)


def _calls_cost(calls: Iterable[CallUsage], price_in: float | None, price_out: float | None,
                price_cached_in: float | None = None,
                by_endpoint: PriceTable | None = None) -> float | None:
    """Dollars for a negotiation's calls, each at the prices of the endpoint that served it
    (``by_endpoint``; default ``price_in``/``price_out``/``price_cached_in``); None when a call's
    prices are unknown."""
    if by_endpoint is None and (price_in is None or price_out is None):
        return None
    total = 0.0
    for c in calls:
        cost = _usage_cost(c, price_in, price_out, price_cached_in, by_endpoint)
        if cost is None:
            return None
        total += cost
    return total


def _record_row(record: TaskRecord, *, run_id: str, group: str | None, seed: int | None, generation: int | None,
                agent_id: str, split: str, phase: str, price_in: float | None, price_out: float | None,
                price_cached_in: float | None, by_endpoint: PriceTable | None) -> dict[str, Any]:
    """The columns of a ``negotiations`` row every task's record has: the keys, the score, usage, error."""
    _check("phase", phase, PHASES)
    _check("split", split, SPLITS)
    served = next((c for c in record.calls if c.provider or c.model), None)
    return {
        "run_id": run_id,
        "group": group,
        "seed": seed,
        "generation": generation,
        "agent_id": agent_id,
        "scenario_id": record.scenario_id,
        "split": split,
        "phase": phase,
        "replicate": record.replicate,
        "normalized_score": record.score,
        "calls": len(record.calls),
        "cache_hits": sum(1 for c in record.calls if c.cache_hit),
        "prompt_tokens": sum(c.prompt_tokens for c in record.calls),
        "completion_tokens": sum(c.completion_tokens for c in record.calls),
        "reasoning_tokens": sum(c.reasoning_tokens for c in record.calls),
        "cached_prompt_tokens": sum(c.cached_prompt_tokens for c in record.calls),
        "cost_usd": _calls_cost(record.calls, price_in, price_out, price_cached_in, by_endpoint),
        "latency_s": sum(c.latency_s for c in record.calls),
        "provider": served.provider if served else "",
        "model": served.model if served else "",
        "error": redact(record.error) if record.error else record.error,
    }


RECORD_DEFAULTS = ("outcome", "turns", "agent_unparseable", "opponent_unparseable", "truncated", "transcript")
"""The generic columns of a ``negotiations`` row a task's `Task.record_row` may give itself (negotiation
does); else: outcome ``scored`` or ``error``, its calls as turns, no unparseable moves, the calls cut
off by max_tokens, and the task's own fields as JSON in ``transcript``."""


def _defaults(record: TaskRecord, fields: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "outcome": SCORED if record.error is None else ERROR,
        "turns": len(record.calls),
        "agent_unparseable": 0,
        "opponent_unparseable": 0,
        "truncated": sum(1 for c in record.calls if c.finish_reason == "length"),
        "transcript": json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":"), default=str),
    }


def negotiation_row(
    record: TaskRecord,
    *,
    run_id: str,
    group: str | None,
    seed: int | None,
    generation: int | None,
    agent_id: str,
    split: str,
    phase: str,
    price_in: float | None,
    price_out: float | None,
    price_cached_in: float | None = None,
    by_endpoint: PriceTable | None = None,
    task_fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One row of ``negotiations`` (one evaluation of any task, with the task's ``task_fields``, its
    `Task.record_row`, over `RECORD_DEFAULTS`). ``price_in``/``price_out``/``price_cached_in``
    (cached prompt tokens; None: at ``price_in``) are dollars per million tokens; ``by_endpoint``:
    each endpoint's own prices, by the name its calls carry."""
    row = _record_row(record, run_id=run_id, group=group, seed=seed, generation=generation, agent_id=agent_id,
                      split=split, phase=phase, price_in=price_in, price_out=price_out,
                      price_cached_in=price_cached_in, by_endpoint=by_endpoint)
    fields = task_fields or {}
    if not set(RECORD_DEFAULTS) <= set(fields):
        row.update(_defaults(record, fields))
    row.update(fields)
    row["transcript"] = redact(row["transcript"])
    return row


def call_rows(
    record: TaskRecord,
    *,
    run_id: str,
    generation: int | None,
    agent_id: str,
    phase: str,
    price_in: float | None = None,
    price_out: float | None = None,
    price_cached_in: float | None = None,
    by_endpoint: PriceTable | None = None,
) -> list[dict[str, Any]]:
    """One ``calls`` row per LLM call of a negotiation, in call order (``turn`` is the index); each
    costs at its endpoint's prices (``by_endpoint``, default ``price_in``/``price_out``)."""
    _check("phase", phase, PHASES)
    return [
        {
            "run_id": run_id,
            "generation": generation,
            "agent_id": agent_id,
            "scenario_id": record.scenario_id,
            "phase": phase,
            "replicate": record.replicate,
            "turn": i,
            "side": c.side,
            "round": c.round,
            "provider": c.provider,
            "model": c.model,
            "prompt_tokens": c.prompt_tokens,
            "completion_tokens": c.completion_tokens,
            "latency_s": c.latency_s,
            "attempts": c.attempts,
            "cache_hit": c.cache_hit,
            "status": "ok" if c.ok else "failed",
            "cost_usd": _usage_cost(c, price_in, price_out, price_cached_in, by_endpoint),
            "finish_reason": c.finish_reason,
            "reasoning_tokens": c.reasoning_tokens,
            "endpoint": c.endpoint,
            "cached_prompt_tokens": c.cached_prompt_tokens,
            "concurrency_limit": c.concurrency_limit,
            "tier": c.tier or None,
        }
        for i, c in enumerate(record.calls)
    ]


def mutation_call_row(
    run_id: str,
    generation: int,
    agent_id: str,
    reply: ChatReply | None,
    ok: bool,
    *,
    attempt: int = 0,
    price_in: float | None = None,
    price_out: float | None = None,
    price_cached_in: float | None = None,
    by_endpoint: PriceTable | None = None,
) -> dict[str, Any]:
    """The ``calls`` row of one mutation request (``reply`` None: the call itself failed).

    ``agent_id`` is the child being made; ``attempt`` numbers repeated tries (the ``turn`` column).
    """
    r = reply or ChatReply(text="", attempts=0)
    return {
        "run_id": run_id,
        "generation": generation,
        "agent_id": agent_id,
        "scenario_id": "",
        "phase": Phase.MUTATION,
        "replicate": 0,
        "turn": attempt,
        "side": "mutator",
        "round": 0,
        "provider": r.provider,
        "model": r.model,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "latency_s": r.latency_s,
        "attempts": r.attempts,
        "cache_hit": r.cache_hit,
        "status": "ok" if ok and reply is not None else "failed",
        "cost_usd": _usage_cost(r, price_in, price_out, price_cached_in, by_endpoint),
        "finish_reason": r.finish_reason,
        "reasoning_tokens": r.reasoning_tokens,
        "endpoint": r.endpoint,
        "cached_prompt_tokens": r.cached_prompt_tokens,
        "concurrency_limit": r.concurrency_limit,
        "tier": r.tier or None,
    }


_AGENT_SCORES = frozenset(f.name for f in AGENTS) - {
    "run_id", "group", "agent_id", "parent_id", "generation", "origin", "mutation_kind", "lineage", "prompt", "note",
}


def agent_row(genome: Genome, *, group: str | None = None, task_scores: Sequence[str] = (), **scores: Any) -> dict[str, Any]:
    """One ``agents`` row: the genome plus whichever scores apply (the rest stay null).

    ``scores`` keys: dev_fitness, dev_deal_rate, dev_pareto_rate, dev_errors, gate_child_mean, gate_parent_mean,
    gate_accepted, gate_child_id (the agent id of the child's gating rows: this agent's own id when
    accepted, ``...-rejected`` when its parent's clone took the slot), test_score, market_revenue,
    market_clients, and the task's own ``task_scores`` (its ``dev_<name>`` columns). ``group`` defaults
    to the run id's leading letter when that is a V7 group.
    """
    allowed = _AGENT_SCORES | set(task_scores)
    unknown = set(scores) - allowed
    if unknown:
        raise TypeError(f"agent_row: unknown score(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}")
    row: dict[str, Any] = {
        "run_id": genome.run_id,
        "group": group if group is not None else group_of(genome.run_id),
        "agent_id": genome.id,
        "parent_id": genome.parent_id,
        "generation": genome.generation,
        "origin": Origin(genome.origin).value,
        "mutation_kind": genome.mutation_kind,
        "lineage": genome.lineage,
        "prompt": genome.prompt,
        "note": genome.note,
    }
    row.update({k: scores.get(k) for k in sorted(_AGENT_SCORES)})
    row.update({k: scores.get(k) for k in task_scores})
    return row


def generation_row(values: Mapping[str, Any], task_figures: Sequence[str] = ()) -> dict[str, Any]:
    """One ``generations`` row from a plain dict; keys not given are null, unknown keys are an error
    (``task_figures``: the task's own columns)."""
    names = [*GENERATIONS.names, *task_figures]
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(f"generation_row: unknown column(s) {', '.join(sorted(unknown))}")
    for key in ("run_id", "group", "generation"):
        if values.get(key) is None:
            raise ValueError(f"generation_row: {key} is required")
    return {name: values.get(name) for name in names}
