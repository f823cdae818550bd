from hypothesis import given, strategies as st

from negoray.evolution.seeds import OPPONENT_PROMPT, SEED_STRATEGIES
from negoray.sim.strategy import SimStrategy, read_strategy, write_strategy


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


def test_aspiration_concedes_from_opening_to_floor():
    slow, fast = SimStrategy(0.9, 0.4, 3.0), SimStrategy(0.9, 0.4, 0.5)
    assert slow.aspiration(0) == fast.aspiration(0) == 0.9
    assert abs(slow.aspiration(1) - 0.4) < 1e-12 and abs(fast.aspiration(1) - 0.4) < 1e-12
    assert slow.aspiration(0.5) > fast.aspiration(0.5)


@given(
    opening=st.integers(40, 100), floor=st.integers(5, 40), exponent=st.floats(0.2, 9.0),
    late=st.one_of(st.none(), st.tuples(st.integers(1, 9), st.integers(5, 40))),
)
def test_write_then_read_round_trips(opening, floor, exponent, late):
    params = SimStrategy(opening / 100, floor / 100, exponent, *(late[0], late[1] / 100) if late else (None, None))
    back = read_strategy(write_strategy(params, SEED_STRATEGIES["deceptive"]))
    assert abs(back.opening - params.opening) < 0.006 and abs(back.floor - params.floor) < 0.006
    assert abs(back.exponent - params.exponent) < 0.006
    assert (back.late_round, back.late_floor) == (params.late_round, params.late_floor)
