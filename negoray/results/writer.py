"""Writing and reading the results: one Parquet file per table per (run, generation).

Layout under the results root::

    negotiations/{run_id}_g{generation:02d}.parquet     calls/...     agents/...     generations/...
    negotiations/test_{run_id}.parquet                  negotiations/baseline.parquet   (write_extra)

Each table is a directory of files with one schema, so pandas (``read_parquet(root/"negotiations")``),
polars and DuckDB (``read_parquet('root/negotiations/*.parquet')``) read it whole. Every file is
written to a hidden temporary name in the same directory and moved into place with `os.replace`,
so a reader or a killed process never sees half a file; rewriting a (run, generation) replaces it
byte for byte when the rows are the same. The generations file is written last: its presence
marks a generation as complete.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from negoray.results.schema import SCHEMAS, TABLES, to_table, with_task_columns
from negoray.tasks.base import Column

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def generation_file(run_id: str, generation: int) -> str:
    return f"{run_id}_g{generation:02d}.parquet"


def _check_name(what: str, name: str) -> None:
    if not _NAME.match(name) or name.endswith(".parquet"):
        raise ValueError(f"{what} {name!r} must be letters, digits, '.', '_' or '-', not start with '.' or '_', "
                         "and not end in .parquet")


def write_parquet(path: Path, table: pa.Table) -> None:
    """Write ``table`` to ``path`` atomically (temporary file in the same directory, then `os.replace`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            pq.write_table(table, f, compression="zstd")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class ResultsWriter:
    """Writes the results tables of an experiment under ``root``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path(self, table: str, name: str) -> Path:
        if table not in SCHEMAS:
            raise ValueError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
        return self.root / table / name

    def write_generation(
        self,
        run_id: str,
        generation: int,
        negotiations: Sequence[Mapping[str, Any]],
        calls: Sequence[Mapping[str, Any]],
        agents: Sequence[Mapping[str, Any]],
        generation_row: Mapping[str, Any],
        task_columns: Mapping[str, Sequence[Column]] | None = None,
        outcomes: Sequence[str] = (),
    ) -> dict[str, Path]:
        """Write one generation of one run (all four tables); returns the paths written.
        ``task_columns``: table -> the task's own columns (`negoray.results.schema.task_table_columns`);
        ``outcomes``: the task's own values of ``outcome`` (`negoray.results.schema.task_outcomes`).

        Every row is validated before any file is written, so a bad row leaves the previous
        state untouched.
        """
        _check_name("run_id", run_id)
        if generation < 0:
            raise ValueError(f"generation must be >= 0, got {generation}")
        for row in (generation_row, *agents, *negotiations, *calls):
            if row.get("run_id") != run_id:
                raise ValueError(f"a row for run {row.get('run_id')!r} was passed for run {run_id!r}")
        if generation_row.get("generation") != generation:
            raise ValueError(f"generation_row is for generation {generation_row.get('generation')!r}, not {generation}")
        rows = {"negotiations": negotiations, "calls": calls, "agents": agents,
                "generations": [generation_row]}  # last: marks the generation complete
        tables = {table: to_table(table, these, (task_columns or {}).get(table, ()), outcomes)
                  for table, these in rows.items()}
        name = generation_file(run_id, generation)
        written = {}
        for table, arrow in tables.items():
            written[table] = self.path(table, name)
            write_parquet(written[table], arrow)
        return written

    def write_extra(self, table: str, name: str, rows: Iterable[Mapping[str, Any]],
                    task_columns: Sequence[Column] = (), outcomes: Sequence[str] = ()) -> Path:
        """Write rows outside the generation loop, e.g. ``("negotiations", "test_A1", rows)`` or
        ``("negotiations", "baseline", rows)``: file ``{table}/{name}.parquet``."""
        _check_name("name", name)
        path = self.path(table, f"{name}.parquet")
        write_parquet(path, to_table(table, rows, task_columns, outcomes))
        return path

    def has_generation(self, run_id: str, generation: int) -> bool:
        """Whether (run, generation) was written completely (its generations file exists)."""
        return self.path("generations", generation_file(run_id, generation)).exists()


def table_files(root: Path | str, table: str) -> list[Path]:
    """The Parquet files of one table, in sorted order (hidden temporary files excluded)."""
    if table not in SCHEMAS:
        raise ValueError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
    folder = Path(root) / table
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith((".", "_")))


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns: missing ones become null, extra ones are dropped."""
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def read_table(root: Path | str, table: str, columns: Sequence[str] | None = None,
               task_columns: Sequence[Column] = ()) -> pa.Table:
    """One table, all files concatenated in sorted file order; an empty table with the schema if
    there are none. ``columns`` reads only those (e.g. leave out ``transcript``); ``task_columns``:
    the task's own columns of ``table``, read too."""
    schema = SCHEMAS[table] if table in SCHEMAS else None
    if schema is None:
        raise ValueError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
    schema = with_task_columns(schema, task_columns) if task_columns else schema
    if columns is not None:
        unknown = set(columns) - set(schema.names)
        if unknown:
            raise ValueError(f"{table} has no column(s) {', '.join(sorted(unknown))}")
        schema = pa.schema([schema.field(c) for c in columns], metadata=schema.metadata)
    parts = []
    for path in table_files(root, table):
        present = set(pq.read_schema(path).names)
        wanted = [c for c in schema.names if c in present]
        parts.append(_conform(pq.read_table(path, columns=wanted), schema))
    if not parts:
        return schema.empty_table()
    return pa.concat_tables(parts)


def has_results(root: Path | str) -> bool:
    """Whether ``root`` holds at least one results file."""
    return any(table_files(root, t) for t in TABLES)
