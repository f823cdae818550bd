"""A model's reply to a classification request, read as one of the configured labels.

Tolerant and total: it never raises. Tried in order: a JSON object's ``"label"``, a ``Label: X``
line, the whole reply being a label (case and punctuation aside), then the label words the reply
contains -- exactly one distinct label is an answer, none or several is `UNPARSEABLE`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

UNPARSEABLE = "unparseable"
"""The outcome of a reply that names no label, or more than one: its own outcome, scored 0."""

_JSON_OBJECT = re.compile(r"\{[^{}]*\}", re.S)
_LABEL_LINE = re.compile(r"^\W*(?:final\s+)?(?:label|answer|class|category|sentiment)\s*[:=\-]\s*(.+)$", re.I | re.M)


def _normal(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text).strip().lower()


def _exact(text: str, labels: Sequence[str]) -> str | None:
    wanted = _normal(text)
    return next((label for label in labels if _normal(label) == wanted), None)


def _mentioned(text: str, labels: Sequence[str]) -> list[str]:
    padded = f" {_normal(text)} "
    return [label for label in labels if _normal(label) and f" {_normal(label)} " in padded]


def _from_json(reply: str, labels: Sequence[str]) -> str | None:
    for match in _JSON_OBJECT.finditer(reply):
        try:
            obj = json.loads(match.group(0))
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("label"), str):
            return _exact(obj["label"], labels) or UNPARSEABLE
    return None


def parse_label(reply: str, labels: Sequence[str]) -> str:
    """The label ``reply`` gives (spelled as in ``labels``), or `UNPARSEABLE`."""
    if not isinstance(reply, str) or not reply.strip() or not labels:
        return UNPARSEABLE
    found = _from_json(reply, labels)
    if found is not None:
        return found
    for line in _LABEL_LINE.findall(reply):
        named = _mentioned(line, labels)
        if len(named) == 1:
            return named[0]
    exact = _exact(reply, labels)
    if exact is not None:
        return exact
    named = _mentioned(reply, labels)
    return named[0] if len(named) == 1 else UNPARSEABLE
