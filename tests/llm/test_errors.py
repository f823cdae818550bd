import httpx2
import openai
import pytest

from negoray.llm.errors import classify, parse_duration, retry_after


@pytest.mark.parametrize("text,seconds", [("1s", 1.0), ("6m0s", 360.0), ("120ms", 0.12), ("1h2m3.5s", 3723.5),
                                          ("2.5", 2.5), ("0", 0.0), ("soon", None), ("1x", None)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_retry_after_prefers_ms_then_seconds_then_resets():
    assert retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({"retry-after": "Wed, 25 Nov 2026 12:00:10 GMT"}, now=1795608000.0) == 10.0
    assert retry_after({"x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "30s",
                        "x-ratelimit-remaining-requests": "0", "x-ratelimit-remaining-tokens": "500"}) == 2.0
    assert retry_after({"x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "30s"}) == 30.0
    assert retry_after({}) is None


def status_error(status: int, message: str, headers=None) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://x/v1/chat/completions")
    response = httpx2.Response(status, json={"error": {"message": message}}, headers=headers or {}, request=request)
    client = openai.OpenAI(api_key="k", base_url="http://x/v1")
    return client._make_status_error_from_response(response)


@pytest.mark.parametrize("status,message,local,retryable", [
    (429, "rate limited", False, True), (408, "timeout", False, True), (409, "conflict", False, True),
    (500, "boom", False, True), (503, "overloaded", False, True), (401, "bad key", False, False),
    (403, "forbidden", False, False), (400, "bad request", False, False), (422, "unprocessable", False, False),
    (404, "model not found", False, False), (404, "model not found", True, True),
    (400, "No models loaded. Please load a model", True, True), (400, "No models loaded", False, True),
])
def test_classify_status(status, message, local, retryable):
    verdict = classify(status_error(status, message), provider="p", local=local, key_env="P_KEY")
    assert verdict.retryable is retryable


def test_fatal_key_error_names_the_variable_not_the_key():
    verdict = classify(status_error(401, "invalid key sk-secret"), provider="groq", local=False, key_env="GROQ_API_KEY")
    assert "GROQ_API_KEY" in verdict.reason and "sk-secret" not in verdict.reason


def test_connection_errors_are_retryable():
    request = httpx2.Request("POST", "http://x/v1/chat/completions")
    assert classify(openai.APIConnectionError(request=request), provider="p", local=False, key_env=None).retryable
    assert classify(openai.APITimeoutError(request=request), provider="p", local=False, key_env=None).retryable


def test_429_carries_retry_after():
    verdict = classify(status_error(429, "slow", {"retry-after-ms": "250"}), provider="p", local=False, key_env=None)
    assert verdict.retry_after_s == 0.25


@pytest.mark.parametrize("status,exit_code", [(401, 2), (403, 2), (404, 2), (400, 1), (422, 1)])
def test_a_fatal_verdict_says_whether_the_configuration_is_at_fault(status, exit_code):
    """Issue 12 item 5: a bad key, model or URL exits 2 (fix the configuration); other fatal errors 1."""
    verdict = classify(status_error(status, "nope"), provider="p", local=False, key_env="P_KEY")
    assert not verdict.retryable and verdict.exit_code == exit_code
