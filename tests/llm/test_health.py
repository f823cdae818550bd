"""`acheck_provider` (``negoray check``) in process: every server gets a verdict, none raises, and no
key is printed. The real command against real misbehaving servers is test_check_command.py."""

import asyncio

import httpx2
import pytest

from negoray.llm.config import LLMConfig
from negoray.llm.factory import client_for
from negoray.llm.health import acheck_provider
from negoray.sim.model import SIM_MODEL_NAME

KEY = "sk-health-canary-77f1"
OK = {"choices": [{"message": {"content": "OK"}, "finish_reason": "stop"}], "usage": {}}


def check(handler, **config):
    cfg = LLMConfig(provider="custom", base_url="http://server.test/v1", api_key=KEY, timeout_s=1.0, **config)
    client = client_for(cfg.resolve({}), transport=httpx2.MockTransport(handler))
    return asyncio.run(acheck_provider(cfg, client))


def routes(models=None, call=None):
    def handler(request):
        if request.url.path.endswith("/models"):
            return models(request) if models else httpx2.Response(200, json={"data": [{"id": "m1"}, {"id": "m2"}]})
        return call(request) if call else httpx2.Response(200, json=OK, headers={"x-ratelimit-limit-requests": "60"})
    return handler


def test_the_sim_is_healthy_in_process():
    report = asyncio.run(acheck_provider(LLMConfig(provider="sim")))
    assert report.ok and report.reachable and report.models == [SIM_MODEL_NAME] and report.latency_s is not None


def test_a_healthy_server_reports_models_latency_and_limits():
    report = check(routes())
    assert report.ok and report.models == ["m1", "m2"] and report.reply == "OK"
    assert report.limits == {"x-ratelimit-limit-requests": "60"} and report.latency_s >= 0


def test_a_server_without_models_is_still_reachable_and_ok():
    report = check(routes(models=lambda r: httpx2.Response(404, json={"error": {"message": "no route"}})))
    assert report.reachable and report.ok and report.models == []


@pytest.mark.parametrize("call,problem", [
    (lambda r: httpx2.Response(401, json={"error": {"message": f"bad key {KEY}", "code": "invalid_api_key"}}),
     "rejected the API key"),
    (lambda r: httpx2.Response(200, text="<html>hi</html>", headers={"content-type": "text/html"}),
     "the tiny call answered HTTP 200 with text/html"),
    (lambda r: httpx2.Response(200, json={"object": "nothing"}), "without choices[0].message"),
])
def test_a_bad_answer_is_a_verdict_not_an_exception(call, problem):
    report = check(routes(call=call))
    assert not report.ok and problem in report.problem
    assert KEY not in "\n".join(report.lines())


def test_a_server_that_hangs_gets_a_timeout_verdict():
    def hang(request):
        raise httpx2.ReadTimeout("timed out", request=request)

    report = check(hang)
    assert not report.ok and "no answer within 1s" in report.problem


def test_an_unreachable_server_says_so():
    def refuse(request):
        raise httpx2.ConnectError("connection refused", request=request)

    report = check(routes(call=refuse))
    assert not report.ok and "cannot connect" in report.problem


def test_a_config_error_is_a_verdict(monkeypatch):
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    report = asyncio.run(acheck_provider(LLMConfig(provider="groq")))
    assert not report.ok and "GROQ_API_KEY" in report.problem
