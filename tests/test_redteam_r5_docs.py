"""Red team, round 5: the docs as a contract (README.md, docs/USAGE.md, docs/RQL_EXTENSIONS.md,
docs/PERFORMANCE_TUNING.md, docs/MIGRATION_M5_TO_M6.md), tried as a new user would.

Each test is a place where the product does not do what the docs say, found with real files
and real processes; a test marked xfail(strict=True) is a bug not fixed yet (the mark comes
off with the fix).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RunNoctra

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _examples(tmp_path: Path) -> Path:
    for name in ("sales.csv", "customers.db", "products.parquet", "events.ndjson"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    return tmp_path


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("noctra: error: ")]


def _run(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "noctra", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
        check=False,
    )


# --- PERFORMANCE_TUNING.md "Persistent cache": a registered source read twice is copied -----


def test_registered_source_read_twice_gets_its_parquet_copy_like_a_quoted_path(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    _examples(tmp_path)
    env = dict(isolated_env, NOCTRA_CACHE_MIN_SIZE="0", NOCTRA_CACHE_RESULT_MIN_MS="0")
    # The quoted path: two reads, and `noctra cache show` lists the copy.
    for _ in range(2):
        assert _run(env, "query", "SELECT count(*) FROM 'sales.csv'", cwd=tmp_path).returncode == 0
    quoted = _run(env, "cache", "show", cwd=tmp_path)
    assert any(line.startswith("copy") for line in quoted.stdout.splitlines()), quoted.stdout
    assert _run(env, "cache", "clear", cwd=tmp_path).returncode == 0
    # The same file registered with USE (the docs: "This holds for a registered source").
    assert _run(env, "query", "USE 'sales.csv' AS s", cwd=tmp_path).returncode == 0
    for _ in range(2):
        assert _run(env, "query", "SELECT count(*) FROM s", cwd=tmp_path).returncode == 0
    registered = _run(env, "cache", "show", cwd=tmp_path)
    assert any(line.startswith("copy") for line in registered.stdout.splitlines()), registered.stdout


# --- RQL_EXTENSIONS.md "Engines": forcing SQLite for a statement that needs files --------------


def test_forced_sqlite_on_a_file_query_says_why(tmp_path: Path, run_noctra: RunNoctra) -> None:
    _examples(tmp_path)
    script = "USE 'customers.db' AS crm;\nSET engine = sqlite;\nSELECT count(*) FROM 'sales.csv';\n"
    (tmp_path / "s.rql").write_text(script, encoding="utf-8")
    run = run_noctra("--fresh", "batch", "s.rql", cwd=tmp_path)
    assert run.returncode == 1
    errors = _error_lines(run.stderr)
    assert len(errors) == 1, run.stderr
    # The user never wrote read_csv: the error must not be about a table of that name...
    assert "read_csv" not in run.stderr, run.stderr
    # ...and its position is inside statement 3 (line 3 has 32 characters).
    assert "statement 3, line 3," in errors[0], errors[0]
    column = int(errors[0].split("column ")[1].split(":")[0])
    assert 1 <= column <= 32, errors[0]


# --- USAGE.md "One serialization": SQLite text that is not UTF-8, run natively ------------------


def _latin1_db(tmp_path: Path) -> None:
    import sqlite3

    db = sqlite3.connect(tmp_path / "legacy.db")
    db.execute("CREATE TABLE t (id INTEGER, name TEXT)")
    db.execute("INSERT INTO t VALUES (1, 'ok'), (2, CAST(x'636166e9' AS TEXT))")  # 'caf' + latin-1 e-acute
    db.commit()
    db.close()


def test_native_sqlite_latin1_text_in_csv_is_written_as_its_bytes(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    _latin1_db(tmp_path)
    sql = "USE 'legacy.db' AS l; SELECT * FROM l.t ORDER BY id"
    run = subprocess.run(
        [sys.executable, "-m", "noctra", "query", "--format", "csv", sql],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=isolated_env,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    assert run.stdout == b"id,name\n1,ok\n2,caf\xe9\n"


def test_native_sqlite_latin1_text_in_json_is_an_error_naming_the_row(
    tmp_path: Path, run_noctra: RunNoctra
) -> None:
    _latin1_db(tmp_path)
    run = run_noctra(
        "query", "--format", "json", "USE 'legacy.db' AS l; SELECT * FROM l.t ORDER BY id", cwd=tmp_path
    )
    assert run.returncode == 1
    assert run.stdout == ""
    errors = _error_lines(run.stderr)
    assert len(errors) == 1, run.stderr
    assert "row 2" in errors[0], run.stderr
    assert "CAST(column AS BLOB)" in run.stderr, run.stderr  # SQLite ran it: no encode() there


# --- PERFORMANCE_TUNING.md "Stored results": "Every road reads it: ... EXPORT (query), LET, ..." -----


def _stats(stderr: str) -> dict[str, object]:
    import json

    stats: dict[str, object] = json.loads([line for line in stderr.splitlines() if line.startswith("{")][-1])
    return stats


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(
            "LET top = (SELECT max(amount) AS top FROM 'sales.csv')",
            marks=pytest.mark.xfail(
                strict=True,
                reason="LET name = (query) never reads the stored result of its query (result_hits 0), "
                "though the docs list LET among the roads that read it (EXPORT and DESCRIBE (query) do)",
            ),
        ),
        "EXPORT (SELECT max(amount) AS top FROM 'sales.csv') TO 'top.csv'",
        "DESCRIBE (SELECT max(amount) AS top FROM 'sales.csv')",
        "SELECT max(amount) AS top FROM 'sales.csv'",
    ],
)
def test_every_road_reads_a_stored_result(
    statement: str, tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    _examples(tmp_path)
    env = dict(isolated_env, NOCTRA_CACHE_RESULT_MIN_MS="0")
    query = "SELECT max(amount) AS top FROM 'sales.csv'"
    for _ in range(2):  # the first run leaves a note, the second stores the result
        assert _run(env, "--fresh", "query", query, cwd=tmp_path).returncode == 0
    run = _run(env, "--fresh", "--stats", "query", statement, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert _stats(run.stderr)["result_hits"] == 1, run.stderr


# --- USAGE.md "--max-rows N ... the rest is counted: `… N more rows`" -----------------------------


def test_one_row_left_out_is_counted_in_the_singular(tmp_path: Path, run_noctra: RunNoctra) -> None:
    run = run_noctra("--fresh", "query", "--max-rows", "2", "SELECT * FROM range(3)", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "… 1 more row\n" in run.stdout + run.stderr, run.stdout


# --- RQL_EXTENSIONS.md "path::table": "A file that is not a database ... is an error" ------------


@pytest.mark.parametrize("path", ["sales.csv", "products.parquet"])
def test_path_table_on_a_file_that_is_not_a_database_says_so(
    path: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    _examples(tmp_path)
    run = run_noctra("--fresh", "query", f"SELECT * FROM {path}::customers", cwd=tmp_path)
    assert run.returncode == 1
    errors = _error_lines(run.stderr)
    assert len(errors) == 1, run.stderr
    assert "syntax error" not in errors[0], run.stderr
    assert path in errors[0] and "database" in errors[0], run.stderr


# --- RQL_EXTENSIONS.md "Settings": SET key = value, SHOW CONFIG ------------------------------------


def test_set_boolean_setting_shows_as_sql_shows_it(tmp_path: Path, run_noctra: RunNoctra) -> None:
    run = run_noctra(
        "--fresh",
        "query",
        "--format",
        "csv",
        "SET preserve_insertion_order = false; SHOW CONFIG",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "preserve_insertion_order = false" in run.stderr, run.stderr
    assert "preserve_insertion_order,false,SET" in run.stdout.splitlines(), run.stdout


# --- USAGE.md "Catalog": "Enter (or Space) opens and closes a node, as in any tree" ---------------


async def test_enter_right_after_f4_opens_a_catalog_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from noctra.session import Session
    from noctra.tui.app import NoctraApp
    from noctra.tui.widgets.catalog import CatalogTree

    _examples(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with Session() as session:
        session.use("sales.csv")
        session.use("customers.db")
        app = NoctraApp(session, history_file=tmp_path / "history")
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("f4")
            await pilot.pause()
            tree = app.query_one(CatalogTree)
            assert app.focused is tree
            await pilot.press("enter")
            await pilot.pause()
            opened = [node for node in tree.root.children if node.is_expanded]
            assert len(opened) == 1, [str(node.label) for node in tree.root.children]


# --- USAGE.md: --format is a common option ("options go before or after the subcommand") ---------


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_cache_show_honours_or_refuses_format(fmt: str, tmp_path: Path, run_noctra: RunNoctra) -> None:
    import csv
    import io
    import json

    _examples(tmp_path)
    assert run_noctra("query", "SELECT count(*) FROM 'sales.csv'", cwd=tmp_path).returncode == 0
    run = run_noctra("cache", "show", "--format", fmt, cwd=tmp_path)
    if run.returncode == 2:
        return
    assert run.returncode == 0, run.stderr
    if fmt == "json":
        json.loads(run.stdout)
    else:
        header = next(csv.reader(io.StringIO(run.stdout)))
        assert header[:2] == ["kind", "of"], run.stdout


# --- USAGE.md "Completion": "after ... a table alias of the statement (`FROM sales s` … `s.`): its
# columns"; "elsewhere: the columns of the tables the statement names" --------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("SELECT * FROM customers c WHERE c.", "country"), ("SELECT * FROM customers WHERE coun", "country")],
)
def test_completion_knows_the_table_named_like_its_database_source(
    text: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from noctra.repl.completer import CatalogCache, candidates
    from noctra.session import Session

    _examples(tmp_path)
    monkeypatch.chdir(tmp_path)
    with Session(state_path=tmp_path / "session.toml") as session:
        session.use("customers.db")  # alias from the stem: customers, as `noctra repl customers.db` does
        assert session.sql("SELECT count(*) FROM customers c WHERE c.country = 'AR'").rows(1) == [(1,)]
        found = [c.text for c in candidates(text, CatalogCache(session), requested=True)]
        assert expected in found, found


# --- RQL_EXTENSIONS.md: `.parquet .pq` are Parquet; "Any file can be queried by its quoted path" ----


@pytest.mark.parametrize("name", ["'data.pq'", "data.pq"])
def test_a_pq_file_can_be_queried_by_its_path(name: str, tmp_path: Path, run_noctra: RunNoctra) -> None:
    made = run_noctra(
        "--fresh", "query", "EXPORT (SELECT 1 AS a UNION ALL SELECT 2) TO 'data.pq'", cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    used = run_noctra(
        "--fresh", "query", "--format", "csv", "USE 'data.pq'; SELECT count(*) AS n FROM data", cwd=tmp_path
    )
    assert used.stdout == "n\n2\n", used.stderr
    run = run_noctra("--fresh", "query", "--format", "csv", f"SELECT count(*) AS n FROM {name}", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "n\n2\n"


# --- RQL_EXTENSIONS.md options: "all | `format` = 'csv', ..., 'parquet', ... (overrides the extension)" --


@pytest.mark.parametrize("name", ["prices.dat", "prices.parquet"])
def test_format_parquet_option_reads_a_parquet_file(name: str, tmp_path: Path, run_noctra: RunNoctra) -> None:
    shutil.copy(EXAMPLES / "products.parquet", tmp_path / name)
    sql = f"USE '{name}' AS p OPTIONS (format = 'parquet'); SELECT count(*) AS n FROM p"
    run = run_noctra("--fresh", "query", "--format", "csv", sql, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "n\n3\n"


def test_format_csv_on_a_parquet_file_gives_a_hint_that_applies(
    tmp_path: Path, run_noctra: RunNoctra
) -> None:
    _examples(tmp_path)
    run = run_noctra("--fresh", "query", "USE 'products.parquet' AS p OPTIONS (format = 'csv')", cwd=tmp_path)
    assert run.returncode == 1
    assert "rename it to products.parquet" not in run.stderr, run.stderr
    assert "format" in run.stderr.split("hint:")[-1], run.stderr


# --- RQL_EXTENSIONS.md: `.csv ...` (also `.gz`, `.zst`, `.bz2`) are CSV --------------------------------


def test_bz2_csv_is_read_or_refused_by_name(tmp_path: Path, run_noctra: RunNoctra) -> None:
    import bz2

    (tmp_path / "sales.csv.bz2").write_bytes(bz2.compress((EXAMPLES / "sales.csv").read_bytes()))
    run = run_noctra(
        "--fresh",
        "query",
        "--format",
        "csv",
        "USE 'sales.csv.bz2' AS s; SELECT count(*) AS n FROM s",
        cwd=tmp_path,
    )
    if run.returncode == 0:
        assert run.stdout == "n\n6\n"
    else:
        assert "bz2" in run.stderr.lower() or "compress" in run.stderr.lower(), run.stderr
        assert "delimiter" not in run.stderr, run.stderr


# --- RQL_EXTENSIONS.md "Export": the options of each format ------------------------------------------


def test_json_partition_by_works_or_is_refused_by_noctra(tmp_path: Path, run_noctra: RunNoctra) -> None:
    _examples(tmp_path)
    sql = "EXPORT (SELECT * FROM 'sales.csv') TO 'by_product' FORMAT JSON OPTIONS (partition_by (product))"
    run = run_noctra("--fresh", "query", sql, cwd=tmp_path)
    if run.returncode == 0:
        assert sorted(p.name for p in (tmp_path / "by_product").iterdir())[0] == "product=Gadget"
        return
    assert "Binder Error" not in run.stderr, run.stderr
    listed = run_noctra(
        "--fresh", "query", "EXPORT (SELECT 1 AS a) TO 'x.json' OPTIONS (bogus = 1)", cwd=tmp_path
    )
    assert "partition_by" not in listed.stderr, listed.stderr


# --- RQL_EXTENSIONS.md Excel: "A workbook saved again is read again at the next statement: new sheets
# appear, gone ones go"; "SHOW TABLES FROM book lists them and DESCRIBE book.Q1 describes one" ----------


@pytest.mark.parametrize("statement", ["SHOW TABLES FROM b", "DESCRIBE b.Q3"])
def test_workbook_saved_again_is_read_again_by_show_tables_and_describe(
    statement: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import openpyxl

    from noctra.session import Session

    monkeypatch.chdir(tmp_path)
    book = tmp_path / "book.xlsx"
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Q1"
    first.append(["region", "amount"])
    first.append(["north", 10])
    workbook.save(book)
    with Session(state_path=tmp_path / "session.toml") as session:
        session.use("book.xlsx", "b")
        assert [row[0] for row in session.sql("SHOW TABLES FROM b").rows(10)] == ["Q1"]
        workbook = openpyxl.load_workbook(book)
        added = workbook.create_sheet("Q3")
        added.append(["code"])
        added.append(["x"])
        workbook.save(book)
        later = book.stat().st_mtime + 5
        os.utime(book, (later, later))
        rows = session.sql(statement).rows(10)
        if statement.startswith("SHOW"):
            assert [row[0] for row in rows] == ["Q1", "Q3"], rows
        else:
            assert [row[0] for row in rows] == ["code"], rows


# --- USAGE.md Lake tables: catalog-written Iceberg tables have no version-hint.text; "the ids:
# SELECT * FROM iceberg_snapshots('orders/metadata/<newest>.metadata.json')" --------------------------


@pytest.mark.xfail(
    strict=True,
    reason="an unknown snapshot_id on a catalog-written Iceberg table gets the hint "
    "\"SELECT ... FROM iceberg_snapshots('table folder') lists them\", which fails on such a table "
    "('no version-hint could be found'); the hint should name the newest metadata file, as USAGE.md does",
)
def test_unknown_snapshot_hint_gives_a_query_that_runs(tmp_path: Path, run_noctra: RunNoctra) -> None:
    import pyarrow as pa

    from tests.lake_tables import iceberg_catalog, write_iceberg

    catalog = iceberg_catalog(tmp_path / "cat", f"file://{tmp_path / 'wh'}")
    table = pa.table({"id": pa.array([1, 2], pa.int64())})
    iceberg = write_iceberg(catalog, "ns.orders", table, extra=table)
    folder = Path(iceberg.metadata_location.removeprefix("file://")).parent.parent
    assert not (folder / "metadata" / "version-hint.text").exists()
    run = run_noctra("--fresh", "query", f"USE '{folder}' AS o OPTIONS (snapshot_id = 1)", cwd=tmp_path)
    assert run.returncode == 1
    hint = run.stderr.split("hint: ", 1)[1].strip()
    assert "iceberg_snapshots(" in hint, run.stderr
    query = hint[hint.index("SELECT") :].split(" lists")[0]
    # The hint's query, as a user would paste it (with the table folder filled in where it says so).
    query = query.replace("'table folder'", f"'{folder}'")
    listed = run_noctra("--fresh", "query", "--format", "csv", query, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr


# --- USAGE.md: `.maxrows N` "(0 shows all)", and `noctra repl --max-rows` "sets the first .maxrows" ---


def test_max_rows_zero_means_the_same_in_query_and_repl(tmp_path: Path, run_noctra: RunNoctra) -> None:
    repl = run_noctra("repl", "--fresh", "--max-rows", "0", cwd=tmp_path, input="SELECT * FROM range(3);\n")
    assert "│     2 │" in repl.stdout, repl.stdout
    query = run_noctra("query", "--fresh", "--max-rows", "0", "SELECT * FROM range(3)", cwd=tmp_path)
    assert query.returncode == 0, query.stderr
    assert "│     2 │" in query.stdout, query.stdout
