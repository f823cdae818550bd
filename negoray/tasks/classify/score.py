"""One classification call: the agent prompt as system message, the text and the label instruction as
user message; the reply parsed to a label and recorded as correct / wrong / unparseable / error.

An infrastructure failure (`ChatFailure`) is an ``error`` record with no score, never a 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from negoray.chat import CallUsage, ChatFailure, ChatFn, ChatParams, Message
from negoray.tasks.base import Column, ScoredRecord
from negoray.tasks.classify.data import Example
from negoray.tasks.classify.parse import UNPARSEABLE, parse_label

VERDICTS = ("correct", "wrong", "unparseable", "error")
"""The ``verdict`` column (the table's own ``outcome`` is ``scored`` or ``error``, as for any task)."""
LABELS_LINE = "Labels:"
"""Starts the user message's line of allowed labels (the sim reads it)."""
DOMAIN_LINE = "Domain:"

RECORD_COLUMNS: tuple[Column, ...] = (
    Column("domain", "string"), Column("label", "string"), Column("predicted", "string"), Column("verdict", "string"),
)
"""The classify task's own per-record columns (``predicted`` is null for an error; ``verdict``: `VERDICTS`)."""


def user_message(example: Example, labels: Sequence[str], show_domain: bool = True) -> str:
    """The text to classify and the instruction to answer with one of ``labels``."""
    domain = f"{DOMAIN_LINE} {example.domain}\n" if show_domain and example.domain else ""
    return (f"{domain}Text: {example.text}\n\n{LABELS_LINE} {', '.join(labels)}\n"
            "Answer with exactly one of the labels.")


def classify_messages(prompt: str, example: Example, labels: Sequence[str], show_domain: bool = True) -> list[Message]:
    return [{"role": "system", "content": prompt},
            {"role": "user", "content": user_message(example, labels, show_domain)}]


def outcome_of(predicted: str, label: str) -> str:
    if predicted == UNPARSEABLE:
        return "unparseable"
    return "correct" if predicted == label else "wrong"


async def classify_one(prompt: str, example: Example, chat: ChatFn, seed: int | None, replicate: int, *,
                       labels: Sequence[str], params: ChatParams = ChatParams(temperature=0.0, max_tokens=64),
                       show_domain: bool = True) -> ScoredRecord:
    """Classify ``example`` with ``prompt``: score 1 correct, 0 wrong or unparseable, None (an error) when
    the call failed after every retry."""
    fields = {"domain": example.domain, "label": example.label}
    call_params = ChatParams(temperature=params.temperature, max_tokens=params.max_tokens, seed=seed,
                             replicate=replicate, response_format=params.response_format)
    try:
        reply = await chat(classify_messages(prompt, example, labels, show_domain), call_params)
    except ChatFailure as e:
        return ScoredRecord(example.id, replicate, None, (CallUsage.of("agent", 0, None),), error=str(e) or type(e).__name__,
                            fields={**fields, "predicted": None, "verdict": "error"})
    predicted = parse_label(reply.text, labels)
    outcome = outcome_of(predicted, example.label)
    return ScoredRecord(example.id, replicate, 1.0 if outcome == "correct" else 0.0, (CallUsage.of("agent", 0, reply),),
                        fields={**fields, "predicted": predicted, "verdict": outcome})
