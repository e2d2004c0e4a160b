"""SQLite databases DuckDB's SQLite reader does not read as SQLite does: broken views,
generated columns, WITHOUT ROWID tables, values of another type than declared, and
``path::table`` on files that are not what they seem. Real files, both engines."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import duckdb
import pytest

from noctra import Session
from noctra.config import Config, EngineConfig
from noctra.engine.hybrid import duckdb_type_of_sqlite
from noctra.errors import NoctraError, QueryError, SourceError
from noctra.output.model import Result
from noctra.rql.rewrite import replace_qualified_tables
from tests.conftest import RunMain

ENGINES = ["auto", "duckdb"]


def make_db(path: Path, script: str) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.commit()
    conn.close()
    return path


def rows(result: object) -> list[tuple[object, ...]]:
    assert isinstance(result, Result)
    return result.rows(1000)


def csv_of(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


# --- a view over a dropped table ---------------------------------------------------------


@pytest.fixture
def legacy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ids.csv").write_text("id\n1\n")
    return make_db(
        tmp_path / "legacy.db",
        "CREATE TABLE orders (id INTEGER, total REAL); INSERT INTO orders VALUES (1, 2.5);"
        "CREATE TABLE gone (x INTEGER); CREATE VIEW old_report AS SELECT * FROM gone;"
        "CREATE VIEW lost_column AS SELECT id, missing FROM orders; DROP TABLE gone;"
        "CREATE VIEW fine AS SELECT id FROM orders;",
    )


@pytest.mark.parametrize("statement", ["SHOW TABLES", "SHOW TABLES FROM a"])
def test_broken_views_are_listed_as_broken(legacy: Path, statement: str) -> None:
    with Session() as s:
        s.execute("USE 'legacy.db' AS a")
        listed = rows(s.sql(statement))
    names = {row[0]: row[1:] for row in listed}
    assert names["orders"] == ("table", 2) or names["a.orders"] == ("table", 2)
    broken = {k.removeprefix("a."): v for k, v in names.items() if "broken" in str(v[0])}
    assert broken == {"old_report": ("view (broken)", 0), "lost_column": ("view (broken)", 0)}
    assert names.get("fine", names.get("a.fine")) == ("view", 1)


def test_show_tables_of_every_source_lists_the_broken_view(legacy: Path) -> None:
    with Session() as s:
        # Registered by path::table, not made current: SHOW TABLES lists every source.
        assert rows(s.sql("SELECT id FROM legacy.db::orders")) == [(1,)]
        listed = {row[0]: row[1] for row in rows(s.sql("SHOW TABLES"))}
    assert listed["legacy.old_report"] == "view (broken)" and listed["legacy.orders"] == "table"


def test_describe_of_the_database_describes_the_rest_and_notes_the_broken_view(legacy: Path) -> None:
    with Session() as s:
        s.execute("USE 'legacy.db' AS a")
        for statement in ("DESCRIBE a", "DESCRIBE"):
            described = s.sql(statement)
            table = rows(described)
            assert ("orders", "id", "BIGINT", True) in table
            assert ("orders", "total", "DOUBLE", True) in table
            assert ("old_report", None, None, None) in table
            assert ("lost_column", None, None, None) in table
            assert ("fine", "id", "BIGINT", True) in table
            assert any("old_report" in note and "no such table" in note for note in described.notes)


def test_describe_and_catalog_of_the_broken_view_are_one_clear_error(legacy: Path) -> None:
    with Session() as s:
        s.execute("USE 'legacy.db' AS a")
        with pytest.raises(QueryError, match="'old_report' of 'a' cannot be read: no such table") as caught:
            s.sql("DESCRIBE a.old_report")
        assert caught.value.hint is not None and "drop it" in caught.value.hint
        with pytest.raises(QueryError, match="cannot be read"):
            s.catalog().columns("a", "old_report")
        assert [c.name for c in s.catalog().columns("a", "orders")] == ["id", "total"]


def test_reading_the_broken_view_natively_names_it(legacy: Path) -> None:
    with Session() as s:
        s.execute("USE 'legacy.db' AS a")
        with pytest.raises(QueryError, match="no such table") as caught:
            rows(s.sql("SELECT * FROM a.old_report"))
        assert caught.value.hint is not None and "'old_report'" in caught.value.hint
        with pytest.raises(QueryError, match=r"no such table: a\.nope") as other:
            rows(s.sql("SELECT * FROM a.nope"))
        assert other.value.hint is not None and "old_report" not in other.value.hint


@pytest.mark.parametrize(
    "sql", ["SELECT * FROM a.old_report, 'ids.csv'", "SET engine = duckdb; SELECT * FROM a.old_report"]
)
def test_reading_the_broken_view_in_duckdb_is_one_clear_error(legacy: Path, sql: str) -> None:
    with Session() as s:
        s.execute("USE 'legacy.db' AS a")
        with pytest.raises(QueryError, match=r"SQLite: no such table: gone \(in SELECT") as caught:
            rows(s.sql(sql))
        assert caught.value.hint is not None and "broken" in caught.value.hint


@pytest.mark.parametrize(
    "statement", ["SHOW TABLES", "DESCRIBE a", "DESCRIBE a.orders", "EXPORT a.orders TO 'o.csv'"]
)
def test_broken_view_cli_has_no_traceback(legacy: Path, statement: str, run_main: RunMain) -> None:
    run = run_main("query", "--format", "csv", f"USE 'legacy.db' AS a; {statement}")
    assert (run.code, "Traceback" in run.err) == (0, False), run.err


# --- generated columns ---------------------------------------------------------------------


GENERATED = (
    "CREATE TABLE g (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL,"
    " c INTEGER GENERATED ALWAYS AS (a * 3) STORED, r REAL GENERATED ALWAYS AS (a / 10.0),"
    " t TEXT GENERATED ALWAYS AS ('n' || a), z BLOB GENERATED ALWAYS AS (zeroblob(a)),"
    " d DATE GENERATED ALWAYS AS (date('2024-01-01', '+' || a || ' days')), e TEXT);"
    "INSERT INTO g (a, e) VALUES (1, 'x'), (2, NULL), (NULL, 'z');"
)
EXPECTED = [
    (1, 2, 3, 0.1, "n1", b"\x00", "2024-01-02", "x"),
    (2, 4, 6, 0.2, "n2", b"\x00\x00", "2024-01-03", None),
    (None, None, None, None, None, b"", None, "z"),  # zeroblob(NULL) is an empty blob
]


@pytest.fixture
def generated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k.csv").write_text("a,label\n1,one\n2,two\n")
    make_db(tmp_path / "gen.db", GENERATED)
    return tmp_path


def _as_python(row: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(str(v) if hasattr(v, "isoformat") else v for v in row)


@pytest.mark.parametrize("engine", ENGINES)
def test_select_star_keeps_generated_columns_on_both_engines(generated: Path, engine: str) -> None:
    with Session() as s:
        s.execute(f"USE 'gen.db' AS v; SET engine = {engine}")
        result = s.sql("SELECT * FROM v.g")
        assert [c.name for c in result.columns] == ["a", "b", "c", "r", "t", "z", "d", "e"]
        assert sorted(map(_as_python, rows(result)), key=repr) == sorted(EXPECTED, key=repr)


def test_join_with_a_file_reads_generated_columns(generated: Path) -> None:
    with Session() as s:
        s.execute("USE 'gen.db' AS v")
        joined = s.sql("SELECT k.label, g.b, g.c, g.r FROM v.g JOIN 'k.csv' k ON k.a = g.a ORDER BY g.b")
        assert joined.engine == "duckdb"
        assert rows(joined) == [("one", 2, 3, 0.1), ("two", 4, 6, 0.2)]
        aliased = s.sql("SELECT x.b FROM v.g AS x, 'k.csv' k WHERE k.a = x.a ORDER BY 1")
        assert rows(aliased) == [(2,), (4,)]


@pytest.mark.parametrize("engine", ENGINES)
def test_export_of_the_table_and_of_a_query_keeps_generated_columns(generated: Path, engine: str) -> None:
    with Session() as s:
        s.execute(f"USE 'gen.db' AS v; SET engine = {engine}")
        s.execute("EXPORT v.g TO 'g.csv'; EXPORT (SELECT b, c FROM v.g WHERE a = 2) TO 'q.csv'")
        s.execute("EXPORT v.g TO 'g.parquet'")
    assert csv_of(generated / "g.csv")[0] == ["a", "b", "c", "r", "t", "z", "d", "e"]
    assert ["1", "2", "3", "0.1", "n1", "\\x00", "2024-01-02", "x"] in csv_of(generated / "g.csv")
    assert csv_of(generated / "q.csv") == [["b", "c"], ["4", "6"]]
    back = duckdb.sql(f"SELECT b, r, d::VARCHAR FROM '{generated / 'g.parquet'}' WHERE a = 1").fetchall()
    assert back == [(2, 0.1, "2024-01-02")]


def test_generated_columns_are_counted_and_described(generated: Path) -> None:
    with Session() as s:
        s.execute("USE 'gen.db' AS v")
        assert rows(s.sql("SHOW TABLES FROM v")) == [("g", "table", 8)]
        types = [("a", "BIGINT"), ("b", "BIGINT"), ("c", "BIGINT"), ("r", "DOUBLE"), ("t", "VARCHAR")]
        types += [("z", "BLOB"), ("d", "DATE"), ("e", "VARCHAR")]
        for statement in ("DESCRIBE v.g", "DESCRIBE g"):
            assert [(r[0], r[1]) for r in rows(s.sql(statement))] == types
        assert [(r[1], r[2]) for r in rows(s.sql("DESCRIBE v"))] == types
        assert [c.name for c in s.catalog().columns("v", "g")] == ["a", "b", "c", "r", "t", "z", "d", "e"]


def test_real_generated_values_are_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_db(
        tmp_path / "f.db",
        "CREATE TABLE f (x REAL, y REAL GENERATED ALWAYS AS (x + 0.2));"
        "INSERT INTO f (x) VALUES (0.1), (1e300), (-2.5), (NULL);",
    )
    with Session() as s:
        s.execute("USE 'f.db' AS f; SET engine = duckdb")
        assert rows(s.sql("SELECT y FROM f.f ORDER BY x NULLS LAST")) == [
            (-2.3,),
            (0.1 + 0.2,),
            (1e300,),
            (None,),
        ]


def test_without_rowid_table_with_generated_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_db(
        tmp_path / "w.db",
        "CREATE TABLE w (k TEXT, n INTEGER, twice INTEGER GENERATED ALWAYS AS (n * 2), PRIMARY KEY (k, n))"
        " WITHOUT ROWID; INSERT INTO w (k, n) VALUES ('a', 1), ('a', 2), ('b', 1);",
    )
    with Session() as s:
        s.execute("USE 'w.db' AS w; SET engine = duckdb")
        assert rows(s.sql("SELECT * FROM w.w ORDER BY k, n")) == [("a", 1, 2), ("a", 2, 4), ("b", 1, 2)]


def test_copy_of_a_hot_table_keeps_generated_columns(generated: Path) -> None:
    config = Config(engine=EngineConfig(materialize_always_rows=1))
    with Session(config=config) as s:
        s.execute("USE 'gen.db' AS v; SET engine = duckdb")
        first = s.sql("SELECT a, b, c FROM v.g WHERE a = 2")
        assert rows(first) == [(2, 4, 6)]
        assert s.hybrid.cache_state(s.sources.require("v")) == "memory (1 table)"
        assert rows(s.sql("SELECT b FROM v.g WHERE a = 1")) == [(2,)]


@pytest.mark.parametrize("engine", ENGINES)
def test_bare_table_names_keep_generated_columns(generated: Path, engine: str) -> None:
    with Session() as s:
        s.execute(f"USE 'gen.db' AS v; SET engine = {engine}")
        joined = s.sql("SELECT * FROM g JOIN 'k.csv' k USING (a) ORDER BY a")
        assert joined.engine == "duckdb"
        assert [c.name for c in joined.columns] == ["a", "b", "c", "r", "t", "z", "d", "e", "label"]
        assert [r[:5] for r in rows(joined)] == [(1, 2, 3, 0.1, "n1"), (2, 4, 6, 0.2, "n2")]
        named = "SELECT g.b, k.label FROM g, 'k.csv' k WHERE k.a = g.a ORDER BY g.b"
        assert rows(s.sql(named)) == [(2, "one"), (4, "two")]
        listed = "WITH k AS (SELECT * FROM 'k.csv') SELECT g.c FROM k JOIN g USING (a) ORDER BY 1"
        assert rows(s.sql(listed)) == [(3,), (6,)]
        assert rows(s.sql("SELECT (SELECT max(b) FROM g) AS m FROM 'k.csv' LIMIT 1")) == [(4,)]
        s.execute("EXPORT (SELECT g.*, k.label FROM g JOIN 'k.csv' k USING (a) ORDER BY a) TO 'j.csv'")
    assert csv_of(generated / "j.csv")[1] == ["1", "2", "3", "0.1", "n1", "\\x00", "2024-01-02", "x", "one"]


def test_a_hot_table_read_by_its_bare_name_is_copied_with_its_generated_columns(generated: Path) -> None:
    config = Config(engine=EngineConfig(materialize_always_rows=1))
    with Session(config=config) as s:
        s.execute("USE 'gen.db' AS v")
        assert rows(s.sql("SELECT g.b, g.c FROM g JOIN 'k.csv' k USING (a) ORDER BY 1")) == [(2, 3), (4, 6)]
        assert s.hybrid.cache_state(s.sources.require("v")) == "memory (1 table)"
        assert rows(s.sql("SELECT b, label FROM g JOIN 'k.csv' k USING (a) WHERE a = 2")) == [(4, "two")]


def test_sqlite_all_varchar_reads_generated_columns_as_text(generated: Path) -> None:
    with Session() as s:
        s.execute("USE 'gen.db' AS v; SET sqlite_all_varchar = true; SET engine = duckdb")
        result = s.sql("SELECT a, b, d FROM v.g WHERE a = '1'")
        assert [c.type for c in result.columns] == ["VARCHAR", "VARCHAR", "VARCHAR"]
        assert rows(result) == [("1", "2", "2024-01-02")]


def test_sqlite_all_varchar_set_after_a_read_applies_to_generated_columns(generated: Path) -> None:
    """The table's layout is kept between statements; the setting is not."""
    with Session() as s:
        s.execute("USE 'gen.db' AS v; SET engine = duckdb")
        assert [c.type for c in s.sql("SELECT b FROM v.g").columns] == ["BIGINT"]
        s.execute("SET sqlite_all_varchar = true")
        assert [c.type for c in s.sql("SELECT b FROM v.g").columns] == ["VARCHAR"]
        s.execute("SET sqlite_all_varchar = false")
        assert [c.type for c in s.sql("SELECT b FROM v.g").columns] == ["BIGINT"]


