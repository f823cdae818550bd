"""Throughput: calls/s and tokens/s of three clients side by side, over a concurrency sweep.

Against any OpenAI-compatible endpoint (``--base-url``; default: a ``sim-serve`` this script starts
in a subprocess with a slots/latency model), at each concurrency N it measures, in one run:

(a) ``bare``: ``openai.AsyncOpenAI(max_retries=0)`` + N asyncio workers calling
    ``chat.completions.create`` in a loop -- the ceiling any Python client on this machine reaches.
(b) ``negoray``: negoray's client path, `negoray.llm.client.LLMClient`, N asyncio workers.
    The response cache is OFF by default (``--cache fresh`` uses a fresh SQLite file in a temp
    folder instead; every request carries a distinct replicate index, so it never hits) and the
    rate limiter is unlimited (no rpm/tpm/rpd), as on a local server.
(c) ``ray``: the full Ray pipeline, `negoray.runtime.ray_backend.RayBackend` over a local
    ``ray.init``, playing real negotiations (at most ``--task-in-flight`` calls out per Ray task); calls and
    tokens are counted from the records. With ``--ray-gate cluster`` (the default) the endpoint tag
    has 2N slots, as a workstation advertises twice the concurrency, and the cluster-wide
    concurrency limit in the limiter actor holds the requests in flight to exactly N: negotiations
    between two calls, or in a task's tail, leave no request slot idle. ``--ray-gate adaptive``: the
    same with the adaptive limit (ceiling N) instead of a fixed N. ``--ray-gate none``: a tag of
    N slots and nothing else (N calls out; before issue 15 negoray had N negotiations in flight).

(a) and (b) send the same requests: the chats that real V7 negotiations send (seed strategies vs.
the fixed opponent on dev scenarios, `negoray.game.protocol` prompts, temperature 0.7,
max_tokens 200), cycled. (c) plays those negotiations.

(a) and (b) are measured in steady state, interleaved: per level, ``--repeats`` slices of
``--duration-s / --repeats`` seconds each (after a ``--warmup-s`` warm-up that is not counted),
alternating a,b then b,a, so load from other processes hits both alike; only calls completing
inside the measured part of a slice count. (c) then plays the batch one V7 run submits per
generation (population x dev scenarios = 480 negotiations, at most four waves of the tag's slots,
at least two, more if that would not last ``--duration-s``; ``--ray-batch`` sets it) and is timed
from submission to the last record, so its figure includes task start-up and the batch's tail: about 0.15 s to fill
the slots and three latencies of draining, a fixed cost per batch that a smaller batch pays
proportionally more of (V7's twelve runs play their generations at once, 5,760 negotiations, and a
run between two generations leaves the endpoint to the others). With our own sim server the script
also samples the server's counter and reports (c)'s rate over the middle 60% of the batch
(``c steady``). Before any level, a warm-up opens (a)'s and (b)'s connection pools and starts every
Ray worker process the node runs at once (one per ``0.25``-CPU task its CPUs fit; negoray keeps
them alive, `negoray.runtime.sizing.kept_workers`), so (c)'s timed batch, like (a) and (b), does not
pay for process start-up, which a real experiment pays once, not per stage. (Until 2026-12-02 the
warm-up started two workers and Ray ended all but one per CPU after a second idle: the third task
of a batch waited for a fresh worker, 1-10 s depending on the machine's load, inside the timing.)

Metrics (vLLM ``bench serve``'s set): request throughput (calls/s), output tokens/s, total
tokens/s, end-to-end latency p50/p90/p99, and with ``--stream`` TTFT and TPOT for the bare client
(negoray's client does not stream; (b) and (c) stay non-streaming). Also CPU per call (from
/proc) of the client side and of the server: on a shared machine calls/s measures the neighbours
too, CPU per call does not; ``CPU x/a`` = (client+server CPU per call of a) / (that of x) is the
calls/s ratio a dedicated machine that is CPU-bound (as at zero latency) would show.

Prints ratios b/a and c/a per concurrency (targets on a zero-latency server: b >= 0.90, c >= 0.80)
and writes ``benchmarks/out/throughput[-LABEL].json`` and ``.png``.

Examples::

    python benchmarks/throughput.py                                   # zero-latency sim, 64 slots
    python benchmarks/throughput.py --latency-ms 200 --per-token-ms 2 --label latency
    python benchmarks/throughput.py --base-url http://localhost:1234/v1 --model google/gemma-3-4b
    python benchmarks/throughput.py --vllm --concurrency 1,4,16 --max-tokens 64 --label vllm
    python benchmarks/throughput.py --base-url https://api.groq.com/openai/v1 \\
        --model llama-3.1-8b-instant --api-key-env GROQ_API_KEY --concurrency 1,4,16
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import _common as C

CLIENTS = {"a": "bare", "b": "negoray", "c": "ray"}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", help="an OpenAI-compatible endpoint (default: start a sim-serve subprocess)")
    p.add_argument("--vllm", action="store_true",
                   help="start a real vLLM (CPU build, SmolLM2-135M: negoray serve-vllm) and measure against it")
    p.add_argument("--model", help="model name (default: the sim's model, or 'default' for --base-url)")
    p.add_argument("--api-key-env", help="environment variable holding the API key (never printed)")
    p.add_argument("--concurrency", default="1,4,16,64", help="comma-separated concurrency levels (default: 1,4,16,64)")
    p.add_argument("--clients", default="abc", help="which clients: a=bare, b=negoray, c=ray (default: abc)")
    p.add_argument("--duration-s", type=float, default=4.0,
                   help="measured seconds per client and level, split over --repeats slices (default: 4)")
    p.add_argument("--repeats", type=int, default=2,
                   help="(a)/(b) slices per level, alternating a,b / b,a so load drift hits both alike (default: 2)")
    p.add_argument("--warmup-s", type=float, default=0.5, help="unmeasured warm-up of every slice (default: 0.5)")
    p.add_argument("--stream", action="store_true", help="bare client streams (reports TTFT/TPOT)")
    p.add_argument("--cache", choices=("off", "fresh"), default="off",
                   help="negoray client's response cache: off, or a fresh SQLite file (default: off)")
    p.add_argument("--task-in-flight", type=int, default=32,
                   help="(c) calls out per Ray task, like runtime.in_flight (default: 32)")
    p.add_argument("--ray-gate", choices=("cluster", "adaptive", "none"), default="cluster",
                   help="(c) how N bounds the Ray pipeline: a cluster-wide limit of N requests over 2N tag slots, "
                        "the adaptive limit with ceiling N, or a tag of N slots alone (default: cluster)")
    p.add_argument("--ray-batch", type=int, default=None,
                   help="(c) negotiations in its timed batch (default: one V7 generation of one run, population x "
                        "dev scenarios = 480, at most 4 and at least 2 waves of the tag's slots, more if that is "
                        "shorter than --duration-s)")
    p.add_argument("--ray-cpus", type=int, default=None, help="(c) ray.init num_cpus (default: this machine's cores)")
    p.add_argument("--worker-niceness", type=int, default=0,
                   help="(c) RAY_worker_niceness for the Ray workers (default: 0, the same priority as (a) and (b) "
                        "and the server; Ray's own default is 15, which on a shared machine measures the neighbours)")
    p.add_argument("--max-tokens", type=int, default=200, help="max_tokens per call (default: 200, V7's)")
    sim = p.add_argument_group("the sim server (without --base-url)")
    sim.add_argument("--slots", type=int, default=64, help="serving slots (default: 64)")
    sim.add_argument("--latency-ms", type=float, default=0.0, help="mean fixed service time (default: 0)")
    sim.add_argument("--per-token-ms", type=float, default=0.0, help="service time per completion token (default: 0)")
    p.add_argument("--label", default="", help="suffix of the output files (throughput-LABEL.json/.png)")
    args = p.parse_args(argv)
    args.levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    if args.ray_batch is not None and args.ray_batch < 1:
        p.error(f"--ray-batch takes a positive number of negotiations, not {args.ray_batch}")
    if not set(args.clients) <= set(CLIENTS):
        p.error("--clients takes letters from 'abc'")
    return args


# -- (a) and (b): N asyncio workers in a loop, steady-state window --------------------------------


class Meter:
    """Accumulates completions over measured slices; only calls finishing inside a slice's
    measured part count, and only the measured seconds are summed."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int, int, float | None, float | None]] = []
        self.seconds = 0.0
        self.errors = 0
        self.start = self.end = 0.0
        self.all_calls = 0
        """Every completed call, measured or not (the denominator of CPU per call)."""
        self.client_cpu_s = 0.0
        self.server_cpu_s = 0.0

    def open(self, warmup_s: float, duration_s: float) -> None:
        now = time.perf_counter()
        self.start, self.end = now + warmup_s, now + warmup_s + duration_s
        self.seconds += duration_s

    def add(self, latency: float, prompt: int, completion: int, ttft: float | None = None,
            tpot: float | None = None) -> None:
        t = time.perf_counter()
        self.all_calls += 1
        if self.start <= t <= self.end:
            self.samples.append((latency, prompt, completion, ttft, tpot))

    @property
    def running(self) -> bool:
        return time.perf_counter() < self.end

    def metrics(self) -> dict[str, Any]:
        d = self.seconds
        lat = [s[0] for s in self.samples]
        out = {
            "calls": len(self.samples), "seconds": d, "errors": self.errors,
            "calls_per_s": len(self.samples) / d,
            "output_tokens_per_s": sum(s[2] for s in self.samples) / d,
            "total_tokens_per_s": sum(s[1] + s[2] for s in self.samples) / d,
            **C.latency_summary(lat),
            "client_cpu_ms_per_call": 1000 * self.client_cpu_s / max(1, self.all_calls),
            "server_cpu_ms_per_call": 1000 * self.server_cpu_s / max(1, self.all_calls),
        }
        ttft = [s[3] for s in self.samples if s[3] is not None]
        tpot = [s[4] for s in self.samples if s[4] is not None]
        if ttft:
            out.update({f"ttft_{k}": v for k, v in C.latency_summary(ttft).items()})
            out.update({f"tpot_{k}": v for k, v in C.latency_summary(tpot).items()})
        return out


