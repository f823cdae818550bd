"""The provider registry: every endpoint negoray knows, with its defaults.

Limits and prices are the published figures for the default model as of late 2026; they change, so
every one of them can be overridden (`LLMConfig`, a flag, or a TOML profile). A limit of None
means "none known / unlimited".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum


class JsonMode(str, Enum):
    """How an endpoint is asked for schema-constrained JSON."""

    JSON_SCHEMA = "json_schema"
    """OpenAI's ``{"type": "json_schema", "json_schema": {...}}`` (OpenAI, vLLM, LM Studio, Ollama)."""
    JSON_OBJECT_SCHEMA = "json_object_schema"
    """llama.cpp's ``{"type": "json_object", "schema": {...}}`` (grammar-constrained)."""
    NONE = "none"
    """No constraint: the format is asked for in the prompt only."""


@dataclass(frozen=True)
class ProviderSpec:
    """One named endpoint and its defaults."""

    name: str
    base_url: str | None
    default_model: str
    api_key_env: str | None = None
    rpm: float | None = None
    tpm: float | None = None
    rpd: float | None = None
    price_in: float = 0.0
    """US dollars per million prompt tokens."""
    price_out: float = 0.0
    """US dollars per million completion tokens."""
    local: bool = False
    """Served on the user's own hardware: a model-not-loaded error is transient, not fatal."""
    json_mode: JsonMode = JsonMode.JSON_SCHEMA
    max_concurrency: int = 64
    """Requests in flight from one process by default (also sizes the connection pool)."""
    throughput_tps: float | None = None
    """Typical output tokens/s of the whole server, where known (the planner's server bound)."""
    api_key: str | None = field(default=None, repr=False, compare=False)
    """A key given in a profile file; normally None and the key comes from ``api_key_env``."""
    api_key_required: bool = True
    """A cloud provider refuses calls without a key; a custom URL (often a local server) may not need one."""
    profile_source: str | None = field(default=None, compare=False)
    """``FILE: [providers.NAME]`` for a provider defined in a profile file (not itself a profile key)."""

    def with_overrides(self, **changes: object) -> ProviderSpec:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_SPECS = [
    ProviderSpec("sim", "http://sim.negoray.invalid/v1", "negoray-sim-1", local=True, max_concurrency=256),
    ProviderSpec("local", None, "SmolLM2-135M-Instruct", local=True, json_mode=JsonMode.JSON_OBJECT_SCHEMA,
                 max_concurrency=4, throughput_tps=60),
    ProviderSpec("lmstudio", "http://localhost:1234/v1", "google/gemma-3-4b", local=True, max_concurrency=16,
                 throughput_tps=100),
    ProviderSpec("vllm", "http://localhost:8000/v1", "meta-llama/Llama-3.1-8B-Instruct", local=True,
                 max_concurrency=128, throughput_tps=2500),
    ProviderSpec("llamacpp", "http://localhost:8080/v1", "default", local=True,
                 json_mode=JsonMode.JSON_OBJECT_SCHEMA, max_concurrency=8, throughput_tps=60),
    ProviderSpec("ollama", "http://localhost:11434/v1", "llama3.2", local=True, max_concurrency=8,
                 throughput_tps=60),
    ProviderSpec("groq", "https://api.groq.com/openai/v1", "llama-3.3-70b-versatile", "GROQ_API_KEY",
                 rpm=1000, tpm=300_000, rpd=500_000, price_in=0.59, price_out=0.79),
    ProviderSpec("groq-free", "https://api.groq.com/openai/v1", "llama-3.3-70b-versatile", "GROQ_API_KEY",
                 rpm=30, tpm=12_000, rpd=14_400, json_mode=JsonMode.JSON_SCHEMA, max_concurrency=8),
    ProviderSpec("together", "https://api.together.xyz/v1", "meta-llama/Llama-3.3-70B-Instruct-Turbo",
                 "TOGETHER_API_KEY", rpm=600, price_in=0.88, price_out=0.88),
    ProviderSpec("openrouter", "https://openrouter.ai/api/v1", "meta-llama/llama-3.3-70b-instruct",
                 "OPENROUTER_API_KEY", rpm=600, price_in=0.13, price_out=0.40),
    ProviderSpec("openai", "https://api.openai.com/v1", "gpt-4o-mini", "OPENAI_API_KEY",
                 rpm=500, tpm=200_000, rpd=10_000, price_in=0.15, price_out=0.60),
    ProviderSpec("xai", "https://api.x.ai/v1", "grok-3-mini", "XAI_API_KEY", rpm=480, price_in=0.30, price_out=0.50),
    ProviderSpec("anthropic", "https://api.anthropic.com/v1/", "claude-sonnet-4-5", "ANTHROPIC_API_KEY",
                 rpm=50, tpm=30_000, price_in=3.0, price_out=15.0, json_mode=JsonMode.NONE, max_concurrency=16),
    ProviderSpec("custom", None, "default", "CUSTOM_API_KEY", json_mode=JsonMode.NONE, api_key_required=False),
]

PROVIDERS: dict[str, ProviderSpec] = {s.name: s for s in _SPECS}
"""Built-in providers by name."""


def response_format_for(mode: JsonMode, schema: dict) -> dict | None:
    """The ``response_format`` an endpoint of ``mode`` needs to be held to ``schema``."""
    if mode is JsonMode.JSON_SCHEMA:
        return {"type": "json_schema", "json_schema": {"name": "move", "schema": schema, "strict": False}}
    if mode is JsonMode.JSON_OBJECT_SCHEMA:
        return {"type": "json_object", "schema": schema}
    return None
