"""The adaptive concurrency limits over time: ``RESULTS/concurrency/*.parquet``, one file per driver
session (time, endpoint, limit, in flight, latency p50/p95), written from the limiter actor's history
when a run ends and drawn by the report (figure ``concurrency``)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from negoray.results.writer import write_parquet

CONCURRENCY_DIR = "concurrency"
CONCURRENCY = pa.schema([
    pa.field("time", pa.float64(), nullable=False),  # unix seconds
    pa.field("endpoint", pa.string(), nullable=False),
    pa.field("limit", pa.int32(), nullable=False),
    pa.field("in_flight", pa.int32(), nullable=False),
    pa.field("p50_s", pa.float64()),
    pa.field("p95_s", pa.float64()),
])


def write_concurrency_history(results: Path | str, points: Sequence[dict[str, Any]]) -> Path | None:
    """Write the points of this session (`ConcurrencyPool.history`); None when there are none."""
    if not points:
        return None
    rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in p.items()} for p in points]
    path = Path(results) / CONCURRENCY_DIR / f"session-{int(time.time() * 1000)}.parquet"
    write_parquet(path, pa.Table.from_pylist(rows, schema=CONCURRENCY))
    return path


def read_concurrency_history(results: Path | str) -> list[dict[str, Any]]:
    """Every session's points, in time order ([] when there are none)."""
    files = sorted((Path(results) / CONCURRENCY_DIR).glob("*.parquet"))
    rows = [row for f in files for row in pq.read_table(f).to_pylist()]
    return sorted(rows, key=lambda r: r["time"])
