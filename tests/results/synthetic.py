"""Synthetic V7 results: real NegotiationRecords (sim model) turned into rows by the builders."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import numpy as np

from negoray.chat import ChatFailure
from negoray.config import GROUPS
from negoray.evolution.genome import Genome, Origin, genome_id
from negoray.game.dialogue import NegotiationConfig, NegotiationRecord, run_negotiation
from negoray.game.generators import v7_splits
from negoray.results import rows
from negoray.results.rows import agent_row, call_rows, generation_row, mutation_call_row
from negoray.results.schema import SCHEMAS, task_outcomes, task_table_columns, with_task_columns
from negoray.results.writer import ResultsWriter
from negoray.sim.model import SimModel
from negoray.tasks.negotiation import NegotiationTask, play_all
from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES

PRICES = (0.5, 1.5)
TASK = NegotiationTask()
COLUMNS = task_table_columns(TASK)
"""Table -> V7's own columns."""
WRITE = {"task_columns": COLUMNS, "outcomes": task_outcomes(TASK)}
"""The keyword arguments that write V7's rows (`ResultsWriter.write_generation`)."""


def schema_of(table: str):
    """The table's schema with V7's columns, as a V7 results directory has it."""
    return with_task_columns(SCHEMAS[table], COLUMNS.get(table, ()))


def negotiation_row(record: NegotiationRecord, **kw):
    """`negoray.results.rows.negotiation_row` with V7's own columns, as the recorder builds it."""
    return rows.negotiation_row(record, task_fields=TASK.record_row(record), **kw)
STYLES = list(SEED_STRATEGIES)
POP = 4


class CachedSim(SimModel):
    """The sim, but every reply claims to come from the cache."""

    async def __call__(self, messages, params):
        return dataclasses.replace(self.reply(messages, params), cache_hit=True)


class FailsAfterOne(SimModel):
    """Answers one call, then fails like an endpoint that went away."""

    def __init__(self):
        super().__init__()
        self.n = 0

    async def __call__(self, messages, params):
        self.n += 1
        if self.n > 1:
            raise ChatFailure("connection refused")
        return self.reply(messages, params)


def make_records() -> dict[str, list[NegotiationRecord]]:
    """A small pool of real records per split, plus an error record and a cached one."""
    splits = v7_splits()
    config = NegotiationConfig(seed=3)

    async def go():
        pool = {}
        for split, n in (("dev", 4), ("val", 3), ("test", 4)):
            recs = []
            for style in STYLES[:3]:
                recs += await play_all(SEED_STRATEGIES[style], OPPONENT_PROMPT, splits[split][:n], SimModel(), config)
            pool[split] = recs
        error = await run_negotiation(SEED_STRATEGIES["aggressive"], OPPONENT_PROMPT, splits["dev"][0], FailsAfterOne(),
                                      config=config)
        cached = await run_negotiation(SEED_STRATEGIES["cooperative"], OPPONENT_PROMPT, splits["dev"][1], CachedSim(),
                                       config=config, replicate=1)
        short = await run_negotiation(SEED_STRATEGIES["aggressive"], OPPONENT_PROMPT, splits["dev"][2], SimModel(),
                                      config=NegotiationConfig(seed=3, max_rounds=1))
        pool["error"], pool["cached"], pool["short"] = [error], [cached], [short]
        return pool

    return asyncio.run(go())


def _genomes(run_id: str, generation: int, rng: np.random.Generator, kind: str) -> list[Genome]:
    out = []
    for slot in range(POP):
        gid = genome_id(run_id, generation, slot)
        lineage = STYLES[slot if generation == 0 else int(rng.integers(0, POP))]
        if generation == 0:
            out.append(Genome(gid, run_id, 0, SEED_STRATEGIES[lineage], Origin.SEED, lineage))
        else:
            origin = [Origin.ELITE, Origin.MUTATION, Origin.CLONE][slot % 3]
            out.append(Genome(gid, run_id, generation, f"prompt {gid}", origin, lineage,
                              parent_id=genome_id(run_id, generation - 1, slot),
                              mutation_kind=None if origin is Origin.ELITE else kind,
                              note="failed gating" if origin is Origin.CLONE else ""))
    return out


