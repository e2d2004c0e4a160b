"""Issue 11: errors and hints at the seams (CSV types and values, misleading hints), as users met them."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from noctra import Session
from noctra.errors import NoctraError
from tests.conftest import HttpServer, RunNoctra

# DuckDB types CSV columns from a sample of 20,480 rows: a bad value past it is met mid-query.
SAMPLED_ROWS = 30_000


def late_bad_value(path: Path, value: str = "abc") -> None:
    """A CSV whose `amount` looks numeric for the whole sample, then holds `value`."""
    lines = ["id,amount", *(f"{i},{i}" for i in range(SAMPLED_ROWS)), f"{SAMPLED_ROWS},{value}"]
    path.write_text("\n".join(lines) + "\n")


def one_line_error(session: Session, sql: str) -> NoctraError:
    with pytest.raises(NoctraError) as info:
        session.execute(sql)
    assert "\n" not in info.value.message and "\n" not in (info.value.hint or "")
    return info.value


# --- 11.11: CSV conversion errors keep the value, the column, the file and the hint ---------


@pytest.mark.parametrize(
    "statements",
    ["USE 'late.csv' AS l; SELECT sum(amount) FROM l", "SELECT sum(amount) FROM 'late.csv'"],
)
def test_csv_conversion_error_names_value_column_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statements: str
) -> None:
    monkeypatch.chdir(tmp_path)
    late_bad_value(tmp_path / "late.csv")
    with Session() as s:
        error = one_line_error(s, statements)
    assert error.message == (
        f'CSV error in late.csv on line {SAMPLED_ROWS + 2}: cannot convert "abc" in column "amount" to BIGINT'
    )
    assert error.hint is not None
    assert "types = {'amount': 'VARCHAR'}" in error.hint and "all_varchar = true" in error.hint


def test_csv_conversion_error_of_a_set_type_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sibling: a type the user set (a date with its format) that a value does not fit."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("id,when it's\n1,03/02/2024\n2,soon\n")
    with Session() as s:
        s.execute("USE 'd.csv' AS d OPTIONS (dateformat = '%d/%m/%Y', types = {'when it''s': 'DATE'})")
        error = one_line_error(s, "SELECT * FROM d")
    assert (
        error.message == 'CSV error in d.csv on line 3: cannot convert "soon" in column "when it\'s" to DATE'
    )
    assert error.hint is not None and "types = {'when it''s': 'VARCHAR'}" in error.hint


def test_glob_read_in_from_names_both_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB types `FROM 'glob'` from its first files; a later file that disagrees is named."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "many").mkdir()
    for n in range(1, 13):
        (tmp_path / "many" / f"f{n:02}.csv").write_text(f"id,v\n{n},{n}\n")
    (tmp_path / "many" / "f12.csv").write_text("id,v\n12,twelve\n")
    with Session() as s:
        error = one_line_error(s, "SELECT max(v) FROM 'many/*.csv'")
        assert error.message == (
            'the files of a glob disagree: column "v" is VARCHAR in many/f12.csv, BIGINT in many/f01.csv'
        )
        assert error.hint is not None and "files_to_sniff = -1" in error.hint
        assert s.sql("SELECT max(v) FROM read_csv('many/*.csv', files_to_sniff = -1)").rows(1) == [
            ("twelve",)
        ]


def test_csv_conversion_error_on_the_command_line(tmp_path: Path, run_noctra: RunNoctra) -> None:
    late_bad_value(tmp_path / "late.csv", value="n/a")
    proc = run_noctra("-c", "SELECT sum(amount) FROM 'late.csv'", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "noctra: error: statement 1, line 1, column 1: CSV error in late.csv on line "
        f'{SAMPLED_ROWS + 2}: cannot convert "n/a" in column "amount" to BIGINT',
        "hint: DuckDB types CSV columns from a sample of rows: set types = {'amount': 'VARCHAR'} "
        "or all_varchar = true (USE ... OPTIONS (...), or read_csv arguments)",
    ]


# --- 11.5: a registered glob or directory is typed across its files, as DuckDB reads it ------


def twelve_files(folder: Path, last: str) -> None:
    """f01..f12.csv with a numeric `v`, except `last` in f12 (past DuckDB's 10 files sniffed)."""
    folder.mkdir()
    for n in range(1, 13):
        (folder / f"f{n:02}.csv").write_text(f"id,v\n{n},{n if n < 12 else last}\n")


@pytest.mark.parametrize("path", ["glb/*.csv", "glb", "glb/**/*.csv"])
def test_registered_glob_types_columns_across_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "glb").mkdir()
    (tmp_path / "glb" / "a.csv").write_text("id,v\n1,2\n")
    (tmp_path / "glb" / "b.csv").write_text("id,v\n2,x\n")
    with Session() as s:
        s.execute(f"USE '{path}' AS g")
        assert s.sql("SELECT id, v FROM g ORDER BY id").rows(5) == [(1, "2"), (2, "x")]
        assert s.sql("SELECT typeof(id), typeof(v) FROM g LIMIT 1").rows(1) == [("BIGINT", "VARCHAR")]


