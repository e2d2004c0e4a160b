"""Parameter values are bound by SQL (PREPARE/EXECUTE), exactly as DuckDB's Python client binds them.

DuckDB 1.5.5's Python client imports pandas and numpy (~0.4 s) the first time a process binds
a value, so ``noctra query ... --param`` and every ``:name`` from LET paid that. Values SQL
can give with the client's own types (text, NULL, bool, int, float, date, plain decimals: all
that ``--param`` and LET give) now go through ``PREPARE``/``EXECUTE``; these tests hold the
two roads to the same answers, types and errors.
"""

from __future__ import annotations

import datetime as dt
import decimal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import noctra.engine.duck  # noqa: F401 - duckdb imported as Noctra imports it
from noctra import Session
from noctra.engine.duck.engine import _execute
from noctra.errors import NoctraError

SETUP = (
    "CREATE TABLE t AS SELECT range::INT AS i, 'x' || range AS s, DATE '2024-01-01' + range::INT AS d "
    "FROM range(5)"
)

# (statement, values): each runs through DuckDB's Python binding and through Noctra's, on
# connections of their own; answers, and error types and messages, must be the same.
CASES: list[tuple[str, object]] = [
    ("SELECT $1 + 1", ["41"]),  # a text value stays text: DuckDB refuses to guess
    ("SELECT $1 + $1", ["1"]),
    ("SELECT i FROM t WHERE i = $1", ["3"]),
    ("SELECT s FROM t WHERE s = $1", ["x2"]),
    ("SELECT d FROM t WHERE d > $1 ORDER BY d", ["2024-01-03"]),
    ("SELECT typeof($1), $1", ["a"]),
    ("SELECT typeof($1), $1", [None]),
    ("SELECT $x || $y", {"x": "a", "y": "b"}),
    ("SELECT $x", {"X": "case"}),
    ('SELECT $select || $"odd name"', {"select": "a", "odd name": "b"}),
    ("SELECT CAST($x AS INTEGER) * 2", {"x": "21"}),
    ("SELECT $1::DATE + 1", ["2024-02-28"]),
    ("SELECT $1 = 1", ["1"]),
    ("SELECT [$1, 2]", ["1"]),
    ("SELECT $1 IS NULL, coalesce($1, 'z')", [None]),
    ("SELECT length($1), $1", ["it's \u00e9 \U0001f600\n'';--"]),
    ("SELECT $1 LIKE 'a%'", ["abc"]),
    ("SELECT i FROM t ORDER BY i LIMIT $1", ["2"]),
    ("SELECT $1 > 10", ["9"]),
    ("SELECT greatest($1, 'b')", ["a"]),
    ("SELECT $1::INT", ["a"]),
    ("SELECT $2", ["a"]),
    ("SELECT ? || ?", ["q", "r"]),
    ("SELECT $1", ["a\x00b"]),  # NUL: bound by the Python client
    ("SELECT $1, typeof($1)", [41]),
    ("SELECT $1 + 2147483647", [1]),  # INTEGER, as the client types 1: overflow
    ("SELECT $1 + 1, typeof($1)", [2**31]),
    ("SELECT $1, $2", ["a", 2]),
    ("SELECT $1 / 2, $1 * 1.5, [$1, 2.5]", [3]),
    ("SELECT typeof($1), $1 || 'a', NOT $1", [True]),
    ("SELECT typeof($1), $1 + 1, $1 > DATE '2024-01-01'", [dt.date(2024, 2, 29)]),
    ("SELECT typeof($1), $1 * 2, $1::VARCHAR", [decimal.Decimal("0.001")]),
    ("SELECT typeof($1), $1::VARCHAR", [decimal.Decimal("1E+3")]),  # the client's own (1.000)
    ("SELECT typeof($1), $1", [decimal.Decimal("NaN")]),
    ("SELECT typeof($1), $1, $1 + 1", [float("inf")]),
    ("SELECT typeof($1), $1", [-0.0]),
    ("SELECT typeof($1), $1::VARCHAR", [-float("nan")]),  # the property found it: -nan kept
    ("SELECT typeof($1)", [2**128]),  # too big for the client: its error
    ("SELECT typeof($1), $1", [b"\x00bytes"]),  # not said in SQL here: the client binds it
    ("SELECT typeof($1), $1", [dt.datetime(2024, 1, 1, 12)]),
    ("SELECT $1; SELECT 2", ["1"]),  # two statements: the Python client's error
    ("INSERT INTO t VALUES ($1, $2, $3) RETURNING *", ["9", "n", "2024-05-05"]),
    ("UPDATE t SET s = $1 WHERE i = 0 RETURNING s", ["changed"]),
    ("SELECT nosuch, $1", ["a"]),
    ("SELECT sum($1) FROM t GROUP BY nosuch", ["1"]),
    ("SELECT 1 +* $1", ["1"]),
    ("DESCRIBE (SELECT $1 AS a)", ["x"]),
    ("PIVOT t ON s USING count(*) WHERE i < $1", ["2"]),
]


