"""Stored results that must not stand in for a fresh run (SPEC 4.5, issue 15): found by trying.

Each "process" is a fresh Session over the same $XDG_CACHE_HOME (the first run of a query
notes it, the second stores it, later ones are served), or a real `noctra` process. Every
test compares what a user gets with what the query gives over the files as they are now.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import duckdb

from noctra import Session
from tests.conftest import RunNoctra
from tests.engine.stored import config, fresh, run, served_three_times


def names(sql: str, *, results: bool = True) -> list[str]:
    with Session(config=config(results=results), restore=False) as session:
        return list(session.sql(sql).arrow().schema.names)


def test_piped_stdin_is_not_read_before_the_query(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    """``read_csv('/dev/stdin')`` fed by a pipe: looking at the "file" to identify it read
    its first 64 KB, so the query saw what was left (0 rows instead of 2, 7,227 of 20,000)."""
    isolated_env["NOCTRA_CACHE_RESULT_MIN_MS"] = "0"
    sql = "SELECT count(*) AS n, max(k) AS top FROM read_csv('/dev/stdin')"
    small = "k\n1\n2\n"
    big = "k\n" + "".join(f"{i}\n" for i in range(1, 20_001))
    for text, expected in ((small, "n,top\n2,2\n"), (big, "n,top\n20000,20000\n")):
        for _ in range(3):
            done = run_noctra("query", "--fresh", "--format", "csv", sql, cwd=tmp_path, input=text)
            assert done.returncode == 0, done.stderr
            assert done.stdout == expected
    assert not list((Path(isolated_env["XDG_CACHE_HOME"]) / "noctra" / "results").glob("*.duckdb"))


def test_a_with_name_does_not_hide_the_file_it_is_named_like(tmp_path: Path, results: Path) -> None:
    """A WITH query named like a file, in a subquery: the file read in the outer query was
    taken for the WITH query, so it was never followed and its old rows were served."""
    data = tmp_path / "p.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS n) TO '{data}'")
    sql = (
        "SELECT n FROM 'p.parquet' "
        """UNION ALL (WITH "p.parquet" AS (SELECT 100 AS n) SELECT n FROM "p.parquet") ORDER BY n"""
    )
    for _ in range(3):
        assert run(sql)[0] == [{"n": 1}, {"n": 100}]
    duckdb.sql(f"COPY (SELECT 2 AS n) TO '{data}'")
    assert run(sql)[0] == [{"n": 2}, {"n": 100}] == fresh(sql)


def test_a_with_name_in_an_in_subquery_does_not_hide_a_json_file(tmp_path: Path, results: Path) -> None:
    data = tmp_path / "j.json"
    data.write_text('{"n": 1}\n')
    sql = """SELECT n FROM 'j.json' WHERE n IN (WITH "j.json" AS (SELECT 1 AS n) FROM "j.json")"""
    for _ in range(3):
        assert run(sql)[0] == [{"n": 1}]
    data.write_text('{"n": 1}\n{"n": 1}\n')
    assert run(sql)[0] == [{"n": 1}, {"n": 1}] == fresh(sql)


def test_with_queries_in_scope_are_still_stored(tmp_path: Path, results: Path) -> None:
    """The scope check refuses only names used out of scope: WITH chains, recursive WITH
    and nested WITH over a file are still stored, and follow the file."""
    data = tmp_path / "d.csv"
    data.write_text("n\n1\n2\n")
    sql = (
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 3), "
        "s AS (SELECT * FROM r) "
        "SELECT (SELECT sum(n) FROM (WITH w AS (SELECT * FROM 'd.csv') SELECT * FROM w)) AS total, "
        "count(*) AS c FROM s"
    )
    assert served_three_times(sql) == [{"total": 3, "c": 3}]
    data.write_text("n\n1\n2\n3\n")
    assert run(sql) == ([{"total": 6, "c": 3}], 0)


def test_hidden_files_a_glob_reads_are_followed(tmp_path: Path, results: Path) -> None:
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "a.csv").write_text("n\n1\n")
    sql = "SELECT sum(n) AS s, count(*) AS c FROM 'g/*.csv'"
    served_three_times(sql)
    (tmp_path / "g" / ".b.csv").write_text("n\n100\n")  # DuckDB's * matches it
    assert run(sql)[0] == fresh(sql) == [{"s": 101, "c": 2}]


def test_a_hidden_file_added_to_a_directory_source_is_followed(tmp_path: Path, results: Path) -> None:
    (tmp_path / "dd").mkdir()
    (tmp_path / "dd" / "a.csv").write_text("n\n1\n")
    before = f"USE '{tmp_path / 'dd'}' AS dd"
    sql = "SELECT sum(n) AS s, count(*) AS c FROM dd"
    served_three_times(sql, before=before)
    (tmp_path / "dd" / ".b.csv").write_text("n\n100\n")
    assert run(sql, before=before)[0] == fresh(sql, before=before) == [{"s": 101, "c": 2}]


def test_duplicate_column_names_are_kept(tmp_path: Path, results: Path) -> None:
    (tmp_path / "d.csv").write_text("n\n1\n")
    sql = "SELECT n AS a, n * 2 AS a, n AS A FROM 'd.csv'"
    expected = names(sql, results=False)
    assert expected == ["a", "a_1", "A_2"]  # as the CLI and EXPORT name them (DuckDB's suffixes)
    assert [names(sql) for _ in range(3)] == [expected] * 3


def test_export_of_a_served_ordered_query_keeps_its_order(tmp_path: Path, results: Path) -> None:
    values = list(range(300_000))
    random.Random(7).shuffle(values)
    (tmp_path / "big.csv").write_text("n\n" + "".join(f"{v}\n" for v in values))
    conf = config(max_rows=1_000_000)
    sql = "SELECT n FROM 'big.csv' ORDER BY n"
    for _ in range(3):
        run(sql, conf=conf)
    with Session(config=conf, restore=False) as session:
        session.execute(f"EXPORT ({sql}) TO '{tmp_path / 'out.csv'}'")
        assert session.result_hits == 1
    lines = (tmp_path / "out.csv").read_text().split()
    assert [int(v) for v in lines[1:]] == sorted(values)


def test_an_ordered_result_keeps_its_order_without_preserve_insertion_order(
    tmp_path: Path, results: Path
) -> None:
    values = list(range(300_000))
    random.Random(8).shuffle(values)
    (tmp_path / "big.csv").write_text("n\n" + "".join(f"{v}\n" for v in values))
    conf = config(max_rows=1_000_000)
    before = "SET preserve_insertion_order = false; SET threads = 4"
    sql = "SELECT n FROM 'big.csv' ORDER BY n"
    for _ in range(4):
        rows, _ = run(sql, before=before, conf=conf)
        assert [r["n"] for r in rows] == sorted(values)


def test_a_same_size_change_in_the_middle_with_the_mtime_put_back(tmp_path: Path, results: Path) -> None:
    data = tmp_path / "d.csv"
    lines = ["n"] + [str(1_000_000 + i) for i in range(100_000)]
    data.write_text("\n".join(lines) + "\n")
    stat = os.stat(data)
    sql = "SELECT max(n) AS top FROM 'd.csv'"
    served_three_times(sql)
    lines[50_000] = "1999999"
    data.write_text("\n".join(lines) + "\n")
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert run(sql)[0] == fresh(sql) == [{"top": 1_999_999}]
