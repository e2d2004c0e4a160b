"""RQL commands: one handler per statement type, each a call of the session's Python API.

Handlers know nothing of the session's insides: they receive an ``Api`` (the Session
satisfies it), so the language is a thin layer over the library (SPEC 1, STYLE 2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from noctra.engine.base import Params
from noctra.output.model import Message, Outcome, Result
from noctra.rql import ast
from noctra.rql.splitter import Statement


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

    def describe(
        self,
        alias: str | None = None,
        *,
        table: str | None = None,
        path: str | None = None,
        query: str | None = None,
        params: Params = None,
        statement: Statement | None = None,
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
    return api.describe(
        command.alias,
        table=command.table,
        path=command.path,
        query=command.query,
        params=params,
        statement=statement,
    )


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