def _run(execute: object, sql: str, params: object) -> object:
    connection = duckdb.connect()
    connection.execute(SETUP)
    try:
        cursor = execute(connection, sql, params)  # type: ignore[operator]
        return repr(cursor.fetchall()) if cursor.description else None  # repr: NaN equals NaN
    except duckdb.Error as exc:
        return type(exc).__name__, str(exc)
    finally:
        connection.close()


@pytest.mark.parametrize(("sql", "params"), CASES, ids=[f"{i}:{c[0][:30]}" for i, c in enumerate(CASES)])
def test_text_values_are_bound_as_duckdb_s_python_client_binds_them(sql: str, params: object) -> None:
    plain = _run(lambda c, s, p: c.execute(s, p), sql, params)
    assert _run(_execute, sql, params) == plain


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**129), max_value=2**129),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.integers(0, 12).flatmap(
        lambda places: st.decimals(allow_nan=False, allow_infinity=False, places=places)
    ),
    st.text(max_size=20),
)
EXPRESSIONS = ["typeof($1)", "$1::VARCHAR", "$1 = $1", "[$1]::VARCHAR", "$1 < 1"]


@settings(max_examples=300, deadline=None)
@given(value=VALUES)
def test_any_value_is_bound_with_the_client_s_type_and_value(value: object) -> None:
    for expression in EXPRESSIONS:
        sql = f"SELECT {expression}"
        plain = _run(lambda c, s, p: c.execute(s, p), sql, [value])
        assert _run(_execute, sql, [value]) == plain, (expression, value)


def test_a_copy_with_a_text_value_writes_the_same_file(tmp_path: Path) -> None:
    for name, execute in (("plain", lambda c, s, p: c.execute(s, p)), ("noctra", _execute)):
        target = tmp_path / f"{name}.csv"
        assert _run(execute, f"COPY (SELECT $1 AS a, i FROM t) TO '{target}'", ["v"]) == "[(5,)]"
    assert (tmp_path / "noctra.csv").read_text() == (tmp_path / "plain.csv").read_text()


def test_an_error_s_line_and_column_are_the_statement_s() -> None:
    """PREPARE puts the statement on its second line: the error still points into it."""
    session = Session()
    try:
        for text, where in (
            ("SELECT :x,\n       nosuch", "line 2, column 8"),
            ("SELECT :x, nosuch", "line 1, column 12"),
            ("SELECT :x," + "\n" * 9 + "  nosuch", "line 10, column 3"),
        ):
            with pytest.raises(NoctraError) as caught:
                session.sql(text, x="a").rows(1)
            assert where in str(caught.value), (text, str(caught.value))
    finally:
        session.close()


def test_a_failed_statement_in_a_transaction_keeps_its_error_and_the_session() -> None:
    session = Session()
    try:
        session.execute("CREATE TABLE k (i INT); BEGIN TRANSACTION; INSERT INTO k VALUES (1)")
        with pytest.raises(NoctraError, match="Could not choose a best candidate"):
            session.sql("SELECT :x + 1", x="41").rows(1)
        session.execute("ROLLBACK")
        assert session.sql("SELECT count(*) FROM k").rows(1) == [(0,)]
        assert session.sql("SELECT :x || '!'", x="ok").rows(1) == [("ok!",)]
    finally:
        session.close()


PROBE = """
import sys
from noctra import Session
session = Session()
print(session.sql("SELECT :x || '!' AS a, CAST(:n AS INT) + 1 AS b", x="hi", n="41").rows(1))
print("pandas" in sys.modules, "numpy" in sys.modules)
print(session.sql("SELECT $1 + 1 AS b, $2 AS c, $3 AS d", [41, 1.5, True]).rows(1))
print("pandas" in sys.modules)
print(session.sql("SELECT octet_length($1) AS b", [b"xy"]).rows(1))
print("pandas" in sys.modules)
"""


def test_text_parameters_do_not_import_pandas() -> None:
    pytest.importorskip("pandas")
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "[('hi!', 42)]" and lines[2] == "[(42, 1.5, True)]" and lines[4] == "[(2,)]"
    assert lines[1] == "False False" and lines[3] == "False"
    assert lines[5] == "True"  # bytes are bound by DuckDB's Python client, which imports it


def test_the_cli_s_param_gives_the_value(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "noctra",
            "query",
            "SELECT :who || '!' AS a, :n * 2 AS b, typeof(:n) AS t, :d + 1 AS d, :p AS p, 'pandas' AS x",
            "--param",
            "who=it's",
            "--param",
            "n=21",
            "--param",
            "d=2024-02-28",
            "--param",
            "p=1.50",
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "a,b,t,d,p,x\nit's!,42,INTEGER,2024-02-29,1.50,pandas\n"
