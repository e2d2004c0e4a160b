"""The DuckDB engine: one in-process connection behind the Engine protocol."""

from __future__ import annotations

import contextlib
import datetime as dt  # imported by duckdb itself: free
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import duckdb

from noctra.engine.base import (
    ATTACH_SQLITE,
    PROGRESS,
    STORED_RESULTS,
    STREAM_COPY,
    Busy,
    Column,
    EngineResult,
    EngineStatus,
    Params,
    ReadSet,
    Registration,
    TableInfo,
    TableRef,
)
from noctra.engine.duck.errors import Translate, first_line
from noctra.engine.duck.extensions import Extensions, installed
from noctra.engine.sources import Source, SourceKind, check_sqlite_file, is_wal
from noctra.errors import NoctraError, QueryError, SourceError
from noctra.output.text import unique_names
from noctra.quoting import CATALOG_NAMES, quote_ident, quote_string, sql_literal

if TYPE_CHECKING:
    import pyarrow as pa

    from noctra.engine.export import ExportReport

# Patterns below are compiled on first use (re caches them), not at start-up.
_URL_HINT = r"(?i)\b(?:https?|s3a?|gcs?|az|r2|hf)://"
# sqlite_scan(...), sqlite_attach(...), ATTACH ... (TYPE sqlite): what needs the sqlite extension.
_SQLITE_HINT = r"(?i)\bsqlite_\w+\s*\(|\bTYPE\s*=?\s*'?sqlite\b"
# delta_scan(...), iceberg_scan(...), iceberg_snapshots(...): what needs the lake extensions.
_LAKE_HINT = r"(?i)\b(delta|iceberg)_\w+\s*\("
# read_xlsx(...), COPY ... (FORMAT xlsx), read_avro(...): what needs the excel or avro extension.
_FILE_EXTENSION_HINT = r"(?i)\bread_(xlsx|avro)\s*\(|\bformat\s+'?(xlsx)\b"
# encoding = 'cp1252' in a read_csv call: a name only the encodings extension knows.
_ENCODING_HINT = r"(?i)\bencoding\s*:?=\s*'([^']*)'"
# DuckDB's own catalogs: an Excel source with such an alias gets no catalog of sheets.
_BUILT_IN_CATALOGS = CATALOG_NAMES
# postgres_query(...), mysql_execute(...): what needs a server extension.
_SERVER_HINT = r"(?i)\b(postgres|mysql)_\w+\s*\(|\bTYPE\s*=?\s*'?(postgres|mysql)\b"
# Words and quoted names of a statement: which pending databases it may name.
_NAMES = r'"((?:[^"]|"")*)"|([^\W\d][\w$]*)'
# Settings that change how a statement runs, never the rows it returns.
_RESULT_NEUTRAL_SETTINGS = frozenset(
    {
        "threads",
        "worker_threads",
        "external_threads",
        "memory_limit",
        "max_memory",
        "temp_directory",
        "max_temp_directory_size",
        "enable_progress_bar",
        "enable_progress_bar_print",
        "progress_bar_time",
    }
)
# csv/json bytes of a result, as COPY writes them (SPEC 1: byte-clean for pipes).
COPY_FORMATS = {
    "csv": "FORMAT csv, HEADER true",
    "tsv": "FORMAT csv, HEADER true, DELIMITER '\t'",
    # Newline-delimited for both: the writer shapes json into one array per result set.
    "json": "FORMAT json",
    "jsonl": "FORMAT json",
}


class DuckResult:
    """Rows of one DuckDB statement, read once, as Arrow or a few display rows."""

    engine = "duckdb"
    plain_values = False

    def __init__(self, cursor: duckdb.DuckDBPyConnection, owner: DuckEngine) -> None:
        self._cursor = cursor
        self._owner = owner
        description = cursor.description
        self.columns = [Column(str(d[0]), str(d[1])) for d in description or []]
        self._has_rows = description is not None
        self.closed = False

    @property
    def has_rows(self) -> bool:
        return self._has_rows

    def _guard(self) -> duckdb.DuckDBPyConnection:
        if self.closed:
            raise NoctraError(
                "this result was already read or replaced by a later statement",
                hint="read a result (e.g. .arrow()) before running the next statement",
            )
        return self._cursor

    def fetch(self, n: int) -> list[tuple[object, ...]]:
        cursor = self._guard()
        with self._owner.translating():
            return cursor.fetchmany(n)

    def arrow_reader(self, batch_rows: int = 1_000_000) -> pa.RecordBatchReader:
        cursor = self._guard()
        with self._owner.translating():
            reader = cursor.to_arrow_reader(batch_rows)
        self.closed = True
        return reader

    def arrow_table(self) -> pa.Table:
        cursor = self._guard()
        with self._owner.translating():
            table = cursor.to_arrow_table()
        self.closed = True
        return table

    def close(self) -> None:
        self.closed = True


