"""Roles and pools in the config: defaults, flags, validation naming the key, endpoint names, prices
per endpoint, and the one-process experiment with each role on its own server."""

import argparse

import pyarrow.dataset as ds
import pytest

from negoray.commands.run import add_run_args, config_from_args
from negoray.config import load_config, with_overrides
from negoray.chat import CallUsage
from negoray.llm.fleet import ROLES
from negoray.llm.fleet_chats import role_chats
from negoray.llm.factory import client_for
from negoray.llm.pool import EndpointPool
from negoray.local_experiment import LocalExperiment
from negoray.results.rows import call_rows
from negoray.roles import fleet_spec
from negoray.sim.faults import FaultConfig
from negoray.sim.server import serve_in_thread

from tests.test_run_cli import error_of


def parsed(argv):
    p = argparse.ArgumentParser()
    add_run_args(p, "smoke")
    return config_from_args(p.parse_args(argv), p)


def chats(fleet):
    return role_chats(fleet, lambda c, **options: client_for(c.resolve(), **options))


def test_by_default_every_role_is_the_agents_endpoint_and_shares_one_chat():
    fleet = fleet_spec(load_config("smoke"))
    assert fleet.agent == fleet.opponent == fleet.mutator and not fleet.pooled_roles
    assert fleet.agent.primary.name == "sim"
    roles = chats(fleet)
    assert roles.agent is roles.opponent is roles.mutator and len(roles.clients) == 1
    assert roles.agent.limit_key == "sim:" + fleet.agent.primary.config.spec().default_model  # as before roles


def test_role_flags_default_to_the_agents_endpoint():
    config = parsed(["--provider", "vllm", "--base-url", "http://gpu:8000/v1", "--model", "Qwen/Qwen3-30B-A3B",
                     "--opponent-model", "Qwen/Qwen3-8B", "--mutator-provider", "openai", "--mutator-model", "gpt-4o"])
    fleet = fleet_spec(config)
    opponent, mutator = fleet.opponent.primary.config.spec(), fleet.mutator.primary.config.spec()
    assert (opponent.name, opponent.base_url, opponent.default_model) == ("vllm", "http://gpu:8000/v1", "Qwen/Qwen3-8B")
    assert (mutator.name, mutator.base_url, mutator.default_model) == ("openai", "https://api.openai.com/v1", "gpt-4o")
    assert [fleet.role(r).primary.name for r in ROLES] == ["vllm", "vllm", "openai"]
    prices = fleet.prices()
    assert prices.of("openai")[:2] == (mutator.price_in, mutator.price_out) and prices.of("vllm")[:2] == (0.0, 0.0)


def test_a_pool_names_its_members_by_host_and_keys_the_cache_on_the_pools_model(monkeypatch):
    monkeypatch.setenv("TOGETHER_API_KEY", "test-key")
    config = with_overrides(load_config("smoke"), **{
        "provider.name": "vllm", "provider.base_url": "http://gpu1:8000/v1", "provider.model": "m",
        "provider.pool": ({"base_url": "http://gpu2:8000/v1"}, {"name": "together", "model": "org/m"})})
    fleet = fleet_spec(config)
    assert [chain[0].name for chain in fleet.agent.members] == ["vllm@gpu1:8000", "vllm@gpu2:8000", "together"]
    assert fleet.agent.members[1][0].config.spec().default_model == "m"
    roles = chats(fleet)
    assert isinstance(roles.agent, EndpointPool) and roles.opponent is roles.agent
    keys = {c._cache_endpoint + "/" + c._cache_model for c in roles.clients}
    assert keys == {"pool/m"}  # whichever member answered, a resume finds the reply
    assert len({c.limit_key for c in roles.clients}) == 3  # but each has its own limiter key


@pytest.mark.parametrize("toml,named", [
    ('[opponent]\nmodle = "x"\n', "opponent.modle = 'x' is not allowed; expected a key of [opponent]"),
    ('[mutator]\nrpm = "fast"\n', "mutator.rpm = 'fast' is not allowed; expected a number"),
    ('[mutator]\nbase_url = "gpu:8000"\n', "mutator.base_url = 'gpu:8000' is not allowed"),
    ('opponent = 3\n', "opponent = 3 is not allowed; expected a table"),
    ('[provider]\npool = [{base_url = "x"}]\n', "provider.pool[0].base_url = 'x' is not allowed"),
    ('[provider]\npool = [{flavour = 1}]\n', "provider.pool[0] = {'flavour': 1} is not allowed"),
    ('[opponent]\npool = [{max_concurrency = 0}]\n', "opponent.pool[0].max_concurrency = 0 is not allowed"),
])
def test_bad_role_tables_exit_2_naming_the_key(capsys, tmp_path, toml, named):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    assert named in error_of(capsys, ["--config", str(path)])


def test_a_call_costs_at_the_prices_of_the_endpoint_that_served_it():
    from negoray.game.dialogue import NegotiationRecord
    from negoray.game.outcome import OutcomeKind

    calls = (CallUsage("agent", 1, 1_000_000, 0, 0.1, False, 1, "vllm", "m", endpoint="vllm"),
             CallUsage("opponent", 1, 1_000_000, 0, 0.1, False, 1, "openai", "g", endpoint="openai"))
    record = NegotiationRecord("s", 0, OutcomeKind.TIMEOUT, None, (), calls)
    rows = call_rows(record, run_id="A1", generation=0, agent_id="a", phase="eval", price_in=0.0, price_out=0.0,
                     by_endpoint={"vllm": (0.0, 0.0), "openai": (2.5, 10.0)})
    assert [(r["endpoint"], r["cost_usd"]) for r in rows] == [("vllm", 0.0), ("openai", 2.5)]


def test_each_role_reaches_exactly_its_own_server(tmp_path):
    """In one process (`LocalExperiment`): the opponent's server sees only opponent turns, the
    mutator's only mutation calls; ``calls.endpoint`` says who served each call."""
    with serve_in_thread(FaultConfig()) as agent, serve_in_thread(FaultConfig()) as opp, \
            serve_in_thread(FaultConfig()) as mut:
        config = with_overrides(
            load_config("smoke"), results=str(tmp_path / "r"), generations=2, population=3, elites=1,
            **{"provider.name": "custom", "provider.base_url": str(agent), "scenarios.dev": 2, "scenarios.test": 2,
               "opponent.base_url": str(opp), "mutator.base_url": str(mut), "runtime.cache": "off"})
        LocalExperiment(config).run()
        stats = {name: s.stats()["requests"] for name, s in (("agent", agent), ("opp", opp), ("mut", mut))}
    calls = ds.dataset(tmp_path / "r" / "calls", format="parquet").to_table().to_pandas()
    by_side = calls.groupby("side")["endpoint"].agg(set).to_dict()
    names = {"agent": f"custom@{agent.host}:{agent.port}", "opponent": f"custom@{opp.host}:{opp.port}",
             "mutator": f"custom@{mut.host}:{mut.port}"}
    assert by_side == {side: {name} for side, name in names.items()}
    counts = calls.groupby("side").size().to_dict()
    assert stats == {"agent": counts["agent"], "opp": counts["opponent"], "mut": counts["mutator"]}
