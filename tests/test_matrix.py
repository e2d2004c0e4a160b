"""Acceptance matrix: every source kind × every road × each engine × fresh and restored sessions.

One small dataset (a comma, quotes and non-ASCII in a name, a NULL amount) is written
in every kind of source Noctra reads: a CSV file, a Parquet file, an NDJSON file, a glob
of two CSV files, a directory of two Parquet files, a SQLite table (reached as
`alias.table`, as `path::table` and as a bare table of the current database), a CSV
served over HTTP and a Parquet object in S3 (each by alias and as a quoted URL in FROM),
and Delta and Iceberg tables, local and in S3 (written by `deltalake` and pyiceberg in
several commits ending in a delete, so a plain read of their Parquet files would be wrong).
Each is read back every way a user can: the Python API (`.arrow()`), every `--format`
of the CLI, EXPORT to Parquet/CSV/JSON read back by DuckDB, `LET x = (SELECT ...)` and
`DESCRIBE (SELECT ...)` — in the session that registered the source and in a later
session restored from the saved state — with the engine chosen automatically, forced to
DuckDB (`SET engine = duckdb`) and, for SQLite sources, forced to native SQLite. The same
rows must come back every way. An Excel workbook (written by openpyxl, read by alias, as
`alias."sheet"` and quoted in FROM; Excel has no integers, so its id is cast), an Avro file
(fastavro) and a UTF-16 CSV are kinds too; latin-1 and windows-1252 CSVs, which cannot hold
"Ωmega", are read in tests/engine/test_fabric_files.py. A PostgreSQL and a MySQL (MariaDB)
server started by the tests hold the dataset as a table, reached as `alias.people` and as a
bare table of the current source (tests/db_servers.py; MySQL kinds skip without mysqld).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from noctra import Session
from noctra.config import Config, load_config
from tests.conftest import HttpServer, RunMain, S3Server
from tests.db_servers import PASSWORD, DbServer
from tests.lake_tables import delta_options, iceberg_catalog, s3_properties, write_delta, write_iceberg

Row = tuple[int, str, float | None]

COLUMNS = ["id", "name", "amount"]
ROWS: list[Row] = [
    (1, "Smith, J", 10.5),
    (2, 'Zoë "Z"', None),
    (3, "Ann", -3.25),
    (4, "Ωmega café", 20.0),
]
CSV_TEXT = 'id,name,amount\n1,"Smith, J",10.5\n2,"Zoë ""Z""",\n3,Ann,-3.25\n4,Ωmega café,20.0\n'
CSV_PART_1 = 'id,name,amount\n1,"Smith, J",10.5\n2,"Zoë ""Z""",\n'
CSV_PART_2 = "id,name,amount\n3,Ann,-3.25\n4,Ωmega café,20.0\n"


