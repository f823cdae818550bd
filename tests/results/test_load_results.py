"""`load_results`: the report's data as a public API (what a notebook imports)."""

import math

from negoray.config import GROUPS
from negoray.results.report import Results, RunResults, load_results
from tests.results.synthetic import build


def test_a_full_experiment_loads_as_typed_data(full):
    results = load_results(str(full))  # a str path works as well as a Path
    assert isinstance(results, Results)
    assert results.groups() == sorted(GROUPS)
    for group in GROUPS:
        runs = results.runs_of(group)
        assert len(runs) == 3
        assert all(isinstance(r, RunResults) and r.group == group and r.last == 2 for r in runs)
        assert len(results.tested(group)) == len(runs)
        assert all(0 <= s <= 1 for s in results.tested(group))
    assert set(results.baselines) and all(n > 0 for _, n, _ in results.baselines.values())
    assert {"eval", "baseline", "mutation"} <= set(results.usage)


def test_a_partial_experiment_loads_without_what_is_missing(tmp_path, pool):
    build(tmp_path, pool, groups=("A",), runs=1, generations=1, test=False, baseline=False)
    results = load_results(tmp_path)
    assert results.groups() == ["A"] and results.baselines == {}
    (run,) = results.runs_of("A")
    assert run.test_score is None and run.last == 0
    assert math.isnan(run.final("market_gini"))  # tournament groups have no market columns
