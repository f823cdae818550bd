"""Rate-limit fidelity: one cluster-wide limiter vs. per-process limiters, across simulated nodes.

A sim server enforces a strict sliding window (default: at most 120 requests in any 10 s, i.e.
12 requests/s, answered with OpenAI-style 429s beyond it). A Ray cluster of ``--nodes`` simulated
nodes on this machine (``ray.cluster_utils.Cluster``, ``--cpus-per-node`` worker processes each)
plays real negotiations against it through the endpoint tag, twice:

``negoray``  `negoray.runtime.ray_backend.RayBackend` with the cluster's limiter actor
             (`negoray.runtime.limiter_actor.get_or_create_limiter`): every worker on every node asks
             the one actor for its start time.
``naive``    the baseline: the same tasks (`play_jobs` on the worker's event loop, same chunking and
             resource tags), but each worker process's `LLMClient` gets its own
             `negoray.llm.limiter.RateLimiter`, pacing itself at the full allowed rate, unaware of
             the others. 429s are retried (Retry-After honoured, pausing that process only).

Both are configured with the same limit (the server's, as requests per minute). The script samples
the server's ``/stats`` every ``--sample-s`` and reports, over the measured window (from
``--skip-s`` after the first request to ``--tail-s`` before the last sample, so worker start-up and
the tail are excluded), achieved rate = admitted requests/s divided by the allowed rate, plus the
number of 429s and failed negotiations. Target: >= 0.95 with zero 429s across >= 2 nodes.

Writes ``benchmarks/out/ratelimit.json`` and ``.png`` (admitted requests/s and 429s over time).

Example::

    python benchmarks/ratelimit.py --nodes 3 --rpm 120 --window-s 10 --duration-s 40
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import ray

import _common as C

NS = "negoray-bench-rl"
TAG = "endpoint:bench-rl"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=2, help="simulated Ray nodes, the head included (default: 2)")
    p.add_argument("--cpus-per-node", type=int, default=2, help="worker processes (CPUs) per node (default: 2)")
    p.add_argument("--slots-per-node", type=int, default=8, help="endpoint tag units per node (default: 8)")
    p.add_argument("--in-flight", type=int, default=4, help="negotiations per Ray task (default: 4)")
    p.add_argument("--rpm", type=int, default=120, help="requests allowed per window by the server (default: 120)")
    p.add_argument("--window-s", type=float, default=10.0, help="the server's sliding window (default: 10 s)")
    p.add_argument("--latency-ms", type=float, default=50.0, help="the server's mean service time (default: 50)")
    p.add_argument("--duration-s", type=float, default=30.0, help="load per arm at the allowed rate (default: 30)")
    p.add_argument("--skip-s", type=float, default=3.0, help="excluded after the first request (default: 3)")
    p.add_argument("--tail-s", type=float, default=2.0, help="excluded before the last request (default: 2)")
    p.add_argument("--sample-s", type=float, default=0.5, help="server /stats polling period (default: 0.5)")
    p.add_argument("--arms", default="negoray,naive", help="which limiters, in order (default: negoray,naive)")
    p.add_argument("--worker-niceness", type=int, default=0,
                   help="RAY_worker_niceness (default: 0; Ray's default 15 lets neighbours starve the workers)")
    args = p.parse_args(argv)
    args.arm_list = [a.strip() for a in args.arms.split(",") if a.strip()]
    if not set(args.arm_list) <= {"negoray", "naive"}:
        p.error("--arms takes negoray and/or naive")
    return args


# -- the baseline: a per-process limiter in every worker --------------------------------------------


def naive_play_local(jobs, opponent: str, config, provider, in_flight: int):
    """Like `negoray.runtime.worker.play_batch_local`, but this process's client paces itself alone."""
    from negoray.evolution.backend import play_jobs
    from negoray.llm.client import LLMClient
    from negoray.llm.limiter import RateLimiter
    from negoray.runtime.worker import worker_state

    state = worker_state()
    key = "bench-naive:" + repr(provider)

    async def go():
        chat = state.chats.get(key)
        if chat is None:  # one client, and one RateLimiter, per worker process: not shared
            chat = state.chats[key] = LLMClient(provider.resolve(), limiter=RateLimiter())
        return await play_jobs(jobs, NegotiationTask(config, opponent=opponent), chat, config.seed, in_flight)

    return ray.get_runtime_context().get_node_id(), state.run(go())


naive_play = ray.remote(max_retries=3)(naive_play_local)


@ray.remote
def _warm() -> int:
    """Start a worker process and import what the tasks need, so start-up is not in the arms."""
    import negoray.llm.client  # noqa: F401
    import negoray.runtime.worker  # noqa: F401

    time.sleep(1.0)
    return os.getpid()