class DuckEngine:
    """DuckDB behind the Engine protocol: the only code that talks to a DuckDB connection."""

    name = "duckdb"
    version = duckdb.__version__
    dialect = "duckdb"
    capabilities = frozenset({STREAM_COPY, PROGRESS, ATTACH_SQLITE, STORED_RESULTS})

    def __init__(self, database: str = ":memory:", *, read_only: bool = False) -> None:
        config: dict[str, str | bool | int | float | list[str]] = {
            # Never download anything at run time: extensions come from wheels.
            "autoinstall_known_extensions": "false",
            "autoload_known_extensions": "false",
        }
        try:
            self.connection = duckdb.connect(database, read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise SourceError(
                f"cannot open database {database!r}: {first_line(exc)}",
                hint="check that it is a DuckDB database and not opened by another process",
            ) from exc
        # DuckDB's own bar is printed to stdout after 2 s: into a script's piped output
        # (python script.py > out.csv). Tracking is off too: the Python client turns it on
        # when Python looks interactive (python -c, a notebook), for that bar. Front ends
        # that draw their own turn it on (enable_progress).
        self.connection.execute("SET enable_progress_bar = false; SET enable_progress_bar_print = false")
        self._running: DuckResult | None = None
        self.interrupted = False
        self._progress_enabled = False
        self.calls = Busy()
        self._before_sqlite_attach: Callable[[Source], None] | None = None
        self._read_only_wal: dict[str, Source] = {}  # WAL databases attached read-only, by alias
        self._reading = False  # the statement being readied only reads
        self.threads: int | None = None  # what set_threads last set
        # SET statements run on the connection, by lower-cased name: a cursor (a new
        # connection) starts from DuckDB's defaults for TimeZone, Calendar... (copy_result).
        self._set: dict[str, str] = {}
        self._extensions = Extensions(self.connection, self.translating)
        # Where new tables go when no database source is current: memory, or a --db workspace.
        self.home = "memory"
        self.catalog_in_use = "memory"  # DuckDB's default database, set by use_catalog
        self._deterministic: frozenset[str] | None = None  # functions a stored result may call
        # SQLite databases registered but not attached yet, by lower-cased alias: attaching
        # loads the sqlite extension (~85 ms with its signature check), so it waits until a
        # statement that reaches DuckDB names the database (ready()).
        self._pending: dict[str, Source] = {}
        # The catalog USE should switch to once it is attached (a pending current database).
        self._wanted_catalog: str | None = None
        # Attached PostgreSQL/MySQL databases by lower-cased alias -> their default schema
        # (public; the URL's database for MySQL) and whether only it is listed.
        self._server_schemas: dict[str, tuple[str, bool]] = {}
        # Why the current server could not be attached for this statement (it does not name it):
        # the answer to "table not found" there, instead of DuckDB's (see errors.Translate).
        self.unattached: SourceError | None = None

    # --- the one preparation step before SQL reaches the connection ----------------

    def ready(self, sql: str, *, statement: bool = True) -> None:
        """Prepare the connection for SQL: extensions it needs, databases it names.

        A user's statement (``statement``) also attaches the current database, where its
        bare table names live; Noctra's own reads of a file (registering it) do not.
        """
        if "://" in sql and re.search(_URL_HINT, sql):
            self.load_extension("httpfs")
        if "sqlite" in sql.lower() and re.search(_SQLITE_HINT, sql):
            self.load_extension("sqlite_scanner")
        lowered = sql.lower()
        if "delta_" in lowered or "iceberg_" in lowered:
            for name in {found.lower() for found in re.findall(_LAKE_HINT, sql)}:
                self.load_extension(name)
        self._load_reader_extensions(sql)
        if ("postgres" in lowered or "mysql" in lowered) and re.search(_SERVER_HINT, sql):
            for function, attach in re.findall(_SERVER_HINT, sql):
                self.load_extension(f"{(function or attach).lower()}_scanner")
        if not self._pending and not self._read_only_wal:
            return
        named = {
            (quoted.replace('""', '"') if quoted else word).lower()
            for quoted, word in re.findall(_NAMES, sql)
        }
        # A WAL database is attached read-only for a statement that only reads (_attach); one
        # that may write attaches it again, writable.
        self._reading = not statement or _only_reads(sql)
        if not self._reading:
            # Named, or the current database, where bare names (CREATE TABLE new) go.
            writable = named | {self.catalog_in_use.lower()}
            for key in [k for k in self._read_only_wal if k in writable]:
                self.attach_again(self._read_only_wal[key])
        wanted = self._wanted_catalog.lower() if self._wanted_catalog and statement else None
        self.unattached = None
        for key in [k for k in self._pending if k in named or k == wanted]:
            try:
                self._attach_pending(key)
            except SourceError as exc:
                left = self._pending.get(key)
                if key in named or left is None or not left.kind.is_server:
                    raise
                # The current server is down or wants a password: SELECT 1 or a file's query still
                # runs; a bare table name that only it has gets this error (errors.Translate).
                self.unattached = exc

    def _load_reader_extensions(self, sql: str) -> None:
        """Excel, Avro and legacy encodings: their extension is loaded when a statement reads one."""
        lowered = sql.lower()
        if "xlsx" in lowered or "avro" in lowered:
            for found in re.findall(_FILE_EXTENSION_HINT, sql):
                self.load_extension("excel" if "xlsx" in (found[0] + found[1]).lower() else "avro")
        if "encoding" in lowered:
            from noctra.engine.duck.readers import needs_encodings_extension

            for name in re.findall(_ENCODING_HINT, sql):
                if needs_encodings_extension({"encoding": name}):
                    self.load_extension("encodings")

    def _attach_pending(self, key: str) -> None:
        pending = self._pending.get(key)
        if pending is None:
            return  # attached meanwhile, by the statement that made a lake table's view
        if not pending.kind.is_database:
            del self._pending[key]
            try:
                self._make_pending_view(pending)
            except NoctraError:
                # A server that does not answer now (or a file gone): the next statement tries again.
                self._pending[key] = pending
                raise
            return
        source = self._pending.pop(key)
        try:
            if source.kind.is_server:
                self._attach_server(source, None, count=False)
            else:
                self._attach(source, None)
        except NoctraError:
            if source.kind.is_server:
                self._pending[key] = source  # the server may answer next time: tried again then
                source.status = "error"  # SHOW SOURCES: restored, but the last try to attach failed
            raise
        if source.kind.is_server:
            source.status = "ok"
        if self._wanted_catalog is not None and self._wanted_catalog.lower() == key:
            self.use_catalog(source.alias)

    # --- statements -----------------------------------------------------------------

    def run(self, sql: str, params: Params = None) -> DuckResult:
        """Run one statement on the session's connection."""
        self.ready(sql)
        self._close_running()
        self.interrupted = False
        with self.translating():
            cursor = _execute(self.connection, sql, params)
        self._running = DuckResult(cursor, self)
        return self._running

    def execute(self, sql: str, params: Params = None) -> None:
        """Run a statement whose result nobody reads (settings, views, ATTACH, copies)."""
        self.ready(sql)
        self._execute(sql, params)

    def _execute(self, sql: str, params: Params = None) -> None:
        self._close_running()
        with self.translating():
            _execute(self.connection, sql, params)

    def _close_running(self) -> None:
        if self._running is not None:
            self._running.close()
            self._running = None

    def _rows(self, sql: str, params: Params = None, limit: int = 10_000) -> list[tuple[object, ...]]:
        """A bounded number of rows of a catalog query, run on its own cursor.

        A cursor never closes the result the session is streaming (SPEC 3, STYLE 3).
        Positional ``?`` values are written into the SQL as literals, never bound: DuckDB
        1.5.5's Python client imports pandas and pyarrow (~0.7 s) the first time a process
        binds a parameter, and Noctra's own catalog queries must not pay that.
        """
        if params:
            sql = _inline(sql, params)
        with self.translating():
            cursor = self.connection.cursor()
            try:
                result = cursor.execute(sql)
                return result.fetchmany(limit)
            finally:
                cursor.close()

    def describe(self, relation_sql: str, params: Params = None) -> list[Column]:
        """Columns of a relation: a name, a table function call or a parenthesised query."""
        return self._describe(relation_sql, params, statement=True)

    def _describe(self, relation_sql: str, params: Params = None, *, statement: bool) -> list[Column]:
        self.ready(relation_sql, statement=statement)
        # On the connection, not a cursor: bare names resolve in the current database.
        self._close_running()
        sql = f"DESCRIBE {relation_sql}"
        with self.translating():
            rows = _execute(self.connection, sql, params).fetchall()
        return [Column(str(r[0]), str(r[1]), str(r[2]).upper() != "NO") for r in rows]

    def copy_to(self, sql: str, target: str, fmt: str, params: Params = None) -> int:
        """``COPY (sql) TO target``: csv/json bytes leave DuckDB without Python rows."""
        return self._copy(sql, target, COPY_FORMATS[fmt], params)

    def copy_result(self, result: EngineResult, target: str, fmt: str) -> int:
        """COPY rows already produced (any engine's, as Arrow): DuckDB serializes them all alike."""
        import pyarrow as pa

        reader = result.arrow_reader()
        names = unique_names(reader.schema.names)
        if names != reader.schema.names:
            # Arrow keeps duplicate names (a join's two id columns); a DuckDB scan cannot.
            schema = pa.schema([f.with_name(n) for f, n in zip(reader.schema, names, strict=True)])
            batches = (pa.RecordBatch.from_arrays(b.columns, schema=schema) for b in reader)
            reader = pa.RecordBatchReader.from_batches(schema, batches)
        cursor = self.connection.cursor()
        try:
            for statement in self._set.values():
                # TIMESTAMPTZ text follows SET TimeZone, as in the query's own output; a
                # setting DuckDB keeps for the whole database needs no second SET.
                with contextlib.suppress(duckdb.Error):
                    cursor.execute(statement)
            # Read as an Arrow C stream: registering the pyarrow reader itself makes DuckDB
            # import pyarrow.dataset and pandas (~0.5 s) to scan one RETURNING row.
            cursor.register("__noctra_rows", cursor.from_arrow(reader.__arrow_c_stream__()))
            statement = f"COPY (SELECT * FROM __noctra_rows) TO {quote_string(target)} ({COPY_FORMATS[fmt]})"
            with self.translating():
                row = cursor.execute(statement).fetchone()
        finally:
            cursor.close()
        return int(str(row[0])) if row and row[0] is not None else 0

    def _copy(self, sql: str, target: str, options: str, params: Params = None) -> int:
        self.ready(sql)
        self._close_running()
        self.interrupted = False
        try:
            return self._copy_statement(f"COPY ({sql}) TO {quote_string(target)} ({options})", params)
        except QueryError as exc:
            if "Duplicate struct entry name" not in exc.message:
                raise
        # JSON needs unique keys: a subquery gives duplicates DuckDB's own names (id, id_1).
        return self._copy_statement(
            f"COPY (SELECT * FROM ({sql}\n)) TO {quote_string(target)} ({options})", params
        )

    def _copy_statement(self, statement: str, params: Params) -> int:
        with self.translating():
            parts = self.connection.extract_statements(statement)
            if len(parts) == 1 or params:
                row = _execute(self.connection, statement, params).fetchone()
            else:
                row = self._copy_in_parts(parts)
        return int(row[0]) if row and row[0] is not None else 0

    def _copy_in_parts(self, parts: list[duckdb.Statement]) -> tuple[object, ...] | None:
        """A COPY DuckDB expands (BEGIN, CREATE TYPE, COPY, COMMIT for a dynamic PIVOT).

        Run whole, it reports no row count; run part by part, the COPY's count is read.
        """
        row: tuple[object, ...] | None = None
        try:
            for part in parts:
                cursor = self.connection.execute(part)
                if part.type.name == "COPY":
                    row = cursor.fetchone()
        except duckdb.Error:
            with contextlib.suppress(duckdb.Error):
                self.connection.rollback()
            raise
        return row

    def export(
        self,
        sql: str,
        params: Params,
        *,
        target: str,
        fmt: str,
        options: dict[str, object],
        ordered: bool,
        stream: Callable[[], EngineResult] | None = None,
    ) -> ExportReport:
        """EXPORT with DuckDB's COPY; a single file is written beside the target and renamed.

        ``stream`` makes rows (native SQLite's result) that are streamed into the COPY as Arrow batches.
        """
        from noctra.engine.export import export

        return export(
            self, sql, params, target=target, fmt=fmt, options=options, ordered=ordered, stream=stream
        )

    def cancel(self) -> None:
        """Interrupt what runs now; safe from another thread."""
        self.interrupted = True

        def interrupt() -> None:
            with contextlib.suppress(duckdb.ConnectionException):  # closed meanwhile (session ending)
                self.connection.interrupt()

        self.calls.interrupt_until_idle(interrupt)

    def progress(self) -> float | None:
        """DuckDB's own progress of the running query, when it knows it."""
        if not self._progress_enabled:
            return None
        value = self.connection.query_progress()
        return None if value < 0 else value / 100.0

    def enable_progress(self) -> None:
        """Let DuckDB track progress (printing off) so query_progress() answers."""
        if not self._progress_enabled:
            self._execute("SET enable_progress_bar = true")
            self._execute("SET enable_progress_bar_print = false")
            self._progress_enabled = True

    @property
    def busy(self) -> bool:
        return bool(self.calls)

    def status(self) -> EngineStatus:
        """Threads and memory from a cursor: a result being streamed stays intact."""
        # threads as DuckDB has it (a database setting, the same on a cursor): SET threads too.
        rows = self._rows(
            "SELECT (SELECT sum(memory_usage_bytes) FROM duckdb_memory()), current_setting('memory_limit'), "
            "current_setting('threads')"
        )
        used, limit, threads = rows[0] if rows else (None, None, None)
        limit_text = None if limit is None else str(limit)
        return EngineStatus(
            engine=self.name,
            threads=self.threads if threads is None else int(str(threads)),
            memory_used=None if used is None else int(str(used)),
            memory_limit=None if limit_text is None else size_in_bytes(limit_text),
            memory_limit_text=limit_text,
        )

    def close(self) -> None:
        self._close_running()
        self.connection.close()

    def translating(self) -> Translate:
        """Context manager: turn duckdb errors into NoctraErrors."""
        return Translate(self)

    # --- extensions -----------------------------------------------------------------

    def load_extension(self, name: str) -> None:
        """Load an extension from its pinned PyPI wheel, never from the web."""
        self._extensions.load(name)

    def functions(self) -> list[str]:
        """DuckDB's function names, from a cursor: a result being streamed stays intact."""
        rows = self._rows(
            "SELECT DISTINCT function_name FROM duckdb_functions() "
            "WHERE regexp_full_match(function_name, '[a-z][a-z0-9_]*') ORDER BY 1",
            limit=100_000,
        )
        return [str(row[0]) for row in rows]

    def extensions(self) -> list[tuple[str, str | None, str]]:
        """(name, file it loads from or None, the pip package that provides it)."""
        return installed()

    # --- settings -------------------------------------------------------------------

    def set_threads(self, threads: int, *, force: bool = False) -> None:
        """``SET threads``, only when it differs from what this method set last."""
        if threads != self.threads or force:
            self._execute(f"SET threads = {int(threads)}")
            self.threads = threads

    def get_option(self, name: str) -> object:
        """A setting as this session's connection sees it.

        Not on a cursor: settings such as http_timeout are per connection, and a
        cursor would show DuckDB's default instead of what was SET.
        """
        self._close_running()
        with self.translating():
            # A literal, not a bound parameter: DuckDB 1.5.5's Python client imports pandas and
            # pyarrow (~0.7 s) the first time it binds one, and every EXPORT asks a setting.
            row = self.connection.execute(f"SELECT current_setting({quote_string(name)})").fetchone()
        return None if row is None else row[0]

    def set_option(self, name: str, literal: str) -> None:
        """``SET name = literal``; the extension a setting belongs to is loaded first if needed."""
        statement = f"SET {quote_ident(name)} = {literal}"
        self._setting(statement)
        self._set[name.lower()] = statement
        if name.lower() == "threads":
            self.threads = None  # the user owns threads now; set_threads applies it again when asked

    def reset_option(self, name: str) -> None:
        """``RESET name``."""
        self._setting(f"RESET {quote_ident(name)}")
        self._set.pop(name.lower(), None)

    def _setting(self, sql: str) -> None:
        try:
            self._execute(sql)
        except QueryError as exc:
            # s3_region, sqlite_all_varchar...: DuckDB says which extension defines the setting.
            owner = self._extensions.owner_of_setting(exc.message)
            if owner is None:
                raise
            self.load_extension(owner)
            self._execute(sql)

    def set_credentials(self, kind: str, options: Mapping[str, str | bool]) -> None:
        """S3 credentials and endpoint, made a DuckDB secret when httpfs is loaded."""
        self._extensions.set_credentials(kind, options)

    @property
    def secret_values(self) -> list[str]:
        """Credential values this engine was given (for redaction)."""
        return self._extensions.secret_values

    # --- sources --------------------------------------------------------------------

    def _reader(self, source: Source) -> tuple[str, dict[str, str]]:
        """The table-function call that reads a file source, and the CSV dialect it pinned."""
        if source.is_remote:
            self.load_extension("httpfs")
        from noctra.engine.duck import readers

        if source.kind is SourceKind.EXCEL:
            self.load_extension("excel")
        elif source.kind is SourceKind.AVRO:
            self.load_extension("avro")
        elif source.kind is SourceKind.CSV and readers.needs_encodings_extension(source.options):
            self.load_extension("encodings")
        return readers.reader_of(source, self._rows)

    def inspect(self, source: Source) -> Registration:
        """Columns and dialect of a file source, read as registering would read it."""
        reader, dialect = self._reader(source)
        return Registration(columns=self._columns_of(source, reader), reader=reader, dialect=dialect)

    def _plain_reader(self, reader: str) -> bool:
        """A saved reader is one call of a file reader on literal arguments, as Noctra writes
        them (read_csv('x.csv', delim = ',', types = {...})): nothing else may run at restore."""
        import json

        rows = self._rows(f"SELECT json_serialize_sql({quote_string('SELECT * FROM ' + reader)})")
        try:
            tree = json.loads(str(rows[0][0]))
            (statement,) = tree["statements"]
            node = statement["node"]
            table = node["from_table"]
            call = table["function"]
        except (KeyError, IndexError, TypeError, ValueError):
            return False
        plain = (
            node.get("type") == "SELECT_NODE"
            and node.get("where_clause") is None
            and not node.get("cte_map", {}).get("map")
            and table.get("type") == "TABLE_FUNCTION"
            and call.get("function_name") in _SAVED_READERS
            and not call.get("schema")
        )
        return plain and all(_literal(child) for child in call.get("children", []))

    def register(
        self, source: Source, *, replacing: Source | None = None, reuse_reader: bool = False
    ) -> Registration:
        """Make a source queryable under its alias: a view over files, or an ATTACH.

        The new source is checked before anything is replaced, so a failure leaves
        the previous source with that alias as it was. A SQLite database is attached
        when a statement first needs it in DuckDB (see ready()).
        """
        if reuse_reader and source.reader and not self._plain_reader(source.reader):
            # A session file edited by hand (or shared): its reader is not trusted to run.
            source.reader = ""
            reuse_reader = False
        if source.kind is SourceKind.SQLITE:
            # Checked when it is attached (the file may change meanwhile): see _attach.
            if replacing is None and source.alias.lower() not in self._pending:
                attached = self._attached_path(source.alias)
                if attached is not None and os.path.realpath(attached) == os.path.realpath(source.location):
                    # Registered again as it is (another engine taking the session's sources,
                    # SET engine = spark): it stays attached, the current database too (R9-S6).
                    return Registration()
                if attached is not None:
                    replacing = source
            if replacing is not None:
                self.unregister(replacing)
            self._pending[source.alias.lower()] = source
            return Registration()
        if source.kind.is_server and reuse_reader:
            # A restored server is attached when a statement first names it, as SQLite is:
            # start-up neither loads its extension nor waits on the network.
            if replacing is not None:
                self.unregister(replacing)
            self._pending[source.alias.lower()] = source
            return Registration()
        if source.kind.is_database:
            return self._attach(source, replacing)
        if source.kind.is_lake and source.reader and not self._has_view(source.alias):
            # A restored lake table becomes a view when a statement first names it (ready()):
            # start-up does not load the delta/iceberg extension (~0.5 s) for a table not read.
            if replacing is not None:
                self.unregister(replacing)
            self._pending[source.alias.lower()] = source
            return Registration(columns=source.schema, reader=source.reader)
        if reuse_reader and source.reader and (_loads_an_extension(source) or _binding_reads(source)):
            # A restored workbook, Avro file or legacy-encoding CSV gets its view when a statement
            # first names it: start-up does not load its extension (encodings alone takes ~2 s).
            # Nor does it send a request for a remote Parquet or JSON file (binding its view would).
            if replacing is not None:
                self.unregister(replacing)
            self._pending[source.alias.lower()] = source
            return Registration(columns=source.schema, reader=source.reader, dialect=dict(source.dialect))
        # A remote Iceberg table's reader names the metadata file that was newest then: an S3
        # prefix has no signature to tell a later commit by, so it is looked up again.
        stale = source.kind is SourceKind.ICEBERG and source.is_remote
        if reuse_reader and source.reader and not stale:
            # A restored source whose files did not change keeps its pinned reader: no sniff.
            registration = Registration(
                columns=self._columns_of(source, source.reader),
                reader=source.reader,
                dialect=dict(source.dialect),
            )
        else:
            registration = self.inspect(source)
        if replacing is not None and replacing.kind.is_database:
            self.unregister(replacing)
        # A restored source of that alias still waiting for its view (R9-R2): it waits no
        # more, or its view would be made over this one when a statement first names it.
        self._pending.pop(source.alias.lower(), None)
        self._execute(
            f"CREATE OR REPLACE VIEW memory.main.{quote_ident(source.alias)} AS "
            f"SELECT * FROM {registration.reader}"
        )
        if replacing is not None and replacing.kind is SourceKind.EXCEL:
            self._drop_sheets(replacing)
        if source.kind is SourceKind.EXCEL:
            self._make_sheets(source)
        return registration

    def _make_sheets(self, source: Source) -> None:
        """Each worksheet of a workbook as a view ``alias.sheet``, in a catalog named after the alias.

        Like a database source's tables: ``book.Q1``, ``book."Sheet 2"``; SHOW TABLES FROM
        book lists them. A sheet with no rows has no columns, so no view.
        """
        from noctra.engine.duck import readers

        if source.alias.lower() in _BUILT_IN_CATALOGS:
            return
        self._drop_sheets(source)
        alias = quote_ident(source.alias)
        self._execute(f"ATTACH ':memory:' AS {alias}")
        for sheet in readers.workbook_sheets(source, self._rows):
            try:
                self._execute(
                    f"CREATE VIEW {alias}.main.{quote_ident(sheet)} AS "
                    f"SELECT * FROM {readers.sheet_reader(source, sheet)}"
                )
            except QueryError:
                continue

    def _drop_sheets(self, source: Source) -> None:
        if source.alias.lower() not in _BUILT_IN_CATALOGS:
            self._execute(f"DETACH DATABASE IF EXISTS {quote_ident(source.alias)}")

    def _attached_path(self, alias: str) -> str | None:
        """The file a database is attached from under this name; None when none is."""
        rows = self._rows(
            f"SELECT path FROM duckdb_databases() WHERE lower(database_name) = lower({quote_string(alias)})"
        )
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def _has_view(self, alias: str) -> bool:
        # A literal, not a bound parameter: DuckDB's first bind imports pandas and pyarrow (~0.7 s).
        rows = self._rows(
            "SELECT count(*) FROM duckdb_views() WHERE database_name = 'memory' AND schema_name = 'main' "
            f"AND lower(view_name) = lower({quote_string(alias)})"
        )
        return bool(rows and rows[0][0])

    def _make_pending_view(self, source: Source) -> None:
        """The view of a restored file or lake source, made when a statement first names it.

        A Delta reader reads the newest version as it is; an Iceberg table's newest metadata
        file is looked for again; a workbook also gets its sheets.
        """
        if source.kind is SourceKind.ICEBERG:
            registration = self.inspect(source)
            columns, reader = registration.columns, registration.reader
        else:
            columns, reader = self._columns_of(source, source.reader), source.reader
        self._execute(
            f"CREATE OR REPLACE VIEW memory.main.{quote_ident(source.alias)} AS SELECT * FROM {reader}"
        )
        if source.kind is SourceKind.EXCEL:
            self._make_sheets(source)
        # What registering would have kept on the source (lifecycle.apply), for the catalog.
        source.schema, source.columns, source.reader = columns, len(columns), reader

    def forget_pending_view(self, alias: str) -> None:
        """A restored file source's view is made by the caller (a cached copy): it waits no more."""
        pending = self._pending.get(alias.lower())
        if pending is not None and not pending.kind.is_database and not pending.kind.is_lake:
            del self._pending[alias.lower()]

    def _columns_of(self, source: Source, reader: str) -> tuple[Column, ...]:
        """The columns a file source's reader gives; a SourceError naming the file if it cannot."""
        try:
            return tuple(self._describe(f"SELECT * FROM {reader}", statement=False))
        except QueryError as exc:
            if exc.message.startswith(f"{source.path!r} is "):  # is gzip-compressed, not JSON text
                raise SourceError(exc.message, hint=exc.hint) from exc
            raise SourceError(
                f"cannot read {source.path!r} as {source.kind.value}: {exc.message}",
                hint=exc.hint or "check the file, or set OPTIONS (format = '...')",
            ) from exc

    def _attach(self, source: Source, replacing: Source | None) -> Registration:
        if source.kind.is_server:
            return self._attach_server(source, replacing)
        readonly = bool(source.options.get("readonly", False))
        if source.kind is SourceKind.SQLITE:
            self.load_extension("sqlite_scanner")
            kind_sql = "TYPE sqlite"
            check_sqlite_file(source)
            if self._before_sqlite_attach is not None:
                self._before_sqlite_attach(source)
            if not readonly and self._reading and is_wal(source.location):
                # Closing a writable attachment of a WAL database deletes the WAL when this copy
                # of SQLite takes itself for the last connection: it does not see the locks of
                # another copy in this process (a program's own sqlite3 connection), whose later
                # commits would then be lost. A read-only one leaves the WAL alone.
                readonly = True
                self._read_only_wal[source.alias.lower()] = source
        else:
            kind_sql = "TYPE duckdb"
        extra = ", READ_ONLY" if readonly else ""
        # DuckDB attaches a file once: the same file under its own alias again (new options)
        # is detached first, and attached back as it was if the new attachment fails.
        again = replacing is not None and replacing.location == source.location
        if again and replacing is not None:
            self.unregister(replacing)
        target = source.alias if replacing is None or again else "__noctra_attach_check"
        try:
            self._execute(
                f"ATTACH {quote_string(source.location)} AS {quote_ident(target)} ({kind_sql}{extra})"
            )
            # SQLite sources are counted by the session through sqlite3, before they attach.
            tables = (
                []
                if source.kind is SourceKind.SQLITE
                else self._rows(
                    f"SELECT count(*) FROM duckdb_tables() WHERE database_name = {quote_string(target)}"
                )
            )
        except QueryError as exc:
            self._execute(f"DETACH DATABASE IF EXISTS {quote_ident(target)}")
            if again and replacing is not None:
                self._attach(replacing, None)
            raise self._attach_error(source, exc) from exc
        if replacing is not None and not again:
            self._execute(f"DETACH DATABASE {quote_ident(target)}")
            self.unregister(replacing)
            self._execute(
                f"ATTACH {quote_string(source.location)} AS {quote_ident(source.alias)} ({kind_sql}{extra})"
            )
        return Registration(tables=int(str(tables[0][0])) if tables else None)

    def _attach_server(self, source: Source, replacing: Source | None, *, count: bool = True) -> Registration:
        """ATTACH a PostgreSQL or MySQL database in place, read-only unless OPTIONS (readonly = false).

        The password goes in a temporary secret, so no statement text holds it; the
        connection string DuckDB quotes in its errors has none. ``count``: list its tables
        for USE's message (a restored source attached by a statement skips it).
        """
        from noctra.engine import servers

        kind = "postgres" if source.kind is SourceKind.POSTGRES else "mysql"
        self.load_extension(f"{kind}_scanner")
        url = servers.parse_url(source.location)
        defaults = self._extensions.servers[kind]
        conninfo = servers.connection_string(url, defaults)
        options = [f"TYPE {kind}"]
        secret = self._extensions.server_secret(kind, source.location, source.alias)
        if secret is not None:
            options.append(f"SECRET {quote_ident(secret)}")
        if source.options.get("readonly", True) is not False:
            options.append("READ_ONLY")

        def attach(name: str) -> None:
            self._execute(f"ATTACH {quote_string(conninfo)} AS {quote_ident(name)} ({', '.join(options)})")

        target = source.alias if replacing is None else "__noctra_attach_check"
        try:
            attach(target)
        except QueryError as exc:
            self._execute(f"DETACH DATABASE IF EXISTS {quote_ident(target)}")
            raise servers.attach_error(source.alias, url, defaults, exc.message) from exc
        # Bare names resolve in public (PostgreSQL) or the URL's database (MySQL), which alone is
        # listed: the server's other databases stay reachable as alias.db.table.
        schema = "public" if kind == "postgres" else (url.database or "")
        listed = (schema, kind == "mysql" and bool(schema))
        tables = len(self._server_tables(target, *listed)) if count else None
        if replacing is not None:
            self._execute(f"DETACH DATABASE {quote_ident(target)}")
            self.unregister(replacing)
            attach(source.alias)
        self._server_schemas[source.alias.lower()] = listed
        return Registration(tables=tables)

    def _server_tables(self, alias: str, schema: str, only: bool) -> list[TableInfo]:
        """User tables of an attached server: its default schema's by bare name, others qualified."""
        from noctra.engine.servers import SYSTEM_SCHEMAS

        system = ", ".join(quote_string(name) for name in sorted(SYSTEM_SCHEMAS))
        rows = self._rows(
            "SELECT table_name, 'table', column_count, schema_name FROM duckdb_tables() "
            f"WHERE database_name = ? AND NOT internal AND schema_name NOT IN ({system})"
            + (" AND schema_name = ? " if only else " ")
            + "ORDER BY schema_name <> ?, schema_name, table_name",
            [alias, *([schema] if only else []), schema],
        )
        return [
            TableInfo(str(r[0]), str(r[1]), int(str(r[2])), "" if str(r[3]) == schema else str(r[3]))
            for r in rows
        ]

    def _has_schema_named_like(self, alias: str) -> bool:
        """True when an attached server has a schema (a MySQL database) named as its alias."""
        rows = self._rows(
            "SELECT count(*) FROM duckdb_schemas() WHERE database_name = ? AND lower(schema_name) = lower(?)",
            [alias, alias],
        )
        return bool(rows) and int(str(rows[0][0])) > 0

    def _attach_error(self, source: Source, exc: QueryError) -> SourceError:
        """Why a database file did not attach, and what to do instead."""
        owner = re.search(r'already attached by database "(.*?)"', exc.message)
        if owner is None:
            return SourceError(
                f"cannot open {source.path!r} as a {source.kind.value} database: {exc.message}",
                hint="check that the file is a database (and not locked by another program)",
            )
        name = owner.group(1)
        if name.lower() == self.home.lower():
            hint = f"it is the --db workspace: its tables are reached by name, or as {name}.table"
        else:
            hint = f"reach its tables as {name}.table, or DETACH {name} first (DuckDB attaches a file once)"
        return SourceError(f"{source.path!r} is already attached as {name!r}", hint=hint)

    def before_sqlite_attach(self, hook: Callable[[Source], None]) -> None:
        self._before_sqlite_attach = hook

    def attach_again(self, source: Source) -> None:
        """Detach an attached SQLite database: the next statement naming it attaches it again.

        DuckDB's SQLite reader keeps one connection per attachment, and in a WAL database that
        connection goes on reading what it read before a commit made through another copy of
        SQLite in this process (Noctra's native road, or the program using the Python API): a
        new attachment reads the database as it is now.
        """
        key = source.alias.lower()
        if source.kind is not SourceKind.SQLITE or key in self._pending:
            return
        self._read_only_wal.pop(key, None)
        current = self.catalog_in_use.lower() == key
        if current:
            self.use_catalog(None)
        self._execute(f"DETACH DATABASE IF EXISTS {quote_ident(source.alias)}")
        self._pending[key] = source
        if current:
            self._wanted_catalog = source.alias  # the default catalog again once attached

    def unregister(self, source: Source) -> None:
        """Remove a source's view or attachment."""
        key = source.alias.lower()
        self._read_only_wal.pop(key, None)
        if self._pending.pop(key, None) is not None:
            if self._wanted_catalog is not None and self._wanted_catalog.lower() == key:
                self._wanted_catalog = None
            return
        if source.kind.is_database:
            if key in _BUILT_IN_CATALOGS:
                return  # never attached under DuckDB's own name (restored from an old session)
            if self.catalog_in_use.lower() == key:
                self.use_catalog(None)  # DuckDB does not detach the default database
            self._server_schemas.pop(key, None)
            self._execute(f"DETACH DATABASE IF EXISTS {quote_ident(source.alias)}")
        else:
            self._execute(f"DROP VIEW IF EXISTS memory.main.{quote_ident(source.alias)}")
            if source.kind is SourceKind.EXCEL:
                self._drop_sheets(source)

    def quoted_file_reader(self, path: str, kind: SourceKind) -> str | None:
        """A CSV quoted in FROM is read with the same small buffer as registered sources.

        Excel and Avro files are read by their extension's function, loaded now.
        """
        from noctra.engine.duck import readers
        from noctra.engine.sources import is_glob, one_workbook_error

        if kind is SourceKind.EXCEL:
            if is_glob(path):
                raise one_workbook_error(path)
            self.load_extension("excel")
        elif kind is SourceKind.AVRO:
            self.load_extension("avro")
        return readers.quoted_file_reader(path, kind)

    def tables(self, alias: str) -> list[TableInfo]:
        """Tables and views of an attached database ('memory': the session's own tables).

        Listed from a cursor; a pending SQLite database is attached first.
        """
        if alias.lower() in self._pending:
            self._attach_pending(alias.lower())
        if alias.lower() in self._server_schemas:
            return self._server_tables(alias, *self._server_schemas[alias.lower()])
        # Literals, not bound parameters (see get_option): SHOW TABLES stays quick.
        name = quote_string(alias)
        rows = self._rows(
            "SELECT * FROM (SELECT table_name, 'table', column_count, schema_name FROM duckdb_tables() "
            f"WHERE database_name = {name} AND NOT internal AND schema_name <> '__noctra_copies' "
            "UNION ALL SELECT view_name, 'view', column_count, schema_name FROM duckdb_views() "
            f"WHERE database_name = {name} AND NOT internal) AS t(name, type, columns, schema) "
            "ORDER BY schema <> 'main', schema, name"
        )
        return [TableInfo(str(r[0]), str(r[1]), int(str(r[2])), str(r[3])) for r in rows]

    def set_home(self, alias: str) -> None:
        """Where new tables go when no database source is current (a --db workspace)."""
        self.home = alias
        self.use_catalog(None)

    def use_catalog(self, alias: str | None) -> None:
        """Make a database source the default place for new tables (None: back to home).

        File sources are views in ``memory.main``; the search path keeps them
        reachable by their bare alias while a database is the default.
        """
        alias = alias or self.home
        if alias.lower() in self._pending:
            self._wanted_catalog = alias  # switched to when it is attached
            return
        self._wanted_catalog = None
        if alias.lower() in self._server_schemas and self._has_schema_named_like(alias):
            # MySQL's shop attached as shop: with shop the default catalog, DuckDB refuses
            # shop.people as ambiguous (catalog or schema?), so it stays a qualified-only source.
            alias = self.home
        self._execute(f"USE {quote_ident(alias)}")
        self.catalog_in_use = alias
        if alias != "memory":
            schema = self._server_schemas.get(alias.lower(), ("main", False))[0]
            where = f"{quote_ident(alias)}.{quote_ident(schema)}" if schema else quote_ident(alias)
            path = f"{where},memory.main"
            self._execute(f"SET search_path = {quote_string(path)}")

    def _parse_tree(self, sql: str) -> dict[str, Any] | None:
        """DuckDB's parse tree of a SELECT (``json_serialize_sql``); None for other statements."""
        import json

        try:
            text = quote_string(sql)
        except ValueError:
            return None
        cursor = self.connection.cursor()
        try:
            row = cursor.execute(f"SELECT json_serialize_sql({text})").fetchone()
        except duckdb.Error:
            return None
        finally:
            cursor.close()
        tree = json.loads(str(row[0])) if row else {"error": True}
        return None if tree.get("error") else dict(tree)

    def read_set(self, sql: str) -> ReadSet | None:
        """The tables and files a deterministic SELECT reads; None when DuckDB's tree shows
        anything that could change between runs over the same files (see determinism.py)."""
        from noctra.engine.duck import determinism

        tree = self._parse_tree(sql)
        if tree is None:
            return None
        if self._deterministic is None:
            self._deterministic = determinism.known_functions(duckdb.__version__)
        if self._deterministic is None:  # another DuckDB than the pinned one: ask its catalog
            self._deterministic = determinism.deterministic_functions(
                self._rows(determinism.DETERMINISTIC_FUNCTIONS_SQL, limit=1_000_000)
            )
        return determinism.read_set(tree, self._deterministic)

    def settings_digest(self) -> str:
        """Every DuckDB setting but those that cannot change rows (threads, memory, progress)."""
        rows = self._rows("SELECT name, value FROM duckdb_settings() ORDER BY name", limit=100_000)
        kept = (f"{name}={value}" for name, value in rows if str(name) not in _RESULT_NEUTRAL_SETTINGS)
        return "\n".join(kept)

    def table_references(self, sql: str) -> list[TableRef] | None:
        """Tables a SELECT names, from DuckDB's own parser; None for other statements."""
        tree = self._parse_tree(sql)
        if tree is None:
            return None
        from noctra.engine.duck.determinism import referenced_tables

        return referenced_tables(tree)

    def statement_kind(self, sql: str) -> str:
        """DuckDB's statement type name (SELECT, INSERT, CREATE...); parse errors raise."""
        with self.translating():
            statements = self.connection.extract_statements(sql)
        # A dynamic PIVOT (ON col without IN) comes back as CREATE TYPE (the enum of
        # the values found in the data) then its SELECT: it is one query (issue 11).
        if not statements or any(s.type.name != "CREATE" for s in statements[:-1]):
            raise QueryError("expected one statement", hint="separate statements with ';'")
        return str(statements[-1].type.name)


def _binding_reads(source: Source) -> bool:
    """True for a remote file whose view, once made, has read the file (HEAD and GET requests).

    A CSV's pinned reader names its columns and types: its view is made without a request.
    """
    return source.is_remote and not source.kind.is_database and source.kind is not SourceKind.CSV


def _loads_an_extension(source: Source) -> bool:
    """True for a file source whose reader needs an extension: Excel, Avro, a legacy-encoding CSV."""
    if source.kind in (SourceKind.EXCEL, SourceKind.AVRO):
        return True
    from noctra.engine.duck.readers import needs_encodings_extension

    return source.kind is SourceKind.CSV and needs_encodings_extension(source.options)


_BOUND = "__noctra_bound"  # the prepared statement _execute binds values to


def _execute(target: duckdb.DuckDBPyConnection, sql: str, params: Params) -> duckdb.DuckDBPyConnection:
    """``target.execute(sql, params)``, values bound alike, without DuckDB's Python binding
    when SQL can give every value (what ``:name`` gets from LET, ``--param`` and keywords).

    DuckDB 1.5.5's Python client imports pandas and numpy (~0.4 s) the first time a process
    binds a value (duckdb-python issue 300). Text, NULL, bool, int, float, date and plain
    decimal values are bound by SQL instead: ``PREPARE`` the statement, then ``EXECUTE`` it
    with the values as constants of the types the client gives them, which DuckDB binds as it
    binds the client's values (the same types, casts and errors: tables of cases and property
    tests in tests/engine/test_text_parameters.py). Any other value, or several statements,
    is bound by the Python client as before.
    """
    if not params:
        return target.execute(sql)
    arguments = _sql_arguments(params)
    if arguments is None or len(target.extract_statements(sql)) != 1:
        return target.execute(sql, params)
    try:
        # On a line of its own: DuckDB's LINE marks in errors are the statement's plus one.
        target.execute(f"PREPARE {_BOUND} AS\n{sql}")
    except duckdb.Error as exc:
        raise type(exc)(re.sub(_LINE_AND_CARET, _line_before, str(exc), flags=re.MULTILINE)) from exc
    try:
        return target.execute(f"EXECUTE {_BOUND}({arguments})")
    except _BIND_ERRORS as exc:
        # Bound at EXECUTE, the error has no LINE mark, or one in EXECUTE's own text: the
        # Python client binds it again and says where in the statement. Nothing ran (binding
        # failed); in a transaction the error aborted, the first error stands.
        try:
            return target.execute(sql, params)
        except duckdb.Error as again:
            if type(again) is type(exc) and str(again).split("\n")[0] == str(exc).split("\n")[0]:
                raise again from None
        raise


# Errors of binding a statement: EXECUTE's name no position (see _execute).
_BIND_ERRORS = (duckdb.BinderException, duckdb.CatalogException, duckdb.ConversionException)


# An error's "LINE 2: SELECT nope" and the caret under it (as errors.py reads them).
_LINE_AND_CARET = r"^(LINE (\d+): ?)([^\n]*)\n( *)\^"


def _line_before(mark: re.Match[str]) -> str:
    """A LINE mark one line up, its caret kept under the same character."""
    line = f"LINE {int(mark.group(2)) - 1}: "
    caret = len(mark.group(4)) - len(mark.group(1)) + len(line)
    return f"{line}{mark.group(3)}\n{' ' * max(caret, 0)}^"


def _sql_arguments(params: Params) -> str | None:
    """EXECUTE's arguments for values SQL can give with the very type DuckDB's Python client
    binds (text, NULL, bool, int, float, date, plain decimals); None for any other value."""
    if isinstance(params, Mapping):
        pairs = [(str(key), _sql_value(value)) for key, value in params.items()]
        if any(text is None for _, text in pairs):
            return None
        return ", ".join(f"{quote_ident(key)} := {text}" for key, text in pairs)
    texts = [_sql_value(value) for value in params or ()]
    if any(text is None for text in texts):
        return None
    return ", ".join(str(text) for text in texts)


def _sql_value(value: object) -> str | None:
    """``value`` as an SQL constant of the type DuckDB 1.5.5's Python client binds it as
    (tests/engine/test_text_parameters.py checks each kind against the client); None when
    SQL cannot say it so."""
    kind = type(value)
    if value is None:
        return "NULL"
    if kind is str:
        text = str(value)
        if "\x00" in text or (not text.isascii() and not _encodes(text)):
            return None
        return quote_string(text)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        number = int(str(value))
        integer = next((name for name, low, high in _INTEGER_TYPES if low <= number < high), None)
        return None if integer is None else f"CAST({number} AS {integer})"
    if kind is float:
        if repr(value) == "nan":
            return None  # NaN: its sign bit (the client keeps -nan) has no SQL text
        return f"CAST({quote_string(repr(value))} AS DOUBLE)"
    if kind is dt.date:
        return f"DATE {quote_string(str(value))}"
    decimal = sys.modules.get("decimal")  # a Decimal exists only once it is imported: not at start-up
    if decimal is not None and kind is decimal.Decimal:
        return _decimal_value(value)
    return None


# The Python client's type of an int: the first range that holds it.
_INTEGER_TYPES = (
    ("INTEGER", -(2**31), 2**31),
    ("BIGINT", -(2**63), 2**63),
    ("UBIGINT", 0, 2**64),
    ("HUGEINT", -(2**127), 2**127),
    ("UHUGEINT", 0, 2**128),
)


def _decimal_value(value: Any) -> str | None:
    """A finite Decimal with no positive exponent, as DECIMAL(p, s) with the client's p and s."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or exponent > 0:
        return None  # NaN, Infinity, 1E+3: the client's own (FLOAT; a scale of 3 for 1E+3)
    scale = -exponent
    precision = len(digits) if len(digits) >= scale else scale + 1
    if precision > 38:
        return None
    return f"CAST({quote_string(format(value, 'f'))} AS DECIMAL({precision}, {scale}))"


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the Python client's error, as before
        return False
    return True


def _inline(sql: str, params: Params) -> str:
    """``?`` placeholders (outside quotes) replaced by the values as SQL literals, in order."""
    if isinstance(params, Mapping):
        raise TypeError("catalog queries take positional parameters")
    values = iter(params or ())
    parts = re.split(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")""", sql)
    for i in range(0, len(parts), 2):  # even parts are outside quotes
        if "?" in parts[i]:
            parts[i] = re.sub(r"\?", lambda _: sql_literal(next(values)), parts[i])
    return "".join(parts)


