"""Turns lost to max_tokens are counted in the negotiations table and called out by the report."""

import asyncio

from negoray.chat import ChatReply
from negoray.game.dialogue import NegotiationConfig, run_negotiation
from negoray.game.scenario import Scenario
from negoray.results.report import write_report
from negoray.results.rows import call_rows
from negoray.results.writer import ResultsWriter, read_table
from tests.results.synthetic import COLUMNS, WRITE, build, negotiation_row


async def still_thinking(messages, params):
    return ChatReply("", prompt_tokens=50, completion_tokens=params.max_tokens, finish_reason="length",
                     reasoning="Let me weigh the books", reasoning_tokens=params.max_tokens)


def test_truncated_turns_are_a_column_and_the_report_says_what_to_change(tmp_path, pool):
    build(tmp_path, pool, groups=("A",), runs=1, generations=1, test=False, baseline=False)
    record = asyncio.run(run_negotiation("a", "b", Scenario("s", (1, 2, 3), (1, 1, 1), (1, 1, 1)), still_thinking,
                                         config=NegotiationConfig(max_rounds=2)))
    row = negotiation_row(record, run_id="baseline", group=None, seed=None, generation=None, agent_id="greedy",
                          split="test", phase="baseline", price_in=1.0, price_out=2.0)
    assert (row["outcome"], row["truncated"], row["agent_unparseable"], row["reasoning_tokens"]) == ("timeout", 4, 0, 800)
    assert row["cost_usd"] == (4 * 50 * 1.0 + 4 * 200 * 2.0) / 1e6  # reasoning is priced as output
    writer = ResultsWriter(tmp_path)
    writer.write_extra("negotiations", "baseline", [row], COLUMNS["negotiations"], WRITE["outcomes"])
    writer.write_extra("calls", "baseline", call_rows(record, run_id="baseline", generation=None, agent_id="greedy",
                                                       phase="baseline"))
    calls = read_table(tmp_path, "calls", ["phase", "finish_reason", "reasoning_tokens"]).to_pylist()
    assert {(c["finish_reason"], c["reasoning_tokens"]) for c in calls if c["phase"] == "baseline"} == {("length", 200)}
    text = write_report(tmp_path).read_text()
    assert "| seed baseline | 1 | 0 (0%) | 1 (100%) | 0 (0%) | 4 | 0 | 4 |" in text
    assert "4 turn(s)" in text and "lost to truncation" in text and "`--thinking off`" in text
    assert "800 reasoning tokens" in text


def test_a_report_without_truncation_has_no_truncation_note(full):
    assert "lost to truncation" not in write_report(full).read_text()