async def drive(n: int, one, meter: Meter, warmup_s: float, duration_s: float, counter) -> None:
    """N workers call ``one`` in a loop for warmup + duration; the in-flight tail is awaited, not counted."""
    meter.open(warmup_s, duration_s)
    servers = C.sim_server_pids()
    cpu0, srv0 = time.process_time(), C.proc_cpu_s(servers)

    async def worker() -> None:
        while meter.running:
            try:
                await one(next(counter), meter)
            except Exception as e:  # noqa: BLE001 -- counted, not fatal
                meter.errors += 1
                if meter.errors <= 3:
                    print(f"  error: {type(e).__name__}: {e}", file=sys.stderr)
                await asyncio.sleep(0.01)

    await asyncio.gather(*(worker() for _ in range(n)))
    meter.client_cpu_s += time.process_time() - cpu0
    meter.server_cpu_s += C.proc_cpu_s(servers) - srv0


def bare_caller(client, model: str, requests: list, max_tokens: int, stream: bool):
    async def one(i: int, win: Meter) -> None:
        messages = requests[i % len(requests)]
        t0 = time.perf_counter()
        if not stream:
            r = await client.chat.completions.create(model=model, messages=messages, temperature=0.7,
                                                     max_tokens=max_tokens, seed=i)
            u = r.usage
            win.add(time.perf_counter() - t0, u.prompt_tokens if u else 0, u.completion_tokens if u else 0)
            return
        first = None
        pieces = 0
        usage = None
        s = await client.chat.completions.create(model=model, messages=messages, temperature=0.7, max_tokens=max_tokens,
                                                 seed=i, stream=True, stream_options={"include_usage": True})
        async for chunk in s:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces += 1
                if first is None:
                    first = time.perf_counter() - t0
            if chunk.usage is not None:
                usage = chunk.usage
        e2e = time.perf_counter() - t0
        out = usage.completion_tokens if usage else pieces
        tpot = (e2e - first) / (out - 1) if first is not None and out > 1 else None
        win.add(e2e, usage.prompt_tokens if usage else 0, out, first, tpot)

    return one


