"""DuckDB syntax passes through RQL untouched: PIVOT, lambdas, colons, slices, casts, JSON paths.

Issue 11 item 18: a dynamic PIVOT was refused as "more than one statement", and the
``:x`` of ``lambda x:x + 1`` was taken for a parameter.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from noctra import NoctraError, Result, Session
from noctra.rql.interpolate import named_parameters
from tests.conftest import RunMain, RunNoctra

# Each of these lexed wrong before (the parameters found are the right ones now).
COLONS_FIXED = [
    ("lambda x:x + 1", []),
    ("list_reduce(l, lambda a, b:a + b)", []),
    ("list_transform(l, lambda x :x * 2)", []),
    ("{k:x}", []),
    ('{"k":x}', []),
    ("SELECT n:x FROM t", []),
    ("SELECT 1:x", []),
    ("[:a, :b]", ["a", "b"]),
    ("ARRAY[:a]", ["a"]),
    ("s[: :x]", ["x"]),
    ("l[1: :n]", ["n"]),
    ("{'k': [:v]}", ["v"]),
]

# Already right before; the new rule must keep them so.
COLONS_KEPT = [
    ("WHERE a = :x", ["x"]),
    ("a=:x", ["x"]),
    ("(:x)", ["x"]),
    ("f(1, :x)", ["x"]),
    ("SELECT :x", ["x"]),
    ("WHERE a AND:x", ["x"]),
    ("CASE WHEN :a THEN :b ELSE :c END", ["a", "b", "c"]),
    ("LIMIT :n OFFSET :m", ["n", "m"]),
    ("x BETWEEN :lo AND :hi", ["lo", "hi"]),
    ("x IN (:a, :b)", ["a", "b"]),
    ("{'k': :x}", ["x"]),
    ("{'k':x}", []),
    ("x -> x + :n", ["n"]),
    ("x::INTEGER", []),
    ("x::INTEGER[]", []),
    ("l[1:2]", []),
    ("l[:2]", []),
    ("l[1:n]", []),
    ("l[i:j]", []),
    ("s[:x]", []),
    ("(SELECT [1, 2])[:n]", []),
    ("j->>'$.a'", []),
    ("j->'a'->>'b'", []),
    ("j->>:path", ["path"]),
    ("':x' || \":x\" -- :x", []),
]


@pytest.mark.parametrize(("text", "names"), COLONS_FIXED)
def test_colon_after_a_value_is_duckdb_syntax(text: str, names: list[str]) -> None:
    assert named_parameters(text)[1] == names


@pytest.mark.parametrize(("text", "names"), COLONS_KEPT)
def test_colon_where_a_value_starts_is_a_parameter(text: str, names: list[str]) -> None:
    assert named_parameters(text)[1] == names


Rows = list[tuple[object, ...]]

CSV = "y,col,x\n1,a,2\n1,b,3\n2,a,5\n"
WIDE: Rows = [(1, 2, 3), (2, 5, None)]
LONG: Rows = [(1, "a", "x", 2), (1, "b", "x", 3), (2, "a", "x", 5)]

# (construct, statement over t(y, col, x) with LET n = 2, rows it gives)
CONSTRUCTS: list[tuple[str, str, Rows]] = [
    ("dynamic pivot", "PIVOT t ON col USING sum(x)::INTEGER GROUP BY y ORDER BY y", WIDE),
    ("pivot_wider", "PIVOT_WIDER t ON col USING sum(x)::INTEGER GROUP BY y ORDER BY y", WIDE),
    ("pivot with IN", "PIVOT t ON col IN ('a', 'b') USING sum(x)::INTEGER GROUP BY y ORDER BY y", WIDE),
    (
        "FROM t PIVOT",
        "FROM t PIVOT (sum(x)::INTEGER FOR col IN ('a', 'b') GROUP BY y) ORDER BY y",
        WIDE,
    ),
    (
        "dynamic pivot in a CTE",
        "WITH p AS (PIVOT t ON col USING sum(x)::INTEGER GROUP BY y) SELECT * FROM p ORDER BY y",
        WIDE,
    ),
    ("unpivot", "UNPIVOT t ON x INTO NAME k VALUE v ORDER BY y, col", LONG),
    ("pivot_longer", "PIVOT_LONGER t ON x INTO NAME k VALUE v ORDER BY y, col", LONG),
    ("lambda without a space", "SELECT list_transform([1, 2], lambda x:x + 1) AS l", [([2, 3],)]),
    ("lambda of two", "SELECT list_reduce([1, 2, 3], lambda a, b:a + b) AS s", [(6,)]),
    ("arrow lambda and a parameter", "SELECT list_transform([1, 2], x -> x + :n) AS l", [([3, 4],)]),
    ("list of parameters", "SELECT [:n, :n + 1] AS l", [([2, 3],)]),
    ("slice to a column", "SELECT l[:m] AS s FROM (SELECT [1, 2, 3] AS l, 2 AS m)", [([1, 2],)]),
    ("slice to a parameter", "SELECT [1, 2, 3][: :n] AS s, 'abcd'[2: :n] AS c", [([1, 2], "b")]),
    ("bare struct key", "SELECT {k:y} AS s FROM t WHERE y = :n", [({"k": 2},)]),
    ("prefix alias", "SELECT total:sum(x) FROM t WHERE y = :n", [(5,)]),
    ("cast and JSON path", "SELECT ('{\"a\": 7}'::JSON)->>'$.a' AS a, '5'::INTEGER + :n AS b", [("7", 7)]),
]


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.csv").write_text(CSV)
    s = Session()
    s.execute("USE 't.csv' AS t; LET n = 2")
    return s


@pytest.mark.parametrize(("sql", "rows"), [c[1:] for c in CONSTRUCTS], ids=[c[0] for c in CONSTRUCTS])
def test_construct_runs_in_a_session(session: Session, sql: str, rows: Rows) -> None:
    assert session.sql(sql).rows(10) == rows


@pytest.mark.parametrize(("sql", "rows"), [c[1:] for c in CONSTRUCTS], ids=[c[0] for c in CONSTRUCTS])
def test_construct_runs_on_the_command_line(run_main: RunMain, tmp_path: Path, sql: str, rows: Rows) -> None:
    (tmp_path / "t.csv").write_text(CSV)
    run = run_main("--fresh", "--format", "jsonl", "-c", f"USE 't.csv' AS t; LET n = 2; {sql}")
    assert (run.code, "Traceback" in run.err) == (0, False), run.err
    assert [tuple(json.loads(line).values()) for line in run.out.splitlines()] == rows, run.out


def test_dynamic_pivot_exports_and_counts_its_rows(session: Session, tmp_path: Path) -> None:
    message = session.export("PIVOT t ON col USING sum(x) GROUP BY y", "p.parquet")
    assert message.text.startswith("exported 2 rows"), message
    assert session.sql("SELECT * FROM 'p.parquet' ORDER BY y").rows(5) == [(1, 2, 3), (2, 5, None)]


def test_failed_dynamic_pivot_export_leaves_the_session_usable(session: Session, tmp_path: Path) -> None:
    with pytest.raises(NoctraError, match="nope"):
        session.execute("EXPORT (PIVOT t ON nope USING sum(x)) TO 'p.csv'")
    assert not (tmp_path / "p.csv").exists()
    assert session.sql("PIVOT t ON col USING sum(x)::INTEGER GROUP BY y ORDER BY y").rows(5) == WIDE


@pytest.fixture
def sqlite_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.chdir(tmp_path)
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute("CREATE TABLE m (y INTEGER, col TEXT, x INTEGER)")
        conn.executemany("INSERT INTO m VALUES (?, ?, ?)", [(1, "a", 2), (1, "b", 3), (2, "a", 5)])
    conn.close()
    s = Session()
    s.execute("USE 's.db' AS s")
    return s


@pytest.mark.parametrize(
    ("sql", "rows"),
    [
        ("PIVOT m ON col USING sum(x)::INTEGER GROUP BY y ORDER BY y", WIDE),
        ("PIVOT s.m ON col USING sum(x)::INTEGER GROUP BY y ORDER BY y", WIDE),
        ("FROM m PIVOT (sum(x)::INTEGER FOR col IN ('a', 'b') GROUP BY y) ORDER BY y", WIDE),
        ("UNPIVOT m ON x INTO NAME k VALUE v ORDER BY y, col", LONG),
        ("SELECT list_transform([y], lambda q:q + 1) AS l FROM m WHERE x = 5", [([3],)]),
        ("SELECT y::VARCHAR || '!' FROM m WHERE x = 5", [("2!",)]),
    ],
)
def test_duckdb_syntax_on_a_sqlite_source_runs_in_duckdb(
    sqlite_session: Session, sql: str, rows: Rows
) -> None:
    result = sqlite_session.sql(sql)
    assert isinstance(result, Result)
    assert (result.rows(10), result.engine) == (rows, "duckdb")


def test_every_construct_in_one_real_cli_run(run_noctra: RunNoctra, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(CSV)
    script = "USE 't.csv' AS t; LET n = 2;\n" + ";\n".join(sql for _, sql, _ in CONSTRUCTS)
    proc = run_noctra("--fresh", "--format", "jsonl", "-c", script, cwd=tmp_path)
    assert (proc.returncode, "Traceback" in proc.stderr) == (0, False), proc.stderr
    assert len(proc.stdout.splitlines()) == sum(len(rows) for _, _, rows in CONSTRUCTS), proc.stdout
