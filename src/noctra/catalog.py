"""Sources -> tables -> columns, listed lazily and without side effects.

Feeds SHOW SOURCES, SHOW TABLES, REPL completion and the TUI sidebar. Listing never
attaches a database in DuckDB nor loads an extension: SQLite databases are read
through sqlite3, file sources answer from what was learned when they were registered.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from noctra.engine.base import Column, Engine, TableInfo
from noctra.engine.hybrid import Hybrid
from noctra.engine.sources import Signature, Source, SourceKind, SourceRegistry, signature_of, unchanged
from noctra.errors import SourceError
from noctra.records import record
from noctra.redact import redact_url

# Column and TableInfo are what the catalog hands out: front ends name them from here.
__all__ = ["Catalog", "Column", "SourceEntry", "TableInfo", "source_status"]


@record(frozen=True)
class SourceEntry:
    """One registered source as a catalog shows it."""

    alias: str
    kind: str
    path: str  # credentials redacted
    size: int | None
    status: str  # ok / missing / changed
    is_current: bool
    is_database: bool
    cache: str = ""  # read from a copy: 'persistent' (SPEC 4.5), 'memory', or '' (the source itself)


class Catalog:
    """What a session can query, asked for level by level."""

    def __init__(
        self,
        engine: Engine,
        hybrid: Hybrid,
        sources: SourceRegistry,
        turn: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        self._engine = engine
        self._hybrid = hybrid
        self._sources = sources
        # Taken around what runs on the engine's connection (DESCRIBE, attaching a database):
        # that would end, or be read as, a statement another thread is running.
        self._turn = turn

    def sources(self) -> list[SourceEntry]:
        """Every registered source, in the order they came."""
        entries = []
        current = (self._sources.current or "").lower()
        for source in self._sources:
            now = None if source.is_remote or source.kind.is_server else signature_of(source.location)
            entries.append(
                SourceEntry(
                    alias=source.alias,
                    kind=source.kind.value,
                    # A server's path was stored without its password; its user name stays.
                    path=source.path if source.kind.is_server else redact_url(source.path),
                    size=None if now is None else now.size,
                    status=source_status(source, now),
                    is_current=source.alias.lower() == current,
                    is_database=source.kind.is_database,
                    cache=self._hybrid.cache_state(source),
                )
            )
        return entries

    def tables(self, alias: str) -> list[TableInfo]:
        """Tables and views of a database source; a file source is one table, itself."""
        source = self._require(alias)
        if source.status == "missing":
            return []
        if source.kind is SourceKind.SQLITE:
            return self._hybrid.table_infos(source)
        if source.kind.is_database:
            with self._turn():
                return self._engine.tables(source.alias)
        if source.kind is SourceKind.EXCEL:
            # Each worksheet is a view alias.sheet, made when the workbook was registered.
            with self._turn():
                listed = self._engine.tables(source.alias)
            sheets = [TableInfo(t.name, "sheet", t.columns) for t in listed]
            if sheets:
                return sheets
        return [TableInfo(source.alias, source.kind.value, source.columns)]

    def columns(self, alias: str, table: str | None = None) -> list[Column]:
        """Columns of a file source, or of one table of a database source."""
        source = self._require(alias)
        if source.kind is SourceKind.EXCEL and table is not None:
            from noctra.quoting import quote_ident

            return self._describe(f"{quote_ident(source.alias)}.{quote_ident(table)}")
        if not source.kind.is_database and not source.schema and source.status == "ok":
            from noctra.quoting import quote_ident

            # A restored source whose view waits for its first use (an extension to load): now.
            return self._describe(quote_ident(source.alias))
        if not source.kind.is_database:
            return list(source.schema)
        if table is None:
            raise SourceError(f"{source.alias!r} is a database: name one of its tables")
        if source.kind is SourceKind.SQLITE:
            return self._hybrid.columns_of(source, table)
        from noctra.quoting import quote_ident

        return self._describe(f"{quote_ident(source.alias)}.{quote_ident(table)}")

    def own_tables(self) -> list[TableInfo]:
        """Tables the session made itself (CREATE TABLE outside any database source)."""
        with self._turn():
            return [t for t in self._engine.tables("memory") if t.type == "table"]

    def own_columns(self, table: str) -> list[Column]:
        """Columns of one of the session's own tables."""
        from noctra.quoting import quote_ident

        return self._describe(quote_ident(table))

    def _describe(self, relation: str) -> list[Column]:
        with self._turn():
            return self._engine.describe(relation)

    def functions(self) -> list[str]:
        """Names of the engine's SQL functions (for completion); a streaming result stays intact."""
        return self._engine.functions()

    def option_names(self, path: str | None, *, export: bool = False) -> dict[str, str]:
        """Option -> what it takes, for ``USE path OPTIONS (...)`` or ``EXPORT ... TO path OPTIONS (...)``.

        Without a path (or one of no known kind), every option of every kind.
        """
        from noctra.engine.export import EXPORT_OPTIONS
        from noctra.engine.sources import SourceKind, kind_from_name, valid_options

        kind = kind_from_name(path) if path else None
        if export:
            fmt = kind.value.lower() if kind is not None else None
            if fmt in EXPORT_OPTIONS:
                return dict(EXPORT_OPTIONS[fmt])
            return {k: v for table in EXPORT_OPTIONS.values() for k, v in table.items()}
        found: dict[str, str] = {"format": "csv, parquet, json, xlsx, avro, sqlite, duckdb, delta or iceberg"}
        kinds = [kind] if kind is not None else list(SourceKind)
        for each in kinds:
            found.update(valid_options(each))
        return found

    def file_kind(self, name: str) -> str | None:
        """The kind of source a file name stands for ('CSV', 'Parquet'...), or None."""
        from noctra.engine.sources import kind_from_name

        kind = kind_from_name(name)
        return None if kind is None else kind.value

    def _require(self, alias: str) -> Source:
        return self._sources.require(alias)


def source_status(source: Source, now: Signature | None) -> str:
    """ok, missing (the file is gone) or changed (it differs from when it was read).

    A database server has no file: its status is what attaching it last said.
    """
    if source.kind.is_server:
        return source.status
    if source.is_remote:
        return "ok"
    if now is None:
        return "missing"
    if source.signature is not None and not unchanged(source.signature, now):
        return "changed"
    return "ok"
