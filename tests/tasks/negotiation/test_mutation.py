"""V7's mutation: what makes a child a strategy, the worst cases a reflective mutation sees, the requests."""

import asyncio

import pytest

from negoray.chat import ChatFailure, ChatParams, ChatReply
from negoray.evolution.mutation import extract_strategy
from negoray.game.dialogue import NegotiationConfig, run_negotiation
from negoray.game.scenario import Scenario
from negoray.sim.model import SimModel
from negoray.sim.strategy import read_strategy
from negoray.tasks.negotiation.mutation import FEEDBACK_HEADER, check_strategy, mutation_messages, worst_cases
from negoray.tasks.negotiation.seeds import SEED_STRATEGIES
from tests.evolution.test_mutation import NEW, PARENT


def test_check_accepts_a_good_child():
    assert check_strategy(NEW, PARENT) is None
    for style, prompt in SEED_STRATEGIES.items():  # every seed is a usable strategy
        assert check_strategy(prompt, NEW) is None, style


@pytest.mark.parametrize("text,reason", [
    (None, "empty"),
    ("", "empty"),
    ("I'm sorry, but I can't help with writing deceptive negotiation strategies.", "refusal"),
    ("I'm unable to write that strategy, as it encourages deception in a negotiation game.", "refusal"),
    ("I cannot assist with that request because it involves deception in negotiations, which I avoid.", "refusal"),
    ("Accept 40% or more.", "shorter"),
    (PARENT, "identical"),
    ("  " + PARENT.replace("\n", "  \n ").upper(), "identical"),
    (NEW.rsplit(";", 1)[0] + "; in the last round accept offers worth at least 40% of the", "truncated"),
    ("You are an assertive negotiator.\nOpen by demanding about 85% of your total value,", "truncated"),
    ("You are a friendly negotiator who likes books and hats.\nBe warm and polite at all times.", "mention"),
])
def test_check_rejects(text, reason):
    got = check_strategy(text, PARENT)
    assert got is not None and reason in got


def test_list_items_without_full_stops_are_a_strategy():
    text = "You are a firm negotiator.\n- Open at 80% of your value\n- Never accept less than 45%\n- Be friendly"
    assert check_strategy(text, PARENT) is None


SCENARIO = Scenario("s-1", (3, 2, 1), (1, 2, 3), (2, 1, 0))  # the pool is worth 10 to the agent


def negotiate(agent: list[str], opponent: list[str], scenario_id: str = "s-1", fail: bool = False):
    """A real negotiation on SCENARIO (renamed) with scripted replies; ``fail``: the opponent's
    first call fails (an infrastructure error)."""
    scripts = {"agent": list(agent), "opponent": list(opponent)}

    async def chat(messages, params):
        side = "agent" if "AGENT" in messages[0]["content"] else "opponent"
        if fail and side == "opponent":
            raise ChatFailure("server went away")
        return ChatReply(scripts[side].pop(0))

    scenario = Scenario(scenario_id, SCENARIO.counts, SCENARIO.agent_values, SCENARIO.opponent_values)
    return asyncio.run(run_negotiation("AGENT", "OPPONENT", scenario, chat, config=NegotiationConfig(max_rounds=2)))


ASK = "PROPOSE: I get [3 books, 2 hats, 1 ball], you get [0 books, 0 hats, 0 balls]"
OFFER = "PROPOSE: I get [3 books, 1 hat, 0 balls], you get [0 books, 1 hat, 1 ball]"


def test_worst_cases_are_the_lowest_scored_with_their_detail():
    deal = negotiate(["PROPOSE: I get [0 books, 2 hats, 1 ball], you get [3 books, 0 hats, 0 balls]"], ["ACCEPT"], "s-a")
    timeout = negotiate([ASK, ASK], [OFFER, OFFER], "s-t")
    error = negotiate([ASK], [], "s-e", fail=True)
    accepted = negotiate([ASK, "ACCEPT"], [OFFER, OFFER], "s-b")
    records = [deal, timeout, error, accepted]
    scenarios = {r.scenario_id: SCENARIO for r in records}
    worst = worst_cases(records, scenarios, n=3)
    assert [(w.scenario_id, w.outcome, w.score) for w in worst] == [("s-t", "timeout", 0.0), ("s-b", "agreed", 0.5),
                                                                   ("s-a", "agreed", 0.7)]
    assert len(worst_cases(records, scenarios)) == 3  # the error has no score: never a worst case
    t, b, a = (w.detail for w in worst)
    for detail in (t, b, a):
        assert "pool: [3 books, 2 hats, 1 ball]; your values: book = 1, hat = 2, ball = 3" in detail
        assert "worth 10 to you" in detail
    assert "ended: no deal after 4 messages" in t
    assert "you last asked for [3 books, 2 hats, 1 ball] (worth 10 of 10)" in t
    assert "the opponent last offered you [0 books, 1 hat, 1 ball] (worth 5 of 10)" in t
    assert "agreed in round 2 (you accepted the opponent's offer); you got [0 books, 1 hat, 1 ball] (worth 5 of 10)" in b
    assert "the opponent accepted your proposal" in a and "(worth 7 of 10)" in a
    assert worst_cases(records)[0].detail == ""  # no scenarios known: no detail


def test_mutation_messages():
    worst = worst_cases([negotiate([ASK, ASK], [OFFER, OFFER])], {"s-1": SCENARIO})
    random_msgs = mutation_messages("random", PARENT, 0.4, 0.5, worst)
    reflective = mutation_messages("reflective", PARENT, 0.4, 0.5, worst)
    assert FEEDBACK_HEADER not in random_msgs[1]["content"]
    content = reflective[1]["content"]
    assert FEEDBACK_HEADER in content and "- s-1: timeout, normalised score 0.00\n  pool: [3 books" in content
    assert "\n  ended: no deal" in content and "the opponent last offered you" in content
    assert PARENT in content
    with pytest.raises(ValueError):
        mutation_messages("crossover", PARENT, 0.4, 0.5, worst)


def test_the_sim_mutator_reads_a_reflective_request_with_details():
    worst = worst_cases([negotiate([ASK, ASK], [OFFER, OFFER])], {"s-1": SCENARIO})
    messages = mutation_messages("reflective", PARENT, 0.4, 0.5, worst)
    child = extract_strategy(SimModel().reply(messages, ChatParams(temperature=0.8, seed=1)).text)
    assert check_strategy(child, PARENT) is None
    assert read_strategy(child).floor < read_strategy(PARENT).floor  # a 50% deal rate lowers the floor
