"""`negoray serve-local`: the embedded `local` model's llama.cpp server in the foreground."""

from __future__ import annotations

import argparse
import sys
import time


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be in [0, 65535], got {text}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "serve-local",
        help="serve the embedded local model (llama.cpp + SmolLM2-135M-Instruct) over the OpenAI API",
        description="Run the llama.cpp server of the 'local' provider in the foreground, with the bundled "
        "SmolLM2-135M-Instruct model or any GGUF file, so other tools (or `--provider llamacpp --base-url ...`) "
        "can use it. It speaks the OpenAI chat-completions API and accepts any model name and API key. "
        "Ctrl-C stops it. Needs the 'local' extra: pip install -e '.[local]'.",
        epilog="example: negoray serve-local --port 8090; then point any OpenAI client at http://127.0.0.1:8090/v1",
    )
    p.add_argument("--model", metavar="GGUF", help="a GGUF model file (default: the bundled SmolLM2-135M-Instruct)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8090, help="TCP port; 0 picks a free one (default: 8090)")
    p.add_argument("--n-ctx", type=_positive, default=2048, metavar="N", help="context window in tokens (default: 2048)")
    p.add_argument("--threads", type=_positive, default=None, metavar="N", help="CPU threads (default: all available)")
    p.add_argument("--verbose", action="store_true", help="show the server's own log instead of keeping it quiet")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from negoray.llm.config import ConfigError
    from negoray.llm.local_server import LocalServer, LocalServerError

    server = LocalServer(args.model, host=args.host, port=args.port, n_ctx=args.n_ctx, n_threads=args.threads,
                         verbose=args.verbose)
    try:
        with server:
            print(f"negoray serve-local: serving {server.model_path} at {server.base_url} "
                  f"(pid {server.pid}, {server.n_threads} threads, context {server.n_ctx}); Ctrl-C stops",
                  file=sys.stderr, flush=True)
            while server.alive():
                time.sleep(0.5)
            tail = server.log_tail()
            print("negoray serve-local: error: the server exited" + (f"; its last log lines:\n{tail}" if tail else ""),
                  file=sys.stderr)
            return 1
    except (ConfigError, LocalServerError) as e:
        print(f"negoray serve-local: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