DECLARED = [
    "INT", "INTEGER", "TINYINT", "TEXT", "VARCHAR(10)", "CHAR", "CLOB", "BLOB", "", "REAL", "FLOAT",
    "DOUBLE PRECISION", "NUMERIC", "DECIMAL(10,2)", "BOOLEAN", "DATE", "date", "DATETIME",
    "TIMESTAMP", "TIME", "JSON", "UUID", "POINT", "VARBINARY",
]  # fmt: skip


def test_generated_columns_get_the_types_duckdb_gives_stored_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    stored = ", ".join(f"s{i} {t}" for i, t in enumerate(DECLARED))
    computed = ", ".join(f"g{i} {t} GENERATED ALWAYS AS (s{i})" for i, t in enumerate(DECLARED))
    make_db(tmp_path / "types.db", f"CREATE TABLE t ({stored}, {computed})")
    with Session() as s:
        s.execute("USE 'types.db' AS ty")
        described = {r[0]: r[1] for r in rows(s.sql("DESCRIBE ty.t"))}
    for i, declared in enumerate(DECLARED):
        assert described[f"g{i}"] == described[f"s{i}"] == duckdb_type_of_sqlite(declared), declared


# --- WITHOUT ROWID tables and values of another type in DuckDB --------------------------------


@pytest.fixture
def odd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return make_db(
        tmp_path / "odd.db",
        "CREATE TABLE wr (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;"
        "INSERT INTO wr VALUES ('a', 1), ('b', 2);"
        "CREATE TABLE days (id INTEGER, day DATE, stamp TIMESTAMP);"
        "INSERT INTO days VALUES (1, '2024-01-02', '2024-01-02 03:04:05'), (2, 'soon', 'later');",
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SET engine = duckdb; SELECT count(*) FROM t.wr",
        "SET engine = duckdb; SELECT EXISTS (SELECT 1 FROM t.wr) AS e",
        "SET engine = duckdb; EXPORT (SELECT count(*) FROM t.wr) TO 'n.csv'",
    ],
)
def test_without_rowid_table_read_without_columns_is_one_clear_error(odd: Path, sql: str) -> None:
    with Session() as s:
        s.execute("USE 'odd.db' AS t")
        with pytest.raises(NoctraError, match=r'SQLite table "wr" .* WITHOUT ROWID table') as caught:
            for outcome in s.execute(sql):
                if isinstance(outcome, Result):
                    rows(outcome)
        assert caught.value.hint is not None and "count(<its primary key>)" in caught.value.hint
        assert "ROWID FROM" not in caught.value.message


