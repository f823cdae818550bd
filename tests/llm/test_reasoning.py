"""Reasoning is split from the answer, whichever way the server hands it back."""

from hypothesis import given
from hypothesis import strategies as st

from negoray.llm.reasoning import reasoning_tokens, split_reasoning

# text that holds no think tag of its own
plain = st.text(st.characters(blacklist_characters="<>"), max_size=60)


@given(reasoning=plain, answer=plain)
def test_a_leading_think_block_is_reasoning_and_only_what_follows_is_the_answer(reasoning, answer):
    assert split_reasoning({"content": f"<think>{reasoning}</think>{answer}"}) == (answer.strip(), reasoning.strip())


@given(reasoning=plain)
def test_a_block_cut_off_before_its_end_leaves_no_answer(reasoning):
    answer, thought = split_reasoning({"content": f"\n<think>{reasoning}"})
    assert answer == "" and thought == reasoning.strip()


@given(answer=plain)
def test_content_without_reasoning_is_all_answer(answer):
    assert split_reasoning({"content": answer}) == (answer, "")


def test_reasoning_fields_are_read_and_the_content_is_the_answer():
    assert split_reasoning({"content": "ACCEPT", "reasoning_content": "hmm"}) == ("ACCEPT", "hmm")
    assert split_reasoning({"content": "ACCEPT", "reasoning": "hmm"}) == ("ACCEPT", "hmm")
    assert split_reasoning({"content": "ACCEPT", "reasoning": "hmm", "reasoning_content": "hmm"}) == ("ACCEPT", "hmm")
    assert split_reasoning({"content": None, "reasoning_content": "still thinking"}) == ("", "still thinking")


def test_a_block_opened_by_the_template_ends_at_its_closing_tag():
    # Qwen3.5-style templates put <think> in the prompt: only the closing tag is generated.
    assert split_reasoning({"content": "weigh the hats\n</think>\n\nACCEPT"}) == ("ACCEPT", "weigh the hats")


def test_an_empty_block_from_thinking_off_leaves_the_answer():
    assert split_reasoning({"content": "<think>\n\n</think>\n\nREJECT"}) == ("REJECT", "")


def test_reasoning_tokens_come_from_the_completion_details():
    assert reasoning_tokens({"completion_tokens_details": {"reasoning_tokens": 42}}) == 42
    assert reasoning_tokens({"reasoning_tokens": 7}) == 7
    assert reasoning_tokens({"completion_tokens_details": None}) == 0
    assert reasoning_tokens({}) == 0