class NaiveBackend:
    """`RayBackend.play`'s chunking and tags, over `naive_play`."""

    def __init__(self, opponent: str, config, provider, tag: str, in_flight: int) -> None:
        self.opponent, self.config, self.provider, self.tag, self.in_flight = opponent, config, provider, tag, in_flight
        self.placements: list[str] = []

    async def play(self, jobs):
        chunks = [list(jobs[i:i + self.in_flight]) for i in range(0, len(jobs), self.in_flight)]
        refs = [naive_play.options(resources={self.tag: len(c)}, num_cpus=1).remote(
            c, self.opponent, self.config, self.provider, len(c)) for c in chunks]
        results = await asyncio.gather(*refs)
        self.placements += [node for node, _ in results]
        return [r for _, batch in results for r in batch]


# -- workload --------------------------------------------------------------------------------------


def make_jobs(target_calls: int, config, tag: str):
    """Jobs whose negotiations make about ``target_calls`` calls in all (counted by playing them
    in process against the sim, which answers exactly as the server will)."""
    from negoray.evolution.backend import Job
    from negoray.game.dialogue import run_negotiation
    from negoray.game.generators import v7_splits
    from negoray.sim.model import SimModel
    from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES

    sim = SimModel()

    async def chat(messages, params):  # the custom provider sends no replicate: the server sees 0
        return sim.reply(messages, dataclasses.replace(params, replicate=0))

    scenarios, prompts = v7_splits()["dev"], list(SEED_STRATEGIES.items())
    jobs, calls, i = [], 0, 0
    while calls < target_calls:
        name, prompt = prompts[i % len(prompts)]
        job = Job(tag, 0, "eval", name, prompt, scenarios[i % len(scenarios)], replicate=i)
        record = asyncio.run(run_negotiation(prompt, OPPONENT_PROMPT, job.scenario, chat, config=config))
        jobs.append(job)
        calls += len(record.calls)
        i += 1
    return jobs, calls


# -- measuring -------------------------------------------------------------------------------------


def window_rate(samples, skip_s: float, tail_s: float) -> dict[str, float]:
    """Admitted requests/s over the measured window, from the first request on."""
    first = next((t for t, n, _ in samples if n > 0), samples[0][0])
    last_change = max((t for (t, n, _), (_, n0, _) in zip(samples[1:], samples) if n != n0), default=samples[-1][0])
    lo, hi = first + skip_s, last_change - tail_s
    pts = [(t, n - r) for t, n, r in samples if lo <= t <= hi]
    if len(pts) < 2:
        return {"rate": math.nan, "seconds": 0.0, "from_s": lo - first, "to_s": hi - first}
    (t0, a0), (t1, a1) = pts[0], pts[-1]
    return {"rate": (a1 - a0) / (t1 - t0), "seconds": t1 - t0, "from_s": t0 - first, "to_s": t1 - first,
            "admitted": a1 - a0}


def run_arm(arm: str, args, server, provider, config, jobs, head: str) -> dict[str, Any]:
    from negoray.runtime.limiter_actor import LIMITER_NAME
    from negoray.runtime.ray_backend import RayBackend
    from negoray.runtime.worker import ChatSettings
    from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT

    if arm == "negoray":
        settings = ChatSettings((provider,), limiter_name=LIMITER_NAME, namespace=NS)
        backend = RayBackend(NegotiationTask(config), config.seed, settings, TAG, args.in_flight)
    else:
        backend = NaiveBackend(OPPONENT_PROMPT, config, provider, TAG, args.in_flight)
    server.reset_stats()
    result: dict[str, Any] = {}

    def play() -> None:
        t0 = time.monotonic()
        result["records"] = asyncio.run(backend.play(jobs))
        result["wall_s"] = time.monotonic() - t0

    with C.StatsPoller(server, args.sample_s, "requests", "rate_limited", final_sample=True) as poller:
        play()
    samples = poller.samples
    stats = server.stats()
    records = result["records"]
    allowed = args.rpm / args.window_s
    w = window_rate(samples, args.skip_s, args.tail_s)
    t_first = next((t for t, n, _ in samples if n > 0), samples[0][0])
    return {
        "arm": arm, "allowed_per_s": allowed, "achieved_per_s": w["rate"], "fidelity": w["rate"] / allowed,
        "window": w, "rate_limited_429": stats["rate_limited"], "requests": stats["requests"],
        "completed": stats["completed"], "early_arrivals": stats["early"],
        "negotiations": len(records), "failed_negotiations": sum(r.outcome.value == "error" for r in records),
        "calls_in_records": sum(len(r.calls) for r in records), "wall_s": result["wall_s"],
        "nodes_used": len(set(backend.placements)), "tasks": len(backend.placements),
        "series": [(round(t - t_first, 3), n, r) for t, n, r in samples],
    }


