"""One run's generation loop: evaluate, select, mutate, gate -- pure logic over a `Backend`.

`Evolution.step(state)` plays one generation and returns everything to record plus the next state;
the caller writes the results and checkpoints the state *after* mutation and gating, so a resume
never skips evolution. Every random choice comes from `rng_for(seed, run, generation, purpose)` and
every model call has a stable cache key, so a resumed run replays identically.
"""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from negoray.chat import ChatFailure, ChatParams, ChatReply, derive_seed
from negoray.config import ExperimentConfig
from negoray.evolution import diversity, gating, market, selection
from negoray.evolution.backend import Backend, Job, Phase
from negoray.evolution.genome import Genome, Origin, genome_id, rejected_child_id, rng_for
from negoray.evolution.retry import RetryPolicy, Sleep, play_until_done
from negoray.evolution.settings import GROUPS
from negoray.tasks.base import Task, TaskRecord, TaskScenario, errors, mean_score, scores_by_scenario

@dataclass
class RunState:
    """What a checkpoint holds: the population about to be evaluated in ``generation``."""

    run_id: str
    group: str
    index: int
    generation: int
    population: list[Genome]
    births: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Gating results of the genomes born into this generation, by genome id."""
    memory: dict[str, Any] | None = None
    """The market's client memory (market groups only)."""
    done: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**{k: getattr(self, k) for k in ("run_id", "group", "index", "generation", "births", "memory", "done")},
                "population": [g.to_dict() for g in self.population]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunState:
        return cls(**{**d, "population": [Genome.from_dict(g) for g in d["population"]]})

    def reopened(self) -> RunState:
        """A finished run made resumable for more generations: the state its last generation was
        played from, so that generation is played again (from the cache) and now evolves instead of
        running the test, which moves to the new last generation."""
        if not self.done:
            raise ValueError(f"run {self.run_id} is not finished")
        return replace(self, generation=self.generation - 1, done=False)


@dataclass
class GenerationOutput:
    """Everything one generation produced, for the results tables."""

    state: RunState
    """The state that was evaluated."""
    next_state: RunState
    eval_records: dict[str, list[TaskRecord]]
    gating: list[tuple[Job, TaskRecord]]
    test: list[tuple[Job, TaskRecord]]
    mutation_calls: list[tuple[str, ChatReply | None, bool]]
    agent_stats: dict[str, dict[str, Any]]
    summary: dict[str, Any]
    market_assignment: dict[str, str] = field(default_factory=dict)
    """Which agent each dev client (scenario id) chose this generation (market groups; else empty)."""


