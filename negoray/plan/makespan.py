"""A discrete-event model of negoray's schedule on a C-slot server: an experiment's shape as a
`Trace` of calls, negoray's scheduling of it (`Model`), its lower bound and the sequential loop's
makespan. No Ray, no real calls: `benchmarks/makespan.py` measures the workload, runs this model
on the full shape and checks it against a real scaled-down run.

Example::

    trace = synth_trace(Shape(runs=4, generations=3), workload, seed=1)
    result = evaluate(trace, Sched(slots=64), latency_ms=300, per_token_ms=15, sigma=0.3, seed=1)
    result["ratio_to_lower_bound"]  # negoray's makespan / max(total service / C, critical path)
"""

from __future__ import annotations

import collections
import heapq
import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from negoray.config import GROUPS
from negoray.evolution.market import death_count
from negoray.runtime.sizing import REMOTE_TASK_CPUS, chunk_bounds, concurrent_tasks

GROUP_ORDER = tuple(GROUPS)
"""Groups cycled like `ExperimentConfig.runs`."""
TOURNAMENT = frozenset(g for g, (selection, _) in GROUPS.items() if selection == "tournament")


# -- the workload: a trace of completion tokens ----------------------------------------------------


@dataclass
class Gen:
    """One generation of one run: negotiations are lists of per-call values (tokens, then seconds)."""

    eval: list[list[float]] = field(default_factory=list)
    mut: list[list[float]] = field(default_factory=list)
    gate: list[list[float]] = field(default_factory=list)
    test: list[list[float]] = field(default_factory=list)

    def stages(self) -> list[tuple[str, list[list[float]]]]:
        return [(n, getattr(self, n)) for n in ("eval", "mut", "gate", "test") if getattr(self, n)]


@dataclass
class Trace:
    runs: list[list[Gen]]
    baseline: list[list[float]] = field(default_factory=list)

    def map(self, fn) -> Trace:
        conv = lambda negs: [[fn(x) for x in neg] for neg in negs]  # noqa: E731
        return Trace([[Gen(conv(g.eval), conv(g.mut), conv(g.gate), conv(g.test)) for g in run] for run in self.runs],
                     conv(self.baseline))

    def calls(self) -> int:
        return sum(len(n) for negs in self._lists() for n in negs)

    def negotiations(self) -> int:
        return sum(len(g.eval) + len(g.gate) + len(g.test) for run in self.runs for g in run) + len(self.baseline)

    def _lists(self):
        for run in self.runs:
            for g in run:
                yield from (g.eval, g.mut, g.gate, g.test)
        yield self.baseline


@dataclass(frozen=True)
class Shape:
    runs: int = 12
    generations: int = 10
    population: int = 8
    dev: int = 60
    test: int = 80
    elites: int = 2
    gating_scenarios: int = 10
    death_fraction: float = 0.3
    baseline: bool = True
    seeds: int = 8

    def groups(self) -> list[str]:
        per = math.ceil(self.runs / len(GROUP_ORDER))
        return [g for g in GROUP_ORDER for _ in range(per)][: self.runs]

    def mutations(self, group: str) -> int:
        if group in TOURNAMENT:
            return self.population - self.elites
        return death_count(self.population, self.elites, self.death_fraction)


def mutation_chains(calls) -> list[list[int]]:
    """A generation's mutation calls as chains of attempts: per parent, in order, each chain ending
    with an accepted reply (or the last attempt)."""
    open_chains: dict[str, list[int]] = {}
    chains: list[list[int]] = []
    for parent, reply, ok in calls:
        chain = open_chains.setdefault(parent, [])
        chain.append(reply.completion_tokens if reply is not None else 0)
        if ok:
            chains.append(open_chains.pop(parent))
    chains += [c for c in open_chains.values() if c]
    return chains


def synth_trace(shape: Shape, workload: dict[str, Any], seed: int) -> Trace:
    """The experiment's shape filled with negotiations and mutation chains resampled from the workload."""
    rng = np.random.default_rng(seed)
    negs, chains = workload["negotiations"], workload["mutation_chains"]

    def draw(n: int) -> list[list[float]]:
        return [list(negs[i]) for i in rng.integers(len(negs), size=n)]

    runs = []
    for group in shape.groups():
        gens = []
        for g in range(shape.generations):
            gen = Gen(eval=draw(shape.population * shape.dev))
            if g == shape.generations - 1:
                gen.test = draw(shape.test)
            else:
                gen.mut = [list(chains[i]) for i in rng.integers(len(chains), size=shape.mutations(group))]
                if group in TOURNAMENT:
                    gen.gate = draw(2 * shape.gating_scenarios * len(gen.mut))
            gens.append(gen)
        runs.append(gens)
    return Trace(runs, draw(shape.seeds * shape.test) if shape.baseline else [])