def negoray_caller(client, requests: list, max_tokens: int):
    from negoray.chat import ChatParams

    async def one(i: int, win: Meter) -> None:
        messages = requests[i % len(requests)]
        t0 = time.perf_counter()
        reply = await client(messages, ChatParams(temperature=0.7, max_tokens=max_tokens, replicate=i, seed=i))
        win.add(time.perf_counter() - t0, reply.prompt_tokens, reply.completion_tokens)

    return one


# -- (c): the Ray pipeline -------------------------------------------------------------------------


class Sampler(C.StatsPoller):
    """Polls a sim server's /stats in a thread: (time, completed, in service + queued) tuples."""

    def __init__(self, server, period_s: float = 0.2) -> None:
        super().__init__(server, period_s, "completed", "in_flight", "queued")

    def mean_load(self, t0: float, t1: float, trim: float = 0.2) -> float:
        """Requests in the server (served and queued), averaged over the middle of [t0, t1]."""
        lo, hi = t0 + trim * (t1 - t0), t1 - trim * (t1 - t0)
        loads = [served + queued for t, _, served, queued in self.samples if lo <= t <= hi]
        return statistics.fmean(loads) if loads else math.nan

    def steady_rate(self, t0: float, t1: float, trim: float = 0.2) -> float:
        """Completed calls/s over the middle of [t0, t1] (``trim`` of the span cut at each end)."""
        lo, hi = t0 + trim * (t1 - t0), t1 - trim * (t1 - t0)
        pts = [(t, n) for t, n, *_ in self.samples if lo <= t <= hi]
        if len(pts) < 2 or pts[-1][0] - pts[0][0] <= 0:
            return math.nan
        return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])


