"""Checking a config's values against its dataclasses' declared types, in words a user reads.

`typed_values` walks a config (sections included) to (dotted key, value, declared type);
`type_problem` says what a declared type allows when a value does not fit it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import types
import typing
from typing import Any
from urllib.parse import urlsplit


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_http_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def typed_values(config: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, value, declared type) for every field, sections included."""
    hints = typing.get_type_hints(type(config))
    out = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(hints[f.name]):
            if not isinstance(value, hints[f.name]):
                out.append((prefix + f.name, value, hints[f.name]))
            else:
                out += typed_values(value, f"{prefix}{f.name}.")
        else:
            out.append((prefix + f.name, value, hints[f.name]))
    return out


def type_problem(value: Any, expected: Any) -> str | None:
    """None if ``value`` fits the declared type ``expected``, else what is allowed, in words."""
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(expected)
        if any(type_problem(value, o) is None for o in options):
            return None
        return " or ".join(type_problem(None, o) or "nothing (leave it out)" for o in options)
    if origin is typing.Literal:
        choices = typing.get_args(expected)
        return None if value in choices else "one of " + ", ".join(repr(c) for c in choices)
    if origin is tuple:
        item = typing.get_args(expected)[0]
        if isinstance(value, tuple) and all(type_problem(v, item) is None for v in value):
            return None
        return f"a list whose items are each {type_problem(None, item) or 'a value'}"
    words = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    if expected is type(None):
        return None if value is None else "nothing (leave it out)"
    if expected is bool:
        return None if isinstance(value, bool) else words[bool]
    if expected is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else words[int]
    if expected is float:
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else words[float]
    if expected is str:
        return None if isinstance(value, str) else words[str]
    if dataclasses.is_dataclass(expected):
        return None if isinstance(value, expected) else "a table"
    return None  # a type this check does not know: accepted as is


