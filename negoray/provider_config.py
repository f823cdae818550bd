"""The ``[provider]`` section: the endpoint every call goes to, its failover chain and the budget.

Its endpoint keys parse into the same `LLMConfig` as everywhere else (`ProviderConfig.llm_configs`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from negoray.config_types import is_http_url, type_problem, typed_values
from negoray.llm.config import ENDPOINT_SETTINGS, EndpointSettings, LLMConfig, load_profiles


@dataclass(frozen=True)
class ProviderConfig(EndpointSettings):
    """The agent's endpoint (``[provider]``; the other roles default to it), its failover chain and
    pool, and the experiment's budget. Its endpoint keys are `EndpointSettings`' and parse into the same
    `LLMConfig` as everywhere else (`llm_configs`)."""

    name: str = "sim"
    """Provider name: a built-in one (sim, local, lmstudio, vllm, groq, openai, ...) or a profile's
    (default "sim")."""
    max_usd: float | None = None
    """Stop new work once this many dollars are spent (default None: no budget)."""
    max_tokens: int | None = None
    """Stop new work once this many tokens are used (default None: no budget)."""
    profiles: str | None = None
    """A TOML file of provider profiles (``[providers.NAME]`` tables) (default None)."""
    failover: tuple[str | dict[str, Any], ...] = ()
    """Providers to fall back to, in order: a name (that provider's defaults), or a table of this
    section's endpoint keys (`ENDPOINT_KEYS`), e.g. ``{name = "openai", model = "gpt-4o-mini",
    timeout_s = 60}`` (default: none)."""
    pool: tuple[Mapping[str, Any], ...] = ()
    """Endpoints interchangeable with this one, served alongside it (`negoray.llm.pool`): tables of
    `ENDPOINT_KEYS`; one without ``name`` is this endpoint with the keys it sets changed (e.g. only
    ``base_url``: the same model on another server), one with ``name`` starts from that provider's
    defaults (default: none)."""

    def llm_configs(self) -> list[LLMConfig]:
        """The preferred provider, then the failover chain, as `LLMConfig`s (profiles loaded). A
        failover entry takes its provider's defaults for what it does not set, and this ``thinking``."""
        profiles = load_profiles(self.profiles) if self.profiles else {}
        first = LLMConfig(provider=self.name, profiles=profiles, **self.endpoint_settings())
        chain = [first]
        for entry in self.failover:
            table = {"name": entry} if isinstance(entry, str) else dict(entry)
            table.setdefault("thinking", self.thinking)
            chain.append(LLMConfig(provider=table.pop("name"), profiles=profiles, **table))
        return chain


ENDPOINT_KEYS = ("name",) + ENDPOINT_SETTINGS
"""The keys of ``[provider]`` that describe an endpoint (`LLMConfig`'s), allowed in a failover table."""



def check_endpoint(p: ProviderConfig, key: str, bad: Callable[[str, str, Any], Exception]) -> None:
    """The value checks of an endpoint's keys (types are checked by then)."""
    for name, value in (("price_in", p.price_in), ("price_out", p.price_out)):
        if value is not None and value < 0:
            raise bad(f"{key}.{name}", "a number of USD per million tokens >= 0", value)
    if p.max_concurrency is not None and p.max_concurrency < 1:
        raise bad(f"{key}.max_concurrency", "an integer >= 1", p.max_concurrency)
    if not p.timeout_s > 0:
        raise bad(f"{key}.timeout_s", "a number of seconds > 0", p.timeout_s)
    if p.max_attempts < 1:
        raise bad(f"{key}.max_attempts", "an integer >= 1", p.max_attempts)
    if p.tier not in (None, "standard", "flex", "batch"):
        raise bad(f"{key}.tier", '"standard", "flex" or "batch"', p.tier)
    if p.batch_min_requests is not None and p.batch_min_requests < 1:
        raise bad(f"{key}.batch_min_requests", "an integer >= 1", p.batch_min_requests)
    if p.batch_retry not in (None, "batch", "standard"):
        raise bad(f"{key}.batch_retry", '"batch" or "standard"', p.batch_retry)


def check_failover_entry(entry: Any, key: str, bad: Callable[[str, str, Any], Exception]) -> None:
    """A failover entry: a provider name, or a table of `ENDPOINT_KEYS` with a ``name``."""
    allowed = f"a provider name or a table of {', '.join(ENDPOINT_KEYS)} with a name"
    if isinstance(entry, str):
        return
    if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) or set(entry) - set(ENDPOINT_KEYS):
        raise bad(key, allowed, entry)
    check_endpoint_table(entry, key, bad)


def check_endpoint_table(entry: Mapping[str, Any], key: str, bad: Callable[[str, str, Any], Exception]) -> None:
    """The values of a table of `ENDPOINT_KEYS` (a failover or pool entry, an ``[opponent]`` table)."""
    endpoint = ProviderConfig(**entry)
    for name, value, expected in typed_values(endpoint):
        if name in entry and (problem := type_problem(value, expected)) is not None:
            raise bad(f"{key}.{name}", problem, value)
    if endpoint.thinking not in (None, "off", "on"):
        raise bad(f"{key}.thinking", '"off" or "on"', endpoint.thinking)
    if endpoint.base_url is not None and not is_http_url(endpoint.base_url):
        raise bad(f"{key}.base_url", "an http:// or https:// URL such as http://localhost:8000/v1", endpoint.base_url)
    check_endpoint(endpoint, key, bad)


