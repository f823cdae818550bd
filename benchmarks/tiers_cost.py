"""Cost per tier: the poc on `sim-serve` (seed-honouring, ``--prefix-cache``) on the standard tier and
in batch mode, priced from the recorded usage at standard, flex and batch prices, with and without
the cached-input discount; and batch mode's wall time against its number of batch rounds.

Both runs play the same negotiations (batch mode is only a transport; the script checks it), so the
dollars differ only by price: the ratio to standard is the tier's discount on the real token mix.
Prices are a provider's from the registry (default ``openai``: gpt-4o-mini, $0.15 / $0.60 per M,
cached input $0.075; flex and batch at 50%). The sim's prefix cache counts 16-token blocks with no
minimum (vLLM's way); OpenAI caches only prompts of 1024+ tokens, which V7's ~350-token prompts are
not, so on OpenAI the "with caching" column is what vLLM-style caching would give, not OpenAI's.

Examples::

    python benchmarks/tiers_cost.py                       # the poc, 0.5 s per batch
    python benchmarks/tiers_cost.py --generations 2 --batch-delay-s 0.2
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.compute as pc

from _common import machine, out_path
from negoray.config import load_config, with_overrides
from negoray.llm.providers import PROVIDERS
from negoray.llm.tiers import Prices, Tier
from negoray.local_experiment import LocalExperiment
from negoray.results.schema import task_table_columns
from negoray.results.writer import read_table
from negoray.sim.faults import FaultConfig
from negoray.sim.server import serve_in_subprocess
from negoray.tasks.negotiation import NegotiationTask

COMPARED = ["run_id", "generation", "phase", "agent_id", "scenario_id", "replicate", "outcome", "agent_score", "turns"]
V7 = task_table_columns(NegotiationTask())["negotiations"]
"""V7's own columns of the negotiations table (agent_score)."""


def run(results: Path, profiles: Path, tier: str, generations: int) -> float:
    config = with_overrides(load_config("poc"), results=str(results), generations=generations,
                            **{"provider.name": "simserve", "provider.profiles": str(profiles), "provider.tier": tier})
    started = time.monotonic()
    LocalExperiment(config).run()
    return time.monotonic() - started


TOKENS = ("prompt_tokens", "cached_prompt_tokens", "completion_tokens")


def usage(results: Path) -> dict[str, dict[str, int]]:
    """The tokens of the calls that were paid for (not cache hits), by the tier each went out on."""
    calls = read_table(results, "calls")
    fresh = calls.filter(pc.invert(calls["cache_hit"]))
    by_tier = {}
    for tier in set(fresh["tier"].to_pylist()):
        sent = fresh.filter(pc.equal(fresh["tier"], tier))
        by_tier[tier] = {"calls": sent.num_rows, **{c: int(pc.sum(sent[c]).as_py() or 0) for c in TOKENS}}
    return by_tier


def priced(by_tier: dict[str, dict[str, int]], prices: dict[str, Prices], cached: bool) -> float:
    """Dollars of a run's calls, each at its own tier's ``prices`` (the cached-input price or not)."""
    return sum(prices[t].cost(u["prompt_tokens"], u["completion_tokens"], u["cached_prompt_tokens"] if cached else 0)
               for t, u in by_tier.items())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--generations", type=int, default=5, help="poc generations (default: the poc's 5)")
    p.add_argument("--batch-delay-s", type=float, default=0.5, help="sim-serve's time to complete a batch (default 0.5)")
    p.add_argument("--price-provider", default="openai", help="whose registry prices (default: openai)")
    args = p.parse_args(argv)
    spec = PROVIDERS[args.price_provider]
    flex = spec.with_overrides(default_model="gpt-5-mini") if args.price_provider == "openai" else spec
    with tempfile.TemporaryDirectory() as tmp, serve_in_subprocess(
            FaultConfig(honour_seed=True, prefix_cache=True, batch_delay_s=args.batch_delay_s)) as url:
        root = Path(tmp)
        profiles = root / "profiles.toml"
        profiles.write_text(f'[providers.simserve]\nextends = "custom"\nbase_url = "{url}"\nbatch_gather_s = 0.05\n')
        wall_standard = run(root / "standard", profiles, "standard", args.generations)
        url.reset_stats()
        wall_batch = run(root / "batch", profiles, "batch", args.generations)
        batches = url.stats()["batches"]
        same = all(read_table(root / m, "negotiations", COMPARED, V7).sort_by([(c, "ascending") for c in COMPARED[:6]])
                   .equals(read_table(root / "standard", "negotiations", COMPARED, V7)
                           .sort_by([(c, "ascending") for c in COMPARED[:6]])) for m in ("batch",))
        used = {"standard": usage(root / "standard"), "batch": usage(root / "batch")}
    standard = spec.prices(Tier.STANDARD)
    rows = []
    for label, mode, at in [("standard", "standard", standard),
                            ("flex-priced", "standard", flex.prices(Tier.FLEX) if flex.tier_offer(Tier.FLEX) else None),
                            ("batch", "batch", spec.prices(Tier.BATCH))]:
        if at is None:
            continue
        # the flex-priced row reprices the standard run; in the batch run the calls that went out on the
        # standard tier (fewer waiting than batch_min_requests) cost standard prices
        prices = {"standard": at if mode == "standard" else standard, "batch": at}
        u = {c: sum(t[c] for t in used[mode].values()) for c in ("calls", *TOKENS)}
        on_standard = used[mode].get("standard", {}).get("calls", 0) if mode == "batch" else 0
        rows.append({"tier": label, **u, "on_standard": on_standard,
                     "usd": priced(used[mode], prices, False), "usd_cached": priced(used[mode], prices, True)})
    base = rows[0]["usd"]
    print(f"poc x {args.generations} generations on sim-serve (--honour-seed --prefix-cache), priced at "
          f"{spec.name} {spec.default_model}; batch mode plays the same negotiations: {same}")
    print(f"{'tier':12} {'calls':>7} {'prompt':>9} {'cached':>9} {'compl.':>8} {'$':>9} {'/std':>6} {'$ cached':>9} {'/std':>6}")
    for r in rows:
        print(f"{r['tier']:12} {r['calls']:7d} {r['prompt_tokens']:9d} {r['cached_prompt_tokens']:9d} "
              f"{r['completion_tokens']:8d} {r['usd']:9.4f} {r['usd'] / base:6.3f} {r['usd_cached']:9.4f} "
              f"{r['usd_cached'] / base:6.3f}")
    share = rows[0]["cached_prompt_tokens"] / max(1, rows[0]["prompt_tokens"])
    print(f"cached share of prompt tokens (sim-serve's prefix cache, standard run): {share:.1%}")
    print(f"batch mode: {rows[-1]['on_standard']} of {rows[-1]['calls']} calls went out on the standard tier (priced at standard)")
    print(f"batch mode: {batches['created']} batches ({batches['requests']} requests, {batches['resubmitted']} resubmitted) "
          f"in {wall_batch:.1f} s = {wall_batch / max(1, batches['created']):.2f} s a batch at {args.batch_delay_s:g} s "
          f"each; standard tier: {wall_standard:.1f} s")
    out = {"machine": machine(), "args": vars(args), "same_negotiations": same, "tiers": rows, "cached_share": share,
           "batches": batches, "wall_s": {"standard": wall_standard, "batch": wall_batch}}
    out_path("tiers_cost.json").write_text(json.dumps(out, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
