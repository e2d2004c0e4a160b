"""Issue 11 (6-10): one serialization for every engine, road and flag, and honest streams."""

from __future__ import annotations

import io
import json
import math
import sqlite3
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noctra import Session
from noctra.errors import NoctraError
from noctra.output.model import Result
from noctra.output.render import cell_width, display_value
from noctra.output.text import JsonShaper, TextWriter, json_double, unique_names
from tests.conftest import RunNoctra

TEXT_FORMATS = ("csv", "tsv", "json", "jsonl")
COPY_OPTIONS = {
    "csv": "FORMAT csv, HEADER true",
    "tsv": "FORMAT csv, HEADER true, DELIMITER '\t'",
    "json": "FORMAT json",
    "jsonl": "FORMAT json",
}
# One row per SQL type DuckDB has, NULL vs empty string, duplicate names and NaN included.
ALL_TYPES = """
SELECT NULL::VARCHAR AS n, '' AS e, 'a"b,c#' AS s, 'line
break' AS nl, true AS b, 42::TINYINT AS ti, -7 AS i, 170141183460469231731687303715884105727::HUGEINT AS h,
1.5::DOUBLE AS d, 'nan'::DOUBLE AS nan, '-inf'::DOUBLE AS ninf, 0.1::FLOAT AS f, 1e20::DOUBLE AS big,
123.456789::DECIMAL(38,9) AS dec, '\\x00\\xFFab\\x27\\x22\\x5C'::BLOB AS bl,
INTERVAL '1 month 3 days 4 hours' AS iv, TIMESTAMPTZ '2024-01-02 03:04:05.25+02' AS tz,
TIMESTAMP '2024-01-02 03:04:05.5' AS ts, DATE '2024-01-02' AS dt,
TIME '03:04:05' AS tm, [1, NULL] AS l, ['x', NULL] AS ls, {'a': 1, 'b': 'x y'} AS st, MAP {'k': 1.5} AS m,
'12345678-1234-5678-1234-567812345678'::UUID AS u, 'é日本🙂' AS uni, 1 AS id, 2 AS id
FROM range(3)
"""


def copy_text(con: duckdb.DuckDBPyConnection, sql: str, fmt: str, target: Path) -> str:
    con.execute(f"COPY ({sql}) TO '{target}' ({COPY_OPTIONS[fmt]})")
    data = target.read_bytes()
    if fmt in ("json", "jsonl"):
        shaper = JsonShaper(fmt)
        data = shaper.feed(data) + shaper.finish()
    return data.decode()


plain_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
    st.binary(max_size=12),
)
TYPE_OF = {bool: "BOOLEAN", int: "BIGINT", float: "DOUBLE", str: "VARCHAR", bytes: "BLOB"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(plain_values, min_size=1, max_size=1), min_size=0, max_size=6), st.data())
def test_python_writer_writes_what_copy_writes(rows: list[list[object]], data: st.DataObject) -> None:
    # One column of one type (SQLite's and Noctra's own rows), NULLs anywhere.
    kinds = {type(r[0]) for r in rows if r[0] is not None}
    if len(kinds) > 1:
        kept = next(iter(kinds))
        rows = [r for r in rows if r[0] is None or type(r[0]) is kept]
        kinds = {kept}
    sql_type = TYPE_OF[next(iter(kinds))] if kinds else "VARCHAR"
    name = data.draw(st.sampled_from(["v", "a,b", "x#y", 'q"', "é"]))
    con = duckdb.connect()
    con.execute(f'CREATE TABLE t (i INTEGER, "{name.replace(chr(34), chr(34) * 2)}" {sql_type})')
    if rows:
        con.executemany("INSERT INTO t VALUES (?, ?)", [(i, r[0]) for i, r in enumerate(rows)])
    tmp = Path(f"/tmp/noctra-ser-{id(rows)}.out")
    try:
        for fmt in TEXT_FORMATS:
            quoted = name.replace('"', '""')
            expected = copy_text(con, f'SELECT "{quoted}" FROM t ORDER BY i', fmt, tmp)
            fetched = [tuple(r) for r in con.execute("SELECT * EXCLUDE (i) FROM t ORDER BY i").fetchall()]
            writer = TextWriter(fmt, [name])
            assert writer.start() + writer.rows(fetched) + writer.end() == expected, fmt
    finally:
        tmp.unlink(missing_ok=True)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_json_doubles_are_laid_out_as_duckdb_does(value: float) -> None:
    row = duckdb.execute("SELECT to_json(?::DOUBLE)", [value]).fetchone()
    assert row is not None and json_double(value) == str(row[0])