def sql_string(value: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def values_sql(rows: list[Row]) -> str:
    """A typed VALUES query over rows (id INTEGER, name VARCHAR, amount DOUBLE)."""
    parts = []
    for ident, name, amount in rows:
        shown = "NULL" if amount is None else repr(amount)
        parts.append(f"({ident}::INTEGER, {sql_string(name)}::VARCHAR, {shown}::DOUBLE)")
    return "SELECT * FROM (VALUES " + ", ".join(parts) + ") v(id, name, amount)"


def write_parquet(target: Path, rows: list[Row]) -> None:
    with duckdb.connect() as con:
        con.execute(f"COPY ({values_sql(rows)}) TO {sql_string(str(target))} (FORMAT parquet)")


# --- the dataset in every kind ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class World:
    """The local originals (copied into each test's directory) and the remote copies."""

    master: Path
    http_url: str
    s3_url: str
    s3_environ: dict[str, str]
    delta_s3_url: str
    iceberg_s3_url: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, http_server: HttpServer, s3_server: S3Server) -> World:
    master = tmp_path_factory.mktemp("matrix-data")
    (master / "data.csv").write_text(CSV_TEXT, encoding="utf-8")
    write_parquet(master / "data.parquet", ROWS)
    (master / "data.ndjson").write_text(
        "".join(json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False) + "\n" for row in ROWS),
        encoding="utf-8",
    )
    (master / "parts").mkdir()
    (master / "parts" / "part-1.csv").write_text(CSV_PART_1, encoding="utf-8")
    (master / "parts" / "part-2.csv").write_text(CSV_PART_2, encoding="utf-8")
    (master / "pqdir").mkdir()
    write_parquet(master / "pqdir" / "part-1.parquet", ROWS[:2])
    write_parquet(master / "pqdir" / "part-2.parquet", ROWS[2:])
    write_fabric_files(master)
    conn = sqlite3.connect(master / "people.db")
    with conn:
        conn.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, amount REAL)")
        conn.executemany("INSERT INTO people VALUES (?, ?, ?)", ROWS)
    conn.close()

    name = f"matrix-{uuid.uuid4().hex[:8]}.csv"
    (http_server.root / name).write_text(CSV_TEXT, encoding="utf-8")
    bucket = s3_server.bucket(f"noctra-matrix-{uuid.uuid4().hex[:8]}")
    s3_url = s3_server.put(bucket, "people/data.parquet", (master / "data.parquet").read_bytes())
    delta_s3_url, iceberg_s3_url = write_lakes(master, s3_server, bucket)
    return World(master, http_server.url(name), s3_url, dict(s3_server.environ), delta_s3_url, iceberg_s3_url)


def lake_rows(rows: list[Row]) -> pa.Table:
    """The dataset as an Arrow table (id INTEGER, name VARCHAR, amount DOUBLE)."""
    schema = pa.schema([("id", pa.int32()), ("name", pa.string()), ("amount", pa.float64())])
    return pa.Table.from_pylist([dict(zip(COLUMNS, row, strict=True)) for row in rows], schema=schema)


def write_lakes(master: Path, s3_server: S3Server, bucket: str) -> tuple[str, str]:
    """Delta and Iceberg tables of the dataset, local (in master) and in the bucket; their S3 URLs.

    Each gets an extra row in a second commit, deleted in a third.
    """
    extra = lake_rows([(99, "deleted later", 1.0)])
    delete = "id = 99"
    write_delta(str(master / "lake-delta"), lake_rows(ROWS), extra=extra, delete=delete)
    delta_s3_url = f"s3://{bucket}/lakes/delta-people"
    write_delta(
        delta_s3_url,
        lake_rows(ROWS),
        extra=extra,
        delete=delete,
        storage_options=delta_options(s3_server.endpoint, s3_server.environ),
    )
    local = iceberg_catalog(master / "iceberg-catalog", f"file://{master / 'iceberg'}")
    write_iceberg(local, "ns.people", lake_rows(ROWS), extra=extra, delete="id == 99")
    remote = iceberg_catalog(
        master.parent / f"{master.name}-s3-catalog",
        f"s3://{bucket}/lakes/iceberg",
        **s3_properties(s3_server.endpoint, s3_server.environ),
    )
    table = write_iceberg(remote, "ns.people", lake_rows(ROWS), extra=extra, delete="id == 99")
    return delta_s3_url, table.location()


AVRO_SCHEMA = {
    "type": "record",
    "name": "Person",
    "fields": [
        {"name": "id", "type": "int"},
        {"name": "name", "type": "string"},
        {"name": "amount", "type": ["null", "double"]},
    ],
}


def write_fabric_files(master: Path) -> None:
    """The dataset as a workbook (a second sheet after it), an Avro file and a UTF-16 CSV (BOM)."""
    import fastavro
    import openpyxl

    workbook = openpyxl.Workbook()
    people = workbook.active
    assert people is not None
    people.title = "People 2024"
    people.append(COLUMNS)
    for row in ROWS:
        people.append(list(row))
    workbook.create_sheet("Notes").append(["note"])
    workbook.save(master / "data.xlsx")
    with (master / "data.avro").open("wb") as handle:
        fastavro.writer(handle, AVRO_SCHEMA, [dict(zip(COLUMNS, row, strict=True)) for row in ROWS])
    (master / "data-utf16.csv").write_bytes(CSV_TEXT.encode("utf-16"))


