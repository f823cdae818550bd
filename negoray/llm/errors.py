"""Which failures are worth retrying, and how long the server asked us to wait.

Retryable: 429, 408, 409, 5xx, connection errors, timeouts, and a local server whose model is not
loaded (LM Studio unloads models without warning; its "No models loaded" is transient behind a
``custom`` URL too). Fatal: a bad key (401/403), a bad request
(400/422), an unknown model on a cloud provider (404). Fatal errors stop the experiment with a
message a person can act on; they never carry the API key.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

import openai

from negoray.llm.redact import redact

_NO_MODELS = re.compile(r"no models? (?:is |are )?loaded", re.I)
"""LM Studio's words for an unloaded model, transient even behind a ``custom`` URL."""
_NOT_LOADED = re.compile(r"no models? (?:is |are )?loaded|model (?:is )?not loaded|unloaded|model_not_found|not found", re.I)


_UNLOADED = re.compile(r"no models? (?:is |are )?loaded|model (?:is )?not loaded|unloaded", re.I)


def says_not_loaded(message: str) -> bool:
    """Whether an error message says the model is not loaded (an overloaded LM Studio unloads it)."""
    return _UNLOADED.search(message) is not None


_DURATION = re.compile(r"(?P<n>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class FatalProviderError(RuntimeError):
    """A failure retrying cannot fix; the message says what to do. ``exit_code``: 2 when the user's
    configuration is wrong (key, model, URL), 1 otherwise."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class BudgetExceeded(RuntimeError):
    """The configured budget (dollars or tokens) is spent: no new calls are made."""


@dataclass(frozen=True)
class Verdict:
    retryable: bool
    retry_after_s: float | None = None
    reason: str = ""
    exit_code: int = 1
    """For a fatal verdict: 2 if the configuration must be fixed (key, model, URL), else 1."""


def parse_duration(text: str) -> float | None:
    """OpenAI-style reset durations: ``"1s"``, ``"6m0s"``, ``"120ms"``, ``"1h2m3.5s"``, or plain seconds."""
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = list(_DURATION.finditer(text))
    if not parts or "".join(p.group(0) for p in parts) != text:
        return None
    return sum(float(p.group("n")) * _UNIT_S[p.group("unit")] for p in parts)


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, then ``retry-after`` (seconds or an
    HTTP date), then the longest ``x-ratelimit-reset-*`` whose remaining count is exhausted (or the
    longest, if none says so). None if the headers say nothing."""
    h = {k.lower(): v for k, v in headers.items()}
    if (ms := h.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    if (ra := h.get("retry-after")) is not None:
        seconds = parse_duration(ra)
        if seconds is not None:
            return seconds
        try:
            when = email.utils.parsedate_to_datetime(ra).timestamp()
            return max(0.0, when - (time.time() if now is None else now))
        except (TypeError, ValueError):
            pass
    resets = {}
    for kind in ("requests", "tokens"):
        if (reset := h.get(f"x-ratelimit-reset-{kind}")) is not None and (s := parse_duration(reset)) is not None:
            resets[kind] = s
    if not resets:
        return None
    exhausted = [s for kind, s in resets.items() if h.get(f"x-ratelimit-remaining-{kind}", "").strip() == "0"]
    return max(exhausted or resets.values())


def _message(err: openai.APIStatusError) -> str:
    body = err.body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(err.message)


def classify(err: BaseException, *, provider: str, local: bool, key_env: str | None,
             key_hint: str | None = None) -> Verdict:
    """Retryable or fatal. Fatal reasons are phrased for the person who must fix them; ``key_hint``
    (`Endpoint.key_hint`) says where a rejected key came from. No reason carries a key (`redact`)."""
    if isinstance(err, (openai.APITimeoutError, openai.APIConnectionError)):
        return Verdict(True, None, f"{provider}: {type(err).__name__}")
    if not isinstance(err, openai.APIStatusError):
        return Verdict(False, None, redact(f"{provider}: unexpected {type(err).__name__}: {err}"))
    status, message = err.status_code, redact(_message(err))  # an error body may echo the Authorization header
    wait = retry_after(err.response.headers)
    if status in (408, 409, 429) or status >= 500:
        return Verdict(True, wait, f"{provider}: HTTP {status}: {message[:200]}")
    if status == 498:  # Groq flex: "capacity_exceeded", fails fast; retry with backoff (console.groq.com/docs/flex-processing)
        return Verdict(True, wait, f"{provider}: HTTP 498 flex capacity exceeded: {message[:200]}")
    if status in (400, 404, 503) and (_NOT_LOADED if local else _NO_MODELS).search(message):
        return Verdict(True, wait, f"{provider}: the model is not loaded ({message[:200]})")
    if status in (401, 403):
        hint = key_hint or (f"the key in {key_env}" if key_env else "the provider's API key")
        where = f"check {hint}"
        return Verdict(False, None, f"{provider} rejected the API key (HTTP {status}): {where}", exit_code=2)
    if status == 404:
        return Verdict(False, None, f"{provider}: HTTP 404 - unknown model or endpoint ({message[:200]}); "
                       "check --model and --base-url", exit_code=2)
    return Verdict(False, None, f"{provider}: HTTP {status} bad request: {message[:300]}")
