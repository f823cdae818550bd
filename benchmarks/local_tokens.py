"""Output tokens/s of the embedded `local` model through negoray's LLMClient vs. the bare openai SDK.

Both clients send the same negotiation-turn requests (the V7 prompts of the eight seed strategies
over dev scenarios, temperature 0 so the two produce the same tokens) to one llama.cpp server
started here, at concurrency 1 and 4, in paired batches (see `measure`). Prints output tokens/s
of each and the ratio negoray / bare (1.0 = no overhead). Needs the 'local' extra.

    python benchmarks/local_tokens.py [--requests 16] [--max-tokens 120] [--threads N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time

import openai

from negoray.chat import ChatParams
from negoray.game.generators import v7_splits
from negoray.game.moves import MoveFormat
from negoray.game.protocol import system_prompt, turn_prompt
from negoray.llm.client import LLMClient
from negoray.llm.config import LLMConfig
from negoray.llm.local_server import LocalServer
from negoray.tasks.negotiation.seeds import SEED_STRATEGIES


def workload(n: int) -> list[list[dict[str, str]]]:
    """``n`` first-turn prompts: seed strategy i % 8 on dev scenario i."""
    styles = list(SEED_STRATEGIES.values())
    scenarios = v7_splits()["dev"]
    out = []
    for i in range(n):
        s = scenarios[i % len(scenarios)]
        out.append([
            {"role": "system", "content": system_prompt(styles[i % len(styles)], 5, MoveFormat.TEXT)},
            {"role": "user", "content": turn_prompt(s.counts, s.agent_values, [], 1, 5, True, None)},
        ])
    return out


class Negoray:
    """negoray's LLMClient (no cache, no limits: what the `local` provider uses in a run)."""

    def __init__(self, url: str, concurrency: int, max_tokens: int) -> None:
        endpoint = LLMConfig(provider="local", base_url=url, max_concurrency=concurrency).resolve({})
        self.client = LLMClient(endpoint)
        self.params = ChatParams(temperature=0.0, max_tokens=max_tokens, seed=0)

    async def one(self, messages) -> int:
        return (await self.client(messages, self.params)).completion_tokens

    async def aclose(self) -> None:
        await self.client.aclose()


class Bare:
    """The openai SDK alone, as a user would write it."""

    def __init__(self, url: str, concurrency: int, max_tokens: int) -> None:
        self.client = openai.AsyncOpenAI(base_url=url, api_key="not-needed", max_retries=0)
        self.max_tokens = max_tokens

    async def one(self, messages) -> int:
        r = await self.client.chat.completions.create(
            model="SmolLM2-135M-Instruct", messages=messages, temperature=0.0, max_tokens=self.max_tokens, seed=0,
        )
        return r.usage.completion_tokens

    async def aclose(self) -> None:
        await self.client.close()


async def measure(url: str, requests, concurrency: int, max_tokens: int) -> dict[str, tuple[int, float]]:
    """Tokens and seconds of each client, in paired batches of ``concurrency`` requests: the same batch
    goes through one client and then the other (alternating who goes first), so both see the same
    machine load (this box is shared; the load drifts within seconds)."""
    clients = {"negoray": Negoray(url, concurrency, max_tokens), "bare": Bare(url, concurrency, max_tokens)}
    totals = {name: [0, 0.0] for name in clients}
    try:
        for b, i in enumerate(range(0, len(requests), concurrency)):
            batch = requests[i:i + concurrency]
            for name in (("negoray", "bare") if b % 2 == 0 else ("bare", "negoray")):
                start = time.perf_counter()
                tokens = await asyncio.gather(*(clients[name].one(m) for m in batch))
                totals[name][0] += sum(tokens)
                totals[name][1] += time.perf_counter() - start
    finally:
        for c in clients.values():
            await c.aclose()
    return {name: (int(t), s) for name, (t, s) in totals.items()}


async def warm_up(url: str, messages) -> None:
    """One short call, so that neither client pays for faulting the model's pages in."""
    bare = Bare(url, 1, 16)
    try:
        await bare.one(messages)
    finally:
        await bare.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=16, help="requests per client and concurrency (default: 16)")
    ap.add_argument("--max-tokens", type=int, default=120, help="max_tokens of each request (default: 120)")
    ap.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: all available CPUs)")
    args = ap.parse_args()
    requests = workload(args.requests)
    with LocalServer(n_threads=args.threads) as server:
        print(f"model {server.model_path.name}, {server.n_threads} threads, {os.cpu_count()} CPUs, "
              f"{platform.processor() or platform.machine()}, python {platform.python_version()}, "
              f"load average {os.getloadavg()[0]:.1f}")
        print(f"{args.requests} requests x max_tokens {args.max_tokens}, temperature 0, paired batches")
        asyncio.run(warm_up(server.base_url, requests[0]))
        for concurrency in (1, 4):
            r = asyncio.run(measure(server.base_url, requests, concurrency, args.max_tokens))
            (nt, ns), (bt, bs) = r["negoray"], r["bare"]
            neg, bare = nt / ns, bt / bs
            print(f"concurrency {concurrency}: negoray {neg:6.1f} tok/s   bare openai {bare:6.1f} tok/s   "
                  f"ratio {neg / bare:.3f}   ({nt} vs {bt} tokens; negoray {1000 * (ns - bs) / len(requests):+.0f} ms/call)")
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