# Excel stores every number as a double: the workbook's id is cast back to the dataset's INTEGER.
EXCEL_ROWS = "(SELECT CAST(id AS INTEGER) AS id, name, amount FROM {})"


@dataclass(frozen=True, slots=True)
class Kind:
    """How a user registers a source (setup RQL, maybe empty) and names it in FROM.

    ``engine`` is the engine mode the roads run under (auto, duckdb or sqlite).
    """

    setup: str
    from_: str
    engine: str = "auto"

    @property
    def engine_sql(self) -> str:
        """The statement that chooses the engine ('' for auto, the default)."""
        return "" if self.engine == "auto" else f"SET engine = {self.engine}"


def kinds(world: World) -> dict[str, Kind]:
    return {
        "csv": Kind("USE 'data.csv' AS src", "src"),
        "parquet": Kind("USE 'data.parquet' AS src", "src"),
        "ndjson": Kind("USE 'data.ndjson' AS src", "src"),
        "glob": Kind("USE 'parts/*.csv' AS src", "src"),
        "directory": Kind("USE 'pqdir' AS src", "src"),
        "sqlite-alias.table": Kind("USE 'people.db' AS crm", "crm.people"),
        "sqlite-path::table": Kind("", "people.db::people"),
        "sqlite-bare-table": Kind("USE 'people.db' AS crm", "people"),
        "http-alias": Kind(f"USE {sql_string(world.http_url)} AS web", "web"),
        "http-quoted-url": Kind("", sql_string(world.http_url)),
        "s3-alias": Kind(f"USE {sql_string(world.s3_url)} AS lake", "lake"),
        "s3-quoted-url": Kind("", sql_string(world.s3_url)),
        "xlsx": Kind("USE 'data.xlsx' AS src", EXCEL_ROWS.format("src")),
        "xlsx-sheet": Kind("USE 'data.xlsx' AS book", EXCEL_ROWS.format('book."People 2024"')),
        "xlsx-quoted": Kind("", EXCEL_ROWS.format("'data.xlsx'")),
        "avro": Kind("USE 'data.avro' AS src", "src"),
        "avro-quoted": Kind("", "'data.avro'"),
        "csv-utf16": Kind("USE 'data-utf16.csv' AS src OPTIONS (encoding = 'utf-16')", "src"),
        "delta": Kind("USE 'lake-delta' AS src", "src"),
        "iceberg": Kind("USE 'iceberg/ns/people' AS src", "src"),
        "delta-s3": Kind(f"USE {sql_string(world.delta_s3_url)} AS lake OPTIONS (format = 'delta')", "lake"),
        "iceberg-s3": Kind(
            f"USE {sql_string(world.iceberg_s3_url)} AS lake OPTIONS (format = 'iceberg')", "lake"
        ),
    }


