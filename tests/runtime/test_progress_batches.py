"""Batches in flight in the live progress: their number, requests and age; never reported as stalled calls."""

from negoray.runtime.progress import BATCH_LABEL, batches_summary, stalled_summary


def test_batches_in_flight_are_summarised_apart_from_outstanding_calls():
    entries = [(1000.0, f"{BATCH_LABEL}batch_a 480"), (1090.0, f"{BATCH_LABEL}batch_b 12"), (900.0, "vllm")]
    assert batches_summary(entries, now=1100.0) == "2 batches in flight (492 requests), oldest 100 s"
    assert stalled_summary(entries, 60.0, now=1100.0) == "1 request outstanding for 200 s on vllm"
    assert batches_summary(entries, now=1100.0, age=False) == "2 batches in flight (492 requests)"
    assert batches_summary([(0.0, "vllm")], now=10.0) == ""