def test_registered_hive_directory_keeps_its_partition_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sibling: partition folders of CSVs, whose files disagree on a column's type."""
    monkeypatch.chdir(tmp_path)
    for year, value in (("2023", "2"), ("2024", "late")):
        (tmp_path / "sales" / f"year={year}").mkdir(parents=True)
        (tmp_path / "sales" / f"year={year}" / "part.csv").write_text(f"id,v\n{year},{value}\n")
    with Session() as s:
        s.execute("USE 'sales' AS s")
        assert s.sql("SELECT year, v FROM s ORDER BY year").rows(5) == [(2023, "2"), (2024, "late")]


def test_a_glob_file_past_the_sniffed_ones_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB types a glob from its first 10 files: the 12th that does not fit gets one clear error."""
    monkeypatch.chdir(tmp_path)
    twelve_files(tmp_path / "many", "twelve")
    with Session() as s:
        s.execute("USE 'many/*.csv' AS m")
        error = one_line_error(s, "SELECT max(v) FROM m")
        assert (
            error.message
            == 'CSV error in many/f12.csv on line 2: cannot convert "twelve" in column "v" to BIGINT'
        )
        assert error.hint is not None and "types = {'v': 'VARCHAR'}" in error.hint
        s.execute("USE 'many/*.csv' AS m OPTIONS (files_to_sniff = -1)")
        assert s.sql("SELECT max(v) FROM m").rows(1) == [("twelve",)]


def test_a_file_added_to_a_registered_glob_is_typed_in_the_next_run(
    tmp_path: Path, run_noctra: RunNoctra
) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.csv").write_text("id,v\n1,2\n")
    first = run_noctra("-c", "USE 'logs/*.csv' AS g; SELECT sum(v) FROM g", "--format", "csv", cwd=tmp_path)
    assert (first.returncode, first.stdout) == (0, "sum(v)\n2\n")
    (tmp_path / "logs" / "b.csv").write_text("id,v\n2,x\n")
    second = run_noctra("-c", "SELECT v FROM g ORDER BY id", "--format", "csv", cwd=tmp_path)
    assert (second.returncode, second.stdout, second.stderr) == (0, "v\n2\nx\n", "")


# --- 11.14: hints that send the user the wrong way -------------------------------------------


@pytest.fixture
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path (the working directory) with crm.db (SQLite t), w.duckdb (DuckDB a) and t.csv."""
    monkeypatch.chdir(tmp_path)
    with sqlite3.connect(tmp_path / "crm.db") as conn:
        conn.execute("CREATE TABLE t (id INTEGER, name TEXT)")
        conn.execute("INSERT INTO t VALUES (1, 'a')")
    conn.close()
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE TABLE a AS SELECT 1 AS x")
    (tmp_path / "t.csv").write_text("id\n7\n")
    return tmp_path


@pytest.mark.parametrize(
    ("write", "engine"),
    [
        ("INSERT INTO t VALUES (2, 'b')", "sqlite"),
        ("INSERT INTO r.t SELECT id, 'x' FROM 't.csv'", "duckdb"),
    ],
)
def test_write_to_a_read_only_sqlite_source_names_the_option(crm: Path, write: str, engine: str) -> None:
    with Session() as s:
        s.execute("USE 'crm.db' AS r OPTIONS (readonly = true)")
        error = one_line_error(s, write)
    assert error.hint is not None and "readonly = true" in error.hint, engine
    assert "engine" not in error.hint