def generation_tables(run_id: str, group: str, generation: int, pool, rng: np.random.Generator):
    """Rows of every table for one (run, generation)."""
    selection, kind = GROUPS[group]
    seed = 42 * 1000 + int(run_id[1:])
    genomes = _genomes(run_id, generation, rng, kind)
    negotiations, calls = [], []
    records = [*pool["dev"], *pool["error"], *pool["cached"], *pool["short"]]
    for g in genomes:
        for i in rng.choice(len(records), size=5, replace=False):
            r = records[int(i)]
            negotiations.append(negotiation_row(r, run_id=run_id, group=group, seed=seed, generation=generation,
                                                agent_id=g.id, split="dev", phase="eval",
                                                price_in=PRICES[0], price_out=PRICES[1]))
            calls += call_rows(r, run_id=run_id, generation=generation, agent_id=g.id, phase="eval",
                               price_in=PRICES[0], price_out=PRICES[1])
    if selection == "tournament" and generation > 0:
        for r in pool["val"][:4]:
            negotiations.append(negotiation_row(r, run_id=run_id, group=group, seed=seed, generation=generation,
                                                agent_id=genomes[1].id, split="val", phase="gating",
                                                price_in=PRICES[0], price_out=PRICES[1]))
            calls += call_rows(r, run_id=run_id, generation=generation, agent_id=genomes[1].id, phase="gating")
    if generation > 0:
        from negoray.chat import ChatReply

        calls.append(mutation_call_row(run_id, generation, genomes[1].id,
                                       ChatReply("new prompt", 300, 200, 0.4, provider="sim", model="negoray-sim-1"), True,
                                       price_in=PRICES[0], price_out=PRICES[1]))
        calls.append(mutation_call_row(run_id, generation, genomes[2].id, None, False, attempt=1))
    bonus = {"A": 0.05, "B": 0.0, "C": 0.08, "D": -0.02}[group]
    fitness = np.clip(rng.normal(0.45 + bonus + 0.03 * generation, 0.05, POP), 0, 1)
    agents = []
    for g, f in zip(genomes, fitness):
        scores = {"dev_fitness": float(f), "dev_deal_rate": 0.7, "dev_errors": 0}
        if g.origin is Origin.MUTATION and selection == "tournament":
            scores.update(gate_child_mean=0.5, gate_parent_mean=0.48, gate_accepted=True, gate_child_id=g.id)
        if selection == "market":
            scores.update(market_revenue=float(f) * 10, market_clients=int(rng.integers(2, 8)))
        agents.append(agent_row(g, group=group, **scores))
    lineages = len({g.lineage for g in genomes})
    row = generation_row({
        "run_id": run_id, "group": group, "generation": generation,
        "mean_fitness": float(fitness.mean()), "best_fitness": float(fitness.max()),
        "worst_fitness": float(fitness.min()), "median_fitness": float(np.median(fitness)),
        "deal_rate": 0.7, "pareto_rate": 0.4, "diversity_lineages": lineages,
        "prompt_similarity": float(rng.uniform(0.3, 0.9)),
        "gating_attempts": 2 if selection == "tournament" and generation else None,
        "gating_accepted": int(rng.integers(0, 3)) if selection == "tournament" and generation else None,
        "market_gini": float(rng.uniform(0.1, 0.5)) if selection == "market" else None,
        "market_hhi": float(rng.uniform(0.25, 0.5)) if selection == "market" else None,
        "errors": sum(n["outcome"] == "error" for n in negotiations), "negotiations": len(negotiations),
        "calls": len(calls), "prompt_tokens": sum(c["prompt_tokens"] for c in calls),
        "completion_tokens": sum(c["completion_tokens"] for c in calls),
        "cost_usd": sum(n["cost_usd"] or 0 for n in negotiations), "wall_s": 12.5,
    })
    return negotiations, calls, agents, row, genomes


def build(root: Path, pool, *, groups=tuple(GROUPS), runs=3, generations=3, test=True, baseline=True) -> ResultsWriter:
    """Write a synthetic experiment under ``root``."""
    writer = ResultsWriter(root)
    for group in groups:
        for i in range(1, runs + 1):
            run_id = f"{group}{i}"
            rng = np.random.default_rng([ord(group), i])
            for gen in range(generations):
                negotiations, calls, agents, row, genomes = generation_tables(run_id, group, gen, pool, rng)
                writer.write_generation(run_id, gen, negotiations, calls, agents, row, **WRITE)
            if test:
                best = max(agents, key=lambda a: a["dev_fitness"])["agent_id"]
                picks = rng.choice(len(pool["test"]), size=8, replace=False)
                tested = [negotiation_row(pool["test"][int(k)], run_id=run_id, group=group, seed=i, generation=gen,
                                          agent_id=best, split="test", phase="test", price_in=PRICES[0],
                                          price_out=PRICES[1]) for k in picks]
                writer.write_extra("negotiations", f"test_{run_id}", tested, COLUMNS["negotiations"], WRITE["outcomes"])
    if baseline:
        seeds = [negotiation_row(r, run_id="baseline", group=None, seed=None, generation=None, agent_id=style,
                                 split="test", phase="baseline", price_in=PRICES[0], price_out=PRICES[1])
                 for k, style in enumerate(STYLES) for r in pool["test"][k % 3::3]]
        writer.write_extra("negotiations", "baseline", seeds, COLUMNS["negotiations"], WRITE["outcomes"])
    return writer
