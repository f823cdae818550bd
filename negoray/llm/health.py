"""`check_provider`: is an endpoint reachable, which models does it list, does one tiny call work,
how long it took, and which limits it reports in its headers."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx2
import openai

from negoray.llm.client import LLMClient
from negoray.llm.config import ConfigError, LLMConfig
from negoray.llm.errors import classify


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

    def lines(self) -> list[str]:
        status = "OK" if self.ok else "FAILED"
        out = [f"{self.provider} ({self.base_url or 'in process'}) model {self.model}: {status}"]
        out.append(f"  reachable: {'yes' if self.reachable else 'no'}")
        if self.models:
            more = f" (+{len(self.models) - 8} more)" if len(self.models) > 8 else ""
            out.append(f"  models: {', '.join(self.models[:8])}{more}")
        if self.latency_s is not None:
            out.append(f"  one tiny call: {self.latency_s * 1000:.0f} ms, reply {self.reply[:60]!r}")
        if self.limits:
            out.append("  limits reported: " + ", ".join(f"{k}={v}" for k, v in sorted(self.limits.items())))
        if self.problem:
            out.append(f"  problem: {self.problem}")
        return out


async def acheck_provider(config: LLMConfig, client: LLMClient | None = None) -> HealthReport:
    """Probe an endpoint without retries; never raises for provider trouble (it is reported)."""
    try:
        client = client or LLMClient(config.resolve())
    except ConfigError as e:
        spec = config.spec()
        return HealthReport(spec.name, spec.base_url or "", spec.default_model, problem=str(e))
    ep = client.endpoint
    report = HealthReport(ep.name, ep.url, ep.model)
    try:
        try:
            listed = await client.sdk.models.list()
            report.models = [m.id for m in listed.data]
            report.reachable = True
        except openai.APIStatusError:
            report.reachable = True  # it answered; some servers have no /models
        started = time.perf_counter()
        body = {"model": ep.model, "messages": [{"role": "user", "content": "Reply with the word OK."}],
                "max_tokens": 5, "temperature": 0}
        raw = await client.sdk.post("/chat/completions", body=body, cast_to=httpx2.Response)
        report.latency_s = time.perf_counter() - started
        report.reachable = True
        report.reply = raw.json()["choices"][0]["message"].get("content") or ""
        report.limits = {k: v for k, v in raw.headers.items() if k.lower().startswith("x-ratelimit-")}
        report.ok = True
    except openai.APIError as e:
        spec = ep.spec
        report.problem = classify(e, provider=spec.name, local=spec.local, key_env=spec.api_key_env).reason
    except (ValueError, KeyError, IndexError) as e:
        report.problem = f"malformed response: {type(e).__name__}: {e}"
    finally:
        await client.aclose()
    return report


def check_provider(config: LLMConfig) -> HealthReport:
    """Synchronous `acheck_provider`, for scripts."""
    return asyncio.run(acheck_provider(config))
