"""The DuckDB engine: one in-process connection, extensions loaded from pinned wheels."""

from __future__ import annotations

import glob
import importlib.util
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import duckdb

from noctra.engine.base import (
    ATTACH_SQLITE,
    PROGRESS,
    STREAM_COPY,
    Column,
    EngineStatus,
    Params,
    Registration,
    TableInfo,
    TableRef,
)
from noctra.engine.sources import Source, SourceKind, check_sqlite_file
from noctra.errors import CancelledQueryError, ConfigError, NoctraError, QueryError, SourceError
from noctra.quoting import quote_ident, quote_string, sql_literal
from noctra.redact import redact_text

if TYPE_CHECKING:
    import pyarrow as pa

    from noctra.engine.export import ExportReport

# An 8 MB read buffer held a 1 GB CSV aggregation at 90 MB peak RSS instead of
# 188 MB, at the same speed (SPEC 2.1).
CSV_BUFFER_SIZE = 8 * 1024 * 1024
WHEEL_OF_EXTENSION = {"sqlite_scanner": "sqlite-scanner", "httpfs": "httpfs", "excel": "excel"}
_LINE_MARK = re.compile(r"^LINE (\d+): ?(.*)$")
_URL_HINT = re.compile(r"(?i)\b(?:https?|s3a?|gcs?|az|r2|hf)://")
# Patterns below are compiled on first use (re caches them), not at start-up.
# sqlite_scan(...), sqlite_attach(...), ATTACH ... (TYPE sqlite): what needs the sqlite extension.
_SQLITE_HINT = r"(?i)\bsqlite_\w+\s*\(|\bTYPE\s*=?\s*'?sqlite\b"
# Words and quoted names of a statement: which pending databases it may name.
_NAMES = r'"((?:[^"]|"")*)"|([^\W\d][\w$]*)'
# DuckDB names the extension a setting belongs to when it is not loaded yet.
_SETTING_OF_EXTENSION = r"but it exists in the (\w+) extension"
# csv/json bytes of a result, as COPY writes them (SPEC 1: byte-clean for pipes).
COPY_FORMATS = {
    "csv": "FORMAT csv, HEADER true",
    "tsv": "FORMAT csv, HEADER true, DELIMITER '\t'",
    "json": "FORMAT json, ARRAY true",
    "jsonl": "FORMAT json",
}


