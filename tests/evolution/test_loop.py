"""The generation loop on the in-process sim: evolution has a signal, runs replay identically."""

import asyncio
import dataclasses
import statistics
import tempfile

import pytest

from negoray.config import load_config, with_overrides
from negoray.driver import drive
from negoray.evolution.backend import Job, LocalBackend
from negoray.evolution.checkpoint import CheckpointStore
from negoray.evolution.genome import Origin
from negoray.evolution.loop import Evolution, mean_score
from negoray.llm.cache import ResponseCache
from negoray.llm.client import LLMClient
from negoray.llm.config import LLMConfig
from negoray.sim.model import SimModel
from negoray.sim.transport import SimTransport
from negoray.tasks.negotiation import NegotiationTask
from negoray.tasks.negotiation.inputs import make_splits, negotiation_config
from negoray.tasks.negotiation.seeds import SEED_STRATEGIES

POC = load_config("poc")
SPLITS = make_splits(POC)


def evolution(run_id, group, chat=None, config=POC):
    backend = LocalBackend(chat or SimModel(), NegotiationTask(negotiation_config(config)), config.seed)
    return Evolution(config, run_id, group, 1, SPLITS, backend, task=backend.task)


async def run_all(evo, state=None, stop_after=None):
    """(outputs, last state) of the run driven by `drive`, from ``state`` (saved as its checkpoint) or
    generation 0, checkpointing in a temporary directory; the last state is read back from there."""
    outputs = []
    with tempfile.TemporaryDirectory() as results:
        checkpoints = CheckpointStore(results)
        if state is not None:
            checkpoints.save(state)
        last = await drive(evo, None, checkpoints, prices=(0.0, 0.0),
                           should_stop=lambda: stop_after is not None and len(outputs) >= stop_after,
                           on_generation=lambda out, tables: outputs.append(out))
        return outputs, checkpoints.load(evo.run_id) or last


@pytest.fixture(scope="module")
def poc_runs():
    return {group: asyncio.run(run_all(evolution(f"{group}1", group)))[0] for group in POC.groups}


@pytest.mark.slow
def test_evolution_improves_dev_fitness_in_both_groups(poc_runs):
    for group, outputs in poc_runs.items():
        assert len(outputs) == POC.generations
        assert outputs[-1].summary["mean_fitness"] > outputs[0].summary["mean_fitness"], group


@pytest.mark.slow
def test_best_agent_beats_the_mean_of_the_seeds_on_test(poc_runs):
    backend = LocalBackend(SimModel(), NegotiationTask(negotiation_config(POC)), POC.seed)
    jobs = [Job("baseline", 0, "baseline", n, p, s) for n, p in SEED_STRATEGIES.items() for s in SPLITS["test"]]
    records = asyncio.run(backend.play(jobs))
    per_seed = [mean_score(records[i:i + len(SPLITS["test"])]) for i in range(0, len(records), len(SPLITS["test"]))]
    for group, outputs in poc_runs.items():
        test = [r for _, r in outputs[-1].test]
        assert len(test) == len(SPLITS["test"])
        assert mean_score(test) > statistics.fmean(per_seed), group


def test_lineage_and_origins_are_recorded(poc_runs):
    for outputs in poc_runs.values():
        for out in outputs[1:]:
            population = out.state.population
            assert len(population) == POC.population
            assert sum(g.origin is Origin.ELITE for g in population) >= POC.elites
            assert all(g.parent_id for g in population)
            assert all(g.lineage in SEED_STRATEGIES for g in population)
        assert any(g.origin is Origin.MUTATION for out in outputs for g in out.next_state.population)


def test_tournament_children_are_gated(poc_runs):
    gated = [out for out in poc_runs["D"][:-1] if out.gating]
    assert gated, "group D (tournament) gates its children"
    assert all(j.phase == "gating" and j.scenario in SPLITS["val"] for out in gated for j, _ in out.gating)
    assert not any(out.gating for out in poc_runs["C"]), "market groups do not gate"
    for out in gated:  # records are keyed by (run, generation, phase, agent, scenario, replicate)
        keys = [j.key for j, _ in out.gating]
        assert len(keys) == len(set(keys))


class CountingTransport(SimTransport):
    def __init__(self):
        super().__init__()
        self.requests = 0

    async def handle_async_request(self, request):
        self.requests += 1
        return await super().handle_async_request(request)


def client(cache_path, transport):
    return LLMClient(LLMConfig().resolve({}), cache=ResponseCache(cache_path), transport=transport)


def test_resume_after_mutation_but_before_checkpoint_replays_every_mutation(tmp_path):
    """Interrupt after mutation and gating but before the checkpoint: the resumed generation replays
    from the cache (no call paid twice) and its population holds every mutation of the first try."""
    config = with_overrides(POC, generations=3)
    first_transport = CountingTransport()
    evo = evolution("D1", "D", client(tmp_path / "c.sqlite", first_transport), config)
    outputs, state = asyncio.run(run_all(evo, stop_after=1))
    lost = asyncio.run(evo.step(state))  # mutations happen ... and the process dies before checkpointing
    paid = first_transport.requests

    resumed_transport = CountingTransport()
    resumed = evolution("D1", "D", client(tmp_path / "c.sqlite", resumed_transport), config)
    replayed = asyncio.run(resumed.step(state))
    assert resumed_transport.requests == 0 and paid > 0
    assert [g.to_dict() for g in replayed.next_state.population] == [g.to_dict() for g in lost.next_state.population]
    first_try = [(parent, reply.text) for parent, reply, _ in lost.mutation_calls]
    assert first_try and [(parent, reply.text) for parent, reply, _ in replayed.mutation_calls] == first_try
    assert all(reply.cache_hit for _, reply, _ in replayed.mutation_calls)
    assert replayed.next_state.births == lost.next_state.births


