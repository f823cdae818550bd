"""`negoray plan`'s tiers: the measured shared prefix, batch rounds, and cost per provider and tier."""

import json

import pytest

from negoray.cli import main
from negoray.config import load_config
from negoray.llm.providers import PROVIDERS
from negoray.llm.tiers import Tier
from negoray.plan import make_assumptions, make_plan, total
from negoray.plan.tiers import batch_rounds, measure_shared_prefix, tier_plans


@pytest.fixture(scope="module")
def planned():
    config = load_config("full_12x10")
    a = make_assumptions(config)
    plan = make_plan(config, a)
    prefix = measure_shared_prefix(config, scenarios=4)
    specs = [PROVIDERS[n] for n in ("openai", "groq", "vllm", "anthropic")]
    return config, a, prefix, {(t.provider, t.tier, t.caching): t for t in tier_plans(config, a, total(plan.total), specs, prefix)}


def test_the_shared_prefix_is_measured_from_the_real_prompts(planned):
    _, _, prefix, _ = planned
    assert 0.5 < prefix.share < 1 and prefix.shared_tokens < prefix.prompt_tokens
    # OpenAI and Anthropic cache nothing under 1024 tokens: V7's prompts are shorter
    assert prefix.prompt_tokens < 1024 and prefix.cached_share(PROVIDERS["openai"]) == 0
    assert prefix.cached_share(PROVIDERS["anthropic"]) == 0
    assert 0 < prefix.cached_share(PROVIDERS["vllm"]) <= prefix.share


def test_batch_halves_openai_and_caching_only_ever_lowers_a_cost(planned):
    _, _, _, rows = planned
    assert rows[("openai", Tier.BATCH, False)].cost_usd == pytest.approx(0.5 * rows[("openai", Tier.STANDARD, False)].cost_usd)
    for (provider, tier, caching), row in rows.items():
        if caching:
            assert row.cost_usd <= rows[(provider, tier, False)].cost_usd + 1e-9
    assert rows[("groq", Tier.STANDARD, True)].cost_usd < rows[("groq", Tier.STANDARD, False)].cost_usd
    assert rows[("groq", Tier.FLEX, False)].hours < rows[("groq", Tier.STANDARD, False)].hours  # 10x limits


def test_batch_time_is_the_sequential_rounds_times_the_latency(planned):
    config, a, _, rows = planned
    rounds = batch_rounds(config, a)
    # per generation: eval (10 turns) + mutation (1) + gating (10), and the last one's test (10)
    assert rounds == 10 * 10 + 9 * (1 + 10) + 10
    batch = rows[("openai", Tier.BATCH, False)]
    assert (batch.rounds, batch.hours) == (rounds, pytest.approx(rounds * PROVIDERS["openai"].tier_offer(Tier.BATCH).turnaround_s / 3600))


def test_the_command_prints_the_tiers_and_takes_a_batch_latency(capsys):
    assert main(["plan", "--config", "poc", "--provider", "openai", "--batch-latency-s", "600", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    batch = [t for t in data["tiers"] if t["tier"] == "batch"]
    assert batch and all(t["batch_latency_s"] == 600 for t in batch) and 0 < data["shared_prefix"]["share"] < 1
    with pytest.raises(SystemExit) as bad:
        main(["plan", "--batch-latency-s", "0"])
    assert bad.value.code == 2 and "--batch-latency-s: must be a positive number" in capsys.readouterr().err
