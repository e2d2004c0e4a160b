"""Stored results of repeated deterministic queries over files (SPEC 4.5, issue 15).

Each "process" is a fresh Session over the same $XDG_CACHE_HOME: the first run of a
query notes its size and time, the second stores its result, later ones are served from
it, and only while every file it reads is what it was.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from noctra import Session
from noctra.config import Config
from noctra.engine.cache import cache_dir
from tests.conftest import HttpServer, RunNoctra


def config(*, copies: bool = False, max_rows: int = 100_000, min_ms: int = 0, results: bool = True) -> Config:
    made = Config()
    made.cache.min_size = 0 if copies else 1 << 50  # the columnar copies only when asked
    made.cache.result_max_rows = max_rows
    made.cache.result_min_ms = min_ms
    made.cache.results = results
    return made


def write_csv(path: Path, rows: int, value: int = 1) -> None:
    path.write_text("k,v\n" + "".join(f"{i % 7},{value}\n" for i in range(rows)))


def run(
    sql: str,
    uses: dict[str, Path] | None = None,
    *,
    conf: Config | None = None,
    before: str = "",
) -> tuple[list[dict[str, object]], int]:
    """One 'process': register sources, run ``before``, read the query whole (Arrow)."""
    with Session(config=conf or config(), restore=False) as session:
        for alias, path in (uses or {}).items():
            session.use(str(path), alias=alias)
        if before:
            session.execute(before)
        result = session.sql(sql)
        table = result.arrow()
        assert result.stored == (session.result_hits == 1)  # what the REPL and TUI footers show
        return table.to_pylist(), session.result_hits


def stored(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.duckdb"))


AGG = "SELECT k, sum(v) AS s, count(*) AS n FROM t GROUP BY k ORDER BY k"


def test_first_run_notes_second_stores_third_is_served(tmp_path: Path, results: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 700)
    expected = [{"k": k, "s": 100, "n": 100} for k in range(7)]
    assert run(AGG, {"t": data}) == (expected, 0)
    assert stored(results) == []  # the first run leaves a note only
    assert run(AGG, {"t": data}) == (expected, 0)
    assert len(stored(results)) == 1
    assert run(AGG, {"t": data}) == (expected, 1)
    assert run(AGG, {"t": data}) == (expected, 1)


def test_a_served_result_is_not_computed_again(tmp_path: Path, results: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    run(AGG, {"t": data})
    run(AGG, {"t": data})
    [path] = stored(results)
    # The stored rows made different from the file's: only a served result gives them.
    with duckdb.connect(str(path)) as connection:
        connection.execute("UPDATE result SET s = -1")
    rows, hits = run(AGG, {"t": data})
    assert hits == 1 and {r["s"] for r in rows} == {-1}


def test_types_and_order_are_kept_exactly(tmp_path: Path, results: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text(
        "k,v,ts\n" + "".join(f"{i},{i * 3},2024-01-0{1 + i % 9} 10:00:0{i % 10}\n" for i in range(5000))
    )
    sql = (
        "SELECT k, sum(v) AS total, avg(v)::DECIMAL(18, 3) AS mean, list(k ORDER BY k)[1:2] AS first_two, "
        "{'a': k, 'b': 'x'} AS s, max(ts) AS latest, k::HUGEINT * 10 AS big FROM t GROUP BY k ORDER BY k DESC"
    )
    with Session(config=config(), restore=False) as session:
        session.use(str(data), alias="t")
        computed = session.sql(sql).arrow()
    run(sql, {"t": data})
    run(sql, {"t": data})
    with Session(config=config(), restore=False) as session:
        session.use(str(data), alias="t")
        served = session.sql(sql).arrow()
        assert session.result_hits == 1
    assert served.schema == computed.schema  # HUGEINT sums stay HUGEINT, structs stay structs
    assert served.equals(computed)  # the same rows in the same (ORDER BY) order


def rewrite_same_size_new_mtime(path: Path) -> None:
    text = path.read_text()
    path.write_text(text.replace(",1\n", ",2\n", 1))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def rewrite_same_size_same_mtime(path: Path) -> None:
    stat = path.stat()
    text = path.read_text()
    path.write_text(text.replace(",1\n", ",2\n", 1))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def append_rows(path: Path) -> None:
    with path.open("a") as handle:
        handle.write("0,1\n")


CHANGES = {
    "size": append_rows,
    "same-size-new-mtime": rewrite_same_size_new_mtime,
    "same-size-same-mtime": rewrite_same_size_same_mtime,
}


def _parquet(path: Path, csv: Path) -> None:
    duckdb.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{path}' (FORMAT parquet)")


# How a query reaches its file: a registered source, the path quoted in FROM, a reader
# called by name, a glob, a directory source. Each: (file name, uses, sql).
ROADS = {
    "alias-csv": ("d.csv", {"t": "d.csv"}, "SELECT sum(v) AS s, count(*) AS n FROM t"),
    "quoted-csv": ("d.csv", {}, "SELECT sum(v) AS s, count(*) AS n FROM 'd.csv'"),
    "read-csv": ("d.csv", {}, "SELECT sum(v) AS s, count(*) AS n FROM read_csv('d.csv')"),
    "alias-json": ("d.json", {"t": "d.json"}, "SELECT sum(v) AS s, count(*) AS n FROM t"),
    "quoted-json": ("d.json", {}, "SELECT sum(v) AS s, count(*) AS n FROM 'd.json'"),
    "quoted-parquet": ("d.parquet", {}, "SELECT sum(v) AS s, count(*) AS n FROM 'd.parquet'"),
    "glob": ("g/d.csv", {}, "SELECT sum(v) AS s, count(*) AS n FROM 'g/*.csv'"),
    "directory": ("g/d.csv", {"t": "g"}, "SELECT sum(v) AS s, count(*) AS n FROM t"),
    "cte-and-subquery": (
        "d.csv",
        {"t": "d.csv"},
        "WITH x AS (SELECT v FROM t WHERE k IN (SELECT k FROM t)) SELECT sum(v) AS s, count(*) AS n FROM x",
    ),
}


def make_file(path: Path, rows: int, value: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text("".join(f'{{"k": {i % 7}, "v": {value}}}\n' for i in range(rows)))
    elif path.suffix == ".parquet":
        csv = path.with_suffix(".src.csv")
        write_csv(csv, rows, value)
        _parquet(path, csv)
    else:
        write_csv(path, rows, value)


def change(path: Path, how: str) -> int:
    """Change a file's content; the sum of v it now gives (the rows are 'k,1' lines)."""
    if path.suffix == ".json":
        text = path.read_text()
        stat = path.stat()
        if how == "size":
            path.write_text(text + '{"k": 0, "v": 1}\n')
        else:
            path.write_text(text.replace('"v": 1}', '"v": 2}', 1))
            mtime = stat.st_mtime_ns if how == "same-size-same-mtime" else stat.st_mtime_ns + 10**9
            os.utime(path, ns=(stat.st_atime_ns, mtime))
        return 71
    if path.suffix == ".parquet":
        # Written again with one more row: Parquet files cannot be edited in place.
        csv = path.with_suffix(".src.csv")
        append_rows(csv)
        _parquet(path, csv)
        return 71
    CHANGES[how](path)
    return 71


