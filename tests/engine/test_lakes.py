"""Delta and Iceberg tables (issue 16): found by their folder, read at their current version.

Tables are written by the real writers (`deltalake`, pyiceberg's SQL catalog) in several
commits ending in a delete, so a plain read of the folder's Parquet files would be wrong.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from noctra import Session
from noctra.config import Config, load_config
from noctra.errors import NoctraError
from noctra.output.model import Message
from noctra.quoting import quote_string
from tests.conftest import RunMain, RunNoctra, S3Server
from tests.lake_tables import (
    delta_options,
    iceberg_catalog,
    s3_properties,
    write_delta,
    write_iceberg,
)

SCHEMA = pa.schema(
    [
        ("id", pa.int32()),
        ("name", pa.string()),
        ("amount", pa.float64()),
        ("day", pa.date32()),
        ("seen_at", pa.timestamp("us")),
        ("part", pa.string()),
    ]
)
Row = tuple[int, str | None, float | None, dt.date, dt.datetime, str]
FIRST: list[Row] = [
    (1, "Smith, J", 10.5, dt.date(2024, 1, 31), dt.datetime(2024, 1, 31, 23, 59, 1), "a"),
    (2, 'Zoë "Z"', None, dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 0, 0, 0), "b"),
    (3, "Ωmega café", -3.25, dt.date(1999, 12, 31), dt.datetime(1999, 12, 31, 12, 30), "a"),
]
APPENDED: list[Row] = [
    (4, None, 0.0, dt.date(2030, 6, 1), dt.datetime(2030, 6, 1, 8, 0), "b"),
    (5, "Ann", 1e9, dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 0, 0, 0, 123456), "a"),
]
DELETED_ID = 2
CURRENT = sorted(r for r in FIRST + APPENDED if r[0] != DELETED_ID)
KINDS = ["delta", "iceberg"]
KIND_NAMES = {"delta": "Delta", "iceberg": "Iceberg"}


def arrow_of(rows: list[Row]) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in rows], schema=SCHEMA)


@dataclass(frozen=True, slots=True)
class Lake:
    """A lake table written in several commits: where it is, and how to commit more to it."""

    kind: str
    path: Path
    commit: Callable[[str, list[Row]], None]  # ("append"|"overwrite"|"delete", rows or ids)


def make_delta(path: Path) -> Lake:
    write_delta(
        str(path),
        arrow_of(FIRST),
        extra=arrow_of(APPENDED),
        delete=f"id = {DELETED_ID}",
        partition_by=["part"],
    )

    def commit(action: str, rows: list[Row]) -> None:
        from deltalake import DeltaTable, write_deltalake

        if action == "delete":
            DeltaTable(str(path)).delete(" OR ".join(f"id = {r[0]}" for r in rows))
        else:
            write_deltalake(str(path), arrow_of(rows), mode=action, partition_by=["part"])  # type: ignore[call-overload]

    return Lake("delta", path, commit)


def make_iceberg(path: Path) -> Lake:
    catalog = iceberg_catalog(path.parent / "catalog", f"file://{path.parent / 'warehouse'}")
    table = write_iceberg(
        catalog, f"ns.{path.name}", arrow_of(FIRST), extra=arrow_of(APPENDED), delete=f"id == {DELETED_ID}"
    )
    (path.parent / "warehouse" / "ns" / path.name).rename(path)
    # The metadata holds absolute paths: the table stays where pyiceberg wrote it, linked.
    (path.parent / "warehouse" / "ns" / path.name).symlink_to(path)
    name = f"ns.{path.name}"

    def commit(action: str, rows: list[Row]) -> None:
        fresh = catalog.load_table(name)
        if action == "append":
            fresh.append(arrow_of(rows))
        elif action == "overwrite":
            fresh.overwrite(arrow_of(rows))
        else:
            fresh.delete(" or ".join(f"id == {r[0]}" for r in rows))

    assert table.metadata_location.endswith(".metadata.json")
    return Lake("iceberg", path, commit)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(params=KINDS)
def lake(request: pytest.FixtureRequest, workdir: Path) -> Lake:
    """A Delta or an Iceberg table at workdir/events, holding CURRENT (and deleted rows on disk)."""
    maker = make_delta if request.param == "delta" else make_iceberg
    return maker(workdir / "events")


def config_for(workdir: Path, environ: dict[str, str] | None = None) -> Config:
    return load_config(environ={**(environ or {}), "XDG_CONFIG_HOME": str(workdir / "no-config")})


@pytest.fixture
def opened(workdir: Path) -> Callable[..., Session]:
    """Sessions saving to (and restoring from) one state file in workdir."""

    def make(*, restore: bool = False) -> Session:
        return Session(state_path=workdir / "state.toml", config=config_for(workdir), restore=restore)

    return make


def rows_of(session: Session, sql: str) -> list[tuple[object, ...]]:
    table = session.sql(sql).arrow()
    return [tuple(r.values()) for r in table.to_pylist()]


def messages(session: Session, script: str) -> list[str]:
    return [o.text for o in session.execute(script) if isinstance(o, Message)]


# --- reading ---------------------------------------------------------------------------------


def test_the_folder_holds_rows_the_table_does_not(lake: Lake) -> None:
    """A plain read of the Parquet files gives the deleted row back: the tests below would see it."""
    pattern = str(lake.path / "**" / "*.parquet")
    with duckdb.connect() as con:
        ids = [r[0] for r in con.execute(f"SELECT id FROM read_parquet({quote_string(pattern)})").fetchall()]
    assert DELETED_ID in ids


def test_use_finds_the_kind_and_reads_the_current_version(lake: Lake, opened: Callable[..., Session]) -> None:
    with opened() as session:
        shown = messages(session, "USE 'events' AS ev")
        assert shown[0].startswith(f"ev: {KIND_NAMES[lake.kind]}, 6 columns, ")
        assert rows_of(session, "SELECT * FROM ev ORDER BY id") == CURRENT


@pytest.mark.parametrize("how", ["detected", "forced"])
def test_show_sources_and_describe(lake: Lake, opened: Callable[..., Session], how: str) -> None:
    options = f" OPTIONS (format = '{lake.kind}')" if how == "forced" else ""
    with opened() as session:
        session.execute(f"USE 'events' AS ev{options}")
        alias, kind, path, size, status, current, *_ = session.sql("SHOW SOURCES").rows(10)[0]
        assert (alias, kind, path, status, current) == ("ev", KIND_NAMES[lake.kind], "events", "ok", "*")
        assert isinstance(size, str) and size.endswith("KB")
        described = [(r[0], r[1]) for r in session.sql("DESCRIBE ev").rows(10)]
    assert described == [
        ("id", "INTEGER"),
        ("name", "VARCHAR"),
        ("amount", "DOUBLE"),
        ("day", "DATE"),
        ("seen_at", "TIMESTAMP"),
        ("part", "VARCHAR"),
    ]


CHANGES: list[tuple[str, list[Row]]] = [
    ("append", [(9, "new", 9.0, dt.date(2025, 1, 1), dt.datetime(2025, 1, 1), "b")]),
    ("delete", [CURRENT[0]]),
    ("overwrite", [(7, "only", None, dt.date(2025, 7, 7), dt.datetime(2025, 7, 7), "a")]),
]


def after(action: str, rows: list[Row], before: list[Row]) -> list[Row]:
    if action == "append":
        return sorted(before + rows)
    if action == "delete":
        gone = {r[0] for r in rows}
        return [r for r in before if r[0] not in gone]
    return sorted(rows)


@pytest.mark.parametrize(("action", "rows"), CHANGES, ids=[c[0] for c in CHANGES])
def test_a_new_commit_is_seen_in_the_session_and_after_restore(
    lake: Lake, opened: Callable[..., Session], action: str, rows: list[Row]
) -> None:
    with opened() as session:
        session.execute("USE 'events' AS ev")
        assert rows_of(session, "SELECT * FROM ev ORDER BY id") == CURRENT
        lake.commit(action, rows)
        expected = after(action, rows, CURRENT)
        assert rows_of(session, "SELECT * FROM ev ORDER BY id") == expected
        assert session.sql("SHOW SOURCES").rows(1)[0][4] == "ok"
    lake.commit("append", APPENDED[:1] if action == "delete" else [])
    if action == "delete":
        expected = sorted(expected + APPENDED[:1])
    with opened(restore=True) as restored:
        assert rows_of(restored, "SELECT * FROM ev ORDER BY id") == expected
        assert restored.sql("SHOW SOURCES").rows(1)[0][1] == KIND_NAMES[lake.kind]


def test_a_lake_folder_quoted_in_from_reads_the_table(lake: Lake, opened: Callable[..., Session]) -> None:
    with opened() as session:
        assert rows_of(session, "SELECT * FROM 'events' ORDER BY id") == CURRENT
        assert rows_of(session, "SELECT count(*) FROM 'events' a JOIN 'events' b USING (id)") == [
            (len(CURRENT),)
        ]
        assert session.sql("SHOW SOURCES").rows(10) == []


def test_join_with_a_csv_and_a_sqlite_table(
    lake: Lake, opened: Callable[..., Session], workdir: Path
) -> None:
    (workdir / "names.csv").write_text("id,label\n1,uno\n3,tres\n5,cinco\n", encoding="utf-8")
    with sqlite3.connect(workdir / "crm.db") as conn:
        conn.execute("CREATE TABLE owners (id INTEGER, owner TEXT)")
        conn.executemany("INSERT INTO owners VALUES (?, ?)", [(1, "Zoë"), (2, "Bo"), (5, "Ωmar")])
    conn.close()
    with opened() as session:
        session.execute("USE 'names.csv' AS names; USE 'crm.db' AS crm; USE 'events' AS ev")
        got = rows_of(
            session,
            "SELECT ev.id, names.label, o.owner FROM ev JOIN names USING (id) "
            "LEFT JOIN crm.owners o USING (id) ORDER BY ev.id",
        )
    assert got == [(1, "uno", "Zoë"), (3, "tres", None), (5, "cinco", "Ωmar")]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_alias_reads_back(lake: Lake, opened: Callable[..., Session], workdir: Path, fmt: str) -> None:
    with opened() as session:
        session.execute(f"USE 'events' AS ev; EXPORT ev TO 'out.{fmt}'")
    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    with duckdb.connect() as con:
        got = con.execute(
            f"SELECT id, name, amount, day, seen_at, part FROM {reader}(?) ORDER BY id",
            [str(workdir / f"out.{fmt}")],
        ).fetchall()
    assert got == CURRENT


def first_snapshot(lake: Lake) -> int:
    with duckdb.connect() as con:
        from noctra.engine.duck.extensions import extension_path

        for name in ("avro", "iceberg"):
            con.execute(f"LOAD {quote_string(extension_path(name))}")
        metadata = sorted((lake.path / "metadata").glob("*.metadata.json"))[-1]
        row = con.execute(
            "SELECT snapshot_id FROM iceberg_snapshots(?) ORDER BY sequence_number", [str(metadata)]
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_time_travel_option_survives_a_restore(lake: Lake, opened: Callable[..., Session]) -> None:
    option = "version = 0" if lake.kind == "delta" else f"snapshot_id = {first_snapshot(lake)}"
    with opened() as session:
        session.execute(f"USE 'events' AS old OPTIONS ({option})")
        assert rows_of(session, "SELECT * FROM old ORDER BY id") == FIRST
    with opened(restore=True) as restored:
        assert rows_of(restored, "SELECT * FROM old ORDER BY id") == FIRST


def test_one_iceberg_version_by_its_metadata_file(opened: Callable[..., Session], workdir: Path) -> None:
    lake = make_iceberg(workdir / "events")
    first = sorted((lake.path / "metadata").glob("00001-*.metadata.json"))[0]
    with opened() as session:
        session.execute(f"USE {quote_string(str(first))} AS v1 OPTIONS (format = 'iceberg')")
        assert rows_of(session, "SELECT * FROM v1 ORDER BY id") == FIRST


def test_iceberg_metadata_named_v1_v2_is_read_at_the_highest_number(
    workdir: Path, opened: Callable[..., Session]
) -> None:
    """Hadoop-style names (v9, v10: not in text order) and a version-hint.text, as Spark writes them."""
    lake = make_iceberg(workdir / "events")
    written = sorted((lake.path / "metadata").glob("*.metadata.json"))
    assert [p.name[:5] for p in written] == ["00000", "00001", "00002", "00003"]
    for number, path in enumerate(written, start=7):
        path.rename(path.with_name(f"v{number}.metadata.json"))
    (lake.path / "metadata" / "version-hint.text").write_text("10", encoding="utf-8")
    with opened() as session:
        session.execute("USE 'events' AS ev")
        assert rows_of(session, "SELECT * FROM ev ORDER BY id") == CURRENT


def test_the_extensions_load_only_when_a_lake_is_used(lake: Lake, opened: Callable[..., Session]) -> None:
    with opened() as session:
        session.sql("SELECT 1").rows(1)
        loaded = {
            r[0] for r in rows_of(session, "SELECT extension_name FROM duckdb_extensions() WHERE loaded")
        }
        assert not loaded & {"delta", "iceberg"}
        session.execute("USE 'events' AS ev")
        loaded = {
            r[0] for r in rows_of(session, "SELECT extension_name FROM duckdb_extensions() WHERE loaded")
        }
        assert lake.kind in loaded


def test_a_restored_lake_loads_its_extension_when_a_statement_names_it(
    lake: Lake, opened: Callable[..., Session]
) -> None:
    with opened() as session:
        session.execute("USE 'events' AS ev; USE 'events' AS ev2")
    with opened(restore=True) as restored:
        assert session_extensions(restored) & {"delta", "iceberg"} == set()
        # The catalog answers from the session file meanwhile.
        assert [c.name for c in restored.catalog().columns("ev")] == SCHEMA.names
        assert restored.sql("SHOW TABLES").rows(10) == [("ev2", KIND_NAMES[lake.kind], 6)]
        assert rows_of(restored, "SELECT count(*) FROM ev") == [(len(CURRENT),)]
        assert lake.kind in session_extensions(restored)
        assert rows_of(restored, "SELECT * FROM ev2 ORDER BY id") == CURRENT


def test_a_restored_lake_costs_start_up_nothing(
    lake: Lake, workdir: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    """Restoring it neither loads its extension nor binds a parameter (which imports pandas/pyarrow)."""
    saved = run_noctra("-c", "USE 'events' AS ev", cwd=workdir)
    assert saved.returncode == 0, saved.stderr
    code = (
        "import sys; from noctra.cli import main; main(['-c', 'SELECT 1']); "
        "print(sorted(m for m in ('pandas', 'pyarrow', 'deltalake', 'pyiceberg') if m in sys.modules))"
    )
    restored = subprocess.run(
        [sys.executable, "-c", code],
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=isolated_env,
        timeout=60,
        check=False,
    )
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.splitlines()[-1] == "[]"


def session_extensions(session: Session) -> set[str]:
    rows = rows_of(session, "SELECT extension_name FROM duckdb_extensions() WHERE loaded")
    return {str(r[0]) for r in rows}


# --- bad lakes: one line each, with the fix ----------------------------------------------------


def move_iceberg(workdir: Path, target: Path) -> None:
    """An Iceberg table copied away from the paths its metadata holds (which are then gone)."""
    make_iceberg(workdir / "written")
    (workdir / "written").rename(target)
    (workdir / "warehouse" / "ns" / "written").unlink()


def test_a_moved_iceberg_table_with_allow_moved_paths(workdir: Path, opened: Callable[..., Session]) -> None:
    move_iceberg(workdir, workdir / "moved")
    with opened() as session:
        session.execute("USE 'moved' AS m OPTIONS (allow_moved_paths = true)")
        assert rows_of(session, "SELECT * FROM m ORDER BY id") == CURRENT
    with opened(restore=True) as restored:
        assert rows_of(restored, "SELECT * FROM m ORDER BY id") == CURRENT


def damage(workdir: Path, how: str) -> str:
    """A broken or odd table folder at workdir/bad; returns the USE statement that reads it."""
    bad = workdir / "bad"
    if how == "iceberg-moved":
        move_iceberg(workdir, bad)
        return "USE 'bad'"
    if how.startswith("parent-of"):
        (make_delta if how == "parent-of-delta" else make_iceberg)(bad / "inner")
        return "USE 'bad'"
    if how.startswith("delta"):
        make_delta(bad)
    elif how.startswith("iceberg"):
        make_iceberg(bad)
    else:
        bad.mkdir()
        (bad / "notes.md").write_text("not data\n", encoding="utf-8")
    log = bad / "_delta_log"
    if how == "delta-empty-log":
        for entry in log.iterdir():
            entry.unlink()
    elif how == "delta-corrupt-log":
        (log / "00000000000000000000.json").write_text("garbage{", encoding="utf-8")
    elif how == "delta-no-such-version":
        return "USE 'bad' OPTIONS (version = 99)"
    elif how == "iceberg-no-metadata-json":
        for entry in (bad / "metadata").glob("*.metadata.json"):
            entry.unlink()
    elif how == "iceberg-corrupt-metadata":
        newest = sorted((bad / "metadata").glob("*.metadata.json"))[-1]
        newest.write_text("{not json", encoding="utf-8")
    elif how == "iceberg-no-such-snapshot":
        return "USE 'bad' OPTIONS (snapshot_id = 1)"
    elif how == "iceberg-forced-on-delta":
        shutil.rmtree(bad)
        make_delta(bad)
        return "USE 'bad' OPTIONS (format = 'iceberg')"
    elif how == "neither-forced-delta":
        return "USE 'bad' OPTIONS (format = 'delta')"
    elif how == "delta-unknown-option":
        return "USE 'bad' OPTIONS (snapshot_id = 3)"
    return "USE 'bad'"


BAD = [
    ("neither", "holds no CSV, Parquet or JSON files", "point USE at a file"),
    ("parent-of-delta", "holds a Delta table in 'inner'", "reads that table"),
    ("parent-of-iceberg", "holds an Iceberg table in 'inner'", "reads that table"),
    ("neither-forced-delta", "'bad' is not a Delta table: it has no _delta_log/ folder", "table's folder"),
    ("iceberg-forced-on-delta", "is not an Iceberg table", "OPTIONS (format = 'delta')"),
    ("delta-empty-log", "the Delta log (_delta_log/) holds no commit", "copy the whole table folder"),
    ("delta-corrupt-log", "the Delta log (_delta_log/) is corrupt", "copy the table again"),
    ("delta-no-such-version", "the Delta table has no version 99 (its latest is 2)", "0 to 2"),
    ("delta-unknown-option", "unknown Delta option 'snapshot_id'", "version"),
    ("iceberg-no-metadata-json", "metadata/ has no *.metadata.json file", "copy the whole table folder"),
    ("iceberg-corrupt-metadata", "is corrupt", "read one version"),
    ("iceberg-no-such-snapshot", "no snapshot with that id (1)", "iceberg_snapshots"),
    ("iceberg-moved", "files are not where its metadata says", "OPTIONS (allow_moved_paths = true)"),
]


@pytest.mark.parametrize(("how", "message", "hint"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_lake_is_one_line_with_a_hint(
    run_main: RunMain, tmp_path: Path, how: str, message: str, hint: str
) -> None:
    statement = damage(tmp_path, how)
    run = run_main("-c", statement)
    assert run.code == 1
    lines = run.err.strip().splitlines()
    assert len(lines) == 2, run.err
    assert lines[0].startswith("noctra: error:") and message in lines[0], lines[0]
    assert lines[1].startswith("hint:") and hint in lines[1], lines[1]


# --- S3 -------------------------------------------------------------------------------------


@pytest.fixture
def s3_session(s3_server: S3Server, workdir: Path) -> Iterator[Callable[..., Session]]:
    def make(*, restore: bool = False) -> Session:
        return Session(
            state_path=workdir / "state.toml",
            config=config_for(workdir, dict(s3_server.environ)),
            restore=restore,
        )

    yield make


S3_WAYS = {"forced": " OPTIONS (format = '{kind}')", "found": ""}


@pytest.mark.parametrize("how", S3_WAYS)
def test_delta_on_s3(s3_server: S3Server, s3_session: Callable[..., Session], how: str) -> None:
    bucket = s3_server.bucket(f"noctra-lake-{uuid.uuid4().hex[:8]}")
    uri = f"s3://{bucket}/tables/events"
    options = delta_options(s3_server.endpoint, s3_server.environ)
    write_delta(
        uri, arrow_of(FIRST), extra=arrow_of(APPENDED), delete=f"id = {DELETED_ID}", storage_options=options
    )
    with s3_session() as session:
        shown = messages(session, f"USE {quote_string(uri)} AS ev{S3_WAYS[how].format(kind='delta')}")
        assert shown == ["ev: Delta, 6 columns"]
        assert rows_of(session, "SELECT * FROM ev ORDER BY id") == CURRENT
        from deltalake import write_deltalake

        write_deltalake(uri, arrow_of(APPENDED[:1]), mode="append", storage_options=options)
        assert rows_of(session, "SELECT count(*) FROM ev") == [(len(CURRENT) + 1,)]
    with s3_session(restore=True) as restored:
        assert rows_of(restored, "SELECT count(*) FROM ev") == [(len(CURRENT) + 1,)]
        assert restored.sql("SHOW SOURCES").rows(1)[0][1:3] == ("Delta", uri)


@pytest.mark.parametrize("how", S3_WAYS)
def test_iceberg_on_s3(
    s3_server: S3Server, s3_session: Callable[..., Session], workdir: Path, how: str
) -> None:
    bucket = s3_server.bucket(f"noctra-lake-{uuid.uuid4().hex[:8]}")
    catalog = iceberg_catalog(
        workdir / "catalog",
        f"s3://{bucket}/warehouse",
        **s3_properties(s3_server.endpoint, s3_server.environ),
    )
    table = write_iceberg(
        catalog, "ns.events", arrow_of(FIRST), extra=arrow_of(APPENDED), delete=f"id == {DELETED_ID}"
    )
    uri = table.location()
    assert uri.startswith("s3://")
    with s3_session() as session:
        shown = messages(session, f"USE {quote_string(uri)} AS ev{S3_WAYS[how].format(kind='iceberg')}")
        assert shown == ["ev: Iceberg, 6 columns"]
        assert rows_of(session, "SELECT * FROM ev ORDER BY id") == CURRENT
    catalog.load_table("ns.events").append(arrow_of(APPENDED[:1]))
    with s3_session(restore=True) as restored:
        # A restored session looks for the newest metadata file again.
        assert rows_of(restored, "SELECT count(*) FROM ev") == [(len(CURRENT) + 1,)]


def test_an_s3_prefix_with_no_table_says_which_formats(
    s3_server: S3Server, s3_session: Callable[..., Session]
) -> None:
    bucket = s3_server.bucket(f"noctra-lake-{uuid.uuid4().hex[:8]}")
    s3_server.put(bucket, "tables/plain/part-0.parquet", b"PAR1")
    with s3_session() as session, pytest.raises(NoctraError) as caught:
        session.execute(f"USE 's3://{bucket}/tables/plain' AS p")
    assert caught.value.message == f"cannot tell the format of 's3://{bucket}/tables/plain' from its name"
    assert caught.value.hint is not None and "'delta'|'iceberg'" in caught.value.hint


def test_s3_not_reachable(run_main: RunMain, monkeypatch: pytest.MonkeyPatch) -> None:
    # Iceberg only: delta's own object store retries for ~8 s before it gives up.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDNOCTRATEST0001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "noctra-test-secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    run = run_main("-c", "USE 's3://lake/t' OPTIONS (format = 'iceberg')")
    assert run.code == 1
    lines = run.err.strip().splitlines()
    assert len(lines) == 2, run.err
    assert lines[0].startswith(
        "noctra: error: statement 1, line 1, column 1: cannot read 's3://lake/t' as Iceberg"
    )
    assert "nothing answered at http://127.0.0.1:9" in lines[1]
