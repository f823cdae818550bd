"""The FAIR context format: parsing, writing, round trips and errors that name the line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from negoray.game.fair import FairFormatError, format_fair, parse_fair, read_fair, write_fair
from negoray.game.scenario import Scenario

SAMPLE = "1 4 4 1 1 2\n1 0 4 1 1 6\n\n3 1 1 4 2 1\n3 0 1 6 2 2\n"

vec = st.tuples(*[st.integers(0, 10**6)] * 3)


@st.composite
def scenario_lists(draw: st.DrawFn) -> list[Scenario]:
    n = draw(st.integers(0, 20))
    return [Scenario(f"s{i}", draw(vec), draw(vec), draw(vec)) for i in range(n)]


def triples(scenarios: list[Scenario]) -> list[tuple]:
    return [(s.counts, s.agent_values, s.opponent_values) for s in scenarios]


def test_parse_sample() -> None:
    a, b = parse_fair(SAMPLE)
    assert (a.id, a.counts, a.agent_values, a.opponent_values) == ("fair-0000", (1, 4, 1), (4, 1, 2), (0, 1, 6))
    assert (b.id, b.counts, b.agent_values, b.opponent_values) == ("fair-0001", (3, 1, 2), (1, 4, 1), (0, 6, 2))
    assert b.meta["line"] == 4
    assert format_fair([a, b]) == SAMPLE.replace("\n\n", "\n")


@given(scenario_lists())
def test_round_trip_any_scenarios(scenarios: list[Scenario]) -> None:
    assert triples(parse_fair(format_fair(scenarios))) == triples(scenarios)


def test_file_round_trip_and_ids(tmp_path: Path) -> None:
    scenarios = parse_fair(SAMPLE)
    path = tmp_path / "selfplay.txt"
    write_fair(scenarios, path)
    back = read_fair(path)
    assert [s.id for s in back] == ["selfplay-0000", "selfplay-0001"]
    assert triples(back) == triples(scenarios)


def test_crlf_and_surrounding_blank_lines() -> None:
    text = "\r\n  \r\n" + SAMPLE.replace("\n", "\r\n") + "\n\n"
    assert triples(parse_fair(text)) == triples(parse_fair(SAMPLE))


def test_empty_input_is_empty() -> None:
    assert parse_fair("") == [] and parse_fair("\n \n") == []


@pytest.mark.parametrize(
    ("text", "line_re", "what"),
    [
        ("1 4 4 1 1 2\n1 0 4 1 1\n", r"line 2\b", r"six integers.*got 5"),
        ("1 4 4 1 1 2 7\n1 0 4 1 1 6\n", r"line 1\b", r"six integers.*got 7"),
        ("\n\n1 4 4 x 1 2\n1 0 4 1 1 6\n", r"line 3\b", r"'x' is not an integer"),
        ("1 4 4 1 1 2\n1 0 4 1.5 1 6\n", r"line 2\b", r"'1.5' is not an integer"),
        ("1 4 4 1 1 2\n1 0 4 -1 1 6\n", r"line 2\b", r"negative number -1"),
        (SAMPLE + "\n1 4 -4 1 1 2\n1 0 4 1 1 6\n", r"line 7\b", r"negative"),
        ("1 4 4 1 1 2\n\n2 0 4 1 1 6\n", r"lines 1 and 3\b", r"counts differ"),
        (SAMPLE + "1 4 4 1 1 2\n", r"line 6\b", r"no partner"),
        (SAMPLE + "\n\n1 4 4 1 1\n", r"line 8\b", r"six integers"),
    ],
)
def test_malformed_names_the_line(text: str, line_re: str, what: str) -> None:
    with pytest.raises(FairFormatError, match=rf"^<text>: {line_re}.*{what}"):
        parse_fair(text)


def test_error_names_the_file_and_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("1 4 4 1 1 2\n1 0 4 1 1 6\n1 4 4 1 1 2\n")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: line 3: .*no partner"):
        read_fair(path)


def test_bad_later_pair_is_not_a_partial_load() -> None:
    text = SAMPLE * 3 + "1 1 1 1 1 1\n2 2 2 2 2 2\n"
    with pytest.raises(FairFormatError, match=r"lines 16 and 17: counts differ"):
        parse_fair(text)
