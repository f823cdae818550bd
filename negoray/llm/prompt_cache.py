"""Reading how many prompt tokens a provider served from its prompt cache, whatever its usage shape.

- OpenAI, xAI, Groq, OpenRouter, vLLM (``--enable-prompt-tokens-details``), SGLang:
  ``usage.prompt_tokens_details.cached_tokens``
  (https://platform.openai.com/docs/guides/prompt-caching;
  https://docs.x.ai/developers/advanced-api-usage/prompt-caching/usage-and-pricing, looked up 2026-12-02);
- DeepSeek: ``usage.prompt_cache_hit_tokens``;
- Anthropic's native usage (some gateways pass it through): ``usage.cache_read_input_tokens``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TOP_LEVEL = ("prompt_cache_hit_tokens", "cache_read_input_tokens")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def cached_prompt_tokens(usage: Mapping[str, Any]) -> int:
    """Prompt tokens served from the provider's cache (0 when the usage says nothing)."""
    details = usage.get("prompt_tokens_details")
    if isinstance(details, Mapping) and (n := _count(details.get("cached_tokens"))):
        return n
    return next((n for k in _TOP_LEVEL if (n := _count(usage.get(k)))), 0)