def test_duplicate_names_are_made_unique_as_duckdb_does() -> None:
    names = ["id", "ID", "id_1", "id", "a_1", "a", "a"]
    row = duckdb.sql("SELECT * FROM (SELECT 1 AS id, 2 AS ID, 3 AS id_1, 4 AS id, 5 AS a_1, 6 AS a, 7 AS a)")
    assert unique_names(names) == row.columns


@pytest.fixture
def all_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TZ", "UTC")
    return tmp_path


def outputs(run_noctra: RunNoctra, sql: str, *flags: str, cwd: Path) -> dict[str, str]:
    found = {}
    for fmt in TEXT_FORMATS:
        proc = run_noctra("-c", sql, "--format", fmt, *flags, cwd=cwd)
        assert proc.returncode == 0 and "error" not in proc.stderr, proc.stderr
        found[fmt] = proc.stdout
    return found


def test_every_duckdb_type_serializes_alike_on_every_road(run_noctra: RunNoctra, all_types: Path) -> None:
    sql = f"SET TimeZone = 'UTC'; {ALL_TYPES}"
    plain = outputs(run_noctra, sql, cwd=all_types)
    # --max-rows limits table output only; a write with RETURNING and a query after a
    # later statement reach the writer by other roads (Arrow, not COPY of the query).
    assert outputs(run_noctra, sql, "--max-rows", "1", cwd=all_types) == plain
    table = ALL_TYPES.replace("1 AS id, 2 AS id", "1 AS id, 2 AS id2")
    table_sql = f"SET TimeZone = 'UTC'; CREATE TABLE t AS {table}"
    deleted = outputs(run_noctra, table_sql + "; DELETE FROM t RETURNING *", cwd=all_types)
    selected = outputs(run_noctra, table_sql + "; SELECT * FROM t", cwd=all_types)
    assert deleted == selected
    with Session() as s:
        s.execute("SET TimeZone = 'UTC'")
        for fmt in TEXT_FORMATS:
            # session.execute keeps earlier results as Arrow tables: another road again.
            first, _ = s.execute(f"{ALL_TYPES}; SELECT 1")
            assert isinstance(first, Result)
            out = io.StringIO()
            first.write(out, fmt)
            assert out.getvalue() == plain[fmt], fmt
    body = plain["csv"].splitlines()
    assert body[0].endswith(",id,id_1")
    assert body[1].startswith(',"","a""b,c#","line')  # NULL bare, empty string quoted
    assert "\\x00\\xFFab\\x27\\x22\\x5C" in plain["csv"]
    assert "1 month 3 days 04:00:00" in plain["csv"] and "2024-01-02 01:04:05.25+00" in plain["csv"]
    [rows] = [json.loads(line) for line in plain["json"].splitlines()]
    assert len(rows) == 3 and rows[0]["nan"] is None and rows[0]["ninf"] is None
    assert (rows[0]["id"], rows[0]["id_1"]) == (1, 2)
    assert rows[0]["dec"] == 123.456789 and '"dec":123.456789000' in plain["json"]
    assert [json.loads(line) for line in plain["jsonl"].splitlines()] == rows


@pytest.fixture
def mixed_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    with sqlite3.connect(tmp_path / "m.db") as conn:
        conn.execute("CREATE TABLE a (id INTEGER, name TEXT, score REAL, raw BLOB, flag INTEGER)")
        conn.executemany(
            "INSERT INTO a VALUES (?, ?, ?, ?, ?)",
            [
                (1, "", 1.5, b"\x00\xff", 1),
                (2, None, 1e20, b"", 0),
                (3, 'q"uote,#', -0.0, None, None),
                (4, "tab\there\nnl", 0.1, b"ab\\", 1),
                (5, "日本", 123456789.125, b"'", 0),
            ],
        )
        conn.execute("CREATE TABLE b (id INTEGER, a_id INTEGER)")
        conn.executemany("INSERT INTO b VALUES (?, ?)", [(10, 1), (11, 3)])
    conn.close()
    return tmp_path


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM m.a ORDER BY id",
        "SELECT * FROM m.a JOIN m.b ON b.a_id = a.id ORDER BY a.id",
        "SELECT * FROM m.a WHERE id > 100",
    ],
)
def test_sqlite_rows_serialize_as_duckdb_rows(run_noctra: RunNoctra, mixed_db: Path, query: str) -> None:
    native = outputs(run_noctra, f"USE 'm.db' AS m; {query}", cwd=mixed_db)
    duck = outputs(run_noctra, f"USE 'm.db' AS m; SET engine = duckdb; {query}", cwd=mixed_db)
    assert native == duck
    if "JOIN" in query:
        assert native["csv"].splitlines()[0] == "id,name,score,raw,flag,id_1,a_id"
        assert '"id_1":10' in native["json"]


