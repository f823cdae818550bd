"""Live progress from inside a Ray task: counts reach the sink at most once a period, and all of
them by the final flush."""

from negoray.game.dialogue import CallUsage, NegotiationRecord
from negoray.game.outcome import OutcomeKind
from negoray.runtime.worker import ProgressTally


class Sink:
    def __init__(self):
        self.sent = []
        self.add_progress = self

    def remote(self, **counts):
        self.sent.append(counts)


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def record(calls: int, outcome=OutcomeKind.AGREED) -> NegotiationRecord:
    usage = CallUsage("agent", 1, 10, 5, 0.1, False, 1, "sim", "m")
    return NegotiationRecord("s1", 0, outcome, None, (), (usage,) * calls)  # metrics: not read


def test_counts_are_sent_once_a_period_and_on_flush():
    sink, clock = Sink(), Clock()
    tally = ProgressTally(sink, period_s=1.0, clock=clock)
    tally.add(record(3))
    tally.add(record(2, OutcomeKind.ERROR))
    assert sink.sent == []
    clock.t = 1.5
    tally.add(record(4))
    assert sink.sent == [{"negotiations": 3, "calls": 9, "tokens": 135, "errors": 1}]
    clock.t = 1.6
    tally.add(record(1))
    tally.flush()
    tally.flush()  # nothing new: nothing sent
    assert sink.sent[1:] == [{"negotiations": 1, "calls": 1, "tokens": 15, "errors": 0}]