KINDS = [
    "csv",
    "parquet",
    "ndjson",
    "glob",
    "directory",
    "sqlite-alias.table",
    "sqlite-path::table",
    "sqlite-bare-table",
    "http-alias",
    "http-quoted-url",
    "s3-alias",
    "s3-quoted-url",
    "xlsx",
    "xlsx-sheet",
    "xlsx-quoted",
    "avro",
    "avro-quoted",
    "csv-utf16",
    "delta",
    "iceberg",
    "delta-s3",
    "iceberg-s3",
]
# PostgreSQL and MySQL databases (not SQLite: the native SQLite engine never reads them).
SERVER_KINDS = ["postgres-alias.table", "postgres-bare-table", "mysql-alias.table", "mysql-bare-table"]
KINDS += SERVER_KINDS
SQLITE_KINDS = [k for k in KINDS if k.startswith("sqlite")]
# Only DuckDB reads a lake table, so auto is DuckDB for them: forcing it again would run
# the same path twice, at ~1 s a test of loading the delta/iceberg extensions.
LAKE_KINDS = ["delta", "iceberg", "delta-s3", "iceberg-s3"]
# auto everywhere; DuckDB forced everywhere but lakes; native SQLite forced where a SQLite source is read.
CASES = (
    [(k, "auto") for k in KINDS]
    + [(k, "duckdb") for k in KINDS if k not in LAKE_KINDS]
    + [(k, "sqlite") for k in SQLITE_KINDS]
)
MODES = ["fresh", "restored"]


def server_people(server: DbServer) -> DbServer:
    """The dataset as table people (id, name, amount) in the server's matrix database."""
    amount = "double precision" if server.kind == "postgres" else "double"
    charset = "" if server.kind == "postgres" else " DEFAULT CHARSET = utf8mb4"
    values = ", ".join(
        f"({i}, {sql_string(name)}, {'NULL' if value is None else repr(value)})" for i, name, value in ROWS
    )
    server.execute(
        "matrix",
        "DROP TABLE IF EXISTS people",
        f"CREATE TABLE people (id int PRIMARY KEY, name text, amount {amount}){charset}",
        f"INSERT INTO people VALUES {values}",
    )
    return server


@pytest.fixture(scope="module")
def postgres_people(postgres_server: DbServer) -> DbServer:
    return server_people(postgres_server)


@pytest.fixture(scope="module")
def mysql_people(mysql_server: DbServer) -> DbServer:
    return server_people(mysql_server)


def server_kinds(
    request: pytest.FixtureRequest, name: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Kind]:
    """The database-server kinds: the server is started (or the kind skipped) only when asked for."""
    scheme = name.split("-", 1)[0]
    server: DbServer = request.getfixturevalue(f"{scheme}_people")
    # The password comes from the environment, as a user would keep it (the session file never has it).
    monkeypatch.setenv("PGPASSWORD" if scheme == "postgres" else "MYSQL_PWD", PASSWORD)
    use = f"USE {sql_string(server.url('matrix'))} AS db"
    return {f"{scheme}-alias.table": Kind(use, "db.people"), f"{scheme}-bare-table": Kind(use, "people")}


@pytest.fixture(params=CASES, ids=[f"{k}-{e}" for k, e in CASES])
def kind(request: pytest.FixtureRequest, world: World, monkeypatch: pytest.MonkeyPatch) -> Kind:
    """Each source kind in turn, under each engine mode that can read it."""
    name, engine = request.param
    chosen = server_kinds(request, name, monkeypatch) if name in SERVER_KINDS else kinds(world)
    base = chosen[name]
    return Kind(base.setup, base.from_, engine)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """ "fresh": the roads run in the session that ran the setup; "restored": in a later one."""
    mode: str = request.param
    return mode


def query_for(kind: Kind) -> str:
    return f"SELECT id, name, amount FROM {kind.from_} ORDER BY id"


