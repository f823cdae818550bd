import pytest
from hypothesis import given, strategies as st

from negoray.game.moves import Action
from negoray.sim.negotiator import TurnState, decide

from negoray.sim.strategy import SimStrategy, read_strategy, write_strategy
from negoray.tasks.negotiation.seeds import OPPONENT_PROMPT, SEED_STRATEGIES


def test_seed_strategies_state_their_thresholds():
    read = {name: read_strategy(p) for name, p in SEED_STRATEGIES.items()}
    assert read["aggressive"].floor == 0.5 and read["aggressive"].opening == 0.9 and read["aggressive"].exponent > 1
    assert read["cooperative"].floor == 0.35 and read["cooperative"].exponent < 1
    assert read["deadline"].floor == 0.3 and read["deadline"].exponent > read["aggressive"].exponent
    assert {r.floor for r in read.values()} == {0.5, 0.35, 0.45, 0.4, 0.3}
    assert len({(r.opening, r.floor, r.exponent) for r in read.values()}) == len(read)


def test_opponent_is_fair_but_firm():
    opp = read_strategy(OPPONENT_PROMPT)
    assert (opp.opening, opp.floor, opp.late_round, opp.late_floor) == (0.65, 0.4, 4, 0.25)
    assert opp.accept_at == 0.4


def _turn(message: int, offered):
    """A turn of a 5-round game for the opponent (even messages), pool 2 books 2 hats 2 balls."""
    return TurnState(counts=(2, 2, 2), values=(1, 1, 1), message=message, last_message=10,
                     round=(message + 1) // 2, offered=offered, their_asks=((1, 1, 1),))


@pytest.mark.parametrize("message", [2, 4, 6, 8])
def test_opponent_accepts_half_at_once(message):
    """'Accept any offer worth at least 40%' is an immediate threshold, not the end of a linear
    aspiration: a 50% offer is accepted at message 2 already."""
    move = decide(_turn(message, (1, 1, 1)), read_strategy(OPPONENT_PROMPT), noise=0.0)
    assert move.action is Action.ACCEPT


def test_opponent_rejects_below_its_threshold_until_round_4():
    offer = (1, 0, 1)  # 2 of 6 = 33%
    opp = read_strategy(OPPONENT_PROMPT)
    assert decide(_turn(2, offer), opp, noise=0.0).action is not Action.ACCEPT
    assert decide(_turn(10, offer), opp, noise=0.0).action is Action.ACCEPT  # round 5: after round 4, >= 25%


@pytest.mark.parametrize("text", ["Accepts >= 40% of your value.", "accept offers of at least 40% of your value",
                                  "Accept any deal that gives you ≥ 40%."])
def test_accept_phrasings_are_immediate_thresholds(text):
    read = read_strategy(text)
    assert read.accept_at == 0.4 and read.floor == 0.4


def test_never_accept_less_than_is_a_floor_not_an_immediate_threshold():
    read = read_strategy(SEED_STRATEGIES["aggressive"])
    assert read.accept_at is None and read.floor == 0.5
    assert decide(_turn(2, (1, 1, 1)), read, noise=0.0).action is not Action.ACCEPT


def test_aspiration_concedes_from_opening_to_floor():
    slow, fast = SimStrategy(0.9, 0.4, 3.0), SimStrategy(0.9, 0.4, 0.5)
    assert slow.aspiration(0) == fast.aspiration(0) == 0.9
    assert abs(slow.aspiration(1) - 0.4) < 1e-12 and abs(fast.aspiration(1) - 0.4) < 1e-12
    assert slow.aspiration(0.5) > fast.aspiration(0.5)


@given(
    opening=st.integers(40, 100), floor=st.integers(5, 40), exponent=st.floats(0.2, 9.0),
    late=st.one_of(st.none(), st.tuples(st.integers(1, 9), st.integers(5, 40))),
    accept_at=st.one_of(st.none(), st.integers(5, 95)),
)
def test_write_then_read_round_trips(opening, floor, exponent, late, accept_at):
    params = SimStrategy(opening / 100, floor / 100, exponent, *(late[0], late[1] / 100) if late else (None, None),
                         accept_at=None if accept_at is None else accept_at / 100)
    back = read_strategy(write_strategy(params, SEED_STRATEGIES["deceptive"]))
    assert abs(back.opening - params.opening) < 0.006 and abs(back.floor - params.floor) < 0.006
    assert abs(back.exponent - params.exponent) < 0.006
    assert (back.late_round, back.late_floor) == (params.late_round, params.late_floor)
    assert back.accept_at == params.accept_at
