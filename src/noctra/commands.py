"""RQL commands: one handler per statement type, each a call of the session's Python API.

Handlers know nothing of the session's insides: they receive an ``Api`` (the Session
satisfies it), so the language is a thin layer over the library (SPEC 1, STYLE 2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from noctra.engine.base import Column, Params, TableInfo
from noctra.engine.sources import SourceKind
from noctra.errors import QueryError
from noctra.output.model import Message, Outcome, Result
from noctra.quoting import quote_ident
from noctra.rql import ast
from noctra.rql.splitter import Statement

if TYPE_CHECKING:
    from noctra.catalog import Catalog, SourceEntry


class Api(Protocol):
    """The session methods RQL commands are made of."""

    def use(
        self,
        path: str,
        alias: str | None = None,
        options: Mapping[str, object] | None = None,
        *,
        deprecated_import: bool = False,
    ) -> Message: ...

    def set_current(self, alias: str) -> Message: ...

    def detach(self, alias: str, *, if_exists: bool = False) -> Message: ...

    def show_sources(self) -> Result: ...

    def show_tables(self, alias: str | None = None) -> Result: ...

    def catalog(self) -> Catalog: ...

    def describe(
        self,
        alias: str | None = None,
        *,
        table: str | None = None,
        path: str | None = None,
        query: str | None = None,
        params: Params = None,
        statement: Statement | None = None,
        main_engine: bool = False,
    ) -> Result: ...

    def let(
        self, name: str, expression: str, params: Params = None, *, statement: Statement | None = None
    ) -> Message: ...

    def unset(self, *names: str) -> Message: ...

    def show_vars(self) -> Result: ...

    def set(self, key: str, value: str) -> Message: ...

    def reset(self, key: str) -> Message: ...

    def show_config(self) -> Result: ...

    def export(
        self,
        query: str,
        path: str,
        *,
        format: str | None = None,
        options: Mapping[str, object] | None = None,
        params: Params = None,
        statement: Statement | None = None,
    ) -> Message: ...

    def export_source(
        self,
        alias: str,
        path: str,
        *,
        table: str | None = None,
        format: str | None = None,
        options: Mapping[str, object] | None = None,
    ) -> Message: ...


Handler = Callable[[Api, Any, Params, Statement], Outcome]


def _use(api: Api, command: ast.Use, params: Params, statement: Statement) -> Outcome:
    return api.use(command.path, command.alias, command.options, deprecated_import=command.deprecated_import)


def _use_alias(api: Api, command: ast.UseAlias, params: Params, statement: Statement) -> Outcome:
    return api.set_current(command.alias)


def _detach(api: Api, command: ast.Detach, params: Params, statement: Statement) -> Outcome:
    return api.detach(command.alias, if_exists=command.if_exists)


def _show_sources(api: Api, command: ast.ShowSources, params: Params, statement: Statement) -> Outcome:
    return api.show_sources()


def _show_tables(api: Api, command: ast.ShowTables, params: Params, statement: Statement) -> Outcome:
    return api.show_tables(command.alias)


def _describe(api: Api, command: ast.Describe, params: Params, statement: Statement) -> Outcome:
    if command.path is None and command.query is None:
        named = _source_entry(api, command.alias)
        if named is not None and _is_sqlite(named):
            return _describe_sqlite(api, named.alias, command.table)
        current = _source_entry(api, None)
        bare = named is None and command.alias is not None and command.table is None
        # DESCRIBE t: a table of the current SQLite database, if it has one of that name.
        if (
            bare
            and current is not None
            and _is_sqlite(current)
            and _has_table(api, current.alias, command.alias)
        ):
            return _describe_sqlite(api, current.alias, command.alias)
    return api.describe(
        command.alias,
        table=command.table,
        path=command.path,
        query=command.query,
        params=params,
        statement=statement,
    )


def _source_entry(api: Api, alias: str | None) -> SourceEntry | None:
    """The source ``alias`` names (the current one when alias is None)."""
    for entry in api.catalog().sources():
        if entry.alias.lower() == alias.lower() if alias is not None else entry.is_current:
            return entry
    return None


def _is_sqlite(entry: SourceEntry) -> bool:
    return entry.kind == SourceKind.SQLITE.value and entry.status != "missing"


def _has_table(api: Api, alias: str, name: str | None) -> bool:
    return name is not None and any(t.name.lower() == name.lower() for t in api.catalog().tables(alias))


def _describe_sqlite(api: Api, alias: str, table: str | None) -> Result:
    """DESCRIBE of a SQLite database or one of its tables, as DuckDB reads them.

    Two things DuckDB's SQLite reader does not see are handled here: generated columns
    (it leaves them out; Noctra reads them through SQLite, see Hybrid.sqlite_table_for_duckdb)
    and views SQLite cannot read (over a dropped table): each gets one row of NULLs and a
    note saying why, while the other tables are described as usual.
    """
    catalog = api.catalog()
    tables = catalog.tables(alias)
    if table is not None:
        info = next((t for t in tables if t.name.lower() == table.lower()), None)
        if info is None:
            return api.describe(alias, table=table)  # its own error: no such table
        if info.type.endswith("(broken)"):
            catalog.columns(alias, info.name)  # raises the QueryError that says why
        return Result.of_rows(_DESCRIBE_COLUMNS, _sqlite_columns(api, alias, info))
    rows: list[tuple[object, ...]] = []
    notes: list[str] = []
    for info in tables:
        if not info.type.endswith("(broken)"):
            rows.extend((info.name, *row) for row in _sqlite_columns(api, alias, info))
            continue
        rows.append((info.name, None, None, None))
        try:
            catalog.columns(alias, info.name)
        except QueryError as exc:
            notes.append(exc.message + (f"; {exc.hint}" if exc.hint else ""))
    result = Result.of_rows([Column("table", "VARCHAR"), *_DESCRIBE_COLUMNS], rows)
    result.notes.extend(notes)
    return result


def _sqlite_columns(api: Api, alias: str, info: TableInfo) -> list[tuple[object, ...]]:
    """(column, type, nullable) of a SQLite table as DuckDB reads it, generated columns too."""
    described = api.describe(alias, table=info.name)
    rows = described.rows(described.row_count or 0)
    if len(rows) < info.columns:
        # Generated columns: the table is read through the query that computes them.
        query = api.describe(
            query=f"SELECT * FROM {quote_ident(alias)}.{quote_ident(info.name)}", main_engine=True
        )
        rows = query.rows(query.row_count or 0)
    return rows


_DESCRIBE_COLUMNS = [Column("column", "VARCHAR"), Column("type", "VARCHAR"), Column("nullable", "BOOLEAN")]


def _let(api: Api, command: ast.Let, params: Params, statement: Statement) -> Outcome:
    inner = Statement(command.expression, command.span.statement, command.span.line, 1, 0)
    return api.let(command.name, command.expression, params, statement=inner)


def _unset(api: Api, command: ast.Unset, params: Params, statement: Statement) -> Outcome:
    return api.unset(*command.names)


def _show_vars(api: Api, command: ast.ShowVars, params: Params, statement: Statement) -> Outcome:
    return api.show_vars()


def _set(api: Api, command: ast.SetOption, params: Params, statement: Statement) -> Outcome:
    return api.set(command.key, command.value)


def _reset(api: Api, command: ast.ResetOption, params: Params, statement: Statement) -> Outcome:
    return api.reset(command.key)


def _show_config(api: Api, command: ast.ShowConfig, params: Params, statement: Statement) -> Outcome:
    return api.show_config()


def _export(api: Api, command: ast.Export, params: Params, statement: Statement) -> Outcome:
    if command.query is not None:
        return api.export(
            command.query,
            command.path,
            format=command.format,
            options=command.options,
            params=params,
            statement=statement,
        )
    assert command.alias is not None
    return api.export_source(
        command.alias, command.path, table=command.table, format=command.format, options=command.options
    )


HANDLERS: dict[type, Handler] = {
    ast.Use: _use,
    ast.UseAlias: _use_alias,
    ast.Detach: _detach,
    ast.ShowSources: _show_sources,
    ast.ShowTables: _show_tables,
    ast.Describe: _describe,
    ast.Let: _let,
    ast.Unset: _unset,
    ast.ShowVars: _show_vars,
    ast.SetOption: _set,
    ast.ResetOption: _reset,
    ast.ShowConfig: _show_config,
    ast.Export: _export,
}