def service_times(trace: Trace, latency_ms: float, per_token_ms: float, sigma: float, seed: int) -> Trace:
    """Per-call service seconds, drawn like `negoray.sim.faults.FaultModel.service_time_s`."""
    rng = np.random.default_rng(seed)
    jitter = iter(rng.lognormal(-sigma * sigma / 2, sigma, size=trace.calls()) if sigma else itertools.repeat(1.0))
    return trace.map(lambda tokens: (latency_ms * float(next(jitter)) + per_token_ms * tokens) / 1000)


# -- the discrete-event model -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sched:
    slots: int = 64
    endpoint_slots: int = 128
    cpus: int = 16
    in_flight: int = 32
    task_cpus: float = REMOTE_TASK_CPUS
    task_overhead_s: float = 0.010
    call_overhead_s: float = 0.002


class _Task:
    """A Ray task: holds ``units`` slots, plays all its negotiations at once and has at most ``units``
    calls out, the others queued in ``waiting`` (as `negoray.runtime.task_slots` does)."""

    __slots__ = ("units", "negs", "left", "stage", "out", "waiting")

    def __init__(self, units: int, negs: list[list[float]], stage: _Stage) -> None:
        self.units, self.negs, self.left, self.stage = units, negs, len(negs), stage
        self.out, self.waiting = 0, collections.deque()


class _Stage:
    __slots__ = ("run", "left")

    def __init__(self, run: _Run, tasks: int) -> None:
        self.run, self.left = run, tasks


class _Run:
    __slots__ = ("stages", "done_at")

    def __init__(self, stages: list[tuple[str, list[list[float]]]]) -> None:
        self.stages = collections.deque(stages)
        self.done_at = math.nan


class Model:
    """negoray's schedule of a `Trace` (of service seconds) on the modelled node and server."""

    def __init__(self, p: Sched) -> None:
        self.p = p
        self.now = 0.0
        self._heap: list = []
        self._seq = itertools.count()
        self.free_slots = p.slots
        self.queue: collections.deque = collections.deque()
        self.busy: list[tuple[float, int]] = [(0.0, 0)]
        self.free_units, self.free_cpus = p.endpoint_slots, p.cpus
        self.pending: list[_Task] = []
        self.max_pending = 0

    def at(self, t: float, fn, arg) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), fn, arg))

    # a negotiation's call: one of its task's units, then the server
    def _call(self, item) -> None:
        task = item[1][0]
        if task.out < task.units:
            task.out += 1
            self._send(item)
        else:
            task.waiting.append(item)

    def _send(self, item) -> None:
        svc, neg = item
        if self.free_slots:
            self.free_slots -= 1
            self.busy.append((self.now, self.p.slots - self.free_slots))
            self.at(self.now + svc, self._served, neg)
        else:
            self.queue.append(item)

    def _served(self, neg) -> None:
        if self.queue:
            svc, nxt = self.queue.popleft()
            self.at(self.now + svc, self._served, nxt)
        else:
            self.free_slots += 1
            self.busy.append((self.now, self.p.slots - self.free_slots))
        task = neg[0]
        if task.waiting:
            self._send(task.waiting.popleft())
        else:
            task.out -= 1
        self._next_call(neg)

    # negotiations: [task, calls, index]
    def _next_call(self, neg) -> None:
        task, calls, i = neg
        if i < len(calls):
            neg[2] = i + 1
            self.at(self.now + self.p.call_overhead_s, self._call, (calls[i], neg))
        else:
            task.left -= 1
            if task.left == 0:
                self._task_done(task)

    # Ray tasks
    def _submit_stage(self, run: _Run) -> None:
        if not run.stages:
            run.done_at = self.now
            return
        name, negs = run.stages.popleft()
        k = 1 if name == "mut" else self.p.in_flight
        chunks = [[n] for n in negs] if name == "mut" else [negs[a:b] for a, b in chunk_bounds(len(negs), k, self.room)]
        stage = _Stage(run, len(chunks))
        self.pending += [_Task(min(k, len(c)), c, stage) for c in chunks]
        self.max_pending = max(self.max_pending, len(self.pending))
        self._schedule()

    def _schedule(self) -> None:
        if not self.pending or self.free_cpus < self.p.task_cpus - 1e-9:
            return
        keep = []
        for task in self.pending:
            if self.p.task_cpus <= self.free_cpus + 1e-9 and task.units <= self.free_units:
                self.free_cpus -= self.p.task_cpus
                self.free_units -= task.units
                self.at(self.now + self.p.task_overhead_s, self._task_start, task)
            else:
                keep.append(task)
        self.pending = keep

    def _task_start(self, task: _Task) -> None:
        for calls in task.negs:
            self._next_call([task, calls, 0])

    def _task_done(self, task: _Task) -> None:
        self.free_cpus += self.p.task_cpus
        self.free_units += task.units
        task.stage.left -= 1
        if task.stage.left == 0:
            self._submit_stage(task.stage.run)
        self._schedule()

    def run(self, trace: Trace) -> dict[str, Any]:
        runs = []
        if trace.baseline:  # Experiment submits the baseline before the population actors start
            runs.append(_Run([("eval", trace.baseline)]))
        runs += [_Run([s for g in run for s in g.stages()]) for run in trace.runs]
        # the node's room for tasks, shared by the runs as `RayBackend` shares it (`sharers`)
        p = self.p
        self.room = concurrent_tasks([(p.endpoint_slots, p.cpus)], p.in_flight, p.task_cpus, len(trace.runs))
        for r in runs:
            self._submit_stage(r)
        heap = self._heap
        while heap:
            t, _, fn, arg = heapq.heappop(heap)
            self.now = t
            fn(arg)
        return {"makespan_s": max(r.done_at for r in runs), "busy": self.busy, "max_pending_tasks": self.max_pending}