def test_several_result_sets_in_json_are_one_array_per_line(run_noctra: RunNoctra, tmp_path: Path) -> None:
    proc = run_noctra(
        "-c",
        "SELECT 1 AS a UNION ALL SELECT 2; SHOW VARS; SELECT 'x' AS b WHERE false",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line) for line in proc.stdout.splitlines()] == [[{"a": 1}, {"a": 2}], [], []]


def test_duplicate_names_survive_json_export(tmp_path: Path) -> None:
    with Session() as s:
        s.execute(f"EXPORT (SELECT 1 AS id, 2 AS id) TO '{tmp_path / 'd.json'}'")
    assert json.loads((tmp_path / "d.json").read_text()) == {"id": 1, "id_1": 2}


# One thread: with several, DuckDB now and then reports the interrupt it sent its other
# threads instead of the error (test_an_unexplained_interrupt_is_not_a_cancel).
STREAM_ERROR = (
    "SET threads = 1; "
    "SELECT CASE WHEN i = 150000 THEN error('boom at ' || i) ELSE i END AS v FROM range(200000) t(i)"
)


@pytest.mark.parametrize("flags", [(), ("--format", "csv"), ("--max-rows", "5"), ("--format", "jsonl")])
def test_an_error_while_rows_stream_is_the_real_error(
    run_noctra: RunNoctra, tmp_path: Path, flags: tuple[str, ...]
) -> None:
    proc = run_noctra("-c", STREAM_ERROR, *flags, cwd=tmp_path)
    assert proc.returncode == 1
    assert "boom at 150000" in proc.stderr and "pending query" not in proc.stderr
    assert len(proc.stderr.splitlines()) <= 2 and "Traceback" not in proc.stderr


def test_an_error_while_rows_stream_in_python_is_a_noctra_error() -> None:
    with Session() as s:
        with pytest.raises(NoctraError, match="boom at 150000"):
            result = s.sql(STREAM_ERROR)
            while result.rows(10_000):
                pass
        with pytest.raises(NoctraError, match="boom at 150000"):
            s.sql(STREAM_ERROR).reader(1000).read_all()


def test_an_unexplained_interrupt_is_not_a_cancel() -> None:
    from noctra.engine.duck import DuckEngine

    engine = DuckEngine()
    with pytest.raises(NoctraError) as info, engine.translating():
        raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
    assert info.value.exit_code == 1 and "SET threads = 1" in (info.value.hint or "")
    engine.cancel()
    with pytest.raises(NoctraError) as info, engine.translating():
        raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
    assert info.value.exit_code == 130


def test_later_wider_numbers_open_a_wider_box_instead_of_being_cut() -> None:
    with Session() as s:
        out = io.StringIO()
        s.sql("SELECT i * i AS sq FROM range(20000) t(i)").write(out, "table")
    text = out.getvalue()
    assert "…" not in text and "│ 399960001 │" in text
    assert text.count("┌") == 2  # the box widened once, when the numbers grew past the first chunk


def test_df_without_pandas_names_the_extra() -> None:
    import importlib.util

    if importlib.util.find_spec("pandas") is not None:
        pytest.skip("pandas is installed here")
    with Session() as s, pytest.raises(NoctraError) as info:
        s.sql("SELECT 1").df()
    assert info.value.hint == "pip install 'noctra[pandas]'"


def test_table_cells_show_sql_values_not_python_reprs(tmp_path: Path) -> None:
    with Session() as s:
        out = io.StringIO()
        s.sql(
            "SELECT true AS b, '\\x00\\xFF'::BLOB AS bl, INTERVAL 3 DAYS AS iv, [1, NULL] AS l, "
            "{'k': 'v w'} AS st, TIME '01:02:03.5' AS t, 'x' || chr(27) || '[31m' AS esc"
        ).write(out, "table")
        text = out.getvalue()
    for shown in ("true", "\\x00\\xFF", "3 days", "[1, NULL]", "{'k': v w}", "01:02:03.5", "x␛[31m"):
        assert shown in text, shown
    for python in ("True", "b'", "timedelta", "None", "\x1b"):
        assert python not in text, python


def test_wide_characters_keep_the_table_aligned() -> None:
    with Session() as s:
        out = io.StringIO()
        rows = "('日本語', 1), ('abc', 22), ('🙂x', 333)"
        s.sql(f"SELECT * FROM (VALUES {rows}) t(name, n)").write(out, "table")
    widths = {cell_width(line) for line in out.getvalue().splitlines()}
    assert len(widths) == 1, out.getvalue()