def generation_size() -> int:
    """Negotiations one V7 run plays per generation (agents x dev scenarios): the batch a `Population`
    submits at once."""
    from negoray.config import ExperimentConfig
    from negoray.game.generators import v7_splits

    return ExperimentConfig().population * len(v7_splits()["dev"])


def ray_batch(args: argparse.Namespace, slots: int, rate: float, mean_calls: float) -> int:
    """(c)'s batch: ``--ray-batch``, or one run's generation, at most four waves of the tag's ``slots``
    negotiations (at low concurrency a generation lasts minutes; fewer waves only make the tail's share
    larger), at least two, and more if that would not last ``--duration-s`` at the bare client's ``rate``."""
    if args.ray_batch is not None:
        return args.ray_batch
    return max(2 * slots, min(generation_size(), 4 * slots), math.ceil(rate * args.duration_s / mean_calls))


def ray_jobs(n: int, offset: int):
    from negoray.evolution.backend import Job
    from negoray.game.generators import v7_splits
    from negoray.tasks.negotiation.seeds import SEED_STRATEGIES

    scenarios = v7_splits()["dev"]
    prompts = list(SEED_STRATEGIES.items())
    return [Job("bench", 0, "eval", prompts[i % len(prompts)][0], prompts[i % len(prompts)][1],
                scenarios[i % len(scenarios)], replicate=offset + i) for i in range(n)]


async def _play_ray(backend, jobs, server) -> tuple[list, float, float, Sampler | None, dict[str, float]]:
    sampler = Sampler(server) if server is not None else None
    servers = set(C.sim_server_pids())
    ray_pids = [p for p in C.descendants(os.getpid()) if p not in servers]  # gcs, raylet, workers, ...
    with sampler if sampler is not None else contextlib.nullcontext():
        cpu0, ray0, srv0 = time.process_time(), C.proc_cpu_s(ray_pids), C.proc_cpu_s(servers)
        t0 = time.perf_counter()
        records = await backend.play(jobs)
        t1 = time.perf_counter()
        cpu = {"client": time.process_time() - cpu0 + C.proc_cpu_s(ray_pids) - ray0,
               "server": C.proc_cpu_s(servers) - srv0}
    return records, t0, t1, sampler, cpu


def ray_metrics(records, t0: float, t1: float, sampler: Sampler | None, cpu: dict[str, float]) -> dict[str, Any]:
    d = t1 - t0
    calls = [c for r in records for c in r.calls if c.ok]
    errors = sum(r.outcome.value == "error" for r in records)
    out = {
        "calls": len(calls), "seconds": d, "errors": errors, "negotiations": len(records),
        "calls_per_s": len(calls) / d,
        "output_tokens_per_s": sum(c.completion_tokens for c in calls) / d,
        "total_tokens_per_s": sum(c.prompt_tokens + c.completion_tokens for c in calls) / d,
        **C.latency_summary([c.latency_s for c in calls]),
        "client_cpu_ms_per_call": 1000 * cpu["client"] / max(1, len(calls)),
        "server_cpu_ms_per_call": 1000 * cpu["server"] / max(1, len(calls)),
    }
    if sampler is not None:
        out["steady_calls_per_s"] = sampler.steady_rate(t0, t1)
        out["server_load"] = sampler.mean_load(t0, t1)
    return out


