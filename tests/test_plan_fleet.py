"""`negoray plan` for a fleet: volumes per role and endpoint, a pool split by capacity, the binding constraint."""

import json
import math
import subprocess
import sys

import pytest

from negoray.config import load_config, with_overrides
from negoray.llm.cost import call_cost
from negoray.plan import fleet_plan, make_assumptions, make_plan, total
from negoray.roles import fleet_spec

FLEET = {"provider.name": "vllm", "provider.base_url": "http://gpu1:8000/v1", "provider.model": "q",
         "provider.pool": ({"name": "together", "model": "q", "rpm": 600},),
         "mutator.name": "openai", "mutator.model": "gpt-4o"}


def planned(**overrides):
    config = with_overrides(load_config("full_12x10"), **overrides)
    a = make_assumptions(config)
    plan = make_plan(config, a)
    return config, plan, fleet_plan(config, fleet_spec(config), plan.total, a)


def test_a_pool_shares_its_roles_volume_by_capacity_and_names_what_binds():
    config, plan, fleet = planned(**FLEET)
    by = {(e.role, e.endpoint): e for e in fleet.endpoints}
    gpu, cloud, mutator = by["agent+opponent", "vllm"], by["agent+opponent", "together"], by["mutator", "openai"]
    assert cloud.calls_per_s == pytest.approx(10.0) and cloud.binding == "RPM"
    assert gpu.volume.calls / cloud.volume.calls == pytest.approx(gpu.calls_per_s / cloud.calls_per_s)
    everything = total(plan.total)
    assert gpu.volume.calls + cloud.volume.calls + mutator.volume.calls == pytest.approx(everything.calls)
    assert mutator.volume.calls == pytest.approx(plan.total["mutation"].calls)
    assert cloud.cost_usd == pytest.approx(call_cost(cloud.volume.prompt_tokens, cloud.volume.completion_tokens, 0.88, 0.88))
    pooled_h = (gpu.volume.calls + cloud.volume.calls) / (gpu.calls_per_s + cloud.calls_per_s) / 3600
    assert math.isclose(fleet.hours_by_roles["agent+opponent"], pooled_h)
    assert fleet.binding.startswith("agent+opponent pooled capacity (vllm: ")


def test_plan_prints_the_fleet_only_for_a_mixed_config(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text('[provider]\nname = "vllm"\npool = [{ base_url = "http://gpu2:8000/v1" }]\n'
                    '[mutator]\nname = "openai"\n')
    out = subprocess.run([sys.executable, "-m", "negoray.cli", "plan", "--json", "--config", str(path), "--provider",
                          "vllm"], capture_output=True, text=True, check=True).stdout
    fleet = json.loads(out)["fleet"]
    assert [e["endpoint"] for e in fleet["endpoints"]] == ["vllm@localhost:8000", "vllm@gpu2:8000", "openai"]
    assert not fleet_spec(load_config("poc")).mixed  # then the plan has no fleet part
