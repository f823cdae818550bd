"""`negoray play`: one negotiation on the sim, printed turn by turn."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from negoray.game.dialogue import NegotiationConfig, run_negotiation
from negoray.game.generators import v7_splits
from negoray.game.moves import MoveFormat
from negoray.sim.model import SimModel
from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "play",
        help="play one negotiation on the built-in sim model and print the transcript",
        description="Play one V7 negotiation between a strategy and the fixed opponent on the sim "
        "(a synthetic model, not an LLM) and print every message, the parsed moves and the outcome.",
    )
    p.add_argument("--strategy", default="aggressive",
                   help=f"a seed style ({', '.join(SEED_STRATEGIES)}) or a text file with a strategy prompt (default: aggressive)")
    p.add_argument("--split", choices=("dev", "val", "test"), default="dev", help="V7 split (default: dev)")
    p.add_argument("--scenario", type=int, default=0, metavar="I", help="index in the split (default: 0)")
    p.add_argument("--format", choices=[f.value for f in MoveFormat], default="text", help="move format (default: text)")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.strategy in SEED_STRATEGIES:
        strategy = SEED_STRATEGIES[args.strategy]
    elif Path(args.strategy).is_file():
        strategy = Path(args.strategy).read_text()
    else:
        parser.error(f"--strategy: {args.strategy!r} is neither a seed style ({', '.join(SEED_STRATEGIES)}) nor a file")
    scenarios = v7_splits()[args.split]
    if not 0 <= args.scenario < len(scenarios):
        parser.error(f"--scenario: must be in 0..{len(scenarios) - 1} for the {args.split} split, got {args.scenario}")
    scenario = scenarios[args.scenario]
    config = NegotiationConfig(move_format=MoveFormat(args.format), temperature=args.temperature, seed=args.seed)
    record = asyncio.run(run_negotiation(strategy, OPPONENT_PROMPT, scenario, SimModel(), config=config))
    print(f"scenario {scenario.id}: pool {scenario.counts}, agent values {scenario.agent_values}, "
          f"opponent values {scenario.opponent_values}")
    for turn in record.turns:
        status = "ok" if turn.move.ok else f"wasted: {turn.move.problem}"
        print(f"\n[round {turn.round} {turn.side}] ({status})\n{turn.text}")
    m = record.metrics
    if m is None:  # an infrastructure error: no score
        print(f"\noutcome: {record.outcome.value}: {record.error}")
        return 0
    print(f"\noutcome: {record.outcome.value}; agent {m.agent_score} ({m.agent_normalized:.2f}), "
          f"opponent {m.opponent_score} ({m.opponent_normalized:.2f}); pareto-optimal: {m.pareto_optimal}; "
          f"joint efficiency {m.joint_efficiency:.2f}; turns {record.n_turns}")
    return 0
