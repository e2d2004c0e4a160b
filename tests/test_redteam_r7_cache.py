"""Red team r7: the persistent cache of text files and the stored results (SPEC 4.5).

Each test runs Noctra as a user would (separate processes over one $XDG_CACHE_HOME, or
fresh Sessions) and asserts what a run with the cache turned off gives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from noctra import Session
from noctra.config import Config
from noctra.engine.cache import ORPHAN_SECONDS, cache_dir
from tests.conftest import RunNoctra

CONFIG = "[cache]\nmin_size = 0\nresult_min_ms = 0\n"


def configure(env: dict[str, str], text: str = CONFIG) -> None:
    folder = Path(env["XDG_CONFIG_HOME"]) / "noctra"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(text)


def stats(process: subprocess.CompletedProcess[str]) -> dict[str, object]:
    """The --stats line of a run."""
    line = next(x for x in process.stderr.splitlines() if x.startswith('{"statements"'))
    return dict(json.loads(line))


def config(*, copies: bool = True, results: bool = True) -> Config:
    made = Config()
    made.cache.min_size = 0 if copies else 1 << 50
    made.cache.result_min_ms = 0
    made.cache.results = results
    return made


def one_process(sql: str, conf: Config) -> tuple[list[dict[str, object]], int, int]:
    """A fresh Session: the rows, the stored results and the copies that served them."""
    with Session(config=conf, restore=False) as session:
        rows = session.sql(sql).arrow().to_pylist()
        return rows, session.result_hits, session.cache_hits


# --- stored results of queries that depend on the day ----------------------------------


def test_age_from_today_is_never_served_from_a_stored_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``age(ts)`` is ``age(current_date, ts)``: tomorrow it is a day more. A stored result
    would keep giving today's ages (the docs: anything reading the clock is refused)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "people.csv").write_text("name,born\nann,2001-02-03 00:00:00\nbob,1990-07-08 00:00:00\n")
    sql = "SELECT name, age(born) AS age FROM 'people.csv' ORDER BY name"
    hits = [one_process(sql, config(copies=False))[1] for _ in range(3)]
    assert hits == [0, 0, 0]


def test_a_file_read_by_json_serialize_plan_is_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """json_serialize_plan binds the query it is given: its plan names the columns of the file
    that query reads. That file is in a string, not followed: a stored result keeps the old plan."""
    import duckdb

    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.csv").write_text("k\n1\n2\n")
    with duckdb.connect() as con:
        con.execute("COPY (SELECT 1 AS a) TO 'y.parquet'")
    plan = "json_serialize_plan('SELECT * FROM ''y.parquet''')"
    sql = f"SELECT count(*) AS n, {plan} LIKE '%\"b\"%' AS has_b FROM 'x.csv'"
    for _ in range(3):
        one_process(sql, config(copies=False))
    with duckdb.connect() as con:
        con.execute("COPY (SELECT 1 AS a, 2 AS b) TO 'y.parquet'")
    rows, _, _ = one_process(sql, config(copies=False))
    fresh, _, _ = one_process(sql, config(copies=False, results=False))
    assert fresh == [{"n": 2, "has_b": True}]
    assert rows == fresh


# --- a file whose name is also a pattern ----------------------------------------------


def test_a_quoted_name_with_brackets_follows_the_file_duckdb_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``FROM 'x[1].csv'`` with both x[1].csv and x1.csv there: DuckDB reads x1.csv (what the
    pattern matches). The stored result followed x[1].csv only: an edit of x1.csv was served
    stale (fixed in cache.identify_local: both are followed)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x1.csv").write_text("v\n111\n")
    (tmp_path / "x[1].csv").write_text("v\n999\n")
    for sql in ("SELECT sum(v) AS s FROM 'x[1].csv'", "SELECT sum(v) AS s FROM read_csv('x[1].csv')"):
        (tmp_path / "x1.csv").write_text("v\n111\n")
        for _ in range(3):
            one_process(sql, config(copies=False))
        assert one_process(sql, config(copies=False))[1] == 1  # stored and served
        (tmp_path / "x1.csv").write_text("v\n222\n")
        fresh, _, _ = one_process(sql, config(copies=False, results=False))
        assert one_process(sql, config(copies=False))[0] == fresh


def test_a_copy_of_a_quoted_name_with_brackets_follows_the_file_duckdb_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The columnar copy of ``FROM 'x[1].csv'`` is a copy of x1.csv: an edit of x1.csv must
    not be answered from it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x1.csv").write_text("v\n" + "1\n" * 500)
    (tmp_path / "x[1].csv").write_text("v\n" + "9\n" * 500)
    sql = "SELECT sum(v) AS s, count(*) AS n FROM 'x[1].csv'"
    for _ in range(2):
        one_process(sql, config(results=False))
    rows, _, copies = one_process(sql, config(results=False))
    assert copies == 1 and rows == [{"s": 500, "n": 500}]
    (tmp_path / "x1.csv").write_text("v\n" + "2\n" * 500)
    fresh, _, _ = one_process(sql, Config())
    assert one_process(sql, config(results=False))[0] == fresh == [{"s": 1000, "n": 500}]


def test_a_source_named_with_brackets_still_follows_its_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """USE 'x[1].csv' reads that very file (its pattern escaped): its copy and stored results
    follow it, whatever x1.csv does."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x1.csv").write_text("v\n" + "1\n" * 300)
    data = tmp_path / "x[1].csv"
    data.write_text("v\n" + "9\n" * 300)

    def run(conf: Config) -> tuple[list[dict[str, object]], int, int]:
        with Session(config=conf, restore=False) as session:
            session.use(str(data), alias="t")
            rows = session.sql("SELECT sum(v) AS s FROM t").arrow().to_pylist()
            return rows, session.result_hits, session.cache_hits

    for _ in range(3):
        assert run(config())[0] == [{"s": 2700}]
    assert run(config())[1] == 1
    data.write_text("v\n" + "8\n" * 300)
    assert run(config())[0] == [{"s": 2400}]
    for _ in range(2):
        run(config(results=False))
    rows, _, copies = run(config(results=False))
    assert copies == 1 and rows == [{"s": 2400}]
    with open(data, "a") as handle:
        handle.write("100\n")
    assert run(config(results=False))[0] == [{"s": 2500}]


