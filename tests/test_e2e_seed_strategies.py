"""The eight seed styles x 20 v7 scenarios against the fixed opponent, all played by the sim."""

import asyncio

import pytest

from negoray.game.dialogue import NegotiationConfig
from negoray.game.generators import v7_splits
from negoray.game.outcome import OutcomeKind
from negoray.sim.model import SimModel
from negoray.tasks.negotiation import Summary, play_all
from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES

pytestmark = pytest.mark.slow


def play_seeds(config):
    scenarios = v7_splits()["dev"][:20]

    async def go():
        return {name: await play_all(p, OPPONENT_PROMPT, scenarios, SimModel(), config) for name, p in SEED_STRATEGIES.items()}

    return asyncio.run(go())


@pytest.fixture(scope="module")
def results():
    return play_seeds(NegotiationConfig(seed=7))


def test_strategies_differ(results):
    summaries = {name: Summary.of(recs) for name, recs in results.items()}
    assert len({round(s.deal_rate, 3) for s in summaries.values()}) > 1
    assert len({round(s.mean_score, 3) for s in summaries.values()}) >= 6


def test_deterministic_across_runs(results):
    again = play_seeds(NegotiationConfig(seed=7))
    assert {k: [r.to_dict() for r in v] for k, v in again.items()} == {k: [r.to_dict() for r in v] for k, v in results.items()}


def test_every_record_is_complete(results):
    for records in results.values():
        assert len(records) == 20
        for r in records:
            assert r.outcome in (OutcomeKind.AGREED, OutcomeKind.TIMEOUT)
            assert 1 <= r.n_turns <= 10 and len(r.calls) == r.n_turns
            assert all(c.prompt_tokens > 0 and c.completion_tokens > 0 and c.provider == "sim" for c in r.calls)
            assert all(t.text and t.move is not None for t in r.turns)
            if r.outcome is OutcomeKind.AGREED:
                assert r.metrics.agent_share is not None and 0 < r.metrics.agent_normalized <= 1
            else:
                assert r.metrics.agent_score == 0
