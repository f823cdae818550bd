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
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="how long to wait for each answer before calling the server hung (default: 10)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import dataclasses

    from negoray.llm.health import DEFAULT_CHECK_TIMEOUT_S, acheck_provider  # imports the SDK: only when needed

    timeout = DEFAULT_CHECK_TIMEOUT_S if args.timeout is None else args.timeout
    if not timeout > 0:
        parser.error(f"--timeout: must be a positive number of seconds, got {args.timeout}")
    config = dataclasses.replace(config_from_args(args, parser), timeout_s=timeout)
    report = asyncio.run(acheck_provider(config))
    print("\n".join(report.lines()))
    return 0 if report.ok else 1