def test_without_rowid_table_reads_everywhere_else(odd: Path) -> None:
    with Session() as s:
        s.execute("USE 'odd.db' AS t")
        assert rows(s.sql("SELECT count(*) FROM t.wr")) == [(2,)]  # natively
        s.execute("EXPORT (SELECT count(*) AS n FROM t.wr) TO 'n.csv'")  # natively too
        s.execute("SET engine = duckdb")
        assert rows(s.sql("SELECT count(k), sum(v) FROM t.wr")) == [(2, 3)]
        s.execute("EXPORT t.wr TO 'wr.csv'")
    assert csv_of(odd.parent / "wr.csv") == [["k", "v"], ["a", "1"], ["b", "2"]]
    assert csv_of(odd.parent / "n.csv") == [["n"], ["2"]]


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("SET engine = duckdb; SELECT * FROM t.days", 'SQLite column "day" of t.days is declared DATE'),
        (
            "SET engine = duckdb; SELECT stamp FROM t.days",
            'SQLite column "stamp" of t.days is declared TIMESTAMP',
        ),
        (
            "SET engine = duckdb; EXPORT t.days TO 'd.csv'",
            'SQLite column "day" of t.days is declared DATE but holds "soon"',
        ),
    ],
)
def test_text_in_a_date_column_names_the_column_and_the_setting(odd: Path, sql: str, named: str) -> None:
    with Session() as s:
        s.execute("USE 'odd.db' AS t")
        with pytest.raises(NoctraError) as caught:
            for outcome in s.execute(sql):
                if isinstance(outcome, Result):
                    rows(outcome)
        assert named in caught.value.message
        assert caught.value.hint is not None and "SET sqlite_all_varchar = true" in caught.value.hint
        s.execute("SET sqlite_all_varchar = true; SET engine = duckdb")
        assert rows(s.sql("SELECT day FROM t.days ORDER BY id")) == [("2024-01-02",), ("soon",)]


