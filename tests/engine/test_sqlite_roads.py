"""EXPORT, LET and DESCRIBE (query) of a query that runs natively in SQLite (SPEC 4.3) give
what the query shows: SQLite runs it and DuckDB's writer gets its rows, as Arrow batches.
And a statement that fails after ``path::table`` registered its database leaves no source
behind (SPEC 6). Real SQLite files, real sessions, the real CLI."""

from __future__ import annotations

import csv
import os
import sqlite3
import threading
import time
from pathlib import Path

import duckdb
import pytest

from noctra import Session
from noctra.errors import CancelledQueryError, ExportError, QueryError
from noctra.output.model import Message, Result
from tests.conftest import RunMain, RunNoctra

# Rows SQLite streams forever (until cancelled), and a count it takes long to reach.
ENDLESS = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT x / 2 AS half, sqlite_version() AS v FROM s.t, c WHERE t.a = 7"
)
SLOW = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
    "SELECT count(*) / 2 AS n, sqlite_version() AS v FROM s.t, c WHERE t.a = 7"
)


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """shop.db: t (7 and 3: a / 2 is 3 and 1 in SQLite), values of several types, a blob
    kept in a TEXT column; labels.csv beside it. Runs in tmp_path."""
    monkeypatch.chdir(tmp_path)
    conn = sqlite3.connect(tmp_path / "shop.db")
    conn.executescript(
        "CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (7), (3);"
        "CREATE TABLE mixed (id INTEGER, v INTEGER);"
        "INSERT INTO mixed VALUES (1, 1), (2, 'n/a'), (3, 2.5), (4, NULL);"
        "CREATE TABLE blobs (id INTEGER, b TEXT); INSERT INTO blobs VALUES (1, x'00ff0a'), (2, NULL);"
    )
    conn.commit()
    conn.close()
    (tmp_path / "labels.csv").write_text("a,label\n7,seven\n3,three\n", encoding="utf-8")
    return tmp_path


def rows(result: object, n: int = 1000) -> list[tuple[object, ...]]:
    assert isinstance(result, Result)
    return result.rows(n)


def read_back(path: Path, sql: str = "SELECT * FROM {}") -> list[tuple[object, ...]]:
    with duckdb.connect() as con:
        return con.execute(sql.format("'" + str(path).replace("'", "''") + "'")).fetchall()


def csv_of(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "noctra-" in p.name)


# --- EXPORT ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_export_writes_what_the_select_shows(shop: Path, fmt: str) -> None:
    query = "SELECT a / 2 AS half, a || '!' AS bang FROM s.t ORDER BY a"
    with Session() as s:
        s.execute("USE 'shop.db' AS s")
        shown = s.sql(query)
        assert shown.engine == "sqlite"
        assert rows(shown) == [(1, "3!"), (3, "7!")]
        [message] = s.execute(f"EXPORT ({query}) TO 'half.{fmt}'")
    assert isinstance(message, Message) and message.engine == "sqlite"
    size = (shop / f"half.{fmt}").stat().st_size
    assert message.text.startswith(f"exported 2 rows to half.{fmt} (")
    assert f"({size} B)" in message.text
    assert read_back(shop / f"half.{fmt}") == [(1, "3!"), (3, "7!")]


def test_export_of_a_sqlite_table_writes_what_select_star_shows(shop: Path, run_main: RunMain) -> None:
    assert run_main("query", "USE 'shop.db' AS s").code == 0
    shown = run_main("query", "--format", "csv", "SELECT * FROM s.mixed")
    assert (shown.code, shown.out) == (0, "id,v\n1,1\n2,n/a\n3,2.5\n4,\n"), shown.err
    exported = run_main("query", "EXPORT s.mixed TO 'mixed.csv'")
    assert exported.code == 0, exported.err
    assert (shop / "mixed.csv").read_text(encoding="utf-8") == shown.out


def test_export_of_an_empty_result_keeps_sqlite_s_column_names(shop: Path, run_main: RunMain) -> None:
    query = "SELECT a / 2, a FROM s.t WHERE a > 100"
    shown = run_main("query", "--format", "csv", f"USE 'shop.db' AS s; {query}")
    assert shown.out == "a / 2,a\n", shown.err
    assert run_main("query", f"EXPORT ({query}) TO 'e.csv'; EXPORT ({query}) TO 'e.parquet'").code == 0
    assert (shop / "e.csv").read_text(encoding="utf-8") == shown.out
    assert read_back(shop / "e.parquet", "SELECT count(*) FROM {}") == [(0,)]