# --- globs through symlinked folders ---------------------------------------------------


def test_a_recursive_glob_beside_links_to_parent_folders_does_not_hang(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    """Two links to parent folders (``up -> ..``, ``up2 -> ../..``) under a '**' glob: DuckDB's
    '**' does not follow them (one file), but the cache's identity walked them like glob.glob:
    2^40 paths, a hang before every query (fixed in cache._glob_matches)."""
    configure(isolated_env)
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "sub" / "x.csv").write_text("k,v\n1,2\n")
    os.symlink("..", tmp_path / "d" / "sub" / "up")
    os.symlink("../..", tmp_path / "d" / "sub" / "up2")
    started = time.monotonic()
    for _ in range(3):
        done = run_noctra("query", "SELECT count(*) AS n FROM 'd/**/*.csv'", "--format", "csv", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["n", "1"]
    assert time.monotonic() - started < 45


def test_a_recursive_glob_follows_a_file_it_gains_but_not_files_behind_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'**' as DuckDB reads it: a file added deep down is seen; one behind a symlinked folder
    is not read, so a stored result over the glob stays right either way."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d" / "a").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "d" / "a" / "1.csv").write_text("v\n1\n")
    (tmp_path / "other" / "2.csv").write_text("v\n20\n")
    os.symlink(tmp_path / "other", tmp_path / "d" / "link")
    sql = "SELECT sum(v) AS s FROM 'd/**/*.csv'"
    for _ in range(3):
        rows, hits, _ = one_process(sql, config(copies=False))
    assert (rows, hits) == ([{"s": 1}], 1)
    (tmp_path / "d" / "a" / "b").mkdir()
    (tmp_path / "d" / "a" / "b" / "3.csv").write_text("v\n300\n")
    fresh, _, _ = one_process(sql, config(copies=False, results=False))
    assert fresh == [{"s": 301}]
    assert one_process(sql, config(copies=False))[0] == fresh


# --- the copies keep the file's row order ----------------------------------------------


