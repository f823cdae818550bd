"""The negotiation task (V7: Deal-or-No-Deal against a fixed opponent): its seed strategies, inputs,
mutation wording and columns; `make_task` is its factory (``task = "negotiation"``, the default).

The task's names are imported on first use, so that the sim can read this package's pieces (the
mutation wording) without importing the config and the evolution machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from negoray.tasks.negotiation.task import NegotiationTask, Summary, make_task, play_all

__all__ = ["NegotiationTask", "Summary", "make_task", "play_all"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'negoray.tasks.negotiation' has no attribute {name!r}")
    return getattr(importlib.import_module("negoray.tasks.negotiation.task"), name)
