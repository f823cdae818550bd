"""Schemas, row builders and the Parquet writer: round trips through pyarrow, pandas, polars, DuckDB."""

import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from negoray.chat import ChatReply
from negoray.evolution.genome import Genome, Origin
from negoray.results import schema
from negoray.results.rows import agent_row, call_rows, generation_row, mutation_call_row
from negoray.results.schema import CALL_PHASES, PHASES, SCHEMAS
from negoray.results.writer import ResultsWriter, has_results, read_table, table_files
from tests.results.synthetic import COLUMNS, PRICES, TASK, WRITE, generation_tables, negotiation_row, schema_of

REQUIRED = {
    "negotiations": "run_id group seed generation agent_id scenario_id split phase replicate outcome agent_score "
                    "opponent_score normalized_score opponent_normalized pareto_optimal joint_efficiency nash_product "
                    "nash_ratio turns agent_invalid opponent_invalid agent_unparseable prompt_tokens completion_tokens "
                    "cost_usd latency_s provider model error transcript",
    "calls": "run_id generation agent_id scenario_id phase replicate turn side round provider model prompt_tokens "
             "completion_tokens latency_s attempts cache_hit status",
    "agents": "run_id group agent_id parent_id generation origin mutation_kind lineage prompt note dev_fitness "
              "dev_deal_rate dev_errors gate_child_mean gate_parent_mean gate_accepted gate_child_id test_score market_revenue "
              "market_clients",
    "generations": "run_id group generation mean_fitness best_fitness worst_fitness median_fitness deal_rate "
                   "pareto_rate diversity_lineages prompt_similarity gating_attempts gating_accepted market_gini "
                   "market_hhi errors negotiations calls prompt_tokens completion_tokens cost_usd wall_s",
}
COUNTS = {"negotiations": None, "calls": None, "agents": 12 * 3 * 4, "generations": 12 * 3}


@pytest.mark.parametrize("table", list(REQUIRED))
def test_schemas_have_the_required_columns(table):
    missing = set(REQUIRED[table].split()) - set(schema_of(table).names)
    assert not missing


def _neg_row(pool, kind="dev", **kw):
    args = dict(run_id="A1", group="A", seed=1, generation=0, agent_id="A1-g00-0", split="dev", phase="eval",
                price_in=PRICES[0], price_out=PRICES[1])
    return negotiation_row(pool[kind][0], **{**args, **kw})


def test_negotiation_row_scores_cost_and_transcript(pool):
    rec = pool["dev"][0]
    row = _neg_row(pool)
    assert row["outcome"] == rec.outcome.value and row["normalized_score"] == rec.metrics.agent_normalized
    assert row["turns"] == rec.n_turns and row["provider"] == "sim" and row["model"] == "negoray-sim-1"
    assert row["cost_usd"] == pytest.approx((rec.prompt_tokens * PRICES[0] + rec.completion_tokens * PRICES[1]) / 1e6)
    transcript = json.loads(json.dumps(rec.to_dict()))
    del transcript["calls"]  # per-call usage (timings, cache hits) is the calls table's
    assert json.loads(row["transcript"]) == transcript


def test_errors_are_never_scored(pool):
    row = _neg_row(pool, "error")
    assert row["outcome"] == "error" and row["error"]
    for col in ("agent_score", "opponent_score", "normalized_score", "pareto_optimal", "nash_product", "nash_ratio"):
        assert row[col] is None
    assert row["provider"] == "sim"  # from the call that did succeed
    statuses = [c["status"] for c in call_rows(pool["error"][0], run_id="A1", generation=0, agent_id="x", phase="eval")]
    assert statuses == ["ok", "failed"]


def test_cache_hits_cost_nothing(pool):
    row = _neg_row(pool, "cached")
    assert row["cache_hits"] == row["calls"] > 0 and row["cost_usd"] == 0.0
    calls = call_rows(pool["cached"][0], run_id="A1", generation=0, agent_id="x", phase="eval",
                      price_in=1.0, price_out=1.0)
    assert all(c["cache_hit"] and c["cost_usd"] == 0.0 for c in calls)
    assert [c["turn"] for c in calls] == list(range(len(calls)))
    assert call_rows(pool["dev"][0], run_id="A1", generation=0, agent_id="x", phase="eval")[0]["cost_usd"] is None


