"""Per provider: the cost of a volume and its lower bounds on wall time (RPM, TPM, requests a day,
server throughput, the critical path of calls that must follow one another)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from negoray.config import ExperimentConfig
from negoray.llm.cost import call_cost
from negoray.llm.providers import PROVIDERS, ProviderSpec
from negoray.plan.assumptions import Assumptions
from negoray.plan.volumes import Volume, generation_breakdown

BOUNDS = ("RPM", "TPM", "requests/day", "server throughput", "critical path")
"""The lower bounds on wall time, in the order a tie is named."""


@dataclass(frozen=True)
class StreamSpeed:
    """One request's speed: completion tokens/s of a single stream and a fixed overhead (network,
    queueing, time to first token). Per-call latency = completion / tps + overhead_s."""

    tps: float | None
    overhead_s: float


STREAM_SPEEDS: dict[str, StreamSpeed] = {
    "sim": StreamSpeed(None, 0.001),
    "local": StreamSpeed(60, 0.05),
    "lmstudio": StreamSpeed(100, 0.05),
    "vllm": StreamSpeed(80, 0.05),
    "llamacpp": StreamSpeed(60, 0.05),
    "ollama": StreamSpeed(60, 0.05),
    "groq": StreamSpeed(300, 0.2),
    "groq-free": StreamSpeed(300, 0.2),
    "together": StreamSpeed(200, 0.3),
    "openrouter": StreamSpeed(100, 0.5),
    "openai": StreamSpeed(80, 0.4),
    "xai": StreamSpeed(100, 0.4),
    "anthropic": StreamSpeed(80, 0.6),
    "custom": StreamSpeed(50, 0.5),
}
"""Typical single-stream speeds (the users' table where they gave one: LM Studio gemma ~100 tok/s,
Groq ~300, Together ~200, Claude ~80) -- only the critical-path bound uses them."""

DEFAULT_STREAM = StreamSpeed(50, 0.5)


def stream_speed(spec: ProviderSpec) -> StreamSpeed:
    """The provider's single-stream speed: by name, else a built-in at the same URL, else a default."""
    if spec.name in STREAM_SPEEDS:
        return STREAM_SPEEDS[spec.name]
    for name, builtin in PROVIDERS.items():
        if spec.base_url and builtin.base_url == spec.base_url and name in STREAM_SPEEDS:
            return STREAM_SPEEDS[name]
    if spec.local and spec.throughput_tps:
        return StreamSpeed(spec.throughput_tps, 0.05)
    return DEFAULT_STREAM


def call_latency(spec: ProviderSpec, completion_tokens: float, a: Assumptions) -> float:
    if a.latency_s is not None:
        return a.latency_s
    speed = stream_speed(spec)
    return (completion_tokens / speed.tps if speed.tps else 0.0) + speed.overhead_s


def longest_stage_chain(config: ExperimentConfig, a: Assumptions, negotiation: float, mutation: float) -> float:
    """The longest over the config's groups of one run's stages that cannot overlap, each weighted:
    per generation, one negotiation (``negotiation``), then a mutation step (``mutation``), then one
    gating negotiation (the last generation: one test negotiation instead)."""
    longest = 0.0
    for group in dict.fromkeys(config.groups):
        s = 0.0
        for g in range(config.generations):
            b = generation_breakdown(config, group, g, a)
            s += negotiation
            s += mutation if b["mutation"].calls else 0.0
            s += negotiation if b["gating"].negotiations else 0.0
            s += negotiation if b["test"].negotiations else 0.0
        longest = max(longest, s)
    return longest


def critical_path_s(config: ExperimentConfig, spec: ProviderSpec, a: Assumptions) -> float:
    """One run's chain of calls that cannot overlap (`longest_stage_chain`): a negotiation's calls
    one after another, one mutation call."""
    neg = a.calls_per_negotiation * call_latency(spec, a.completion_tokens, a)
    return longest_stage_chain(config, a, neg, call_latency(spec, a.mutation_completion_tokens, a))


@dataclass(frozen=True)
class ProviderPlan:
    name: str
    model: str
    price_in: float
    price_out: float
    cost_usd: float
    bounds_h: dict[str, float | None]
    """Each lower bound in hours; None where the provider has no such limit."""
    latency_s: float
    """Per negotiation call, for the critical path."""
    local: bool

    @property
    def hours(self) -> float:
        return max(v for v in self.bounds_h.values() if v is not None)

    @property
    def binding(self) -> str:
        return next(k for k in BOUNDS if self.bounds_h.get(k) is not None and math.isclose(self.bounds_h[k], self.hours))

    @property
    def ties(self) -> list[str]:
        return [k for k in BOUNDS if k != self.binding and self.bounds_h.get(k) is not None
                and math.isclose(self.bounds_h[k], self.hours, rel_tol=1e-9)]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "price_in": self.price_in, "price_out": self.price_out,
                "cost_usd": round(self.cost_usd, 4), "hours": round(self.hours, 4), "days": round(self.hours / 24, 4),
                "binding": self.binding, "ties": self.ties,
                "bounds_hours": {k: (None if v is None else round(v, 4)) for k, v in self.bounds_h.items()},
                "latency_s_per_call": round(self.latency_s, 4), "local": self.local}


def cost_usd(volume: Volume, spec: ProviderSpec) -> float:
    return call_cost(volume.prompt_tokens, volume.completion_tokens, spec.price_in, spec.price_out)


def provider_plan(config: ExperimentConfig, spec: ProviderSpec, volume: Volume, a: Assumptions) -> ProviderPlan:
    bounds: dict[str, float | None] = {
        "RPM": volume.calls / spec.rpm / 60 if spec.rpm else None,
        "TPM": volume.tokens / spec.tpm / 60 if spec.tpm else None,
        "requests/day": volume.calls / spec.rpd * 24 if spec.rpd else None,
        "server throughput": volume.completion_tokens / spec.throughput_tps / 3600 if spec.throughput_tps else None,
        "critical path": critical_path_s(config, spec, a) / 3600,
    }
    return ProviderPlan(spec.name, spec.default_model, spec.price_in, spec.price_out, cost_usd(volume, spec), bounds,
                        call_latency(spec, a.completion_tokens, a), spec.local)
