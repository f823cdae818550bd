"""`play_on_slots`: a task's slots bound its calls out, not its negotiations -- every job is in play at
once, the agent's and the opponent's calls together never exceed the slots, and the records are the
ones `play_jobs` gives."""

import asyncio

from negoray.evolution.backend import Job, play_jobs
from negoray.tasks.negotiation.seeds import SEED_STRATEGIES
from negoray.game.dialogue import NegotiationConfig
from negoray.game.generators import v7_splits
from negoray.runtime.task_slots import play_on_slots
from negoray.sim.model import SimModel
from negoray.tasks.negotiation import NegotiationTask

CONFIG = NegotiationConfig(max_rounds=3, seed=7)
TASK = NegotiationTask(CONFIG)


def jobs(n):
    scenarios, prompts = v7_splits()["dev"], list(SEED_STRATEGIES.values())
    return [Job("p", 0, "eval", f"a{i % 8}", prompts[i % 8], scenarios[i % len(scenarios)], replicate=i) for i in range(n)]


class Calls:
    """Counts the calls out at once over every chat it wraps (the sim answers after a short sleep)."""

    def __init__(self):
        self.sim, self.out, self.peak, self.total = SimModel(), 0, 0, 0

    def chat(self):
        async def call(messages, params):
            self.out += 1
            self.total += 1
            self.peak = max(self.peak, self.out)
            try:
                await asyncio.sleep(0.002)
                return await self.sim(messages, params)
            finally:
                self.out -= 1

        return call


def test_every_job_is_in_play_at_once_and_the_slots_bound_the_calls_of_both_sides():
    calls, seated, ended = Calls(), [], []

    def wrap(chat):  # called for each side as each negotiation takes its seat
        seated.append(len(ended))
        return chat

    work = jobs(24)
    records = asyncio.run(play_on_slots(work, TASK, calls.chat(), CONFIG.seed, 4, opponent_chat=calls.chat(),
                                        on_record=ended.append, wrap=wrap))
    assert seated == [0] * 2 * 24  # all 24 seated before any ended (with 4 negotiations in flight: 4)
    assert calls.peak == 4  # the agent's and the opponent's calls share the 4 slots
    assert len(ended) == 24 and calls.total == sum(len(r.calls) for r in records)
    alone = asyncio.run(play_jobs(work, TASK, SimModel(), CONFIG.seed, 4))
    assert [[t.text for t in r.turns] for r in records] == [[t.text for t in r.turns] for r in alone]


def test_a_call_waiting_for_a_slot_is_not_yet_seen_by_the_inner_wrap():
    calls, inside, peak = Calls(), [0], [0]

    def wrap(chat):
        async def counted(messages, params):
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
            try:
                return await chat(messages, params)
            finally:
                inside[0] -= 1

        return counted

    asyncio.run(play_on_slots(jobs(12), TASK, calls.chat(), CONFIG.seed, 3, wrap=wrap))
    assert peak[0] == 3  # progress counting sees calls out, not calls queued for a slot
