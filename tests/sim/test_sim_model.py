import asyncio

import numpy as np

from negoray.chat import ChatParams
from negoray.game.moves import MoveFormat
from negoray.game.parsing import parse_move
from negoray.game.protocol import response_format, system_prompt, turn_prompt
from negoray.sim.model import SimModel, sim_reply_text
from negoray.sim.mutator import BEGIN, END
from negoray.sim.strategy import read_strategy
from negoray.tasks.negotiation.mutation import WorstCase, random_mutation, reflective_mutation
from negoray.tasks.negotiation.seeds import SEED_STRATEGIES

SIM = SimModel()


def opening_messages(strategy: str, fmt=MoveFormat.TEXT):
    return [
        {"role": "system", "content": system_prompt(strategy, 5, fmt)},
        {"role": "user", "content": turn_prompt((3, 2, 1), (1, 2, 3), [], 1, 5, True, None)},
    ]


def extract(reply: str) -> str:
    return reply.split(BEGIN + "\n", 1)[1].split("\n" + END, 1)[0]


def test_reply_is_a_valid_move_in_either_format():
    for fmt in MoveFormat:
        params = ChatParams(response_format=response_format(fmt))
        text = sim_reply_text(opening_messages(SEED_STRATEGIES["analytical"], fmt), params)
        move = parse_move(text, (3, 2, 1))
        assert move.ok, (fmt, text)


def test_deterministic_for_same_inputs_and_varies_with_replicate():
    msgs = opening_messages(SEED_STRATEGIES["cooperative"])
    assert sim_reply_text(msgs, ChatParams(seed=1)) == sim_reply_text(msgs, ChatParams(seed=1))
    replies = {sim_reply_text(msgs, ChatParams(seed=1, replicate=r, temperature=1.0)) for r in range(20)}
    assert len(replies) > 1
    cold = {sim_reply_text(msgs, ChatParams(replicate=r, temperature=0.0)) for r in range(5)}
    assert len(cold) == 1


def test_different_strategies_open_differently():
    shares = {parse_move(sim_reply_text(opening_messages(p), ChatParams(temperature=0)), (3, 2, 1)).share
              for p in SEED_STRATEGIES.values()}
    assert len(shares) >= 3


def test_usage_is_reported():
    reply = asyncio.run(SIM(opening_messages(SEED_STRATEGIES["minimalist"]), ChatParams()))
    assert reply.prompt_tokens > 100 and reply.completion_tokens > 5 and reply.provider == "sim"


def test_random_mutation_changes_the_strategy():
    original = SEED_STRATEGIES["aggressive"]
    new = extract(sim_reply_text(random_mutation(original), ChatParams(seed=3)))
    assert new != original and read_strategy(new) != read_strategy(original)
    assert "never reveal" in new  # keeps the lineage's tactics


def test_reflective_mutation_follows_the_feedback():
    original = SEED_STRATEGIES["deadline"]
    before = read_strategy(original)
    worst = [WorstCase("v7-42-001", "timeout", 0.0)]
    lows = [read_strategy(extract(sim_reply_text(reflective_mutation(original, 0.4, 0.5, worst), ChatParams(seed=s))))
            for s in range(10)]
    assert np.mean([p.floor for p in lows]) < before.floor
    assert np.mean([p.exponent for p in lows]) < before.exponent
    highs = [read_strategy(extract(sim_reply_text(reflective_mutation(SEED_STRATEGIES["cooperative"], 0.6, 1.0, worst), ChatParams(seed=s))))
             for s in range(10)]
    assert np.mean([p.floor for p in highs]) > read_strategy(SEED_STRATEGIES["cooperative"]).floor


def test_anything_else_gets_a_polite_answer():
    assert "sim" in sim_reply_text([{"role": "user", "content": "Say hi"}], ChatParams())
