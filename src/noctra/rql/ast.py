"""One frozen dataclass per statement kind."""

from __future__ import annotations

from typing import TypeAlias

from noctra.errors import Span
from noctra.records import field, record

OptionValue: TypeAlias = str | int | float | bool | list["OptionValue"] | dict[str, "OptionValue"] | None


@record(frozen=True)
class Use:
    """``USE 'path' [AS alias] [OPTIONS (...)]`` (also the retired ``IMPORT``)."""

    path: str
    alias: str | None
    options: dict[str, OptionValue]
    span: Span
    deprecated_import: bool = False


@record(frozen=True)
class UseAlias:
    """``USE alias``: make a registered source current."""

    alias: str
    span: Span


@record(frozen=True)
class Detach:
    """``DETACH alias`` / ``UNUSE alias``."""

    alias: str
    span: Span
    if_exists: bool = False


@record(frozen=True)
class ShowSources:
    """``SHOW SOURCES``."""

    span: Span


@record(frozen=True)
class ShowTables:
    """``SHOW TABLES [FROM alias]``."""

    alias: str | None
    span: Span


@record(frozen=True)
class ShowVars:
    """``SHOW VARS``."""

    span: Span


@record(frozen=True)
class ShowConfig:
    """``SHOW CONFIG``."""

    span: Span


@record(frozen=True)
class Describe:
    """``DESCRIBE`` of a source, a table, a file or a query.

    Exactly one of the targets is set; none means the current source.
    """

    span: Span
    alias: str | None = None
    table: str | None = None
    path: str | None = None
    query: str | None = None


@record(frozen=True)
class Let:
    """``LET name = expr``."""

    name: str
    expression: str
    span: Span


@record(frozen=True)
class Unset:
    """``UNSET a, b``."""

    names: tuple[str, ...]
    span: Span


@record(frozen=True)
class SetOption:
    """``SET key = value``: passed to the engine and tracked by the session."""

    key: str
    value: str
    sql: str
    span: Span


@record(frozen=True)
class ResetOption:
    """``RESET key``."""

    key: str
    sql: str
    span: Span


@record(frozen=True)
class Export:
    """``EXPORT (query) | alias | alias.table TO 'path' [FORMAT f] [OPTIONS (...)]``."""

    path: str
    span: Span
    query: str | None = None
    alias: str | None = None
    table: str | None = None
    format: str | None = None
    options: dict[str, OptionValue] = field(default_factory=dict)


@record(frozen=True)
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