def size_in_bytes(text: str) -> int | None:
    """'2GB', '18.8 GiB', '512 MB' -> bytes; None when it cannot be read."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?)(I?B)?\s*", text.upper())
    if not match:
        return None
    number = float(match.group(1))
    power = " KMGT".index(match.group(2) or " ")
    base = 1024 if match.group(3) == "IB" else 1000
    return int(number * base**power)


# The table functions a source's reader calls (readers.py); a saved one calling anything
# else, or holding a subquery, is not run at restore: the source is looked at again.
_SAVED_READERS = frozenset(
    {"read_csv", "read_csv_auto", "read_json_auto", "read_parquet", "read_xlsx", "read_avro"}
    | {"delta_scan", "iceberg_scan"}
)
# Functions DuckDB's parser makes of literals: {'a': 1}, [1, 2], ('a', 1).
_LITERAL_FUNCTIONS = frozenset({"struct_pack", "list_value", "row", "map"})


def _literal(node: object) -> bool:
    """An argument of a saved reader: constants, named constants and lists/structs of them."""
    if isinstance(node, list):
        return all(_literal(item) for item in node)
    if not isinstance(node, dict):
        return True
    kind = node.get("class")
    if kind in ("SUBQUERY", "WINDOW", "LAMBDA", "PARAMETER", "STAR", "CASE", "BETWEEN"):
        return False
    if kind == "FUNCTION" and (
        node.get("function_name") not in _LITERAL_FUNCTIONS or node.get("schema") not in ("", "main", None)
    ):
        return False
    if kind == "COLUMN_REF":
        return len(node.get("column_names", [])) == 1  # a named argument's name
    return all(_literal(value) for key, value in node.items() if isinstance(value, (dict, list)))


# First words of statements that only read (a WAL database is attached read-only for them).
_READ_WORDS = frozenset(
    {"SELECT", "WITH", "FROM", "VALUES", "TABLE", "DESCRIBE", "SUMMARIZE", "SHOW", "EXPLAIN"}
)


def _only_reads(sql: str) -> bool:
    """True when a statement only reads: a query, or COPY of a query to a file (EXPORT)."""
    text = re.sub(r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/)*", "", sql, flags=re.S).lstrip("(")
    first = re.match(r"[A-Za-z_]+", text)
    if first is None:
        return False
    word = first.group(0).upper()
    if word == "WITH":
        return re.search(r"\b(?:INSERT|UPDATE|DELETE|MERGE)\b", text, flags=re.I) is None
    if word == "COPY":
        return re.match(r"COPY\s*\(", text, flags=re.I) is not None
    return word in _READ_WORDS
