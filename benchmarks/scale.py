"""Scale: the full 12 x 10 experiment on the in-process sim -- wall time, calls/s, peak memory.

Runs `experiments/full_12x10.py` (or `--config`) as a child process in a fresh results directory,
samples the summed resident memory of every process it starts (the driver, Ray's daemons, the
population actors and the workers) every second, and reads the calls it made from the results.
There is no baseline to divide by here: the targets are absolute (<= 15 min, <= 8 GB on the
2-core machine); the ratio printed is wall time against that budget.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def session_rss_bytes(sid: int) -> int:
    """Summed RSS of every process in session ``sid`` (the driver starts one; Ray's daemons,
    actors and workers stay in it), read from /proc."""
    total = 0
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:
                total += int(Path(f"/proc/{entry}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="full_12x10")
    parser.add_argument("--results", default="benchmarks/out/scale")
    parser.add_argument("--budget-s", type=float, default=900.0, help="the wall-time target (default: 15 min)")
    args = parser.parse_args()
    results = Path(args.results)
    shutil.rmtree(results, ignore_errors=True)
    cmd = [sys.executable, str(ROOT / "experiments" / "full_12x10.py"), "--config", args.config,
           "--results", str(results), "--no-progress"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, session_rss_bytes(proc.pid))
        time.sleep(1.0)
    wall = time.monotonic() - started
    import pyarrow.dataset as ds

    calls = ds.dataset(results / "calls", format="parquet").count_rows()
    negotiations = ds.dataset(results / "negotiations", format="parquet").count_rows()
    out = {"config": args.config, "exit": proc.returncode, "wall_s": wall, "calls": calls,
           "negotiations": negotiations, "calls_per_s": calls / wall, "peak_rss_gb": peak / 1e9,
           "wall_vs_budget": wall / args.budget_s, "cpus": os.cpu_count()}
    (ROOT / "benchmarks" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "out" / "scale.json").write_text(json.dumps(out, indent=1))
    print(f"{args.config}: exit {proc.returncode}, {wall:.0f} s wall ({wall / args.budget_s:.2f} of the "
          f"{args.budget_s:.0f} s budget), {negotiations} negotiations, {calls} calls, {calls / wall:.0f} calls/s, "
          f"peak memory {peak / 1e9:.2f} GB (all processes)")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
