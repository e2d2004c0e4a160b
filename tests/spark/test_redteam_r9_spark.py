"""Red team, round 9: the Spark engine against DuckDB, statement for statement (SPEC 9).

Each xfail(strict=True) test is a bug found with real files and the shared local Spark
Connect server of tests/spark/conftest.py; it asserts what a user would expect.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from noctra.errors import NoctraError
from noctra.session import Session
from tests.conftest import RunNoctra
from tests.spark.conftest import spark_missing

pytestmark = pytest.mark.skipif(spark_missing() is not None, reason=spark_missing() or "")


@pytest.fixture(scope="module")
def pair(spark_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, Session]]:
    """A DuckDB session and a Spark session, with no config file."""
    folder = tmp_path_factory.mktemp("r9config")
    duck = Session(config=folder / "none.toml")
    spark = Session(config=folder / "none.toml")
    spark.execute(f"SET engine = '{spark_endpoint}'")
    yield duck, spark
    duck.close()
    spark.close()


def rows(session: Session, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in session.sql(sql).rows(1000)]


def texts(session: Session, sql: str) -> list[tuple[str, ...]]:
    return [tuple(str(v) for v in row) for row in session.sql(sql).rows(1000)]


# --- output -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_table_and_markdown_output_of_a_date_on_spark(
    spark_endpoint: str, run_noctra: RunNoctra, tmp_path: Path, fmt: str
) -> None:
    run = run_noctra(
        "--fresh",
        "--engine",
        spark_endpoint,
        "--format",
        fmt,
        "query",
        "SELECT DATE '2024-01-01' AS d, [1, 2] AS l",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "2024-01-01" in run.stdout and "[1, 2]" in run.stdout


# --- sources ----------------------------------------------------------------------------


def test_csv_with_a_quoted_newline(pair: tuple[Session, Session], tmp_path: Path) -> None:
    duck, spark = pair
    path = tmp_path / "qnl.csv"
    path.write_text('id,txt\n1,"line1\nline2"\n2,"x"\n', encoding="utf-8")
    for session in pair:
        session.execute(f"USE '{path}' AS qnl")
    sql = "SELECT id, txt FROM qnl ORDER BY id"
    assert rows(duck, sql) == [(1, "line1\nline2"), (2, "x")]
    assert rows(spark, sql) == rows(duck, sql)


def test_csv_in_latin1_reads_on_spark(pair: tuple[Session, Session], tmp_path: Path) -> None:
    duck, spark = pair
    path = tmp_path / "lat.csv"
    path.write_bytes("id,name\n1,José\n2,Müller\n".encode("latin-1"))
    for session in pair:
        session.execute(f"USE '{path}' AS lat OPTIONS (encoding = 'latin-1')")
    sql = "SELECT id, name FROM lat ORDER BY id"
    assert rows(duck, sql) == [(1, "José"), (2, "Müller")]
    assert rows(spark, sql) == rows(duck, sql)


@pytest.mark.xfail(
    strict=True,
    reason="R9-S5: values DuckDB's sniff typed (t/f, 0x10, 2024-1-2) become NULL silently on Spark",
)
def test_csv_values_the_sniff_accepted_are_not_nulled_on_spark(
    pair: tuple[Session, Session], tmp_path: Path
) -> None:
    duck, spark = pair
    path = tmp_path / "vals.csv"
    path.write_text("id,b,h,d\n1,t,0x10,2024-1-2\n2,f,0x20,2024-01-02\n", encoding="utf-8")
    for session in pair:
        session.execute(f"USE '{path}' AS vals")
    sql = "SELECT id, b, h, CAST(d AS VARCHAR) AS d FROM vals ORDER BY id"
    assert rows(duck, sql) == [(1, True, 16, "2024-01-02"), (2, False, 32, "2024-01-02")]
    assert rows(spark, sql) == rows(duck, sql)


@pytest.mark.xfail(strict=True, reason="R9-S5: a CSV TIME column is read by Spark as today's TIMESTAMP")
def test_csv_time_column_on_spark(pair: tuple[Session, Session], tmp_path: Path) -> None:
    duck, spark = pair
    path = tmp_path / "times.csv"
    path.write_text("id,t\n1,13:45:00\n2,00:00:01\n", encoding="utf-8")
    for session in pair:
        session.execute(f"USE '{path}' AS times")
    sql = "SELECT id, CAST(t AS VARCHAR) AS t FROM times ORDER BY id"
    assert rows(duck, sql) == [(1, "13:45:00"), (2, "00:00:01")]
    assert rows(spark, sql) == rows(duck, sql)


@pytest.mark.xfail(
    strict=True, reason="R9-S12: with nullstr, an empty CSV field is '' on DuckDB and NULL on Spark"
)
def test_nullstr_keeps_empty_strings_on_spark(pair: tuple[Session, Session], tmp_path: Path) -> None:
    duck, spark = pair
    path = tmp_path / "nulls.csv"
    path.write_text("id,v\n1,NA\n2,\n3,x\n", encoding="utf-8")
    for session in pair:
        session.execute(f"USE '{path}' AS nn OPTIONS (nullstr = 'NA')")
    sql = "SELECT id, v FROM nn ORDER BY id"
    assert rows(duck, sql) == [(1, None), (2, ""), (3, "x")]
    assert rows(spark, sql) == rows(duck, sql)


@pytest.mark.xfail(
    strict=True, reason="R9-S13: an alias with a space is refused by Spark ('Invalid view name')"
)
def test_a_quoted_alias_with_a_space_on_spark(pair: tuple[Session, Session], tmp_path: Path) -> None:
    _, spark = pair
    path = tmp_path / "ids.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    spark.execute(f"USE '{path}' AS \"my src\"")
    assert rows(spark, 'SELECT a FROM "my src"') == [(1,)]


def test_sqlite_blob_big_integers_and_null_columns_ship_exactly(
    pair: tuple[Session, Session], tmp_path: Path
) -> None:
    """Works: BLOB, INTEGER past 2^53 and at the int64 limits, an all-NULL column, TEXT dates."""
    duck, spark = pair
    db = tmp_path / "s.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (id INTEGER, blob BLOB, big INTEGER, nul TEXT, day TEXT)")
        conn.executemany(
            "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
            [
                (1, b"\x00\x01", 2**53 + 1, None, "2024-01-02"),
                (2, None, 2**63 - 1, None, None),
                (3, b"", -(2**63), None, "x"),
            ],
        )
    conn.close()
    for session in pair:
        session.execute(f"USE '{db}' AS sq")
    sql = "SELECT id, blob, big, big = 9007199254740993 AS exact, nul, day FROM sq.t ORDER BY id"
    assert rows(spark, sql) == rows(duck, sql)
    assert rows(spark, sql)[0][2] == 2**53 + 1


# --- roads ------------------------------------------------------------------------------


def test_set_engine_spark_after_a_duckdb_statement_on_a_current_sqlite_source(
    spark_endpoint: str, run_noctra: RunNoctra, tmp_path: Path
) -> None:
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute("CREATE TABLE t (id INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
    conn.close()
    script = (
        f"USE 's.db' AS s; SELECT 1 AS one; SET engine = '{spark_endpoint}'; SELECT id FROM s.t ORDER BY id"
    )
    run = run_noctra("--fresh", "--format", "csv", "query", script, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "one\n1\nid\n1\n2\n"


def test_spark_export_keeps_a_users_data_files(pair: tuple[Session, Session], tmp_path: Path) -> None:
    _, spark = pair
    folder = tmp_path / "sales"
    folder.mkdir()
    for year in (2023, 2024):
        duckdb.sql(f"COPY (SELECT {year} AS year) TO '{folder / f'data_{year}.parquet'}' (FORMAT PARQUET)")
    with contextlib.suppress(NoctraError):
        spark.execute(f"EXPORT (SELECT 1 AS a) TO '{folder}' FORMAT PARQUET")
    assert sorted(p.name for p in folder.iterdir()) == ["data_2023.parquet", "data_2024.parquet"]


@pytest.mark.xfail(strict=True, reason="R9-S7: Spark's CSV/JSON exports cut timestamps to milliseconds")
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_spark_text_exports_keep_microseconds(
    pair: tuple[Session, Session], tmp_path: Path, fmt: str
) -> None:
    _, spark = pair
    target = tmp_path / f"out.{fmt}"
    spark.execute(f"EXPORT (SELECT TIMESTAMP '2024-06-01 23:59:59.123456' AS ts) TO '{target}'")
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(target.glob(f"part-*.{fmt}")))
    assert ".123456" in text, text


@pytest.mark.xfail(strict=True, reason='R9-S7: Spark\'s JSON export writes NaN as "NaN" (docs: null)')
def test_spark_json_export_writes_nan_as_null(pair: tuple[Session, Session], tmp_path: Path) -> None:
    _, spark = pair
    target = tmp_path / "nan.json"
    spark.execute(f"EXPORT (SELECT CAST('NaN' AS DOUBLE) AS f) TO '{target}'")
    text = "".join(p.read_text(encoding="utf-8") for p in target.glob("part-*.json"))
    assert text.strip() == '{"f":null}'


@pytest.mark.xfail(
    strict=True, reason="R9-S7: Spark's Parquet export turns TIMESTAMP WITH TIME ZONE into TIMESTAMP"
)
def test_spark_parquet_export_keeps_the_time_zone_type(pair: tuple[Session, Session], tmp_path: Path) -> None:
    _, spark = pair
    target = tmp_path / "tz.parquet"
    spark.execute(f"EXPORT (SELECT TIMESTAMPTZ '2024-01-02 03:04:05+00' AS t) TO '{target}'")
    [(kind,)] = duckdb.sql(f"SELECT typeof(t) FROM read_parquet('{target}/*.parquet')").fetchall()
    assert kind == "TIMESTAMP WITH TIME ZONE"


@pytest.mark.xfail(
    strict=True, reason="R9-S11: SHOW VARS shows a LET TIMESTAMP / TIMESTAMPTZ differently on Spark"
)
def test_show_vars_text_is_the_same_on_both(pair: tuple[Session, Session]) -> None:
    duck, spark = pair
    script = "LET r9ts = TIMESTAMP '2024-01-02 03:04:05.5'; LET r9tz = TIMESTAMPTZ '2024-01-02 03:04:05+00'"
    for session in pair:
        session.execute(script)
    sql = "SHOW VARS"
    mine = [r for r in texts(spark, sql) if r[0].startswith("r9")]
    assert mine == [r for r in texts(duck, sql) if r[0].startswith("r9")]
    assert ("r9ts", "TIMESTAMP", "2024-01-02 03:04:05.5") in mine


# --- dialect: the same statement, a different answer -------------------------------------

SILENT = [
    ("substr from 0", "SELECT substr('hello', 0, 2) AS v"),
    ("left negative", "SELECT left('abc', -1) AS v"),
    ("extract dow", "SELECT extract(dow FROM DATE '2024-01-07') AS v"),
    ("dayname", "SELECT dayname(DATE '2024-01-07') AS v"),
    (
        "date_diff day",
        "SELECT date_diff('day', TIMESTAMP '2024-01-01 23:00:00', TIMESTAMP '2024-01-02 01:00:00') AS v",
    ),
    ("date_diff month", "SELECT date_diff('month', DATE '2024-01-31', DATE '2024-02-29') AS v"),
    ("date minus date", "SELECT DATE '2024-03-01' - DATE '2024-01-01' AS v"),
    ("decimal division", "SELECT CAST(1.0 / 3 AS VARCHAR) AS v"),
    ("avg of decimals", "SELECT CAST(avg(x) AS VARCHAR) AS v FROM (VALUES (1.0), (2.0), (2.0)) t(x)"),
    ("strftime day of year", "SELECT strftime(DATE '2024-01-02', '%j') AS v"),
]


@pytest.mark.xfail(strict=True, reason="R9-S8: sqlglot's Spark translation gives a different answer")
@pytest.mark.parametrize(("name", "sql"), SILENT, ids=[n for n, _ in SILENT])
def test_silent_dialect_differences(pair: tuple[Session, Session], name: str, sql: str) -> None:
    duck, spark = pair
    assert texts(spark, sql) == texts(duck, sql)


ERRORS = [
    ("last element", "SELECT [1, 2, 3][-1] AS v"),
    ("index past the end", "SELECT [1, 2, 3][5] AS v"),
    ("modulo by zero", "SELECT 5 % 0 AS v"),
    ("slice", "SELECT [1, 2, 3][2:3] AS v"),
]


@pytest.mark.xfail(strict=True, reason="R9-S9: DuckDB answers, Spark fails on the translated statement")
@pytest.mark.parametrize(("name", "sql"), ERRORS, ids=[n for n, _ in ERRORS])
def test_spark_fails_where_duckdb_answers(pair: tuple[Session, Session], name: str, sql: str) -> None:
    duck, spark = pair
    assert texts(spark, sql) == texts(duck, sql)


UNTRANSLATABLE = [
    ("asof join", "SELECT x FROM (VALUES (1), (2)) t(x) ASOF JOIN (VALUES (1)) u(y) ON x >= y"),
    ("pivot", "PIVOT (VALUES ('a', 1), ('b', 2)) t(k, v) ON k USING sum(v)"),
    ("list comprehension", "SELECT [x * 2 FOR x IN [1, 2]] AS c"),
]


@pytest.mark.parametrize(("name", "sql"), UNTRANSLATABLE, ids=[n for n, _ in UNTRANSLATABLE])
def test_untranslatable_syntax_is_one_clear_error(pair: tuple[Session, Session], name: str, sql: str) -> None:
    _, spark = pair
    with pytest.raises(NoctraError) as caught:
        spark.sql(sql).rows(10)
    message = str(caught.value)
    assert "PARSE_SYNTAX_ERROR" not in message
    assert "does not translate" in message or "no Spark translation" in message


@pytest.mark.xfail(
    strict=True, reason="R9-S14: Spark computes in the server's time zone, Noctra shows the client's"
)
def test_hour_of_a_timestamptz_matches_what_is_shown(
    spark_endpoint: str, run_noctra: RunNoctra, isolated_env: dict[str, str], tmp_path: Path
) -> None:
    isolated_env["TZ"] = "America/New_York"
    sql = "SELECT TIMESTAMPTZ '2024-01-02 03:04:05+00' AS t, hour(TIMESTAMPTZ '2024-01-02 03:04:05+00') AS h"
    duck = run_noctra("--fresh", "--format", "csv", "query", sql, cwd=tmp_path)
    spark = run_noctra("--fresh", "--engine", spark_endpoint, "--format", "csv", "query", sql, cwd=tmp_path)
    assert duck.stdout == "t,h\n2024-01-01 22:04:05-05,22\n", duck.stderr
    assert spark.stdout == duck.stdout, spark.stderr
