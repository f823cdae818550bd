"""`Phase`: one source for the phase names, and a drop-in for the strings it replaced (the results
tables and every derived seed stay identical)."""

import json

import pyarrow as pa

from negoray.chat import derive_seed
from negoray.evolution.backend import NEGOTIATION_PHASES, Job, Phase
from negoray.evolution.genome import rng_for
from negoray.game.generators import v7_splits
from negoray.results.schema import CALL_PHASES, PHASES


def test_the_names_are_the_results_tables():
    assert [str(p) for p in NEGOTIATION_PHASES] == ["eval", "gating", "test", "baseline"]
    assert PHASES == NEGOTIATION_PHASES and CALL_PHASES == (*NEGOTIATION_PHASES, Phase.MUTATION)
    assert {p.value for p in Phase} == {"eval", "gating", "test", "baseline", "mutation"}


def test_a_phase_is_its_string_everywhere_it_is_written():
    for p in Phase:
        assert p == p.value and hash(p) == hash(p.value) and f"{p}" == p.value
        assert json.dumps({p: p}) == json.dumps({p.value: p.value})
    assert pa.array(list(Phase)).equals(pa.array([p.value for p in Phase]))


def test_seeds_derived_from_a_phase_are_the_strings_seeds():
    scenario = v7_splits()["dev"][0]
    for p in Phase:
        with_enum, with_str = Job("A1", 3, p, "A1-g03-0", "x", scenario), Job("A1", 3, p.value, "A1-g03-0", "x", scenario)
        assert with_enum.key == with_str.key and with_enum.seed(7) == with_str.seed(7)
        assert derive_seed(7, "A1", p, 2) == derive_seed(7, "A1", p.value, 2)
        assert rng_for(7, "A1", 1, p).integers(1 << 30) == rng_for(7, "A1", 1, p.value).integers(1 << 30)
