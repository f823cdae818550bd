"""What a V7 mutation is asked and shown: the two requests' wording, the worst negotiations a
reflective mutation sees (pool, values, how each ended), and what makes a child a strategy."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from negoray.evolution.mutation import check_prompt_text
from negoray.evolution.mutation_prompts import BEGIN, END, TASK_HEADER
from negoray.game.dialogue import AGENT, OPPONENT, NegotiationRecord
from negoray.game.moves import describe_share
from negoray.game.outcome import OutcomeKind, rest, value
from negoray.game.scenario import ITEMS, Counts, Scenario
from negoray.game.scored import scored
from negoray.tasks.base import MutationKind

CURRENT_HEADER = "## Current strategy"
FEEDBACK_HEADER = "## How it performed"

MUTATION_SYSTEM = (
    "You are an expert negotiation coach. You write the system prompts that negotiation agents "
    "follow in a game of dividing books, hats and balls. You answer with a complete strategy prompt."
)

_ANSWER_RULE = f"""Reply with the complete new strategy prompt only, between a line {BEGIN} and a line {END}.
State its thresholds explicitly as percentages of the agent's own total value of the pool
(opening demand, the minimum it accepts) and how fast it concedes."""

_MOVES = re.compile(r"\b(?:accept|offer|propos|deal|demand|conced|concession|counter)", re.I)


@dataclass(frozen=True)
class WorstCase:
    """One of the scenarios a strategy did worst on, as shown to a reflective mutation. ``detail``:
    the pool, the agent's values, how it ended and the final or standing offers (one per line)."""

    scenario_id: str
    outcome: str
    score: float
    detail: str = ""


def random_mutation(strategy: str) -> list[dict[str, str]]:
    """"Write a different variation": no feedback, change thresholds, tactics or wording."""
    user = f"""{CURRENT_HEADER}
{BEGIN}
{strategy.strip()}
{END}

{TASK_HEADER}
Write a different variation of this strategy: change some of its thresholds, tactics or wording.
{_ANSWER_RULE}"""
    return [{"role": "system", "content": MUTATION_SYSTEM}, {"role": "user", "content": user}]


def reflective_mutation(
    strategy: str, mean_score: float, deal_rate: float, worst: Sequence[WorstCase]
) -> list[dict[str, str]]:
    """Show the strategy with its mean score, deal rate and worst scenarios; ask for a diagnosis
    and an improved strategy."""
    worst_lines = "\n".join(
        f"- {w.scenario_id}: {w.outcome}, normalised score {w.score:.2f}"
        + "".join(f"\n  {line}" for line in w.detail.splitlines())
        for w in worst
    ) or "- (none)"
    user = f"""{CURRENT_HEADER}
{BEGIN}
{strategy.strip()}
{END}

{FEEDBACK_HEADER}
Mean normalised score: {mean_score:.3f}
Deal rate: {deal_rate:.0%}
Worst scenarios:
{worst_lines}

{TASK_HEADER}
Diagnose in one or two sentences why this strategy loses value, then write an improved strategy.
{_ANSWER_RULE}"""
    return [{"role": "system", "content": MUTATION_SYSTEM}, {"role": "user", "content": user}]


def mutation_messages(
    kind: MutationKind,
    parent_prompt: str,
    mean_score: float,
    deal_rate: float,
    worst: Sequence[WorstCase],
) -> list[dict[str, str]]:
    """The chat messages for one mutation call; ``random`` ignores the feedback arguments."""
    if kind == "random":
        return random_mutation(parent_prompt)
    if kind == "reflective":
        return reflective_mutation(parent_prompt, mean_score, deal_rate, worst)
    raise ValueError(f'mutation kind must be "random" or "reflective", got {kind!r}')


def check_strategy(text: str | None, parent: str) -> str | None:
    """Why ``text`` is not a usable negotiation strategy, or None if it is: `check_prompt_text`'s
    reasons, then no mention of accepting, offering or proposing (not a negotiation strategy)."""
    reason = check_prompt_text(text, parent)
    if reason is None and not _MOVES.search(text or ""):
        return "does not mention accepting, offering or proposing"
    return reason


def _share_value(share: Counts, values: Counts, total: int) -> str:
    return f"{describe_share(share)} (worth {value(share, values)} of {total})"


def describe_case(record: NegotiationRecord, scenario: Scenario) -> str:
    """One negotiation as a reflective mutation is shown it, from the agent's side: the pool, the
    agent's values, how it ended and the final (agreed) or last standing offers of both sides."""
    counts, values, total = scenario.counts, scenario.agent_values, scenario.agent_max
    lines = [f"pool: {describe_share(counts)}; your values: "
             + ", ".join(f"{item[:-1]} = {v}" for item, v in zip(ITEMS, values)) + f" (the pool is worth {total} to you)"]
    m = record.metrics
    last: dict[str, Counts] = {}  # side -> the agent's share in that side's last valid proposal
    for t in record.turns:
        if t.move.ok and t.move.share is not None:
            last[t.side] = t.move.share if t.side == AGENT else rest(counts, t.move.share)
    if m is not None and m.kind is OutcomeKind.AGREED and m.agent_share is not None:
        accepter = record.turns[-1].side if record.turns else AGENT
        who = "you accepted the opponent's offer" if accepter == AGENT else "the opponent accepted your proposal"
        lines.append(f"ended: agreed in round {record.turns[-1].round if record.turns else 0} ({who}); "
                     f"you got {_share_value(m.agent_share, values, total)}")
    else:
        how = f"no deal after {record.n_turns} messages" if m is not None else f"infrastructure error ({record.error})"
        offers = []
        if AGENT in last:
            offers.append(f"you last asked for {_share_value(last[AGENT], values, total)}")
        if OPPONENT in last:
            offers.append(f"the opponent last offered you {_share_value(last[OPPONENT], values, total)}")
        lines.append(f"ended: {how}" + ("; " + "; ".join(offers) if offers else "; no valid offer from either side"))
    if record.agent_invalid:
        lines.append(f"wasted moves of yours: {record.agent_invalid} (unparseable or invalid)")
    return "\n".join(lines)


def worst_cases(records: Sequence[NegotiationRecord], scenarios: Mapping[str, Scenario] | None = None,
                n: int = 5) -> list[WorstCase]:
    """The ``n`` lowest-scoring negotiations, lowest first (ties by scenario id), each with
    :func:`describe_case` as its detail when its scenario is in ``scenarios``. Errored negotiations
    have no score and are left out."""
    worst = sorted(scored(records), key=lambda r: (r.metrics.agent_normalized, r.scenario_id))  # type: ignore[union-attr]
    scenarios = scenarios or {}
    return [WorstCase(r.scenario_id, r.outcome.value, r.metrics.agent_normalized,  # type: ignore[union-attr]
                      describe_case(r, scenarios[r.scenario_id]) if r.scenario_id in scenarios else "")
            for r in worst[: max(0, n)]]