# -- the run ---------------------------------------------------------------------------------------


def run(args: argparse.Namespace, base_url: str, server) -> dict[str, Any]:
    import openai

    from negoray.llm.cache import ResponseCache
    from negoray.llm.client import LLMClient
    from negoray.llm.config import LLMConfig
    from negoray.tasks.negotiation import NegotiationTask

    requests, calls_per_neg, _ = C.negotiation_requests(64)
    mean_calls = statistics.fmean(calls_per_neg)
    model = args.model or ("negoray-sim-1" if server is not None else "default")
    api_key = os.environ.get(args.api_key_env, "") if args.api_key_env else ""
    top = max(args.levels)
    provider = LLMConfig(provider="custom", base_url=base_url, model=model, api_key_env=args.api_key_env,
                         max_concurrency=max(top, 1), timeout_s=600, max_attempts=3)
    results: dict[str, dict[int, dict[str, Any]]] = {CLIENTS[k]: {} for k in args.clients}
    tmp = tempfile.TemporaryDirectory(prefix="negoray-bench-")

    ray_backend_for = None
    if "c" in args.clients:
        from negoray.game.dialogue import NegotiationConfig
        from negoray.runtime.ray_backend import REMOTE_TASK_CPUS, RayBackend
        from negoray.runtime.sizing import JOBS_PER_SLOT, kept_workers
        from negoray.runtime.worker import ChatSettings

        # one tag per level: N slots alone (--ray-gate none), or 2N slots with the cluster-wide limit holding
        # the requests in flight to N, so level N never has more than N requests out, as (a) and (b)
        gated = args.ray_gate != "none"
        slots = {n: 2 * n if gated else n for n in args.levels}
        tags = {n: f"endpoint:bench{n}" for n in args.levels}
        C.init_local_ray("negoray-bench", args.ray_cpus, {tags[n]: slots[n] for n in args.levels}, args.worker_niceness,
                         REMOTE_TASK_CPUS)
        ray_provider = dataclasses.replace(provider, adaptive=gated)
        limiter = None
        if gated:
            import ray

            from negoray.runtime.limiter_actor import LIMITER_NAME, get_or_create_limiter

            limiter = get_or_create_limiter("negoray-bench", None, ray.get_runtime_context().get_node_id())
        settings = ChatSettings((ray_provider,), cache_path=None, limiter_name=LIMITER_NAME if gated else None,
                                namespace="negoray-bench")
        config = NegotiationConfig(seed=1, max_tokens=args.max_tokens)
        limit_key = f"custom:{model}"

        def ray_backend_for(n: int, in_flight: int | None = None) -> RayBackend:
            if limiter is not None:  # the levels run one after the other: the key's limit is this level's
                import ray

                ray.get(limiter.configure_concurrency.remote(limit_key, n if args.ray_gate == "cluster" else None,
                                                             n if args.ray_gate == "adaptive" else None))
            return RayBackend(NegotiationTask(config), config.seed, settings, tags[n],
                              in_flight=in_flight or min(slots[n], args.task_in_flight),
                              task_cpus=REMOTE_TASK_CPUS)  # as negoray runs a model behind HTTP

    async def sweep() -> None:
        counter = itertools.count()
        bare = openai.AsyncOpenAI(base_url=base_url, api_key=api_key or "not-needed", max_retries=0, timeout=600)
        cache = ResponseCache(os.path.join(tmp.name, "cache.sqlite")) if args.cache == "fresh" else None
        ours = LLMClient(provider.resolve(), cache=cache)
        callers = {"bare": bare_caller(bare, model, requests, args.max_tokens, args.stream),
                   "negoray": negoray_caller(ours, requests, args.max_tokens)}
        try:
            # warm-up: open the connection pools and, for (c), start every Ray worker process the node runs at
            # once (small tasks of 2 calls out, all at the same time; negoray keeps them alive)
            warm = Meter()
            for name in callers:
                if name in results:
                    await drive(top, callers[name], warm, 1.0, 0.0, counter)
            if ray_backend_for is not None:
                import ray

                workers = kept_workers(ray.cluster_resources()["CPU"], REMOTE_TASK_CPUS)
                await ray_backend_for(top, in_flight=2).play(ray_jobs(workers * 2 * JOBS_PER_SLOT, 10**6))
            offset = 0
            for n in args.levels:
                print(f"concurrency {n}:", flush=True)
                meters = {name: Meter() for name in callers if name in results}
                for rep in range(args.repeats):  # alternate the order so drifting load hits both alike
                    for name in (list(meters) if rep % 2 == 0 else list(meters)[::-1]):
                        await drive(n, callers[name], meters[name], args.warmup_s, args.duration_s / args.repeats,
                                    counter)
                for name, meter in meters.items():
                    results[name][n] = meter.metrics()
                    print(f"  {name:8} {results[name][n]['calls_per_s']:8.1f} calls/s", flush=True)
                if ray_backend_for is not None:
                    rate = results.get("bare", {}).get(n, {}).get("calls_per_s") or 20.0 * n
                    n_jobs = ray_batch(args, slots[n], rate, mean_calls)
                    records, t0, t1, sampler, cpu = await _play_ray(ray_backend_for(n), ray_jobs(n_jobs, offset), server)
                    offset += n_jobs
                    m = results["ray"][n] = ray_metrics(records, t0, t1, sampler, cpu)
                    if limiter is not None:
                        import ray

                        m["limiter"] = ray.get(limiter.concurrency_stats.remote())
                    print(f"  ray      {m['calls_per_s']:8.1f} calls/s  ({m['negotiations']} negotiations in "
                          f"{m['seconds']:.1f} s; steady window {m.get('steady_calls_per_s', math.nan):.1f}; "
                          f"{m.get('server_load', math.nan):.0f} requests in the server)", flush=True)
        finally:
            await bare.close()
            await ours.aclose()

    try:
        asyncio.run(sweep())
    finally:
        if ray_backend_for is not None:
            import ray

            ray.shutdown()
        tmp.cleanup()
    return {"results": results, "model": model, "request_pool": len(requests),
            "mean_calls_per_negotiation": mean_calls}


