"""Market selection (V7 groups B and C): dev scenarios are clients who pick agents.

One generation, in order: :func:`assign_clients` (from the memory of *earlier* generations;
generation 0 is random), every agent plays every dev scenario, :func:`revenue` from the actual
per-client scores, ``memory.remember(generation, scores)``, then :func:`market_step` decides who
dies and who breeds. Memory is keyed by agent id, so a survivor must keep its id to be remembered.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from negoray.evolution.selection import rank

TemperatureMode = Literal["standard", "inverse"]
"""``[market] softmax``: how the client-choice temperature is applied (`choice_probabilities`)."""


@dataclass
class ClientMemory:
    """Per client, the per-agent scores of the last ``memory`` generations:
    ``clients[client_id][generation][agent_id] = score``. Checkpointed as JSON."""

    memory: int = 3
    clients: dict[str, dict[int, dict[str, float]]] = field(default_factory=dict)

    def remember(self, generation: int, scores: Mapping[str, Mapping[str, float]]) -> None:
        """Record ``scores[agent_id][client_id]`` for ``generation`` (NaN, an errored negotiation, is
        not a score and is skipped), then forget generations older than the last ``memory``."""
        for agent, per_client in scores.items():
            for client, score in per_client.items():
                if not math.isnan(score):
                    self.clients.setdefault(client, {}).setdefault(generation, {})[agent] = float(score)
        self._prune()

    def carry_over(self, successors: Mapping[str, str]) -> None:
        """Let clients remember an agent under its new id (``successors[old_id] = new_id``): an
        agent that survives unchanged into the next generation is the same agent to its clients."""
        for per_gen in self.clients.values():
            for scores in per_gen.values():
                for old, new in successors.items():
                    if old in scores:
                        scores[new] = scores[old]

    def _prune(self) -> None:
        if not self.generations:
            return
        oldest_kept = self.generations[-1] - self.memory + 1
        for client in list(self.clients):
            kept = {g: s for g, s in self.clients[client].items() if g >= oldest_kept}
            if kept:
                self.clients[client] = kept
            else:
                del self.clients[client]

    @property
    def generations(self) -> list[int]:
        """Remembered generations, oldest first."""
        return sorted({g for per_gen in self.clients.values() for g in per_gen})

    def is_empty(self) -> bool:
        return not self.clients

    def mean_scores(self, client: str) -> dict[str, float]:
        """Agent id -> the client's mean score of that agent over the generations it was scored in."""
        collected: dict[str, list[float]] = {}
        for per_agent in self.clients.get(client, {}).values():
            for agent, score in per_agent.items():
                collected.setdefault(agent, []).append(score)
        return {agent: statistics.fmean(v) for agent, v in sorted(collected.items())}

    def to_dict(self) -> dict[str, Any]:
        return {"memory": self.memory,
                "clients": {c: {str(g): dict(s) for g, s in sorted(per.items())}
                            for c, per in sorted(self.clients.items())}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ClientMemory:
        return cls(memory=int(d["memory"]),
                   clients={c: {int(g): {a: float(v) for a, v in s.items()} for g, s in per.items()}
                            for c, per in d["clients"].items()})


def choice_probabilities(utilities: Sequence[float], temperature: float,
                         mode: TemperatureMode = "standard") -> np.ndarray:
    """Softmax over a client's utilities (scores in [0, 1]).

    ``mode="standard"`` (the default, as the original V7 code computes it):
    ``p ∝ exp((u - max u) / temperature)``, "higher = more exploratory"; temperature 0 = argmax, ties
    shared. With V7's T = 2.0 and scores in [0, 1] the preference is weak: the best possible agent
    (1.0) is preferred to the worst (0.0) only 1.65:1 and a 0.1 gap moves a choice by about 5%, close
    to generation 0's uniform assignment. The report shows how concentrated the choices were
    against a uniform choice, so this weak selection pressure is visible rather than designed away.

    ``mode="inverse"`` (an option, ``[market] softmax = "inverse"``): ``p ∝ exp(temperature · u)``,
    reading the temperature as a sharpness: the full range is then 7.4:1 and a 0.1 gap 1.22:1.
    Temperature 0 in inverse mode is a uniform choice.
    """
    u = np.asarray(utilities, dtype=float)
    if u.size == 0:
        raise ValueError("choice_probabilities: no options")
    if mode == "inverse":
        logits = temperature * (u - u.max())
    elif mode == "standard":
        if temperature == 0:
            best = u == u.max()
            return best / best.sum()
        with np.errstate(over="ignore"):
            logits = (u - u.max()) / temperature  # <= 0, so a tiny temperature gives -inf, never NaN
    else:
        raise ValueError(f'choice_probabilities: mode must be "standard" or "inverse", got {mode!r}')
    w = np.exp(logits)
    return w / w.sum()


def client_utilities(agents: Sequence[str], client: str, memory: ClientMemory,
                     exploration_bonus: float = 0.1) -> list[float]:
    """The client's remembered mean score per agent; an agent it has no memory of gets the client's
    mean over every agent it remembers (0 if none) plus ``exploration_bonus``."""
    known = memory.mean_scores(client)
    baseline = statistics.fmean(known.values()) if known else 0.0
    return [known.get(a, baseline + exploration_bonus) for a in agents]


def assign_clients(
    agents: Sequence[str],
    clients: Sequence[str],
    memory: ClientMemory,
    generation: int,
    rng: np.random.Generator,
    temperature: float = 2.0,
    exploration_bonus: float = 0.1,
    min_clients: int = 2,
    temperature_mode: TemperatureMode = "standard",
) -> dict[str, str]:
    """Client id -> agent id.

    Generation 0 (or an empty memory): each client picks a uniformly random agent. Later: each
    client draws an agent from :func:`choice_probabilities` over :func:`client_utilities`. Then
    every agent is guaranteed ``min(min_clients, len(clients) // len(agents))`` clients: while one
    is short, a client (drawn by ``rng``) moves to it from the agent with the most clients (the
    first such in ``agents`` order). Clients are processed in the order given.
    """
    if not agents:
        raise ValueError("assign_clients: no agents")
    if len(set(agents)) != len(agents):
        raise ValueError("assign_clients: duplicate agent ids")
    agents = list(agents)
    assignment: dict[str, str] = {}
    for client in clients:
        if generation == 0 or memory.is_empty():
            assignment[client] = agents[int(rng.integers(len(agents)))]
        else:
            p = choice_probabilities(client_utilities(agents, client, memory, exploration_bonus),
                                     temperature, temperature_mode)
            assignment[client] = agents[int(rng.choice(len(agents), p=p))]
    _enforce_minimum(assignment, agents, list(clients), min(min_clients, len(clients) // len(agents)), rng)
    return assignment


def _enforce_minimum(assignment: dict[str, str], agents: list[str], clients: list[str], minimum: int,
                     rng: np.random.Generator) -> None:
    held = {a: [c for c in clients if assignment[c] == a] for a in agents}
    for agent in agents:
        while len(held[agent]) < minimum:
            donor = max(agents, key=lambda a: len(held[a]))  # first of the largest, in agents order
            client = held[donor].pop(int(rng.integers(len(held[donor]))))
            held[agent].append(client)
            assignment[client] = agent


def revenue(assignment: Mapping[str, str], scores: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Agent id -> the sum of its actual scores on its assigned clients (0 with no clients).

    Agents are every agent in ``scores`` plus every agent assigned a client. A client the agent has
    no score for (missing or NaN: an errored negotiation, never a score) is credited at the agent's
    mean over its other assigned clients; if none of its clients has a score, revenue is NaN.
    """
    per_agent: dict[str, list[float]] = {a: [] for a in scores}
    for client, agent in assignment.items():
        per_agent.setdefault(agent, []).append(float(scores.get(agent, {}).get(client, math.nan)))
    result: dict[str, float] = {}
    for agent, values in per_agent.items():
        valid = [v for v in values if not math.isnan(v)]
        if not values:
            result[agent] = 0.0
        elif not valid:
            result[agent] = math.nan
        else:
            result[agent] = math.fsum(valid) + (len(values) - len(valid)) * statistics.fmean(valid)
    return result


@dataclass(frozen=True)
class MarketOutcome:
    """Who lives, who dies, and which survivor breeds into each dead slot."""

    survivors: tuple[str, ...]
    """Best revenue first."""
    dead: tuple[str, ...]
    """Best revenue first (the last one earned least)."""
    parents: tuple[str, ...]
    """One survivor per dead slot, drawn in proportion to revenue (repeats allowed)."""


def death_count(population: int, immune: int, death_fraction: float) -> int:
    """How many agents a market generation replaces: ``death_fraction × population`` rounded half
    up, at least 1 when ``death_fraction`` > 0 and someone is mortal, at most the mortal ones and
    never everyone (someone must breed). V7: 0.3 × 8 = 2 of 8, elites immune."""
    mortal = population - immune
    n = math.floor(death_fraction * population + 0.5 + 1e-9)
    if death_fraction > 0 and mortal > 0:
        n = max(n, 1)
    return max(0, min(n, mortal, population - max(1, immune)))


def market_step(revenue: Mapping[str, float], elites: Sequence[str], death_fraction: float,
                rng: np.random.Generator) -> MarketOutcome:
    """The bottom ``death_fraction`` by revenue die; elites are immune.

    Deaths = ``death_fraction × population`` rounded half up, at least 1 when ``death_fraction`` > 0
    and there is a non-elite, at most the non-elites and never everyone (someone must breed).
    Order is :func:`~negoray.evolution.selection.rank`'s: ties by id, NaN revenue lowest. Each dead
    slot gets a parent drawn among the survivors with probability ∝ revenue (NaN counts as 0;
    uniform if all are 0).
    """
    if not 0 <= death_fraction < 1:
        raise ValueError(f"market_step: death_fraction must be in [0, 1), got {death_fraction}")
    order = rank(revenue)
    immune = set(elites) & set(order)
    mortal = [a for a in order if a not in immune]
    n_dead = death_count(len(order), len(immune), death_fraction)
    dead = mortal[len(mortal) - n_dead:] if n_dead > 0 else []
    survivors = [a for a in order if a not in dead]
    parents: list[str] = []
    if dead:
        weights = np.array([0.0 if math.isnan(revenue[a]) else max(0.0, revenue[a]) for a in survivors])
        p = weights / weights.sum() if weights.sum() > 0 else np.full(len(survivors), 1 / len(survivors))
        parents = [survivors[int(i)] for i in rng.choice(len(survivors), size=len(dead), p=p)]
    return MarketOutcome(tuple(survivors), tuple(dead), tuple(parents))


def _nonnegative(values: Sequence[float], name: str) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if np.any(x < 0) or np.any(np.isnan(x)):
        raise ValueError(f"{name}: values must be non-negative numbers")
    return x


def gini(values: Sequence[float]) -> float:
    """Gini coefficient, ``Σ|x_i − x_j| / (2 n² mean)``: 0 = equal, (n−1)/n = one holds all.
    All zeros -> 0; empty -> NaN."""
    x = _nonnegative(values, "gini")
    if x.size == 0:
        return math.nan
    if x.sum() == 0:
        return 0.0
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size**2 * x.mean()))


def hhi(values: Sequence[float]) -> float:
    """Herfindahl-Hirschman index of the shares ``x_i / Σx``, in [1/n, 1]: 1/n = equal, 1 = one
    holds all. All zeros -> 1/n (read as equal shares); empty -> NaN."""
    x = _nonnegative(values, "hhi")
    if x.size == 0:
        return math.nan
    if x.sum() == 0:
        return 1 / x.size
    shares = x / x.sum()
    return float((shares**2).sum())
