"""`check_provider`: is an endpoint reachable, which models does it list, does one tiny call work,
how long it took, and which limits it reports in its headers."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx2
import openai

from negoray.llm.client import LLMClient
from negoray.llm.config import ConfigError, Endpoint, LLMConfig
from negoray.llm.errors import classify
from negoray.llm.factory import client_for
from negoray.llm.local_server import with_local_server
from negoray.llm.redact import redact


@dataclass
class HealthReport:
    provider: str
    base_url: str
    model: str
    ok: bool = False
    reachable: bool = False
    models: list[str] = field(default_factory=list)
    reply: str = ""
    latency_s: float | None = None
    limits: dict[str, str] = field(default_factory=dict)
    problem: str = ""
    notes: list[str] = field(default_factory=list)
    """Oddities that are not failures (no /models, a /models page that is not JSON)."""

    def lines(self) -> list[str]:
        status = "OK" if self.ok else "FAILED"
        out = [f"{self.provider} ({self.base_url or 'in process'}) model {self.model}: {status}"]
        out.append(f"  reachable: {'yes' if self.reachable else 'no'}")
        if self.models:
            more = f" (+{len(self.models) - 8} more)" if len(self.models) > 8 else ""
            out.append(f"  models: {', '.join(self.models[:8])}{more}")
        if self.latency_s is not None:
            reply = f", reply {self.reply[:60]!r}" if self.ok else ""
            out.append(f"  one tiny call: {self.latency_s * 1000:.0f} ms{reply}")
        if self.limits:
            out.append("  limits reported: " + ", ".join(f"{k}={v}" for k, v in sorted(self.limits.items())))
        for note in self.notes:
            out.append(f"  note: {note}")
        if self.problem:
            out.append(f"  problem: {self.problem}")
        return [redact(line) for line in out]  # whatever the server sent back, no key is printed


DEFAULT_CHECK_TIMEOUT_S = 10.0
"""How long `negoray check` waits for each answer (connect and read): a hanging server is a verdict in
seconds, not after the two-minute timeout of a real run."""


def _describe_body(raw: httpx2.Response) -> str:
    kind = raw.headers.get("content-type", "no content type").split(";")[0]
    return f"HTTP {raw.status_code} with {kind}, not the JSON an OpenAI-compatible API sends"


def _problem(e: BaseException, ep: Endpoint, what: str, timeout_s: float) -> str:
    spec = ep.spec
    if isinstance(e, openai.APITimeoutError):
        return f"{what}: no answer within {timeout_s:g}s (the server hangs or is overloaded); --timeout to wait longer"
    if isinstance(e, openai.APIConnectionError):
        return f"{what}: cannot connect to {ep.url} ({redact(str(e.__cause__ or e))}); is the server running?"
    if isinstance(e, openai.APIError):
        return classify(e, provider=spec.name, local=spec.local, key_env=spec.api_key_env, key_hint=ep.key_hint).reason
    return redact(f"{what}: malformed response ({type(e).__name__}: {e}); is --base-url the API's /v1 URL?")


async def _list_models(client: LLMClient, report: HealthReport) -> None:
    raw = await client.sdk.get("/models", cast_to=httpx2.Response)
    report.reachable = True
    try:
        data = raw.json()
    except ValueError:
        report.notes.append(f"/models answered {_describe_body(raw)}")
        return
    listed = data.get("data") if isinstance(data, dict) else None
    if not isinstance(listed, list):
        report.notes.append("/models answered JSON without a 'data' list of models")
        return
    report.models = [str(m.get("id")) for m in listed if isinstance(m, dict) and m.get("id")]


async def _tiny_call(client: LLMClient, report: HealthReport) -> None:
    ep = client.endpoint
    body = {"model": ep.model, "messages": [{"role": "user", "content": "Reply with the word OK."}],
            "max_tokens": 5, "temperature": 0}
    started = time.perf_counter()
    raw = await client.sdk.post("/chat/completions", body=body, cast_to=httpx2.Response)
    report.latency_s = time.perf_counter() - started
    report.reachable = True
    report.limits = {k: v for k, v in raw.headers.items() if k.lower().startswith("x-ratelimit-")}
    try:
        data = raw.json()
        reply = data["choices"][0]["message"].get("content") or ""
    except ValueError:
        report.problem = f"the tiny call answered {_describe_body(raw)}; is --base-url the API's /v1 URL?"
        return
    except (KeyError, IndexError, TypeError, AttributeError):
        report.problem = "the tiny call answered JSON without choices[0].message: not an OpenAI-compatible chat API"
        return
    report.reply = redact(str(reply))
    report.ok = True


async def acheck_provider(config: LLMConfig, client: LLMClient | None = None) -> HealthReport:
    """Probe an endpoint without retries; never raises for provider trouble (every server gets a
    verdict), and gives up on a silent server after ``config.timeout_s`` per request."""
    try:
        client = client or client_for(with_local_server(config).resolve())
    except ConfigError as e:
        spec = config.spec()
        return HealthReport(spec.name, spec.base_url or "", spec.default_model, problem=str(e))
    ep = client.endpoint
    report = HealthReport(ep.name, ep.url, ep.model)
    timeout_s = ep.timeout_s
    try:
        try:
            await asyncio.wait_for(_list_models(client, report), 2 * timeout_s)
        except openai.APIStatusError:
            report.reachable = True  # it answered; some servers have no /models
        except (openai.APITimeoutError, asyncio.TimeoutError):
            report.problem = f"/models: no answer within {timeout_s:g}s (the server hangs); --timeout to wait longer"
            return report  # a server that hangs on /models will hang on the call too
        except Exception as e:  # noqa: BLE001 - any answer at all gets a verdict
            report.notes.append(_problem(e, ep, "/models", timeout_s))
        try:
            await asyncio.wait_for(_tiny_call(client, report), 2 * timeout_s)
        except asyncio.TimeoutError:
            report.problem = f"the tiny call: no answer within {timeout_s:g}s; --timeout to wait longer"
        except Exception as e:  # noqa: BLE001
            report.problem = _problem(e, ep, "the tiny call", timeout_s)
    finally:
        await client.aclose()
    return report


def check_provider(config: LLMConfig) -> HealthReport:
    """Synchronous `acheck_provider`, for scripts."""
    return asyncio.run(acheck_provider(config))
