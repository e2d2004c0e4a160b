"""Sources: sniffed once, pinned, rebuilt when the file changes; kinds and aliases."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from noctra import Session
from noctra.engine.duck import readers
from noctra.engine.sources import Source
from noctra.errors import NoctraError
from noctra.lifecycle import default_alias


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def count_sniffs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = readers.pinned_csv

    def spy(source: Source, rows: readers.Rows) -> tuple[str, dict[str, str]]:
        calls.append(source.alias)
        return original(source, rows)

    monkeypatch.setattr(readers, "pinned_csv", spy)
    return calls


def test_csv_is_sniffed_once_and_pinned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "t.csv").write_text("id,day\n1,2024-01-02\n2,2024-01-03\n")
    sniffs = count_sniffs(monkeypatch)
    with Session() as s:
        s.execute("USE 't.csv'")
        view = s.sql("SELECT sql FROM duckdb_views() WHERE view_name = 't'").rows(1)[0][0]
        for _ in range(5):
            assert s.sql("SELECT count(*) FROM t").rows(1) == [(2,)]
        assert sniffs == ["t"]
        assert "(auto_detect = CAST('f' AS BOOLEAN))" in str(view)
        assert "\"day\" := 'DATE'" in str(view)
        assert "(buffer_size = 8388608)" in str(view)


def test_csv_view_is_rebuilt_when_the_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,name\n1,a\n")
    sniffs = count_sniffs(monkeypatch)
    with Session() as s:
        s.execute("USE 't.csv'")
        assert s.sql("SELECT * FROM t").rows(10) == [(1, "a")]
        path.write_text("id,name,score\n1,a,2.5\n2,b,3.5\n")
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
        assert s.sql("SELECT * FROM t ORDER BY id").rows(10) == [(1, "a", 2.5), (2, "b", 3.5)]
        assert sniffs == ["t", "t"]
        s.sql("SELECT * FROM t").rows(1)
        assert sniffs == ["t", "t"]


@pytest.mark.parametrize(
    ("path", "alias"),
    [
        ("ventas-2024.csv", "ventas_2024"),
        ("data/Sales.csv.gz", "sales"),
        ("logs/*.parquet", "logs"),
        ("2024 report.json", "t_2024_report"),
        ("https://host/x/events.ndjson?sig=1", "events"),
    ],
)
def test_default_alias(path: str, alias: str) -> None:
    assert default_alias(path) == alias


def test_glob_directory_and_gzip(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    for n in range(3):
        (tmp_path / "logs" / f"part{n}.csv").write_text(f"n,v\n{n},x{n}\n")
    import gzip

    with gzip.open(tmp_path / "z.csv.gz", "wt") as handle:
        handle.write("a,b\n1,2\n3,4\n")
    with Session() as s:
        s.execute("USE 'logs/*.csv' AS g; USE 'logs' AS d; USE 'z.csv.gz'")
        assert s.sql("SELECT sum(n) FROM g").rows(1) == [(3,)]
        assert s.sql("SELECT count(*) FROM d").rows(1) == [(3,)]
        assert s.sql("SELECT sum(b) FROM z").rows(1) == [(6,)]


def test_hive_partitioned_directory(tmp_path: Path) -> None:
    with Session() as s:
        s.execute(
            "COPY (SELECT range AS id, range % 2 AS part FROM range(10)) TO 'out' "
            "(FORMAT parquet, PARTITION_BY (part))"
        )
        s.execute("USE 'out' AS o")
        assert s.sql("SELECT part, count(*) FROM o GROUP BY part ORDER BY part").rows(5) == [
            (0, 5),
            (1, 5),
        ]


def test_sqlite_and_duckdb_databases_attach(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "a.sqlite3") as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO users VALUES (1, 'Ann')")
    conn.close()
    import duckdb

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE TABLE facts AS SELECT 42 AS answer")
    with Session() as s:
        s.execute("USE 'a.sqlite3' AS a; USE 'w.duckdb' AS w")
        assert s.sql("SELECT u.name, f.answer FROM a.users u, w.facts f").rows(5) == [("Ann", 42)]
        tables = s.sql("SHOW TABLES FROM a").rows(10)
        assert tables == [("users", "table", 2)]


def test_database_current_source_takes_new_tables_and_keeps_files_visible(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("id\n1\n2\n")
    with Session() as s:
        s.execute(
            "USE 't.csv'; USE 'new.db' AS box OPTIONS (create = true); CREATE TABLE copied AS SELECT * FROM t"
        )
    with sqlite3.connect(tmp_path / "new.db") as conn:
        assert conn.execute("SELECT count(*) FROM copied").fetchone() == (2,)
    conn.close()


def test_reusing_an_alias_replaces_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("x\n2\n")
    with Session() as s:
        s.execute("USE 'a.csv' AS t")
        [message] = s.execute("USE 'b.csv' AS t")
        assert message.notes == ["source 't' replaced (was a.csv)"]
        assert s.sql("SELECT x FROM t").rows(1) == [(2,)]


def test_failed_use_leaves_the_old_source(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "bad.db").write_text("not a database at all, just text\n")
    with Session() as s:
        s.execute("USE 'a.csv' AS t")
        for bad in ("USE 'missing.csv' AS t", "USE 'bad.db' AS t", "USE 'a.csv' AS t OPTIONS (skip = 'x')"):
            with pytest.raises(NoctraError):
                s.execute(bad)
            assert s.sql("SELECT x FROM t").rows(1) == [(1,)]
        assert [src.alias for src in s.sources] == ["t"]


def test_user_csv_options_are_applied(tmp_path: Path) -> None:
    (tmp_path / "semi.txt").write_text("junk line\nid;price;when\n1;NA;03/02/2024\n2;3,5;04/02/2024\n")
    with Session() as s:
        s.execute(
            "USE 'semi.txt' AS p OPTIONS (delimiter = ';', skip = 1, nullstr = 'NA', "
            "dateformat = '%d/%m/%Y', types = {'price': 'VARCHAR'})"
        )
        rows = s.sql('SELECT id, price, CAST("when" AS VARCHAR) FROM p ORDER BY id').rows(5)
        assert rows == [(1, None, "2024-02-03"), (2, "3,5", "2024-02-04")]


def test_csv_errors_are_one_line_with_the_option_that_helps(tmp_path: Path) -> None:
    (tmp_path / "latin.csv").write_bytes(b"id,name\n1,Jos\xe9\n")
    (tmp_path / "rag.csv").write_text("a,b,c\n1,2,3\n4,5\n")
    with Session() as s:
        with pytest.raises(NoctraError) as info:
            s.execute("USE 'latin.csv'")
        assert "not utf-8" in info.value.message and "\n" not in info.value.message
        assert info.value.hint is not None and "encoding = 'latin-1'" in info.value.hint
        s.execute("USE 'latin.csv' OPTIONS (encoding = 'latin-1')")
        assert s.sql("SELECT name FROM latin").rows(1) == [("José",)]
        with pytest.raises(NoctraError) as info:
            s.execute(
                "SELECT * FROM read_csv('rag.csv', auto_detect = false, header = true,"
                " columns = {'a': 'INT', 'b': 'INT', 'c': 'INT'})"
            )
        assert info.value.message.endswith(
            "CSV error in rag.csv on line 3: Expected Number of Columns: 3 Found: 2"
        )
        assert info.value.hint is not None and "null_padding = true" in info.value.hint
        s.execute("USE 'rag.csv' OPTIONS (null_padding = true)")
        assert s.sql("SELECT count(*), count(c) FROM rag").rows(1) == [(2, 1)]


def test_a_database_whose_extension_lies_gets_the_right_hint(tmp_path: Path) -> None:
    import duckdb

    with duckdb.connect(str(tmp_path / "real.duckdb")) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS a")
    (tmp_path / "lies.db").write_bytes((tmp_path / "real.duckdb").read_bytes())
    with Session() as s:
        with pytest.raises(NoctraError, match=r"'lies\.db' is not a SQLite database") as info:
            s.execute("USE 'lies.db'")
        assert info.value.hint == "it is a DuckDB database: add OPTIONS (format = 'duckdb')"
        s.execute("USE 'lies.db' OPTIONS (format = 'duckdb')")
        assert s.sql("SELECT a FROM lies.t").rows(1) == [(1,)]


def test_empty_paths_and_huge_directories_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from noctra.engine import sources

    monkeypatch.setattr(sources, "MAX_DIRECTORY_FILES", 5)
    (tmp_path / "many").mkdir()
    for n in range(6):
        (tmp_path / "many" / f"p{n}.csv").write_text("a\n1\n")
    with Session() as s:
        with pytest.raises(NoctraError, match="the path is empty"):
            s.execute("USE ''")
        with pytest.raises(NoctraError, match="has more than 5 files") as info:
            s.execute("USE 'many'")
        assert info.value.hint is not None and "glob" in info.value.hint
        s.execute("USE 'many/*.csv' AS m")
        assert s.sql("SELECT count(*) FROM m").rows(1) == [(6,)]


@pytest.mark.parametrize(
    ("sql", "params", "expected"),
    [
        ("SELECT ?", ["a'b"], "SELECT 'a''b'"),
        ("SELECT '?', ?, \"c?\"", [2], "SELECT '?', 2, \"c?\""),
        ("x = ? AND y IN (?, ?)", [None, 1.5, True], "x = NULL AND y IN (1.5, true)"),
    ],
)
def test_catalog_query_values_are_written_as_literals_not_bound(
    sql: str, params: list[object], expected: str
) -> None:
    from noctra.engine.duck.engine import _inline

    assert _inline(sql, params) == expected


# --- a ragged last row (R4-3) -------------------------------------------------------------------

# (file contents, the error's "line N has F fields" or None when the file reads, rows when it reads)
RAGGED = [
    ("a,b\n1,2\n3,4\n5,6\n7,8,9\n", "line 5 has 3 fields, the lines before it have 2", None),
    ("a,b\n1,2\n3,4\n5,6,7\n7,8,9\n", "line 4 has 3 fields, the lines before it have 2", None),
    ("a,b\n7,8,9\n", "line 2 has 3 fields, the lines before it have 2", None),
    ("a;b\n1;2\n3;4\n5;6;7\n", "line 4 has 3 fields, the lines before it have 2", None),
    ('a,b\n"1,5",2\n3,4\n5,6,7\n', "line 4 has 3 fields, the lines before it have 2", None),
    # Not ragged: a preamble DuckDB skips, quoted delimiters in the last row, plain files.
    ("Report,2024\nGenerated,today\na,b,c\n1,2,3\n4,5,6\n", None, [(1, 2, 3), (4, 5, 6)]),
    ("exported by x\na,b\n1,2\n", None, [(1, 2)]),
    ('a,b\n1,2\n3,"x,y,z"\n', None, [(1, "2"), (3, "x,y,z")]),
    ("a,b\n1,2\n3,4\n", None, [(1, 2), (3, 4)]),
]


@pytest.mark.parametrize(("text", "error", "expected"), RAGGED)
@pytest.mark.parametrize("road", ["USE", "FROM"])
def test_a_csv_whose_last_rows_have_more_fields_is_an_error_not_those_rows_alone(
    tmp_path: Path, road: str, text: str, error: str | None, expected: list[tuple[object, ...]] | None
) -> None:
    (tmp_path / "r.csv").write_text(text, encoding="utf-8")
    sql = "USE 'r.csv' AS r; SELECT * FROM r" if road == "USE" else "SELECT * FROM 'r.csv'"
    with Session(restore=False) as s:
        if error is None:
            assert s.sql(sql).rows(10) == expected
            return
        with pytest.raises(NoctraError) as info:
            s.sql(sql)
        assert info.value.message == f"cannot read 'r.csv' as CSV: {error}"
        assert info.value.hint is not None and "null_padding = true" in info.value.hint
        assert s.sources.peek("r") is None


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("null_padding = true", [(1, 2, None), (3, 4, None), (5, 6, None), (7, 8, 9)]),
        ("ignore_errors = true", [(1, 2), (3, 4), (5, 6)]),
    ],
)
def test_the_fixes_a_ragged_last_row_error_names_read_it(
    tmp_path: Path, option: str, expected: list[tuple[object, ...]]
) -> None:
    (tmp_path / "r.csv").write_text("a,b\n1,2\n3,4\n5,6\n7,8,9\n", encoding="utf-8")
    with Session(restore=False) as s:
        s.execute(f"USE 'r.csv' AS r OPTIONS ({option})")
        assert s.sql("SELECT * FROM r").rows(10) == expected
        assert s.sql(f"SELECT * FROM read_csv('r.csv', {option})").rows(10) == expected


@pytest.mark.parametrize("road", ["USE", "FROM", "bare FROM", "restore"])
def test_a_parquet_decimal_wider_than_38_digits_is_refused_not_misread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, road: str
) -> None:
    # DuckDB reads a decimal256 column as a DOUBLE of wrong numbers (2.50 as 1.8e17).
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    from noctra import Session
    from noctra.errors import SourceError

    monkeypatch.chdir(tmp_path)
    wide = pa.array([decimal.Decimal("2.50")], pa.decimal256(40, 2))
    pq.write_table(pa.table({"d": wide, "ok": [1]}), tmp_path / "wide.parquet")
    pq.write_table(pa.table({"d": pa.array([decimal.Decimal("2.50")], pa.decimal128(38, 2))}), "fine.parquet")
    state = tmp_path / "s.toml"
    with Session(state_path=state) as s:
        assert s.sql("SELECT d FROM 'fine.parquet'").rows(1) == [(decimal.Decimal("2.50"),)]
        if road == "restore":
            s.execute("USE 'fine.parquet' AS w")
        statement = {
            "USE": "USE 'wide.parquet' AS w",
            "FROM": "SELECT d FROM 'wide.parquet'",
            "bare FROM": "SELECT d FROM wide.parquet",
            "restore": "SELECT 1",
        }[road]
        if road != "restore":
            with pytest.raises(
                SourceError, match=r"column 'd' is DECIMAL\(40,2\), wider than DuckDB's 38"
            ) as caught:
                s.sql(statement).rows(1)
            assert caught.value.hint is not None and "EXCLUDE" in caught.value.hint
            # The hint's way reads the other columns.
            assert s.sql("SELECT * EXCLUDE (\"d\") FROM read_parquet('wide.parquet')").rows(1) == [(1,)]
            return
    # A source whose file became such a file is not restored with wrong numbers.
    (tmp_path / "fine.parquet").unlink()
    (tmp_path / "wide.parquet").rename(tmp_path / "fine.parquet")
    with Session(state_path=state) as s:
        assert any("DECIMAL(40,2)" in w for w in s.warnings), s.warnings
        with pytest.raises(NoctraError):
            s.sql("SELECT d FROM w").rows(1)
