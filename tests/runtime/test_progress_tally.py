"""Live progress from inside a Ray task: calls are counted as they complete (not when their
negotiation ends), counts reach the sink at most once a period and all of them by the final flush,
and calls outstanding for long are reported by the heartbeat."""

import asyncio

from negoray.chat import ChatParams, ChatReply
from negoray.runtime.worker import STALL_REPORT_FLOOR_S, ProgressTally
from negoray.tasks.base import ScoredRecord


class Method:
    def __init__(self):
        self.sent = []

    def remote(self, *args, **kwargs):
        self.sent.append(kwargs or args)


class Sink:
    def __init__(self):
        self.add_progress, self.outstanding = Method(), Method()


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def record(error: bool = False) -> ScoredRecord:
    """Any task's record: an error is one without a score."""
    return ScoredRecord("s1", 0, None, error="down") if error else ScoredRecord("s1", 0, 1.0)


REPLY = ChatReply(text="ok", prompt_tokens=10, completion_tokens=5)


def test_calls_count_as_they_complete_and_counts_are_sent_once_a_period_and_on_flush():
    sink, clock = Sink(), Clock()
    tally = ProgressTally(sink, period_s=1.0, clock=clock)
    for _ in range(3):
        tally.call_ended(tally.call_started(), REPLY)
    tally.call_ended(tally.call_started(), None)  # a failed call is not a completed one
    tally.add(record())
    tally.add(record(error=True))
    assert sink.add_progress.sent == []
    clock.t = 1.5
    tally.call_ended(tally.call_started(), REPLY)  # no negotiation ended: the call still shows
    assert sink.add_progress.sent == [{"negotiations": 2, "calls": 4, "tokens": 60, "errors": 1}]
    clock.t = 1.6
    tally.add(record())
    tally.flush()
    tally.flush()  # nothing new: nothing sent
    assert sink.add_progress.sent[1:] == [{"negotiations": 1, "calls": 0, "tokens": 0, "errors": 0}]


def test_the_heartbeat_reports_calls_outstanding_for_long_and_then_that_none_are():
    sink, wall = Sink(), Clock()
    tally = ProgressTally(sink, clock=Clock(), wall=wall, provider="vllm")
    token = tally.call_started()
    tally.heartbeat()
    assert sink.outstanding.sent == []  # young calls are normal latency
    wall.t = STALL_REPORT_FLOOR_S + 90
    tally.heartbeat()
    assert sink.outstanding.sent == [(tally.task, [(0.0, "vllm")])]
    tally.call_ended(token, REPLY)
    tally.heartbeat()
    tally.heartbeat()
    assert sink.outstanding.sent[1:] == [(tally.task, [])]


def test_the_counting_wrapper_tracks_a_call_while_it_is_in_flight():
    sink = Sink()
    tally = ProgressTally(sink)
    seen = []

    async def chat(messages, params):
        seen.append(len(tally._in_flight))
        return REPLY

    asyncio.run(tally.counting(chat)([], ChatParams()))
    assert seen == [1] and tally._in_flight == {} and tally.pending["calls"] == 1