def test_resumed_run_is_identical_to_an_uninterrupted_one():
    config = with_overrides(POC, generations=3)
    straight, _ = asyncio.run(run_all(evolution("C1", "C", config=config)))
    head, state = asyncio.run(run_all(evolution("C1", "C", config=config), stop_after=1))
    tail, _ = asyncio.run(run_all(evolution("C1", "C", config=config), state=state))
    joined = head + tail
    assert [o.summary for o in joined] == [o.summary for o in straight]
    assert [o.next_state.to_dict() for o in joined] == [o.next_state.to_dict() for o in straight]


class FlakyBackend(LocalBackend):
    """Every negotiation fails (a provider that is down) until ``down_for`` play() calls have passed."""

    def __init__(self, down_for):
        super().__init__(SimModel(), NegotiationTask(negotiation_config(POC)), POC.seed)
        self.down_for, self.calls = down_for, 0

    async def play(self, jobs):
        from negoray.chat import ChatFailure

        self.calls += 1
        if self.calls > self.down_for:
            return await super().play(jobs)

        async def down(messages, params):
            raise ChatFailure("provider down: connection refused")

        return await LocalBackend(down, NegotiationTask(negotiation_config(POC)), POC.seed).play(jobs)


def test_a_provider_that_stays_down_pauses_the_run_which_resumes_when_it_is_back():
    slept, statuses = [], []

    async def sleep(seconds):
        slept.append(seconds)

    backend = FlakyBackend(down_for=6)
    evo = Evolution(POC, "D1", "D", 1, SPLITS, backend, task=backend.task, sleep=sleep, on_status=statuses.append)
    out = asyncio.run(evo.step(evo.initial_state()))
    assert out.summary["errors"] == 0  # nothing was scored while the provider was down
    assert any(s.startswith("paused:") and "provider down" in s for s in statuses)
    assert statuses[-1] == "running" and slept == [30.0, 60.0, 120.0, 240.0]


class OneScenarioFails(LocalBackend):
    """Negotiations on one scenario always fail for infrastructure reasons."""

    def __init__(self, scenario_id):
        super().__init__(SimModel(), NegotiationTask(negotiation_config(POC)), POC.seed)
        self.scenario_id = scenario_id

    async def play(self, jobs):
        from negoray.chat import ChatFailure

        async def down(messages, params):
            raise ChatFailure("timeout")

        broken = LocalBackend(down, NegotiationTask(negotiation_config(POC)), POC.seed)
        healthy = LocalBackend(SimModel(), NegotiationTask(negotiation_config(POC)), POC.seed)
        return [(await (broken if j.scenario.id == self.scenario_id else healthy).play([j]))[0] for j in jobs]


def test_a_few_stragglers_are_recorded_as_errors_and_excluded_from_fitness():
    bad = SPLITS["dev"][3].id
    evo = Evolution(POC, "C1", "C", 1, SPLITS, OneScenarioFails(bad), task=NegotiationTask(negotiation_config(POC)))
    out = asyncio.run(evo.step(evo.initial_state()))
    assert out.summary["errors"] == POC.population  # one scenario x every agent, after the re-queues
    for agent, records in out.eval_records.items():
        errors = [r for r in records if r.outcome.value == "error"]
        assert [r.scenario_id for r in errors] == [bad]
        assert out.agent_stats[agent]["dev_errors"] == 1
        assert out.agent_stats[agent]["dev_fitness"] == mean_score([r for r in records if r.scenario_id != bad])


def _check_gating_ids(outputs) -> int:
    """Asserts the id rules of gated slots; returns how many children were rejected."""
    rejected = 0
    for out in outputs[:-1]:
        parents = {g.id for g in out.state.population}
        births = out.next_state.births
        child_ids = {b["gate_child_id"] for b in births.values()}
        gated_ids = {j.agent_id for j, _ in out.gating}
        assert gated_ids <= parents | child_ids
        for genome in out.next_state.population:
            birth = births.get(genome.id)
            if birth is None:
                continue
            if birth["gate_accepted"]:
                assert genome.origin is Origin.MUTATION and birth["gate_child_id"] == genome.id
            else:
                rejected += 1
                assert genome.origin is Origin.CLONE and genome.id not in gated_ids
                assert birth["gate_child_id"] == f"{genome.id}-rejected" and birth["gate_child_id"] in gated_ids
                assert birth["gate_child_id"] in genome.note
    return rejected


def test_a_rejected_child_has_its_own_id_in_the_gating_rows(poc_runs):
    """The clone that takes a rejected child's slot has the slot's id; the child's gating rows carry
    the child's own id (`gate_child_id`), never the clone's."""
    _check_gating_ids(poc_runs["D"])
    # a tolerance of -1 asks a child to beat its parent by the whole score range: every child is rejected
    strict = dataclasses.replace(POC, gating_tolerance=-1.0, generations=2)
    outputs = asyncio.run(run_all(evolution("D2", "D", config=strict)))[0]
    assert _check_gating_ids(outputs) > 0


def test_reflective_mutation_is_shown_its_five_worst_scenarios_in_full():
    requests = []

    class Spy(SimModel):
        async def __call__(self, messages, params):
            if "## How it performed" in messages[-1]["content"]:
                requests.append(messages[-1]["content"])
            return await super().__call__(messages, params)

    evo = evolution("C1", "C", chat=Spy())
    asyncio.run(evo.step(evo.initial_state()))
    assert requests, "group C mutates reflectively"
    worst = requests[0].split("Worst scenarios:")[1].split("## Task")[0]
    assert worst.count("normalised score") == 5
    assert worst.count("  pool: [") == 5 and worst.count("your values: book = ") == 5 and worst.count("  ended: ") == 5
