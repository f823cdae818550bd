"""The adaptive limits over time: written per session, read back in time order, drawn by the report,
and the live progress line."""

from __future__ import annotations

import math

from negoray.results.concurrency import read_concurrency_history, write_concurrency_history
from negoray.results.report.figures import OPTIONAL_FIGURES
from negoray.results.report.load import Results
from negoray.runtime.progress import concurrency_line


def _points(t0: float) -> list[dict]:
    return [{"time": t0 + i, "endpoint": "vllm:m", "limit": 4 + i, "in_flight": 3 + i, "p50_s": 0.3, "p95_s": math.nan}
            for i in range(5)]


def test_sessions_are_written_and_read_back_in_time_order(tmp_path):
    assert write_concurrency_history(tmp_path, []) is None
    assert read_concurrency_history(tmp_path) == []
    write_concurrency_history(tmp_path, _points(2000.0))
    write_concurrency_history(tmp_path, _points(1000.0))
    rows = read_concurrency_history(tmp_path)
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows) and len(rows) == 10
    assert rows[0]["p95_s"] is None and rows[0]["limit"] == 4


def test_the_report_draws_them(tmp_path):
    write_concurrency_history(tmp_path, _points(1000.0))
    caption, draw, present = OPTIONAL_FIGURES["concurrency"]
    data = Results([], [], [], {}, {}, {}, {}, read_concurrency_history(tmp_path))
    assert present(data) and not present(Results([], [], [], {}, {}, {}))
    assert draw(data, tmp_path / "c.png") is None and (tmp_path / "c.png").stat().st_size > 5000


def test_the_progress_line_names_limit_in_flight_and_latency():
    line = concurrency_line({"key": "vllm:m", "limit": 28, "adaptive": True, "in_flight": 27, "waiting": 3,
                             "p50_s": 0.31, "p95_s": math.nan})
    assert line == ("concurrency vllm:m: limit 28 (adaptive), 27 in flight, 3 waiting, latency p50 0.31 s, p95 -")