@contextlib.contextmanager
def made_unwritable(path: Path) -> Iterator[Path]:
    """chmod a-w, or for root (who writes anyway) the immutable flag; skip where neither works."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield path
        finally:
            path.chmod(mode)
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot make a path unwritable for root here (no chattr +i)")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.fixture
def unwritable(crm: Path) -> Iterator[Path]:
    """crm.db, made unwritable."""
    with made_unwritable(crm / "crm.db") as path:
        yield path


@pytest.mark.parametrize(
    "write", ["INSERT INTO t VALUES (2, 'b')", "INSERT INTO r.t SELECT id, 'x' FROM 't.csv'"]
)
def test_write_to_an_unwritable_sqlite_file_says_permissions(unwritable: Path, write: str) -> None:
    with Session() as s:
        s.execute("USE 'crm.db' AS r")
        error = one_line_error(s, write)
    assert error.hint is not None and "permissions" in error.hint and "engine" not in error.hint


def test_read_only_workspace_that_is_missing(tmp_path: Path, run_noctra: RunNoctra) -> None:
    proc = run_noctra("--db", "missing.duckdb", "--read-only", "-c", "SELECT 1", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "noctra: error: --db 'missing.duckdb' does not exist, and --read-only does not create it",
        "hint: check the path; without --read-only, --db starts a new database there",
    ]
    assert not (tmp_path / "missing.duckdb").exists()


def test_read_only_use_of_a_missing_database_does_not_suggest_create(crm: Path) -> None:
    with Session() as s:
        error = one_line_error(s, "USE 'gone.db' OPTIONS (readonly = true)")
    assert error.message == "file not found: 'gone.db'"
    assert error.hint is not None and "create" not in error.hint


def test_write_to_a_read_only_workspace_says_read_only(crm: Path, run_noctra: RunNoctra) -> None:
    proc = run_noctra("--db", "w.duckdb", "--read-only", "-c", "CREATE TABLE z AS SELECT 1", cwd=crm)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        "hint: the --db workspace was opened with --read-only: run without it to write"
    )


def test_the_same_duckdb_file_under_two_aliases(crm: Path) -> None:
    with Session() as s:
        s.execute("USE 'w.duckdb' AS a")
        error = one_line_error(s, "USE 'w.duckdb' AS b")
        assert error.message == "'w.duckdb' is already attached as 'a'"
        assert error.hint == "reach its tables as a.table, or DETACH a first (DuckDB attaches a file once)"
        assert s.sql("SELECT x FROM a.a").rows(1) == [(1,)]


def test_the_workspace_file_used_again(crm: Path, run_noctra: RunNoctra) -> None:
    proc = run_noctra("--db", "w.duckdb", "-c", "USE 'w.duckdb' AS b", cwd=crm)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-2:] == [
        "noctra: error: statement 1, line 1, column 1: 'w.duckdb' is already attached as 'w'",
        "hint: it is the --db workspace: its tables are reached by name, or as w.table",
    ]


def test_a_duckdb_source_registered_again_under_its_alias(crm: Path) -> None:
    """Sibling: the same file and alias again (to open it read-only) replaces it; so does another file."""
    (crm / "w2.duckdb").write_bytes((crm / "w.duckdb").read_bytes())
    with Session() as s:
        s.execute("USE 'w.duckdb' AS a")
        s.execute("USE 'w.duckdb' AS a OPTIONS (readonly = true)")
        error = one_line_error(s, "CREATE TABLE a.z AS SELECT 1")
        assert error.hint is not None and "readonly = true" in error.hint
        s.execute("USE 'w2.duckdb' AS a")
        s.execute("CREATE TABLE a.z AS SELECT 2 AS y")
        assert s.sql("SELECT y FROM a.z").rows(1) == [(2,)]
        assert [(src.alias, src.path) for src in s.sources] == [("a", "w2.duckdb")]


def closed_port_url(name: str) -> str:
    """A URL on 127.0.0.1 where nothing listens (a port just freed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"


@pytest.mark.parametrize("template", ["SELECT * FROM '{url}'", "USE '{url}' AS x"])
def test_connection_refused_says_nothing_answered(template: str) -> None:
    url = closed_port_url("x.csv")
    with Session() as s:
        error = one_line_error(s, template.format(url=url))
    assert error.hint == (
        f"nothing answered at {url.rsplit('/', 1)[0]}: check the URL and that the server is running"
    )


def test_missing_remote_file_says_check_the_path(http_server: HttpServer) -> None:
    """Sibling: the server answers, but has no such file (HTTP 404)."""
    with Session() as s:
        error = one_line_error(s, f"USE '{http_server.url('nowhere.csv')}' AS x")
    assert error.hint == "the server has no file at that URL: check the path"


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        ("SELECT nmae FROM 'p.csv'", 'did you mean "name"?'),
        ("SELECT count(*) FROM p WHERE amout > 1", 'did you mean one of "amount", "amount_2", "name"?'),
    ],
)
def test_misspelled_column_keeps_duckdbs_candidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, query: str, hint: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.csv").write_text("name,amount,amount_2\nx,1,2\n")
    with Session() as s:
        s.execute("USE 'p.csv' AS p")
        error = one_line_error(s, query)
    assert error.hint == hint


