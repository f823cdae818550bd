"""Reasoning replies in a negotiation: the move comes from the answer, truncation is its own kind of
lost turn, and an empty reply is asked again once before it counts as unparseable."""

import asyncio

from negoray.chat import ChatFailure, ChatParams, ChatReply, derive_seed
from negoray.game.dialogue import AGENT, EMPTY_REPLY, OPPONENT, TRUNCATED, NegotiationConfig, run_negotiation
from negoray.game.outcome import OutcomeKind
from negoray.game.scenario import Scenario

SCENARIO = Scenario("t-1", (3, 2, 1), (1, 2, 3), (2, 1, 0))
PROPOSE = "PROPOSE: I get [0 books, 2 hats, 1 ball], you get [3 books, 0 hats, 0 balls]"


class Replies:
    """Each side answers from its own list of ChatReply (or exceptions); records the params it got."""

    def __init__(self, agent, opponent):
        self.scripts = {AGENT: list(agent), OPPONENT: list(opponent)}
        self.params: list[ChatParams] = []

    async def __call__(self, messages, params):
        self.params.append(params)
        side = AGENT if "AGENT-STRATEGY" in messages[0]["content"] else OPPONENT
        reply = self.scripts[side].pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def reply(text, finish="stop", reasoning="", reasoning_tokens=0):
    return ChatReply(text, prompt_tokens=10, completion_tokens=5, finish_reason=finish, reasoning=reasoning,
                     reasoning_tokens=reasoning_tokens, provider="script", model="m")


def play(chat, **config):
    return asyncio.run(run_negotiation("AGENT-STRATEGY", "OPPONENT-STRATEGY", SCENARIO, chat,
                                       config=NegotiationConfig(**config)))


def test_the_move_is_read_from_the_answer_and_the_reasoning_is_kept_but_never_parsed():
    chat = Replies([reply(PROPOSE, reasoning="Maybe I should just ACCEPT?", reasoning_tokens=40)],
                   [reply("ACCEPT", reasoning="Fine.")])
    rec = play(chat)
    assert rec.outcome is OutcomeKind.AGREED and rec.turns[0].move.action.value == "propose"
    assert rec.turns[0].reasoning == "Maybe I should just ACCEPT?"
    assert rec.to_dict()["turns"][0]["reasoning"] == "Maybe I should just ACCEPT?"
    assert rec.reasoning_tokens == 40 and rec.calls[0].reasoning_tokens == 40


def test_a_reply_cut_by_max_tokens_before_a_move_is_truncated_not_unparseable_nor_an_error():
    chat = Replies([reply("", finish="length", reasoning="Let me think about the books"), reply(PROPOSE)],
                   [reply("PROPOSE: I get [3 bo", finish="length"), reply("ACCEPT")])
    rec = play(chat)
    assert rec.outcome is OutcomeKind.AGREED and rec.error is None
    assert rec.truncated == 2
    assert (rec.agent_unparseable, rec.opponent_unparseable) == (0, 0)
    assert (rec.agent_invalid, rec.opponent_invalid) == (1, 1)  # a truncated turn still costs the turn
    assert rec.turns[0].truncated and rec.turns[0].move.problem == TRUNCATED
    assert [c.finish_reason for c in rec.calls] == ["length", "length", "stop", "stop"]
    assert rec.to_dict()["turns"][0]["truncated"] is True


def test_a_reply_that_reached_max_tokens_after_its_move_still_counts_as_the_move():
    chat = Replies([reply(PROPOSE, finish="length")], [reply("ACCEPT")])
    rec = play(chat)
    assert rec.outcome is OutcomeKind.AGREED and rec.truncated == 0


def test_an_empty_reply_is_asked_again_once_with_a_fresh_seed_then_is_an_unparseable_empty_reply():
    chat = Replies([reply(""), reply("  "), reply(PROPOSE)], [reply("ACCEPT")] * 2)
    rec = play(chat, seed=7, max_rounds=2)
    first = rec.turns[0]
    assert not first.move.parsed and first.move.problem == EMPTY_REPLY and not first.truncated
    assert rec.agent_unparseable == 1 and rec.truncated == 0
    first_call = derive_seed(7, 1, "agent")  # the turn's own seed, then a fresh one for the retry
    assert [p.seed for p in chat.params[:3]] == [first_call, derive_seed(first_call, "empty-retry"),
                                                 derive_seed(7, 1, "opponent")]
    assert len(rec.calls) == rec.n_turns + 1  # the retry is a call of its own
    assert rec.outcome is OutcomeKind.AGREED


def test_an_empty_reply_answered_on_the_retry_is_the_move():
    chat = Replies([reply(""), reply(PROPOSE)], [reply("ACCEPT")])
    rec = play(chat)
    assert rec.outcome is OutcomeKind.AGREED and rec.agent_unparseable == 0 and len(rec.calls) == 3


def test_a_failed_retry_is_an_infrastructure_error():
    chat = Replies([reply(""), ChatFailure("down")], [])
    rec = play(chat)
    assert rec.outcome is OutcomeKind.ERROR and [c.ok for c in rec.calls] == [True, False]