class DuckResult:
    """Rows of one DuckDB statement, read once, as Arrow or a few display rows."""

    engine = "duckdb"

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
    capabilities = frozenset({STREAM_COPY, PROGRESS, ATTACH_SQLITE})

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
        self._loaded: set[str] = set()
        self._running: DuckResult | None = None
        self._interrupted = False
        self._progress_enabled = False
        self.busy = False
        self.threads: int | None = None  # what set_threads last set
        self._s3_secret: dict[str, str | bool] = {}
        # Where new tables go when no database source is current: memory, or a --db workspace.
        self.home = "memory"
        # SQLite databases registered but not attached yet, by lower-cased alias: attaching
        # loads the sqlite extension (~85 ms with its signature check), so it waits until a
        # statement that reaches DuckDB names the database (ready()).
        self._pending: dict[str, Source] = {}
        # The catalog USE should switch to once it is attached (a pending current database).
        self._wanted_catalog: str | None = None

    # --- the one preparation step before SQL reaches the connection ----------------

    def ready(self, sql: str, *, statement: bool = True) -> None:
        """Prepare the connection for SQL: extensions it needs, databases it names.

        A user's statement (``statement``) also attaches the current database, where its
        bare table names live; Noctra's own reads of a file (registering it) do not.
        """
        if _URL_HINT.search(sql):
            self.load_extension("httpfs")
        if "sqlite" in sql.lower() and re.search(_SQLITE_HINT, sql):
            self.load_extension("sqlite_scanner")
        if not self._pending:
            return
        named = {
            (quoted.replace('""', '"') if quoted else word).lower()
            for quoted, word in re.findall(_NAMES, sql)
        }
        wanted = self._wanted_catalog.lower() if self._wanted_catalog and statement else None
        for key in [k for k in self._pending if k in named or k == wanted]:
            self._attach_pending(key)

    def _attach_pending(self, key: str) -> None:
        source = self._pending.pop(key)
        self._attach(source, None)
        if self._wanted_catalog is not None and self._wanted_catalog.lower() == key:
            self.use_catalog(source.alias)

    # --- statements -----------------------------------------------------------------

    def run(self, sql: str, params: Params = None) -> DuckResult:
        """Run one statement on the session's connection."""
        self.ready(sql)
        self._close_running()
        self._interrupted = False
        with self.translating():
            cursor = self.connection.execute(sql, params) if params else self.connection.execute(sql)
        self._running = DuckResult(cursor, self)
        return self._running

    def execute(self, sql: str, params: Params = None) -> None:
        """Run a statement whose result nobody reads (settings, views, ATTACH, copies)."""
        self.ready(sql)
        self._execute(sql, params)

    def _execute(self, sql: str, params: Params = None) -> None:
        self._close_running()
        with self.translating():
            self.connection.execute(sql, params) if params else self.connection.execute(sql)

    def _close_running(self) -> None:
        if self._running is not None:
            self._running.close()
            self._running = None

    def _rows(self, sql: str, params: Params = None, limit: int = 10_000) -> list[tuple[object, ...]]:
        """A bounded number of rows of a catalog query, run on its own cursor.

        A cursor never closes the result the session is streaming (SPEC 3, STYLE 3).
        """
        with self.translating():
            cursor = self.connection.cursor()
            try:
                result = cursor.execute(sql, params) if params else cursor.execute(sql)
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
            cursor = self.connection.execute(sql, params) if params else self.connection.execute(sql)
            rows = cursor.fetchall()
        return [Column(str(r[0]), str(r[1]), str(r[2]).upper() != "NO") for r in rows]

    def copy_to(self, sql: str, target: str, fmt: str, params: Params = None) -> int:
        """``COPY (sql) TO target``: csv/json bytes leave DuckDB without Python rows."""
        return self._copy(sql, target, COPY_FORMATS[fmt], params)

    def _copy(self, sql: str, target: str, options: str, params: Params = None) -> int:
        self.ready(sql)
        self._close_running()
        self._interrupted = False
        statement = f"COPY ({sql}) TO {quote_string(target)} ({options})"
        with self.translating():
            cursor = (
                self.connection.execute(statement, params) if params else self.connection.execute(statement)
            )
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def export(
        self,
        sql: str,
        params: Params,
        *,
        target: str,
        fmt: str,
        options: dict[str, object],
        ordered: bool,
    ) -> ExportReport:
        """EXPORT with DuckDB's COPY; a single file is written beside the target and renamed."""
        from noctra.engine.export import export

        return export(self, sql, params, target=target, fmt=fmt, options=options, ordered=ordered)

    def cancel(self) -> None:
        """Interrupt what runs now; safe from another thread."""
        self._interrupted = True
        self.connection.interrupt()

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

    def status(self) -> EngineStatus:
        """Threads and memory from a cursor: a result being streamed stays intact."""
        rows = self._rows(
            "SELECT (SELECT sum(memory_usage_bytes) FROM duckdb_memory()), current_setting('memory_limit')"
        )
        used, limit = rows[0] if rows else (None, None)
        limit_text = None if limit is None else str(limit)
        return EngineStatus(
            engine=self.name,
            threads=self.threads,
            memory_used=None if used is None else int(str(used)),
            memory_limit=None if limit_text is None else size_in_bytes(limit_text),
            memory_limit_text=limit_text,
        )

    def close(self) -> None:
        self._close_running()
        self.connection.close()

    def translating(self) -> _Translate:
        """Context manager: turn duckdb errors into NoctraErrors."""
        return _Translate(self)

    # --- extensions -----------------------------------------------------------------

    def load_extension(self, name: str) -> None:
        """Load an extension from its pinned PyPI wheel, never from the web."""
        if name in self._loaded:
            return
        with self.translating():
            self.connection.execute(f"LOAD {quote_string(extension_path(name))}")
        self._loaded.add(name)
        if name == "httpfs" and self._s3_secret:
            self._create_s3_secret()

    def extensions(self) -> list[tuple[str, str | None, str]]:
        """(name, file it loads from or None, the pip package that provides it)."""
        found: list[tuple[str, str | None, str]] = []
        for name, wheel in WHEEL_OF_EXTENSION.items():
            package = f"duckdb-extension-{wheel}=={duckdb.__version__}"
            try:
                found.append((name, extension_path(name), package))
            except NoctraError:
                found.append((name, None, package))
        return found

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
            row = self.connection.execute("SELECT current_setting(?)", [name]).fetchone()
        return None if row is None else row[0]

    def set_option(self, name: str, literal: str) -> None:
        """``SET name = literal``; the extension a setting belongs to is loaded first if needed."""
        self._setting(f"SET {quote_ident(name)} = {literal}")
        if name.lower() == "threads":
            self.threads = None  # the user owns threads now; set_threads applies it again when asked

    def reset_option(self, name: str) -> None:
        """``RESET name``."""
        self._setting(f"RESET {quote_ident(name)}")

    def _setting(self, sql: str) -> None:
        try:
            self._execute(sql)
        except QueryError as exc:
            # s3_region, sqlite_all_varchar...: DuckDB says which extension defines the setting.
            found = re.search(_SETTING_OF_EXTENSION, exc.message)
            if found is None or found.group(1) not in WHEEL_OF_EXTENSION or found.group(1) in self._loaded:
                raise
            self.load_extension(found.group(1))
            self._execute(sql)

    def set_credentials(self, kind: str, options: Mapping[str, str | bool]) -> None:
        """S3 credentials and endpoint, made a DuckDB secret when httpfs is loaded."""
        if kind != "s3":
            raise ConfigError(f"unknown kind of credentials {kind!r}", hint="DuckDB takes 's3'")
        self._s3_secret = dict(options)
        if options and "httpfs" in self._loaded:
            self._create_s3_secret()

    @property
    def secret_values(self) -> list[str]:
        """Credential values this engine was given (for redaction)."""
        keys = ("KEY_ID", "SECRET", "SESSION_TOKEN")
        return [str(self._s3_secret[k]) for k in keys if self._s3_secret.get(k)]

    def _create_s3_secret(self) -> None:
        # A temporary secret: it lives in this connection only, never on disk.
        options = ", ".join(f"{key} {sql_literal(value)}" for key, value in self._s3_secret.items())
        try:
            self.connection.execute(f"CREATE OR REPLACE SECRET __noctra_s3 (TYPE s3, {options})")
        except duckdb.Error as exc:
            message = redact_text(first_line(exc), self.secret_values)
            raise ConfigError(
                f"cannot set up S3 access: {message}",
                hint="check [s3] in the config file and the AWS_* environment variables",
            ) from None

    # --- sources --------------------------------------------------------------------

    def _reader(self, source: Source) -> tuple[str, dict[str, str]]:
        """The table-function call that reads a file source, and the CSV dialect it pinned."""
        if source.is_remote:
            self.load_extension("httpfs")
        if source.kind is SourceKind.CSV:
            return self._pinned_csv(source)
        if source.kind is SourceKind.PARQUET:
            return f"read_parquet({quote_string(source.read_pattern)}{_args(source.options)})", {}
        options = dict(source.options)
        if "json_format" in options:
            options["format"] = options.pop("json_format")
        else:
            options.pop("format", None)
        return f"read_json_auto({quote_string(source.read_pattern)}{_args(options)})", {}

    def inspect(self, source: Source) -> Registration:
        """Columns and dialect of a file source, read as registering would read it."""
        reader, dialect = self._reader(source)
        return Registration(columns=self._columns_of(source, reader), reader=reader, dialect=dialect)

    def register(
        self, source: Source, *, replacing: Source | None = None, reuse_reader: bool = False
    ) -> Registration:
        """Make a source queryable under its alias: a view over files, or an ATTACH.

        The new source is checked before anything is replaced, so a failure leaves
        the previous source with that alias as it was. A SQLite database is attached
        when a statement first needs it in DuckDB (see ready()).
        """
        if source.kind is SourceKind.SQLITE:
            # Checked when it is attached (the file may change meanwhile): see _attach.
            if replacing is not None:
                self.unregister(replacing)
            self._pending[source.alias.lower()] = source
            return Registration()
        if source.kind.is_database:
            return self._attach(source, replacing)
        if reuse_reader and source.reader:
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
        self._execute(
            f"CREATE OR REPLACE VIEW memory.main.{quote_ident(source.alias)} AS "
            f"SELECT * FROM {registration.reader}"
        )
        return registration

    def _columns_of(self, source: Source, reader: str) -> tuple[Column, ...]:
        """The columns a file source's reader gives; a SourceError naming the file if it cannot."""
        try:
            return tuple(self._describe(f"SELECT * FROM {reader}", statement=False))
        except QueryError as exc:
            raise SourceError(
                f"cannot read {source.path!r} as {source.kind.value}: {exc.message}",
                hint=exc.hint or "check the file, or set OPTIONS (format = '...')",
            ) from exc

    def _pinned_csv(self, source: Source) -> tuple[str, dict[str, str]]:
        """Sniff once (first file of a glob) and fix dialect and column types in the view."""
        user = dict(source.options)
        user.pop("format", None)
        if "delimiter" in user:
            user["delim"] = user.pop("delimiter")
        sniff_target = source.read_pattern
        if any(c in sniff_target for c in "*?["):
            if source.is_remote:
                # A remote glob (s3://bucket/logs/*.csv) is listed by httpfs, not the OS.
                first = self._rows("SELECT file FROM glob(?) ORDER BY file LIMIT 1", [sniff_target])
                matches = [str(first[0][0])] if first else []
            else:
                matches = sorted(glob.glob(sniff_target, recursive=True))
            sniff_target = matches[0] if matches else sniff_target
        sniff_args = dict(user)
        try:
            row = self._rows(
                "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, "
                f"HasHeader, Columns, DateFormat, TimestampFormat FROM sniff_csv("
                f"{quote_string(sniff_target)}{_args(sniff_args)})"
            )[0]
        except QueryError as exc:
            raise SourceError(
                f"cannot read {source.path!r} as CSV: {exc.message}",
                hint=exc.hint
                or "set OPTIONS (delimiter = ..., header = ..., quote = ...) or all_varchar = true",
            ) from exc
        delim, quote, escape, newline, comment, skip, header, columns, datefmt, tsfmt = row
        assert isinstance(columns, list)
        if len(columns) == 1 and "delim" not in user and "all_varchar" not in user:
            name = str(columns[0]["name"])
            if any(d in name for d in ",;\t|" if d != delim):
                raise SourceError(
                    f"cannot read {source.path!r} as CSV: its rows have different numbers of fields",
                    hint="OPTIONS (ignore_errors = true) skips bad rows; null_padding = true fills "
                    "missing fields with NULL; or set delimiter",
                )
        pinned: dict[str, object] = {
            "auto_detect": False,
            "delim": delim,
            "quote": _unempty(quote),
            "escape": _unempty(escape),
            "new_line": newline,
            "comment": _unempty(comment),
            "skip": skip,
            "header": header,
            "buffer_size": CSV_BUFFER_SIZE,
        }
        if datefmt:
            pinned["dateformat"] = datefmt
        if tsfmt:
            pinned["timestampformat"] = tsfmt
        for key in ("encoding", "nullstr", "ignore_errors", "decimal_separator", "null_padding"):
            if key in user:
                pinned[key] = user[key]
        pinned["columns"] = {str(c["name"]): str(c["type"]) for c in columns}
        if any(c in source.read_pattern for c in "*?["):
            pinned["union_by_name"] = False
        dialect = {
            "delimiter": str(delim),
            "quote": str(_unempty(quote)),
            "escape": str(_unempty(escape)),
            "header": str(header).lower(),
            "skip": str(skip),
        }
        if datefmt:
            dialect["dateformat"] = str(datefmt)
        return f"read_csv({quote_string(source.read_pattern)}{_args(pinned)})", dialect

    def _attach(self, source: Source, replacing: Source | None) -> Registration:
        readonly = bool(source.options.get("readonly", False))
        if source.kind is SourceKind.SQLITE:
            self.load_extension("sqlite_scanner")
            kind_sql = "TYPE sqlite"
            check_sqlite_file(source)
        else:
            kind_sql = "TYPE duckdb"
        extra = ", READ_ONLY" if readonly else ""
        target = source.alias if replacing is None else "__noctra_attach_check"
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
            raise SourceError(
                f"cannot open {source.path!r} as a {source.kind.value} database: {exc.message}",
                hint="check that the file is a database (and not locked by another program)",
            ) from exc
        if replacing is not None:
            self._execute(f"DETACH DATABASE {quote_ident(target)}")
            self.unregister(replacing)
            self._execute(
                f"ATTACH {quote_string(source.location)} AS {quote_ident(source.alias)} ({kind_sql}{extra})"
            )
        return Registration(tables=int(str(tables[0][0])) if tables else None)

    def unregister(self, source: Source) -> None:
        """Remove a source's view or attachment."""
        key = source.alias.lower()
        if self._pending.pop(key, None) is not None:
            if self._wanted_catalog is not None and self._wanted_catalog.lower() == key:
                self._wanted_catalog = None
            return
        if source.kind.is_database:
            self._execute(f"DETACH DATABASE IF EXISTS {quote_ident(source.alias)}")
        else:
            self._execute(f"DROP VIEW IF EXISTS memory.main.{quote_ident(source.alias)}")

    def quoted_file_reader(self, path: str, kind: SourceKind) -> str | None:
        """A CSV quoted in FROM is read with the same small buffer as registered sources.

        DuckDB's default buffer took a 1 GB CSV aggregation to 199 MiB peak instead of 112 MiB.
        """
        if kind is not SourceKind.CSV:
            return None
        return f"read_csv({quote_string(path)}, buffer_size = {CSV_BUFFER_SIZE})"

    def tables(self, alias: str) -> list[TableInfo]:
        """Tables and views of an attached database ('memory': the session's own tables).

        Listed from a cursor; a pending SQLite database is attached first.
        """
        if alias.lower() in self._pending:
            self._attach_pending(alias.lower())
        rows = self._rows(
            "SELECT * FROM (SELECT table_name, 'table', column_count, schema_name FROM duckdb_tables() "
            "WHERE database_name = ? AND NOT internal AND schema_name <> '__noctra_copies' "
            "UNION ALL SELECT view_name, 'view', column_count, schema_name FROM duckdb_views() "
            "WHERE database_name = ? AND NOT internal) AS t(name, type, columns, schema) "
            "ORDER BY schema <> 'main', schema, name",
            [alias, alias],
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
        self._execute(f"USE {quote_ident(alias)}")
        if alias != "memory":
            path = f"{quote_ident(alias)}.main,memory.main"
            self._execute(f"SET search_path = {quote_string(path)}")

    def table_references(self, sql: str) -> list[TableRef] | None:
        """Tables a SELECT names, from DuckDB's own parser; None for other statements."""
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
        if tree.get("error"):
            return None
        refs: list[TableRef] = []
        ctes: set[str] = set()

        def walk(node: object) -> None:
            if isinstance(node, dict):
                kind = node.get("type")
                if kind == "BASE_TABLE":
                    refs.append(
                        TableRef(
                            str(node.get("catalog_name") or ""),
                            str(node.get("schema_name") or ""),
                            str(node.get("table_name") or ""),
                        )
                    )
                elif kind == "TABLE_FUNCTION":
                    refs.append(TableRef("", "", "", is_function=True))
                cte_map = node.get("cte_map")
                if isinstance(cte_map, dict):
                    ctes.update(str(item.get("key", "")).lower() for item in cte_map.get("map", []))
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(tree)
        return [r for r in refs if r.catalog or r.db or r.name.lower() not in ctes]

    def statement_kind(self, sql: str) -> str:
        """DuckDB's statement type name (SELECT, INSERT, CREATE...); parse errors raise."""
        with self.translating():
            statements = self.connection.extract_statements(sql)
        if len(statements) != 1:
            raise QueryError("expected one statement", hint="separate statements with ';'")
        return str(statements[0].type.name)


class _Translate:
    """Turns duckdb exceptions into NoctraErrors with a one-line message and a hint."""

    def __init__(self, engine: DuckEngine) -> None:
        self.engine = engine

    def __enter__(self) -> None:
        self.engine.busy = True

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> Literal[False]:
        self.engine.busy = False
        if exc is None:
            return False
        if isinstance(exc, duckdb.InterruptException) or (
            isinstance(exc, KeyboardInterrupt) and self.engine._interrupted
        ):
            raise CancelledQueryError("query cancelled") from exc
        if isinstance(exc, duckdb.Error):
            raise translate_error(exc, self.engine.secret_values) from exc
        return False


def translate_error(exc: duckdb.Error, secrets: Sequence[str] = ()) -> QueryError:
    """A QueryError from a DuckDB exception: its first line, the 'Did you mean' as hint."""
    # DuckDB quotes URLs in its messages: signed query strings and passwords stay hidden.
    text = redact_text(str(exc), secrets)
    lines = text.splitlines()
    message = lines[0] if lines else type(exc).__name__
    hint = None
    error = QueryError(message)
    for index, line in enumerate(lines[1:], start=1):
        stripped = line.strip()
        if stripped.startswith("Did you mean") and hint is None:
            internal = ("pg_", "duckdb_", "information_schema", "sqlite_", "__noctra")
            if any(name in stripped for name in internal):
                hint = "SHOW SOURCES lists the registered sources, SHOW TABLES their tables"
            else:
                hint = stripped
        match = _LINE_MARK.match(line)
        if match and index + 1 < len(lines) and "^" in lines[index + 1]:
            caret = lines[index + 1].index("^") - (len(line) - len(match.group(2)))
            error.engine_position = (int(match.group(1)), match.group(2), max(caret, 0))
    if "extension" in message.lower() and ("download" in message.lower() or "install" in message.lower()):
        hint = "this needs a DuckDB extension that is not installed; see `noctra info`"
    if message.startswith("Invalid Input Error: CSV Error on Line"):
        error.message, hint = _csv_error(message, lines)
    error.hint = hint
    return error


_CSV_HINTS = (
    ("not utf-8", "the file is not UTF-8: add OPTIONS (encoding = 'latin-1') (or 'utf-16')"),
    ("unterminated quote", "fix the quoting, or OPTIONS (quote = '') or ignore_errors = true"),
    (
        "expected number of columns",
        "rows have different numbers of fields: OPTIONS (null_padding = true) or ignore_errors = true",
    ),
    (
        "could not convert",
        "a value does not fit the column type: OPTIONS (types = {...}) or all_varchar = true",
    ),
)


def _csv_error(message: str, lines: list[str]) -> tuple[str, str]:
    """DuckDB's many-line CSV error as one line: where and why, and the option that helps."""
    where = message.removeprefix("Invalid Input Error: ").replace("CSV Error on Line:", "CSV error on line")
    reason = ""
    # After the offending line (it may span lines) DuckDB states the reason as a sentence.
    start = next((i for i, line in enumerate(lines) if line.startswith("Original Line")), 0)
    for line in lines[start + 1 :]:
        text = line.strip()
        if text.startswith("Possible"):
            break
        if text.endswith(".") or text.startswith("Expected Number of Columns"):
            reason = text
            break
    hint = "OPTIONS (ignore_errors = true) skips rows that do not fit"
    for needle, advice in _CSV_HINTS:
        if needle in reason.lower():
            hint = advice
            break
    return (f"{where}: {reason}" if reason else where), hint


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def extension_path(name: str) -> str:
    """Path of an extension file inside its PyPI wheel; error naming the package if absent."""
    package = f"duckdb-extension-{WHEEL_OF_EXTENSION.get(name, name)}=={duckdb.__version__}"
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        found = glob.glob(
            os.path.join(location, "extensions", f"v{duckdb.__version__}", f"{name}.duckdb_extension")
        )
        if found:
            return found[0]
    raise SourceError(
        f"the DuckDB extension {name!r} is not installed",
        hint=f"pip install {package}",
    )


def _unempty(value: object) -> object:
    return "" if value in (None, "(empty)") else value


def _args(options: dict[str, object]) -> str:
    """Named arguments for a DuckDB table function, every value quoted."""
    return "".join(f", {key} = {sql_literal(value)}" for key, value in options.items())


def size_in_bytes(text: str) -> int | None:
    """'2GB', '18.8 GiB', '512 MB' -> bytes; None when it cannot be read."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?)(I?B)?\s*", text.upper())
    if not match:
        return None
    number = float(match.group(1))
    power = " KMGT".index(match.group(2) or " ")
    base = 1024 if match.group(3) == "IB" else 1000
    return int(number * base**power)