# Every road with every change; a Parquet file is rewritten whole (one change case covers it).
ROAD_CHANGES = [
    (road, how)
    for road in ROADS
    for how in CHANGES
    if how == "size" or not ROADS[road][0].endswith(".parquet")
]


@pytest.mark.parametrize(("road", "how"), ROAD_CHANGES)
def test_every_road_is_served_and_never_stale(tmp_path: Path, results: Path, road: str, how: str) -> None:
    name, uses, sql = ROADS[road]
    data = tmp_path / name
    make_file(data, 70)
    sources = {alias: tmp_path / target for alias, target in uses.items()}
    assert run(sql, sources) == ([{"s": 70, "n": 70}], 0)
    run(sql, sources)
    assert run(sql, sources) == ([{"s": 70, "n": 70}], 1)
    expected = change(data, how)
    rows, hits = run(sql, sources)
    assert hits == 0 and rows[0]["s"] == expected


def test_a_file_added_to_a_glob_is_never_served_stale(tmp_path: Path, results: Path) -> None:
    make_file(tmp_path / "g" / "a.csv", 7)
    sql = "SELECT count(*) AS n FROM 'g/*.csv'"
    run(sql)
    run(sql)
    assert run(sql) == ([{"n": 7}], 1)
    make_file(tmp_path / "g" / "b.csv", 7)
    assert run(sql) == ([{"n": 14}], 0)
    (tmp_path / "g" / "a.csv").unlink()
    assert run(sql) == ([{"n": 7}], 0)