def lower_bound(trace: Trace, slots: int) -> dict[str, float]:
    total = sum(sum(n) for negs in trace._lists() for n in negs)

    def longest(negs: list[list[float]]) -> float:
        return max((sum(n) for n in negs), default=0.0)

    paths = [sum(longest(negs) for g in run for _, negs in g.stages()) for run in trace.runs]
    if trace.baseline:
        paths.append(longest(trace.baseline))
    critical = max(paths, default=0.0)
    return {"total_service_s": total, "work_bound_s": total / slots, "critical_path_s": critical,
            "lower_bound_s": max(total / slots, critical)}


def sequential(trace: Trace, call_overhead_s: float) -> float:
    """The original loop: one call at a time, every run after the other."""
    return sum(sum(n) + call_overhead_s * len(n) for negs in trace._lists() for n in negs)


def utilisation(busy: list[tuple[float, int]], slots: int, end: float, bins: int = 200) -> tuple[list[float], list[float]]:
    """Mean busy slots / C in ``bins`` equal time bins over [0, end] (from the busy step function)."""
    t = np.array([b[0] for b in busy] + [end])
    v = np.array([b[1] for b in busy], dtype=float)
    area = np.concatenate([[0.0], np.cumsum(v * np.diff(t))])
    edges = np.linspace(0, end, bins + 1)
    per_bin = np.diff(np.interp(edges, t, area))
    width = end / bins
    return list(edges[:-1] + width / 2), list(per_bin / (width * slots))


def evaluate(trace_tokens: Trace, sched: Sched, latency_ms: float, per_token_ms: float, sigma: float,
             seed: int) -> dict[str, Any]:
    trace = service_times(trace_tokens, latency_ms, per_token_ms, sigma, seed)
    t0 = time.process_time()
    res = Model(sched).run(trace)
    lb = lower_bound(trace, sched.slots)
    seq = sequential(trace, sched.call_overhead_s)
    return {
        **lb, "makespan_s": res["makespan_s"], "ratio_to_lower_bound": res["makespan_s"] / lb["lower_bound_s"],
        "sequential_s": seq, "speedup_vs_sequential": seq / res["makespan_s"],
        "mean_utilisation": lb["total_service_s"] / (sched.slots * res["makespan_s"]),
        "calls": trace.calls(), "negotiations": trace.negotiations(), "model_cpu_s": time.process_time() - t0,
        "max_pending_tasks": res["max_pending_tasks"], "_busy": res["busy"],
    }


# -- validation: a real scaled-down run through Ray ------------------------------------------------
