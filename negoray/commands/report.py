"""`negoray report`: the Markdown report and figures of an experiment's results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "report",
        help="write report.md and figures from an experiment's Parquet results",
        description="Read the Parquet results under RESULTS_DIR (negotiations, calls, agents, generations) and "
        "write RESULTS_DIR/report.md with figures in RESULTS_DIR/figures/. Works on a partial experiment: "
        "what is missing is listed at the top. Exit status 2 if RESULTS_DIR holds no results.",
    )
    p.add_argument("results_dir", metavar="RESULTS_DIR", type=Path, help="the experiment's results directory")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from negoray.results.writer import has_results  # pyarrow, matplotlib: only when needed

    root: Path = args.results_dir
    if not root.is_dir():
        print(f"negoray report: {root} is not a directory", file=sys.stderr)
        return 2
    if not has_results(root):
        print(f"negoray report: no results in {root} (expected Parquet files under "
              f"{root}/negotiations, calls, agents or generations)", file=sys.stderr)
        return 2
    from negoray.results.report import write_report

    print(write_report(root))
    return 0