@pytest.mark.parametrize(
    ("argument", "hint"),
    [
        (
            "missing.csv",
            "hint: no such file at {cwd}/missing.csv; check the path (relative to the current directory)",
        ),
        (
            closed_port_url("x.csv"),
            "hint: nothing answered at {base}: check the URL and that the server is running",
        ),
    ],
)
def test_file_argument_errors_name_the_file_not_a_statement(
    tmp_path: Path, run_noctra: RunNoctra, argument: str, hint: str
) -> None:
    proc = run_noctra("query", "SELECT 1", argument, cwd=tmp_path)
    assert proc.returncode == 1
    first, second = proc.stderr.splitlines()
    assert first.startswith("noctra: error: ") and repr(argument) in first and "statement" not in first
    assert second == hint.format(cwd=tmp_path, base=argument.rsplit("/", 1)[0])


def test_export_to_a_long_file_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A target name that fits (249 bytes) no longer fails on its longer temp name."""
    monkeypatch.chdir(tmp_path)
    name = "r" * 245 + ".csv"
    with Session() as s:
        s.execute(f"EXPORT (SELECT 1 AS x) TO '{name}'")
    assert (tmp_path / name).read_text() == "x\n1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize(
    ("export", "named"),
    [
        ("EXPORT (SELECT 1 AS x) TO 'locked/out.parquet'", "locked/out.parquet"),
        ("EXPORT (SELECT 1 AS x, 1 AS p) TO 'locked/parts' OPTIONS (partition_by = (p))", "locked/parts"),
    ],
)
def test_failed_export_names_the_target_not_its_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, export: str, named: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "locked").mkdir()
    with made_unwritable(tmp_path / "locked"), Session() as s:
        error = one_line_error(s, export)
    assert f"{tmp_path}/{named}" in error.message and "noctra-" not in error.message
    assert error.hint == "check that the target's folder is writable"
    assert list((tmp_path / "locked").iterdir()) == []


# --- 11.16: a SQLite column holding values of another type than declared -----------------


@pytest.fixture
def loose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """loose.db: SQLite lets `qty INTEGER` hold 'abc' and `price REAL` hold 'n/a'; t.csv to join."""
    monkeypatch.chdir(tmp_path)
    with sqlite3.connect(tmp_path / "loose.db") as conn:
        conn.execute("CREATE TABLE t (id INTEGER, qty INTEGER, price REAL)")
        conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(1, 5, 1.5), (2, "abc", "n/a")])
    conn.close()
    (tmp_path / "t.csv").write_text("id\n1\n2\n")
    return tmp_path


SQLITE_ALL_VARCHAR_HINT = (
    "DuckDB reads a SQLite column by its declared type: SET sqlite_all_varchar = true "
    "reads every SQLite column as text (cast what you need), or fix the value"
)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            # Natively (auto) SQLite's own values are exported: DuckDB's reader is asked here.
            "SET engine = duckdb; EXPORT l.t TO 'out.parquet'",
            'export failed: SQLite column "qty" is declared integer but holds "abc" (text)',
        ),
        (
            "SELECT max(qty) FROM l.t JOIN 't.csv' c USING (id)",
            'SQLite column "qty" is declared integer but holds "abc" (text)',
        ),
        (
            "SELECT max(price) FROM l.t JOIN 't.csv' c USING (id)",
            'SQLite column "price" expects float or integer but holds "n/a" (text)',
        ),
    ],
)
def test_sqlite_value_of_another_type_names_column_and_setting(
    loose: Path, statement: str, message: str
) -> None:
    with Session() as s:
        s.execute("USE 'loose.db' AS l")
        error = one_line_error(s, statement)
        assert (error.message, error.hint) == (message, SQLITE_ALL_VARCHAR_HINT)
        s.execute("SET sqlite_all_varchar = true")
        s.execute(statement)


def test_sqlite_all_varchar_set_first_on_the_command_line(loose: Path, run_noctra: RunNoctra) -> None:
    """Sibling: the setting named by the hint works before the sqlite extension is loaded."""
    proc = run_noctra(
        "-c",
        "SET sqlite_all_varchar = true; USE 'loose.db' AS l; "
        "SELECT c.id, l.t.qty FROM l.t JOIN 't.csv' c USING (id) ORDER BY c.id",
        "--format",
        "csv",
        cwd=loose,
    )
    assert (proc.returncode, proc.stdout) == (0, "id,qty\n1,5\n2,abc\n")


# --- 11.17: in a --db workspace, a table never silently hides a source ------------------------


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path with x.csv (v = from-csv) and work.duckdb holding table t (v = from-table)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.csv").write_text("v\nfrom-csv\n")
    with Session(db="work.duckdb") as s:
        s.execute("CREATE TABLE t AS SELECT 'from-table' AS v")
    return tmp_path


def test_use_refuses_an_alias_a_workspace_table_has(workspace: Path) -> None:
    with Session(db="work.duckdb") as s:
        error = one_line_error(s, "USE 'x.csv' AS t")
        assert error.message == "alias 't' is taken by table 't' of the --db workspace 'work'"
        assert error.hint == "choose another alias, e.g. USE 'x.csv' AS t_2; the table stays t (or work.t)"
        assert [src.alias for src in s.sources] == ["work"]
        s.execute("USE 'x.csv' AS t_2")
        assert s.sql("SELECT t.v, t_2.v FROM t, t_2").rows(1) == [("from-table", "from-csv")]


def test_a_default_alias_of_a_file_argument_is_refused_too(tmp_path: Path, run_noctra: RunNoctra) -> None:
    """Sibling: a SQLite workspace, and the alias taken from the file name (a FILE argument)."""
    with sqlite3.connect(tmp_path / "work.db") as conn:
        conn.execute("CREATE TABLE x (a INTEGER)")
    conn.close()
    (tmp_path / "x.csv").write_text("v\nfrom-csv\n")
    proc = run_noctra("--db", "work.db", "query", "SELECT count(*) FROM x", "x.csv", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.splitlines() == [
        "noctra: error: alias 'x' is taken by table 'x' of the --db workspace 'work'",
        "hint: choose another alias, e.g. USE 'x.csv' AS x_2; the table stays x (or work.x)",
    ]


def test_a_table_made_later_under_a_source_alias_is_reported(tmp_path: Path, run_noctra: RunNoctra) -> None:
    (tmp_path / "x.csv").write_text("v\nfrom-csv\n")
    made = run_noctra(
        "--db", "work.duckdb", "-c", "USE 'x.csv' AS s; CREATE TABLE s AS SELECT 1 AS z", cwd=tmp_path
    )
    note = (
        "source 's' is hidden by table 's' of the --db workspace: s reads the table; "
        "the source is memory.main.s (or USE it again under another alias)"
    )
    assert made.returncode == 0 and f"note: {note}" in made.stderr.splitlines()
    restored = run_noctra(
        "--db", "work.duckdb", "-c", "SELECT v FROM memory.main.s", "--format", "csv", cwd=tmp_path
    )
    assert (restored.returncode, restored.stdout) == (0, "v\nfrom-csv\n")
    assert restored.stderr.splitlines() == [f"noctra: warning: {note}"]
