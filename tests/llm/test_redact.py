"""Keys never leave negoray: redaction of text, log records, errors and results rows (issue 12 item 4)."""

import asyncio
import logging

import httpx2
import pytest
from hypothesis import given, strategies as st

from negoray.chat import ChatFailure, ChatParams
from negoray.game.dialogue import run_negotiation
from negoray.game.generators import generate
from negoray.llm.client import LLMClient
from negoray.llm.config import LLMConfig, parse_profiles
from negoray.llm.errors import FatalProviderError
from negoray.llm.redact import REDACTED, install_log_redaction, known_secrets, redact, register_secret
from negoray.results.rows import negotiation_row
from negoray.tasks.negotiation import NegotiationTask

from .vtime import VirtualTime

CANARY = "sk-canary-0123456789abcdef"


def echo(status):
    def answer(request):
        auth = request.headers.get("authorization", "")
        return httpx2.Response(status, json={"error": {"message": f"headers: Authorization: {auth}"}})
    return answer


def client_with_key(handler, vt, **config):
    endpoint = LLMConfig(provider="custom", base_url="http://server.test/v1", api_key=CANARY, max_attempts=2,
                         **config).resolve({})
    return LLMClient(endpoint, transport=httpx2.MockTransport(handler), sleep=vt.sleep, clock=vt)


@given(prefix=st.text(max_size=30), suffix=st.text(max_size=30))
def test_a_registered_key_never_survives_redaction(prefix, suffix):
    register_secret(CANARY)
    out = redact(prefix + CANARY + suffix + CANARY)
    assert CANARY not in out and REDACTED in out


def test_provider_key_variables_and_bearer_tokens_are_redacted(monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "gsk_live_abcdefghijkl")
    monkeypatch.setenv("MY_TEAM_API_KEY", "team-secret-123456")
    assert "gsk_live_abcdefghijkl" in known_secrets()
    text = redact("groq said gsk_live_abcdefghijkl, team team-secret-123456, Authorization: Bearer unknown-token-xyz")
    assert "gsk_live" not in text and "team-secret" not in text and "unknown-token-xyz" not in text
    assert redact("not-needed and a short x") == "not-needed and a short x"  # placeholders are not secrets


def test_profile_keys_are_known_once_the_profile_is_read():
    parse_profiles({"providers": {"box": {"base_url": "http://box/v1", "api_key": "profile-key-777777"}}})
    assert redact("echo profile-key-777777") == f"echo {REDACTED}"


@pytest.mark.parametrize("status", [400, 500])
def test_echoed_keys_leave_no_trace_in_errors_records_or_rows(status):
    vt = VirtualTime()
    chat = client_with_key(echo(status), vt)
    error = FatalProviderError if status == 400 else ChatFailure
    with pytest.raises(error) as info:
        asyncio.run(chat([{"role": "user", "content": "hi"}], ChatParams()))
    assert CANARY not in str(info.value) and REDACTED in str(info.value)
    if status == 500:  # a failed negotiation records the failure, and its row stores it
        scenario = generate("v7", 1, 1)[0]
        record = asyncio.run(run_negotiation("agent", "opponent", scenario, client_with_key(echo(500), vt)))
        assert record.error and CANARY not in record.error
        row = negotiation_row(record, run_id="A1", group="A", seed=1, generation=0, agent_id="a", split="dev",
                              phase="eval", price_in=None, price_out=None, task_fields=NegotiationTask().record_row(record))
        assert CANARY not in repr(row)


def test_every_log_record_is_redacted_whatever_its_logger(caplog):
    install_log_redaction()
    register_secret(CANARY)
    with caplog.at_level(logging.INFO):
        logging.getLogger("ray.somewhere").warning("server said %s", f"Bearer {CANARY}")
        try:
            raise RuntimeError(f"boom {CANARY}")
        except RuntimeError:
            logging.getLogger("x").exception("failed")
    assert CANARY not in caplog.text
    assert all(CANARY not in (r.exc_text or "") for r in caplog.records)
