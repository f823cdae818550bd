"""Choosing and configuring a provider: `LLMConfig` -> a resolved `Endpoint`.

Switching provider is one setting: ``LLMConfig(provider="groq")``, a ``--provider`` flag, the
``NEGORAY_PROVIDER`` environment variable, or a TOML profile::

    [providers.my-vllm]
    extends = "vllm"            # optional: start from a built-in provider's defaults
    base_url = "http://gpu-box:8000/v1"
    model = "Qwen/Qwen3-30B-A3B"
    rpm = 600

API keys come from the environment, a profile's ``api_key`` or ``api_key=`` in code; they are never
written to logs, results, checkpoints or the cache, and never appear in a repr or an error message.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from negoray.llm.providers import PROVIDERS, JsonMode, ProviderSpec, Thinking
from negoray.llm.redact import register_secret
from negoray.llm.tiers import Tier, parse_batch_retry, parse_tier

PROVIDER_ENV = "NEGORAY_PROVIDER"


class ConfigError(ValueError):
    """A configuration a person must fix; the message names the key or variable."""


class MissingAPIKey(ConfigError):
    pass


@dataclass(frozen=True)
class EndpointSettings:
    """What a user may set about one endpoint -- the keys of ``[provider]``, of a failover, pool or role
    table, the flags, or arguments in code -- described once: `LLMConfig` adds the provider's name, a
    key given in code and the profiles; `negoray.provider_config.ProviderConfig` adds the
    experiment's budget, failover chain and pool. Anything left None takes the provider's default."""

    model: str | None = None
    """Model name (default: the provider's)."""
    base_url: str | None = None
    """Endpoint URL, e.g. http://localhost:8000/v1 (default: the provider's; the embedded ``local``
    one gets it from `with_local_server`)."""
    api_key_env: str | None = None
    """Environment variable holding the API key (default: the provider's, e.g. GROQ_API_KEY)."""
    rpm: float | None = None
    """Requests per minute to respect (default: the provider's; None there: no limit)."""
    tpm: float | None = None
    """Tokens per minute to respect (default: the provider's; None there: no limit)."""
    rpd: float | None = None
    """Requests per day to respect (default: the provider's; None there: no limit)."""
    price_in: float | None = None
    """USD per million prompt tokens, for the cost columns and the budget (default: the provider's)."""
    price_out: float | None = None
    """USD per million completion tokens (default: the provider's)."""
    max_concurrency: int | None = None
    """Requests one process sends the endpoint at once (default: the provider's, 64 for most); set,
    the concurrency is fixed (``--concurrency N``): the adaptive limit is off unless ``adaptive`` is true."""
    adaptive: bool | None = None
    """Whether an adaptive, cluster-wide concurrency limit learned from latency and errors decides the
    requests in flight (default: the provider's -- on for local servers and custom URLs, which publish
    no limits -- unless ``max_concurrency`` or a rate limit is set, which makes it fixed)."""
    timeout_s: float = 120.0
    """Seconds one request may take before it counts as failed (default 120)."""
    max_attempts: int = 8
    """Tries of one call, retries included, before it fails (default 8)."""
    thinking: str | None = None
    """"off" or "on" (``--thinking``): whether reasoning models think (None: the profile's, else "off")."""
    tier: str | None = None
    """"standard", "flex" or "batch" (``--tier``): how calls are sold; flex sends the provider's
    ``service_tier``, batch plays a stage's negotiations in lockstep through the Batch API (None: the
    profile's, else "standard")."""
    batch_min_requests: int | None = None
    """Batch tier: calls waiting at a moment fewer than this go out on the standard tier instead
    (mutation calls, a stage's last stragglers) (None: 1, everything in batches)."""
    batch_retry: str | None = None
    """Batch tier: "batch" (default) or "standard": where a request that failed in a batch (a
    per-request error, an expired batch) is tried again; never scored."""

    def endpoint_settings(self) -> dict[str, Any]:
        """These settings alone, by key (what a `LLMConfig` is built from)."""
        return {f.name: getattr(self, f.name) for f in fields(EndpointSettings)}


ENDPOINT_SETTINGS = tuple(f.name for f in fields(EndpointSettings))
"""The keys that describe an endpoint, in declaration order."""


@dataclass(frozen=True)
class LLMConfig(EndpointSettings):
    """What the user chose; anything left None takes the provider's default."""

    provider: str | None = None
    """Provider name, built in or a profile's (default: ``NEGORAY_PROVIDER``, else "sim")."""
    api_key: str | None = field(default=None, repr=False)
    """The API key itself, given in code; never shown (default: read from ``api_key_env``)."""
    profiles: Mapping[str, ProviderSpec] = field(default_factory=dict, repr=False)
    """Extra providers from a TOML file (`load_profiles`), by name."""

    def provider_name(self) -> str:
        return self.provider or os.environ.get(PROVIDER_ENV) or "sim"

    def adaptive_choice(self) -> bool | None:
        """``adaptive`` as given; else False when ``max_concurrency`` is given (a fixed concurrency) or a
        rate limit is (``rpm``/``tpm``/``rpd``: an endpoint with published limits, which the rate limiter
        governs); else None (the provider's)."""
        if self.adaptive is not None:
            return self.adaptive
        fixed = self.max_concurrency is not None or any(v is not None for v in (self.rpm, self.tpm, self.rpd))
        return False if fixed else None

    def spec(self) -> ProviderSpec:
        """The provider's defaults with this config's overrides applied."""
        name = self.provider_name()
        known = {**PROVIDERS, **self.profiles}
        if name not in known:
            raise ConfigError(f"unknown provider {name!r}; known: {', '.join(sorted(known))}")
        return known[name].with_overrides(
            default_model=self.model, base_url=self.base_url, api_key_env=self.api_key_env,
            rpm=self.rpm, tpm=self.tpm, rpd=self.rpd, price_in=self.price_in, price_out=self.price_out,
            max_concurrency=self.max_concurrency, adaptive=self.adaptive_choice(),
            thinking=None if self.thinking is None else parse_thinking(self.thinking),
            tier=None if self.tier is None else parse_tier(self.tier),
            batch_min_requests=self.batch_min_requests,
            batch_retry=None if self.batch_retry is None else parse_batch_retry(self.batch_retry),
        )

    def resolve(self, environ: Mapping[str, str] | None = None) -> Endpoint:
        """Check everything needed before any work starts: base URL, model, API key. Starts nothing:
        the embedded ``local`` model is started by `negoray.llm.local_server.with_local_server`."""
        environ = os.environ if environ is None else environ
        spec = self.spec()
        if spec.base_url is None and spec.name == "local":
            raise ConfigError("provider 'local' has no server yet: start the embedded model first "
                              "(negoray.llm.local_server.with_local_server), or set base_url (--base-url)")
        if spec.base_url is None:
            raise ConfigError(f"provider {spec.name!r} needs a base URL: set base_url (--base-url)")
        offer = spec.tier_offer()
        if spec.tier is not Tier.STANDARD and offer is None:
            raise ConfigError(f"tier = {spec.tier.value!r} is not offered by provider {spec.name!r} for model "
                              f"{spec.default_model!r}; its tiers: {', '.join(t.value for t in spec.offered_tiers())} "
                              "(a custom endpoint takes any tier: --provider custom --tier ...)")
        if spec.batch_min_requests < 1:
            raise ConfigError(f"batch_min_requests = {spec.batch_min_requests} is not allowed; expected an integer >= 1")
        key, hint = self.api_key, "the api_key given in code"
        if key is None and spec.api_key is not None:
            key, hint = spec.api_key, f"api_key in {spec.profile_source or 'the profile'}"
        if key is None and spec.api_key_env:
            key, hint = environ.get(spec.api_key_env), f"the key in {spec.api_key_env}"
            if not key and not spec.local and spec.api_key_required:
                raise MissingAPIKey(
                    f"provider {spec.name!r} needs an API key: set the environment variable {spec.api_key_env}"
                )
        if key:
            register_secret(key)
        timeout_s = max(self.timeout_s, offer.timeout_s) if offer is not None and offer.timeout_s else self.timeout_s
        return Endpoint(spec=spec, api_key=key or "not-needed", timeout_s=timeout_s,
                        max_attempts=self.max_attempts, key_hint=hint if key else "the provider's API key")


@dataclass(frozen=True)
class Endpoint:
    """A resolved provider: where to send calls, with which key, under which limits."""

    spec: ProviderSpec
    api_key: str = field(repr=False)
    timeout_s: float = 120.0
    max_attempts: int = 8
    key_hint: str = "the provider's API key"
    """Where the key came from, for "rejected the API key: check ..." (names the variable or profile)."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def model(self) -> str:
        return self.spec.default_model

    @property
    def url(self) -> str:
        return self.spec.base_url or ""


_PROFILE_KEYS = ({f.name for f in fields(ProviderSpec)} - {"name", "thinking_switches", "profile_source", "tiers", "prompt_caching"}
                 | {"model", "extends"})


def parse_thinking(value: object, key: str = "thinking") -> Thinking:
    """``"off"`` / ``"on"`` as a `Thinking`; anything else is a `ConfigError` naming ``key``."""
    try:
        return Thinking(value)
    except ValueError:
        raise ConfigError(f"{key} = {value!r} is not allowed; expected \"off\" or \"on\"") from None


def parse_profiles(data: Mapping[str, Any], source: str = "<profiles>") -> dict[str, ProviderSpec]:
    """Providers from a parsed TOML document's ``[providers.NAME]`` tables."""
    tables = data.get("providers", {})
    if not isinstance(tables, Mapping):
        raise ConfigError(f"{source}: 'providers' must be a table of [providers.NAME] sections")
    out: dict[str, ProviderSpec] = {}
    for name, table in tables.items():
        where = f"{source}: [providers.{name}]"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table")
        unknown = set(table) - _PROFILE_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_PROFILE_KEYS))}")
        base_name = table.get("extends", name if name in PROVIDERS else "custom")
        if base_name not in PROVIDERS:
            raise ConfigError(f"{where}: extends = {base_name!r} is not a built-in provider ({', '.join(PROVIDERS)})")
        values = {k: v for k, v in table.items() if k not in ("extends", "model")}
        if "model" in table:
            values["default_model"] = table["model"]
        if "json_mode" in values:
            try:
                values["json_mode"] = JsonMode(values["json_mode"])
            except ValueError:
                raise ConfigError(f"{where}: json_mode must be one of {', '.join(m.value for m in JsonMode)}") from None
        if "thinking" in values:
            values["thinking"] = parse_thinking(values["thinking"], f"{where}: thinking")
        if "tier" in values:
            values["tier"] = parse_tier(values["tier"], f"{where}: tier")
        if "batch_retry" in values:
            values["batch_retry"] = parse_batch_retry(values["batch_retry"], f"{where}: batch_retry")
        spec = PROVIDERS[base_name]
        register_secret(values.get("api_key"))
        defaults = {f.name: getattr(spec, f.name) for f in fields(ProviderSpec)}
        out[name] = ProviderSpec(**{**defaults, **values, "name": name, "profile_source": where})
    return out


def load_profiles(path: str | Path) -> dict[str, ProviderSpec]:
    """Providers from a TOML file; errors name the file and the section."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such profile file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: {e}") from None
    return parse_profiles(data, str(path))