def report(args: argparse.Namespace, out: dict[str, Any]) -> dict[str, Any]:
    res = out["results"]
    rows, ratio_rows, ratios = [], [], {}
    for n in args.levels:
        for name in res:
            m = res[name].get(n)
            if m is None:
                continue
            row = [n, name, m["calls_per_s"], m["output_tokens_per_s"], m["total_tokens_per_s"],
                   m["p50_ms"], m["p90_ms"], m["p99_ms"], m["errors"], m["client_cpu_ms_per_call"],
                   m["server_cpu_ms_per_call"]]
            if args.stream:
                row += [m.get("ttft_p50_ms", math.nan), m.get("tpot_p50_ms", math.nan)]
            rows.append(row)
        a = res.get("bare", {}).get(n, {}).get("calls_per_s", math.nan)
        b = res.get("negoray", {}).get(n, {}).get("calls_per_s", math.nan)
        c = res.get("ray", {}).get(n, {}).get("calls_per_s", math.nan)
        cs = res.get("ray", {}).get(n, {}).get("steady_calls_per_s", math.nan)
        def cpu(name: str) -> float:  # client + server CPU per call: what bounds calls/s on a dedicated machine
            m = res.get(name, {}).get(n)
            return m["client_cpu_ms_per_call"] + m["server_cpu_ms_per_call"] if m else math.nan

        ratios[n] = {"b_over_a": b / a, "c_over_a": c / a, "c_steady_over_a": cs / a,
                     "cpu_bound_b_over_a": cpu("bare") / cpu("negoray"), "cpu_bound_c_over_a": cpu("bare") / cpu("ray")}
        r = ratios[n]
        ratio_rows.append([n, a, b, c, cs, b / a, C.verdict(b / a, 0.90), c / a, C.verdict(c / a, 0.80), cs / a,
                           r["cpu_bound_b_over_a"], r["cpu_bound_c_over_a"]])
    headers = ["conc", "client", "calls/s", "out tok/s", "tot tok/s", "p50 ms", "p90 ms", "p99 ms", "errors",
               "cli CPU ms/call", "srv CPU ms/call"]
    if args.stream:
        headers += ["TTFT p50", "TPOT p50"]
    print()
    print(C.table(headers, rows, title=f"Throughput ({out['endpoint']})"))
    print()
    print(C.table(["conc", "a bare", "b negoray", "c ray", "c steady", "b/a", "(>=0.90)", "c/a", "(>=0.80)", "c steady/a",
                   "CPU b/a", "CPU c/a"],
                  ratio_rows, title="Ratios against the bare client, same run (calls/s)"))
    print("c steady: (c)'s rate from the server's counter over the middle 60% of its batch (no ramp-up/tail).\n"
          "CPU x/a: (client+server CPU per call of a) / (that of x) -- the calls/s ratio a dedicated, CPU-bound\n"
          "machine would give; client CPU of (c) is the Ray driver, GCS, raylet and workers together.")
    out["ratios"] = ratios
    return out


