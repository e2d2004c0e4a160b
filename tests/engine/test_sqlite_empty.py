"""A native SQLite query with no rows keeps its columns' types on every road (r7).

SQLite gives no types with a result: they came from the first row, so with none every column
was Arrow null, which an EXPORT wrote to Parquet as INTEGER (an empty day's file changed the
schema of a folder of daily exports) and `.arrow()` disagreed with `.columns`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from noctra import Session

QUERIES = {
    "table": "SELECT * FROM e.t WHERE id > {n}",
    "columns": "SELECT note, amt, id, raw FROM e.t WHERE id > {n}",
    "join": "SELECT t.id, u.label FROM e.t t JOIN e.u u ON u.id = t.id WHERE t.id > {n}",
}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "ev.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE t (id INTEGER, note TEXT, amt REAL, raw BLOB);"
            "INSERT INTO t VALUES (1, 'hello', 1.5, x'00'), (2, 'bye', 2.5, x'01');"
            "CREATE TABLE u (id INTEGER PRIMARY KEY, label VARCHAR(10));"
            "INSERT INTO u VALUES (1, 'one'), (2, 'two');"
        )
    conn.close()
    return path


def parquet_types(path: Path) -> list[tuple[str, str]]:
    with duckdb.connect() as con:
        rows = con.execute("SELECT name, type FROM parquet_schema(?) WHERE num_children IS NULL", [str(path)])
        return [(str(a), str(b)) for a, b in rows.fetchall()]


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_an_empty_native_result_has_the_types_a_full_one_has(name: str, db: Path) -> None:
    query = QUERIES[name]
    with Session(restore=False) as s:
        s.execute("USE 'ev.db' AS e")
        full = s.sql(query.format(n=0))
        full_arrow, full_columns = full.arrow(), full.columns
        empty = s.sql(query.format(n=100))
        empty_arrow = empty.arrow()
        assert (full.engine, empty.engine) == ("sqlite", "sqlite")
        assert empty_arrow.num_rows == 0
        assert empty_arrow.schema == full_arrow.schema
        assert [(c.name, c.type) for c in empty.columns] == [(c.name, c.type) for c in full_columns]
        s.execute(f"EXPORT ({query.format(n=0)}) TO 'full.parquet'")
        s.execute(f"EXPORT ({query.format(n=100)}) TO 'empty.parquet'")
    assert parquet_types(db.parent / "empty.parquet") == parquet_types(db.parent / "full.parquet")


def test_an_empty_result_of_expressions_is_text_not_null(db: Path) -> None:
    """SQLite declares no type for an expression: with no row to tell, it is text."""
    with Session(restore=False) as s:
        s.execute("USE 'ev.db' AS e")
        empty = s.sql("SELECT id * 2 AS twice, id FROM e.t WHERE id > 100")
        assert empty.arrow().schema == pa.schema([("twice", pa.string()), ("id", pa.int64())])


def test_an_empty_result_with_parameters_is_text_not_null(db: Path) -> None:
    """Parameters cannot go into the view that tells the declared types: text, never null."""
    with Session(restore=False) as s:
        s.execute("USE 'ev.db' AS e")
        empty = s.sql("SELECT note FROM e.t WHERE id > :n", n=100)
        assert empty.arrow().schema == pa.schema([("note", pa.string())])