def test_mutation_call_rows():
    ok = mutation_call_row("A1", 2, "A1-g02-3", ChatReply("p", 100, 50, 0.2, provider="sim", model="m"), True,
                           price_in=1.0, price_out=2.0)
    assert ok["phase"] == "mutation" and ok["scenario_id"] == "" and ok["status"] == "ok"
    assert ok["cost_usd"] == pytest.approx(200 / 1e6) and ok["side"] == "mutator"
    failed = mutation_call_row("A1", 2, "A1-g02-3", None, False)
    assert failed["status"] == "failed" and failed["prompt_tokens"] == 0 and failed["cost_usd"] is None
    assert mutation_call_row("A1", 2, "x", ChatReply("unusable"), False)["status"] == "failed"


def test_agent_and_generation_rows():
    g = Genome("C1-g01-2", "C1", 1, "prompt", Origin.MUTATION, "analytical", parent_id="C1-g00-2",
               mutation_kind="reflective")
    row = agent_row(g, dev_fitness=0.5, market_revenue=3.0, market_clients=4)
    assert row["group"] == "C" and row["origin"] == "mutation" and row["gate_accepted"] is None
    assert set(row) == set(SCHEMAS["agents"].names)
    with pytest.raises(TypeError, match="dev_fitnes"):
        agent_row(g, dev_fitnes=0.5)
    gen = generation_row({"run_id": "C1", "group": "C", "generation": 1, "best_fitness": 0.7})
    assert set(gen) == set(SCHEMAS["generations"].names) and gen["market_gini"] is None
    with pytest.raises(ValueError, match="unknown"):
        generation_row({"run_id": "C1", "group": "C", "generation": 1, "bestfitness": 0.7})
    with pytest.raises(ValueError, match="required"):
        generation_row({"run_id": "C1", "generation": 1})