def test_a_bad_date_literal_keeps_duckdb_s_message(odd: Path) -> None:
    with Session() as s:
        s.execute("USE 'odd.db' AS t")
        with pytest.raises(QueryError, match="invalid date field format") as caught:
            rows(s.sql("SELECT CAST('soon' AS DATE) AS d"))
        assert caught.value.hint is None or "sqlite" not in caught.value.hint


# --- path::table -----------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    make_db(tmp_path / "shop.db", "CREATE TABLE Users (id INTEGER); INSERT INTO Users VALUES (1);")
    (tmp_path / "trunc.db").write_bytes(b"SQLite format 3\x00garbage")
    (tmp_path / "plain.db").write_text("id\n1\n")
    with duckdb.connect(str(tmp_path / "ware.duckdb")) as con:
        con.execute("CREATE TABLE items AS SELECT 1 AS id")
    (tmp_path / "k.csv").write_text("id\n1\n")
    return tmp_path


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("SELECT * FROM shop.db::nope", "'shop.db' has no table 'nope'"),
        ("SELECT * FROM 'k.csv' k JOIN shop.db::nope n ON n.id = k.id", "'shop.db' has no table 'nope'"),
        ("SELECT * FROM trunc.db::x", "not a database"),
        ("SELECT * FROM plain.db::x", "not a SQLite database"),
        ("SELECT * FROM ware.duckdb::nope", "'ware.duckdb' has no table 'nope'"),
    ],
)
def test_failed_path_table_registers_no_source(files: Path, sql: str, error: str) -> None:
    with Session() as s:
        with pytest.raises(SourceError, match=error):
            rows(s.sql(sql))
        assert [entry.alias for entry in s.catalog().sources()] == []
        # The same file used properly afterwards gets the plain alias (nothing half-registered).
        if "shop" in sql:
            assert rows(s.sql("SELECT id FROM shop.db::users")) == [(1,)]
            assert [entry.alias for entry in s.catalog().sources()] == ["shop"]


