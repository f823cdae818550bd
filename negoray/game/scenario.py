"""A Deal-or-No-Deal scenario: a pool of books, hats and balls and each side's private values."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ITEMS: tuple[str, str, str] = ("books", "hats", "balls")
"""Item types, in the order every count and value vector uses."""

Counts = tuple[int, int, int]


@dataclass(frozen=True)
class Scenario:
    """One negotiation setting. ``agent_values``/``opponent_values`` are per-item values."""

    id: str
    counts: Counts
    agent_values: Counts
    opponent_values: Counts
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for name in ("counts", "agent_values", "opponent_values"):
            vec = getattr(self, name)
            if len(vec) != len(ITEMS) or any(not isinstance(x, int) or x < 0 for x in vec):
                raise ValueError(f"scenario {self.id!r}: {name} must be {len(ITEMS)} non-negative integers, got {vec!r}")
            object.__setattr__(self, name, tuple(vec))

    @property
    def agent_max(self) -> int:
        """The agent's value of the whole pool."""
        return sum(c * v for c, v in zip(self.counts, self.agent_values))

    @property
    def opponent_max(self) -> int:
        """The opponent's value of the whole pool."""
        return sum(c * v for c, v in zip(self.counts, self.opponent_values))

    def swapped(self) -> Scenario:
        """The same scenario seen from the other side."""
        return Scenario(self.id, self.counts, self.opponent_values, self.agent_values, self.meta)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "counts": list(self.counts),
            "agent_values": list(self.agent_values),
            "opponent_values": list(self.opponent_values),
        }
        if self.meta:
            d["meta"] = dict(self.meta)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Scenario:
        missing = [k for k in ("id", "counts", "agent_values", "opponent_values") if k not in d]
        if missing:
            raise ValueError(f"scenario is missing key(s) {', '.join(missing)}")
        return cls(
            id=str(d["id"]),
            counts=tuple(d["counts"]),
            agent_values=tuple(d["agent_values"]),
            opponent_values=tuple(d["opponent_values"]),
            meta=dict(d.get("meta", {})),
        )


def scenarios_to_json(scenarios: Iterable[Scenario]) -> str:
    """A JSON array of scenarios, one object each."""
    return json.dumps([s.to_dict() for s in scenarios], indent=1)


def scenarios_from_json(text: str, source: str = "<json>") -> list[Scenario]:
    """Parse what `scenarios_to_json` wrote; errors name the source and the entry."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{source}: not valid JSON: {e}") from None
    if not isinstance(data, list):
        raise ValueError(f"{source}: expected a JSON array of scenarios")
    out = []
    for i, d in enumerate(data):
        try:
            out.append(Scenario.from_dict(d))
        except (ValueError, TypeError) as e:
            raise ValueError(f"{source}: entry {i}: {e}") from None
    return out


def load_scenarios_json(path: str | Path) -> list[Scenario]:
    path = Path(path)
    return scenarios_from_json(path.read_text(), str(path))


def save_scenarios_json(scenarios: Sequence[Scenario], path: str | Path) -> None:
    Path(path).write_text(scenarios_to_json(scenarios) + "\n")
