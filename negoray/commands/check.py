"""`negoray check`: a provider's health before a long run."""

from __future__ import annotations

import argparse
import asyncio

from negoray.commands.provider_args import add_provider_args, config_from_args


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "check",
        help="check that a provider is reachable and answers",
        description="Check a provider before a long run: reachability, the models it lists, one tiny "
        "call and its latency, and the rate limits it reports in its headers. Exit status 1 if it fails.",
    )
    add_provider_args(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from negoray.llm.health import acheck_provider  # imports the openai SDK: only when needed

    report = asyncio.run(acheck_provider(config_from_args(args, parser)))
    print("\n".join(report.lines()))
    return 0 if report.ok else 1
