"""Session.catalog() lists without side effects; Session.status() never disturbs a running result."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest

from noctra.engine.base import Column, TableInfo
from noctra.errors import SourceError
from noctra.session import Session


def raw(session: Session, sql: str) -> list[tuple[object, ...]]:
    """Ask DuckDB directly on a cursor, bypassing Noctra (a statement through it would prepare)."""
    cursor = session.engine.connection.cursor()  # type: ignore[attr-defined]
    try:
        return list(cursor.execute(sql).fetchall())
    finally:
        cursor.close()


def sqlite_loaded(session: Session) -> bool:
    rows = raw(session, "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'sqlite_scanner'")
    return bool(rows and rows[0][0])


def attached(session: Session) -> set[str]:
    return {str(r[0]) for r in raw(session, "SELECT database_name FROM duckdb_databases()")}


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sales.csv").write_text("id,amount,region\n1,10.5,north\n2,20,south\n", encoding="utf-8")
    with sqlite3.connect(tmp_path / "crm.db") as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born DATE)")
        conn.execute("CREATE VIEW adults AS SELECT id FROM users")
        conn.execute("INSERT INTO users VALUES (1, 'Ann', '1990-01-01')")
    conn.close()
    with duckdb.connect(str(tmp_path / "lake.duckdb")) as con:
        con.execute("CREATE TABLE facts (k INTEGER, v VARCHAR)")
        con.execute("CREATE SCHEMA staging")
        con.execute("CREATE TABLE staging.raw (line VARCHAR)")
    return tmp_path


def test_listing_a_sqlite_source_attaches_nothing_and_loads_no_extension(data: Path) -> None:
    with Session() as session:
        session.execute("USE 'crm.db' AS crm; USE 'sales.csv' AS sales")
        catalog = session.catalog()
        entries = {e.alias: e for e in catalog.sources()}
        assert set(entries) == {"crm", "sales"}
        assert entries["crm"].is_database and entries["crm"].kind == "SQLite"
        assert entries["sales"].is_current and entries["sales"].status == "ok"
        assert catalog.tables("crm") == [TableInfo("adults", "view", 1), TableInfo("users", "table", 3)]
        assert catalog.columns("crm", "users") == [
            Column("id", "INTEGER", True),
            Column("name", "TEXT", False),
            Column("born", "DATE", True),
        ]
        assert not sqlite_loaded(session)
        assert "crm" not in attached(session)
        # A statement that needs DuckDB attaches it then, and only then.
        assert session.sql("SELECT count(*) FROM crm.users JOIN sales ON sales.id = users.id").rows(1) == [
            (1,)
        ]
        assert sqlite_loaded(session) and "crm" in attached(session)


def test_file_columns_come_from_registration_without_reading_the_file(data: Path) -> None:
    with Session() as session:
        session.execute("USE 'sales.csv' AS sales")
        (data / "sales.csv").unlink()
        catalog = session.catalog()
        assert [c.name for c in catalog.columns("sales")] == ["id", "amount", "region"]
        assert [c.type for c in catalog.columns("sales")] == ["BIGINT", "DOUBLE", "VARCHAR"]
        assert catalog.tables("sales") == [TableInfo("sales", "CSV", 3)]
        assert {e.alias: e.status for e in catalog.sources()} == {"sales": "missing"}


def test_duckdb_database_tables_keep_their_schema(data: Path) -> None:
    with Session() as session:
        session.execute("USE 'lake.duckdb' AS lake")
        tables = session.catalog().tables("lake")
        assert [(t.schema, t.name) for t in tables] == [("main", "facts"), ("staging", "raw")]
        assert [c.name for c in session.catalog().columns("lake", "facts")] == ["k", "v"]
        shown = session.sql("SHOW TABLES FROM lake").rows(10)
        assert shown == [("facts", "table", 2), ("staging.raw", "table", 1)]


def test_catalog_names_an_unknown_source(data: Path) -> None:
    with Session() as session, pytest.raises(SourceError, match="unknown source 'nope'"):
        session.catalog().tables("nope")


def test_status_while_a_result_streams_leaves_the_result_intact(data: Path) -> None:
    with Session() as session:
        session.execute("USE 'sales.csv' AS sales")
        result = session.sql("SELECT i, i * 2 AS j FROM range(3000000) t(i)")
        reader = result.reader(batch_rows=100_000)
        first = reader.read_next_batch()
        status = session.status()
        rest = reader.read_all()
        assert first.num_rows + rest.num_rows == 3_000_000
        assert rest.column("i")[rest.num_rows - 1].as_py() == 2_999_999
        assert status.engine == "duckdb"
        assert status.current_source == "sales"
        assert status.current_size == (data / "sales.csv").stat().st_size
        assert status.threads is not None and status.threads >= 1
        assert status.memory_used is not None and status.memory_limit is not None
        assert status.io_type == "local"


def test_function_names_while_a_result_streams_leave_the_result_intact() -> None:
    with Session() as session:
        reader = session.sql("SELECT i FROM range(2000000) t(i)").reader(batch_rows=100_000)
        first = reader.read_next_batch()
        names = session.catalog().functions()
        assert {"sum", "strftime", "regexp_matches"} <= set(names)
        assert first.num_rows + reader.read_all().num_rows == 2_000_000


def test_status_names_the_engine_of_the_last_statement(data: Path) -> None:
    with Session() as session:
        session.execute("USE 'crm.db' AS crm")
        native = session.sql("SELECT name FROM users")
        assert native.rows(5) == [("Ann",)]
        assert session.status().engine == "sqlite"
        shown = session.sql("SELECT 1 AS x")
        assert shown.arrow().num_rows == 1
        status = session.status()
        assert status.engine == "duckdb" and status.last_rows == 1 and status.last_seconds is not None
        line = status.line()
        assert line.startswith("Engine: DuckDB │ I/O: Local (threads=")
        assert "Source: crm" in line and line.endswith(" · 1 row")


def test_status_shows_the_threads_a_set_chose() -> None:
    with Session() as session:
        session.execute("SET threads = 1")
        assert session.status().threads == 1 and "(threads=1)" in session.status().line()
        session.execute("RESET threads")
        assert session.status().threads is not None
