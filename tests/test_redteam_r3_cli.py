"""Red team, round 3: the one-shot command, batch scripts, output formats and EXPORT.

Each test is a bug found with real files and real processes; a test marked xfail(strict=True)
is a bug not fixed yet (the mark comes off with the fix).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunNoctra


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("noctra: error: ")]


# --- severe: wrong answers, tracebacks ---------------------------------------------------


def test_use_glob_whose_files_order_columns_differently_gives_right_sums(
    tmp_path: Path, run_noctra: RunNoctra
) -> None:
    (tmp_path / "jan.csv").write_text("id,amount\n1,100\n", encoding="utf-8")
    (tmp_path / "feb.csv").write_text("amount,id\n200,2\n", encoding="utf-8")
    direct = run_noctra("query", "--format", "csv", "SELECT sum(amount) AS s FROM '*.csv'", cwd=tmp_path)
    assert direct.stdout == "s\n300\n", direct.stderr
    used = run_noctra(
        "query", "--format", "csv", "USE '*.csv' AS m; SELECT sum(amount) AS s FROM m", cwd=tmp_path
    )
    assert "Traceback" not in used.stderr
    # Either the right answer or a clear error, as a direct FROM '*.csv' of mismatched files gives;
    # never 201 (feb's amount read as its id).
    if used.returncode == 0:
        assert used.stdout == "s\n300\n", used.stderr
    else:
        assert len(_error_lines(used.stderr)) == 1, used.stderr


def test_use_glob_of_files_with_different_columns_is_refused_like_from(
    tmp_path: Path, run_noctra: RunNoctra
) -> None:
    (tmp_path / "p1.csv").write_text("a,b\n1,x\n", encoding="utf-8")
    (tmp_path / "p2.csv").write_text("a,c\n2,3.5\n", encoding="utf-8")
    direct = run_noctra("query", "SELECT * FROM 'p*.csv'", cwd=tmp_path)
    assert direct.returncode == 1 and "do not have the same columns" in direct.stderr
    used = run_noctra("query", "--format", "csv", "USE 'p*.csv' AS pp; SELECT * FROM pp", cwd=tmp_path)
    # p2's column c (3.5) must not show up under p1's column b
    assert "2,3.5" not in used.stdout, used.stdout
    assert used.returncode == 1, used.stdout


def test_let_text_with_nul_keeps_the_value_across_processes(tmp_path: Path, run_noctra: RunNoctra) -> None:
    """A NUL in text is kept (chr(0) in DuckDB, char(0) in SQLite), never a traceback."""
    run = run_noctra("query", "LET z = 'a' || chr(0) || 'b'", cwd=tmp_path)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    again = run_noctra(
        "query", "--format", "csv", "SELECT length(#z) AS n, #z = 'a' || chr(0) || 'b' AS same", cwd=tmp_path
    )
    assert again.stdout == "n,same\n3,true\n", again.stderr


@pytest.mark.parametrize(
    "value", ["chr(0)", "'x' || chr(0)", "chr(0) || chr(0) || 'y'", "(SELECT 'q' || chr(0))"]
)
def test_python_api_let_nul_keeps_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    import sqlite3

    import noctra

    sqlite3.connect(tmp_path / "s.db").execute("CREATE TABLE t(x)").connection.commit()
    monkeypatch.chdir(tmp_path)
    with noctra.Session() as session:
        expected = session.sql(f"SELECT {value} AS v").rows(1)[0][0]
        list(session.execute(f"LET z = {value}"))
        assert session.sql("SELECT #z AS v").rows(1) == [(expected,)]
        list(session.execute("USE 's.db' AS s"))  # SQLite runs it natively: char(0) there
        # (SQLite's length() of text stops at a NUL: its bytes are counted instead)
        sql = "SELECT length(CAST(#z AS BLOB)) AS n FROM t UNION ALL SELECT length(CAST(#z AS BLOB))"
        result = session.sql(sql)
        assert (result.engine, result.rows(2)) == ("sqlite", [(len(expected.encode()),)])


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_table_and_markdown_show_infinite_dates_as_infinity(
    fmt: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    sql = "SELECT date 'infinity' AS d, date '-infinity' AS e, timestamp 'infinity' AS t"
    csv = run_noctra("query", "--format", "csv", sql, cwd=tmp_path)
    assert csv.stdout == "d,e,t\ninfinity,-infinity,infinity\n"
    shown = run_noctra("query", "--format", fmt, sql, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "9999-12-31" not in shown.stdout and "0001-01-01" not in shown.stdout, shown.stdout
    assert "-infinity" in shown.stdout


# --- nothing lost: a failed statement changes no source, EXPORT keeps the user's files ----


def test_failed_path_table_statement_registers_no_source(tmp_path: Path, run_noctra: RunNoctra) -> None:
    db = sqlite3.connect(tmp_path / "shop.db")
    db.execute("CREATE TABLE users (id INTEGER)")
    db.commit()
    db.close()
    failed = run_noctra("query", "SELECT * FROM shop.db::no_such_table", cwd=tmp_path)
    assert failed.returncode == 1
    sources = run_noctra("query", "--format", "csv", "SHOW SOURCES", cwd=tmp_path)
    assert "shop" not in sources.stdout, sources.stdout


def test_path_table_on_a_file_that_is_not_a_database_registers_nothing(
    tmp_path: Path, run_noctra: RunNoctra
) -> None:
    (tmp_path / "trunc.db").write_bytes(b"SQLite format 3\x00garbage")
    failed = run_noctra("query", "SELECT * FROM trunc.db::x", cwd=tmp_path)
    assert failed.returncode == 1 and "not a database" in failed.stderr
    sources = run_noctra("query", "--format", "csv", "SHOW SOURCES", cwd=tmp_path)
    assert "trunc" not in sources.stdout, sources.stdout


def test_export_through_a_symlink_writes_the_linked_file(tmp_path: Path, run_noctra: RunNoctra) -> None:
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "2024-11.csv"
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    run = run_noctra("query", "EXPORT (SELECT 42 AS a) TO 'latest.csv'", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert link.is_symlink(), "the user's symlink was replaced by a regular file"
    assert target.read_text(encoding="utf-8") == "a\n42\n"


def test_export_to_a_named_pipe_does_not_replace_it(tmp_path: Path, run_noctra: RunNoctra) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    try:
        run = run_noctra("query", "EXPORT (SELECT 42 AS a) TO 'pipe.csv'", cwd=tmp_path)
        assert "Traceback" not in run.stderr
        # Today the rows land in a new regular file named pipe.csv and the reader gets nothing.
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the named pipe was replaced by a regular file"
    finally:
        reader.kill()
        reader.wait()


# --- batch scripts --------------------------------------------------------------------------


def test_batch_script_saved_with_a_bom_runs(tmp_path: Path, run_noctra: RunNoctra) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,x\n2,y\n", encoding="utf-8")
    (tmp_path / "win.rql").write_bytes(b"\xef\xbb\xbfUSE 't.csv' AS t;\r\nSELECT count(*) AS n FROM t;\r\n")
    run = run_noctra("batch", "--format", "csv", "win.rql", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "n\n2\n"


# --- minor: display -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_control_characters_in_column_names_are_shown_as_symbols(
    fmt: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    (tmp_path / "esc.csv").write_bytes(b'"a\x1b[2Jb","n\nl",c\n1,2,3\n')
    run = run_noctra("query", "--format", fmt, "SELECT * FROM 'esc.csv'", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stdout
    header_and_rule = run.stdout.splitlines()
    # one header line: a newline in a name must not split the table's header row
    if fmt == "markdown":
        assert header_and_rule[1].startswith("| ---"), run.stdout


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_duplicate_column_names_are_numbered_in_table_and_markdown(
    fmt: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    run = run_noctra("query", "--format", fmt, "SELECT 1 AS a, 2 AS a", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "a_1" in run.stdout, run.stdout


# --- more: streams, --timeout, EXPORT ------------------------------------------------------


def _shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `command` through sh, `noctra` being this interpreter's `python -m noctra`."""
    import shlex
    import sys

    noctra = f"{shlex.quote(sys.executable)} -m noctra"
    return subprocess.run(
        ["sh", "-c", command.replace("noctra", noctra, 1)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def test_closed_stdout_is_one_error_line_not_a_traceback(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    run = _shell("noctra query --format csv 'SELECT 1 AS a' >&-", tmp_path, isolated_env)
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode != 0
    assert run.stderr.startswith("noctra: error: "), run.stderr


def test_closed_stderr_still_runs_the_statements(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    """2>&-: messages go nowhere, but the results and the files are what was asked."""
    run = _shell("noctra query --format csv 'SELECT 1 AS a' 2>&-", tmp_path, isolated_env)
    assert (run.returncode, run.stdout) == (0, "a\n1\n")
    run = _shell("noctra query \"EXPORT (SELECT 2 AS b) TO 'o.csv'\" 2>&-", tmp_path, isolated_env)
    assert run.returncode == 0 and (tmp_path / "o.csv").read_text() == "b\n2\n"
    run = _shell("noctra query 'SELECT * FROM nowhere' 2>&-", tmp_path, isolated_env)
    assert run.returncode == 1


@pytest.mark.parametrize("value", ["inf", "1e10"])
def test_huge_timeout_is_refused_or_works_without_a_traceback(
    value: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    run = run_noctra("--timeout", value, "query", "--format", "csv", "SELECT 1 AS a", cwd=tmp_path)
    assert "Traceback" not in run.stderr, run.stderr
    assert (run.returncode, run.stdout) in {(0, "a\n1\n"), (2, "")}, run.stderr


def test_timeout_nan_is_a_usage_error(tmp_path: Path, run_noctra: RunNoctra) -> None:
    run = run_noctra("--timeout", "nan", "query", "SELECT 1", cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("noctra: error: --timeout")


def test_export_json_of_nan_and_infinity_is_valid_json(tmp_path: Path, run_noctra: RunNoctra) -> None:
    import json

    sql = "SELECT 'nan'::double AS x, 'inf'::double AS y"
    shown = run_noctra("query", "--format", "jsonl", sql, cwd=tmp_path)
    assert shown.stdout == '{"x":null,"y":null}\n'
    run = run_noctra("query", f"EXPORT ({sql}) TO 'out.json'", cwd=tmp_path)
    assert run.returncode == 0, run.stderr

    def refuse(constant: str) -> object:
        raise ValueError(f"not JSON: {constant}")

    json.loads((tmp_path / "out.json").read_text(encoding="utf-8"), parse_constant=refuse)


def test_export_of_a_sqlite_query_writes_what_select_showed(tmp_path: Path, run_noctra: RunNoctra) -> None:
    db = sqlite3.connect(tmp_path / "shop.db")
    db.execute("CREATE TABLE t (a INTEGER)")
    db.execute("INSERT INTO t VALUES (7)")
    db.commit()
    db.close()
    sql = "SELECT a / 2 AS half FROM s.t"
    shown = run_noctra("query", "--format", "csv", f"USE 'shop.db' AS s; {sql}", cwd=tmp_path)
    assert shown.stdout == "half\n3\n", shown.stderr
    run = run_noctra("query", f"EXPORT ({sql}) TO 'half.csv'", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "half.csv").read_text(encoding="utf-8") == shown.stdout


def test_use_directory_of_csvs_with_columns_in_another_order(tmp_path: Path, run_noctra: RunNoctra) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "jan.csv").write_text("id,amount\n1,100\n", encoding="utf-8")
    (tmp_path / "d" / "feb.csv").write_text("amount,id\n200,2\n", encoding="utf-8")
    run = run_noctra("query", "--format", "csv", "USE 'd' AS m; SELECT sum(amount) AS s FROM m", cwd=tmp_path)
    assert run.stdout != "s\n201\n"
    assert run.stdout == "s\n300\n" or run.returncode == 1, run.stderr


def test_unreadable_restored_source_is_not_called_missing(tmp_path: Path, run_noctra: RunNoctra) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert run_noctra("query", "USE 'x.csv' AS x", cwd=tmp_path).returncode == 0
    # the user overwrites the CSV with Parquet bytes (here through Noctra's own EXPORT)
    assert run_noctra("query", "EXPORT x TO 'x.csv' FORMAT PARQUET", cwd=tmp_path).returncode == 0
    run = run_noctra("query", "SELECT * FROM x", cwd=tmp_path)
    assert run.returncode == 1
    assert "is not there" not in run.stderr, run.stderr


def test_quoted_field_past_the_sample_hints_at_quote(tmp_path: Path, run_noctra: RunNoctra) -> None:
    lines = ["id,name,amt"] + [f"{i},n{i},1" for i in range(30000)] + ['30000,"Smith, J",5']
    (tmp_path / "q.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = run_noctra(
        "query", "USE 'q.csv' AS q OPTIONS (types = {'amt': 'VARCHAR'}); SELECT count(*) FROM q", cwd=tmp_path
    )
    assert run.returncode == 1
    hint = [line for line in run.stderr.splitlines() if line.startswith("hint: ")]
    assert hint and "quote" in hint[0], run.stderr


def test_damaged_persistent_copy_is_dropped_and_the_csv_read(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:

    import duckdb

    env = {**isolated_env, "NOCTRA_CACHE_RESULTS": "false"}
    lines = ["id,v,s"] + [f"{i},{i % 977},str{i % 1000}" for i in range(300_000)]
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    sql = "SELECT sum(v) AS s, count(*) AS c FROM 'big.csv'"

    def query() -> subprocess.CompletedProcess[str]:
        return _shell(f'noctra query --format csv "{sql}"', tmp_path, env)

    expected = query()
    assert expected.returncode == 0, expected.stderr
    for _ in range(2):
        query()
    copies = list((Path(env["XDG_CACHE_HOME"]) / "noctra").glob("*.parquet"))
    assert len(copies) == 1, "no persistent copy was made"
    page = duckdb.sql(
        f"SELECT data_page_offset, total_compressed_size FROM parquet_metadata('{copies[0]}') "
        "WHERE path_in_schema = 'v' LIMIT 1"
    ).fetchone()
    assert page is not None
    offset, size = page
    with open(copies[0], "r+b") as handle:  # a damaged page (disk error, torn write)
        handle.seek(offset + 64)
        handle.write(b"\x00" * min(2000, size - 64))
    again = query()
    if again.returncode != 0:
        # Streamed to a pipe (csv), rows may be out already: no silent second run, but the
        # damaged copy is dropped and the error says to run it again.
        assert "cached copy" in again.stderr and "dropped" in again.stderr, again.stderr
        again = query()
    assert again.returncode == 0, again.stderr
    assert again.stdout == expected.stdout


def test_a_damaged_copy_is_healed_transparently_when_rows_are_read_as_arrow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    from noctra import Session
    from noctra.config import Config

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    lines = ["id,v"] + [f"{i},{i % 977}" for i in range(300_000)]
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = Config()
    config.cache.min_size = 0
    config.cache.results = False
    sql = "SELECT sum(v) AS s, count(*) AS c FROM 'big.csv'"
    for _ in range(2):
        with Session(config=config, restore=False) as s:
            expected = s.sql(sql).arrow()
    (copy,) = (tmp_path / "cache" / "noctra").glob("*.parquet")
    offset, size = duckdb.sql(
        f"SELECT data_page_offset, total_compressed_size FROM parquet_metadata('{copy}') "
        "WHERE path_in_schema = 'v' LIMIT 1"
    ).fetchone() or (0, 0)
    with open(copy, "r+b") as handle:
        handle.seek(offset + 64)
        handle.write(b"\x00" * min(2000, size - 64))
    with Session(config=config, restore=False) as s:
        assert s.sql(sql).arrow() == expected
    assert not copy.exists()


def test_export_temp_file_is_never_read_by_a_glob_of_the_folder(
    tmp_path: Path, isolated_env: dict[str, str], run_noctra: RunNoctra
) -> None:
    import signal
    import sys
    import time

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.csv").write_text("id,v\n1,10\n", encoding="utf-8")
    (logs / "b.csv").write_text("id,v\n2,20\n", encoding="utf-8")
    export = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "noctra",
            "query",
            "EXPORT (SELECT range AS id, range AS v FROM range(30000000)) TO 'logs/c.csv'",
        ],
        cwd=tmp_path,
        env=isolated_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            p.name not in {"a.csv", "b.csv"} and p.stat().st_size > 1_000_000 for p in logs.iterdir()
        ):
            time.sleep(0.05)
        # a reader in another process while the export runs, or after it was killed (OOM killer)
        export.send_signal(signal.SIGKILL)
    finally:
        export.wait()
    run = run_noctra("query", "--format", "csv", "SELECT count(*) AS n FROM 'logs/*.csv'", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "n\n2\n"


def test_export_over_a_private_file_keeps_it_private(tmp_path: Path, run_noctra: RunNoctra) -> None:
    target = tmp_path / "payroll.csv"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o600)
    run = run_noctra("query", "EXPORT (SELECT 'ssn' AS a) TO 'payroll.csv'", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert target.read_text(encoding="utf-8") == "a\nssn\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600, oct(target.stat().st_mode)


def test_cache_of_a_private_file_is_not_world_readable(tmp_path: Path, isolated_env: dict[str, str]) -> None:

    lines = ["id,v,s"] + [f"{i},{i % 977},str{i % 1000}" for i in range(300_000)]
    private = tmp_path / "private.csv"
    private.write_text("\n".join(lines) + "\n", encoding="utf-8")
    private.chmod(0o600)
    for _ in range(3):
        run = _shell(
            "noctra query --format csv \"SELECT s, count(*) FROM 'private.csv' GROUP BY s LIMIT 2\"",
            tmp_path,
            isolated_env,
        )
        assert run.returncode == 0, run.stderr
    cache = Path(isolated_env["XDG_CACHE_HOME"]) / "noctra"
    made = [p for p in cache.rglob("*") if p.is_file() and p.suffix in {".parquet", ".duckdb"}]
    assert made, "nothing was cached"

    def others_can_read(path: Path) -> bool:
        # readable by others through every folder from the cache root down
        chain = [path, *[p for p in path.parents if cache in (p, *p.parents)]]
        return all(p.stat().st_mode & 0o005 for p in chain[1:]) and bool(path.stat().st_mode & 0o004)

    assert not [p.name for p in made if others_can_read(p)]


def test_json_output_of_non_utf8_sqlite_text_is_valid_json_or_an_error(
    tmp_path: Path, run_noctra: RunNoctra
) -> None:
    import json

    db = sqlite3.connect(tmp_path / "legacy.db")
    db.execute("CREATE TABLE t (s TEXT)")
    db.execute("INSERT INTO t VALUES (CAST(x'6361666520e9' AS TEXT)), ('ok')")  # 'cafe ' + latin-1 e-acute
    db.commit()
    db.close()
    (tmp_path / "k.csv").write_text("k\nx\n", encoding="utf-8")
    sql = "USE 'legacy.db' AS b; SELECT s, k FROM b.t, 'k.csv'"  # a file in the query: DuckDB runs it
    run = run_noctra("query", "--format", "json", sql, cwd=tmp_path)
    if run.returncode == 0:
        rows = json.loads(run.stdout)
        assert len(rows) == 2, run.stdout
    else:
        assert len(_error_lines(run.stderr)) == 1, run.stderr


def test_dash_c_takes_files_like_query(tmp_path: Path, run_noctra: RunNoctra) -> None:
    (tmp_path / "t.csv").write_text("a\n1\n2\n", encoding="utf-8")
    run = run_noctra("--format", "csv", "-c", "SELECT count(*) AS n FROM t", "t.csv", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "n\n2\n"


@pytest.mark.parametrize("statement", ["SHOW TABLES FROM a", "SHOW TABLES", "DESCRIBE a"])
def test_sqlite_database_with_a_broken_view_can_be_listed(
    statement: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    db = sqlite3.connect(tmp_path / "legacy.db")
    db.executescript(
        "CREATE TABLE orders (id INTEGER); CREATE TABLE gone (x INTEGER);"
        "CREATE VIEW old_report AS SELECT * FROM gone; DROP TABLE gone;"
    )
    db.commit()
    db.close()
    run = run_noctra("query", "--format", "csv", f"USE 'legacy.db' AS a; {statement}", cwd=tmp_path)
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 0, run.stderr
    assert "orders" in run.stdout


def test_export_of_sqlite_table_keeps_generated_columns(tmp_path: Path, run_noctra: RunNoctra) -> None:
    db = sqlite3.connect(tmp_path / "shop.db")
    db.executescript(
        "CREATE TABLE g (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL,"
        " c INTEGER GENERATED ALWAYS AS (a * 3) STORED); INSERT INTO g (a) VALUES (1), (2);"
    )
    db.commit()
    db.close()
    shown = run_noctra("query", "--format", "csv", "USE 'shop.db' AS s; SELECT * FROM s.g", cwd=tmp_path)
    assert shown.stdout == "a,b,c\n1,2,3\n2,4,6\n", shown.stderr
    run = run_noctra("query", "EXPORT s.g TO 'g.csv'", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "g.csv").read_text(encoding="utf-8") == shown.stdout


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_float32_values_show_as_sql_shows_them(fmt: str, tmp_path: Path, run_noctra: RunNoctra) -> None:
    sql = "SELECT 0.1::FLOAT AS f"
    assert run_noctra("query", "--format", "csv", sql, cwd=tmp_path).stdout == "f\n0.1\n"
    shown = run_noctra("query", "--format", fmt, sql, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "0.10000000149011612" not in shown.stdout, shown.stdout


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_intervals_and_nanoseconds_show_as_sql_shows_them(
    fmt: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    sql = (
        "SELECT age(timestamp '2024-03-01', timestamp '2023-01-01') AS age,"
        " interval 1 month - interval 30 days AS diff,"
        " timestamp_ns '2024-01-01 00:00:00.123456789' AS ns"
    )
    csv = run_noctra("query", "--format", "csv", sql, cwd=tmp_path)
    assert csv.stdout == "age,diff,ns\n1 year 2 months,1 month -30 days,2024-01-01 00:00:00.123456789\n"
    shown = run_noctra("query", "--format", fmt, sql, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    for text in ("1 year 2 months", "1 month -30 days", "00:00:00.123456789"):
        assert text in shown.stdout, shown.stdout


def test_use_reads_a_csv_with_a_long_field_as_from_does(tmp_path: Path, run_noctra: RunNoctra) -> None:
    (tmp_path / "mid.csv").write_text("a,b\n1," + "x" * 3_000_000 + "\n2,y\n", encoding="utf-8")
    sql = "SELECT a, length(b) AS lb FROM {}"
    direct = run_noctra("query", "--format", "csv", sql.format("'mid.csv'"), cwd=tmp_path)
    assert direct.stdout == "a,lb\n1,3000000\n2,1\n", direct.stderr
    used = run_noctra("query", "--format", "csv", "USE 'mid.csv' AS m; " + sql.format("m"), cwd=tmp_path)
    assert used.returncode == 0, used.stderr
    assert used.stdout == direct.stdout


@pytest.mark.parametrize("sql", ["SELECT * FROM 'report.csv'", "USE 'report.csv' AS r"])
def test_gzip_file_named_csv_is_called_compressed(sql: str, tmp_path: Path, run_noctra: RunNoctra) -> None:
    import gzip

    (tmp_path / "report.csv").write_bytes(gzip.compress(b"a,b\n1,x\n"))
    run = run_noctra("query", sql, cwd=tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "gzip" in run.stderr.lower() or "compressed" in run.stderr.lower(), run.stderr


def test_export_with_an_empty_delimiter_is_refused(tmp_path: Path, run_noctra: RunNoctra) -> None:
    run = run_noctra(
        "query", "EXPORT (SELECT 1 AS a, 2 AS b) TO 'x.csv' OPTIONS (delimiter = '')", cwd=tmp_path
    )
    assert run.returncode == 1, (tmp_path / "x.csv").read_text(encoding="utf-8")
    assert "delimiter" in _error_lines(run.stderr)[0]
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    ("library", "sql"),
    [("pandas", "SELECT date 'infinity' AS d"), ("polars", "SELECT interval 1 month AS i")],
)
def test_a_value_the_dataframe_library_cannot_hold_is_one_noctra_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: str, sql: str
) -> None:
    pytest.importorskip(library)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    import noctra

    with noctra.Session(restore=False) as session:
        result = session.sql(sql)
        with pytest.raises(noctra.NoctraError, match=f"cannot be turned into a {library} DataFrame") as info:
            result.df() if library == "pandas" else result.pl()
        assert info.value.hint is not None and ".arrow()" in info.value.hint
        assert session.sql(sql).arrow().num_rows == 1  # Arrow keeps it
