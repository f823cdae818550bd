"""`negoray sim-serve`: the sim model behind an OpenAI-compatible HTTP server, with fault injection."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable

from negoray.sim.faults import FaultConfig
from negoray.sim.server import ServerHandle, serve


def _number(kind: type, low: float = 0.0, high: float = math.inf, low_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite int/float in [low, high] (or (low, high] with ``low_open``)."""
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if not math.isfinite(value) or value < low or (low_open and value == low) or value > high:
            if high < math.inf:
                raise argparse.ArgumentTypeError(f"must be in [{low:g}, {high:g}], got {text}")
            raise argparse.ArgumentTypeError(f"must be {'>' if low_open else '>='} {low:g}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


_SECONDS = _number(float)
_RATE = _number(float, 0.0, 1.0)
_COUNT = _number(int)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "sim-serve",
        help="serve the sim model over the OpenAI chat-completions API, with fault injection",
        description=(
            "Serve negoray's sim model (a synthetic negotiation model, not an LLM) as an "
            "OpenAI-compatible HTTP server: POST /v1/chat/completions (JSON and streaming), "
            "GET /v1/models, the Files and Batch API (POST /v1/files, GET /v1/files/ID/content, POST and GET "
            "/v1/batches, GET /v1/batches/ID), GET /health, GET /stats, POST /stats/reset. Faults are injected from a "
            "seeded generator: strict sliding-window RPM/TPM limits answered with 429 and OpenAI's "
            "Retry-After / retry-after-ms / x-ratelimit-* headers, a fixed number of serving slots "
            "with queueing, latency, a collapse past a load (latency growing faster than the queue, "
            "optionally an unload), HTTP 500s, dropped connections, and an LM Studio-style "
            "'No models loaded' window."
        ),
        epilog=(
            "example: negoray sim-serve --rpm 60 --tpm 40000 --slots 8 --latency-ms 300 "
            "--per-token-ms 5 --error-rate 0.01 --drop-rate 0.005; then point any OpenAI client at "
            "http://127.0.0.1:8089/v1 (any API key). A limit of 0 means unlimited."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=_number(int, 0, 65535), default=8089, help="TCP port; 0 picks a free one, printed at start (default: 8089)")
    p.add_argument("--latency-ms", type=_SECONDS, default=0.0, metavar="MS",
                   help="mean fixed service time per request, with seeded lognormal jitter (default: 0)")
    p.add_argument("--per-token-ms", type=_SECONDS, default=0.0, metavar="MS",
                   help="extra service time per completion token (default: 0)")
    p.add_argument("--slots", type=_COUNT, default=0, metavar="N",
                   help="requests served concurrently, the rest queue (default: 0 = unlimited)")
    p.add_argument("--rpm", type=_COUNT, default=0, metavar="N", help="requests per sliding window (default: 0 = unlimited)")
    p.add_argument("--tpm", type=_COUNT, default=0, metavar="N",
                   help="tokens per sliding window, counting prompt estimate + max_tokens (default: 0 = unlimited)")
    p.add_argument("--window-s", type=_number(float, 0.0, low_open=True), default=60.0, metavar="S",
                   help="length of the sliding rate-limit window; 60 makes --rpm/--tpm per minute (default: 60)")
    p.add_argument("--error-rate", type=_RATE, default=0.0, metavar="P", help="fraction of requests answered with HTTP 500 (default: 0)")
    p.add_argument("--drop-rate", type=_RATE, default=0.0, metavar="P",
                   help="fraction of requests whose connection is closed with no complete response (default: 0)")
    p.add_argument("--unload-after", type=_SECONDS, default=None, metavar="S",
                   help="seconds after start when the model 'unloads': LM Studio's 'No models loaded' error, HTTP 400 (default: never)")
    p.add_argument("--unload-for", type=_SECONDS, default=None, metavar="S",
                   help="how long it stays unloaded (default: for good)")
    p.add_argument("--collapse-after", type=_COUNT, default=0, metavar="N",
                   help="requests in the server (served + queued) past which it collapses: each one more makes every "
                        "service time --collapse-factor/N longer, so latency grows faster than the queue and "
                        "throughput falls (default: 0 = never)")
    p.add_argument("--collapse-factor", type=_SECONDS, default=1.0, metavar="X",
                   help="how steep the collapse past --collapse-after is (default: 1: twice N in the server "
                        "doubles every service time)")
    p.add_argument("--overload-unload-s", type=_SECONDS, default=0.0, metavar="S",
                   help="with --collapse-after: once more than N requests are in the server, the model 'unloads' "
                        "for S seconds, answering 'No models loaded' like an overloaded LM Studio (default: 0 = never)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault and latency generator (default: 0)")
    p.add_argument("--think", type=_COUNT, default=0, metavar="N",
                   help="play a reasoning model (Qwen3 behind vLLM): a <think> block of about N tokens before each "
                        "answer unless the request sends chat_template_kwargs.enable_thinking=false; a reply that "
                        "max_tokens cannot hold is cut with finish_reason 'length' (default: 0 = no thinking)")
    p.add_argument("--require-api-key-env", metavar="VAR",
                   help="answer 401 unless requests carry the API key held in environment variable VAR")
    p.add_argument("--honour-seed", action="store_true",
                   help="behave like vLLM or llama.cpp given a seed: the reply depends on (messages, seed, "
                        "temperature) only, never on negoray's own fields (replicate, x-negoray-replicate). "
                        "Either way GET /stats counts repeated_requests: requests answered although an earlier "
                        "answered one had the same (messages, seed, temperature, max_tokens), i.e. samples "
                        "such a server would return again")
    p.add_argument("--prefix-cache", action="store_true",
                   help="count cached prompt prefixes like vLLM's automatic prefix caching (16-token blocks) and "
                        "report them as OpenAI does, in usage.prompt_tokens_details.cached_tokens")
    p.add_argument("--batch-delay-s", type=_SECONDS, default=0.0, metavar="S",
                   help="Batch API (POST /v1/files, /v1/batches): seconds until a batch completes (default: 0)")
    p.add_argument("--batch-error-rate", type=_RATE, default=0.0, metavar="P",
                   help="Batch API: fraction of a batch's requests that fail with a per-request HTTP 500 (default: 0)")
    p.add_argument("--batch-expire-rate", type=_RATE, default=0.0, metavar="P",
                   help="Batch API: fraction of batches that expire, half done, the rest batch_expired (default: 0)")
    p.set_defaults(func=run)
    return p


def _fail(message: str) -> int:
    print(f"negoray sim-serve: error: {message}", file=sys.stderr)
    return 2


def config_from_args(args: argparse.Namespace) -> FaultConfig:
    """The `FaultConfig` the flags describe (flags are validated by the parser)."""
    return FaultConfig(
        latency_ms=args.latency_ms, per_token_ms=args.per_token_ms, slots=args.slots, rpm=args.rpm,
        tpm=args.tpm, window_s=args.window_s, error_rate=args.error_rate, drop_rate=args.drop_rate,
        unload_after=args.unload_after, unload_for=math.inf if args.unload_for is None else args.unload_for,
        seed=args.seed, think_tokens=args.think, honour_seed=args.honour_seed, prefix_cache=args.prefix_cache,
        batch_delay_s=args.batch_delay_s, batch_error_rate=args.batch_error_rate, batch_expire_rate=args.batch_expire_rate,
        collapse_after=args.collapse_after, collapse_factor=args.collapse_factor, overload_unload_s=args.overload_unload_s,
        api_key=os.environ.get(args.require_api_key_env) if args.require_api_key_env else None,
    )


def _describe(config: FaultConfig) -> str:
    parts = [f"rpm {config.rpm or 'unlimited'}", f"tpm {config.tpm or 'unlimited'}", f"window {config.window_s:g}s",
             f"slots {config.slots or 'unlimited'}", f"latency {config.latency_ms:g}ms + {config.per_token_ms:g}ms/token",
             f"error rate {config.error_rate:g}", f"drop rate {config.drop_rate:g}"]
    if config.think_tokens:
        parts.append(f"thinking {config.think_tokens} tokens unless switched off")
    if config.honour_seed:
        parts.append("replies from (messages, seed, temperature) only")
    if config.prefix_cache:
        parts.append("prefix cache on")
    if config.collapse_after:
        parts.append(f"collapse past {config.collapse_after} in the server (factor {config.collapse_factor:g}"
                     + (f", unloading for {config.overload_unload_s:g}s)" if config.overload_unload_s else ")"))
    if config.unload_after is not None:
        parts.append(f"unloaded from {config.unload_after:g}s for "
                     + ("good" if math.isinf(config.unload_for) else f"{config.unload_for:g}s"))
    return ", ".join(parts)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.error_rate + args.drop_rate > 1:
        return _fail(f"--error-rate + --drop-rate must be <= 1, got {args.error_rate:g} + {args.drop_rate:g}")
    if args.overload_unload_s and not args.collapse_after:
        return _fail("--overload-unload-s needs --collapse-after")
    if args.unload_for is not None and args.unload_after is None:
        return _fail("--unload-for needs --unload-after")
    if args.require_api_key_env and not os.environ.get(args.require_api_key_env):
        return _fail(f"--require-api-key-env: environment variable {args.require_api_key_env} is not set")
    config = config_from_args(args)

    def ready(url: ServerHandle) -> None:
        print(f"negoray sim-serve: serving {config.model} at {url} ({_describe(config)}); Ctrl-C stops",
              file=sys.stderr, flush=True)

    try:
        serve(config, args.host, args.port, on_ready=ready)
    except OSError as e:
        return _fail(f"--host/--port: cannot listen on {args.host}:{args.port}: {e.strerror or e}")
    except KeyboardInterrupt:
        pass
    return 0
