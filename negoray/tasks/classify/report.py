"""The classify task's own report sections: per-domain accuracy per agent, which agents the clients of
each domain chose, and the specialisation measure (`negoray.tasks.classify.specialisation`).

Read from the results tables: the ``negotiations`` rows with the task's ``domain`` column and the
generic ``market_chosen`` (which agent each dev client chose, market groups only). Imported by
`ClassifyTask.report_sections` on use (it reads the report's helpers).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from negoray.fmt import decimal
from negoray.results.report.common import markdown_table, run_key
from negoray.tasks.classify.specialisation import domain_accuracy, domain_revenue, specialisation

Row = Mapping[str, Any]


def _by_run_generation(rows: Sequence[Row], phase: str) -> dict[str, dict[int, list[Row]]]:
    out: dict[str, dict[int, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["phase"] == phase:
            out[r["run_id"]][r["generation"]].append(r)
    return {run: dict(sorted(gens.items())) for run, gens in sorted(out.items(), key=lambda kv: run_key(kv[0]))}


def _as_scored(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """The rows as `specialisation` reads them (``score``: the normalised score, None for an error)."""
    return [{"agent_id": r["agent_id"], "domain": r["domain"], "score": r["normalized_score"]} for r in rows]


def accuracy_section(rows: Sequence[Row]) -> list[str]:
    """Each run's last generation: every agent's dev accuracy per domain; and the test split's per-domain
    accuracy of each run's tested agent and of each seed strategy."""
    domains = sorted({r["domain"] or "" for r in rows})
    out = ["## Per-domain accuracy", "",
           "Dev accuracy per domain of every agent of each run's last generation (errors left out):", ""]
    table = []
    for run, gens in _by_run_generation(rows, "eval").items():
        last = max(gens)
        for agent, per in domain_accuracy(_as_scored(gens[last])).items():
            table.append([run, last, agent, *(decimal(per.get(d, math.nan)) for d in domains)])
    out += markdown_table(["run", "generation", "agent", *domains], table) if table else ["No dev evaluations yet.", ""]
    tested = [r for r in rows if r["phase"] in ("test", "baseline")]
    if tested:
        out += ["Test accuracy per domain (each run's tested agent; the seed strategies' baseline):", ""]
        per_agent = domain_accuracy(_as_scored(tested))
        names = sorted({(r["phase"], r["run_id"], r["agent_id"]) for r in tested},
                       key=lambda k: (k[0] == "baseline", run_key(k[1]), k[2]))
        out += markdown_table(["phase", "run", "agent", *domains],
                              [[phase, run, agent, *(decimal(per_agent[agent].get(d, math.nan)) for d in domains)]
                               for phase, run, agent in names if agent in per_agent])
    return out


def _market(rows: Sequence[Row]) -> tuple[dict[str, str], dict[str, dict[str, float]], dict[str, str]]:
    """One market generation's assignment (client -> agent), scores (agent -> client -> score) and
    each client's domain, from its eval rows."""
    assignment = {r["scenario_id"]: r["agent_id"] for r in rows if r["market_chosen"]}
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    for r in rows:
        if r["normalized_score"] is not None:
            scores[r["agent_id"]][r["scenario_id"]] = r["normalized_score"]
    return assignment, dict(scores), {r["scenario_id"]: r["domain"] or "" for r in rows}


def _market_runs(rows: Sequence[Row]) -> dict[str, dict[int, list[Row]]]:
    return {run: gens for run, gens in _by_run_generation(rows, "eval").items()
            if any(r["market_chosen"] for g in gens.values() for r in g)}


def choice_section(rows: Sequence[Row]) -> list[str]:
    """Per market run, its last generation: how many clients of each domain chose each agent."""
    out = ["## Which agents each domain's clients chose", ""]
    runs = _market_runs(rows)
    if not runs:
        return out + ["No market generation recorded its clients' choices (`market_chosen`): tournament groups only.", ""]
    out += ["Clients (dev examples) of each domain per agent in each market run's last generation:", ""]
    table = []
    for run, gens in runs.items():
        last = max(gens)
        assignment, _, domain_of = _market(gens[last])
        counts = Counter((domain_of[c], a) for c, a in assignment.items())
        for domain in sorted({d for d, _ in counts}):
            chose = sorted(((n, a) for (d, a), n in counts.items() if d == domain), key=lambda x: (-x[0], x[1]))
            table.append([run, last, domain, ", ".join(f"{a} ({n})" for n, a in chose)])
    return out + markdown_table(["run", "generation", "domain", "agents chosen (clients)"], table)


def specialisation_section(rows: Sequence[Row]) -> list[str]:
    """Per market run and generation: does each domain's revenue concentrate on a different agent?"""
    out = ["## Specialisation", "",
           "Per market generation: the agent with the largest share of each domain's revenue (the market's own "
           "revenue over that domain's clients), the specialisation measure (distinct top agents over "
           "min(domains, agents): 1 = every domain led by a different agent, one agent leading "
           "every domain: 1/min(domains, agents)), the mean per-domain revenue HHI and the HHI of all revenue (per-domain HHIs well above "
           "the overall one mean agents specialise).", ""]
    runs = _market_runs(rows)
    if not runs:
        return out + ["No market generation: nothing to measure.", ""]
    table = []
    for run, gens in runs.items():
        for generation, these in gens.items():
            assignment, scores, domain_of = _market(these)
            if not assignment:
                continue
            s = specialisation(domain_revenue(assignment, scores, domain_of), {r["agent_id"] for r in these})
            leaders = "; ".join(f"{d.domain}: {d.top_agent} ({decimal(d.top_share, 2)})" for d in s.domains)
            mean_hhi = math.fsum(d.hhi for d in s.domains) / len(s.domains) if s.domains else math.nan
            table.append([run, generation, leaders, decimal(s.specialisation, 2), decimal(mean_hhi),
                          decimal(s.overall_hhi)])
    return out + markdown_table(["run", "generation", "top agent per domain (share)", "specialisation", "mean domain HHI",
                         "overall HHI"], table)


def report_sections(tables: Mapping[str, Any]) -> list[str]:
    """The classify task's sections (`negoray.tasks.base.ReportingTask`)."""
    rows = tables["negotiations"].select(["run_id", "generation", "phase", "agent_id", "scenario_id", "domain",
                                          "normalized_score", "market_chosen"]).to_pylist()
    return accuracy_section(rows) + choice_section(rows) + specialisation_section(rows)
