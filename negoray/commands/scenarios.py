"""`negoray scenarios`: generate a scenario pool and write it as JSON or FAIR context lines."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from negoray.game.fair import format_fair
from negoray.game.generators import GENERATORS, V7_POOL_SIZE, V7_SPLITS, generate, split_scenarios
from negoray.game.scenario import scenarios_to_json

FORMATS = ("json", "fair")


def _int_at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    parse.__name__ = "int"
    return parse


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "scenarios",
        help="generate a deterministic scenario pool (v7 or Lewis et al. 2017)",
        description=(
            "Generate a deterministic pool of Deal-or-No-Deal scenarios from a seed and write it "
            "as JSON (negoray's format) or FAIR context lines (six integers per side, "
            "'count value' for books, hats, balls; agent line then opponent line)."
        ),
        epilog=(
            "generators: v7 = the V7 experiment's pool (counts 1-5, 5-10 items, values 0-3, half "
            "divergent / half similar preferences); lewis = Lewis et al. 2017 rules (counts 1-4, "
            f"5-7 items, each side's pool worth exactly 10). The V7 splits are "
            f"{', '.join(f'{k} {v}' for k, v in V7_SPLITS.items())} of the {V7_POOL_SIZE}-scenario pool."
        ),
    )
    p.add_argument("--generator", choices=tuple(GENERATORS), default="v7", help="scenario generator (default: v7)")
    p.add_argument("--seed", type=_int_at_least(0), default=42, help="random seed, >= 0 (default: 42)")
    p.add_argument("--n", type=_int_at_least(1), default=V7_POOL_SIZE, help="number of scenarios, >= 1 (default: 200)")
    p.add_argument("--format", choices=FORMATS, default="json", help="output format (default: json)")
    p.add_argument("--out", metavar="FILE", help="output file (default: standard output)")
    p.add_argument(
        "--split",
        choices=tuple(V7_SPLITS),
        help=f"v7 only: write just this split of the {V7_POOL_SIZE}-scenario pool (needs --n {V7_POOL_SIZE})",
    )
    p.set_defaults(func=run)
    return p


def _fail(message: str) -> int:
    print(f"negoray scenarios: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.n < 1:
        return _fail(f"--n must be >= 1, got {args.n}")
    if args.split is not None:
        if args.generator != "v7":
            return _fail(f"--split is only for --generator v7, not {args.generator}")
        if args.n != V7_POOL_SIZE:
            return _fail(f"--split selects a split of the {V7_POOL_SIZE}-scenario v7 pool; --n must be {V7_POOL_SIZE}, got {args.n}")
    try:
        scenarios = generate(args.generator, args.n, args.seed)
    except ValueError as e:
        return _fail(str(e))
    if args.split is not None:
        scenarios = split_scenarios(scenarios)[args.split]
    text = scenarios_to_json(scenarios) + "\n" if args.format == "json" else format_fair(scenarios)
    if args.out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    try:
        Path(args.out).write_text(text)
    except OSError as e:
        return _fail(f"--out: cannot write {args.out!r}: {e.strerror or e}")
    print(f"wrote {len(scenarios)} scenario(s) to {args.out}", file=sys.stderr)
    return 0