def test_a_copy_built_without_insertion_order_keeps_the_files_order(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    """A run with ``SET preserve_insertion_order = false`` builds the copy of a glob of CSVs
    (its own rows may come in any order: it asked for that). Every later run, without that
    setting, then reads the rows of the files in the copy's scrambled order, where the text
    gives file order (LIMIT, row_number() OVER (), first(), EXPORT...)."""
    configure(isolated_env, "[cache]\nmin_size = 0\nresults = false\n")
    (tmp_path / "logs").mkdir()
    n = 0
    for k in range(8):
        lines = ["i"]
        for _ in range(20_000):
            lines.append(str(n))
            n += 1
        (tmp_path / "logs" / f"f{k}.csv").write_text("\n".join(lines) + "\n")
    moved = (
        "SELECT count(*) FILTER (WHERE i <> r) AS moved "
        "FROM (SELECT i, row_number() OVER () - 1 AS r FROM 'logs/*.csv')"
    )
    assert run_noctra("query", moved, "--format", "csv", cwd=tmp_path).stdout.split() == ["moved", "0"]
    built = run_noctra(
        "query", "SET preserve_insertion_order = false; SELECT count(*) FROM 'logs/*.csv'", cwd=tmp_path
    )
    assert built.returncode == 0, built.stderr
    served = run_noctra("query", moved, "--format", "csv", "--stats", cwd=tmp_path)
    assert stats(served)["cache_hits"] == 1  # the copy serves it
    assert served.stdout.split() == ["moved", "0"]


# --- damaged descriptions and leftovers -------------------------------------------------


def test_cache_show_survives_descriptions_with_impossible_times(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    """A .meta whose last use is NaN, infinity or 1e300 (a damaged file): `noctra cache show`
    died with a traceback (OverflowError / ValueError); the entry is dropped instead."""
    configure(isolated_env)
    (tmp_path / "x.csv").write_text("k,v\n" + "".join(f"{i % 5},{i}\n" for i in range(500)))
    sql = "SELECT k, sum(v) AS s FROM 'x.csv' GROUP BY k ORDER BY k"
    for _ in range(3):
        assert run_noctra("query", sql, "--format", "csv", cwd=tmp_path).returncode == 0
    cache = Path(isolated_env["XDG_CACHE_HOME"]) / "noctra"
    for meta, line, value in (
        (next(cache.glob("*.meta")), 6, "1e300"),
        (next((cache / "results").glob("*.meta")), 3, "nan"),
    ):
        lines = meta.read_text().split("\n")
        float(lines[line])  # the last use is there
        lines[line] = value
        meta.write_text("\n".join(lines))
    shown = run_noctra("cache", "show", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Traceback" not in shown.stderr
    again = run_noctra("query", sql, "--format", "csv", cwd=tmp_path)
    fresh = run_noctra("--no-cache", "query", sql, "--format", "csv", cwd=tmp_path)
    assert again.returncode == 0 and again.stdout == fresh.stdout


def test_a_temporary_file_left_by_a_killed_build_is_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process killed while writing a copy (kill -9, out of memory) leaves
    ``.<key>.<pid>.<random>.parquet.tmp``: nothing deleted it, max_size did not count it. The
    next build sweeps those of dead processes untouched for ORPHAN_SECONDS, no others."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.csv").write_text("k,v\n" + "".join(f"{i % 5},{i}\n" for i in range(500)))
    one_process("SELECT count(*) AS n FROM 'x.csv'", config(results=False))  # makes the folder
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = int(gone.stdout)
    folder = cache_dir()
    old = time.time() - ORPHAN_SECONDS - 60
    leftovers = {
        "dead_old": folder / f".{'a' * 64}.{dead}.0badc0de.parquet.tmp",
        "dead_old_result": folder / "results" / f".{'b' * 64}.{dead}.0badc0de.duckdb.tmp",
        "dead_new": folder / f".{'c' * 64}.{dead}.0badc0de.parquet.tmp",
        "alive_old": folder / f".{'d' * 64}.{os.getpid()}.0badc0de.parquet.tmp",
    }
    for name, path in leftovers.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"PAR1" * 1000)
        if name != "dead_new":
            os.utime(path, (old, old))
    # Another file is copied (its second read): the store is swept as it makes room.
    (tmp_path / "y.csv").write_text("k\n" + "1\n" * 300)
    for _ in range(2):
        one_process("SELECT count(*) AS n FROM 'y.csv'", config(results=False))
    # And a result is stored (results' store likewise).
    for _ in range(2):
        one_process("SELECT sum(v) AS s FROM 'x.csv'", config(copies=False))
    assert not leftovers["dead_old"].exists()
    assert not leftovers["dead_old_result"].exists()
    assert leftovers["dead_new"].exists()  # may still be being written
    assert leftovers["alive_old"].exists()  # its process runs