def test_export_of_a_null_only_column(shop: Path) -> None:
    with Session() as s:
        s.execute("USE 'shop.db' AS s")
        s.execute("EXPORT (SELECT NULL AS empty, a / 2 AS half FROM s.t ORDER BY a) TO 'n.parquet'")
    assert read_back(shop / "n.parquet") == [(None, 1), (None, 3)]
    assert read_back(shop / "n.parquet", "SELECT typeof(empty) FROM {} LIMIT 1") == [("VARCHAR",)]


def test_export_of_a_blob_in_a_text_column(shop: Path, run_main: RunMain) -> None:
    query = "SELECT id, b FROM s.blobs ORDER BY id"
    shown = run_main("query", "--format", "csv", f"USE 'shop.db' AS s; {query}")
    assert shown.out == "id,b\n1,\\x00\\xFF\\x0A\n2,\n", shown.err
    assert run_main("query", f"EXPORT ({query}) TO 'b.csv'; EXPORT ({query}) TO 'b.parquet'").code == 0
    assert (shop / "b.csv").read_text(encoding="utf-8") == shown.out
    assert read_back(shop / "b.parquet") == [(1, b"\x00\xff\n"), (2, None)]


def test_a_column_that_changes_type_after_the_first_batch_is_one_error(shop: Path) -> None:
    conn = sqlite3.connect(shop / "shop.db")
    conn.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, v INTEGER)")
    conn.executemany("INSERT INTO big (v) VALUES (?)", ((i,) for i in range(100_001)))
    conn.execute("INSERT INTO big (v) VALUES ('oops')")
    conn.commit()
    conn.close()
    (shop / "big.csv").write_text("earlier\n", encoding="utf-8")
    with Session() as s:
        s.execute("USE 'shop.db' AS s")
        with pytest.raises(ExportError, match="column 'v' holds values of several types") as caught:
            s.execute("EXPORT (SELECT v FROM s.big ORDER BY id) TO 'big.csv'")
        assert caught.value.hint is not None and "CAST(v AS TEXT)" in caught.value.hint
        assert (shop / "big.csv").read_text(encoding="utf-8") == "earlier\n"
        assert leftovers(shop) == []
        # Cast as the hint says, every row is written.
        s.execute("EXPORT (SELECT CAST(v AS TEXT) AS v FROM s.big ORDER BY id) TO 'big.csv'")
    written = csv_of(shop / "big.csv")
    assert (len(written), written[1], written[-1]) == (100_003, ["0"], ["oops"])


def test_export_with_params_and_variables(shop: Path) -> None:
    with Session() as s:
        s.execute("USE 'shop.db' AS s; LET hi = 10")
        s.execute(
            "EXPORT (SELECT a / 2 AS half FROM s.t WHERE a > :lo AND a < #hi ORDER BY a) TO 'p.csv'", lo=2
        )
    assert csv_of(shop / "p.csv") == [["half"], ["1"], ["3"]]


@pytest.mark.parametrize(
    "options",
    ["OPTIONS (partition_by = (odd))", "OPTIONS (per_thread_output = true)"],
)
def test_export_of_a_sqlite_query_to_a_directory(shop: Path, options: str) -> None:
    with Session() as s:
        s.execute("USE 'shop.db' AS s")
        s.execute(f"EXPORT (SELECT a / 2 AS half, a % 2 AS odd FROM s.t) TO 'parts' {options}")
        assert rows(s.sql("USE 'parts' AS parts; SELECT half FROM parts ORDER BY half")) == [(1,), (3,)]
    assert leftovers(shop) == []


def test_set_engine_decides_where_an_export_runs(shop: Path) -> None:
    with Session() as s:
        s.execute("USE 'shop.db' AS s; SET engine = sqlite")
        s.execute("EXPORT (SELECT 7 / 2 AS half) TO 'sqlite.csv'")
        s.execute("SET engine = duckdb; EXPORT (SELECT a / 2 AS half FROM s.t WHERE a = 7) TO 'duck.csv'")
    assert csv_of(shop / "sqlite.csv") == [["half"], ["3"]]
    assert csv_of(shop / "duck.csv") == [["half"], ["3.5"]]


def test_export_joining_a_file_still_runs_in_duckdb(shop: Path) -> None:
    with Session() as s:
        s.execute("USE 'shop.db' AS s")
        query = "SELECT t.a / 2 AS half, x.label FROM s.t JOIN 'labels.csv' x ON x.a = t.a ORDER BY t.a"
        assert s.sql(query).engine == "duckdb"
        [message] = s.execute(f"EXPORT ({query}) TO 'j.csv'")
        assert isinstance(message, Message) and message.engine != "sqlite"
    assert csv_of(shop / "j.csv") == [["half", "label"], ["1.5", "three"], ["3.5", "seven"]]


