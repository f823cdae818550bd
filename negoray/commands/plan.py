"""`negoray plan`: call and token volumes of an experiment, and its cost and minimum wall time per provider."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = "full_12x10"

EPILOG = """examples:
  negoray plan                                   # the full 12x10 experiment, every usual provider
  negoray plan --user-assumptions                # the users' hand-made table, reproduced
  negoray plan --config poc --provider groq-free --provider lmstudio
  negoray plan --calls-per-negotiation 8 --tokens-per-call 600 --completion-tokens 60
  negoray plan --json | jq .providers
  negoray plan --check results/full_12x10        # the plan against what a run recorded

Volumes: eval = population x dev negotiations a generation; after every generation but the last,
mutation (tournament: population - elites calls; market: death_fraction x population) and gating
(tournament only: each child and its parent on gating_scenarios val scenarios); the last
generation's best agent plays the test split; the 8 seed strategies play the test split once
(baseline). A negotiation makes --calls-per-negotiation calls on average (default 65% of the
2 x max_rounds maximum: it ends when a side accepts; the sim plays ~6.5 of 10). A task that gives its
own calls (classify: one a classification, its prompt + one example, a label as the reply) is planned
from those, in its own words; the users' table is V7's and is set next to a negotiation plan only.

Minimum wall time = the largest of: calls / RPM, tokens / TPM, calls / requests-per-day, completion
tokens / server throughput (local servers), and the critical path (per generation one
negotiation's calls + one mutation call + one gating negotiation's calls, x the per-call latency;
runs are independent). The binding constraint is the one that sets it."""


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "plan",
        help="call/token volumes, cost and minimum wall time of an experiment per provider",
        description="Plan an experiment: LLM call and token volumes per generation, per run and in all (by "
        "evaluation, mutation, gating, test and baseline), then for each provider the cost and the minimum "
        "wall time with the binding constraint named; and where these differ from the users' hand-made table. "
        "Exit status 2 on a bad flag, config, provider or results directory.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", metavar="NAME|PATH",
                   help=f"experiment config: a name from experiments/configs/ or a .toml path (default: {DEFAULT_CONFIG}; "
                        "with --check: the results directory's config.json)")
    p.add_argument("--provider", action="append", metavar="P",
                   help="a provider to plan for (repeat for several; built-in names or --profiles names; "
                        "default: sim, lmstudio, vllm, groq, groq-free, together, openrouter, openai, anthropic "
                        "and every profile)")
    p.add_argument("--profiles", metavar="TOML", help="a TOML file of [providers.NAME] profiles (limits, prices)")
    p.add_argument("--user-assumptions", action="store_true",
                   help="the users' assumptions: 10 calls a negotiation, 300 tokens a call, gating = the child only "
                        "on 10 scenarios, mutation and gating in every generation and group, no test or baseline "
                        "(explicit flags below still win)")
    p.add_argument("--calls-per-negotiation", type=float, metavar="X",
                   help="expected LLM calls per negotiation (default: 0.65 x 2 x max_rounds = 6.5 at 5 rounds)")
    p.add_argument("--tokens-per-call", type=float, metavar="N",
                   help="prompt + completion tokens of one negotiation call (default: measured from negoray's "
                        "prompts, ~480 + completion)")
    p.add_argument("--completion-tokens", type=float, metavar="N",
                   help="completion tokens of one negotiation call (default: 40)")
    p.add_argument("--latency-s", type=float, metavar="S",
                   help="per-call latency for the critical path (default: completion tokens / the provider's "
                        "stream speed + overhead)")
    p.add_argument("--batch-latency-s", type=float, metavar="S",
                   help="batch tier: seconds from submitting a batch to its results (default: each provider's "
                        "published typical turnaround, 1 h where none is published)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--check", metavar="RESULTS_DIR", type=Path,
                   help="compare the plan with what RESULTS_DIR recorded (negotiations, calls, tokens per phase; "
                        "generations finished)")
    p.set_defaults(func=run)
    return p


def _load_config(args: argparse.Namespace, parser: argparse.ArgumentParser):
    from negoray.config import ExperimentConfigError, _build, load_config

    if args.check is not None:
        root: Path = args.check
        if not root.is_dir():
            parser.error(f"--check: {root} is not a directory")
        saved = root / "config.json"
        if args.config is None:
            if not saved.exists():
                parser.error(f"--check: {root} has no config.json; name the experiment's config with --config")
            try:
                from negoray.config import ExperimentConfig

                data = json.loads(saved.read_text())
                return _build(ExperimentConfig, data, str(saved)).validate(str(saved))
            except (ValueError, TypeError) as e:
                parser.error(f"--check: {saved}: {e}")
    try:
        return load_config(args.config or DEFAULT_CONFIG)
    except ExperimentConfigError as e:
        message = str(e)
        parser.error(message if message.startswith("--config") else f"--config: {message}")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from negoray import plan as planner
    from negoray.config import ExperimentConfigError
    from negoray.llm.config import ConfigError, load_profiles
    from negoray.roles import fleet_spec

    if args.batch_latency_s is not None and not args.batch_latency_s > 0:
        parser.error(f"--batch-latency-s: must be a positive number, got {args.batch_latency_s}")
    try:
        config, shape = planner.for_task(_load_config(args, parser))
    except ExperimentConfigError as e:  # the task's own options: checked when it is built
        parser.error(f"--config: {e}")
    try:
        profiles = load_profiles(args.profiles) if args.profiles else {}
    except ConfigError as e:
        parser.error(f"--profiles: {e}")
    try:
        specs = planner.resolve_providers(args.provider, profiles)
        flags = dict(calls_per_negotiation=args.calls_per_negotiation, tokens_per_call=args.tokens_per_call,
                     completion_tokens=args.completion_tokens, latency_s=args.latency_s)
        assumptions = planner.make_assumptions(config, user=args.user_assumptions, task=shape, **flags)
        plan = planner.make_plan(config, assumptions, specs)
        diffs = []
        if shape.sample is None:  # the users' table is V7's: set next to a negotiation plan only
            user_plan = plan if args.user_assumptions else planner.make_plan(
                config, planner.make_assumptions(config, user=True, completion_tokens=args.completion_tokens,
                                                 latency_s=args.latency_s))
            diffs = planner.differences(config, plan, user_plan, profiles)
        fleet = fleet_spec(config)
        fleet_p = planner.fleet_plan(config, fleet, plan.total, assumptions) if fleet.mixed else None
    except planner.PlanError as e:
        parser.error(str(e))
    except ConfigError as e:
        parser.error(f"--config: {e}")

    from negoray.plan.tiers import measure_shared_prefix, tier_plans

    prefix = measure_shared_prefix(config, sample=shape.sample)
    tiers = tier_plans(config, assumptions, planner.total(plan.total), specs, prefix, args.batch_latency_s)
    result = None
    if args.check is not None:
        from negoray.results.writer import has_results

        if not has_results(args.check):
            parser.error(f"--check: no results in {args.check} (expected Parquet files under "
                         f"{args.check}/negotiations, calls, agents or generations)")
        result = planner.check(args.check, plan)
    if args.json:
        out: dict[str, Any] = plan.to_dict()
        out["differences"] = [d.to_dict() for d in diffs]
        out["shared_prefix"] = {"prompt_tokens_per_call": round(prefix.prompt_tokens, 1),
                                "shared_prefix_tokens_per_call": round(prefix.shared_tokens, 1),
                                "share": round(prefix.share, 4)}
        out["tiers"] = [t.to_dict() for t in tiers]
        if result is not None:
            out["check"] = result.to_dict()
        if fleet_p is not None:
            out["fleet"] = fleet_p.to_dict()
        print(json.dumps(out, indent=1))
        return 0
    _print(plan, diffs, result)
    if fleet_p is not None:
        _print_fleet(fleet_p)
    _print_tiers(_console(), tiers, prefix)
    return 0


def _print_fleet(fleet) -> None:
    from rich.table import Table

    from negoray import fmt

    console = _console()
    t = Table(title="The config's fleet: each role's endpoints (a pool shares its role's work by capacity)",
              title_justify="left")
    for name in ("role", "endpoint", "model", "calls", "prompt tokens", "completion tokens", "cost", "calls/s",
                 "capacity set by"):
        t.add_column(name, justify="left" if name in ("role", "endpoint", "model", "capacity set by") else "right")
    for e in fleet.endpoints:
        t.add_row(e.role, e.endpoint, e.model, fmt.integer(e.volume.calls), fmt.tokens(e.volume.prompt_tokens),
                  fmt.tokens(e.volume.completion_tokens), fmt.usd(e.cost_usd),
                  "-" if e.calls_per_s is None else f"{e.calls_per_s:.3g}", e.binding)
    console.print(t)
    console.print(f"Fleet: [bold]{fmt.usd(fleet.cost_usd)}[/], minimum wall time [bold]{fmt.hours(fleet.hours)}[/], "
                  f"set by {fleet.binding}.")


def _print_tiers(console, tiers, prefix) -> None:
    from rich.table import Table

    from negoray import fmt

    console.print(f"Shared prompt prefix (measured on {prefix.measured_on}): {prefix.share:.1%} of prompt tokens "
                  f"({prefix.shared_tokens:.0f} of {prefix.prompt_tokens:.0f} a call) repeat an earlier request's start.")
    t = Table(title="Cost and minimum wall time by provider and tier (the whole experiment)", title_justify="left")
    for name in ("provider", "tier", "cost", "with caching", "cached share", "min time", "binding", "batch rounds x latency"):
        t.add_column(name, justify="left" if name in ("provider", "tier", "binding") else "right")
    plain = {(x.provider, x.tier): x for x in tiers if not x.caching}
    for x in (x for x in tiers if x.caching):
        base = plain[(x.provider, x.tier)]
        rounds = f"{x.rounds} x {fmt.hours(x.batch_latency_s / 3600)}" if x.rounds is not None else "-"
        t.add_row(x.provider, x.tier.value, fmt.usd(base.cost_usd), fmt.usd(x.cost_usd), f"{x.cached_share:.0%}",
                  fmt.hours(x.hours), x.binding, rounds)
    console.print(t)


# -- human output -------------------------------------------------------------------------------


def _console():
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=170)
    return console


def _print(plan, diffs, result) -> None:
    from rich.table import Table

    from negoray import fmt
    from negoray import plan as P
    from negoray.tasks.base import plural

    console = _console()
    c, a = plan.config, plan.assumptions
    val = a.gating_scenarios if a.gating_scenarios is not None else c.gating_scenarios
    console.print(
        f"[bold]Plan for {c.name}[/]: groups {', '.join(c.groups)} -> {plan.n_runs} runs x {c.generations} generations, "
        f"population {c.population} ({c.elites} elites), {c.scenarios.dev} dev scenarios, gating on {val} val, "
        f"{c.scenarios.test} test, {P.per_record(a, c.max_rounds)}"
        + ("  [yellow](the users' assumptions)[/]" if a.user else ""))

    t = Table(title="Assumptions", title_justify="left")
    t.add_column("assumption")
    t.add_column("value", justify="right")
    t.add_column("where it comes from")
    src = a.sources
    t.add_row(f"calls per {a.noun}", fmt.compact(a.calls_per_negotiation), src.get("calls_per_negotiation", ""))
    t.add_row("prompt tokens per call", fmt.compact(a.prompt_tokens), src.get("prompt_tokens", ""))
    t.add_row("completion tokens per call", fmt.compact(a.completion_tokens), src.get("completion_tokens", ""))
    t.add_row("mutation call (prompt / completion)",
              f"{fmt.compact(a.mutation_prompt_tokens)} / {fmt.compact(a.mutation_completion_tokens)}", src.get("mutation", ""))
    t.add_row("gating plays", "child + parent" if a.gate_parent else "child only",
              "each child and its parent on the same val scenarios" if a.gate_parent else "the users' table")
    t.add_row("mutation rounds a run", str(c.generations if a.mutate_last_generation else max(0, c.generations - 1)),
              "every generation (the users' table)" if a.mutate_last_generation else "after every generation but the last")
    t.add_row("market groups", "as tournament" if a.groups_alike else
              f"replace round(death_fraction x population) = {P.mutation_slots(c, 'B', a)}, no gating",
              "the users' table treats every group alike" if a.groups_alike else "what the market selection does")
    t.add_row("test + baseline", "included" if a.include_test else "left out",
              "best agent x test split per run; 8 seeds x test split once" if a.include_test else "the users' table")
    if a.latency_s is not None:
        t.add_row("latency per call", f"{a.latency_s:g} s", src.get("latency_s", ""))
    console.print(t)

    t = Table(title="Volumes by phase (per generation: one that mutates, mean over runs; per run: mean over runs)",
              title_justify="left")
    records = plural(a.noun)
    for name, just in [("phase", "left"), (f"gen: {records}", "right"), ("gen: calls", "right"),
                       (f"run: {records}", "right"), ("run: calls", "right"), (f"all: {records}", "right"),
                       ("all: calls", "right"), ("all: prompt tokens", "right"), ("all: completion tokens", "right")]:
        t.add_column(name, justify=just)  # type: ignore[arg-type]
    for phase in (*P.PHASES, "total"):
        g = P.total(plan.per_generation) if phase == "total" else plan.per_generation[phase]
        r = P.total(plan.per_run) if phase == "total" else plan.per_run[phase]
        e = P.total(plan.total) if phase == "total" else plan.total[phase]
        style = "bold" if phase == "total" else None
        t.add_row(phase, fmt.compact(g.negotiations), fmt.compact(g.calls), fmt.compact(r.negotiations), fmt.compact(r.calls),
                  fmt.compact(e.negotiations), fmt.compact(e.calls), fmt.tokens(e.prompt_tokens), fmt.tokens(e.completion_tokens),
                  style=style)
    console.print(t)
    e = P.total(plan.total)
    console.print(f"In all: [bold]{fmt.integer(e.calls)}[/] calls, [bold]{fmt.integer(e.tokens)}[/] tokens "
                  f"({fmt.tokens(e.prompt_tokens)} prompt + {fmt.tokens(e.completion_tokens)} completion).")

    if len(plan.groups) > 1 or any(g.selection == "market" for g in plan.groups.values()):
        t = Table(title="By group", title_justify="left")
        for name in ("group", "selection", "runs", "mutations / gen", f"gating {records} / gen", "calls / gen",
                     "calls / run"):
            t.add_column(name, justify="left" if name in ("group", "selection") else "right")
        for g in plan.groups.values():
            t.add_row(g.group, g.selection, str(g.runs), str(g.mutation_slots), str(g.gating_negotiations),
                      fmt.compact(P.total(g.per_generation).calls), fmt.compact(P.total(g.per_run).calls))
        console.print(t)

    if plan.providers:
        t = Table(title="Cost and minimum wall time by provider (the whole experiment)", title_justify="left")
        for name in ("provider", "model", "$/M in / out", "cost", "min time", "binding", "RPM", "TPM",
                     "requests/day", "server", "critical path"):
            t.add_column(name, justify="left" if name in ("provider", "model", "binding") else "right",
                         overflow="fold", no_wrap=name not in ("model", "binding"))
        for p in plan.providers:
            bounds = [fmt.hours(v) if v is not None else "-" for v in (p.bounds_h[k] for k in P.BOUNDS)]
            binding = p.binding + (f" (= {', '.join(p.ties)})" if p.ties else "")
            t.add_row(p.name, p.model, f"{p.price_in:g} / {p.price_out:g}", fmt.usd(p.cost_usd), fmt.hours(p.hours),
                      binding, *bounds)
        console.print(t)
        if any(p.name == "sim" for p in plan.providers):
            console.print("[dim]sim: no limits, so only the critical path bounds it; in practice the CPU sets its pace.[/]")

    if diffs:
        t = Table(title="Differences from the users' table (v7-architecture-and-scalability.md)", title_justify="left")
        t.add_column("figure")
        t.add_column("their table", justify="right")
        t.add_column("their method", justify="right")
        if not plan.assumptions.user:
            t.add_column("their volumes, our method", justify="right")
        t.add_column("this plan", justify="right")
        t.add_column("why", ratio=1)
        for d in diffs:
            middle = [] if plan.assumptions.user else [d.user_volumes]
            t.add_row(d.item, d.user_table, d.user_method, *middle, d.this_plan, d.why)
        console.print(t)

    if result is not None:
        _print_check(console, result, a.noun)


def _print_check(console, result, noun: str) -> None:
    from rich.table import Table

    from negoray import fmt
    from negoray import plan as P
    from negoray.tasks.base import plural

    t = Table(title=f"Plan vs {result.root} (planned for the finished generations; the full plan alongside)",
              title_justify="left")
    for name in ("phase", f"{plural(noun)}: plan", "actual", "ratio", "calls: plan", "actual", "ratio",
                 "tokens: plan", "actual", "ratio", "full plan: calls"):
        t.add_column(name, justify="left" if name == "phase" else "right")

    def ratio(x: float, y: float) -> str:
        r = P.ratio(x, y)
        return "-" if r is None else f"{r:.3f}"

    rows = list(result.rows)
    tot = P.CheckRow("total", P.total({r.phase: r.planned for r in rows}), P.total({r.phase: r.planned_done for r in rows}),
                     P.total({r.phase: r.actual for r in rows}))
    for r in [*rows, tot]:
        d, x = r.planned_done, r.actual
        t.add_row(r.phase, fmt.compact(d.negotiations), fmt.integer(x.negotiations), ratio(x.negotiations, d.negotiations),
                  fmt.compact(d.calls), fmt.integer(x.calls), ratio(x.calls, d.calls), fmt.tokens(d.tokens), fmt.tokens(x.tokens),
                  ratio(x.tokens, d.tokens), fmt.compact(r.planned.calls), style="bold" if r.phase == "total" else None)
    console.print(t)
    console.print(f"Generations finished: {result.generations_done} of {result.generations_planned}; "
                  f"baseline {'recorded' if result.baseline_done else '[yellow]missing[/]'}; "
                  f"cache hits: {fmt.integer(result.cache_hits)} calls.")
    missing = {k: v for k, v in result.missing.items() if v}
    if missing:
        t = Table(title="Missing", title_justify="left")
        t.add_column("run")
        t.add_column("generations not written")
        t.add_column("test")
        for run_id, gens in missing.items():
            t.add_row(run_id, _ranges(gens), "missing" if run_id in result.missing_test else "")
        console.print(t)
    else:
        console.print("Nothing missing: every run finished every generation.")
    m = result.measured
    if m.get("calls_per_negotiation"):
        console.print(
            f"Recorded: {m['calls_per_negotiation']:.2f} calls a {noun}, {m['prompt_tokens_per_call']:.0f} prompt + "
            f"{m['completion_tokens_per_call']:.1f} completion tokens a call. To plan with these:\n  "
            f"--calls-per-negotiation {m['calls_per_negotiation']:.2f} "
            f"--tokens-per-call {m['prompt_tokens_per_call'] + m['completion_tokens_per_call']:.0f} "
            f"--completion-tokens {m['completion_tokens_per_call']:.0f}")
    console.print("[dim]Gating is planned as child + parent per mutated slot: a parent that gates two children "
                  "plays a shared scenario once, and a failed mutation is not gated, so fewer is normal; "
                  "mutation calls can exceed the plan by retries.[/]")


def _ranges(values: list[int]) -> str:
    """[0, 1, 2, 5] -> "g0-g2, g5"."""
    out, start, prev = [], None, None
    for v in values:
        if start is None:
            start = prev = v
        elif v == prev + 1:  # type: ignore[operator]
            prev = v
        else:
            out.append(f"g{start}" if start == prev else f"g{start}-g{prev}")
            start = prev = v
    if start is not None:
        out.append(f"g{start}" if start == prev else f"g{start}-g{prev}")
    return ", ".join(out)