def test_missing_table_hint_lists_the_tables(files: Path) -> None:
    with Session() as s, pytest.raises(SourceError) as caught:
        s.sql("SELECT * FROM shop.db::nope")
    assert caught.value.hint == "its tables: users"


@pytest.mark.parametrize("table", ["Users", "users", '"Users"'])
def test_path_table_registers_a_good_database_once(files: Path, table: str) -> None:
    with Session() as s:
        assert rows(s.sql(f"SELECT id FROM shop.db::{table}")) == [(1,)]
        assert rows(s.sql(f"SELECT k.id FROM 'k.csv' k JOIN shop.db::{table} u ON u.id = k.id")) == [(1,)]
        assert rows(s.sql("SELECT id FROM ware.duckdb::items")) == [(1,)]
        assert [entry.alias for entry in s.catalog().sources()] == ["shop", "ware"]


def test_cli_failed_path_table_leaves_the_session_file_without_it(files: Path, run_main: RunMain) -> None:
    for sql in ("SELECT * FROM shop.db::nope", "SELECT * FROM trunc.db::x"):
        failed = run_main("query", sql)
        assert failed.code == 1 and "Traceback" not in failed.err
    sources = run_main("query", "--format", "csv", "SHOW SOURCES")
    assert sources.out == "alias,kind,path,size,status,current,cache\n", sources.out