class Evolution:
    """The V7 loop for one run (group x seed index)."""

    def __init__(
        self,
        config: ExperimentConfig,
        run_id: str,
        group: str,
        index: int,
        splits: Mapping[str, Sequence[TaskScenario]],
        backend: Backend,
        *,
        task: Task,
        sleep: Sleep = asyncio.sleep,
        on_status: Callable[[str], None] = lambda message: None,
        max_error_rate: float = 0.05,
    ) -> None:
        self.config, self.run_id, self.group, self.index = config, run_id, group, index
        self.selection, self.mutation_kind = GROUPS[group]
        self.splits, self.backend, self.task = splits, backend, task
        self._sleep, self._status = sleep, on_status
        self.retry = RetryPolicy(config.infra_retries, config.runtime.pause_s, max_error_rate=max_error_rate)

    def initial_state(self) -> RunState:
        """Generation 0: the seed strategies. A smaller population takes a seeded random subset of
        the styles; a larger one cycles through them."""
        seeds = self.task.seed_strategies()
        names, n = list(seeds), self.config.population
        if n < len(names):
            rng = rng_for(self.config.seed, self.run_id, 0, "seeds")
            chosen = [names[i] for i in sorted(rng.choice(len(names), n, replace=False))]
        else:
            chosen = [names[i % len(names)] for i in range(n)]
        population = [
            Genome(genome_id(self.run_id, 0, slot), self.run_id, 0, seeds[name], Origin.SEED, lineage=name)
            for slot, name in enumerate(chosen)
        ]
        return RunState(self.run_id, self.group, self.index, 0, population)

    # -- playing -------------------------------------------------------------------------------

    async def _play(self, jobs: Sequence[Job]) -> list[TaskRecord]:
        return await play_until_done(self.backend, jobs, self.retry, label=f"run {self.run_id}",
                                     sleep=self._sleep, on_status=self._status)

    async def _evaluate(self, state: RunState) -> dict[str, list[TaskRecord]]:
        dev = self.splits["dev"]
        jobs = [Job(self.run_id, state.generation, Phase.EVAL, g.id, g.prompt, s, replicate=state.generation)
                for g in state.population for s in dev]
        records = await self._play(jobs)
        return {g.id: records[i * len(dev):(i + 1) * len(dev)] for i, g in enumerate(state.population)}

    # -- mutation ------------------------------------------------------------------------------

    async def _mutate(self, parent: Genome, records: Sequence[TaskRecord], slot: int,
                      calls: list[tuple[str, ChatReply | None, bool]]) -> tuple[str | None, str]:
        """A usable child prompt, or (None, why not) after `mutation_attempts` tries."""
        dev = {s.id: s for s in self.splits["dev"]}
        messages = self.task.mutation_messages(self.mutation_kind, parent.prompt, records, dev)
        problem = "no attempt made"
        for attempt in range(self.config.mutation_attempts):
            # each attempt is a fresh sample: a server that honours seed would return a rejected text again
            params = ChatParams(
                temperature=self.config.mutation_temperature, max_tokens=1024, replicate=attempt,
                seed=derive_seed(self.config.seed, self.run_id, parent.generation, Phase.MUTATION, slot, attempt),
            )
            try:
                reply = await self.backend.chat(messages, params)
            except ChatFailure as e:
                calls.append((parent.id, None, False))
                problem = f"mutation call failed: {e}"
                continue
            child = self.task.extract_prompt(reply.text)
            problem = self.task.check_prompt(child, parent.prompt) or ""
            calls.append((parent.id, reply, not problem))
            if not problem:
                return child, ""
        return None, problem

    def _child(self, gen: int, slot: int, parent: Genome, prompt: str | None, note: str, origin: Origin) -> Genome:
        return Genome(genome_id(self.run_id, gen, slot), self.run_id, gen, prompt if prompt is not None else parent.prompt,
                      origin, parent.lineage, parent.id, self.mutation_kind if origin is not Origin.ELITE else None, note)

    async def _gate_children(self, gen: int, candidates: list[tuple[int, Genome, str]],
                             ) -> tuple[dict[int, tuple[bool, gating.GateDecision | None]], list[tuple[Job, TaskRecord]]]:
        """Play each (slot, parent, child prompt) on a val subset with its parent; decide entry. The
        child plays under the id it gets if accepted; a rejected child's gating rows are relabelled
        with its own id (`rejected_child_id`), as its parent's clone takes the slot's id."""
        val = self.splits["val"]
        n = self.config.gating_scenarios
        subsets: dict[int, tuple[list[Job], list[Job]]] = {}
        for slot, parent, child in candidates:
            rng = rng_for(self.config.seed, self.run_id, gen, Phase.GATING, slot)
            subset = [val[i] for i in sorted(rng.choice(len(val), size=n, replace=False))] if n else []
            child_id = genome_id(self.run_id, gen + 1, slot)
            subsets[slot] = ([Job(self.run_id, gen, Phase.GATING, child_id, child, s, replicate=gen) for s in subset],
                             [Job(self.run_id, gen, Phase.GATING, parent.id, parent.prompt, s, replicate=gen) for s in subset])
        # a parent gating two children plays a shared scenario once: one record per key
        unique = {j.key: j for child_jobs, parent_jobs in subsets.values() for j in child_jobs + parent_jobs}
        jobs = list(unique.values())
        by_key = {j.key: r for j, r in zip(jobs, await self._play(jobs))}
        decisions: dict[int, tuple[bool, gating.GateDecision | None]] = {}
        relabel: dict[str, str] = {}
        for slot, (child_jobs, parent_jobs) in subsets.items():
            if not child_jobs:
                decisions[slot] = (True, None)
                continue
            pairs = [(by_key[c.key], by_key[p.key]) for c, p in zip(child_jobs, parent_jobs)]
            both = [(c.score, p.score) for c, p in pairs if c.score is not None and p.score is not None]
            decision = gating.gate([c for c, _ in both], [p for _, p in both], self.config.gating_tolerance)
            decisions[slot] = (decision.accepted, decision)
            if not decision.accepted:
                relabel[genome_id(self.run_id, gen + 1, slot)] = rejected_child_id(self.run_id, gen + 1, slot)
        return decisions, [(replace(j, agent_id=relabel.get(j.agent_id, j.agent_id)), by_key[j.key])
                           for j in jobs]

    # -- one generation ------------------------------------------------------------------------

    async def step(self, state: RunState) -> GenerationOutput:
        gen = state.generation
        evals = await self._evaluate(state)
        fitness = {gid: mean_score(recs) for gid, recs in evals.items()}
        by_id = {g.id: g for g in state.population}
        stats: dict[str, dict[str, Any]] = {
            gid: {"dev_fitness": fitness[gid], **{f"dev_{k}": v for k, v in self.task.summary(recs).items()},
                  "dev_errors": errors(recs), **state.births.get(gid, {})}
            for gid, recs in evals.items()
        }
        calls: list[tuple[str, ChatReply | None, bool]] = []
        gated: list[tuple[Job, TaskRecord]] = []
        test: list[tuple[Job, TaskRecord]] = []
        market_row: dict[str, Any] = {}
        assignment: dict[str, str] = {}
        next_state: RunState
        last = gen == self.config.generations - 1
        memory = market.ClientMemory.from_dict(state.memory) if state.memory else None
        if self.selection == "market":
            memory, market_row, revenue, clients, assignment = self._market_accounting(state, evals, memory)
            for gid in stats:
                stats[gid].update(market_revenue=revenue.get(gid, 0.0), market_clients=clients.get(gid, 0))
        if last:
            best = selection.rank(fitness)[0]
            test_jobs = [Job(self.run_id, gen, Phase.TEST, best, by_id[best].prompt, s) for s in self.splits["test"]]
            test = list(zip(test_jobs, await self._play(test_jobs)))
            stats[best]["test_score"] = mean_score([r for _, r in test])
            # a finished run's checkpoint is its last generation's input, marked done: `reopened` undoes it
            next_state = RunState(self.run_id, self.group, self.index, gen + 1, state.population, state.births,
                                  state.memory, True)
            births: dict[str, dict[str, Any]] = {}
        else:
            population, births, gated = await self._next_population(state, evals, fitness, memory, calls, market_row)
            next_state = RunState(self.run_id, self.group, self.index, gen + 1, population, births,
                                  memory.to_dict() if memory else None)
        summary = self._summary(state, evals, fitness, gated, births if not last else {}, market_row)
        return GenerationOutput(state, next_state, evals, gated, test, calls, stats, summary, assignment)

    def _market_accounting(self, state: RunState, evals: Mapping[str, Sequence[TaskRecord]],
                           memory: market.ClientMemory | None):
        cfg = self.config.market
        scores = {gid: scores_by_scenario(recs) for gid, recs in evals.items()}
        memory = memory or market.ClientMemory(cfg.memory)
        memory.carry_over({g.parent_id: g.id for g in state.population if g.origin is Origin.ELITE and g.parent_id})
        clients = [s.id for s in self.splits["dev"]]
        rng = rng_for(self.config.seed, self.run_id, state.generation, "market")
        assignment = market.assign_clients(
            [g.id for g in state.population], clients, memory, state.generation, rng,
            cfg.temperature, cfg.exploration_bonus, cfg.min_clients, cfg.softmax,
        )
        revenue = market.revenue(assignment, scores)
        memory.remember(state.generation, scores)
        counts: dict[str, int] = {}
        for agent in assignment.values():
            counts[agent] = counts.get(agent, 0) + 1
        values = [revenue.get(g.id, 0.0) for g in state.population]
        row = {"market_gini": market.gini(values), "market_hhi": market.hhi(values), "_revenue": revenue}
        return memory, row, revenue, counts, assignment

    async def _next_population(self, state, evals, fitness, memory, calls, market_row):
        gen, cfg = state.generation, self.config
        by_id = {g.id: g for g in state.population}
        elite_ids = selection.elites(fitness, cfg.elites)
        rng = rng_for(cfg.seed, self.run_id, gen, "selection")
        if self.selection == "market":
            outcome = market.market_step(market_row.pop("_revenue"), elite_ids, cfg.market.death_fraction, rng)
            keep = [gid for gid in selection.rank(fitness) if gid in set(outcome.survivors)]
            parents = list(outcome.parents)
        else:
            keep = elite_ids
            parents = selection.fill_by_tournament(fitness, cfg.population - len(keep), cfg.tournament_k, rng)
        population = [self._child(gen + 1, slot, by_id[gid], None, "", Origin.ELITE) for slot, gid in enumerate(keep)]
        slots = list(range(len(keep), len(keep) + len(parents)))
        mutated = await asyncio.gather(*(self._mutate(by_id[p], evals[p], slot, calls) for slot, p in zip(slots, parents)))
        births: dict[str, dict[str, Any]] = {}
        to_gate = [(slot, by_id[p], child) for slot, p, (child, _) in zip(slots, parents, mutated) if child is not None]
        decisions: dict[int, tuple[bool, gating.GateDecision | None]] = {}
        gated: list[tuple[Job, TaskRecord]] = []
        if self.selection == "tournament" and to_gate:
            decisions, gated = await self._gate_children(gen, to_gate)
        for slot, p, (child, problem) in zip(slots, parents, mutated):
            parent = by_id[p]
            if child is None:
                genome = self._child(gen + 1, slot, parent, None, f"clone: {problem}", Origin.CLONE)
            else:
                accepted, decision = decisions.get(slot, (True, None))
                rejected = rejected_child_id(self.run_id, gen + 1, slot)
                if accepted:
                    genome = self._child(gen + 1, slot, parent, child, "", Origin.MUTATION)
                else:
                    genome = self._child(gen + 1, slot, parent, None, f"clone: child {rejected} rejected by gating",
                                         Origin.CLONE)
                if decision is not None:
                    child_id = genome.id if accepted else rejected
                    births[genome.id] = {"gate_child_mean": decision.child_mean, "gate_parent_mean": decision.parent_mean,
                                         "gate_accepted": accepted, "gate_child_id": child_id}
            population.append(genome)
        return population, births, gated

    def _summary(self, state, evals, fitness, gated, births, market_row) -> dict[str, Any]:
        values = [f for f in fitness.values() if not math.isnan(f)]
        records = [r for recs in evals.values() for r in recs]
        all_records = records + [r for _, r in gated]
        return {
            "run_id": self.run_id, "group": self.group, "generation": state.generation,
            "mean_fitness": statistics.fmean(values) if values else math.nan,
            "best_fitness": max(values, default=math.nan), "worst_fitness": min(values, default=math.nan),
            "median_fitness": statistics.median(values) if values else math.nan,
            **self.task.summary(records),
            "diversity_lineages": diversity.distinct_lineages(state.population),
            "prompt_similarity": diversity.prompt_similarity([g.prompt for g in state.population]),
            "gating_attempts": len(births), "gating_accepted": sum(b["gate_accepted"] for b in births.values()),
            "market_gini": market_row.get("market_gini"), "market_hhi": market_row.get("market_hhi"),
            "errors": errors(all_records),
            "negotiations": len(all_records),
            "calls": sum(len(r.calls) for r in all_records),
            "prompt_tokens": sum(c.prompt_tokens for r in all_records for c in r.calls),
            "completion_tokens": sum(c.completion_tokens for r in all_records for c in r.calls),
        }