def test_on_a_terminal_later_longer_values_are_cut_to_its_width() -> None:
    with Session() as s:
        out = io.StringIO()
        sql = "SELECT CASE WHEN i < 1500 THEN 'aaa' ELSE repeat('b', 50) END AS v FROM range(11600) t(i)"
        s.sql(sql).write(out, "table", width=20)
    lines = out.getvalue().splitlines()
    assert {cell_width(line) for line in lines if not line.startswith(("┌", "├", "└"))} == {7, 20}
    assert "│ " + "b" * 15 + "… │" in lines[-2]


def test_explain_is_drawn_not_squeezed(run_noctra: RunNoctra, tmp_path: Path) -> None:
    proc = run_noctra("-c", "EXPLAIN SELECT 42", cwd=tmp_path)
    assert proc.returncode == 0 and "PROJECTION" in proc.stdout and "↵" not in proc.stdout


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_doubles_are_json_null(value: float) -> None:
    assert json_double(value) == "null"
    assert display_value(value) in ("nan", "inf", "-inf")


def test_a_sqlite_column_of_mixed_types_becomes_text_in_arrow(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "mx.db") as conn:
        conn.execute("CREATE TABLE t (v, n, k INTEGER)")
        rows = [(1, None, 1), ("a", None, 2), (2.5, 3, 3), (None, "z", 4), (b"\x00", None, 5)]
        conn.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    conn.close()
    with Session() as s:
        s.execute(f"USE '{tmp_path / 'mx.db'}' AS mx")
        table = s.sql("SELECT v, n, k FROM mx.t").arrow()
        assert table.column("v").to_pylist() == ["1", "a", "2.5", None, "\\x00"]
        assert table.column("n").to_pylist() == [None, None, "3", "z", None]
        assert table.column("k").to_pylist() == [1, 2, 3, 4, 5]
        # A later batch that does not fit the first one's type is refused, never truncated.
        with pytest.raises(NoctraError, match="several types"):
            s.sql("SELECT CASE WHEN k < 3 THEN k ELSE 1.5 END AS q FROM mx.t").reader(2).read_all()
        widened = s.sql("SELECT CASE WHEN k < 3 THEN 1.5 ELSE k END AS q FROM mx.t").reader(2).read_all()
        assert widened.column("q").to_pylist() == [1.5, 1.5, 3.0, 4.0, 5.0]


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_continue_on_error_reports_a_failed_query_once_and_runs_the_rest(
    run_noctra: RunNoctra, tmp_path: Path, fmt: str
) -> None:
    script = "SELECT error('first'); SELECT 2 AS two; SELECT error('third'); SELECT 4 AS four"
    proc = run_noctra("-c", script, "--continue-on-error", "--format", fmt, cwd=tmp_path)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("noctra: error:")]
    assert len(errors) == 2 and "first" in errors[0] and "third" in errors[1]
    assert "two" in proc.stdout and "four" in proc.stdout


def test_iterate_reports_a_failed_query_once_and_runs_the_rest() -> None:
    script = "SELECT error('boom'); SELECT 2; SELECT 3"
    with Session() as s:
        seen: list[str] = []
        # Not read: the failure surfaces when the next statement starts, once.
        assert len(list(s.iterate(script, on_error=lambda e: seen.append(e.message)))) == 3
        assert len(seen) == 1 and "boom" in seen[0]
        # Read as a front end reads them: the reader sees the failure, nobody else.
        seen.clear()
        rows = []
        for outcome in s.iterate(script, on_error=lambda e: seen.append(e.message)):
            assert isinstance(outcome, Result)
            try:
                rows.append(outcome.rows(1))
            except NoctraError as exc:
                seen.append(exc.message)
        assert rows == [[(2,)], [(3,)]] and len(seen) == 1


def test_kept_results_keep_both_columns_of_a_duplicate_name() -> None:
    with Session() as s:
        kept, _ = s.execute("SELECT 1 AS id, 2 AS id; SELECT 3")
        assert isinstance(kept, Result) and kept.rows(1) == [(1, 2)]


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_rows_already_run_follow_set_timezone(tmp_path: Path, run_noctra: RunNoctra, fmt: str) -> None:
    """RETURNING rows (kept as Arrow, written by a COPY on a cursor) show TIMESTAMPTZ in the
    session's time zone, as a SELECT of the same value does; RESET goes back to UTC."""
    script = (
        "SET TimeZone = 'Asia/Tokyo'; CREATE TEMP TABLE x (t TIMESTAMPTZ); "
        "INSERT INTO x VALUES ('2024-01-01 00:00:00+00') RETURNING t; SELECT t FROM x; "
        "RESET TimeZone; INSERT INTO x VALUES ('2024-01-01 00:00:00+00') RETURNING t"
    )
    run = run_noctra("query", "--format", fmt, script, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("2024-01-01 09:00:00+09") == 2, run.stdout
    assert run.stdout.count("2024-01-01 00:00:00+00") == 1, run.stdout
