"""The `negoray` console script."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="negoray",
        description="Evolve LLM negotiation agents (Deal-or-No-Deal) at scale.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    from negoray.commands import check, plan, play, report, run, scenarios, serve_local, serve_vllm, sim_serve

    for module in (run, scenarios, play, check, sim_serve, serve_local, serve_vllm, report, plan):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from negoray.llm.redact import install_log_redaction

    install_log_redaction()  # no log line of this process carries an API key
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args, parser) or 0)


if __name__ == "__main__":
    sys.exit(main())