@pytest.mark.parametrize(
    "write",
    [
        "INSERT INTO v.g (a, e) SELECT a + 10, label FROM 'k.csv' WHERE a = 1",
        "UPDATE v.g SET a = 11, e = k.label FROM 'k.csv' k WHERE k.a = 1 AND g.a = 1",
    ],
)
def test_duckdb_writes_reach_a_table_with_generated_columns(generated: Path, write: str) -> None:
    config = Config(engine=EngineConfig(materialize_always_rows=1))
    with Session(config=config) as s:
        s.execute("USE 'gen.db' AS v")
        assert rows(s.sql("SELECT max(b) FROM v.g, 'k.csv'")) == [(4,)]  # a copy is made
        s.execute(write)
        assert rows(s.sql("SELECT b, c, e FROM v.g, 'k.csv' k WHERE g.a = 11 AND k.a = 1")) == [
            (22, 33, "one")
        ]
    with sqlite3.connect(generated / "gen.db") as conn:
        assert conn.execute("SELECT b, t FROM g WHERE a = 11").fetchall() == [(22, "n11")]
    conn.close()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("INSERT INTO a.t SELECT * FROM a.t", 'INSERT INTO a.t SELECT * FROM copy AS "t"'),
        ("UPDATE a.t SET x = 1 FROM a.t AS o", "UPDATE a.t SET x = 1 FROM copy AS o"),
        (
            "DELETE FROM a.t WHERE x IN (SELECT x FROM a.t)",
            'DELETE FROM a.t WHERE x IN (SELECT x FROM copy AS "t")',
        ),
        ("TRUNCATE a.t", "TRUNCATE a.t"),
        ("SELECT * FROM a.t", 'SELECT * FROM copy AS "t"'),
    ],
)
def test_what_a_statement_writes_is_never_replaced_by_a_copy(sql: str, expected: str) -> None:
    assert replace_qualified_tables(sql, {("a", "t"): "copy"}) == expected
