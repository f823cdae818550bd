"""The evolution's own settings: V7's groups (selection x mutation) and the market's parameters.

They live with the evolution that reads them; `negoray.config` re-exports both, and the
``[market]`` table of an experiment's TOML file parses into `MarketConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUPS: dict[str, tuple[str, str]] = {
    "A": ("tournament", "reflective"),
    "B": ("market", "random"),
    "C": ("market", "reflective"),
    "D": ("tournament", "random"),
}
"""V7's groups: selection x mutation. D is the control."""


SOFTMAX_BEFORE_THE_SETTING = "inverse"
"""The market softmax of every results directory written before ``[market] softmax`` existed."""


@dataclass(frozen=True)
class MarketConfig:
    """The market selection of groups B and C (``[market]``); defaults are V7's values."""

    temperature: float = 2.0
    """Softmax temperature of the clients' choice of agent (default 2.0)."""
    memory: int = 3
    """Generations of scores a client remembers when it chooses (default 3)."""
    exploration_bonus: float = 0.1
    """Utility bonus for an agent a client has not tried yet (default 0.1)."""
    min_clients: int = 2
    """Clients every agent is guaranteed each generation, at most clients // agents (default 2)."""
    death_fraction: float = 0.3
    """Share of the population, lowest revenue first and elites immune, replaced each generation
    (rounded half up, at least 1; default 0.3)."""
    softmax: str = "standard"
    """How ``temperature`` enters the clients' softmax: "standard" = exp(u / T), as the original V7
    code ("higher = more exploratory"); "inverse" = exp(T * u), a sharper choice (an option)."""
