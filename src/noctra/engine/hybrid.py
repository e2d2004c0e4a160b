"""Routing between DuckDB and native SQLite, and copies of hot SQLite tables and files."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from noctra.config import EngineConfig
from noctra.engine.base import Column, Engine, TableInfo, TableRef
from noctra.engine.sources import Source, SourceKind, is_glob, is_remote, is_wal, kind_from_name
from noctra.errors import LockedError, QueryError
from noctra.quoting import quote_ident, quote_string

if TYPE_CHECKING:
    from noctra.engine.cache import CacheEntry, CacheStore, FileIdentity
    from noctra.engine.sqlite import SqliteEngine
from noctra.records import field, record

ENGINE_MODES = ("auto", "duckdb", "sqlite")
# DuckDB settings that change the values of text read as TIMESTAMPTZ/TIMETZ (no offset: the
# session's zone; Calendar: how its fields are counted; the casts off: read as UTC).
READING_SETTINGS = ("Calendar", "TimeZone", "disable_timestamptz_casts")


class BrokenDefinitionError(Exception):
    """SQLite cannot read a table's or view's definition (a view over a dropped table)."""


def table_references(sql: str) -> list[TableRef] | None:
    """Tables a statement reads or writes, found by sqlglot; None if it cannot parse.

    Used for the statements DuckDB's own parser cannot describe (writes, DDL):
    sqlglot costs ~85 ms to import, so it is loaded only then.
    """
    import sqlglot
    from sqlglot import exp

    try:
        trees = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return None
    refs: list[TableRef] = []
    for tree in trees:
        if tree is None:
            continue
        ctes = {cte.alias.lower() for cte in tree.find_all(exp.CTE)}
        for table in tree.find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier):
                refs.append(TableRef("", "", "", is_function=True))
                continue
            if not table.db and not table.catalog and table.name.lower() in ctes:
                continue
            refs.append(TableRef(table.catalog, table.db, table.name))
        if any(
            isinstance(node, exp.Func) and node.sql_name().upper().startswith("READ_") for node in tree.walk()
        ):
            refs.append(TableRef("", "", "", is_function=True))
    return refs


@record
class Route:
    """Where a statement runs: natively in one SQLite source, or in DuckDB."""

    engine: str
    sqlite_source: Source | None = None
    sqlite_tables: list[tuple[Source, str]] = field(default_factory=list)
    file_sources: list[Source] = field(default_factory=list)
    reason: str = ""
    # Of sqlite_tables, those named bare (tables of the current SQLite source): DuckDB finds
    # them through its search path, so a copy or generated read stands in under their name.
    bare_tables: list[tuple[Source, str]] = field(default_factory=list)


def duckdb_type_of_sqlite(declared: str) -> str:
    """The type DuckDB's SQLite reader gives a column declared ``declared`` (measured, DuckDB 1.5).

    SQLite's affinity rules, with DATE and TIME/DATETIME/TIMESTAMP read as dates and times,
    NUMERIC/DECIMAL as DOUBLE, BOOL as BIGINT and any other name as VARCHAR.
    """
    name = declared.lower()
    if "int" in name or "bool" in name:
        return "BIGINT"
    if any(part in name for part in ("char", "clob", "text")):
        return "VARCHAR"
    if "blob" in name or not name:
        return "BLOB"
    if any(part in name for part in ("real", "floa", "doub", "numeric", "decimal")):
        return "DOUBLE"
    if name == "date":
        return "DATE"
    if "time" in name:
        return "TIMESTAMP"
    return "VARCHAR"


def _sqlite_ident(name: str) -> str:
    """A name quoted for SQLite (as DuckDB would: double quotes, doubled inside)."""
    return '"' + name.replace('"', '""') + '"'


def is_file_name(name: str) -> bool:
    """A name DuckDB would read as a file (an extension, a glob, a URL or a path)."""
    return kind_from_name(name) is not None or is_glob(name) or is_remote(name) or "/" in name


def route(
    refs: list[TableRef] | None,
    sources: list[Source],
    current: Source | None,
    sqlite_tables: dict[str, set[str]],
) -> Route:
    """Decide where a statement runs in ``auto`` mode (SPEC 4.3).

    sqlite_tables maps a SQLite alias to the (lower-cased) tables it has.
    """
    if refs is None:
        return Route("duckdb", reason="not parsed")
    by_alias = {s.alias.lower(): s for s in sources}
    sqlite_hits: dict[str, Source] = {}
    tables: list[tuple[Source, str]] = []
    bare: list[tuple[Source, str]] = []
    files: list[Source] = []
    other = False
    for ref in refs:
        if ref.is_function:
            other = True
            continue
        qualifier = (ref.catalog or ref.db).lower()
        if qualifier:
            source = by_alias.get(qualifier)
            if source is not None and source.kind is SourceKind.SQLITE:
                sqlite_hits[source.alias] = source
                tables.append((source, ref.name))
            else:
                other = True
            continue
        if is_file_name(ref.name):
            other = True
            continue
        source = by_alias.get(ref.name.lower())
        if source is not None and not source.kind.is_database:
            files.append(source)
            other = True
            continue
        if (
            current is not None
            and current.kind is SourceKind.SQLITE
            and (ref.name.lower() in sqlite_tables.get(current.alias, set()))
        ):
            sqlite_hits[current.alias] = current
            tables.append((current, ref.name))
            bare.append((current, ref.name))
            continue
        other = True
    if len(sqlite_hits) == 1 and not other:
        return Route("sqlite", sqlite_source=next(iter(sqlite_hits.values())), sqlite_tables=tables)
    reason = "several sources" if len(sqlite_hits) > 1 else "files or DuckDB tables"
    return Route("duckdb", sqlite_tables=tables, file_sources=files, reason=reason, bare_tables=bare)


@record
class CopyState:
    """Reads of one SQLite table or file from DuckDB, and its copy in DuckDB if made."""

    reads: int = 0
    copy: str | None = None
    rows: int | None = None
    version: tuple[int, int, int] | None = None
    reading: str = ""  # a file copy's zoned values were read under these settings (_reading)


# DuckDB's errors raised before any row is read: a statement failing so is wrong as written.
_BEFORE_READING = {
    "ParserException",
    "SyntaxException",
    "BinderException",
    "CatalogException",
    "InterruptException",
    "OutOfMemoryException",
    "PermissionException",
    "TransactionException",
    "DependencyException",
    "NotImplementedException",
}


def _zoned(columns: Sequence[Column]) -> bool:
    """A column WITH TIME ZONE (at any depth): its values read from text depend on _reading()."""
    return any("WITH TIME ZONE" in column.type.upper() for column in columns)


def _bound_before_reading(error: QueryError) -> bool:
    return type(error.__cause__).__name__ in _BEFORE_READING


def file_version(path: str) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


# A remote file is copied only once its Last-Modified is this old (see Hybrid._identity).
_REMOTE_SETTLED_NS = 60 * 1_000_000_000


class Hybrid:
    """Native SQLite connections and the DuckDB copies of hot SQLite tables and files."""

    SCHEMA = "memory.__noctra_copies"

    def __init__(
        self,
        duck: Engine,
        settings: EngineConfig,
        *,
        statement_cache: int = 100,
        store: CacheStore | None = None,
    ) -> None:
        self.duck = duck
        self.settings = settings
        self.statement_cache = statement_cache
        self.store = store  # persistent copies of text files; None when turned off
        # Alias -> the persistent copy its view reads now, and reads served by such copies.
        self.served: dict[str, CacheEntry] = {}
        self.cache_hits = 0
        self._checked: set[str] = set()  # copies of quoted files whose footer was read
        # Persistent copies the statement being planned reads: key -> (entry, what reads the
        # text instead; a source's view is pointed back at it when the copy is dropped).
        self._used: dict[str, tuple[CacheEntry, str, Callable[[], None] | None]] = {}
        # SQLite tables' generated columns: key -> (file version, _generated_layout's answer).
        self._generated: dict[str, tuple[object, tuple[list[list[str]], bool] | None]] = {}
        # SQLite tables' column names as SQLite gives them (key -> names), by _generated_layout;
        # and (key -> (those names, DuckDB's)) where DuckDB's reader names them otherwise.
        self._sqlite_names: dict[str, list[str]] = {}
        self._duck_names: dict[str, tuple[list[str], list[str]]] = {}
        self.sqlite: dict[str, SqliteEngine] = {}
        self.copies: dict[str, CopyState] = {}
        self._tables: dict[str, tuple[tuple[int, int, int], set[str]]] = {}
        self._schema_ready = False
        duck.before_sqlite_attach(self._close_for_duckdb)

    # --- native SQLite --------------------------------------------------------------

    def sqlite_engine(self, source: Source) -> SqliteEngine:
        """Noctra's own connection to a SQLite source (Python's sqlite3).

        DuckDB reads SQLite through its own copy of the SQLite library. Two copies of SQLite in
        one process do not see each other's POSIX locks (sqlite.org/howtocorrupt.html, 2.2.1):
        with a WAL database, the one that closes last-but-not-last deletes the WAL the other
        still writes to, so its later commits are invisible to DuckDB and lost if the process
        dies. So a WAL database is never open in both at once: DuckDB's attachment is set aside
        before this connection is used, and this connection is closed before DuckDB attaches
        (_close_for_duckdb). A rollback-journal database needs neither (each write changes the
        file, and no lock is held between statements).
        """
        from noctra.engine.sqlite import SqliteEngine

        if is_wal(source.location):
            self.duck.attach_again(source)
        engine = self.sqlite.get(source.alias)
        if engine is None or engine.path != source.location:
            opened = SqliteEngine(
                source.location,
                source.alias,
                readonly=bool(source.options.get("readonly", False)),
                cache_size=self.statement_cache,
            )
            if engine is not None:
                engine.close()
            self._tables.pop(source.alias, None)
            engine = self.sqlite[source.alias] = opened
        return engine

    def _close_for_duckdb(self, source: Source) -> None:
        """DuckDB is about to attach a SQLite source: a WAL database's own connection closes."""
        engine = self.sqlite.get(source.alias)
        if engine is not None and engine.path == source.location and is_wal(source.location):
            del self.sqlite[source.alias]
            engine.close()

    def open_new(self, source: Source) -> None:
        """Create an empty SQLite database file for ``OPTIONS (create = true)``."""
        import sqlite3

        sqlite3.connect(source.location).close()

    def tables_of(self, source: Source, *, fresh: bool = False) -> set[str]:
        """Lower-cased table and view names of a SQLite source (cached until the file changes).

        While another program holds a lock on the file, the names last read stand in
        (LockedError when there are none): the statement itself meets the lock if it reads it.
        """
        cached = self._tables.get(source.alias)
        try:
            version = self._sqlite_version(source)
            if cached is not None and cached[0] == version and not fresh:
                return cached[1]
            engine = self.sqlite_engine(source)
            with engine.translating():
                rows = engine.connection.execute(
                    "SELECT lower(name) FROM sqlite_master WHERE type IN ('table', 'view')"
                ).fetchall()
        except LockedError:
            if cached is None:
                raise
            return cached[1]
        names = {str(r[0]) for r in rows}
        self._tables[source.alias] = (version, names)
        return names

    def table_infos(self, source: Source) -> list[TableInfo]:
        """Tables and views of a SQLite source with their column counts, read natively.

        Generated columns count (SELECT * shows them). A view SQLite cannot read (over a
        dropped table) is listed as ``view (broken)`` with 0 columns. Listing a SQLite source
        never attaches it in DuckDB nor loads an extension.
        """
        engine = self.sqlite_engine(source)
        with engine.translating():
            rows = engine.connection.execute(
                "SELECT name, type FROM main.sqlite_master "
                "WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
        infos = []
        for name, kind in rows:
            try:
                count = len(self._columns(engine, str(name)))
            except BrokenDefinitionError:
                infos.append(TableInfo(str(name), f"{kind} (broken)", 0))
                continue
            infos.append(TableInfo(str(name), str(kind), count))
        return infos

    def columns_of(self, source: Source, table: str) -> list[Column]:
        """Columns of a SQLite table (generated ones too) with their declared types, read natively.

        QueryError naming the view when SQLite cannot read its definition.
        """
        engine = self.sqlite_engine(source)
        try:
            rows = self._columns(engine, table)
        except BrokenDefinitionError as exc:
            raise QueryError(
                f"{table!r} of {source.alias!r} cannot be read: {exc}",
                hint="its definition names a table or column that is gone: "
                f"fix or drop it in SQLite ({source.path})",
            ) from exc.__cause__
        return [Column(str(r[0]), str(r[1] or "ANY").upper(), not r[2]) for r in rows]

    @staticmethod
    def _columns(engine: SqliteEngine, table: str) -> list[tuple[object, ...]]:
        """Name, declared type and NOT NULL of each column SELECT * shows, in order.

        ``table_xinfo`` (unlike ``table_info``) keeps generated columns; hidden = 1 marks a
        virtual table's hidden columns, which SELECT * leaves out.
        """
        import sqlite3

        try:
            with engine.translating():
                return engine.connection.execute(
                    "SELECT name, type, \"notnull\" FROM pragma_table_xinfo(?, 'main') WHERE hidden != 1",
                    (table,),
                ).fetchall()
        except QueryError as exc:
            if isinstance(exc, LockedError) or not isinstance(exc.__cause__, sqlite3.Error):
                raise
            raise BrokenDefinitionError(str(exc.__cause__)) from exc.__cause__

    def forget(self, source: Source) -> None:
        """A source went away: drop its connection and copies."""
        self.invalidate(source)
        self._tables.pop(source.alias, None)
        engine = self.sqlite.pop(source.alias, None)
        if engine is not None:
            engine.close()

    # --- copies ---------------------------------------------------------------------

    def _key(self, source: Source, table: str | None) -> str:
        return source.alias.lower() if table is None else f"{source.alias.lower()}.{table.lower()}"

    def _ensure_schema(self) -> None:
        if not self._schema_ready:
            self.duck.execute(f"CREATE SCHEMA IF NOT EXISTS {self.SCHEMA}")
            self._schema_ready = True

    def _sqlite_version(self, source: Source) -> tuple[int, int, int]:
        size, mtime = file_version(source.location)
        return size, mtime, self.sqlite_engine(source).data_version()

    def has_copy(self, source: Source) -> bool:
        """True when a file source is read from a DuckDB copy."""
        if source.alias.lower() in self.served:
            return True
        state = self.copies.get(self._key(source, None))
        return state is not None and state.copy is not None

    def cache_state(self, source: Source) -> str:
        """What SHOW SOURCES says a source is read from: 'persistent', 'memory' or '' (itself)."""
        prefix = source.alias.lower()
        state = self.copies.get(prefix)
        if state is not None and state.copy is not None:
            return "memory"
        if prefix in self.served:
            return "persistent"
        tables = [s for k, s in self.copies.items() if k.startswith(prefix + ".") and s.copy is not None]
        return f"memory ({len(tables)} table{'s' if len(tables) != 1 else ''})" if tables else ""

    def invalidate(self, source: Source) -> None:
        """Drop every copy made from a source (it changed, or Noctra wrote to it)."""
        prefix = source.alias.lower()
        self.served.pop(prefix, None)  # the view was made again over the text, or went away
        for key in [k for k in self.copies if k == prefix or k.startswith(prefix + ".")]:
            state = self.copies.pop(key)
            if state.copy is not None:
                self.duck.execute(f"DROP TABLE IF EXISTS {state.copy}")

    def sqlite_table_for_duckdb(self, source: Source, table: str) -> str | None:
        """Count a DuckDB read of a SQLite table; what to read instead, if anything.

        That is its copy in DuckDB once there is one, else (for a table with generated
        columns) a query that has SQLite compute them; None: DuckDB reads the table itself.
        """
        computed = self._generated_read(source, table) or self._renamed_read(source, table)
        key = self._key(source, table)
        state = self.copies.setdefault(key, CopyState())
        if state.copy is not None:
            version = self._sqlite_version(source)
            if state.version == version:
                state.reads += 1
                return state.copy
            self.invalidate(source)  # the file changed since the copy: never serve it stale
            state = self.copies.setdefault(key, CopyState())
        state.reads += 1
        settings = self.settings
        if state.rows is None:
            # A SQLite row takes at least 5 bytes of its file (cell pointer, lengths, rowid):
            # while that bound cannot reach a threshold, no count is needed (a one-shot run
            # then scans nothing: ~10 ms on 100K rows).
            bound = os.path.getsize(source.location) // 5
            if bound < settings.materialize_always_rows and (
                bound < settings.materialize_min_rows or state.reads < settings.materialize_after_queries
            ):
                return computed
            try:
                state.rows = self.sqlite_engine(source).count_rows(table)
            except QueryError:
                return computed  # a view SQLite cannot read, a lock: DuckDB's read reports it
        due = state.rows >= settings.materialize_always_rows or (
            state.rows >= settings.materialize_min_rows and state.reads >= settings.materialize_after_queries
        )
        if not due or not self._fits(os.path.getsize(source.location)):
            return computed
        self._ensure_schema()
        copy = f"{self.SCHEMA}.{quote_ident(f'{source.alias}__{table}'.lower())}"
        original = computed or f"{quote_ident(source.alias)}.{quote_ident(table)}"
        state.version = self._sqlite_version(source)  # what the copy is a copy of
        self.duck.execute(f"CREATE OR REPLACE TABLE {copy} AS SELECT * FROM {original}")
        state.copy = copy
        return copy

    def _generated_read(self, source: Source, table: str) -> str | None:
        """A DuckDB query reading a SQLite table with its generated columns; None when it has none.

        DuckDB's SQLite reader lists a table's columns with PRAGMA table_info, which leaves
        generated columns out (SELECT * and EXPORT would silently lose them). Its scan gives
        the stored columns; SQLite itself computes the generated ones (sqlite_query), joined
        on rowid (on the primary key for a WITHOUT ROWID table).
        """
        layout = self._generated_layout(source, table)
        if layout is None:
            return None
        columns, without_rowid = layout
        as_text = self._sqlite_all_varchar()  # SET by the user at any time: asked on each read
        if without_rowid:  # its primary key (never generated)
            primary = sorted((int(pk), name) for name, _, _, pk in columns if pk != "0")
            keys = [(_sqlite_ident(name), f"CAST(s.{quote_ident(name)} AS VARCHAR)") for _, name in primary]
        else:
            keys = [("rowid", "s.rowid")]
        picked = [f"{sqlite_key} AS __noctra_key{i}" for i, (sqlite_key, _) in enumerate(keys)]
        shown = []
        for name, declared, hidden, _ in columns:
            if hidden not in ("2", "3"):
                shown.append(f"s.{quote_ident(name)}")
                continue
            target = "VARCHAR" if as_text else duckdb_type_of_sqlite(declared)
            value = _sqlite_ident(name)
            if target == "BLOB":
                # Text would mangle bytes: hex in SQLite, back to bytes in DuckDB.
                picked.append(f"CASE WHEN {value} IS NULL THEN NULL ELSE hex({value}) END AS {value}")
                shown.append(f"unhex(q.{quote_ident(name)}) AS {quote_ident(name)}")
                continue
            if target == "DOUBLE":
                # sqlite_query hands values over as text: 17 digits keep a REAL exact.
                value = f"CASE typeof({value}) WHEN 'real' THEN printf('%!.17g', {value}) ELSE {value} END"
            picked.append(f"{value} AS {_sqlite_ident(name)}")
            shown.append(f"CAST(q.{quote_ident(name)} AS {target}) AS {quote_ident(name)}")
        query = f"SELECT {', '.join(picked)} FROM main.{_sqlite_ident(table)}"
        on = " AND ".join(
            f"{duck_key} = CAST(q.__noctra_key{i} AS {'BIGINT' if sqlite_key == 'rowid' else 'VARCHAR'})"
            for i, (sqlite_key, duck_key) in enumerate(keys)
        )
        return (
            f"(SELECT {', '.join(shown)} FROM {quote_ident(source.alias)}.{quote_ident(table)} AS s "
            f"JOIN sqlite_query({quote_string(source.alias)}, {quote_string(query)}) AS q ON {on})"
        )

    def _generated_layout(self, source: Source, table: str) -> tuple[list[list[str]], bool] | None:
        """(name, declared type, hidden, pk) of each column of a table that has generated
        columns, and whether it is WITHOUT ROWID; None when it has none.

        Asked of DuckDB's own SQLite connection (the statement attaches the database there
        anyway; a one-shot run needs no sqlite3), once per table until its file or WAL changes;
        not kept when SQLite could not say (a lock): asked again next time.
        """
        try:
            wal = source.location + "-wal"
            version: object = (
                file_version(source.location),
                file_version(wal) if os.path.exists(wal) else None,
            )
        except OSError:
            version = None
        key = self._key(source, table)
        known = self._generated.get(key)
        if version is not None and known is not None and known[0] == version:
            return known[1]
        columns = self._sqlite_rows(
            source,
            f"SELECT name, type, hidden, pk FROM pragma_table_xinfo({quote_string(table)}, 'main') "
            "WHERE hidden != '1'",
        )
        layout = None
        if any(hidden in ("2", "3") for _, _, hidden, _ in columns):
            listed = self._sqlite_rows(
                source, f"SELECT wr FROM pragma_table_list({quote_string(table)}) WHERE schema = 'main'"
            )
            layout = (columns, bool(listed and listed[0][0] == "1"))
        self._sqlite_names[key] = [name for name, _, _, _ in columns]
        if columns and version is not None:
            self._generated[key] = (version, layout)
        return layout

    def sqlite_relation(self, source: Source, table: str) -> str:
        """What DuckDB reads for a SQLite table without counting a read: the table itself, or
        the query that names its columns as SQLite does (DESCRIBE alias.table)."""
        self._generated_layout(source, table)
        plain = f"{quote_ident(source.alias)}.{quote_ident(table)}"
        return self._renamed_read(source, table) or plain

    def _renamed_read(self, source: Source, table: str) -> str | None:
        """A DuckDB query reading a SQLite table under SQLite's own column names; None when
        DuckDB's reader gives the same ones.

        SQLite names a view's second ``x`` "x:1" (its ``SELECT *`` header, what the SQLite road
        selects); DuckDB's reader calls it x_1. Renamed to "x:1", one name selects the column on
        both roads and DESCRIBE, the output and EXPORT agree. Only names with a ':' are checked.
        """
        key = self._key(source, table)
        names = self._sqlite_names.get(key)
        if not names or not any(":" in name for name in names):
            return None
        relation = f"{quote_ident(source.alias)}.{quote_ident(table)}"
        known = self._duck_names.get(key)
        if known is None or known[0] != names:
            try:
                known = (names, [c.name for c in self.duck.describe(relation)])
            except QueryError:
                return None  # DuckDB's read reports it
            self._duck_names[key] = known
        duck = known[1]
        if len(duck) != len(names) or duck == names:
            return None
        shown = [
            quote_ident(d) if d == n else f"{quote_ident(d)} AS {quote_ident(n)}"
            for d, n in zip(duck, names, strict=True)
        ]
        return f"(SELECT {', '.join(shown)} FROM {relation})"

    def _sqlite_rows(self, source: Source, query: str) -> list[list[str]]:
        """Rows (as text, NULL as '') of a query DuckDB's SQLite connection runs on a source.

        Empty when it fails (a view SQLite cannot read, a lock): the statement reports that.
        """
        try:
            found = self.duck.run(
                f"SELECT * FROM sqlite_query({quote_string(source.alias)}, {quote_string(query)})"
            ).fetch(100_000)
        except QueryError:
            return []
        return [["" if value is None else str(value) for value in row] for row in found]

    def _sqlite_all_varchar(self) -> bool:
        """DuckDB's sqlite_all_varchar (SET by the user): every SQLite column read as text."""
        try:
            rows = self.duck.run("SELECT current_setting('sqlite_all_varchar')").fetch(1)
        except QueryError:
            return False  # the SQLite extension is not loaded yet: nobody SET it
        return bool(rows and rows[0][0] is True)

    def file_read(self, source: Source, reader: str) -> None:
        """Count a read of a local CSV/JSON source: serve it from a persistent or in-memory copy."""
        if source.kind not in (SourceKind.CSV, SourceKind.JSON) or not reader:
            return
        if source.is_remote:
            if self.store is not None and self.store.remote:
                self._persistent(source, reader)  # [cache] remote = true
            return
        key = self._key(source, None)
        state = self.copies.setdefault(key, CopyState())
        state.reads += 1
        if state.copy is not None:
            if not state.reading or state.reading == self._reading():
                return  # refresh() drops it when the file changes
            # Made under another TimeZone or Calendar: its zoned values are other instants now.
            self.duck.execute(f"DROP TABLE IF EXISTS {state.copy}")
            state.copy = None
            self.served.pop(source.alias.lower(), None)
            self._point(source, reader)
        read_from = self._persistent(source, reader)
        size = source.size
        if size is None or size >= self.settings.cache_files_under:
            return
        if state.reads < self.settings.materialize_after_queries or not self._fits(size * 4):
            return
        self._ensure_schema()
        copy = f"{self.SCHEMA}.{quote_ident('file__' + source.alias.lower())}"
        try:
            self.duck.execute(f"CREATE OR REPLACE TABLE {copy} AS SELECT * FROM {read_from}")
        except QueryError as exc:
            # A damaged persistent copy: dropped, and the in-memory copy is made from the text.
            if read_from == reader or self.without_damaged(read_from, list(self._used.values()), exc) is None:
                raise
            self.duck.execute(f"CREATE OR REPLACE TABLE {copy} AS SELECT * FROM {reader}")
        self._point(source, copy)
        state.copy = copy
        # Columns not known yet: kept as if zoned (made again if the settings change).
        state.reading = self._reading() if not source.schema or _zoned(source.schema) else ""

    def _point(self, source: Source, relation: str) -> None:
        # A restored source whose view waits for its first use (its reader loads an extension,
        # see DuckEngine.register; its schema is not known yet) gets this view instead.
        forget = getattr(self.duck, "forget_pending_view", None)  # DuckEngine's; not in the protocol
        if forget is not None:
            forget(source.alias)
        self.duck.execute(
            f"CREATE OR REPLACE VIEW memory.main.{quote_ident(source.alias)} AS SELECT * FROM {relation}"
        )

    def _persistent(self, source: Source, reader: str) -> str:
        """What reads the file now: its persistent copy if one matches it (made on the second read)."""
        alias = source.alias.lower()
        # A directory source reads the glob of its files of one format.
        location = source.read_pattern if os.path.isdir(source.location) else source.location
        if self.store is None or not self._cacheable(location):
            return reader
        served = self.served.get(alias)

        def point(copy_reader: str, entry: CacheEntry) -> None:
            if served is None or served.key != entry.key:
                self._point(source, copy_reader)  # binding it reads the Parquet footer
            self.served[alias] = entry

        def back_to_text() -> None:
            if self.served.pop(alias, None) is not None:
                self._point(source, reader)

        read_from = self._from_store(location, reader, list(source.schema) or None, point, back_to_text)
        if read_from == reader and self.served.pop(alias, None) is not None:
            self._point(source, reader)  # never a copy of another state of the file
        return read_from

    def quoted_file(self, location: str, kind: SourceKind, reader: str) -> str:
        """What reads a local CSV/JSON file quoted in FROM: its persistent copy when one matches."""
        if self.store is None or kind not in (SourceKind.CSV, SourceKind.JSON):
            return reader
        if not self._cacheable(location):
            return reader

        def check(copy_reader: str, entry: CacheEntry) -> None:
            if entry.key not in self._checked:
                self.duck.describe(f"SELECT * FROM {copy_reader}")  # reads the Parquet footer
                self._checked.add(entry.key)

        return self._from_store(location, reader, None, check)

    def _from_store(
        self,
        location: str,
        reader: str,
        schema: list[Column] | None,
        use: Callable[[str, CacheEntry], None],
        undo: Callable[[], None] | None = None,
    ) -> str:
        """The persistent copy of a file read by ``reader``, built on its second read; else the text.

        ``use`` points the query at a copy (QueryError when the copy is corrupt: it is dropped
        and the text is read). ``schema`` is what the text gives (None: asked of the engine).
        """
        store = self.store
        assert store is not None
        try:
            identity = self._identity(location)
            if identity is None:
                return reader
            # A copy with zoned columns is keyed by the settings it was read under; others by none.
            reading = self._reading() if schema is None or _zoned(schema) else ""
            entry = (store.lookup(identity, reader, reading) if reading else None) or store.lookup(
                identity, reader
            )
            if entry is not None:
                copy_reader = f"read_parquet({quote_string(str(entry.copy))})"
                try:
                    use(copy_reader, entry)
                except QueryError:
                    store.drop(entry.key)  # a corrupt copy: read the text, build it again
                else:
                    store.hit(entry)
                    self.cache_hits += 1
                    self._used[entry.key] = (entry, reader, undo)
                    return copy_reader
            if not store.is_due(identity, reader):
                return reader
            entry = self._build(identity, reader, schema, reading)
            if entry is None:
                return reader
            copy_reader = f"read_parquet({quote_string(str(entry.copy))})"
            try:
                use(copy_reader, entry)
            except QueryError:
                store.drop(entry.key)
                return reader
            self._used[entry.key] = (entry, reader, undo)
            return copy_reader
        except OSError:
            return reader  # an unreadable file or cache directory: the text is read as before

    def take_copies_used(self) -> list[tuple[CacheEntry, str, Callable[[], None] | None]]:
        """The persistent copies statements planned since the last call read (then forgotten)."""
        used = list(self._used.values())
        self._used.clear()
        return used

    def without_damaged(
        self,
        sql: str,
        used: list[tuple[CacheEntry, str, Callable[[], None] | None]],
        error: QueryError,
    ) -> str | None:
        """sql reading the text where a persistent copy it used is damaged (SPEC 4.5).

        Called when sql, which read the ``used`` copies, failed with ``error``. Each copy is
        read back whole; a damaged one is dropped (a source's view reads its text again) and
        taken out of ``used``. None when none is damaged: the error is the statement's own.
        """
        if self.store is None or not used or _bound_before_reading(error):
            return None
        damaged = []
        for item in used:
            entry = item[0]
            copy_reader = f"read_parquet({quote_string(str(entry.copy))})"
            try:
                # Every column of every row: a bad page anywhere fails here too.
                self.duck.execute(f"SELECT max(hash(COLUMNS(*))) FROM {copy_reader}")
            except QueryError:
                damaged.append(item)
        for item in damaged:
            entry, reader, undo = item
            used.remove(item)
            self._used.pop(entry.key, None)
            self.store.drop(entry.key)
            self._checked.discard(entry.key)
            if undo is not None:
                undo()
            sql = sql.replace(f"read_parquet({quote_string(str(entry.copy))})", reader)
        return sql if damaged else None

    def _build(
        self, identity: FileIdentity, reader: str, schema: list[Column] | None, reading: str
    ) -> CacheEntry | None:
        """Write the file's Parquet copy; None (the text is read) if it fails or would change types.

        A copy with a column WITH TIME ZONE (at any depth) is keyed by ``reading``: text without
        an offset is read in the session's TimeZone and Calendar.
        """
        store = self.store
        assert store is not None
        temporary = store.temporary(store.key_of(identity, reader))
        try:
            if schema is None:
                schema = self.duck.describe(f"SELECT * FROM {reader}")
            # The copy keeps the text's order for every later reader: rows a session without
            # preserve_insertion_order would write out of order (a glob's files interleaved).
            unordered = self.duck.get_option("preserve_insertion_order") is False
            if unordered:
                self.duck.set_option("preserve_insertion_order", "true")
            try:
                # LZ4: read back faster than snappy (1 GB CSV's copy: 286 vs 306 ms whole process)
                # at the same size and build time; zstd is 40 % smaller but 35 % slower to read.
                self.duck.execute(
                    f"COPY (SELECT * FROM {reader}) TO {quote_string(str(temporary))} "
                    "(FORMAT parquet, COMPRESSION lz4)"
                )
            finally:
                if unordered:
                    self.duck.set_option("preserve_insertion_order", "false")
            copied = self.duck.describe(f"SELECT * FROM read_parquet({quote_string(str(temporary))})")
        except QueryError:
            temporary.unlink(missing_ok=True)
            return None  # the query reports the file's own error
        except BaseException:
            temporary.unlink(missing_ok=True)  # cancelled (Ctrl-C, timeout): no half copy is left
            raise
        if [(c.name, c.type) for c in copied] != [(c.name, c.type) for c in schema]:
            # A type Parquet does not keep (HUGEINT is written as DOUBLE): the text stays the truth.
            temporary.unlink(missing_ok=True)
            store.refuse(identity, reader)
            return None
        return store.commit(
            identity, reader, temporary, reading=reading if _zoned(schema) else "", now=self._identity
        )

    def _reading(self) -> str:
        """The DuckDB settings that change the values text is read as (zone-less text read as
        TIMESTAMPTZ or TIMETZ takes them); the stored results key by them too (settings_digest)."""
        # current_setting: 0.2 ms; duckdb_settings() lists them all (4 ms), on every file read.
        values = ", ".join(f"current_setting({quote_string(name)})" for name in READING_SETTINGS)
        try:
            rows = self.duck.run(f"SELECT {values}").fetch(1)
        except QueryError:
            return "unknown"  # no ICU (TimeZone and Calendar are its settings): the same each time
        return ";".join(f"{name}={value}" for name, value in zip(READING_SETTINGS, rows[0], strict=True))

    def _cacheable(self, location: str) -> bool:
        """A local file or glob, or (with ``remote = true``) one URL: what has an identity."""
        if is_remote(location):
            return self.store is not None and self.store.remote and not is_glob(location)
        return is_glob(location) or os.path.isfile(location)

    def _identity(self, location: str) -> FileIdentity | None:
        """What a file (or every file of a glob) is now; None when that cannot be known.

        A URL's size and Last-Modified come from one HEAD request.
        """
        from noctra.engine.cache import FileIdentity, identify_local

        if not is_remote(location):
            return identify_local(location)
        try:
            rows = self.duck.run(
                f"SELECT size, epoch_ns(last_modified) FROM read_blob({quote_string(location)})"
            ).fetch(1)
        except QueryError:
            return None  # unreachable now: the query itself reports it
        if not rows or rows[0][0] is None or rows[0][1] is None:
            return None  # no Last-Modified: nothing tells a change, so nothing is cached
        size, mtime_ns = int(str(rows[0][0])), int(str(rows[0][1]))
        if mtime_ns > time.time_ns() - _REMOTE_SETTLED_NS:
            # Last-Modified has whole seconds and there is no content check: a same-size
            # rewrite within that second would keep this identity, and its copy be served
            # (R9-R1). A file changed this recently is read as text; a copy waits for it to
            # settle (a minute leaves room for the server's clock to differ from ours).
            return None
        return FileIdentity(location, size, mtime_ns, "")

    def _fits(self, estimate: int) -> bool:
        """Never copy past half of DuckDB's memory_limit."""
        limit = self.duck.status().memory_limit
        return limit is None or estimate <= limit // 2

    def close(self) -> None:
        for engine in self.sqlite.values():
            engine.close()
        self.sqlite.clear()