def test_bad_rows_are_refused_before_anything_is_written(tmp_path, pool):
    with pytest.raises(ValueError, match="phase"):
        _neg_row(pool, phase="training")
    w = ResultsWriter(tmp_path)
    negotiations, calls, agents, row, _ = generation_tables("A1", "A", 0, pool, np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown column"):
        w.write_generation("A1", 0, [{**negotiations[0], "bogus": 1}], calls, agents, row, **WRITE)
    with pytest.raises(ValueError, match="must not be null"):
        w.write_generation("A1", 0, [{**negotiations[0], "agent_id": None}], calls, agents, row, **WRITE)
    with pytest.raises(ValueError, match="outcome"):
        w.write_generation("A1", 0, [{**negotiations[0], "outcome": "won"}], calls, agents, row, **WRITE)
    with pytest.raises(ValueError, match="outcome has .'agreed'"):  # V7's outcomes are the task's, not every task's
        w.write_generation("A1", 0, [{**negotiations[0], "outcome": "agreed"}], calls, agents, row,
                           task_columns=COLUMNS)
    with pytest.raises(ValueError, match="run"):
        w.write_generation("A2", 0, negotiations, calls, agents, {**row, "run_id": "A2"}, **WRITE)
    assert not has_results(tmp_path)


@pytest.mark.parametrize("table", list(REQUIRED))
def test_read_back_with_pyarrow(full, table):
    t = read_table(full, table, task_columns=COLUMNS.get(table, ()))
    assert t.schema.equals(schema_of(table)) and t.num_rows > 0
    if COUNTS[table]:
        assert t.num_rows == COUNTS[table]
    rows = t.to_pylist()
    if table == "negotiations":
        assert {r["phase"] for r in rows} == set(PHASES)
        assert {r["outcome"] for r in rows} == set(TASK.outcomes)
        scored = [r for r in rows if r["outcome"] != "error"]
        assert all(0 <= r["normalized_score"] <= 1 and 0 <= r["joint_efficiency"] <= 1 for r in scored)
        assert all(r["normalized_score"] is None for r in rows if r["outcome"] == "error")
        assert all(r["split"] == {"eval": "dev", "gating": "val", "test": "test", "baseline": "test"}[r["phase"]]
                   for r in rows)
        assert all(json.loads(r["transcript"])["scenario_id"] == r["scenario_id"] for r in rows[:50])
    if table == "calls":
        assert {r["phase"] for r in rows} <= set(CALL_PHASES) and {r["status"] for r in rows} == {"ok", "failed"}
    if table == "agents":
        assert {r["origin"] for r in rows} == {"seed", "elite", "mutation", "clone"}
        assert {r["mutation_kind"] for r in rows} == {None, "random", "reflective"}
    if table == "generations":
        assert {r["group"] for r in rows} == set("ABCD")
        assert all((r["market_gini"] is None) == (r["group"] in "AD") for r in rows)


def test_columns_subset_and_empty_root(tmp_path, full):
    t = read_table(full, "negotiations", ["run_id", "normalized_score"])
    assert t.column_names == ["run_id", "normalized_score"]
    for table in REQUIRED:
        empty = read_table(tmp_path, table)
        assert empty.num_rows == 0 and empty.schema.equals(SCHEMAS[table])
    assert not has_results(tmp_path) and has_results(full)


@pytest.mark.parametrize("table", list(REQUIRED))
def test_read_back_with_pandas(full, table):
    pd = pytest.importorskip("pandas")
    df = pd.read_parquet(full / table)
    assert len(df) == read_table(full, table).num_rows
    assert list(df.columns) == schema_of(table).names
    if table == "negotiations":
        assert set(df["phase"]) == set(PHASES) and df["normalized_score"].dropna().between(0, 1).all()


@pytest.mark.parametrize("table", list(REQUIRED))
def test_read_back_with_polars(full, table):
    pl = pytest.importorskip("polars")
    df = pl.read_parquet(str(full / table / "*.parquet"))
    assert df.height == read_table(full, table).num_rows and df.columns == schema_of(table).names
    if table == "calls":
        assert set(df["status"].unique().to_list()) == {"ok", "failed"}


def test_read_back_with_duckdb(full):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    for table in REQUIRED:
        n = con.execute(f"select count(*) from read_parquet('{full / table}/*.parquet')").fetchone()[0]
        assert n == read_table(full, table).num_rows
    rows = con.execute(
        f"select \"group\", phase, count(*), avg(normalized_score) from read_parquet('{full}/negotiations/*.parquet') "
        "where phase in ('eval', 'test') group by all order by all").fetchall()
    assert {(g, p) for g, p, _, _ in rows} == {(g, p) for g in "ABCD" for p in ("eval", "test")}
    assert all(0 <= mean <= 1 for *_, mean in rows)


def test_file_layout(full):
    names = {p.name for p in table_files(full, "negotiations")}
    assert {"A1_g00.parquet", "D3_g02.parquet", "test_B2.parquet", "baseline.parquet"} <= names
    for table in REQUIRED:
        assert all(not p.name.startswith(".") for p in (full / table).iterdir())
    assert len(table_files(full, "generations")) == 36


def test_rewrite_is_atomic_and_idempotent(tmp_path, pool, monkeypatch):
    w = ResultsWriter(tmp_path)
    tables = generation_tables("B1", "B", 1, pool, np.random.default_rng(5))[:4]
    first = w.write_generation("B1", 1, *tables, **WRITE)
    before = {t: p.read_bytes() for t, p in first.items()}
    assert w.has_generation("B1", 1) and not w.has_generation("B1", 2)
    w.write_generation("B1", 1, *tables, **WRITE)
    assert {t: p.read_bytes() for t, p in first.items()} == before
    assert all(oct(os.stat(p).st_mode)[-3:] == "644" for p in first.values())

    # A write that dies half-way leaves the old file in place and no temporary file behind.
    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError):
        w.write_generation("B1", 1, [], [], [], tables[3])
    monkeypatch.undo()
    assert {t: p.read_bytes() for t, p in first.items()} == before
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(
        [t for t in REQUIRED] + ["B1_g01.parquet"] * 4)

    # Different rows for the same (run, generation) replace the file rather than adding to it.
    w.write_generation("B1", 1, tables[0][:3], tables[1][:5], tables[2], tables[3], **WRITE)
    assert read_table(tmp_path, "negotiations").num_rows == 3
    assert read_table(tmp_path, "calls").num_rows == 5


def test_zero_rows_write_a_valid_file(tmp_path, pool):
    w = ResultsWriter(tmp_path)
    row = generation_row({"run_id": "D1", "group": "D", "generation": 0})
    paths = w.write_generation("D1", 0, [], [], [], row)
    for table, path in paths.items():
        t = pq.read_table(path)
        assert t.schema.names == SCHEMAS[table].names
        assert t.num_rows == (1 if table == "generations" else 0)
    extra = w.write_extra("negotiations", "baseline", [])
    assert pq.read_table(extra).num_rows == 0
    with pytest.raises(ValueError):
        w.write_extra("negotiations", "../escape", [])
    with pytest.raises(ValueError):
        w.write_extra("bogus", "x", [])


def test_files_with_an_older_schema_still_read(tmp_path):
    """A file missing a later-added column reads with that column null."""
    (tmp_path / "generations").mkdir()
    old = pa.table({"run_id": ["A1"], "group": ["A"], "generation": pa.array([0], pa.int32()), "best_fitness": [0.4]})
    pq.write_table(old, tmp_path / "generations" / "A1_g00.parquet")
    t = read_table(tmp_path, "generations")
    assert t.schema.equals(schema.GENERATIONS) and t.to_pylist()[0]["best_fitness"] == 0.4
    assert t.to_pylist()[0]["wall_s"] is None
