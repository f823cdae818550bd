"""Every call carries a seed derived from what makes it distinct, so a server that answers from
(messages, seed, temperature) -- vLLM, llama.cpp -- samples afresh wherever the design asks for a new
sample, and a replay (resume, retry) sends exactly the same request."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from negoray.chat import ChatParams, ChatReply, derive_seed
from negoray.config import with_overrides
from negoray.evolution.backend import Job, LocalBackend, baseline_jobs, play_jobs
from negoray.evolution.loop import Evolution
from negoray.game.dialogue import run_negotiation
from negoray.sim.model import SimModel
from negoray.tasks.negotiation import NegotiationTask
from negoray.tasks.negotiation.inputs import negotiation_config
from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES

from .test_loop import POC, SPLITS, run_all

CONFIG = negotiation_config(POC)


class SeedHonouringServer:
    """The sim answering like vLLM given a seed (blind to ``replicate``); records each request's
    (messages, seed, temperature, max_tokens): the same tuple twice is the same sample twice."""

    def __init__(self, text: str | None = None) -> None:
        self.sim, self.text = SimModel(), text
        self.requests: list[tuple[str, int | None, float, int]] = []

    async def __call__(self, messages, params: ChatParams) -> ChatReply:
        self.requests.append((json.dumps(messages), params.seed, params.temperature, params.max_tokens))
        reply = self.sim.reply(messages, dataclasses.replace(params, replicate=0))
        return reply if self.text is None else dataclasses.replace(reply, text=self.text)

    def repeats(self) -> int:
        return sum(n - 1 for n in Counter(self.requests).values())


def test_each_call_carries_the_negotiations_seed_derived_by_round_and_side():
    server = SeedHonouringServer()
    scenario = SPLITS["dev"][0]
    record = asyncio.run(run_negotiation(SEED_STRATEGIES["cooperative"], OPPONENT_PROMPT, scenario, server,
                                         config=CONFIG, seed=1234))
    assert [seed for _, seed, _, _ in server.requests] == [derive_seed(1234, c.round, c.side) for c in record.calls]
    unseeded = SeedHonouringServer()
    asyncio.run(run_negotiation("x", OPPONENT_PROMPT, scenario, unseeded, config=dataclasses.replace(CONFIG, seed=None)))
    assert {seed for _, seed, _, _ in unseeded.requests} == {None}


job_keys = st.sets(st.tuples(st.sampled_from(["C-0", "D-0", "baseline"]), st.integers(0, 3),
                             st.sampled_from(["eval", "gating", "test", "baseline"]),
                             st.sampled_from(["C-0-g00-0", "C-0-g01-0", "cooperative"]),
                             st.integers(0, len(SPLITS["dev"]) - 1), st.integers(0, 2)),
                   min_size=2, max_size=12)


@given(job_keys)
@settings(max_examples=25, deadline=None)
def test_distinct_jobs_never_share_a_call_seed_and_a_replay_sends_the_same_requests(keys):
    """The prompt is one for all jobs, so only the seed can tell their samples apart."""
    jobs = [Job(run, gen, phase, agent, SEED_STRATEGIES["cooperative"], SPLITS["dev"][s], rep)
            for run, gen, phase, agent, s, rep in sorted(keys)]
    first, again = SeedHonouringServer(), SeedHonouringServer()
    asyncio.run(play_jobs(jobs, NegotiationTask(CONFIG), first, CONFIG.seed, concurrency=4))
    asyncio.run(play_jobs(jobs, NegotiationTask(CONFIG), again, CONFIG.seed, concurrency=1))
    seeds = [seed for _, seed, _, _ in first.requests]
    assert len(set(seeds)) == len(seeds)
    assert sorted(first.requests, key=repr) == sorted(again.requests, key=repr)


def test_two_generations_of_two_runs_per_group_and_the_baseline_send_no_request_twice():
    config = with_overrides(POC, generations=2)
    server = SeedHonouringServer()
    for run_id, group in (("C-0", "C"), ("C-1", "C"), ("D-0", "D"), ("D-1", "D")):
        backend = LocalBackend(server, NegotiationTask(negotiation_config(config)), config.seed)
        asyncio.run(run_all(Evolution(config, run_id, group, int(run_id[-1]), SPLITS, backend, task=backend.task)))
    baseline = baseline_jobs(SEED_STRATEGIES, SPLITS["test"])
    asyncio.run(play_jobs(baseline, NegotiationTask(negotiation_config(config)), server, config.seed, concurrency=64))
    assert len(server.requests) > 2000 and server.repeats() == 0


def test_each_mutation_attempt_is_a_fresh_sample():
    """A mutator that never gives a usable strategy: the three attempts for a slot carry three seeds,
    and two slots mutating the same parent do not share one."""
    config = with_overrides(POC, generations=2, population=4, elites=1)
    server = SeedHonouringServer(text="no strategy here")
    backend = LocalBackend(server, NegotiationTask(negotiation_config(config)), config.seed)
    outputs, _ = asyncio.run(run_all(Evolution(config, "D-0", "D", 0, SPLITS, backend, task=backend.task)))  # tournament: 3 slots
    mutation = [r for r in server.requests if r[3] == 1024]
    assert len(mutation) == config.mutation_attempts * (config.population - config.elites)
    assert len({seed for _, seed, _, _ in mutation}) == len(mutation)
    assert all(g.origin.value in ("elite", "clone") for g in outputs[-1].state.population)
