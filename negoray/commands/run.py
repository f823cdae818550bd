"""`negoray run` (and the thin `experiments/*.py` scripts): load a config, apply flags, run it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from negoray.config import ExperimentConfigError, load_config, with_overrides

EPILOG = """examples:
  negoray run --config poc                          # the proof of concept on the built-in sim
  negoray run --config full_12x10 --provider groq --rpm 30 --max-usd 20
  negoray run --config full_12x10 --provider vllm --base-url http://gpu:8000/v1 --model Qwen/Qwen3-30B-A3B
  negoray run --config full_12x10 --provider vllm --model Qwen/Qwen3-30B-A3B --thinking on --max-tokens 1024
  negoray run --config full_12x10 --address auto    # on a Ray cluster (ray up / ray job submit)
  negoray run --config full_12x10 --provider vllm --base-url http://gpu:8000/v1 --mutator-provider openai --mutator-model gpt-4o
Run the same command again after an interruption: finished generations are kept, the rest resumes."""


def add_run_args(p: argparse.ArgumentParser, default_config: str) -> None:
    p.add_argument("--config", default=default_config, metavar="NAME|PATH",
                   help=f"experiment config: a name from experiments/configs/ or a .toml path (default: {default_config})")
    p.add_argument("--provider", help="model provider, e.g. sim, lmstudio, vllm, groq, openai (default: the config's)")
    p.add_argument("--model", help="model name (default: the provider's)")
    p.add_argument("--base-url", help="endpoint URL for the provider")
    p.add_argument("--api-key-env", metavar="VAR", help="environment variable that holds the API key")
    for role, what in (("opponent", "the fixed opponent's turns"), ("mutator", "mutation calls")):
        p.add_argument(f"--{role}-provider", metavar="NAME",
                       help=f"provider of {what} ([{role}] name; default: the agent's, --provider)")
        p.add_argument(f"--{role}-model", metavar="MODEL",
                       help=f"model of {what} ([{role}] model; default: the agent's, --model)")
        p.add_argument(f"--{role}-base-url", metavar="URL",
                       help=f"endpoint URL of {what} ([{role}] base_url; default: the agent's, --base-url)")
    p.add_argument("--rpm", type=float, help="requests-per-minute limit to respect")
    p.add_argument("--thinking", choices=("off", "on"),
                   help="reasoning models: 'off' sends the provider's switch to answer without thinking; 'on' lets "
                        "them think, the move is read from the answer after the reasoning (default: the config's, "
                        "else off)")
    p.add_argument("--tier", choices=("standard", "flex", "batch"),
                   help="how calls are sold: 'flex' sends the provider's service_tier; 'batch' advances a stage's "
                        "negotiations in lockstep, one Batch API job per turn (default: the config's, else standard)")
    p.add_argument("--max-tokens", type=int, metavar="N",
                   help="max_tokens of each negotiation turn (default: the config's, 200 in V7)")
    p.add_argument("--concurrency", type=int, metavar="N",
                   help="a fixed number of requests one process sends the endpoint at once ([provider] "
                        "max_concurrency); without it, local servers and custom URLs get an adaptive, cluster-wide "
                        "limit learned from latency and errors ([provider] adaptive)")
    p.add_argument("--results", metavar="DIR", help="results directory (default: the config's)")
    p.add_argument("--runs", type=int, metavar="N", help="only the first N runs of the config")
    p.add_argument("--generations", type=int, metavar="N", help="number of generations")
    p.add_argument("--address", help='Ray address: "auto" joins a running cluster (default: start Ray locally)')
    p.add_argument("--ray-bind", metavar="ADDR",
                   help='address a locally started Ray listens on: 127.0.0.1 (default), 0.0.0.0 or an IP')
    p.add_argument("--max-usd", type=float, help="stop new work when this many dollars are spent")
    p.add_argument("--seed", type=int, help="experiment seed")
    p.add_argument("--no-progress", action="store_true", help="no live progress display")


def config_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser):
    """The config the flags describe; a bad config or flag exits with status 2, naming it."""
    for flag in ("runs", "generations", "max_tokens", "concurrency"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            parser.error(f"--{flag.replace('_', '-')}: must be an integer >= 1, got {value}")
    for flag in ("rpm", "max_usd"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            parser.error(f"--{flag.replace('_', '-')}: must be a positive number, got {value}")
    try:
        config = load_config(args.config)
        if args.runs is not None:
            runs = config.runs()
            if args.runs > len(runs):
                parser.error(f"--runs: the config {config.name!r} has {len(runs)} runs, got {args.runs}")
            config = with_overrides(config, max_runs=args.runs)
        overrides = {
            "provider.name": args.provider, "provider.model": args.model, "provider.base_url": args.base_url,
            "provider.api_key_env": args.api_key_env, "provider.rpm": args.rpm, "provider.max_usd": args.max_usd,
            "provider.thinking": args.thinking, "provider.tier": args.tier, "max_tokens": args.max_tokens,
            "provider.max_concurrency": args.concurrency,
            "runtime.address": args.address, "runtime.bind": args.ray_bind, "results": args.results, "generations": args.generations,
            "seed": args.seed, "runtime.progress": False if args.no_progress else None,
            **{f"{role}.{key}": getattr(args, f"{role}_{flag}") for role in ("opponent", "mutator")
               for key, flag in (("name", "provider"), ("model", "model"), ("base_url", "base_url"))},
        }
        return with_overrides(config, **overrides)
    except ExperimentConfigError as e:
        parser.error(str(e))


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("run", help="run an experiment (config + flags)", description=__doc__, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_args(p, "full_12x10")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    config = config_from_args(args, parser)
    from negoray.llm.config import ConfigError
    from negoray.llm.redact import install_log_redaction
    from negoray.runtime.experiment import Experiment
    from negoray.results.lock import ResultsLocked

    install_log_redaction()  # the experiment scripts enter here, not through `negoray.cli.main`
    try:
        return Experiment(config).run()
    except (ConfigError, ExperimentConfigError, ResultsLocked) as e:
        print(f"negoray: error: {e}", file=sys.stderr)
        return 2


def main(default_config: str, argv: Sequence[str] | None = None, description: str | None = None) -> int:
    """Entry point of the thin experiment scripts."""
    parser = argparse.ArgumentParser(description=description, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_args(parser, default_config)
    args = parser.parse_args(argv)
    return run(args, parser)