def plot(args: argparse.Namespace, out: dict[str, Any], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = out["results"]
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.2))
    for name, m in res.items():
        xs = [n for n in args.levels if n in m]
        ax1.plot(xs, [m[n]["calls_per_s"] for n in xs], "o-", label=name)
        ax3.plot(xs, [m[n]["p50_ms"] for n in xs], "o-", label=f"{name} p50")
        ax3.plot(xs, [m[n]["p99_ms"] for n in xs], "x:", label=f"{name} p99")
    ax1.set(xscale="log", xlabel="concurrency", ylabel="calls/s", title="request throughput")
    ax1.legend()
    xs = list(out["ratios"])
    series = [("b_over_a", "o-", "b/a negoray client"), ("c_over_a", "o-", "c/a Ray pipeline"),
              ("c_steady_over_a", "s:", "c/a steady window")]
    drawn = False
    for key, style, label in series:  # only the ratios this run measured (none without the bare client)
        ys = [out["ratios"][n][key] for n in xs]
        if any(math.isfinite(y) for y in ys):
            ax2.plot(xs, ys, style, label=label)
            drawn = True
    if drawn:
        ax2.axhline(0.9, color="C0", ls="--", lw=0.8)
        ax2.axhline(0.8, color="C1", ls="--", lw=0.8)
        ax2.set(xscale="log")
        ax2.legend()
    else:
        ax2.text(0.5, 0.5, "no ratios: they need the bare client (a)", ha="center", va="center", transform=ax2.transAxes)
    ax2.set(xlabel="concurrency", ylabel="ratio to bare client", title="overhead (targets dashed)")
    ax3.set(xscale="log", yscale="log", xlabel="concurrency", ylabel="latency ms", title="end-to-end latency")
    ax3.legend(fontsize=7)
    fig.suptitle(f"negoray throughput: {out['endpoint']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    suffix = f"-{args.label}" if args.label else ""
    started = time.time()
    meta: dict[str, Any] = {"machine": C.machine(), "args": {k: v for k, v in vars(args).items()}}
    if args.vllm:  # counted as the server: its API server, engine and worker (C.SERVER_MARKERS)
        from negoray.llm.vllm_server import VllmServer

        vllm = VllmServer().start()  # stopped at exit
        args.base_url, args.model = vllm.base_url, args.model or vllm.model
    if args.base_url:
        endpoint = f"vLLM CPU build, {args.model}, 2048 ctx, eager" if args.vllm else args.base_url
        ctx = contextlib.nullcontext(None)
    else:
        from negoray.sim.faults import FaultConfig

        fault = FaultConfig(slots=args.slots, latency_ms=args.latency_ms, per_token_ms=args.per_token_ms)
        endpoint = (f"sim-serve subprocess: slots={args.slots}, latency={args.latency_ms:g} ms, "
                    f"per-token={args.per_token_ms:g} ms")
        ctx = C.serve_sim(fault)
    with ctx as server:
        base_url = args.base_url or str(server)
        print(f"endpoint: {endpoint}; cache of client (b): {args.cache}; clients: {args.clients}; "
              f"levels: {args.levels}", flush=True)
        out = run(args, base_url, server)
        out["endpoint"] = endpoint
        if server is not None:
            out["server_stats"] = server.stats()
    out = report(args, out)
    out.update(meta, wall_s=time.time() - started)
    json_path, png_path = C.out_path(f"throughput{suffix}.json"), C.out_path(f"throughput{suffix}.png")
    C.write_json(json_path, out)
    plot(args, out, png_path)
    print(f"\nwrote {json_path} and {png_path} ({out['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
