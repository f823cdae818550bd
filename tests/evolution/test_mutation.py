"""Reading realistic mutation replies, rejecting unusable ones, and building the requests."""

import math

import pytest

from negoray.evolution.mutation import check_strategy, extract_strategy, looks_truncated, mutation_messages, worst_cases
from negoray.evolution.mutation_prompts import BEGIN, END, FEEDBACK_HEADER, WorstCase
from negoray.evolution.seeds import SEED_STRATEGIES

PARENT = SEED_STRATEGIES["aggressive"]
NEW = """You are an assertive negotiator.
Open by demanding about 85% of your total value.
Concede one low-value item per round, and only when the other side concedes too.
Never accept less than 45% of your total value; in the last round accept 40% or more."""


def test_markers():
    reply = f"Diagnosis: the floor is too high, so many talks end with no deal.\n\n{BEGIN}\n{NEW}\n{END}\n"
    assert extract_strategy(reply) == NEW


def test_last_complete_block_wins_when_the_old_one_is_quoted():
    reply = f"Old:\n{BEGIN}\n{PARENT}\n{END}\nNew:\n{BEGIN}\n{NEW}\n{END}"
    assert extract_strategy(reply) == NEW


@pytest.mark.parametrize("begin,end", [("<<<STRATEGY>>>", "<<<STRATEGY>>>"), ("<<< STRATEGY", "STRATEGY >>>"),
                                       ("<<<STRATEGY>>>", "<<</STRATEGY>>>"), ("<<<STRATEGY", "<<<END>>>")])
def test_marker_variants(begin, end):
    assert extract_strategy(f"{begin}\n{NEW}\n{end}") == NEW


def test_missing_end_marker():
    assert extract_strategy(f"Here you go.\n{BEGIN}\n{NEW}\n") == NEW


def test_missing_begin_marker():
    assert extract_strategy(f"Here is the improved prompt:\n{NEW}\n{END}") == NEW


def test_code_fence_inside_markers():
    assert extract_strategy(f"{BEGIN}\n```text\n{NEW}\n```\n{END}") == NEW


def test_fenced_without_markers_and_preamble():
    reply = f"Sure! Here is a different variation of the strategy:\n\n```\n{NEW}\n```\n\nThis version concedes more slowly."
    assert extract_strategy(reply) == NEW


def test_preamble_heading_and_postamble_without_markers():
    reply = f"**Improved Strategy Prompt:**\n\n{NEW}\n\nLet me know if you want a softer version."
    assert extract_strategy(reply) == NEW


def test_diagnosis_paragraph_without_markers():
    reply = f"Diagnosis: it walks away too often because its 50% floor is above what the opponent gives.\n\n{NEW}"
    assert extract_strategy(reply) == NEW


def test_nothing_usable():
    assert extract_strategy("") is None
    assert extract_strategy("   \n") is None
    assert extract_strategy(f"{BEGIN}\n\n{END}") is None


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


def test_list_items_without_full_stops_are_not_truncated():
    text = "You are a firm negotiator.\n- Open at 80% of your value\n- Never accept less than 45%\n- Be friendly"
    assert not looks_truncated(text)
    assert check_strategy(text, PARENT) is None
    assert looks_truncated("Open at 80% (of your")
    for ending in ("Accept any offer that benefits you", "Concede as little as you can", "Never give in",
                   "Accept 40% or more", "Give up the items you value least"):
        assert not looks_truncated(ending), ending
    for ending in ("Never accept less than", "Open at 80% of the", "Concede books and", "Trade hats for your"):
        assert looks_truncated(ending), ending


def test_worst_cases():
    scores = {"s1": 0.9, "s2": 0.0, "s3": 0.3, "s4": math.nan, "s5": 0.0, "s6": 0.5}
    outcomes = {"s1": "agreed", "s2": "no_deal", "s3": "agreed", "s5": "timeout", "s6": "agreed"}
    assert worst_cases(scores, outcomes, n=3) == [
        WorstCase("s2", "no_deal", 0.0), WorstCase("s5", "timeout", 0.0), WorstCase("s3", "agreed", 0.3)]
    assert len(worst_cases(scores, outcomes)) == 5
    assert worst_cases({"x": 0.1}, {})[0].outcome == "unknown"


def test_mutation_messages():
    worst = worst_cases({"s1": 0.1}, {"s1": "no_deal"})
    random_msgs = mutation_messages("random", PARENT, 0.4, 0.5, worst)
    reflective = mutation_messages("reflective", PARENT, 0.4, 0.5, worst)
    assert FEEDBACK_HEADER not in random_msgs[1]["content"]
    assert FEEDBACK_HEADER in reflective[1]["content"] and "s1: no_deal" in reflective[1]["content"]
    assert PARENT in reflective[1]["content"]
    with pytest.raises(ValueError):
        mutation_messages("crossover", PARENT, 0.4, 0.5, worst)


def test_text_inside_markers_is_kept_whole():
    prompt = NEW + "\n\nThis strategy never reveals which items matter to you.\n\nNote: accept early in round 5."
    assert extract_strategy(f"Here is the new prompt:\n{BEGIN}\n{prompt}\n{END}\nThis version is firmer.") == prompt
