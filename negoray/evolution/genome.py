"""Genomes (an agent's strategy prompt) with their lineage, and seeded generators for every choice."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

import numpy as np


class Origin(str, Enum):
    """How a genome entered its generation."""

    SEED = "seed"
    """A hand-written seed strategy (generation 0)."""
    ELITE = "elite"
    """Survived unchanged (an elite, or a market survivor)."""
    MUTATION = "mutation"
    """A parent's mutated child."""
    CLONE = "clone"
    """A copy of its parent: the child failed gating, or no usable mutation came back."""


@dataclass(frozen=True)
class Genome:
    """One agent. ``lineage`` is the seed style its line descends from (for diversity measures)."""

    id: str
    run_id: str
    generation: int
    prompt: str
    origin: Origin
    lineage: str
    parent_id: str | None = None
    mutation_kind: str | None = None
    """``random`` or ``reflective`` for mutations (and the clones that replaced a rejected child)."""
    note: str = ""
    """Why a clone is a clone, and similar bookkeeping."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["origin"] = self.origin.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Genome:
        return cls(**{**d, "origin": Origin(d["origin"])})


def genome_id(run_id: str, generation: int, slot: int) -> str:
    return f"{run_id}-g{generation:02d}-{slot}"


def rejected_child_id(run_id: str, generation: int, slot: int) -> str:
    """The id under which a child that gating rejected appears in the gating rows: its own, not
    the id of the clone of its parent that takes the slot (``genome_id`` of the same slot)."""
    return f"{genome_id(run_id, generation, slot)}-rejected"


def rng_for(seed: int, *parts: str | int) -> np.random.Generator:
    """A generator determined by the experiment seed and a path of names, e.g. (run, generation,
    "tournament"): every random choice is reproducible and independent of execution order."""
    digest = hashlib.sha256("/".join(map(str, (seed, *parts))).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))
