"""The eight seed strategies' dev scores on the sim against the fixed opponent (a Markdown table).

Not a timing benchmark: it records what the sim's reading of the prompts makes of the seeds, so a
change to that reading (e.g. the opponent's acceptance rule) is visible before and after.

    python benchmarks/seed_scores.py [--scenarios 60] [--seed 42]
"""

from __future__ import annotations

import argparse
import asyncio

from negoray.game.dialogue import NegotiationConfig
from negoray.game.generators import v7_splits
from negoray.sim.model import SimModel
from negoray.tasks.negotiation import Summary, play_all
from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES


async def seed_summaries(n: int, seed: int) -> dict[str, Summary]:
    scenarios = v7_splits()["dev"][:n]
    config = NegotiationConfig(seed=seed)
    return {name: Summary.of(await play_all(prompt, OPPONENT_PROMPT, scenarios, SimModel(), config))
            for name, prompt in SEED_STRATEGIES.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenarios", type=int, default=60, help="dev scenarios played (default: all 60)")
    p.add_argument("--seed", type=int, default=42, help="the experiment seed the calls carry (default: 42)")
    args = p.parse_args()
    summaries = asyncio.run(seed_summaries(args.scenarios, args.seed))
    print("| seed style | mean dev score | deal rate | mean turns |")
    print("|---|---|---|---|")
    for name, s in summaries.items():
        print(f"| {name} | {s.mean_score:.3f} | {s.deal_rate:.0%} | {s.mean_turns:.1f} |")
    mean = sum(s.mean_score for s in summaries.values()) / len(summaries)
    print(f"| **mean** | {mean:.3f} | | |")


if __name__ == "__main__":
    main()
