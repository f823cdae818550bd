"""The FAIR (Lewis et al. 2017) context format.

One line per side, six integers ``count value count value count value`` (books, hats, balls),
in consecutive pairs: the agent's line, then the opponent's (the counts must match).
Blank lines are ignored; errors give the real 1-based line numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from negoray.game.scenario import Counts, Scenario

_INT = re.compile(r"-?[0-9]+")


class FairFormatError(ValueError):
    """Malformed FAIR context input; the message names the source and the line."""


def _parse_line(line: str, lineno: int, source: str) -> tuple[Counts, Counts]:
    """``(counts, values)`` from one line."""
    tokens = line.split()
    where = f"{source}: line {lineno}"
    if len(tokens) != 6:
        raise FairFormatError(
            f"{where}: expected six integers (count value count value count value), got {len(tokens)} field(s)"
        )
    nums = []
    for tok in tokens:
        if not _INT.fullmatch(tok):
            raise FairFormatError(f"{where}: {tok!r} is not an integer")
        nums.append(int(tok))
    negative = [x for x in nums if x < 0]
    if negative:
        raise FairFormatError(f"{where}: negative number {negative[0]} (counts and values must be >= 0)")
    return (nums[0], nums[2], nums[4]), (nums[1], nums[3], nums[5])


def parse_fair(text: str, source: str = "<text>", stem: str = "fair") -> list[Scenario]:
    """Scenarios from FAIR context text; ids are ``f"{stem}-{pair_index:04d}"``.

    Raises `FairFormatError` on the first problem, never returning a partial load.
    """
    lines = [(i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
    out: list[Scenario] = []
    for k in range(0, len(lines) - 1, 2):
        (la, a_line), (lo, o_line) = lines[k], lines[k + 1]
        counts, agent = _parse_line(a_line, la, source)
        o_counts, opp = _parse_line(o_line, lo, source)
        if counts != o_counts:
            raise FairFormatError(
                f"{source}: lines {la} and {lo}: counts differ between the two lines of a pair "
                f"({' '.join(map(str, counts))} vs {' '.join(map(str, o_counts))})"
            )
        out.append(Scenario(f"{stem}-{k // 2:04d}", counts, agent, opp, meta={"source": source, "line": la}))
    if len(lines) % 2:
        lineno, line = lines[-1]
        _parse_line(line, lineno, source)  # report a malformed line before the missing partner
        raise FairFormatError(
            f"{source}: line {lineno}: odd number of lines; the last line has no partner (opponent) line"
        )
    return out


def read_fair(path: str | Path) -> list[Scenario]:
    """Scenarios from a FAIR context file; ids use the file's stem."""
    path = Path(path)
    try:
        text = path.read_text()
    except UnicodeDecodeError as e:
        raise FairFormatError(f"{path}: not a text file: {e}") from None
    return parse_fair(text, source=str(path), stem=path.stem)


def format_fair(scenarios: Iterable[Scenario]) -> str:
    """FAIR context text: the agent's line, then the opponent's, for each scenario."""
    lines = []
    for s in scenarios:
        for values in (s.agent_values, s.opponent_values):
            lines.append(" ".join(f"{c} {v}" for c, v in zip(s.counts, values)))
    return "".join(line + "\n" for line in lines)


def write_fair(scenarios: Iterable[Scenario], path: str | Path) -> None:
    """Write `format_fair` text to ``path``."""
    Path(path).write_text(format_fair(scenarios))
