"""Hybrid engine: native SQLite routing, DuckDB copies of hot tables and files, invalidation."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from noctra import Session
from noctra.config import Config, EngineConfig
from noctra.errors import LockedError, NoctraError, OptionError, QueryError
from noctra.output.model import Message, Result


@pytest.fixture
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    with sqlite3.connect(tmp_path / "crm.db") as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, score INTEGER)")
        conn.executemany("INSERT INTO users VALUES (?, ?, ?)", [(i, f"u{i}", i % 7) for i in range(1, 101)])
    conn.close()
    (tmp_path / "orders.csv").write_text("user_id,amount\n1,10\n2,20\n3,30\n")
    return tmp_path


def session_with(**engine: int) -> Session:
    return Session(config=Config(engine=EngineConfig(**engine)))  # type: ignore[arg-type]


def run(session: Session, sql: str) -> Result:
    result = session.sql(sql)
    result.ensure_run()
    return result


def test_sqlite_only_statement_runs_natively_with_sqlite_semantics(crm: Path) -> None:
    with Session() as s:
        s.execute("USE 'crm.db' AS crm")
        native = run(s, "SELECT 7 / 2 AS half, count(*) AS n FROM crm.users")
        assert native.engine == "sqlite"
        assert native.rows(1) == [(3, 100)]
        bare = run(s, "SELECT name FROM users WHERE id = 5")
        assert (bare.engine, bare.rows(1)) == ("sqlite", [("u5",)])


def test_mixed_statement_runs_in_duckdb(crm: Path) -> None:
    with Session() as s:
        s.execute("USE 'orders.csv' AS orders; USE 'crm.db' AS crm")
        mixed = run(
            s,
            "SELECT u.name, o.amount / 4 AS q FROM orders o JOIN crm.users u ON u.id = o.user_id ORDER BY 1",
        )
        assert mixed.engine == "duckdb"
        assert mixed.rows(5) == [("u1", 2.5), ("u2", 5.0), ("u3", 7.5)]
        assert run(s, "SELECT 7 / 2 AS x").engine == "duckdb"


def test_set_engine_forces_and_refuses_what_it_cannot_do(crm: Path) -> None:
    with Session() as s:
        s.execute("USE 'orders.csv' AS orders; USE 'crm.db' AS crm; SET engine = duckdb")
        forced = run(s, "SELECT 7 / 2 AS half FROM crm.users LIMIT 1")
        assert (forced.engine, forced.rows(1)) == ("duckdb", [(3.5,)])
        s.execute("SET engine = sqlite")
        with pytest.raises(QueryError, match="engine = sqlite cannot run this statement") as info:
            s.execute("SELECT * FROM orders JOIN crm.users u ON u.id = orders.user_id")
        assert info.value.hint is not None and "SET engine = auto" in info.value.hint
        with pytest.raises(OptionError, match="engine must be one of auto, duckdb, sqlite, spark or"):
            s.execute("SET engine = mongo")
        s.execute("RESET engine")
        assert s.engine_mode == "auto"


def test_native_writes_are_seen_by_duckdb(crm: Path) -> None:
    with Session() as s:
        s.execute("USE 'orders.csv' AS orders; USE 'crm.db' AS crm")
        [message] = s.execute("UPDATE crm.users SET name = 'renamed' WHERE id = 1")
        assert isinstance(message, Message) and message.text == "1 row updated" and message.engine == "sqlite"
        joined = run(
            s, "SELECT u.name FROM orders o JOIN crm.users u ON u.id = o.user_id WHERE o.user_id = 1"
        )
        assert joined.rows(1) == [("renamed",)]


def test_materialization_at_the_thresholds(crm: Path) -> None:
    join = "SELECT count(*) FROM orders o JOIN crm.users u ON u.id = o.user_id"
    with session_with(
        materialize_min_rows=50, materialize_after_queries=2, materialize_always_rows=10_000
    ) as s:
        s.execute("USE 'orders.csv' AS orders; USE 'crm.db' AS crm")
        assert run(s, join).rows(1) == [(3,)]
        assert s.hybrid.copies["crm.users"].copy is None
        assert run(s, join).rows(1) == [(3,)]
        assert s.hybrid.copies["crm.users"].copy is not None
        assert run(s, join).rows(1) == [(3,)]
    with session_with(
        materialize_min_rows=500, materialize_after_queries=1, materialize_always_rows=10_000
    ) as s:
        s.execute("USE 'orders.csv' AS orders; USE 'crm.db' AS crm")
        run(s, join)
        assert s.hybrid.copies["crm.users"].copy is None  # 100 rows: below materialize_min_rows
    with session_with(
        materialize_min_rows=500, materialize_after_queries=9, materialize_always_rows=100
    ) as s:
        s.execute("USE 'orders.csv' AS orders; USE 'crm.db' AS crm")
        run(s, join)
        assert s.hybrid.copies["crm.users"].copy is not None  # at once: materialize_always_rows


def test_copy_is_dropped_when_another_process_changes_the_file(crm: Path) -> None:
    query = "SELECT count(*) FROM orders o, crm.users u WHERE u.id >= o.user_id AND o.user_id = 1"
    with session_with(
        materialize_min_rows=1, materialize_after_queries=1, materialize_always_rows=10_000
    ) as s:
        s.execute("USE 'orders.csv' AS orders; USE 'crm.db' AS crm")
        assert run(s, query).rows(1) == [(100,)]
        assert s.hybrid.copies["crm.users"].copy is not None
        other = sqlite3.connect(crm / "crm.db")
        other.execute("INSERT INTO users VALUES (1000, 'late', 0)")
        other.commit()
        other.close()
        assert run(s, query).rows(1) == [(101,)]


def test_writes_through_noctra_drop_copies(crm: Path) -> None:
    query = "SELECT max(u.id) FROM orders o, crm.users u"
    with session_with(
        materialize_min_rows=1, materialize_after_queries=1, materialize_always_rows=10_000
    ) as s:
        s.execute("USE 'orders.csv' AS orders; USE 'crm.db' AS crm")
        assert run(s, query).rows(1) == [(100,)]
        s.execute("INSERT INTO crm.users VALUES (500, 'new', 1)")
        assert run(s, query).rows(1) == [(500,)]
        s.execute("INSERT INTO crm.users SELECT 600, 'from csv', 0 FROM orders LIMIT 1")
        assert run(s, query).rows(1) == [(600,)]


def test_hot_csv_is_cached_and_dropped_when_it_changes(crm: Path) -> None:
    with session_with(materialize_after_queries=2) as s:
        s.execute("USE 'orders.csv' AS orders")
        for _ in range(3):
            assert run(s, "SELECT sum(amount) FROM orders").rows(1) == [(60,)]
        assert s.hybrid.copies["orders"].copy is not None
        view = s.sql("SELECT sql FROM duckdb_views() WHERE view_name = 'orders'").rows(1)[0][0]
        assert "__noctra_copies" in str(view)
        path = crm / "orders.csv"
        path.write_text("user_id,amount\n1,1\n")
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
        assert run(s, "SELECT sum(amount) FROM orders").rows(1) == [(1,)]
        assert "orders" not in s.hybrid.copies or s.hybrid.copies["orders"].copy is None


def test_locked_sqlite_database_gives_a_clear_error(crm: Path) -> None:
    holder = sqlite3.connect(crm / "crm.db", isolation_level=None, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with Session() as s:
            with pytest.raises(NoctraError, match="locked") as info:
                s.execute("USE 'crm.db' AS crm; SELECT count(*) FROM crm.users")
            assert info.value.hint is not None and "lock" in info.value.hint
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# While another program holds a lock on the current SQLite database, a statement that does
# not read it runs; one that reads it meets the lock (after SQLite's 5 s wait) as one line.
LOCKED_STATEMENTS = [
    ("SELECT 7 AS x", [(7,)]),
    ("SELECT sum(amount) AS s FROM 'orders.csv'", [(60,)]),
    ("SELECT count(*) FROM users", "locked"),
]


@pytest.mark.parametrize("read_before", [False, True], ids=["fresh", "tables-read-before"])
def test_a_locked_current_sqlite_database_blocks_only_what_reads_it(crm: Path, read_before: bool) -> None:
    with Session() as s:
        s.execute("USE 'crm.db' AS crm")
        if read_before:
            assert s.sql("SELECT count(*) FROM users").rows(1) == [(100,)]
        holder = sqlite3.connect(crm / "crm.db", isolation_level=None, timeout=0)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            for sql, expected in LOCKED_STATEMENTS:
                if isinstance(expected, list):
                    assert s.sql(sql).rows(5) == expected, sql
                    continue
                with pytest.raises(LockedError, match="locked") as info:
                    s.sql(sql).rows(5)
                assert (
                    info.value.hint == "another program holds a lock on the database; retry when it is done"
                )
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert s.sql("SELECT count(*) FROM users").rows(1) == [(100,)]  # the lock gone: all is back


def test_routing_loads_sqlglot_only_for_writes(crm: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, noctra\n"
        "s = noctra.Session()\n"
        "s.execute(\"USE 'crm.db' AS crm; USE 'orders.csv' AS orders\")\n"
        "s.sql('SELECT sum(amount) FROM orders').rows(1)\n"
        "print('sqlglot' in sys.modules)\n"
        "r = s.sql('SELECT count(*) FROM crm.users WHERE id IN (SELECT id FROM crm.users)')\n"
        "print(r.engine, r.rows(1)[0][0], 'sqlglot' in sys.modules)\n"
        "s.execute('UPDATE crm.users SET score = 0 WHERE id = 1')\n"
        "print('sqlglot' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=crm)
    # DuckDB's own parser routes queries; sqlglot is loaded for writes only.
    assert out.stdout.split() == ["False", "sqlite", "100", "False", "True"]


def sqlite_extension_loaded(session: Session) -> bool:
    # Asked on a raw DuckDB cursor: a statement through Noctra that says "sqlite" loads it.
    cursor = session.engine.connection.cursor()  # type: ignore[attr-defined]
    row = cursor.execute(
        "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'sqlite_scanner'"
    ).fetchone()
    return bool(row and row[0])


def test_sqlite_sources_attach_in_duckdb_only_when_duckdb_needs_them(crm: Path) -> None:
    with Session() as s:
        [message] = s.execute("USE 'crm.db' AS crm")
        assert isinstance(message, Message) and message.text.startswith("crm: SQLite, 1 table")
        assert run(s, "SELECT count(*) FROM crm.users").engine == "sqlite"
        assert run(s, "SELECT name FROM users WHERE id = 1").rows(1) == [("u1",)]
        assert not sqlite_extension_loaded(s)
        s.execute("USE 'orders.csv' AS orders")
        joined = run(s, "SELECT count(*) FROM orders o JOIN crm.users u ON u.id = o.user_id")
        assert (joined.engine, joined.rows(1)) == ("duckdb", [(3,)])
        assert sqlite_extension_loaded(s)


def test_new_tables_go_to_the_current_sqlite_database(crm: Path) -> None:
    with Session() as s:
        s.execute("USE 'crm.db' AS crm; CREATE TABLE made_here AS SELECT 42 AS answer FROM range(1)")
    with sqlite3.connect(crm / "crm.db") as conn:
        assert conn.execute("SELECT answer FROM made_here").fetchall() == [(42,)]
    conn.close()


def test_forced_duckdb_still_materializes(crm: Path) -> None:
    query = "SELECT score, count(*) FROM crm.users GROUP BY score"
    with session_with(
        materialize_min_rows=1, materialize_after_queries=2, materialize_always_rows=10_000
    ) as s:
        s.execute("USE 'crm.db' AS crm; SET engine = duckdb")
        run(s, query).arrow()
        assert s.hybrid.copies["crm.users"].copy is None
        result = run(s, query)
        assert result.engine == "duckdb" and result.arrow().num_rows == 7
        assert s.hybrid.copies["crm.users"].copy is not None


def test_quoted_csv_in_from_reads_with_the_small_buffer(crm: Path) -> None:
    with Session() as s:
        assert run(s, "SELECT sum(amount) FROM 'orders.csv'").rows(1) == [(60,)]
        plan = str(run(s, "EXPLAIN SELECT * FROM 'orders.csv'").rows(5))
        assert "READ_CSV" in plan.upper()
        rewritten = s.planner.prepare("SELECT * FROM 'orders.csv' o")
        assert rewritten == "SELECT * FROM read_csv('orders.csv', buffer_size = 8388608) o"


def test_a_copied_sqlite_table_keeps_its_name_as_a_qualifier(crm: Path) -> None:
    """Issue 11.2: once served from its DuckDB copy, `orders.id` still names the table."""
    (crm / "s.csv").write_text("customer_id\n1\n2\n", encoding="utf-8")
    queries = [
        "SELECT count(users.id) FROM crm.users JOIN 's.csv' s ON s.customer_id = users.id",
        "SELECT count(crm.users.id) FROM crm.users WHERE crm.users.id <= 2",
        "SELECT count(u.id) FROM crm.users AS u JOIN 's.csv' s ON s.customer_id = u.id",
        'SELECT count(*) FROM crm.users u2 WHERE u2."id" = 1',
    ]
    with session_with(materialize_always_rows=1) as s:
        s.execute("USE 'crm.db' AS crm; USE 's.csv' AS sales")
        before = [run(s, q).rows(1) for q in queries]
        assert s.hybrid.copies["crm.users"].copy is not None
        after = [run(s, q).rows(1) for q in queries]
        assert before == after == [[(2,)], [(2,)], [(2,)], [(1,)]]


def test_a_one_shot_duckdb_read_of_a_small_sqlite_table_needs_no_count(crm: Path) -> None:
    import subprocess
    import sys

    # The file's size bounds its rows: below every threshold, no count is needed (sqlite3 only
    # reads the schema, as path::table checks the table is there before registering the file).
    code = (
        "import sys\n"
        "from noctra import Session\n"
        "with Session() as s:\n"
        "    s.execute(\"USE 'orders.csv' AS orders\")\n"
        "    r = s.sql(\"SELECT count(*) FROM orders o JOIN 'crm.db'::users u ON u.id = o.user_id\")\n"
        "    print(r.engine, r.rows(1)[0][0], all(c.rows is None for c in s.hybrid.copies.values()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=crm)
    assert out.stdout.split() == ["duckdb", "3", "True"]


def test_a_read_sqlite_cannot_parse_runs_in_duckdb(crm: Path) -> None:
    with Session() as s:
        s.execute("USE 'crm.db' AS crm")
        grouped = run(s, "SELECT count(*) AS n FROM users GROUP BY ALL")
        assert (grouped.engine, grouped.rows(5)) == ("duckdb", [(100,)])
        excluded = run(s, "SELECT * EXCLUDE (score) FROM users ORDER BY id LIMIT 1")
        assert (excluded.engine, excluded.rows(1)) == ("duckdb", [(1, "u1")])
        assert run(s, "SELECT count(*) FROM users").engine == "sqlite"
        # What SQLite can parse but not run stays SQLite's error, with its hint.
        with pytest.raises(QueryError, match="SQLite: no such column: nocolumn"):
            s.execute("SELECT nocolumn FROM users")
        s.execute("SET engine = sqlite")
        with pytest.raises(QueryError, match="syntax error"):
            s.execute("SELECT count(*) FROM users GROUP BY ALL")


# Where a quoted string is a file DuckDB reads (the statement runs in DuckDB) and where it is
# only a value that looks like a file name (the statement stays in SQLite, with its semantics).
ROUTES = [
    ("SELECT count(*) FROM crm.users u JOIN 'orders.csv' o ON o.user_id = u.id", "duckdb"),
    ("SELECT count(*) FROM crm.users u, 'orders.csv' o WHERE o.user_id = u.id", "duckdb"),
    ("SELECT count(*) FROM crm.users WHERE id IN (SELECT user_id FROM 'orders.csv')", "duckdb"),
    ("SELECT count(*) FROM crm.users u JOIN read_csv('orders.csv') o ON o.user_id = u.id", "duckdb"),
    ("SELECT count(*) FROM crm.users u JOIN read_csv_auto('o*.csv') o ON o.user_id = u.id", "duckdb"),
    ("SELECT count(*) FROM crm.users WHERE name LIKE '%.csv'", "sqlite"),
    ("SELECT 'report.csv' AS f, 7 / 2 AS d FROM crm.users LIMIT 1", "sqlite"),
    ("SELECT count(*) FROM crm.users WHERE name IN ('a.parquet', 'https://x.org/y', '*')", "sqlite"),
    ("SELECT replace(name, 'u', 'x.json') FROM crm.users LIMIT 1", "sqlite"),
    ("SELECT count(*) FROM crm.users u JOIN crm.users v ON u.id = v.id, 'orders.csv' o", "duckdb"),
]


@pytest.mark.parametrize(("sql", "engine"), ROUTES)
def test_a_quoted_path_runs_in_duckdb_only_where_duckdb_reads_a_file(
    crm: Path, sql: str, engine: str
) -> None:
    with Session() as s:
        s.execute("USE 'crm.db' AS crm")
        assert run(s, sql).engine == engine


def test_a_value_that_looks_like_a_file_name_is_written_with_sqlite_semantics(crm: Path) -> None:
    with Session() as s:
        s.execute("USE 'crm.db' AS crm")
        s.execute("INSERT INTO crm.users VALUES (500, 'c.csv', 7 / 2)")
        assert s.sql("SELECT score FROM crm.users WHERE id = 500").rows(1) == [(3,)]