@pytest.fixture
def workdir(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: dict[str, str]
) -> Path:
    """tmp_path (the current directory) holding a copy of every local source.

    The S3 server's variables are in the environment (for the CLI), and the XDG
    directories point into the test's own space.
    """
    shutil.copytree(world.master, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    for key, value in world.s3_environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("NOCTRA_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", isolated_env["XDG_CONFIG_HOME"])
    monkeypatch.setenv("XDG_STATE_HOME", isolated_env["XDG_STATE_HOME"])
    monkeypatch.setenv("XDG_CACHE_HOME", str(Path(isolated_env["XDG_STATE_HOME"]).parent / "cache"))
    return tmp_path


# --- the Python API in a fresh or a restored session ---------------------------------------


def api_config(world: World, workdir: Path) -> Config:
    environ = {**world.s3_environ, "XDG_CONFIG_HOME": str(workdir / "no-config")}
    return load_config(environ=environ)


SessionOpener = Callable[[Kind, str], AbstractContextManager[Session]]


@pytest.fixture
def open_session(world: World, workdir: Path) -> SessionOpener:
    """A session where `kind`'s setup ran: in the same session (fresh) or in an earlier one."""
    state_path = workdir / "state" / "session.toml"
    config = api_config(world, workdir)

    @contextmanager
    def opened(kind: Kind, mode: str) -> Iterator[Session]:
        if mode == "fresh":
            with Session(state_path=state_path, config=config) as session:
                if kind.setup:
                    session.execute(kind.setup)
                if kind.engine_sql:
                    session.execute(kind.engine_sql)
                yield session
            return
        with Session(state_path=state_path, config=config) as first:
            if kind.setup:
                first.execute(kind.setup)
        with Session(state_path=state_path, config=config, restore=True) as session:
            if kind.engine_sql:
                session.execute(kind.engine_sql)  # SET is not part of the saved session
            yield session

    return opened


def normalised(rows: list[tuple[Any, ...]]) -> list[Row]:
    """Rows as (int, str, float | None), failing on anything that is not such a value."""
    out: list[Row] = []
    for ident, name, amount in rows:
        assert isinstance(ident, int), f"id {ident!r} is not an integer"
        assert isinstance(name, str), f"name {name!r} is not text"
        assert amount is None or isinstance(amount, int | float), f"amount {amount!r} is not a number"
        out.append((ident, name, None if amount is None else float(amount)))
    return out


def test_arrow(open_session: SessionOpener, kind: Kind, mode: str) -> None:
    with open_session(kind, mode) as session:
        result = session.sql(query_for(kind))
        table = result.arrow()
        if kind.engine != "auto":
            assert result.engine == kind.engine
        assert table.column_names == COLUMNS
        rows = [tuple(r[c] for c in COLUMNS) for r in table.to_pylist()]
        assert normalised(rows) == ROWS


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_export_reads_back(
    workdir: Path, open_session: SessionOpener, kind: Kind, mode: str, fmt: str
) -> None:
    target = workdir / f"out.{fmt}"
    with open_session(kind, mode) as session:
        session.execute(f"EXPORT ({query_for(kind)}) TO 'out.{fmt}'")
    assert target.is_file(), f"EXPORT wrote no {target.name}"
    reader = {"parquet": "read_parquet", "csv": "read_csv", "json": "read_json"}[fmt]
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT id, name, amount FROM {reader}({sql_string(str(target))}) ORDER BY id"
        ).fetchall()
    assert normalised(rows) == ROWS


def test_let_from_a_query(open_session: SessionOpener, kind: Kind, mode: str) -> None:
    with open_session(kind, mode) as session:
        session.execute(
            f"LET n = (SELECT count(*) FROM {kind.from_}); LET s = (SELECT sum(id) FROM {kind.from_})"
        )
        count, total = len(ROWS), sum(row[0] for row in ROWS)
        shown = {name: str(value) for name, _type, value in session.sql("SHOW VARS").rows(10)}
        assert shown == {"n": str(count), "s": str(total)}
        if kind.engine == "sqlite":
            # Forced native SQLite runs a table-less SELECT on the current SQLite source only.
            session.execute("SET engine = auto")
        assert session.sql("SELECT #n AS n, #s AS s").rows(10) == [(count, total)]


def test_describe_a_query(open_session: SessionOpener, kind: Kind, mode: str) -> None:
    with open_session(kind, mode) as session:
        rows = session.sql(f"DESCRIBE (SELECT id, name, amount FROM {kind.from_})").rows(10)
        assert [row[0] for row in rows] == COLUMNS


# --- the CLI, every output format ----------------------------------------------------------


def parse_number(text: str) -> float:
    return float(text)


