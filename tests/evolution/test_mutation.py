"""Reading realistic mutation replies (any task's): the extraction and the truncation check."""

import pytest

from negoray.evolution.mutation import extract_strategy, looks_truncated
from negoray.evolution.mutation_prompts import BEGIN, END
from negoray.tasks.negotiation.seeds import SEED_STRATEGIES

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


def test_list_items_without_full_stops_are_not_truncated():
    text = "You are a firm negotiator.\n- Open at 80% of your value\n- Never accept less than 45%\n- Be friendly"
    assert not looks_truncated(text)
    assert looks_truncated("Open at 80% (of your")
    for ending in ("Accept any offer that benefits you", "Concede as little as you can", "Never give in",
                   "Accept 40% or more", "Give up the items you value least"):
        assert not looks_truncated(ending), ending
    for ending in ("Never accept less than", "Open at 80% of the", "Concede books and", "Trade hats for your"):
        assert looks_truncated(ending), ending


def test_text_inside_markers_is_kept_whole():
    prompt = NEW + "\n\nThis strategy never reveals which items matter to you.\n\nNote: accept early in round 5."
    assert extract_strategy(f"Here is the new prompt:\n{BEGIN}\n{prompt}\n{END}\nThis version is firmer.") == prompt