def test_a_copy_standing_in_for_the_file_does_not_hide_a_change(tmp_path: Path, results: Path) -> None:
    """With the columnar copies on, the result follows the text file, not its copy."""
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    sql = "SELECT sum(v) AS s FROM 'd.csv'"
    for _ in range(3):
        rows, hits = run(sql, conf=config(copies=True))
    assert (rows, hits) == ([{"s": 70}], 1)
    rewrite_same_size_same_mtime(data)
    assert run(sql, conf=config(copies=True)) == ([{"s": 71}], 0)


def test_a_served_result_counts_no_copy_read(tmp_path: Path, results: Path) -> None:
    """--stats: cache_hits counts reads a copy served; a stored result reads no copy."""
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    sql = "SELECT sum(v) AS s FROM 'd.csv'"
    counts = []
    copy_metas = []
    for _ in range(4):
        with Session(config=config(copies=True), restore=False) as session:
            assert session.sql(sql).arrow().to_pylist() == [{"s": 70}]
            counts.append((session.hybrid.cache_hits, session.result_hits))
        copy_metas.append(sorted(m.read_bytes() for m in cache_dir().glob("*.meta")))
    # noted; stored (the copy written); served, no copy read; served
    assert counts == [(0, 0), (0, 0), (0, 1), (0, 1)]
    # The copy's own bookkeeping (hits, last use: its LRU place) is not touched either.
    assert len(copy_metas[1]) == 1
    assert copy_metas[1] == copy_metas[2] == copy_metas[3]
    with Session(config=config(copies=True, results=False), restore=False) as session:
        assert session.sql(sql).arrow().to_pylist() == [{"s": 70}]
        assert session.hybrid.cache_hits == 1  # without stored results, the copy serves


@pytest.mark.parametrize(
    "sql", ["SELECT DATE '2024-01-01' AS d", "SELECT count(*) AS n FROM range(1000) WHERE 'a' < 'b'"]
)
def test_a_query_that_reads_no_file_is_not_stored(tmp_path: Path, results: Path, sql: str) -> None:
    """Stored results follow files (SPEC 4.5): a query over none has nothing to follow."""
    hits = [run(sql)[1] for _ in range(3)]
    assert hits == [0, 0, 0]
    assert not list(results.glob("*.duckdb"))


