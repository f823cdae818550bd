"""run_negotiation with scripted chat functions: turn order, acceptance, wasted turns, errors."""

import asyncio

import pytest

from negoray.chat import ChatFailure, ChatParams, ChatReply
from negoray.game.dialogue import AGENT, OPPONENT, NegotiationConfig, run_negotiation
from negoray.game.outcome import OutcomeKind, TimeoutPolicy
from negoray.game.scenario import Scenario

SCENARIO = Scenario("t-1", (3, 2, 1), (1, 2, 3), (2, 1, 0))


class Scripted:
    """Replies from two scripts (agent's, opponent's), recording the prompts each side saw."""

    def __init__(self, agent, opponent):
        self.scripts = {AGENT: list(agent), OPPONENT: list(opponent)}
        self.seen = {AGENT: [], OPPONENT: []}

    async def __call__(self, messages, params: ChatParams) -> ChatReply:
        side = AGENT if "AGENT-STRATEGY" in messages[0]["content"] else OPPONENT
        self.seen[side].append(messages[1]["content"])
        reply = self.scripts[side].pop(0)
        if isinstance(reply, Exception):
            raise reply
        return ChatReply(reply, prompt_tokens=10, completion_tokens=5, latency_s=0.01, provider="script", model="m")


def play(chat, **config):
    return asyncio.run(
        run_negotiation("AGENT-STRATEGY", "OPPONENT-STRATEGY", SCENARIO, chat, config=NegotiationConfig(**config))
    )


def test_agent_proposal_accepted_by_opponent():
    chat = Scripted(["PROPOSE: I get [0 books, 2 hats, 1 ball], you get [3 books, 0 hats, 0 balls]"], ["ACCEPT"])
    rec = play(chat)
    assert rec.outcome is OutcomeKind.AGREED
    assert rec.metrics.agent_share == (0, 2, 1)
    assert (rec.metrics.agent_score, rec.metrics.opponent_score) == (7, 6)
    assert rec.metrics.pareto_optimal and rec.n_turns == 2 and len(rec.calls) == 2
    assert rec.prompt_tokens == 20 and rec.completion_tokens == 10


def test_opponent_proposal_accepted_by_agent_scores_the_complement():
    chat = Scripted(
        ["PROPOSE: I get [3 books, 2 hats, 1 ball], you get [0 books, 0 hats, 0 balls]", "ACCEPT"],
        ["REJECT\nPROPOSE: I get [2 books, 0 hats, 0 balls], you get [1 book, 2 hats, 1 ball]"],
    )
    rec = play(chat)
    assert rec.outcome is OutcomeKind.AGREED and rec.metrics.agent_share == (1, 2, 1)
    # the agent saw the opponent's offer from its own point of view
    assert "Standing proposal from the other side: you get [1 book, 2 hats, 1 ball]" in chat.seen[AGENT][1]
    assert "they: REJECT and counter-propose: you get [1 book, 2 hats, 1 ball], they get [2 books, 0 hats, 0 balls]" in chat.seen[AGENT][1]
    # and the opponent saw the agent's opening from its own
    assert "Round 1 - you:" not in chat.seen[OPPONENT][0]
    assert "they: PROPOSE: you get [0 books, 0 hats, 0 balls], they get [3 books, 2 hats, 1 ball]" in chat.seen[OPPONENT][0]


def test_accept_without_standing_proposal_is_a_wasted_turn_and_timeout_scores_zero():
    chat = Scripted(["ACCEPT", "gibberish", "I get 9 books", "ACCEPT", "ACCEPT"], ["hmm"] * 5)
    rec = play(chat)
    assert rec.outcome is OutcomeKind.TIMEOUT and rec.n_turns == 10
    assert rec.metrics.agent_score == 0 and not rec.metrics.pareto_optimal
    assert rec.agent_invalid == 5 and rec.agent_unparseable == 1 and rec.opponent_unparseable == 5
    assert "no standing proposal" in rec.turns[0].move.problem


def test_timeout_policy_last_proposal_scores_the_standing_offer():
    proposal = "PROPOSE: I get [3 books, 0 hats, 0 balls], you get [0 books, 2 hats, 1 ball]"
    chat = Scripted([proposal] * 2, ["REJECT"] * 2)
    rec = play(chat, max_rounds=2, timeout_policy=TimeoutPolicy.LAST_PROPOSAL)
    assert rec.outcome is OutcomeKind.TIMEOUT and rec.metrics.agent_share == (3, 0, 0)
    assert rec.metrics.agent_score == 3
    assert play(Scripted([proposal] * 2, ["REJECT"] * 2), max_rounds=2).metrics.agent_score == 0


def test_infrastructure_failure_is_an_error_never_a_score():
    chat = Scripted(["PROPOSE: I get [3 books, 2 hats, 1 ball]"], [ChatFailure("server went away")])
    rec = play(chat)
    assert rec.outcome is OutcomeKind.ERROR and "server went away" in rec.error
    assert rec.metrics is None and rec.to_dict()["metrics"] is None  # no score, not a 0
    assert [c.ok for c in rec.calls] == [True, False]


def test_other_exceptions_propagate():
    with pytest.raises(KeyError):
        play(Scripted([KeyError("bug")], []))


def test_record_serialises_to_json():
    import json

    chat = Scripted(["PROPOSE: I get [0 books, 2 hats, 1 ball]"], ["ACCEPT"])
    d = play(chat).to_dict()
    assert json.loads(json.dumps(d))["outcome"] == "agreed"
    assert d["turns"][0]["move"]["share"] == [0, 2, 1]
