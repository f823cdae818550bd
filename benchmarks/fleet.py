"""Pooled endpoints: a "GPU" and a "cloud" sim-serve in one pool, against each one alone.

The GPU server has ``--gpu-slots`` serving places at ``--gpu-latency-ms`` a call (capacity: slots /
latency); the cloud server admits at most ``--cloud-rpm`` requests in any ``--cloud-window-s``
(a strict sliding window answering 429 beyond it) at ``--cloud-latency-ms`` a call, and the client
is told that rate. Real negotiations are played through `negoray.evolution.backend.play_jobs`, in
three phases in one run: the GPU endpoint alone, the cloud endpoint alone (each its capacity,
measured), then both as one pool (`negoray.llm.pool.EndpointPool`, built as an experiment builds
it, `negoray.llm.fleet_chats.role_chats`). Achieved calls/s are read from the servers' ``/stats``
every ``--sample-s`` over the measured window (start-up and tail excluded, ``--skip-s``).

Prints the pool's calls/s against the sum of the two capacities (goal >= 0.90) and the 429s the
cloud server answered (goal 0). Writes ``benchmarks/out/fleet.json``.

Example::

    python benchmarks/fleet.py                      # ~1 minute
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from typing import Any

from _common import machine, out_path, table, verdict, write_json

from negoray.evolution.backend import Job, play_jobs
from negoray.game.dialogue import NegotiationConfig
from negoray.game.generators import v7_splits
from negoray.llm.config import LLMConfig
from negoray.llm.factory import client_for
from negoray.llm.fleet import FleetSpec, RoleSpec, name_endpoints
from negoray.llm.fleet_chats import role_chats
from negoray.sim.faults import FaultConfig
from negoray.sim.server import serve_in_subprocess
from negoray.tasks.negotiation import NegotiationTask
from negoray.tasks.negotiation.seeds import SEED_STRATEGIES


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gpu-slots", type=int, default=4)
    p.add_argument("--gpu-latency-ms", type=float, default=200.0)
    p.add_argument("--cloud-rpm", type=int, default=100, help="requests in any --cloud-window-s (default 100)")
    p.add_argument("--cloud-window-s", type=float, default=10.0)
    p.add_argument("--cloud-latency-ms", type=float, default=100.0)
    p.add_argument("--seconds", type=float, default=16.0, help="work per phase, in seconds at capacity")
    p.add_argument("--sample-s", type=float, default=0.5)
    p.add_argument("--skip-s", type=float, default=2.0, help="left out at each end of a phase's window")
    return p.parse_args(argv)


def make_jobs(n: int, tag: str) -> list[Job]:
    scenarios, prompts = v7_splits()["dev"], list(SEED_STRATEGIES.values())
    return [Job(tag, 0, "eval", f"a{i % 8}", prompts[i % 8], scenarios[i % len(scenarios)], replicate=i)
            for i in range(n)]


async def play_and_sample(jobs: list[Job], chat: Any, servers: Sequence[Any], sample_s: float, skip_s: float,
                          config: NegotiationConfig) -> dict[str, Any]:
    """Play ``jobs``; calls/s the servers completed over the window, and the outcome."""
    play = asyncio.ensure_future(play_jobs(jobs, NegotiationTask(config), chat, config.seed, 64))
    samples = []
    while not play.done():
        stats = await asyncio.gather(*(asyncio.to_thread(s.stats) for s in servers))
        samples.append((time.monotonic(), [st["completed"] for st in stats]))
        await asyncio.sleep(sample_s)
    records = await play
    window = [(t, n) for t, n in samples if samples[0][0] + skip_s <= t <= samples[-1][0] - skip_s] or samples
    (t0, n0), (t1, n1) = window[0], window[-1]
    per_server = [(b - a) / max(t1 - t0, 1e-9) for a, b in zip(n0, n1)]
    return {"calls_per_s": sum(per_server), "per_server": per_server, "negotiations": len(records),
            "errors": sum(r.outcome.value == "error" for r in records), "window_s": t1 - t0}


def run(args: argparse.Namespace) -> dict[str, Any]:
    config = NegotiationConfig(max_rounds=5, seed=11)
    gpu_faults = FaultConfig(latency_ms=args.gpu_latency_ms, slots=args.gpu_slots)
    cloud_faults = FaultConfig(latency_ms=args.cloud_latency_ms, rpm=args.cloud_rpm, window_s=args.cloud_window_s)
    gpu_capacity = args.gpu_slots / (args.gpu_latency_ms / 1000)
    cloud_rate = args.cloud_rpm / args.cloud_window_s
    calls_per_negotiation = 8  # about: 5 rounds of two turns, many agreed earlier
    with serve_in_subprocess(gpu_faults) as gpu, serve_in_subprocess(cloud_faults) as cloud:
        gpu_ep = LLMConfig(provider="vllm", base_url=str(gpu), model="sim", max_concurrency=args.gpu_slots)
        cloud_ep = LLMConfig(provider="together", base_url=str(cloud), model="sim", api_key="bench",
                             rpm=cloud_rate * 60, max_concurrency=16)
        named = name_endpoints([[gpu_ep], [cloud_ep]])

        def chat_of(members):
            role = RoleSpec(tuple(members))
            return role_chats(FleetSpec(role, role, role),
                              lambda c, **options: client_for(c.resolve(), **options)).agent

        phases = {}
        for name, members, servers, rate in (
            ("gpu alone", [named[0]], [gpu], gpu_capacity),
            ("cloud alone", [named[1]], [cloud], cloud_rate),
            ("pool", named, [gpu, cloud], gpu_capacity + cloud_rate),
        ):
            n = max(16, round(rate * args.seconds / calls_per_negotiation))
            before = cloud.stats()["rate_limited"]
            result = asyncio.run(play_and_sample(make_jobs(n, name), chat_of(members), servers, args.sample_s,
                                                 args.skip_s, config))
            result["rate_limited"] = cloud.stats()["rate_limited"] - before
            phases[name] = result
            print(f"{name}: {result['calls_per_s']:.1f} calls/s over {result['window_s']:.0f} s "
                  f"({n} negotiations, {result['errors']} errors, {result['rate_limited']} 429s)", flush=True)
    alone = phases["gpu alone"]["calls_per_s"] + phases["cloud alone"]["calls_per_s"]
    ratio = phases["pool"]["calls_per_s"] / alone
    rows = [[k, f"{v['calls_per_s']:.1f}", " + ".join(f"{x:.1f}" for x in v["per_server"]), v["errors"],
             v["rate_limited"]] for k, v in phases.items()]
    print(table(["phase", "calls/s", "per server", "errors", "429s"], rows, title="fleet: a GPU and a cloud endpoint"))
    print(f"pool / (gpu alone + cloud alone) = {ratio:.2f}  {verdict(ratio, 0.90)}")
    print(f"429s in the pool phase: {phases['pool']['rate_limited']}  "
          f"{verdict(phases['pool']['rate_limited'], 0, higher_is_better=False)}")
    return {"machine": machine(), "args": vars(args), "phases": phases, "ratio": ratio,
            "capacity_nominal": {"gpu": gpu_capacity, "cloud": cloud_rate}}


def main(argv: Sequence[str] | None = None) -> None:
    write_json(out_path("fleet.json"), run(parse_args(argv)))


if __name__ == "__main__":
    main()
