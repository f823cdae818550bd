"""The two mutation requests (one LLM call each, answered with a whole new strategy prompt)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

CURRENT_HEADER = "## Current strategy"
FEEDBACK_HEADER = "## How it performed"
TASK_HEADER = "## Task"
BEGIN, END = "<<<STRATEGY", "STRATEGY>>>"
QUOTED_PROMPT = re.compile(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), re.S)
"""The parent prompt as a mutation request quotes it (group 1), exactly as written here."""

MUTATION_SYSTEM = (
    "You are an expert negotiation coach. You write the system prompts that negotiation agents "
    "follow in a game of dividing books, hats and balls. You answer with a complete strategy prompt."
)

_ANSWER_RULE = f"""Reply with the complete new strategy prompt only, between a line {BEGIN} and a line {END}.
State its thresholds explicitly as percentages of the agent's own total value of the pool
(opening demand, the minimum it accepts) and how fast it concedes."""


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
