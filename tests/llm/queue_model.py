"""A closed-loop queueing model in virtual time for the adaptive concurrency tests: a client keeps
``limit`` requests in flight against a server of ``slots`` serving places (lognormal service times,
optionally collapsing past a load, optionally failing), and feeds every completion to the controller."""

from __future__ import annotations

import heapq
import math
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from negoray.llm.adaptive_concurrency import AdaptiveConcurrency, Outcome


@dataclass(frozen=True)
class Run:
    throughput: float
    """Completions per second over the last two thirds of the run."""
    median_latency_s: float
    median_limit: float
    limits: list[tuple[float, int]]
    """(time, limit) after each completion."""


def simulate(controller: AdaptiveConcurrency | None, *, slots: int, latency_s: float = 0.3, sigma: float = 0.3,
             seconds: float = 60.0, fixed: int | None = None, collapse_after: int = 0, collapse_factor: float = 1.0,
             failing: Callable[[float], Outcome | None] = lambda t: None, seed: int = 1) -> Run:
    """Run the loop for ``seconds`` of virtual time; ``failing(t)``: the outcome forced on a request
    completing at ``t`` (None: it succeeds), answered at once."""
    rng = random.Random(seed)
    now, seq, busy, in_flight = 0.0, 0, 0, 0
    events: list[tuple[float, int, tuple[float, int, bool]]] = []
    queue: list[tuple[float, int, bool]] = []
    done: list[tuple[float, float]] = []
    limits: list[tuple[float, int]] = []

    def limit() -> int:
        return fixed if fixed is not None else controller.limit

    def serve(request: tuple[float, int, bool]) -> None:
        nonlocal busy, seq
        busy += 1
        seq += 1
        service = latency_s * math.exp(rng.gauss(-sigma * sigma / 2, sigma))
        load = busy + len(queue)
        if collapse_after and load > collapse_after:
            service *= 1 + collapse_factor * (load - collapse_after) / collapse_after
        heapq.heappush(events, (now + (0.001 if request[2] else service), seq, request))

    while now < seconds:
        while in_flight < limit():
            in_flight += 1
            request = (now, controller.epoch if controller else 0, failing(now) is not None)
            serve(request) if busy < slots else queue.append(request)
        if controller is not None:
            controller.demand(in_flight + 1)  # callers always want more
        now, _, (sent, epoch, failed) = heapq.heappop(events)
        in_flight -= 1
        busy -= 1
        if queue:
            serve(queue.pop(0))
        outcome = failing(now) if failed else Outcome.OK
        if outcome is Outcome.OK:
            done.append((now, now - sent))
        if controller is not None:
            controller.observe(now - sent, outcome or Outcome.OK, epoch)
        limits.append((now, limit()))
    tail = [lat for t, lat in done if t > seconds / 3]
    return Run(len(tail) / (seconds * 2 / 3), statistics.median(tail) if tail else math.nan,
               statistics.median(lim for t, lim in limits if t > seconds / 3), limits)


SHAPES = {"slots": {"slots": 24}, "collapse": {"slots": 48, "collapse_after": 48, "collapse_factor": 1.0},
          "serial": {"slots": 1, "latency_s": 1.0, "seconds": 400.0}}
"""The shapes of `benchmarks/adaptive.py` (24 slots at 300 ms; collapse past 48; a serial server)."""
FIXED_LEVELS = (1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 256)


def settle_s(run: Run, share: float = 0.9) -> float:
    """Seconds until the limit first reaches ``share`` of its median over the measured part."""
    return next((t for t, lim in run.limits if lim >= share * run.median_limit), math.nan)


def table(seeds: tuple[int, ...] = (1, 2, 3)) -> list[dict]:
    """Per shape and seed: adaptive throughput / best fixed, median latency / unloaded, limit, settle."""
    rows = []
    for name, shape in SHAPES.items():
        for seed in seeds:
            best = max(simulate(None, fixed=n, seed=seed, **shape).throughput for n in FIXED_LEVELS)
            unloaded = simulate(None, fixed=1, seed=seed, **shape).median_latency_s
            run = simulate(AdaptiveConcurrency(), seed=seed, **shape)
            rows.append({"shape": name, "seed": seed, "throughput/best": run.throughput / best,
                         "p50/unloaded": run.median_latency_s / unloaded, "limit": run.median_limit,
                         "settle_s": settle_s(run)})
    return rows


if __name__ == "__main__":  # python -m tests.llm.queue_model: the rule's table in virtual time
    for row in table():
        print("  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
