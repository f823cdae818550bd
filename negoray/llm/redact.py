"""Keeping API keys out of everything negoray writes: messages, logs, results, the status line.

A server's error body may echo the request's ``Authorization`` header, so any text that came from
outside can carry a key. `redact` replaces every key this process knows -- the value of each
provider's ``*_API_KEY`` variable in the registry, profile keys, keys given in code (registered as
they are resolved) -- and any ``Bearer <token>`` with ``[redacted]``. `install_log_redaction` makes
every log record of the process pass through it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping

from negoray.llm.providers import PROVIDERS

REDACTED = "[redacted]"
MIN_SECRET_LEN = 8
"""Shorter values (``"x"``, ``"none"``) are not treated as secrets: replacing them would garble text."""
_PLACEHOLDERS = {"not-needed", "sk-no-key-required", "lm-studio", "ollama"}
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{4,}")

_registered: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember ``value`` (a key this process holds) so `redact` removes it from any text."""
    if value and len(value) >= MIN_SECRET_LEN and value not in _PLACEHOLDERS:
        with _lock:
            _registered.add(value)


def known_secrets(environ: Mapping[str, str] | None = None) -> set[str]:
    """Every key this process holds: the registry's key variables that are set, and registered keys."""
    environ = os.environ if environ is None else environ
    names = {s.api_key_env for s in PROVIDERS.values() if s.api_key_env}
    names |= {k for k in environ if k.endswith("_API_KEY")}
    values = {environ.get(n) or "" for n in names}
    with _lock:
        values |= _registered
    return {v for v in values if len(v) >= MIN_SECRET_LEN and v not in _PLACEHOLDERS}


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every known key and bearer token replaced by ``[redacted]``."""
    if not text:
        return text
    for secret in sorted(known_secrets() if secrets is None else secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _BEARER.sub(lambda m: m.group(1) + REDACTED, text)


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, "_negoray_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: leave it to logging's own error handling
        return record
    clean = redact(message)
    if clean != message or record.args:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._negoray_redacted = True
    return record


_installed = False


def install_log_redaction() -> None:
    """Make every log record this process creates redacted, whichever logger or handler takes it
    (a record factory, so Ray's and the SDK's loggers are covered too). Idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        return _redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
