"""The provider registry: every endpoint negoray knows, with its defaults.

Limits and prices are the published figures for the default model as of late 2026; they change, so
every one of them can be overridden (`LLMConfig`, a flag, or a TOML profile). A limit of None
means "none known / unlimited".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from negoray.llm.tiers import (
    ANTHROPIC_CACHING, GROQ_CACHING, GROQ_TIERS, OPENAI_CACHING, OPENAI_TIERS, TOGETHER_TIERS, VLLM_CACHING, XAI_CACHING,
    BatchRetry, Prices, PromptCaching, Tier, TierOffer, custom_offer,
)


class JsonMode(str, Enum):
    """How an endpoint is asked for schema-constrained JSON."""

    JSON_SCHEMA = "json_schema"
    """OpenAI's ``{"type": "json_schema", "json_schema": {...}}`` (OpenAI, vLLM, LM Studio, Ollama)."""
    JSON_OBJECT_SCHEMA = "json_object_schema"
    """llama.cpp's ``{"type": "json_object", "schema": {...}}`` (grammar-constrained)."""
    NONE = "none"
    """No constraint: the format is asked for in the prompt only."""


class Thinking(str, Enum):
    """Whether a reasoning model is asked to think before it answers (``--thinking``, key ``thinking``)."""

    OFF = "off"
    ON = "on"


@dataclass(frozen=True)
class ThinkingSwitch:
    """How a provider's models matching ``models`` are told to reason or not: request-body fields
    from the provider's documentation (``source``). ``off`` None: no documented way to switch
    reasoning off (the model reasons as it always does; ``note`` says what to do instead)."""

    off: Mapping[str, Any] | None
    on: Mapping[str, Any] = field(default_factory=dict)
    models: str = ""
    """A regular expression searched in the model name; "" matches every model."""
    source: str = ""
    note: str = ""

    def matches(self, model: str) -> bool:
        return re.search(self.models, model) is not None


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
    adaptive: bool = False
    """Whether the requests in flight to it are set by an adaptive, cluster-wide limit learned from its
    latency and errors (`negoray.llm.adaptive_concurrency`) rather than fixed: True for servers that
    publish no limits and never answer 429 (local servers, a custom URL); an explicit
    ``max_concurrency`` (``--concurrency N``) makes it fixed unless ``adaptive`` is set too."""
    throughput_tps: float | None = None
    """Typical output tokens/s of the whole server, where known (the planner's server bound)."""
    api_key: str | None = field(default=None, repr=False, compare=False)
    """A key given in a profile file; normally None and the key comes from ``api_key_env``."""
    thinking: Thinking = Thinking.OFF
    """Whether reasoning models think (``--thinking``, profile key ``thinking``)."""
    thinking_switches: tuple[ThinkingSwitch, ...] = field(default=(), compare=False)
    """How this provider switches reasoning off and on, per model family; the first match applies."""
    reasoning_in_completion: bool = True
    """Whether ``usage.completion_tokens`` already counts the reasoning tokens (OpenAI's convention).
    Where it does not, the client adds them, so completion tokens are always what is billed as output."""
    api_key_required: bool = True
    """A cloud provider refuses calls without a key; a custom URL (often a local server) may not need one."""
    profile_source: str | None = field(default=None, compare=False)
    """``FILE: [providers.NAME]`` for a provider defined in a profile file (not itself a profile key)."""
    accepts_replicate: bool = False
    """Whether the endpoint takes negoray's ``replicate`` body field (the sim does); default False."""
    cache_by_model: bool = False
    """Key cached replies on ``NAME:MODEL`` rather than the URL, for a server whose URL changes between
    starts (the embedded model gets a new port each time); default False."""
    price_cached_in: float | None = None
    """US dollars per million cached prompt tokens at the standard tier (None: the caching's
    ``price_factor`` of ``price_in``, or ``price_in`` where the provider discounts nothing)."""
    prompt_caching: PromptCaching | None = field(default=None, compare=False)
    """How the provider caches prompt prefixes (None: it does not, or negoray does not know)."""
    tier: Tier = Tier.STANDARD
    """Which tier calls are sold at (``--tier``, key ``tier``)."""
    tiers: tuple[TierOffer, ...] = field(default=(), compare=False)
    """The non-standard tiers the provider sells, per model family; the first match applies."""
    batch_min_requests: int = 1
    """Batch tier: calls waiting at a moment fewer than this go out on the standard tier instead (a
    mutation call, the last stragglers of a stage); 1: everything goes in a batch."""
    batch_retry: BatchRetry = BatchRetry.BATCH
    """Batch tier: where a request that failed in a batch is tried again."""
    batch_gather_s: float = 0.2
    """Batch tier: a batch goes out once no new call has arrived for this many seconds (every
    negotiation of the stage is waiting)."""

    def with_overrides(self, **changes: object) -> ProviderSpec:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def tier_offer(self, tier: Tier | None = None) -> TierOffer | None:
        """The offer behind ``tier`` (default: this spec's) for this model; None for standard. A provider
        with no such offer for the model gets `custom_offer` when it is ``custom`` (the user says so)."""
        tier = Tier(self.tier if tier is None else tier)
        if tier is Tier.STANDARD:
            return None
        offer = next((o for o in self.tiers if o.tier is tier and o.matches(self.default_model)), None)
        if offer is None and not self.tiers and not self.local and self.api_key_required is False:
            return custom_offer(tier)
        return offer

    def offered_tiers(self) -> list[Tier]:
        return [t for t in Tier if t is Tier.STANDARD or self.tier_offer(t) is not None]

    def prices(self, tier: Tier | None = None) -> Prices:
        """Dollars per million (prompt, completion, cached prompt) tokens at ``tier`` (default: this spec's)."""
        offer = self.tier_offer(tier)
        f_in, f_out = (offer.price_factor_in, offer.price_factor_out) if offer is not None else (1.0, 1.0)
        cached = self.price_cached_in
        if cached is None and self.prompt_caching is not None:
            cached = self.prompt_caching.price_factor * self.price_in
        return Prices(self.price_in * f_in, self.price_out * f_out, None if cached is None else cached * f_in)

    def thinking_switch(self) -> ThinkingSwitch | None:
        """The switch that applies to this spec's model, or None (the provider has none)."""
        return next((s for s in self.thinking_switches if s.matches(self.default_model)), None)

    def thinking_body(self) -> dict[str, Any]:
        """The request-body fields that ask this spec's model for ``self.thinking`` ({} where none exist)."""
        switch = self.thinking_switch()
        if switch is None:
            return {}
        chosen = switch.on if Thinking(self.thinking) is Thinking.ON else switch.off
        return dict(chosen or {})


