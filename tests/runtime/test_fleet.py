"""A fleet on a multi-node Ray cluster with several sim-serve instances: roles reach exactly their
endpoints, a fast and a slow pool member share the work by capacity, a member killed mid-generation
loses and doubles nothing. One cluster for the whole module."""

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager

import pytest
import ray
from ray.cluster_utils import Cluster

from negoray.chat import ChatParams
from negoray.evolution.backend import Job
from negoray.game.dialogue import NegotiationConfig
from negoray.game.generators import v7_splits
from negoray.llm.config import LLMConfig
from negoray.llm.fleet import FleetSpec, RoleSpec, name_endpoints
from negoray.runtime.ray_backend import RayBackend
from negoray.runtime.worker import ChatSettings
from negoray.sim.faults import FaultConfig
from negoray.sim.server import ServerHandle
from negoray.tasks.negotiation import NegotiationTask
from negoray.tasks.negotiation.seeds import SEED_STRATEGIES

pytestmark = pytest.mark.slow
NS = "negoray-test-fleet"
CONFIG = NegotiationConfig(max_rounds=3, seed=1)
TAG = "endpoint:custom"
MUTATOR_TAG = "endpoint:vllm"


@pytest.fixture(scope="module")
def cluster():
    """The agents' endpoint tag only on the worker node ("the GPU node"), the mutator's only on the head."""
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "resources": {MUTATOR_TAG: 4},
                                                      "include_dashboard": False})
    worker = c.add_node(num_cpus=1, resources={TAG: 8})
    ray.init(address=c.address, namespace=NS)
    yield worker
    ray.shutdown()
    c.shutdown()


@contextmanager
def sim_server(**faults):
    """A sim-serve child process (killable: ``handle.proc``)."""
    cmd = [sys.executable, "-m", "negoray.sim.server", json.dumps(dataclasses.asdict(FaultConfig(**faults))),
           "127.0.0.1", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        host, _, port = line.removeprefix("http://").removesuffix("/v1").rpartition(":")
        handle = ServerHandle(host, int(port))
        handle.proc = proc
        yield handle
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def jobs(n, tag):
    scenarios, prompts = v7_splits()["dev"], list(SEED_STRATEGIES.values())
    return [Job(tag, 0, "eval", f"a{i % 8}", prompts[i % 8], scenarios[i % len(scenarios)], replicate=i) for i in range(n)]


def endpoint(url, concurrency=4, provider="custom"):
    return LLMConfig(provider=provider, base_url=str(url), model="sim", max_concurrency=concurrency, max_attempts=3)


def fleet(agent, opponent=None, mutator=None):
    """Roles from lists of endpoints (several: a pool); a missing role is the agent's."""
    roles = [agent, opponent or agent, mutator or agent]
    named = iter(name_endpoints([[c] for role in roles for c in role]))
    specs = [RoleSpec(tuple(next(named) for _ in role)) for role in roles]
    return FleetSpec(*specs)


def backend(spec, in_flight=4):
    settings = ChatSettings((spec.agent.primary.config,), namespace=NS, fleet=spec)
    return RayBackend(NegotiationTask(CONFIG), CONFIG.seed, settings, TAG, in_flight=in_flight, task_cpus=0.25,
                      mutator_tag=MUTATOR_TAG)


def test_each_role_reaches_exactly_its_endpoints(cluster):
    with sim_server() as a, sim_server() as o, sim_server() as m:
        b = backend(fleet([endpoint(a)], [endpoint(o)], [endpoint(m, provider="vllm")]))
        records = asyncio.run(b.play(jobs(16, "roles")))
        reply = asyncio.run(b.chat([{"role": "user", "content": "Improve this strategy: be firm."}], ChatParams(seed=3)))
        seen = {name: s.stats()["requests"] for name, s in (("a", a), ("o", o), ("m", m))}
    sides = Counter(c.side for r in records for c in r.calls)
    assert set(b.placements) == {cluster.node_id}, "evaluations ran where the agent endpoint's tag is"
    assert seen == {"a": sides["agent"], "o": sides["opponent"], "m": 1}
    assert {c.endpoint for r in records for c in r.calls if c.side == "opponent"} == {f"custom@127.0.0.1:{o.port}"}
    assert reply.endpoint == "vllm"  # the mutation task asked for the mutator's tag, which only the head has


def test_a_fast_and_a_slow_member_share_the_work_by_capacity(cluster):
    """Fast: 4 places at 40 ms a call; slow: 1 place at 40 ms: about 4:1."""
    with sim_server(latency_ms=40, slots=4) as fast, sim_server(latency_ms=40, slots=1) as slow:
        b = backend(fleet([endpoint(fast, 4), endpoint(slow, 1)]), in_flight=8)
        records = asyncio.run(b.play(jobs(48, "share")))
        served = {"fast": fast.stats()["requests"], "slow": slow.stats()["requests"]}
    assert all(r.outcome.value != "error" for r in records)
    share = served["fast"] / (served["fast"] + served["slow"])
    assert served["slow"] > 0 and 0.6 <= share <= 0.95, served


def test_a_member_killed_mid_generation_loses_no_negotiation_and_doubles_none(cluster):
    with sim_server(latency_ms=20, slots=8) as doomed, sim_server(latency_ms=20, slots=8) as survivor:
        b = backend(fleet([endpoint(doomed), endpoint(survivor)]))
        work = jobs(64, "kill")

        async def play_and_kill():
            task = asyncio.ensure_future(b.play(work))
            deadline = time.monotonic() + 60
            while (await asyncio.to_thread(doomed.stats))["completed"] < 20:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            os.kill(doomed.proc.pid, signal.SIGKILL)
            return await task

        records = asyncio.run(play_and_kill())
    assert len(records) == len(work)
    assert all(r.outcome.value != "error" for r in records), [r.error for r in records if r.error][:3]
    assert [(r.scenario_id, r.replicate) for r in records] == [(j.scenario.id, j.replicate) for j in work]
    served = Counter(c.endpoint for r in records for c in r.calls)
    assert served[f"custom@127.0.0.1:{survivor.port}"] > 0
