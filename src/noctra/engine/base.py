"""The small interface every engine implements (DuckDB now, SQLite and Spark later)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from noctra.records import record

if TYPE_CHECKING:
    import pyarrow as pa

    from noctra.engine.sources import Source

Params = Sequence[object] | Mapping[str, object] | None


@record(frozen=True)
class Column:
    """A column of a relation as the engine sees it."""

    name: str
    type: str
    nullable: bool = True


@record(frozen=True)
class TableRef:
    """A table a statement names: catalog.db.name, or a table function / file."""

    catalog: str
    db: str
    name: str
    is_function: bool = False


class EngineResult(Protocol):
    """Rows of one statement, still inside the engine."""

    engine: str
    columns: list[Column]

    @property
    def has_rows(self) -> bool:
        """True when the statement produced a result set (even an empty one)."""

    def fetch(self, n: int) -> list[tuple[object, ...]]:
        """Up to n more rows as Python tuples: for display only."""

    def arrow_reader(self, batch_rows: int = ...) -> pa.RecordBatchReader:
        """The remaining rows as a stream of Arrow batches (no copy)."""

    def arrow_table(self) -> pa.Table:
        """The remaining rows as one Arrow table."""

    def close(self) -> None:
        """Release the rows still held by the engine."""


class Engine(Protocol):
    """Where statements run: the boundary between the session and a database engine.

    DuckDB (engine/duck.py) implements all of it; native SQLite (engine/sqlite.py) runs
    statements on one database it was opened on, so it has no sources to register. A
    distributed engine (Spark Connect, SPEC 9) would register sources as its tables.
    """

    name: str

    def run(self, sql: str, params: Params = None) -> EngineResult:
        """Run one statement; its rows stay in the engine until read."""

    def register(self, source: Source, *, replacing: Source | None = None) -> None:
        """Make a source queryable under its alias (a view, an attachment, a table...)."""

    def unregister(self, source: Source) -> None:
        """Forget a source."""

    def describe(self, relation_sql: str) -> list[Column]:
        """Columns of a relation (a table name, a table function or a query)."""

    def cancel(self) -> None:
        """Interrupt the running statement, from any thread."""

    def progress(self) -> float | None:
        """Progress of the running statement in [0, 1], or None when unknown."""

    def close(self) -> None:
        """Release the engine."""