def plot(out: dict[str, Any], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    allowed = out["allowed_per_s"]
    for i, arm in enumerate(out["arms"]):
        s = arm["series"]
        ts = [(a[0] + b[0]) / 2 for a, b in zip(s, s[1:])]
        adm = [((b[1] - b[2]) - (a[1] - a[2])) / (b[0] - a[0]) for a, b in zip(s, s[1:])]
        lim = [b[2] for b in s[1:]]
        ax1.plot(ts, adm, color=f"C{i}", lw=1, label=f"{arm['arm']} (fidelity {arm['fidelity']:.3f})")
        w = arm["window"]
        ax1.axvspan(w["from_s"], w["to_s"], color=f"C{i}", alpha=0.06)
        ax2.plot([b[0] for b in s[1:]], lim, color=f"C{i}", label=f"{arm['arm']}: {arm['rate_limited_429']} 429s")
    ax1.axhline(allowed, color="k", ls="--", lw=0.8, label=f"allowed {allowed:g}/s")
    ax1.set(xlabel="seconds since the first request", ylabel="admitted requests/s (per sample)",
            title="admitted rate (shaded: measured window)")
    ax1.legend(fontsize=8)
    ax2.set(xlabel="seconds since the first request", ylabel="cumulative 429s", title="429 responses")
    ax2.legend(fontsize=8)
    fig.suptitle(f"rate-limit fidelity: {out['server']}, {out['cluster']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    from ray.cluster_utils import Cluster

    from negoray.game.dialogue import NegotiationConfig
    from negoray.llm.config import LLMConfig
    from negoray.runtime.limiter_actor import get_or_create_limiter
    from negoray.sim.faults import FaultConfig
    from negoray.tasks.negotiation import NegotiationTask

    allowed = args.rpm / args.window_s
    config = NegotiationConfig(seed=1)
    jobs, planned_calls = make_jobs(math.ceil(allowed * args.duration_s), config, "rl")
    meta = {"machine": C.machine(), "args": vars(args)}
    if args.worker_niceness is not None:
        os.environ["RAY_worker_niceness"] = str(args.worker_niceness)
    fault = FaultConfig(rpm=args.rpm, window_s=args.window_s, latency_ms=args.latency_ms)
    server_desc = f"sim-serve: strict window {args.rpm} requests / {args.window_s:g} s ({allowed:g}/s)"
    cluster_desc = f"{args.nodes} nodes x {args.cpus_per_node} CPUs, {args.in_flight} negotiations per task"
    print(f"{server_desc}; {cluster_desc}; {len(jobs)} negotiations ({planned_calls} calls) per arm", flush=True)
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": args.cpus_per_node, "resources": {TAG: args.slots_per_node}, "include_dashboard": False})
    for _ in range(args.nodes - 1):
        cluster.add_node(num_cpus=args.cpus_per_node, resources={TAG: args.slots_per_node})
    cluster.wait_for_nodes()
    arms = []
    try:
        ray.init(address=cluster.address, namespace=NS, logging_level="WARNING", log_to_driver=False)
        head = ray.get_runtime_context().get_node_id()
        with tempfile.TemporaryDirectory() as tmp, C.serve_sim(fault) as server:
            get_or_create_limiter(NS, os.path.join(tmp, "daily.json"), head)
            n_workers = args.nodes * args.cpus_per_node
            ray.get([_warm.options(resources={TAG: 1}, num_cpus=1).remote() for _ in range(n_workers)])
            # the client's limit: the server's window as requests per minute
            provider = LLMConfig(provider="custom", base_url=str(server), model="negoray-sim-1", rpm=allowed * 60)
            for arm in args.arm_list:
                print(f"arm {arm}: playing...", flush=True)
                arms.append(run_arm(arm, args, server, provider, config, jobs, head))
                a = arms[-1]
                print(f"  fidelity {a['fidelity']:.3f}, 429s {a['rate_limited_429']}, wall {a['wall_s']:.1f} s, "
                      f"nodes {a['nodes_used']}", flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()
    rows = [[a["arm"], a["nodes_used"], a["tasks"], a["negotiations"], a["requests"], a["completed"],
             a["allowed_per_s"], a["achieved_per_s"], a["window"]["seconds"], a["fidelity"],
             a["rate_limited_429"], a["failed_negotiations"],
             C.verdict(a["fidelity"], 0.95) if a["rate_limited_429"] == 0 else "MISSED (429s)"] for a in arms]
    print()
    print(C.table(["limiter", "nodes", "tasks", "negot.", "requests", "completed", "allowed/s", "achieved/s",
                   "window s", "achieved/allowed", "429s", "failed neg.", "target >=0.95 & 0 429s"], rows,
                  title=f"Rate-limit fidelity ({server_desc}; {cluster_desc})"))
    print("achieved/allowed is the server's admitted rate over the measured window; a strict window can be\n"
          "over-subscribed but never exceeded, so the baseline's cost shows as 429s (wasted requests and\n"
          "retries) and as negotiations that failed after the client's max_attempts (recorded as errors).")
    out = {**meta, "server": server_desc, "cluster": cluster_desc, "allowed_per_s": allowed, "arms": arms,
           "wall_s": time.time() - started}
    json_path, png_path = C.out_path("ratelimit.json"), C.out_path("ratelimit.png")
    C.write_json(json_path, out)
    plot(out, png_path)
    print(f"\nwrote {json_path} and {png_path} ({out['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
