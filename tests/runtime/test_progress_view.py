"""The progress line printed when stderr is not a terminal (logs, `ray job submit`)."""

import io
import time

from rich.console import Console

from negoray.config import ExperimentConfig
from negoray.runtime.progress import ProgressView


def status(run_id, generation, calls, tokens):
    return {"run_id": run_id, "generation": generation, "status": f"generation {generation}", "negotiations": 3,
            "calls": calls, "tokens": tokens, "cost_usd": 0.5, "errors": 1}


def test_a_slow_provider_still_shows_its_rate():
    out = io.StringIO()
    config = ExperimentConfig(groups=("A",), runs_per_group=2, generations=3)
    view = ProgressView(Console(file=out, width=200), config, started=time.monotonic() - 100)
    with view:
        view.update([status("A1", 1, 10, 400), status("A2", 0, 8, 300)])
    line = out.getvalue()
    assert "1/6 generations" in line
    assert "0.18 calls/s, 7.0 tokens/s, $1.00 so far, 2 errors" in line


def test_the_seed_baseline_counts_while_it_plays():
    out = io.StringIO()
    config = ExperimentConfig(groups=("A",), runs_per_group=1, generations=2)
    view = ProgressView(Console(file=out, width=200), config, started=time.monotonic() - 10)
    with view:
        view.update([status("A1", 0, 0, 0)], baseline={"negotiations": 4, "calls": 20, "tokens": 3000, "errors": 0})
    assert "0/2 generations; 2.0 calls/s, 300 tokens/s" in out.getvalue()


def log_view(out, **kw):
    config = ExperimentConfig(groups=("A",), runs_per_group=2, generations=3)
    return ProgressView(Console(file=out, width=300), config, started=time.monotonic() - 30, **kw)


def test_log_mode_prints_each_status_change_and_pause_reason_once():
    out = io.StringIO()
    view = log_view(out)
    paused = "paused: 12/12 negotiations failed (vllm: malformed response); retrying in 30s"
    a1, a2 = status("A1", 1, 10, 400), status("A2", 1, 8, 300)
    with view:
        view.update([a1, a2])
        view.update([{**a1, "status": paused}, a2])
        view.update([{**a1, "status": paused}, a2])
        view.update([{**a1, "status": "running"}, a2])
    text = out.getvalue()
    assert text.count(f"run A1: {paused}") == 1
    assert "run A1: running" in text and text.count("run A2: generation 1") == 1


def test_a_request_outstanding_past_the_threshold_is_reported():
    out = io.StringIO()
    view = log_view(out, stall_warn_s=60)
    hung = {**status("A1", 0, 0, 0), "outstanding": [(time.time() - 95, "vllm"), (time.time() - 20, "vllm")]}
    with view:
        view.update([hung])
    assert "1 request outstanding for 95 s on vllm" in out.getvalue()


def test_limiter_notes_and_keys_in_statuses_reach_the_log_but_keys_do_not():
    from negoray.llm.redact import register_secret

    register_secret("sk-status-line-canary-1")
    out = io.StringIO()
    view = log_view(out)
    with view:
        view.update([{**status("A1", 0, 0, 0), "status": "paused: Bearer sk-status-line-canary-1 rejected"}],
                    notes=["rate limit groq:m: 61 rpm (configured 90 rpm) after 429s"])
    text = out.getvalue()
    assert "rate limit groq:m: 61 rpm (configured 90 rpm) after 429s" in text
    assert "sk-status-line-canary-1" not in text and "[redacted]" in text