def test_an_export_sqlite_cannot_parse_runs_in_duckdb(shop: Path) -> None:
    with Session() as s:
        s.execute("USE 'shop.db' AS s")
        s.execute("EXPORT (SELECT count(*) AS n FROM s.t GROUP BY ALL) TO 'n.csv'")
        with pytest.raises(QueryError, match="SQLite: no such column: nocolumn"):
            s.execute("EXPORT (SELECT nocolumn FROM s.t) TO 'x.csv'")
    assert csv_of(shop / "n.csv") == [["n"], ["2"]]
    assert not (shop / "x.csv").exists()


def test_an_export_of_a_write_does_not_write_natively(shop: Path) -> None:
    with Session() as s:
        s.execute("USE 'shop.db' AS s")
        with pytest.raises(ExportError, match="syntax error"):  # DuckDB's COPY takes queries only
            s.execute("EXPORT (DELETE FROM s.t RETURNING a) TO 'gone.csv'")
        assert rows(s.sql("SELECT count(*) FROM s.t")) == [(2,)]


def _cancel_when_busy(session: Session, seconds: float) -> threading.Thread:
    """Cancel the session's statement once it has run for a while (from another thread)."""

    def cancel() -> None:
        deadline = time.monotonic() + 30
        while not session.busy and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(seconds)
        session.cancel()

    thread = threading.Thread(target=cancel)
    thread.start()
    return thread


@pytest.mark.parametrize("query", [ENDLESS, SLOW], ids=["while-streaming", "while-sqlite-computes"])
def test_cancel_stops_a_sqlite_export_and_keeps_the_old_file(shop: Path, query: str) -> None:
    (shop / "out.csv").write_text("earlier\n", encoding="utf-8")
    with Session() as s:
        s.execute("USE 'shop.db' AS s")
        thread = _cancel_when_busy(s, 0.3)
        with pytest.raises(CancelledQueryError, match=r"export cancelled: 'out\.csv' left as it was"):
            s.execute(f"EXPORT ({query}) TO 'out.csv'")
        thread.join()
        assert rows(s.sql("SELECT a / 2 FROM s.t ORDER BY a")) == [(1,), (3,)]  # still usable
    assert (shop / "out.csv").read_text(encoding="utf-8") == "earlier\n"
    assert leftovers(shop) == []


def test_timeout_stops_a_sqlite_export(shop: Path, run_noctra: RunNoctra) -> None:
    (shop / "out.csv").write_text("earlier\n", encoding="utf-8")
    assert run_noctra("query", "USE 'shop.db' AS s", cwd=shop).returncode == 0
    run = run_noctra("--timeout", "2", "query", f"EXPORT ({SLOW}) TO 'out.csv'", cwd=shop)
    assert run.returncode == 4, run.stderr
    assert "timed out after 2 s" in run.stderr
    assert (shop / "out.csv").read_text(encoding="utf-8") == "earlier\n"
    assert leftovers(shop) == []


# --- LET and DESCRIBE (query) ----------------------------------------------------------------


def test_let_holds_what_the_select_shows(shop: Path) -> None:
    with Session() as s:
        s.execute("USE 'shop.db' AS s; LET lo = 5")
        s.execute(
            "LET half = (SELECT a / 2 FROM s.t WHERE a > #lo); LET word = (SELECT 'it''s ' || a FROM s.t "
            "WHERE a = :a); LET nothing = (SELECT NULL FROM s.t); LET third = (SELECT a / 3.0 FROM s.t "
            "WHERE a = 7); LET bytes = (SELECT b FROM s.blobs WHERE id = 1)",
            a=3,
        )
        shown = {name: (kind, value) for name, kind, value in rows(s.sql("SHOW VARS"))}
        assert shown == {
            "lo": ("INTEGER", "5"),
            "half": ("BIGINT", "3"),
            "word": ("VARCHAR", "it's 3"),
            "nothing": ("NULL", "NULL"),
            "third": ("DOUBLE", "2.3333333333333335"),
            "bytes": ("BLOB", "\\x00\\xFF\\x0A"),
        }
        assert rows(s.sql("SELECT #half AS h, #third * 3 AS t, #bytes AS b")) == [(3, 7.0, b"\x00\xff\n")]


def test_let_of_what_sqlite_cannot_parse_is_evaluated_by_duckdb(shop: Path) -> None:
    with Session() as s:
        s.execute("USE 'shop.db' AS s; LET ids = (SELECT list(a ORDER BY a) FROM s.t)")
        assert rows(s.sql("SHOW VARS")) == [("ids", "BIGINT[]", "[3, 7]")]


