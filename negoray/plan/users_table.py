"""The users' hand-made table (``v7-architecture-and-scalability.md``): their figures, recomputed from
their assumptions, next to ours, each with the reason (`differences`)."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from negoray.config import ExperimentConfig
from negoray.fmt import compact, hours, integer, tokens, usd
from negoray.llm.providers import PROVIDERS, ProviderSpec
from negoray.plan.build import Plan
from negoray.plan.costs import cost_usd, provider_plan
from negoray.plan.volumes import total


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
    why = [f"{compact(a.calls_per_negotiation)} calls a negotiation, not {compact(ua.calls_per_negotiation)} (it ends on acceptance)"]
    if a.gate_parent and tourn:
        why.append("gating plays the child and its parent")
    if market and not a.groups_alike:
        why.append(f"market groups ({', '.join(g.group for g in market)}) replace {market[0].mutation_slots} agents and do not gate")
    user_mutations = user.per_generation["mutation"].calls
    rows.append(Difference(
        "negotiations per generation", stated("~546"), integer(ug.negotiations + user_mutations), integer(ug.negotiations),
        integer(og.negotiations),
        f"their ~546 counts the {integer(user_mutations)} mutation calls as negotiations; a mutation is one call, not a game"
        + ("" if a.user else f"; here gating plays {'child and parent' if a.gate_parent else 'the child'} and market groups do not gate")))
    rows.append(Difference("calls per generation", stated("5,406"), integer(ug.calls), integer(ug.calls), integer(og.calls),
                           "; ".join(why) if not a.user else "their assumptions"))
    extra = []
    if not a.mutate_last_generation and config.generations > 0:
        extra.append(f"{config.generations - 1} mutation rounds a run, not {config.generations} (the last generation plays the test split)")
    if a.include_test or a.include_baseline:
        extra.append(f"+ {integer(ours.total['test'].negotiations)} test and {integer(ours.total['baseline'].negotiations)} baseline negotiations")
    rows.append(Difference("calls per run", stated("54,060"), integer(ur.calls), integer(ur.calls), integer(orr.calls),
                           "; ".join(why[:1] + extra[:1]) if not a.user else "their assumptions"))
    rows.append(Difference("calls, whole experiment", stated("648,720"), integer(ut.calls), integer(ut.calls), integer(ot.calls),
                           "; ".join(why[:1] + extra) if not a.user else "their assumptions"))
    rows.append(Difference(
        "tokens, whole experiment", stated("~194.6M"), tokens(ut.tokens), tokens(ut.tokens), tokens(ot.tokens),
        f"{compact(a.prompt_tokens)} prompt + {compact(a.completion_tokens)} completion tokens a call "
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
            reason = (f"they priced all {tokens(ut.tokens)} tokens at {their_rule}; split, "
                      f"{tokens(ut.prompt_tokens)} prompt x ${spec.price_in:g} + {tokens(ut.completion_tokens)} completion x "
                      f"${spec.price_out:g} per M")
        rows.append(Difference(f"{label} cost", stated(f"~${stated_cost:,.0f}"), usd(theirs), usd(at_theirs),
                               usd(ours_cost), reason))

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
            theirs_s = hours(ut.calls / rpd * 24)
            others = ", ".join(f"{k} alone {hours(v)}" for k, v in at_theirs.bounds_h.items()
                               if v is not None and k != at_theirs.binding)
            reason = (f"bound by {at_theirs.binding} ({integer(spec.rpd or 0)} a day): {integer(ut.calls)} calls / "
                      f"{integer(spec.rpd or 0)} = {ut.calls / (spec.rpd or 1):.2f} days; {others}")
        else:
            theirs_s = hours(theirs_h)
            reason = (f"their hours = calls x ~{out_tokens:.0f} output tokens / {t['tps']} tok/s, one call at a time; "
                      f"the real bound is {at_theirs.binding}"
                      + (f" ({integer(spec.throughput_tps or 0)} tok/s shared by all concurrent calls, "
                         f"{compact(ua.completion_tokens)} completion tokens a call)" if at_theirs.binding == "server throughput"
                         else _limit_words(spec, at_theirs.binding)))
        rows.append(Difference(f"{label} time", stated(stated_s), theirs_s,
                               f"{hours(at_theirs.hours)} ({at_theirs.binding})", f"{hours(ours_p.hours)} ({ours_p.binding})",
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
    return {"RPM": f" ({integer(spec.rpm or 0)} requests a minute)", "TPM": f" ({integer(spec.tpm or 0)} tokens a minute)",
            "requests/day": f" ({integer(spec.rpd or 0)} requests a day)", "critical path": " (calls that must follow one another)",
            }.get(binding, "")
