"""The sim's answer to a mutation request: a changed strategy text.

Random mutation perturbs the thresholds and the concession pace. Reflective mutation moves them the
way the feedback suggests: a low deal rate lowers the floor and speeds up concessions; a high deal
rate with a mediocre score asks for more.
"""

from __future__ import annotations

import math
import random
import re


from negoray.evolution.mutation_prompts import BEGIN, END, QUOTED_PROMPT
from negoray.sim.strategy import SimStrategy, read_strategy, write_strategy
from negoray.tasks.negotiation.mutation import CURRENT_HEADER, FEEDBACK_HEADER

_SCORE = re.compile(r"Mean normalised score:\s*([\d.]+)")
_DEALS = re.compile(r"Deal rate:\s*([\d.]+)\s*%")


def is_mutation_request(user: str) -> bool:
    return CURRENT_HEADER in user and QUOTED_PROMPT.search(user) is not None


def _random(p: SimStrategy, rng: random.Random) -> SimStrategy:
    return SimStrategy(
        opening=p.opening + rng.gauss(0, 0.07),
        floor=p.floor + rng.gauss(0, 0.07),
        exponent=p.exponent * math.exp((rng.gauss(0, 0.35))),
        late_round=p.late_round,
        late_floor=p.late_floor,
        accept_at=p.accept_at,
    )


def _reflective(p: SimStrategy, score: float, deal_rate: float, rng: random.Random) -> SimStrategy:
    d_open = d_floor = 0.0
    pace = 1.0
    if deal_rate < 0.75:  # too greedy: too many timeouts
        d_floor, d_open, pace = -0.08, -0.03, 0.75
    elif deal_rate > 0.9 and score < 0.75:  # deals come easily: ask for more
        d_floor, d_open, pace = 0.05, 0.05, 1.25
    return SimStrategy(
        opening=p.opening + d_open + rng.gauss(0, 0.03),
        floor=p.floor + d_floor + rng.gauss(0, 0.03),
        exponent=p.exponent * pace * math.exp((rng.gauss(0, 0.1))),
        late_round=p.late_round,
        late_floor=p.late_floor,
        accept_at=p.accept_at,
    )


def mutate(user: str, rng: random.Random) -> str:
    """The reply to a mutation request: the new strategy between the requested markers."""
    current = QUOTED_PROMPT.search(user).group(1)  # type: ignore[union-attr]
    params = read_strategy(current)
    score, deals = _SCORE.search(user), _DEALS.search(user)
    if FEEDBACK_HEADER in user and score and deals:
        new = _reflective(params, float(score.group(1)), float(deals.group(1)) / 100, rng)
        note = "Diagnosis: adjusted the thresholds to the deal rate and score shown."
    else:
        new = _random(params, rng)
        note = "A variation with different thresholds."
    return f"{note}\n{BEGIN}\n{write_strategy(new, current)}\n{END}"
