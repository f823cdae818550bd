"""Adaptive concurrency: does negoray find a server's capacity by itself?

Against servers whose capacity negoray is not told, in one run per shape:

- ``fixed N``: negoray's client (`negoray.llm.client.LLMClient`) with a fixed concurrency
  (``max_concurrency = N``, the adaptive limit off) and N callers, for N in ``--levels`` (1..256);
  measured over ``--phase-s`` after a ``--warmup-s`` that is not counted.
- ``adaptive``: the same client with the adaptive limit on (a custom URL's default) and ``--callers``
  callers, more than any limit it should pick, for ``--adaptive-s``; measured over its second half
  (after it settled), the limit sampled every 0.1 s.

Shapes: ``slots`` -- `sim-serve` with 24 slots at 300 ms (lognormal jitter, sigma 0.3), a queue behind
them: capacity 80 calls/s, knee at 24. ``collapse`` -- 48 slots at 300 ms collapsing past 48 requests in
the server (``--collapse-after 48 --collapse-factor 1``: every request beyond makes every service 1/48
slower, so throughput falls past 48). ``local`` (``--local``) -- the embedded llama.cpp model, a serial
server: the limit should settle near 1-2. ``vllm`` (``--vllm``) -- a real vLLM (its CPU build, SmolLM2-135M,
``negoray serve-vllm``), a continuously batching server whose throughput grows with the batch until
the machine's cores are full; phases of a minute, since a call takes seconds. ``--two-nodes``: the full Ray pipeline over two simulated
nodes (``ray.cluster_utils.Cluster``) playing negotiations against the ``slots`` shape, every worker of
both nodes sharing the one limit in the limiter actor; its throughput is read from the server's counter.

Prints per shape: best fixed throughput, adaptive / best fixed (goal >= 0.95), the adaptive median
latency / the unloaded one (fixed 1; goal <= 1.5), the time the limit took to settle (from then on
within +-30% of its median over the second half), its median, and the limiter round trips per call.
Writes ``benchmarks/out/adaptive.json``.

Example::

    python benchmarks/adaptive.py                       # slots + collapse, ~4 min
    python benchmarks/adaptive.py --shapes slots --two-nodes --local
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import _common as C

SHAPES = {
    "slots": {"slots": 24, "latency_ms": 300.0},
    "collapse": {"slots": 48, "latency_ms": 300.0, "collapse_after": 48, "collapse_factor": 1.0},
}
MODEL = "negoray-sim-1"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", default="slots,collapse", help="sim-serve shapes to run (default: slots,collapse)")
    p.add_argument("--levels", default="1,4,16,24,32,48,64,128,256", help="fixed concurrency levels")
    p.add_argument("--phase-s", type=float, default=5.0, help="measured seconds per fixed level (default: 5)")
    p.add_argument("--warmup-s", type=float, default=1.5, help="unmeasured seconds before each fixed level")
    p.add_argument("--adaptive-s", type=float, default=40.0, help="seconds of the adaptive run (default: 40)")
    p.add_argument("--callers", type=int, default=256, help="callers of the adaptive run (default: 256)")
    p.add_argument("--local", action="store_true", help="also the embedded local model (serial)")
    p.add_argument("--local-levels", default="1,2,4,8", help="fixed levels for the local model")
    p.add_argument("--local-phase-s", type=float, default=20.0)
    p.add_argument("--local-adaptive-s", type=float, default=120.0)
    p.add_argument("--vllm", action="store_true",
                   help="also a real vLLM (CPU build, SmolLM2-135M: negoray serve-vllm; needs NEGORAY_VLLM_PYTHON)")
    p.add_argument("--vllm-levels", default="1,4,8,16,32", help="fixed levels for vLLM")
    p.add_argument("--vllm-phase-s", type=float, default=60.0)
    p.add_argument("--vllm-warmup-s", type=float, default=20.0)
    p.add_argument("--vllm-adaptive-s", type=float, default=240.0)
    p.add_argument("--two-nodes", action="store_true", help="also the Ray pipeline over two simulated nodes")
    p.add_argument("--ray-s", type=float, default=60.0, help="about how long the two-node batch lasts (default: 60)")
    args = p.parse_args(argv)
    args.shape_list = [s for s in args.shapes.split(",") if s]
    if not set(args.shape_list) <= set(SHAPES):
        p.error(f"--shapes: known shapes are {', '.join(SHAPES)}")
    args.level_list = [int(x) for x in args.levels.split(",")]
    args.local_level_list = [int(x) for x in args.local_levels.split(",")]
    args.vllm_level_list = [int(x) for x in args.vllm_levels.split(",")]
    return args


def _client(base_url: str, model: str, fixed: int | None, cap: int):
    from negoray.llm.client import LLMClient
    from negoray.llm.config import LLMConfig

    config = (LLMConfig(provider="custom", base_url=base_url, model=model, max_concurrency=fixed, timeout_s=600)
              if fixed is not None else
              LLMConfig(provider="custom", base_url=base_url, model=model, max_concurrency=cap, adaptive=True,
                        timeout_s=600))
    return LLMClient(config.resolve({}))


async def _load(client, requests, callers: int, seconds: float, warmup_s: float, max_tokens: int,
                sample_limit: bool = False) -> dict[str, Any]:
    """``callers`` loops calling ``client`` for ``warmup_s + seconds``; what completed in the measured part."""
    from negoray.chat import ChatParams

    counter = itertools.count()
    start = time.perf_counter()
    t0, t1 = start + warmup_s, start + warmup_s + seconds
    latencies: list[float] = []
    limits: list[tuple[float, int]] = []
    errors = total = 0

    async def caller() -> None:
        nonlocal errors, total
        while time.perf_counter() < t1:
            i = next(counter)
            try:
                reply = await client(requests[i % len(requests)], ChatParams(max_tokens=max_tokens, replicate=i, seed=i))
            except Exception:  # noqa: BLE001 - counted
                errors += 1
                continue
            total += 1
            if t0 <= time.perf_counter() <= t1:
                latencies.append(reply.latency_s)

    async def sampler() -> None:
        while time.perf_counter() < t1:
            gate = client.concurrency
            limits.append((time.perf_counter() - start, gate.limit or 0))
            await asyncio.sleep(0.1)

    tasks = [caller() for _ in range(callers)] + ([sampler()] if sample_limit else [])
    await asyncio.gather(*tasks)
    out = {"calls_per_s": len(latencies) / seconds, "p50_ms": C.percentile(latencies, 50) * 1000,
           "p95_ms": C.percentile(latencies, 95) * 1000, "errors": errors, "calls_total": total}
    if sample_limit:
        out["limits"] = limits
        out["syncs"] = client.concurrency.syncs
    return out


def settle(limits: Sequence[tuple[float, int]], after_s: float) -> tuple[float, float]:
    """(seconds until the limit stayed within +-30% of its median after ``after_s``, that median)."""
    tail = [lim for t, lim in limits if t >= after_s]
    if not tail:
        return math.nan, math.nan
    median = statistics.median(tail)
    settled = 0.0
    for t, lim in limits:
        if not 0.7 * median <= lim <= 1.3 * median:
            settled = t
    return settled, median


async def _shape(base_url: str, model: str, requests: list, levels: Sequence[int], phase_s: float, warmup_s: float,
                 adaptive_s: float, callers: int, max_tokens: int) -> dict[str, Any]:
    fixed: dict[int, dict[str, Any]] = {}
    for n in levels:
        client = _client(base_url, model, n, n)
        try:
            fixed[n] = await _load(client, requests, n, phase_s, warmup_s, max_tokens)
        finally:
            await client.aclose()
        print(f"  fixed {n:4}: {fixed[n]['calls_per_s']:7.1f} calls/s  p50 {fixed[n]['p50_ms']:7.0f} ms", flush=True)
    client = _client(base_url, model, None, max(callers, 1))
    try:
        half = adaptive_s / 2
        run = await _load(client, requests, callers, half, half, max_tokens, sample_limit=True)
    finally:
        await client.aclose()
    settled_s, median_limit = settle(run["limits"], half)
    best_n = max(fixed, key=lambda n: fixed[n]["calls_per_s"])
    out = {"fixed": fixed, "adaptive": run, "best_fixed": best_n, "settle_s": settled_s, "median_limit": median_limit,
           "ratio": run["calls_per_s"] / fixed[best_n]["calls_per_s"],
           "latency_ratio": run["p50_ms"] / fixed[min(fixed)]["p50_ms"],
           "syncs_per_call": run["syncs"] / max(1, run["calls_total"])}
    print(f"  adaptive  : {run['calls_per_s']:7.1f} calls/s  p50 {run['p50_ms']:7.0f} ms  limit ~{median_limit:g}, "
          f"settled after {settled_s:.1f} s", flush=True)
    return out


def _two_nodes(args: argparse.Namespace, best_fixed: float, unloaded_ms: float) -> dict[str, Any]:
    import ray
    from ray.cluster_utils import Cluster

    from negoray.evolution.backend import Job
    from negoray.game.dialogue import NegotiationConfig
    from negoray.game.generators import v7_splits
    from negoray.llm.config import LLMConfig
    from negoray.runtime.limiter_actor import LIMITER_NAME, get_or_create_limiter
    from negoray.runtime.ray_backend import REMOTE_TASK_CPUS, RayBackend
    from negoray.runtime.worker import ChatSettings
    from negoray.sim.faults import FaultConfig
    from negoray.tasks.negotiation import NegotiationTask
    from negoray.tasks.negotiation.seeds import SEED_STRATEGIES

    ns, tag = "negoray-bench-adaptive", "endpoint:bench-adaptive"
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "resources": {tag: 128},
                                                            "include_dashboard": False})
    cluster.add_node(num_cpus=2, resources={tag: 128})
    cluster.wait_for_nodes()
    try:
        ray.init(address=cluster.address, namespace=ns, logging_level="WARNING", log_to_driver=False)
        head = ray.get_runtime_context().get_node_id()
        with C.serve_sim(FaultConfig(**SHAPES["slots"])) as server:
            limiter = get_or_create_limiter(ns, None, head)
            provider = LLMConfig(provider="custom", base_url=str(server), model=MODEL, timeout_s=600)
            settings = ChatSettings((provider,), limiter_name=LIMITER_NAME, namespace=ns)
            scenarios, prompts = v7_splits()["dev"], list(SEED_STRATEGIES.items())
            n_jobs = math.ceil(best_fixed * args.ray_s / 6)  # about 6 calls a negotiation
            jobs = [Job("bench", 0, "eval", prompts[i % len(prompts)][0], prompts[i % len(prompts)][1],
                        scenarios[i % len(scenarios)], replicate=i) for i in range(n_jobs)]
            backend = RayBackend(NegotiationTask(NegotiationConfig(seed=1)), 1, settings, tag, in_flight=32,
                                 task_cpus=REMOTE_TASK_CPUS)
            with C.StatsPoller(server, 0.25, "completed", final_sample=True) as poller:
                t0 = time.perf_counter()
                records = asyncio.run(backend.play(jobs))
                wall = time.perf_counter() - t0
            history = ray.get(limiter.concurrency_history.remote())
            stats = ray.get(limiter.concurrency_stats.remote())
    finally:
        ray.shutdown()
        cluster.shutdown()
    samples = poller.samples
    lo, hi = samples[0][0] + wall / 3, samples[0][0] + wall * 0.9
    mid = [(t, n) for t, n in samples if lo <= t <= hi]
    rate = (mid[-1][1] - mid[0][1]) / (mid[-1][0] - mid[0][0]) if len(mid) > 1 else math.nan
    latencies = [c.latency_s for r in records for c in r.calls if c.ok and not c.cache_hit]
    start = history[0]["time"] if history else 0.0
    settled_s, median_limit = settle([(p["time"] - start, p["limit"]) for p in history], wall / 3)
    p50 = C.percentile(latencies, 50) * 1000
    out = {"calls_per_s": rate, "ratio": rate / best_fixed, "p50_ms": p50, "latency_ratio": p50 / unloaded_ms,
           "settle_s": settled_s, "median_limit": median_limit, "nodes": len(set(backend.placements)),
           "negotiations": len(records), "errors": sum(r.outcome.value == "error" for r in records),
           "wall_s": wall, "syncs": stats[0].get("syncs") if stats else None, "history": history}
    out["syncs_per_call"] = (out["syncs"] or 0) / max(1, len(latencies))
    print(f"  two nodes : {rate:7.1f} calls/s (middle of the batch)  p50 {p50:7.0f} ms  limit ~{median_limit:g}, "
          f"settled after {settled_s:.1f} s, {out['nodes']} nodes", flush=True)
    return out


def _local(args: argparse.Namespace) -> dict[str, Any]:
    from negoray.llm.local_server import LocalServer

    with LocalServer() as server:
        print(f"local: {server.model_path.name}", flush=True)
        return asyncio.run(_shape(server.base_url, "SmolLM2-135M-Instruct", C.negotiation_requests(16)[0],
                                  args.local_level_list, args.local_phase_s, 2.0, args.local_adaptive_s, 16, 120))


def _vllm(args: argparse.Namespace) -> dict[str, Any]:
    """A real continuously batching server: its capacity grows with the batch up to what 2 cores compute,
    so the best fixed level is wherever its throughput flattens. Calls take seconds, so phases are long."""
    from negoray.llm.vllm_server import VllmServer

    with VllmServer() as server:
        print(f"vllm: {server.model} (CPU build)", flush=True)
        callers = 2 * max(args.vllm_level_list)
        return asyncio.run(_shape(server.base_url, server.model, C.negotiation_requests(48)[0], args.vllm_level_list,
                                  args.vllm_phase_s, args.vllm_warmup_s, args.vllm_adaptive_s, callers, 64))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from negoray.sim.faults import FaultConfig

    started = time.time()
    out: dict[str, Any] = {"machine": C.machine(), "args": {k: v for k, v in vars(args).items()}, "shapes": {}}
    requests = C.negotiation_requests(48)[0]
    for name in args.shape_list:
        with C.serve_sim(FaultConfig(**SHAPES[name])) as server:
            print(f"shape {name}: sim-serve {SHAPES[name]}", flush=True)
            out["shapes"][name] = asyncio.run(_shape(str(server), MODEL, requests, args.level_list, args.phase_s,
                                                     args.warmup_s, args.adaptive_s, args.callers, 200))
    if args.two_nodes:
        base = out["shapes"].get("slots")
        best = base["fixed"][base["best_fixed"]]["calls_per_s"] if base else 80.0
        unloaded = base["fixed"][min(base["fixed"])]["p50_ms"] if base else 300.0
        print("two nodes, shape slots:", flush=True)
        out["two_nodes"] = _two_nodes(args, best, unloaded)
    if args.local:
        out["shapes"]["local"] = _local(args)
    if args.vllm:
        out["shapes"]["vllm"] = _vllm(args)
    rows = []
    for name, s in out["shapes"].items():
        best = s["fixed"][s["best_fixed"]]
        rows.append([name, f"{s['best_fixed']}", best["calls_per_s"], s["adaptive"]["calls_per_s"], s["ratio"],
                     C.verdict(s["ratio"], 0.95), s["latency_ratio"], C.verdict(s["latency_ratio"], 1.5, False),
                     s["settle_s"], s["median_limit"], s["syncs_per_call"]])
    if "two_nodes" in out:
        t = out["two_nodes"]
        rows.append(["slots, 2 nodes", "-", math.nan, t["calls_per_s"], t["ratio"], C.verdict(t["ratio"], 0.95),
                     t["latency_ratio"], C.verdict(t["latency_ratio"], 1.5, False), t["settle_s"], t["median_limit"],
                     t["syncs_per_call"]])
    print()
    print(C.table(["shape", "best N", "best fixed/s", "adaptive/s", "ratio", "(>=0.95)", "p50/unloaded", "(<=1.5)",
                   "settle s", "limit", "syncs/call"], rows, title="Adaptive concurrency vs the best fixed one, same run"))
    out["wall_s"] = time.time() - started
    path = C.out_path("adaptive.json")
    C.write_json(path, out)
    print(f"\nwrote {path} ({out['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
