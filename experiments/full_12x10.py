"""The full V7 experiment: 4 groups x 3 runs x 10 generations x 8 agents x 60 dev scenarios.

Until negoray's evolution runtime lands, this script runs the honest part that exists today and
says so: the eight seed strategies play the V7 dev (60) and test (80) scenarios against the fixed
opponent on the built-in sim model, and the per-strategy baseline is printed and written to
``RESULTS/seed-baseline.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from negoray.evolution.evaluate import Summary, play_all
from negoray.evolution.seeds import OPPONENT_PROMPT, SEED_STRATEGIES
from negoray.game.dialogue import NegotiationConfig
from negoray.game.generators import v7_splits
from negoray.sim.model import SimModel

PROVIDERS = ("sim",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", default="sim", help="model provider (only 'sim' until provider access lands)")
    parser.add_argument("--results", default="results/full_12x10", metavar="DIR", help="results directory")
    parser.add_argument("--seed", type=int, default=42, help="V7 scenario pool seed (default: 42)")
    args = parser.parse_args(argv)
    if args.provider not in PROVIDERS:
        parser.error(f"--provider: {args.provider!r} is not available yet; allowed: {', '.join(PROVIDERS)}")

    console = Console(stderr=True)
    console.print(
        "[bold yellow]Note:[/] the evolutionary runtime (population actors, 10 generations, 12 runs) has not "
        "landed yet. This runs the seed-strategy baseline on the sim: 8 strategies x (60 dev + 80 test) "
        "scenarios against the fixed opponent."
    )
    splits = v7_splits(args.seed)
    config = NegotiationConfig(seed=args.seed)
    sim = SimModel()
    started = time.perf_counter()

    async def run_all():
        out = {}
        for name, prompt in SEED_STRATEGIES.items():
            out[name] = {
                split: await play_all(prompt, OPPONENT_PROMPT, splits[split], sim, config) for split in ("dev", "test")
            }
        return out

    with console.status("playing negotiations on the sim..."):
        records = asyncio.run(run_all())
    elapsed = time.perf_counter() - started
    calls = sum(len(r.calls) for per in records.values() for recs in per.values() for r in recs)

    table = Table(title=f"Seed strategies vs the fixed opponent (sim, pool seed {args.seed})")
    for col in ("strategy", "dev score", "dev deals", "test score", "test deals", "pareto (test)", "turns (test)"):
        table.add_column(col, justify="right" if col != "strategy" else "left")
    summary = {}
    for name, per in records.items():
        dev, test = Summary.of(per["dev"]), Summary.of(per["test"])
        summary[name] = {"dev": asdict(dev), "test": asdict(test)}
        table.add_row(name, f"{dev.mean_score:.3f}", f"{dev.deal_rate:.0%}", f"{test.mean_score:.3f}",
                      f"{test.deal_rate:.0%}", f"{test.pareto_rate:.0%}", f"{test.mean_turns:.1f}")
    Console().print(table)
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "seed-baseline.json").write_text(json.dumps(
        {"provider": args.provider, "seed": args.seed, "calls": calls, "wall_s": elapsed, "strategies": summary}, indent=1))
    console.print(f"{calls} calls in {elapsed:.1f}s ({calls / elapsed:.0f} calls/s); wrote {out / 'seed-baseline.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