def test_describe_of_a_sqlite_query_gives_its_names_and_types(shop: Path) -> None:
    with Session() as s:
        s.execute("USE 'shop.db' AS s")
        query = "SELECT a / 2, a || 'x' AS s, NULL AS n FROM s.t"
        shown = s.sql(query)
        assert [(c.name, c.type) for c in shown.columns] == [
            ("a / 2", "BIGINT"),
            ("s", "VARCHAR"),
            ("n", "VARCHAR"),
        ]
        described = s.sql(f"DESCRIBE ({query})")
        assert rows(described) == [("a / 2", "BIGINT", True), ("s", "VARCHAR", True), ("n", "VARCHAR", True)]
        assert described.notes == [
            "SQLite ran this query: types are its first row's values' ('n' is NULL there: shown as VARCHAR)"
        ]
        assert rows(s.sql("DESCRIBE (SELECT a FROM s.t JOIN 'labels.csv' USING (a))")) == [
            ("a", "BIGINT", True)
        ]


# --- path::table in a statement that fails --------------------------------------------------


def _sources(session: Session) -> list[str]:
    return [source.alias for source in session.sources]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT nocolumn FROM shop.db::t",
        "SELECT x.nocolumn FROM 'labels.csv' x JOIN shop.db::t USING (a)",
        "EXPORT (SELECT nocolumn FROM shop.db::t) TO 'x.csv'",
        "LET n = (SELECT nocolumn FROM shop.db::t)",
        "DESCRIBE (SELECT nocolumn FROM 'labels.csv' x JOIN shop.db::t USING (a))",
    ],
    ids=["sqlite", "duckdb", "export", "let", "describe"],
)
def test_a_failed_statement_leaves_no_source_from_path_table(shop: Path, sql: str) -> None:
    state = shop / "session.toml"
    with Session(state_path=state) as s:
        s.execute("USE 'labels.csv' AS labels")
        with pytest.raises(QueryError, match="nocolumn"):
            s.execute(sql)
        assert _sources(s) == ["labels"]
        assert rows(s.sql("SELECT count(*) FROM shop.db::t")) == [(2,)]  # works, and stays
        assert _sources(s) == ["labels", "shop"]
    with Session(state_path=state) as again:
        assert _sources(again) == ["labels", "shop"]


def test_a_failed_query_leaves_no_source_in_the_saved_session(shop: Path, run_main: RunMain) -> None:
    failed = run_main("query", "SELECT x.nocolumn FROM 'labels.csv' x JOIN shop.db::t USING (a)")
    assert failed.code == 1 and "nocolumn" in failed.err
    listed = run_main("query", "--format", "csv", "SHOW SOURCES")
    assert listed.out == "alias,kind,path,size,status,current,cache\n", listed.err


def test_a_failed_statement_keeps_a_source_registered_before(shop: Path) -> None:
    with Session() as s:
        s.execute("SELECT count(*) FROM shop.db::t")
        with pytest.raises(QueryError, match="nocolumn"):
            s.execute("SELECT nocolumn FROM shop.db::t")
        assert _sources(s) == ["shop"]
        assert os.path.samefile(s.sources.require("shop").location, shop / "shop.db")


def test_export_of_a_whole_sqlite_table_keeps_duckdb_s_types(shop: Path) -> None:
    """EXPORT alias.table reads the table as DuckDB types it: a DATE column stays a DATE in
    Parquet (SQLite's own rows would make it text), and it never goes through Python rows."""
    conn = sqlite3.connect(shop / "shop.db")
    conn.execute("CREATE TABLE days (day DATE, n INTEGER)")
    conn.execute("INSERT INTO days VALUES ('2024-01-02', 1), ('2024-02-03', 2)")
    conn.commit()
    conn.close()
    with Session() as s:
        s.execute("USE 'shop.db' AS s")
        (message,) = s.execute("EXPORT s.days TO 'days.parquet'")
        assert isinstance(message, Message) and message.engine != "sqlite"
        # The same through a query: it runs in SQLite, as the SELECT does.
        s.execute("EXPORT (SELECT * FROM s.days) TO 'query.parquet'")
    typed = "SELECT typeof(day), typeof(n) FROM {} LIMIT 1"
    assert read_back(shop / "days.parquet", typed) == [("DATE", "BIGINT")]
    assert read_back(shop / "query.parquet", typed) == [("VARCHAR", "BIGINT")]
    assert read_back(shop / "days.parquet", "SELECT day::VARCHAR, n FROM {}") == [
        ("2024-01-02", 1),
        ("2024-02-03", 2),
    ]