def test_a_quoted_file_is_checked_once_per_statement(
    tmp_path: Path, results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No stored result answers: the statement is rewritten again to read the file's copy,
    without opening the file again to check it."""
    from noctra import lifecycle

    checked: list[str] = []
    real = lifecycle.refuse_lying_extension
    monkeypatch.setattr(
        lifecycle, "refuse_lying_extension", lambda path, *rest: checked.append(path) or real(path, *rest)
    )
    write_csv(tmp_path / "d.csv", 70)
    for expected_hits in (0, 0, 1):  # noted; stored (its copy made); served
        checked.clear()
        assert run("SELECT sum(v) AS s FROM 'd.csv'", conf=config(copies=True)) == (
            [{"s": 70}],
            expected_hits,
        )
        assert checked == ["d.csv"]  # once, not once per rewrite


# Queries whose rows may differ between runs over the same files: never stored.
NEVER_STORED = [
    "SELECT sum(v) + random() * 0 AS s, now() IS NOT NULL AS x FROM t",
    "SELECT sum(v) AS s, max(current_date) AS d FROM t",
    "SELECT sum(v) AS s, current_timestamp AS ts FROM t",
    "SELECT count(*) AS n, uuid() AS u FROM t",
    "SELECT sum(v) AS s FROM t USING SAMPLE 50%",
    "SELECT sum(v) AS s, current_localtimestamp() AS ts FROM t",
    "SELECT sum(v) AS s, today() AS d FROM t",
    "SELECT sum(v) AS s, nextval('seq') AS n FROM t",
    "SELECT count(*) AS n FROM t, glob('*.csv')",
    "SELECT count(*) AS n FROM t, range(3)",
    "SELECT count(*) AS n FROM t, duckdb_tables()",
    "SELECT sum(v) AS s, current_setting('threads') AS th FROM t, read_text('d.csv')",
]


@pytest.mark.parametrize("sql", NEVER_STORED)
def test_queries_that_may_change_between_runs_are_never_stored(
    tmp_path: Path, results: Path, sql: str
) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    before = "CREATE SEQUENCE seq;" if "nextval" in sql else ""
    for _ in range(3):
        _, hits = run(sql, {"t": data}, before=before)
        assert hits == 0
    assert stored(results) == []


def test_a_result_depends_on_the_session_settings(tmp_path: Path, results: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("ts\n2024-01-01 12:00:00+00\n")
    sql = "SELECT max(ts)::VARCHAR AS shown FROM t"
    for _ in range(3):
        utc, hits = run(sql, {"t": data}, before="SET TimeZone = 'UTC'")
    assert hits == 1  # a setting given with SET is part of the key, not a reason to store nothing
    tokyo, hits = run(sql, {"t": data}, before="SET TimeZone = 'Asia/Tokyo'")
    assert hits == 0 and utc != tokyo and "21:00:00" in str(tokyo[0]["shown"])


def test_variables_are_part_of_the_query(tmp_path: Path, results: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    sql = "SELECT count(*) AS n FROM t WHERE k < #limit"
    for _ in range(3):
        assert run(sql, {"t": data}, before="LET limit = 1")[0] == [{"n": 10}]
    assert run(sql, {"t": data}, before="LET limit = 2") == ([{"n": 20}], 0)


def test_nothing_is_stored_once_a_statement_changed_the_engine(tmp_path: Path, results: Path) -> None:
    """A view or macro made in the session could shadow a name: stored results stop there."""
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    for _ in range(3):
        _, hits = run("SELECT count(*) AS n FROM t", {"t": data}, before="CREATE TEMP TABLE x AS SELECT 1")
        assert hits == 0
    assert stored(results) == []


def test_a_with_name_that_is_also_a_source_is_never_stored(tmp_path: Path, results: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    sql = "SELECT (SELECT count(*) FROM t) AS n FROM (WITH t AS (SELECT 1 AS one) SELECT * FROM t)"
    for _ in range(3):
        assert run(sql, {"t": data}) == ([{"n": 70}], 0)


def test_databases_and_remote_files_are_never_stored(
    tmp_path: Path, results: Path, http_server: HttpServer
) -> None:
    db = tmp_path / "d.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE u (k INTEGER)")
        connection.executemany("INSERT INTO u VALUES (?)", [(i,) for i in range(7)])
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    (http_server.root / "stored-r.csv").write_bytes(data.read_bytes())
    served = http_server.url("stored-r.csv")
    for _ in range(3):
        assert run("SELECT count(*) AS n FROM t JOIN db.u USING (k)", {"t": data, "db": db})[1] == 0
        assert run(f"SELECT count(*) AS n FROM '{served}'")[1] == 0
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM u WHERE k > 0")
    assert run("SELECT count(*) AS n FROM t JOIN db.u USING (k)", {"t": data, "db": db})[0] == [{"n": 10}]
    assert stored(results) == []


def test_a_workspace_session_stores_nothing(tmp_path: Path, results: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    for _ in range(3):
        with Session(db=str(tmp_path / "w.duckdb"), config=config(), restore=False) as session:
            session.use(str(data), alias="t")
            session.sql("SELECT count(*) FROM t").arrow()
            assert session.result_hits == 0
    assert stored(results) == []


def test_big_or_quick_results_are_not_stored(tmp_path: Path, results: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    for _ in range(3):
        run("SELECT * FROM t", {"t": data}, conf=config(max_rows=69))  # 70 rows: too many
        run(AGG, {"t": data}, conf=config(min_ms=60_000))  # took far less than a minute
    assert stored(results) == []


@pytest.mark.parametrize("off", ["results", "persistent"])
def test_switched_off_nothing_is_stored(tmp_path: Path, results: Path, off: str) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    conf = config()
    setattr(conf.cache, off, False)
    for _ in range(3):
        assert run(AGG, {"t": data}, conf=conf)[1] == 0
    assert not results.exists() or stored(results) == []


def test_a_corrupt_stored_result_is_dropped_and_the_query_runs(tmp_path: Path, results: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    expected, _ = run(AGG, {"t": data})
    run(AGG, {"t": data})
    [path] = stored(results)
    path.write_bytes(b"not a database" * 100)
    assert run(AGG, {"t": data}) == (expected, 0)
    assert stored(results) == []  # that run noted the query again
    assert run(AGG, {"t": data}) == (expected, 0)  # stored again
    assert run(AGG, {"t": data}) == (expected, 1)


def test_the_size_bound_keeps_the_most_recent_results(tmp_path: Path, results: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    queries = [f"SELECT count(*) + {i} AS n FROM t" for i in range(4)]
    conf = config()
    run(queries[0], {"t": data}, conf=conf)
    run(queries[0], {"t": data}, conf=conf)
    [first] = stored(results)
    # Results get a tenth of max_size: room for two and a half of these.
    conf.cache.max_size = 10 * (first.stat().st_size * 5 // 2)
    for sql in queries[1:]:
        run(sql, {"t": data}, conf=conf)
        run(sql, {"t": data}, conf=conf)
    assert len(stored(results)) == 2
    assert run(queries[-1], {"t": data}, conf=conf)[1] == 1  # the newest are kept
    assert run(queries[-2], {"t": data}, conf=conf)[1] == 1
    assert run(queries[0], {"t": data}, conf=conf)[1] == 0  # the oldest went first


def test_two_processes_storing_one_result_both_answer_right(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 7000)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "NOCTRA_CACHE_RESULT_MIN_MS": "0"}
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    command = [sys.executable, "-m", "noctra", "--fresh", "query", f"{AGG}".replace("FROM t", "FROM 'd.csv'")]
    command += ["--format", "csv"]
    first = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    racing = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True) for _ in range(3)
    ]
    outputs = [p.communicate()[0] for p in racing]
    assert all(p.returncode == 0 for p in racing)
    assert outputs == [first.stdout] * 3
    assert len(list((tmp_path / "cache" / "noctra" / "results").glob("*.duckdb"))) == 1
    assert not list((tmp_path / "cache" / "noctra" / "results").glob("*.tmp*"))
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert again.stdout == first.stdout


FORMATS = ["csv", "tsv", "json", "jsonl", "table", "markdown"]


def test_every_output_format_and_road_gives_the_same_answer_served(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 700)
    isolated_env["NOCTRA_CACHE_RESULT_MIN_MS"] = "0"
    sql = "SELECT k, sum(v) AS s FROM 'd.csv' GROUP BY k ORDER BY k"

    def outputs() -> dict[str, str]:
        found = {}
        for fmt in FORMATS:
            done = run_noctra("--fresh", "query", sql, "--format", fmt, cwd=tmp_path)
            found[fmt] = done.stdout
        return found

    isolated_env["NOCTRA_CACHE_RESULTS"] = "false"
    computed = outputs()  # every format computed, nothing noted
    del isolated_env["NOCTRA_CACHE_RESULTS"]
    for _ in range(2):  # notes the query, then stores it
        footer = run_noctra("--fresh", "query", sql, cwd=tmp_path).stderr.strip().splitlines()[-1]
        assert footer.startswith("7 rows · ") and "stored result" not in footer
    served = run_noctra("--fresh", "query", sql, "--stats", "--format", "csv", cwd=tmp_path)
    assert json.loads(served.stderr.strip().splitlines()[-1])["result_hits"] == 1
    assert outputs() == computed
    footer = run_noctra("--fresh", "query", sql, cwd=tmp_path).stderr.strip().splitlines()[-1]
    assert footer.startswith("7 rows · ") and footer.endswith(" · stored result")  # as REPL and TUI
    # EXPORT, LET and DESCRIBE read the stored result too, with the same values and types.
    script = (
        f"EXPORT ({sql}) TO 'out.parquet';\n"
        f"LET n = (SELECT sum(s) FROM ({sql}));\n"
        "SELECT #n AS n;\n"
        f"DESCRIBE ({sql});\n"
    )
    (tmp_path / "s.rql").write_text(script)
    done = run_noctra("--fresh", "batch", "s.rql", "--format", "csv", cwd=tmp_path)
    assert "\n700\n" in done.stdout and "HUGEINT" in done.stdout
    assert duckdb.sql(f"SELECT * FROM '{tmp_path / 'out.parquet'}'").fetchall() == [
        (k, 100) for k in range(7)
    ]


def test_cache_show_lists_results_and_clear_deletes_them(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    isolated_env["NOCTRA_CACHE_RESULT_MIN_MS"] = "0"
    for _ in range(2):
        run_noctra("--fresh", "query", "SELECT count(*) FROM 'd.csv'", cwd=tmp_path)
    shown = run_noctra("cache", "show", cwd=tmp_path).stdout
    assert "result" in shown and "SELECT count(*) FROM 'd.csv'" in shown  # as the user wrote it
    cleared = run_noctra("cache", "clear", cwd=tmp_path)
    assert "and 1 stored result from" in cleared.stderr
    assert "SELECT count(*)" not in run_noctra("cache", "show", cwd=tmp_path).stdout
    nocache = run_noctra(
        "--fresh", "--no-cache", "query", "SELECT count(*) FROM 'd.csv'", "--stats", cwd=tmp_path
    )
    assert json.loads(nocache.stderr.strip().splitlines()[-1])["result_hits"] == 0


def test_a_result_is_stored_only_over_the_files_its_first_run_measured(tmp_path: Path, results: Path) -> None:
    """A note says 'few rows, slow enough' for one state of the files: after a change, the
    next run measures again instead of storing a result nobody sized."""
    data = tmp_path / "d.csv"
    write_csv(data, 10)
    sql = "SELECT * FROM t"
    conf = config(max_rows=50)
    assert run(sql, {"t": data}, conf=conf)[1] == 0  # 10 rows: noted
    write_csv(data, 100)  # now 100 rows, more than result_max_rows
    for _ in range(3):
        rows, hits = run(sql, {"t": data}, conf=conf)
        assert (len(rows), hits) == (100, 0)
    assert stored(results) == []


def test_a_long_session_never_serves_rows_it_read_before_another_process_stored_anew(
    tmp_path: Path, results: Path
) -> None:
    """A REPL keeps a served result in memory; once the file changed and another process
    stored the query again, the REPL serves the new rows, not the ones it read before."""
    data = tmp_path / "d.csv"
    write_csv(data, 70)
    sql = "SELECT sum(v) AS s FROM t"
    with Session(config=config(), restore=False) as repl:
        repl.use(str(data), alias="t")
        for _ in range(3):
            assert repl.sql(sql).arrow().to_pylist() == [{"s": 70}]
        assert repl.result_hits == 1
        write_csv(data, 70, value=2)  # same size: only the fingerprint tells
        assert run(sql, {"t": data}) == ([{"s": 140}], 0)  # another process: notes
        assert run(sql, {"t": data}) == ([{"s": 140}], 0)  # stores anew
        assert repl.sql(sql).arrow().to_pylist() == [{"s": 140}]
        assert repl.result_hits == 2
