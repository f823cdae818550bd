"""Makespan: the experiment's shape on a C-slot server -- negoray's schedule vs. its lower bound and
vs. the original sequential loop -- as a DISCRETE-EVENT MODEL of the scheduler, plus a short real run
that checks the model. The model lives in `negoray.plan.makespan` (importable, tested without Ray).

What is modelled (simulated clock, no real calls):
  * the experiment's shape: R runs (groups cycled A, B, C, D like ``ExperimentConfig.runs``) x G
    generations. Each generation is, as in `negoray.evolution.loop.Evolution.step`: evaluation
    (P x D negotiations), then -- barrier -- mutation calls (P - elites for tournament groups A/D,
    the market's deaths for B/C, each a chain of attempts), then -- barrier -- gating (tournament
    groups: 2 x gating_scenarios negotiations per child); the last generation plays the test set
    (T negotiations) instead of mutating. Plus the seed baseline (8 x T) submitted first, as
    `negoray.runtime.experiment.Experiment` does. A negotiation is a chain of dependent calls.
  * negoray's scheduling (`RayBackend`, `Population` actors): all runs at once; each run submits a
    stage's work as soon as its previous stage is done; a stage's negotiations are split into even Ray
    tasks (`runtime.sizing.chunk_bounds`: as few full waves as the run's share of the node's room for
    tasks allows, `runtime.sizing.concurrent_tasks`) that each hold ``--in-flight`` units of the
    endpoint tag and ``--task-cpus`` CPUs (`runtime.task_cpus`: 0.25 for a model behind HTTP) and play
    all their negotiations at once with at most ``--in-flight`` calls out (mutation calls are 1-unit
    tasks); a node offers ``--endpoint-slots`` units and ``--cpus`` CPUs; pending tasks start in
    submission order whenever they fit (no head-of-line blocking, like Ray's scheduler).
  * the server: ``--slots`` C requests served at once, FIFO queue; service time of a call =
    latency x lognormal jitter (``--sigma``, mean 1, as ``negoray.sim.faults``) + per-token time x
    completion tokens.
  * constants, not measured: ``--task-overhead-ms`` from a task's start to its first call and
    ``--call-overhead-ms`` of client time before each call. Client CPU contention, Ray's own
    scheduling delays, network and process start-up are NOT modelled.

What is measured:
  * the workload: calls per negotiation and completion tokens per call, and mutation attempts and
    tokens, come from one real generation of groups A and B played in process against the sim
    model (`Evolution.step` over `LocalBackend`), resampled with a seeded generator.
  * the validation (default on, ``--no-validate`` skips it): a scaled-down experiment (by default 4
    runs x 2 generations x population 4, 6 dev scenarios, 3 gating scenarios, 6 test, on 8 slots;
    ``--val-*`` sets the shape and server, up to the 12 runs at C = 64 on this machine) played for
    real through Ray (`RayBackend`, the real `Evolution` loop) against a sim-serve with slots and
    latency, with the wall-clock makespan and the server's in-flight count measured; the model is
    then run on exactly the calls that run made (same shape, same per-call tokens, the same
    scheduler constants as above, nothing fitted) and its predicted makespan compared. The real
    run's makespan is also reported against the lower bound and the sequential loop's makespan of
    those calls (the sum of their service times: one call at a time).

Reported: makespan / lower bound, where lower bound = max(total service time / C, critical path)
and the critical path is the longest chain of dependent calls of any run (sum over its generations
and stages of the stage's longest negotiation or mutation chain), both from the same sampled
service times the schedule used; speed-up = the sequential loop's makespan (one call at a time,
runs one after another: sum of all service times plus per-call overhead) / negoray's makespan.
Targets: makespan <= 1.10 x lower bound at C = 64; >= 40x faster than sequential.

Writes ``benchmarks/out/makespan.json`` and ``.png`` (endpoint utilisation over the modelled
experiment; modelled vs. measured in-flight calls of the validation run).

Examples::

    python benchmarks/makespan.py                         # the full 12 x 10 shape, C = 64, + validation
    python benchmarks/makespan.py --slots 16 --cpus 16 --no-validate
    python benchmarks/makespan.py --no-sensitivity --val-runs 12 --val-population 8 --val-dev 12 \
        --val-slots 64 --val-endpoint-slots 128 --val-in-flight 32 --val-latency-ms 500   # real, C = 64
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

import _common as C

from negoray.plan.makespan import (GROUP_ORDER, Gen, Sched, Shape, Trace, evaluate, mutation_chains, synth_trace,
                                   utilisation)
from negoray.runtime.sizing import REMOTE_TASK_CPUS, concurrent_tasks


def measure_workload(seed: int = 42) -> dict[str, Any]:
    """Negotiation call/token patterns and mutation chains from one real generation of groups A and B,
    played in process by the sim (`Evolution.step` over `LocalBackend`)."""
    from negoray.config import ExperimentConfig
    from negoray.evolution.backend import LocalBackend
    from negoray.evolution.loop import Evolution
    from negoray.sim.model import SimModel
    from negoray.tasks.negotiation import NegotiationTask
    from negoray.tasks.negotiation.inputs import make_splits, negotiation_config
    from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT

    cfg = ExperimentConfig(generations=2, seed=seed)
    splits = make_splits(cfg)
    negs: list[list[int]] = []
    chains: list[list[int]] = []
    for group in ("A", "B"):
        backend = LocalBackend(SimModel(), NegotiationTask(negotiation_config(cfg)), cfg.seed)
        evo = Evolution(cfg, f"{group}1", group, 1, splits, backend, task=backend.task)
        out = asyncio.run(evo.step(evo.initial_state()))
        negs += [[c.completion_tokens for c in r.calls] for recs in out.eval_records.values() for r in recs]
        negs += [[c.completion_tokens for c in r.calls] for _, r in out.gating]
        chains += mutation_chains(out.mutation_calls)
    return {"negotiations": negs, "mutation_chains": chains}


# -- validation: a real scaled-down run through Ray ------------------------------------------------


def validate(args: argparse.Namespace) -> dict[str, Any]:
    import ray

    from negoray.config import ExperimentConfig, RuntimeConfig, ScenarioConfig
    from negoray.driver import drive
    from negoray.evolution.loop import Evolution
    from negoray.llm.config import LLMConfig
    from negoray.runtime.ray_backend import RayBackend
    from negoray.runtime.worker import ChatSettings
    from negoray.sim.faults import FaultConfig
    from negoray.tasks.negotiation import NegotiationTask
    from negoray.tasks.negotiation.inputs import make_splits, negotiation_config
    from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT

    cfg = ExperimentConfig(
        name="makespan-validation", groups=GROUP_ORDER, runs_per_group=1, max_runs=args.val_runs,
        population=args.val_population, generations=args.val_generations, elites=2, tournament_k=2,
        gating_scenarios=args.val_gating, scenarios=ScenarioConfig(dev=args.val_dev, val=max(10, args.val_gating),
                                                                   test=args.val_test),
        runtime=RuntimeConfig(in_flight=args.val_in_flight, endpoint_slots=args.val_endpoint_slots,
                              task_cpus=args.task_cpus),
    )
    cfg = replace(cfg, runs_per_group=math.ceil(args.val_runs / len(GROUP_ORDER))).validate("validation")
    sched = Sched(slots=args.val_slots, endpoint_slots=args.val_endpoint_slots, cpus=args.val_cpus,
                  in_flight=args.val_in_flight, task_cpus=args.task_cpus, task_overhead_s=args.task_overhead_ms / 1000,
                  call_overhead_s=args.call_overhead_ms / 1000)
    concurrent = concurrent_tasks([(args.val_endpoint_slots, args.val_cpus)], args.val_in_flight, args.task_cpus)
    splits = make_splits(cfg)
    negotiation = negotiation_config(cfg)
    tag = "endpoint:bench-makespan"
    fault = FaultConfig(slots=args.val_slots, latency_ms=args.val_latency_ms, per_token_ms=args.val_per_token_ms,
                        latency_sigma=args.sigma)
    C.init_local_ray("negoray-bench-makespan", args.val_cpus, {tag: args.val_endpoint_slots}, args.worker_niceness)
    try:
        with C.serve_sim(fault) as server:
            provider = LLMConfig(provider="custom", base_url=str(server), model="negoray-sim-1", timeout_s=600)
            settings = ChatSettings((provider,), cache_path=None, limiter_name=None, namespace="negoray-bench-makespan")

            def backend() -> RayBackend:
                return RayBackend(NegotiationTask(negotiation), negotiation.seed, settings, tag, cfg.runtime.in_flight, args.task_cpus,
                                  sharers=len(cfg.runs()))  # as `Population` does, and the model

            # start every worker process (imports, client) before the clock starts
            from negoray.evolution.backend import Job

            warm = [Job("warm", 0, "eval", "w", OPPONENT_PROMPT, s, replicate=99) for s in splits["val"][:1]]
            async def warm_up():
                await asyncio.gather(*(backend().play(warm * args.val_in_flight) for _ in range(concurrent)))

            asyncio.run(warm_up())
            server.reset_stats()
            async def one(run_id: str, group: str, index: int):
                outs = []  # the outputs only: nothing written, no checkpoints
                await drive(Evolution(cfg, run_id, group, index, splits, backend(), task=NegotiationTask(negotiation)), None, None, prices=(0.0, 0.0),
                            on_generation=lambda out, tables: outs.append(out))
                return outs

            async def everything():
                return await asyncio.gather(*(one(*r) for r in cfg.runs()))

            with C.StatsPoller(server, args.val_sample_s, "in_flight", "queued") as poller:
                t0 = time.perf_counter()
                outs = asyncio.run(everything())
                measured = time.perf_counter() - t0
            samples = poller.samples
            stats = server.stats()
    finally:
        ray.shutdown()

    def toks(records) -> list[list[float]]:
        return [[c.completion_tokens for c in r.calls] for r in records]

    trace = Trace([[Gen(eval=toks([r for recs in o.eval_records.values() for r in recs]),
                        mut=[list(map(float, c)) for c in mutation_chains(o.mutation_calls)],
                        gate=toks([r for _, r in o.gating]), test=toks([r for _, r in o.test])) for o in run]
                   for run in outs])
    errors = sum(r.outcome.value == "error" for run in outs for o in run
                 for r in [*(x for v in o.eval_records.values() for x in v), *(x for _, x in o.gating),
                           *(x for _, x in o.test)])
    preds = [evaluate(trace, sched, args.val_latency_ms, args.val_per_token_ms, args.sigma, seed)
             for seed in range(args.val_model_seeds)]
    predicted = float(np.median([p["makespan_s"] for p in preds]))
    lb = float(np.median([p["lower_bound_s"] for p in preds]))
    mid = preds[int(np.argsort([p["makespan_s"] for p in preds])[len(preds) // 2])]
    return {
        "shape": f"{len(outs)} runs (groups A,B,C,D cycled) x {args.val_generations} generations, population "
                 f"{args.val_population}, elites 2, dev {args.val_dev}, gating {args.val_gating}, test {args.val_test}",
        "sched": {k: getattr(sched, k) for k in sched.__dataclass_fields__},
        "server": {"slots": args.val_slots, "latency_ms": args.val_latency_ms, "per_token_ms": args.val_per_token_ms},
        "calls": trace.calls(), "server_completed": stats["completed"], "negotiations": trace.negotiations(),
        "errors": errors, "measured_makespan_s": measured, "predicted_makespan_s": predicted,
        "predicted_range_s": [min(p["makespan_s"] for p in preds), max(p["makespan_s"] for p in preds)],
        "measured_over_predicted": measured / predicted, "lower_bound_s": lb, "measured_over_lower_bound": measured / lb,
        "predicted_over_lower_bound": predicted / lb,
        "sequential_s": float(np.median([p["sequential_s"] for p in preds])),
        "measured_in_flight": [(t - t0, n, q) for t, n, q in samples], "_model_busy": mid["_busy"],
        "model_makespan_for_plot": mid["makespan_s"],
    }


# -- the script ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    s = p.add_argument_group("the experiment's shape")
    s.add_argument("--runs", type=int, default=12, help="runs, groups cycled A,B,C,D like the config (default: 12)")
    s.add_argument("--generations", type=int, default=10, help="generations per run (default: 10)")
    s.add_argument("--population", type=int, default=8, help="P (default: 8)")
    s.add_argument("--dev", type=int, default=60, help="D, evaluation scenarios (default: 60)")
    s.add_argument("--test", type=int, default=80, help="test scenarios (default: 80)")
    s.add_argument("--elites", type=int, default=2, help="elites (default: 2)")
    s.add_argument("--gating-scenarios", type=int, default=10, help="per child (default: 10)")
    s.add_argument("--no-baseline", action="store_true", help="leave out the seed baseline (8 x test)")
    v = p.add_argument_group("the server (service-time model)")
    v.add_argument("--slots", type=int, default=64, help="C, requests served at once (default: 64)")
    v.add_argument("--latency-ms", type=float, default=300.0, help="mean fixed service time (default: 300)")
    v.add_argument("--per-token-ms", type=float, default=15.0, help="per completion token (default: 15)")
    v.add_argument("--sigma", type=float, default=0.3, help="lognormal jitter of the latency (default: 0.3)")
    r = p.add_argument_group("negoray's runtime (modelled)")
    r.add_argument("--in-flight", type=int, default=32, help="negotiations per Ray task, runtime.in_flight (default: 32)")
    r.add_argument("--endpoint-slots", type=int, default=128, help="endpoint tag units, runtime.endpoint_slots (default: 128)")
    r.add_argument("--cpus", type=int, default=2, help="Ray CPUs (default: 2, this machine)")
    r.add_argument("--task-cpus", type=float, default=REMOTE_TASK_CPUS,
                   help=f"CPUs a task reserves, runtime.task_cpus (default: {REMOTE_TASK_CPUS:g}, negoray's for a model behind HTTP)")
    r.add_argument("--task-overhead-ms", type=float, default=10.0, help="task start to first call (default: 10)")
    r.add_argument("--call-overhead-ms", type=float, default=2.0, help="client time before each call (default: 2)")
    p.add_argument("--seed", type=int, default=0, help="resampling and jitter seed (default: 0)")
    p.add_argument("--no-sensitivity", action="store_true", help="skip the table of variants (cpus, in-flight, C)")
    val = p.add_argument_group("validation (a short real run)")
    val.add_argument("--no-validate", action="store_true", help="skip the real run")
    val.add_argument("--val-runs", type=int, default=4, help="runs, groups A,B,C,D cycled (default: 4)")
    val.add_argument("--val-generations", type=int, default=2, help="generations (default: 2)")
    val.add_argument("--val-population", type=int, default=4, help="population (default: 4)")
    val.add_argument("--val-dev", type=int, default=6, help="dev scenarios (default: 6)")
    val.add_argument("--val-gating", type=int, default=3, help="gating scenarios (default: 3)")
    val.add_argument("--val-test", type=int, default=6, help="test scenarios (default: 6)")
    val.add_argument("--val-slots", type=int, default=8, help="sim-serve slots (default: 8)")
    val.add_argument("--val-latency-ms", type=float, default=150.0, help="sim-serve latency (default: 150)")
    val.add_argument("--val-per-token-ms", type=float, default=1.0, help="sim-serve per-token time (default: 1)")
    val.add_argument("--val-cpus", type=int, default=2, help="ray.init num_cpus (default: 2)")
    val.add_argument("--val-endpoint-slots", type=int, default=16, help="endpoint tag units (default: 16)")
    val.add_argument("--val-in-flight", type=int, default=4, help="negotiations per task (default: 4)")
    val.add_argument("--val-sample-s", type=float, default=0.1, help="server /stats polling (default: 0.1)")
    val.add_argument("--val-model-seeds", type=int, default=5, help="model runs (jitter seeds) for the prediction (default: 5)")
    val.add_argument("--worker-niceness", type=int, default=0, help="RAY_worker_niceness (default: 0)")
    return p.parse_args(argv)


def plot(out: dict[str, Any], main_busy, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = out["model"]
    panels = 2 if out.get("validation") else 1
    fig, axes = plt.subplots(1, panels, figsize=(7 * panels, 4.2), squeeze=False)
    ax = axes[0][0]
    hours = m["makespan_s"] / 3600
    xs, ys = utilisation(main_busy, out["sched"]["slots"], m["makespan_s"])
    ax.plot([x / 3600 for x in xs], ys, lw=1.2, label=f"negoray (modelled), mean {m['mean_utilisation']:.1%}")
    ax.axvline(m["lower_bound_s"] / 3600, color="k", ls="--", lw=0.8, label=f"lower bound {m['lower_bound_s'] / 3600:.2f} h")
    ax.axvline(hours, color="C0", ls=":", lw=0.8, label=f"makespan {hours:.2f} h ({m['ratio_to_lower_bound']:.3f} x LB)")
    ax.set(xlabel="hours (simulated clock)", ylabel="busy slots / C", ylim=(0, 1.05),
           title=f"endpoint utilisation, {out['shape_text']}\n(sequential loop: {m['sequential_s'] / 3600:.0f} h, "
                 f"1/C = {1 / out['sched']['slots']:.1%} busy; speed-up {m['speedup_vs_sequential']:.1f}x)")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8, loc="lower center")
    if out.get("validation"):
        v = out["validation"]
        ax = axes[0][1]
        t = [x[0] for x in v["measured_in_flight"]]
        ax.plot(t, [x[1] for x in v["measured_in_flight"]], lw=1, label=f"measured (sim-serve in flight), {v['measured_makespan_s']:.1f} s")
        busy = v["_model_busy"]
        bt = [b[0] for b in busy for _ in (0, 1)][1:] + [v["model_makespan_for_plot"]]
        bb = [b[1] for b in busy for _ in (0, 1)]
        ax.plot(bt, bb, lw=1, alpha=0.8, label=f"model, same calls, {v['predicted_makespan_s']:.1f} s")
        ax.axhline(v["server"]["slots"], color="k", lw=0.6, ls="--")
        ax.set(xlabel="seconds", ylabel="calls being served", title=f"validation: {textwrap.fill(v['shape'], 90)}\nreal Ray run vs. model "
               f"(measured/predicted = {v['measured_over_predicted']:.2f})")
        ax.title.set_fontsize(9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    shape = Shape(runs=args.runs, generations=args.generations, population=args.population, dev=args.dev,
                  test=args.test, elites=args.elites, gating_scenarios=args.gating_scenarios,
                  baseline=not args.no_baseline)
    sched = Sched(slots=args.slots, endpoint_slots=args.endpoint_slots, cpus=args.cpus, in_flight=args.in_flight,
                  task_cpus=args.task_cpus, task_overhead_s=args.task_overhead_ms / 1000, call_overhead_s=args.call_overhead_ms / 1000)
    print("measuring the workload (one generation of groups A and B, in process, sim model)...", flush=True)
    workload = measure_workload()
    calls = [len(n) for n in workload["negotiations"]]
    tokens = [t for n in workload["negotiations"] for t in n]
    print(f"  {len(calls)} negotiations: {np.mean(calls):.2f} calls each (min {min(calls)}, max {max(calls)}), "
          f"{np.mean(tokens):.1f} completion tokens per call; {len(workload['mutation_chains'])} mutation chains",
          flush=True)
    trace = synth_trace(shape, workload, args.seed)
    shape_text = (f"{shape.runs} runs x {shape.generations} gen, P={shape.population}, D={shape.dev}, "
                  f"C={sched.slots}")
    print(f"modelling {shape_text}: {trace.negotiations()} negotiations, {trace.calls()} calls...", flush=True)
    model = evaluate(trace, sched, args.latency_ms, args.per_token_ms, args.sigma, args.seed)
    main_busy = model.pop("_busy")

    variants = []
    if not args.no_sensitivity:
        for label, change in (("a workstation: cpus=16", {"cpus": 16}), ("task_cpus=1 (cpus=2)", {"task_cpus": 1.0}),
                              ("in_flight=8", {"in_flight": 8}),
                              ("in_flight=64", {"in_flight": 64}), ("endpoint_slots=64", {"endpoint_slots": 64}),
                              ("C=16", {"slots": 16}), ("C=128, endpoint_slots=256", {"slots": 128, "endpoint_slots": 256})):
            r = evaluate(trace, replace(sched, **change), args.latency_ms, args.per_token_ms, args.sigma, args.seed)
            r.pop("_busy")
            variants.append({"variant": label, **r})

    validation = None
    if not args.no_validate:
        print("validation: a scaled-down experiment played for real through Ray against sim-serve...", flush=True)
        validation = validate(args)

    h = 3600
    rows = [["negoray (model)", model["makespan_s"] / h, model["makespan_s"] / model["lower_bound_s"],
             model["mean_utilisation"], model["speedup_vs_sequential"]],
            ["lower bound", model["lower_bound_s"] / h, 1.0, math.nan, model["sequential_s"] / model["lower_bound_s"]],
            ["sequential loop", model["sequential_s"] / h, model["sequential_s"] / model["lower_bound_s"],
             1 / sched.slots, 1.0]]
    print()
    print(f"workload: {model['negotiations']} negotiations, {model['calls']} calls, total service "
          f"{model['total_service_s'] / h:.1f} h; work bound {model['work_bound_s'] / h:.3f} h, critical path "
          f"{model['critical_path_s'] / h:.3f} h (model ran in {model['model_cpu_s']:.1f} s CPU)")
    print(C.table(["schedule", "makespan h", "x lower bound", "utilisation", "speed-up vs seq"], rows,
                  title=f"Makespan, discrete-event model ({shape_text}; service {args.latency_ms:g} ms + "
                        f"{args.per_token_ms:g} ms/token; in_flight {sched.in_flight}, endpoint slots "
                        f"{sched.endpoint_slots}, cpus {sched.cpus}, {sched.task_cpus:g} per task)"))
    print(f"targets: makespan <= 1.10 x LB: {model['ratio_to_lower_bound']:.3f} "
          f"{C.verdict(model['ratio_to_lower_bound'], 1.10, higher_is_better=False)}; speed-up >= 40x: "
          f"{model['speedup_vs_sequential']:.1f}x {C.verdict(model['speedup_vs_sequential'], 40)}")
    if variants:
        print()
        print(C.table(["variant", "makespan h", "x lower bound", "utilisation", "speed-up vs seq"],
                      [[v["variant"], v["makespan_s"] / h, v["ratio_to_lower_bound"], v["mean_utilisation"],
                        v["speedup_vs_sequential"]] for v in variants], title="Sensitivity (same workload)"))
    if validation:
        v = validation
        print()
        print(C.table(["", "makespan s", "x lower bound"],
                      [["measured (real Ray run)", v["measured_makespan_s"], v["measured_over_lower_bound"]],
                       ["model, same calls", v["predicted_makespan_s"], v["predicted_over_lower_bound"]],
                       ["lower bound", v["lower_bound_s"], 1.0]],
                      title=f"Validation: {v['shape']}; sim-serve {v['server']['slots']} slots, "
                            f"{v['server']['latency_ms']:g} ms + {v['server']['per_token_ms']:g} ms/token; "
                            f"{args.val_cpus} CPUs ({args.task_cpus:g} per task), {args.val_endpoint_slots} tag units, "
                            f"{args.val_in_flight} per task"))
        print(f"real run: {v['measured_over_lower_bound']:.3f} x lower bound, "
              f"{v['sequential_s'] / v['measured_makespan_s']:.1f}x faster than the sequential loop "
              f"({v['sequential_s']:.0f} s for the same calls one at a time)")
        print(f"measured / predicted = {v['measured_over_predicted']:.3f} (model range over "
              f"{args.val_model_seeds} jitter seeds: {v['predicted_range_s'][0]:.1f}-{v['predicted_range_s'][1]:.1f} s); "
              f"{v['calls']} calls, {v['negotiations']} negotiations, {v['errors']} errors")
    out = {"machine": C.machine(), "args": vars(args), "shape": vars(shape) if hasattr(shape, "__dict__") else None,
           "shape_text": shape_text, "sched": {k: getattr(sched, k) for k in sched.__dataclass_fields__},
           "workload": {"negotiations_sampled": len(calls), "mean_calls_per_negotiation": float(np.mean(calls)),
                        "mean_completion_tokens": float(np.mean(tokens)),
                        "mutation_chains": workload["mutation_chains"]},
           "model": model, "variants": variants, "validation": validation}
    json_path, png_path = C.out_path("makespan.json"), C.out_path("makespan.png")
    plot(out, main_busy, png_path)
    if validation:
        validation.pop("_model_busy")
    out["wall_s"] = time.time() - started
    C.write_json(json_path, out)
    print(f"\nwrote {json_path} and {png_path} ({out['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
