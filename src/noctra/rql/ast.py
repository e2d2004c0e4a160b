"""One frozen dataclass per statement kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

from noctra.errors import Span

OptionValue: TypeAlias = str | int | float | bool | list["OptionValue"] | dict[str, "OptionValue"] | None


@dataclass(frozen=True, slots=True)
class Use:
    """``USE 'path' [AS alias] [OPTIONS (...)]`` (also the retired ``IMPORT``)."""

    path: str
    alias: str | None
    options: dict[str, OptionValue]
    span: Span
    deprecated_import: bool = False


@dataclass(frozen=True, slots=True)
class UseAlias:
    """``USE alias``: make a registered source current."""

    alias: str
    span: Span


@dataclass(frozen=True, slots=True)
class Detach:
    """``DETACH alias`` / ``UNUSE alias``."""

    alias: str
    span: Span
    if_exists: bool = False


@dataclass(frozen=True, slots=True)
class ShowSources:
    """``SHOW SOURCES``."""

    span: Span


@dataclass(frozen=True, slots=True)
class ShowTables:
    """``SHOW TABLES [FROM alias]``."""

    alias: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class ShowVars:
    """``SHOW VARS``."""

    span: Span


@dataclass(frozen=True, slots=True)
class ShowConfig:
    """``SHOW CONFIG``."""

    span: Span


@dataclass(frozen=True, slots=True)
class Describe:
    """``DESCRIBE`` of a source, a table, a file or a query.

    Exactly one of the targets is set; none means the current source.
    """

    span: Span
    alias: str | None = None
    table: str | None = None
    path: str | None = None
    query: str | None = None


@dataclass(frozen=True, slots=True)
class Let:
    """``LET name = expr``."""

    name: str
    expression: str
    span: Span


@dataclass(frozen=True, slots=True)
class Unset:
    """``UNSET a, b``."""

    names: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class SetOption:
    """``SET key = value``: passed to the engine and tracked by the session."""

    key: str
    value: str
    sql: str
    span: Span


@dataclass(frozen=True, slots=True)
class ResetOption:
    """``RESET key``."""

    key: str
    sql: str
    span: Span


@dataclass(frozen=True, slots=True)
class Export:
    """``EXPORT (query) | alias | alias.table TO 'path' [FORMAT f] [OPTIONS (...)]``."""

    path: str
    span: Span
    query: str | None = None
    alias: str | None = None
    table: str | None = None
    format: str | None = None
    options: dict[str, OptionValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Sql:
    """Anything else: SQL for the engine."""

    text: str
    span: Span


Command: TypeAlias = (
    Use
    | UseAlias
    | Detach
    | ShowSources
    | ShowTables
    | ShowVars
    | ShowConfig
    | Describe
    | Let
    | Unset
    | SetOption
    | ResetOption
    | Export
    | Sql
)