def from_text_cells(cells: list[str], null: str) -> Row:
    """A row from its printed cells; `null` is how this format prints NULL."""
    ident, name, amount = cells
    if amount == null:
        return (int(ident), name, None)
    return (int(ident), name, parse_number(amount))


def parse_delimited(out: str, delimiter: str) -> list[Row]:
    records = list(csv.reader(io.StringIO(out, newline=""), delimiter=delimiter))
    assert records[0] == COLUMNS, out
    return [from_text_cells(cells, "") for cells in records[1:]]


def parse_objects(objects: list[dict[str, Any]]) -> list[Row]:
    for obj in objects:
        assert list(obj) == COLUMNS, obj
    return normalised([tuple(obj[c] for c in COLUMNS) for obj in objects])


def parse_boxed(out: str, bar: str) -> list[Row]:
    """Rows of a boxed table (│) or a markdown table (|): header first, rule lines skipped."""
    lines = [line for line in out.splitlines() if line.startswith(bar)]
    cells = [[cell.strip() for cell in line.split(bar)[1:-1]] for line in lines]
    cells = [row for row in cells if not all(set(c) <= set("-: ") for c in row)]
    assert cells and cells[0] == COLUMNS, out
    return [from_text_cells(row, "NULL") for row in cells[1:]]


def parse_output(fmt: str, out: str) -> list[Row]:
    if fmt == "csv":
        return parse_delimited(out, ",")
    if fmt == "tsv":
        return parse_delimited(out, "\t")
    if fmt == "json":
        return parse_objects(json.loads(out))
    if fmt == "jsonl":
        return parse_objects([json.loads(line) for line in out.splitlines() if line.strip()])
    if fmt == "markdown":
        return parse_boxed(out, "|")
    return parse_boxed(out, "│")


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json", "jsonl", "markdown"])
@pytest.mark.usefixtures("workdir")
def test_cli_format(run_main: RunMain, kind: Kind, mode: str, fmt: str) -> None:
    query = query_for(kind)
    if mode == "fresh":
        script = "; ".join(s for s in (kind.setup, kind.engine_sql, query) if s)
    else:
        if kind.setup:
            setup = run_main("-c", kind.setup)
            assert setup.code == 0, setup.err
        script = "; ".join(s for s in (kind.engine_sql, query) if s)
    run = run_main("-c", script, "--format", fmt, "--debug")
    assert run.code == 0, run.err
    assert "noctra: error" not in run.err
    assert parse_output(fmt, run.out) == ROWS
    if kind.engine != "auto":
        # --debug names the engine each statement ran in; the query is the last one.
        assert run.err.splitlines()[-1].startswith(
            f"debug: statement {script.count(';') + 1} ran in {kind.engine}"
        )


# --- the originals really hold the dataset --------------------------------------------------


def test_every_original_holds_the_dataset(world: World, s3_server: S3Server) -> None:
    master = world.master
    with duckdb.connect() as con:
        for reader in (
            f"read_csv({sql_string(str(master / 'data.csv'))})",
            f"read_parquet({sql_string(str(master / 'data.parquet'))})",
            f"read_json({sql_string(str(master / 'data.ndjson'))})",
            f"read_csv({sql_string(str(master / 'parts' / '*.csv'))})",
            f"read_parquet({sql_string(str(master / 'pqdir' / '*.parquet'))})",
        ):
            rows = con.execute(f"SELECT id, name, amount FROM {reader} ORDER BY id").fetchall()
            assert normalised(rows) == ROWS, reader
    conn = sqlite3.connect(master / "people.db")
    try:
        rows = conn.execute("SELECT id, name, amount FROM people ORDER BY id").fetchall()
    finally:
        conn.close()
    assert normalised(rows) == ROWS
    with urllib.request.urlopen(world.http_url) as response:
        assert response.read() == CSV_TEXT.encode("utf-8")
    bucket, key = world.s3_url.removeprefix("s3://").split("/", 1)
    body = s3_server.client.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == (master / "data.parquet").read_bytes()


