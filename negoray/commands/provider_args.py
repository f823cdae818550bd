"""The provider flags every command that calls a model shares."""

from __future__ import annotations

import argparse

from negoray.llm.config import PROVIDER_ENV, ConfigError, LLMConfig, load_profiles
from negoray.llm.providers import PROVIDERS


def add_provider_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model provider")
    g.add_argument("--provider", help=f"provider name or a profile's name (default: ${PROVIDER_ENV} or 'sim'); "
                                      f"built in: {', '.join(PROVIDERS)}")
    g.add_argument("--model", help="model name (default: the provider's)")
    g.add_argument("--base-url", help="endpoint URL, e.g. http://gpu-box:8000/v1")
    g.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the API key")
    g.add_argument("--rpm", type=float, help="requests per minute limit (default: the provider's)")
    g.add_argument("--tpm", type=float, help="tokens per minute limit (default: the provider's)")
    g.add_argument("--profiles", metavar="TOML", help="a TOML file with [providers.NAME] profiles")
    g.add_argument("--thinking", choices=("off", "on"),
                   help="reasoning models think ('on') or are switched off the provider's way (default: the profile's, else off)")
    g.add_argument("--tier", choices=("standard", "flex", "batch"), help="how calls are sold (default: the profile's, else standard)")


def config_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> LLMConfig:
    """An `LLMConfig` from the flags; a bad profile file or provider ends with exit status 2."""
    try:
        profiles = load_profiles(args.profiles) if args.profiles else {}
        config = LLMConfig(
            provider=args.provider, model=args.model, base_url=args.base_url, api_key_env=args.api_key_env,
            rpm=args.rpm, tpm=args.tpm, thinking=args.thinking, tier=getattr(args, 'tier', None), profiles=profiles,
        )
        config.spec()
    except ConfigError as e:
        parser.error(str(e).replace("unknown provider", "--provider: unknown provider", 1))
    for flag in ("rpm", "tpm"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            parser.error(f"--{flag}: must be a positive number, got {value}")
    return config
