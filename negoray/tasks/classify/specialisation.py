"""Does the market let agents specialise by domain? Per-domain accuracy per agent, which agents the
clients of each domain chose, and how concentrated each domain's revenue is on a different agent.

Pure functions over one market (a run's generation) at a time: records as rows (mappings with
``agent_id``, ``domain``, ``score``), the market's assignment and scores as the market keeps them.
Revenue and concentration are `negoray.evolution.market`'s own `revenue` and `hhi`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from negoray.evolution.market import hhi, revenue

Row = Mapping[str, object]


def _scored(rows: Iterable[Row]) -> list[tuple[str, str, float]]:
    """(agent, domain, score) of the rows with a score (an error has none and is left out)."""
    return [(str(r["agent_id"]), str(r.get("domain") or ""), float(r["score"]))  # type: ignore[arg-type]
            for r in rows if r.get("score") is not None and not math.isnan(float(r["score"]))]  # type: ignore[arg-type]


def domain_accuracy(rows: Iterable[Row]) -> dict[str, dict[str, float]]:
    """agent -> domain -> accuracy (mean score) over every scored row, e.g. every dev example."""
    sums: dict[str, dict[str, list[float]]] = {}
    for agent, domain, score in _scored(rows):
        sums.setdefault(agent, {}).setdefault(domain, []).append(score)
    return {a: {d: math.fsum(v) / len(v) for d, v in sorted(per.items())} for a, per in sorted(sums.items())}


def domain_revenue(assignment: Mapping[str, str], scores: Mapping[str, Mapping[str, float]],
                   domain_of: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """domain -> agent -> revenue: `negoray.evolution.market.revenue` (the market's own, errors
    credited at the agent's mean) over the clients of each domain, from the market's ``assignment``
    (client -> agent) and ``scores`` (agent -> client -> score); ``domain_of``: client -> domain."""
    domains = sorted({domain_of.get(c, "") for c in assignment})
    return {d: dict(sorted(revenue({c: a for c, a in assignment.items() if domain_of.get(c, "") == d}, scores).items()))
            for d in domains}


@dataclass(frozen=True)
class DomainConcentration:
    domain: str
    top_agent: str
    top_share: float
    """The top agent's share of the domain's revenue."""
    hhi: float


@dataclass(frozen=True)
class Specialisation:
    """One market's specialisation: per domain, who earns its revenue and how concentrated it is."""

    domains: tuple[DomainConcentration, ...]
    agents: int
    distinct_top_agents: int
    """How many different agents top some domain: 1 = one generalist wins everywhere."""
    overall_hhi: float
    """Concentration of the whole revenue; per-domain HHIs well above it mean agents specialise."""

    @property
    def specialisation(self) -> float:
        """Distinct top agents over the most there could be, min(domains, agents): 1 = every domain
        is led by a different agent; NaN without domains."""
        most = min(len(self.domains), self.agents)
        return self.distinct_top_agents / most if most else math.nan


def specialisation(revenue: Mapping[str, Mapping[str, float]], agents: Iterable[str] = ()) -> Specialisation:
    """The concentration of each domain's revenue (`domain_revenue`) over ``agents`` (every agent of
    the market; one missing from a domain, or with NaN revenue there, earned 0). A top-agent tie goes
to the first by id."""
    everyone = sorted(set(agents) | {a for per in revenue.values() for a in per})
    earned = {d: {a: 0.0 if math.isnan(v) else max(0.0, v) for a, v in per.items()} for d, per in revenue.items()}
    rows = []
    for domain, per in earned.items():
        values = [per.get(a, 0.0) for a in everyone]
        total = math.fsum(values)
        top = min(everyone, key=lambda a: (-per.get(a, 0.0), a))
        rows.append(DomainConcentration(domain, top, per.get(top, 0.0) / total if total else math.nan, hhi(values)))
    overall = [math.fsum(per.get(a, 0.0) for per in earned.values()) for a in everyone]
    return Specialisation(tuple(rows), len(everyone), len({r.top_agent for r in rows}),
                          hhi(overall) if everyone else math.nan)