# Reasoning switches per provider, each from the page cited beside it. Where a provider has none, its
# switch says so (off=None) and what to do instead.
_ENABLE_THINKING = ThinkingSwitch(
    # Qwen3-style chat templates (vLLM, SGLang, llama.cpp --jinja); templates without the variable ignore it.
    off={"chat_template_kwargs": {"enable_thinking": False}}, on={"chat_template_kwargs": {"enable_thinking": True}},
    source="https://docs.vllm.ai/en/latest/features/reasoning_outputs/ ('To disable it, you must pass "
           "enable_thinking=False in your chat_template_kwargs'); "
           "https://qwen.readthedocs.io/en/latest/deployment/vllm.html#thinking-non-thinking-modes",
)
_OPENAI_SWITCHES = (
    # reasoning_effort: gpt-5 accepts "minimal", gpt-5.1 and later "none"; the o-series' least is "low".
    # Other models (gpt-4o-mini, the default) reject the parameter, so nothing is sent to them.
    ThinkingSwitch(off={"reasoning_effort": "minimal"}, models=r"^gpt-5(-mini|-nano)?(-\d{4}-\d{2}-\d{2})?$",
                   source="https://platform.openai.com/docs/guides/reasoning"),
    ThinkingSwitch(off={"reasoning_effort": "none"}, models=r"^gpt-5\.", source="https://platform.openai.com/docs/guides/reasoning"),
    ThinkingSwitch(off={"reasoning_effort": "low"}, models=r"^o\d", source="https://platform.openai.com/docs/guides/reasoning",
                   note="o-series models cannot stop reasoning; 'low' is their least"),
)
_XAI_SWITCHES = (
    # grok-3-mini takes reasoning_effort "low" | "high"; grok-4 always reasons and rejects the field.
    ThinkingSwitch(off={"reasoning_effort": "low"}, on={"reasoning_effort": "high"}, models=r"^grok-3-mini",
                   source="https://docs.x.ai/docs/guides/reasoning", note="grok-3-mini cannot stop reasoning; 'low' is its least"),
    ThinkingSwitch(off=None, models=r"^grok-4", source="https://docs.x.ai/docs/guides/reasoning",
                   note="grok-4 always reasons and takes no reasoning_effort: use a larger max_tokens"),
)
_GROQ_SWITCHES = (
    # reasoning_effort "none" | "default" for Qwen3; "low" | "medium" | "high" for gpt-oss (which cannot
    # stop); other models take neither field.
    ThinkingSwitch(off={"reasoning_effort": "none"}, on={"reasoning_effort": "default"}, models=r"qwen3",
                   source="https://console.groq.com/docs/reasoning"),
    ThinkingSwitch(off={"reasoning_effort": "low"}, models=r"gpt-oss", source="https://console.groq.com/docs/reasoning",
                   note="gpt-oss cannot stop reasoning; 'low' is its least"),
)
_OPENROUTER_SWITCH = ThinkingSwitch(
    # One field for every model, translated by OpenRouter for each upstream provider.
    off={"reasoning": {"enabled": False}}, on={"reasoning": {"enabled": True}},
    source="https://openrouter.ai/docs/use-cases/reasoning-tokens (the 'reasoning' request parameter)",
)
_OLLAMA_SWITCH = ThinkingSwitch(
    # Ollama's OpenAI-compatible endpoint maps reasoning_effort "none" to its native think=false.
    off={"reasoning_effort": "none"},
    source="https://ollama.com/blog/thinking; https://github.com/ollama/ollama/issues/12004",
)
_LMSTUDIO_NONE = ThinkingSwitch(
    off=None, source="https://lmstudio.ai/docs/app/api/endpoints/openai",
    note="LM Studio documents no request field for it: end prompts with /no_think (Qwen3) or load a non-thinking model",
)
_TOGETHER_NONE = ThinkingSwitch(
    off=None, source="https://docs.together.ai/docs/reasoning-models-guide",
    note="Together documents no general request field: choose the model's non-thinking variant",
)
_ANTHROPIC_OFF = ThinkingSwitch(
    # Extended thinking is opt-in (a `thinking` budget); negoray never asks for it.
    off={}, source="https://docs.anthropic.com/en/api/openai-sdk",
    note="extended thinking is off unless requested with a budget; 'on' sends nothing either",
)
_LOCAL_NONE = ThinkingSwitch(off=None, source="negoray/llm/local_server.py (llama-cpp-python's server)",
                             note="the embedded model does not reason")


