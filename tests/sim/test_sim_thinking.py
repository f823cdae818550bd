"""`sim-serve --think N` plays a reasoning model, and negotiations against it come out right with
thinking off, with thinking on and room to answer, and with thinking on and too few tokens."""

import argparse
import asyncio
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from negoray.commands.sim_serve import config_from_args, register
from negoray.game.dialogue import NegotiationConfig, run_negotiation
from negoray.game.generators import generate
from negoray.game.outcome import OutcomeKind
from negoray.llm.client import LLMClient
from negoray.llm.config import LLMConfig
from negoray.llm.reasoning import split_reasoning
from negoray.sim.faults import FaultConfig
from negoray.sim.server import serve_in_thread
from negoray.sim.thinking import with_thinking
from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES

THINK = 300
SCENARIOS = generate("v7", 24, 42)


@given(answer=st.text(st.characters(blacklist_characters="<>"), min_size=1, max_size=200),
       think=st.integers(0, 400), max_tokens=st.integers(1, 600))
def test_a_reply_is_its_block_then_the_answer_cut_at_max_tokens(answer, think, max_tokens):
    t = with_thinking(answer, think, max_tokens)
    assert t.completion_tokens <= max_tokens and t.reasoning_tokens <= t.completion_tokens
    if t.finish_reason == "stop":
        assert split_reasoning({"content": t.content})[0] == answer.strip() if think else t.content == answer
    else:
        assert t.finish_reason == "length" and len(t.content) == 4 * max_tokens


def test_the_flag_configures_the_server():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    register(sub)
    assert config_from_args(parser.parse_args(["sim-serve", "--think", "250"])).think_tokens == 250
    with pytest.raises(SystemExit):
        parser.parse_args(["sim-serve", "--think", "-1"])


@pytest.fixture(scope="module")
def server():
    with serve_in_thread(FaultConfig(think_tokens=THINK)) as url:
        yield url


def negotiate(url, thinking, max_tokens):
    """The seed strategies against the opponent on every scenario, through a vLLM-style client."""
    async def all_of_them():
        client = LLMClient(LLMConfig(provider="vllm", base_url=str(url), thinking=thinking).resolve({}))
        config = NegotiationConfig(max_tokens=max_tokens, seed=3)
        prompts = list(SEED_STRATEGIES.values())
        try:
            return await asyncio.gather(*[
                run_negotiation(prompts[i % len(prompts)], OPPONENT_PROMPT, s, client, config=config, replicate=i)
                for i, s in enumerate(SCENARIOS)])
        finally:
            await client.aclose()
    return asyncio.run(all_of_them())


def test_thinking_off_switches_reasoning_off_and_turns_parse(server):
    records = negotiate(server, "off", 200)
    turns = [t for r in records for t in r.turns]
    parsed = sum(t.move.parsed for t in turns)
    assert parsed >= 0.99 * len(turns)
    assert not any(t.reasoning for t in turns) and sum(r.reasoning_tokens for r in records) == 0
    assert all(r.outcome is not OutcomeKind.ERROR for r in records)


def test_thinking_on_with_room_parses_moves_and_keeps_the_reasoning(server):
    records = negotiate(server, "on", 1024)
    turns = [t for r in records for t in r.turns]
    assert sum(t.move.parsed for t in turns) >= 0.99 * len(turns)
    assert all(t.reasoning.startswith("Let me weigh") for t in turns)
    assert all("<think>" not in t.text and "ACCEPT whatever" not in t.text for t in turns)
    assert all(c.reasoning_tokens >= THINK - 5 for r in records for c in r.calls)
    transcript = json.dumps(records[0].to_dict())
    assert "Let me weigh each item" in transcript
    assert all(r.outcome is not OutcomeKind.ERROR for r in records)


def test_thinking_on_with_200_tokens_counts_truncations_and_never_an_error(server):
    records = negotiate(server, "on", 200)
    assert all(r.outcome is OutcomeKind.TIMEOUT and r.error is None for r in records)
    assert all(r.truncated == r.n_turns > 0 for r in records)
    assert sum(r.agent_unparseable + r.opponent_unparseable for r in records) == 0
    assert all(c.finish_reason == "length" for r in records for c in r.calls)
