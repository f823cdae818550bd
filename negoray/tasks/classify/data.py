"""Classification examples from JSONL files, and their dev / val / test splits.

One example per line: ``{"text": str, "label": str, "domain": str (optional), "id": str (optional)}``.
Splits are three files, or one file drawn into three parts by a seeded shuffle. A bad line raises
`ExampleFileError` naming the file, the line and the field.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SPLITS = ("dev", "val", "test")
DEFAULT_FRACTIONS = {"dev": 0.5, "val": 0.25}
"""The dev and val shares of a file drawn into splits (test gets the rest)."""


class ExampleFileError(ValueError):
    """A JSONL example file that cannot be read: the message names the file, line and field."""


@dataclass(frozen=True)
class Example:
    """One text to classify (a market client); ``id`` is stable: given in the file, or derived from
    the file's name and the line's content."""

    id: str
    text: str
    label: str
    domain: str = ""


def _stable_id(path: Path, text: str, label: str, domain: str) -> str:
    digest = hashlib.sha256(json.dumps([text, label, domain]).encode()).hexdigest()[:12]
    return f"{path.stem}-{digest}"


def _field(row: Mapping[str, object], key: str, where: str, required: bool) -> str:
    value = row.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        kind = "missing" if value is None else f"a {type(value).__name__}, not a string"
        raise ExampleFileError(f"{where}: field {key!r} is {kind}")
    if required and not value.strip():
        raise ExampleFileError(f"{where}: field {key!r} is empty")
    return value


def read_examples(path: str | Path, labels: Sequence[str]) -> list[Example]:
    """Every example of a JSONL file (blank lines skipped), in file order; labels must be in ``labels``
    and ids unique."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ExampleFileError(f"{path}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise ExampleFileError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    examples: list[Example] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ExampleFileError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(row, dict):
            raise ExampleFileError(f"{where}: expected a JSON object with 'text' and 'label', got {type(row).__name__}")
        text = _field(row, "text", where, required=True)
        label = _field(row, "label", where, required=True)
        if label not in labels:
            raise ExampleFileError(f"{where}: field 'label' is {label!r}, not one of {', '.join(map(repr, labels))}")
        domain = _field(row, "domain", where, required=False)
        given = _field(row, "id", where, required=False)
        example_id = given or _stable_id(path, text, label, domain)
        if example_id in seen:
            raise ExampleFileError(f"{where}: field 'id' {example_id!r} repeats line {seen[example_id]}"
                                   + ("" if given else " (the same text, label and domain)"))
        seen[example_id] = n
        examples.append(Example(example_id, text, label, domain))
    if not examples:
        raise ExampleFileError(f"{path}: no examples")
    return examples


def draw_splits(examples: Sequence[Example], fractions: Mapping[str, float], seed: int) -> dict[str, list[Example]]:
    """dev / val / test drawn from one list by a shuffle seeded with ``seed``; ``fractions`` gives
    the dev and val shares (test gets the rest). Each split keeps file order."""
    dev, val = float(fractions.get("dev", 0.0)), float(fractions.get("val", 0.0))
    if not (0 < dev and 0 <= val and dev + val < 1):
        raise ValueError(f"split fractions: dev > 0, val >= 0 and dev + val < 1 required, got dev={dev}, val={val}")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_dev, n_val = round(dev * len(order)), round(val * len(order))
    parts = {"dev": order[:n_dev], "val": order[n_dev:n_dev + n_val], "test": order[n_dev + n_val:]}
    return {name: [examples[i] for i in sorted(idx)] for name, idx in parts.items()}


def load_splits(files: Mapping[str, str | Path] | str | Path, labels: Sequence[str],
                fractions: Mapping[str, float] | None = None, seed: int = 0) -> dict[str, list[Example]]:
    """The three splits: ``files`` maps dev / val / test to a file each, or is one file drawn into
    splits with ``fractions`` and ``seed``. An id must not appear in two splits."""
    if isinstance(files, (str, Path)):
        splits = draw_splits(read_examples(files, labels), fractions or DEFAULT_FRACTIONS, seed)
    else:
        splits = {name: read_examples(files[name], labels) for name in SPLITS}
    owner: dict[str, str] = {}
    for name in SPLITS:
        for e in splits[name]:
            if e.id in owner:
                raise ExampleFileError(f"example {e.id!r} is in both {owner[e.id]} and {name}")
            owner[e.id] = name
    return splits