_SPECS = [
    ProviderSpec("sim", "http://sim.negoray.invalid/v1", "negoray-sim-1", local=True, max_concurrency=256,
                 accepts_replicate=True),
    ProviderSpec("local", None, "SmolLM2-135M-Instruct", local=True, json_mode=JsonMode.JSON_OBJECT_SCHEMA, adaptive=True,
                 max_concurrency=4, throughput_tps=60, thinking_switches=(_LOCAL_NONE,), cache_by_model=True),
    ProviderSpec("lmstudio", "http://localhost:1234/v1", "google/gemma-3-4b", local=True, adaptive=True, max_concurrency=16,
                 throughput_tps=100, thinking_switches=(_LMSTUDIO_NONE,)),
    ProviderSpec("vllm", "http://localhost:8000/v1", "meta-llama/Llama-3.1-8B-Instruct", local=True, adaptive=True,
                 max_concurrency=128, throughput_tps=2500, thinking_switches=(_ENABLE_THINKING,), prompt_caching=VLLM_CACHING),
    # SGLang passes chat_template_kwargs to the template like vLLM:
    # https://docs.sglang.ai/advanced_features/separate_reasoning.html
    ProviderSpec("sglang", "http://localhost:30000/v1", "Qwen/Qwen3-30B-A3B", local=True, adaptive=True,
                 max_concurrency=128, throughput_tps=2500, thinking_switches=(_ENABLE_THINKING,)),
    ProviderSpec("llamacpp", "http://localhost:8080/v1", "default", local=True, adaptive=True,
                 json_mode=JsonMode.JSON_OBJECT_SCHEMA, max_concurrency=8, throughput_tps=60,
                 thinking_switches=(_ENABLE_THINKING,)),  # llama-server --jinja reads chat_template_kwargs
    ProviderSpec("ollama", "http://localhost:11434/v1", "llama3.2", local=True, adaptive=True, max_concurrency=8,
                 throughput_tps=60, thinking_switches=(_OLLAMA_SWITCH,)),
    ProviderSpec("groq", "https://api.groq.com/openai/v1", "llama-3.3-70b-versatile", "GROQ_API_KEY",
                 rpm=1000, tpm=300_000, rpd=500_000, price_in=0.59, price_out=0.79, thinking_switches=_GROQ_SWITCHES,
                 prompt_caching=GROQ_CACHING, tiers=GROQ_TIERS),
    ProviderSpec("groq-free", "https://api.groq.com/openai/v1", "llama-3.3-70b-versatile", "GROQ_API_KEY",
                 rpm=30, tpm=12_000, rpd=14_400, json_mode=JsonMode.JSON_SCHEMA, max_concurrency=8,
                 thinking_switches=_GROQ_SWITCHES),
    ProviderSpec("together", "https://api.together.xyz/v1", "meta-llama/Llama-3.3-70B-Instruct-Turbo",
                 "TOGETHER_API_KEY", rpm=600, price_in=0.88, price_out=0.88, thinking_switches=(_TOGETHER_NONE,),
                 tiers=TOGETHER_TIERS),
    ProviderSpec("openrouter", "https://openrouter.ai/api/v1", "meta-llama/llama-3.3-70b-instruct",
                 "OPENROUTER_API_KEY", rpm=600, price_in=0.13, price_out=0.40, thinking_switches=(_OPENROUTER_SWITCH,)),
    # OpenAI's completion_tokens already include the reasoning tokens (completion_tokens_details is a
    # breakdown of them): https://platform.openai.com/docs/guides/reasoning#managing-the-context-window
    ProviderSpec("openai", "https://api.openai.com/v1", "gpt-4o-mini", "OPENAI_API_KEY",
                 rpm=500, tpm=200_000, rpd=10_000, price_in=0.15, price_out=0.60, thinking_switches=_OPENAI_SWITCHES,
                 price_cached_in=0.075, prompt_caching=OPENAI_CACHING, tiers=OPENAI_TIERS),
    # Grok reports reasoning_tokens apart from completion_tokens (and bills both as output):
    # https://docs.cloud.google.com/vertex-ai/generative-ai/docs/partner-models/grok/capabilities/reasoning
    ProviderSpec("xai", "https://api.x.ai/v1", "grok-3-mini", "XAI_API_KEY", rpm=480, price_in=0.30, price_out=0.50,
                 thinking_switches=_XAI_SWITCHES, reasoning_in_completion=False, prompt_caching=XAI_CACHING),
    ProviderSpec("anthropic", "https://api.anthropic.com/v1/", "claude-sonnet-4-5", "ANTHROPIC_API_KEY",
                 rpm=50, tpm=30_000, price_in=3.0, price_out=15.0, json_mode=JsonMode.NONE, max_concurrency=16,
                 thinking_switches=(_ANTHROPIC_OFF,), prompt_caching=ANTHROPIC_CACHING),
    ProviderSpec("custom", None, "default", "CUSTOM_API_KEY", json_mode=JsonMode.NONE, api_key_required=False,
                 adaptive=True),
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