def test_every_lake_holds_the_dataset_and_a_deleted_row(world: World) -> None:
    """Read by their own libraries, the lake tables hold the dataset; their Parquet files, one more row."""
    from deltalake import DeltaTable
    from pyiceberg.table import StaticTable

    options = delta_options(world.s3_environ["AWS_ENDPOINT_URL"], world.s3_environ)
    for uri, storage in ((str(world.master / "lake-delta"), None), (world.delta_s3_url, options)):
        table = DeltaTable(uri, storage_options=storage).to_pyarrow_table()
        rows = sorted(tuple(r[c] for c in COLUMNS) for r in table.to_pylist())
        assert normalised(rows) == ROWS, uri
    metadata = sorted((world.master / "iceberg" / "ns" / "people" / "metadata").glob("*.metadata.json"))
    rows = sorted(
        tuple(r[c] for c in COLUMNS)
        for r in StaticTable.from_metadata(str(metadata[-1])).scan().to_arrow().to_pylist()
    )
    assert normalised(rows) == ROWS
    pattern = str(world.master / "lake-delta" / "*.parquet")
    with duckdb.connect() as con:
        ids = [r[0] for r in con.execute("SELECT id FROM read_parquet(?)", [pattern]).fetchall()]
    assert 99 in ids


def test_every_fabric_original_holds_the_dataset(world: World) -> None:
    """The workbook, the Avro file and the UTF-16 CSV hold the dataset, read by their own libraries."""
    import fastavro
    import openpyxl

    sheet = openpyxl.load_workbook(world.master / "data.xlsx")["People 2024"]
    cells = [tuple(cell.value for cell in row) for row in sheet.iter_rows()]
    assert cells[0] == tuple(COLUMNS)
    assert normalised(cells[1:]) == ROWS
    with (world.master / "data.avro").open("rb") as handle:
        assert normalised([tuple(r[c] for c in COLUMNS) for r in fastavro.reader(handle)]) == ROWS
    assert (world.master / "data-utf16.csv").read_bytes().decode("utf-16") == CSV_TEXT


# --- stored results (SPEC 4.5): the third run of a query is answered from its stored result --

# Kinds whose every input is a local file Noctra follows: their third run is served.
STORED_KINDS = {"csv", "parquet", "ndjson", "glob", "directory", "xlsx", "xlsx-quoted", "avro", "avro-quoted"}
STORED_KINDS |= {"csv-utf16"}


def test_stored_results_give_the_same_rows(
    world: World, workdir: Path, kind: Kind, mode: str, request: pytest.FixtureRequest
) -> None:
    """Three processes run the query (noted, stored, served): the same rows every time, and a
    stored result only for local files (never SQLite, servers, remote files or lakes)."""
    name, _ = request.node.callspec.params["kind"]
    environ = {**world.s3_environ, "XDG_CONFIG_HOME": str(workdir / "no-config")}
    config = load_config(environ={**environ, "NOCTRA_CACHE_RESULT_MIN_MS": "0"})
    state_path = workdir / "state" / "stored.toml"
    if mode == "restored" and kind.setup:
        with Session(state_path=state_path, config=config) as first:
            first.execute(kind.setup)
    hits = []
    for _ in range(3):
        with Session(state_path=state_path, config=config, restore=mode == "restored") as session:
            if mode == "fresh" and kind.setup:
                session.execute(kind.setup)
            if kind.engine_sql:
                session.execute(kind.engine_sql)
            table = session.sql(query_for(kind)).arrow()
            rows = [tuple(r[c] for c in COLUMNS) for r in table.to_pylist()]
            assert normalised(rows) == ROWS
            hits.append(session.result_hits)
    served = name in STORED_KINDS and kind.engine != "sqlite"
    assert hits == [0, 0, 1 if served else 0]
