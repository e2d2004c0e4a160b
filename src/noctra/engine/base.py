"""The one protocol through which SQL reaches an engine (DuckDB, native SQLite, Spark; SPEC 9).

The session, the commands, tuning, the hybrid router and the front ends hold an
``Engine`` and call only what is declared here. Optional capabilities are named in
``Engine.capabilities``; a caller that finds one missing takes the plain road (for
example, writing Arrow with pyarrow when an engine cannot stream COPY to a pipe).
Modelled on Harlequin's adapter protocol: connection, cursor, catalog, optional parts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from noctra.records import field, record

if TYPE_CHECKING:
    import pyarrow as pa

    from noctra.engine.export import ExportReport
    from noctra.engine.sources import Source, SourceKind

Params = Sequence[object] | Mapping[str, object] | None

# Optional capabilities an engine may declare.
STREAM_COPY = "stream_copy"  # copy_to(): write csv/json bytes of a query to a path or pipe
PROGRESS = "progress"  # progress() answers while a statement runs
STORED_RESULTS = "stored_results"  # read_set() and settings_digest() answer (stored results)
ATTACH_SQLITE = "attach_sqlite"  # SQLite tables can be read by this engine (not only natively)


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


@record(frozen=True)
class ReadSet:
    """What a deterministic SELECT reads: the tables it names, the files its readers open.

    ``ctes`` are the names its WITH clauses define: a table named like one may be either.
    """

    tables: tuple[TableRef, ...]
    files: tuple[str, ...]
    ctes: frozenset[str] = frozenset()


@record(frozen=True)
class TableInfo:
    """A table or view of a database source, as a catalog lists it."""

    name: str
    type: str  # 'table' or 'view'
    columns: int
    schema: str = "main"


@record(frozen=True)
class Registration:
    """What an engine learned when it registered (or inspected) a source."""

    columns: tuple[Column, ...] = ()
    reader: str = ""  # how a file source is read (a table-function call), to reuse at restore
    dialect: Mapping[str, str] = field(default_factory=dict)
    tables: int | None = None  # for a database: how many tables it has, when known


@record(frozen=True)
class EngineStatus:
    """A snapshot of an engine for a status bar; reading it never disturbs a running result."""

    engine: str
    threads: int | None = None
    memory_used: int | None = None  # bytes
    memory_limit: int | None = None  # bytes
    memory_limit_text: str | None = None
    endpoint: str | None = None  # where a remote engine runs (Spark Connect's sc://host:port)


class EngineResult(Protocol):
    """Rows of one statement, still inside the engine."""

    engine: str
    columns: list[Column]
    # True when fetch() gives only NULL, bool, int, float, str and bytes (native SQLite,
    # Noctra's own listings): Noctra's text writer serializes those exactly as COPY does.
    plain_values: bool

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


class Busy:
    """How many calls are on an engine now, from any thread: true while one is.

    A flag set and cleared by each call would read False while another thread's statement
    still runs (a status query ending beside it cleared it) and a Ctrl-C would then exit.
    """

    def __init__(self) -> None:
        self._calls = 0
        self._lock = threading.Lock()
        self.spells = 0  # times it went from idle to busy: which busy spell is this one
        self._resending: int | None = None  # the spell a helper thread re-sends interrupts in

    def __enter__(self) -> None:
        with self._lock:
            self._calls += 1
            if self._calls == 1:
                self.spells += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._calls -= 1

    def __bool__(self) -> bool:
        return self._calls > 0

    def interrupt_until_idle(self, interrupt: Callable[[], None], *, seconds: float = 5.0) -> None:
        """Call ``interrupt`` now and, from a helper thread, again every 20 ms while this busy
        spell lasts: an interrupt that came before the engine began the statement (the
        moment between a call entering and the engine starting) is otherwise lost, and the
        statement runs to its end. A later statement (a new spell) is never interrupted."""
        interrupt()
        with self._lock:
            spell = self.spells
            if not self._calls or self._resending == spell:
                return  # idle, or this spell's helper already sends them (--timeout asks often)
            self._resending = spell

        def again() -> None:
            try:
                for _ in range(int(seconds / 0.02)):
                    time.sleep(0.02)
                    if not self._calls or self.spells != spell:
                        return
                    interrupt()
            finally:
                with self._lock:
                    if self._resending == spell:
                        self._resending = None

        threading.Thread(target=again, name="noctra-cancel", daemon=True).start()


class Runner(Protocol):
    """What every engine does, the native SQLite one included: run, describe, cancel."""

    name: str

    @property
    def busy(self) -> bool:
        """True while a statement runs on it (a Ctrl-C handler cancels instead of exiting)."""

    def run(self, sql: str, params: Params = None) -> EngineResult:
        """Run one statement; its rows stay in the engine until read."""

    def describe(self, relation_sql: str, params: Params = None) -> list[Column]:
        """Columns of a relation (a table name, a table function or a query)."""

    def cancel(self) -> None:
        """Interrupt the running statement, from any thread."""

    def progress(self) -> float | None:
        """Progress of the running statement in [0, 1], or None when unknown."""

    def close(self) -> None:
        """Release the engine."""


class Engine(Runner, Protocol):
    """An engine that holds a session's sources: the boundary below the session."""

    version: str
    # The SQL dialect statements must be written in (a sqlglot dialect name).
    dialect: str
    capabilities: frozenset[str]

    # --- statements ---------------------------------------------------------------

    def execute(self, sql: str, params: Params = None) -> None:
        """Run a statement whose result nobody reads (DDL, internal copies)."""

    def statement_kind(self, sql: str) -> str:
        """The statement's type (SELECT, INSERT, CREATE...); a parse error raises QueryError."""

    def table_references(self, sql: str) -> list[TableRef] | None:
        """Tables a query names, from the engine's own parser; None when it cannot tell."""

    def read_set(self, sql: str) -> ReadSet | None:
        """Capability STORED_RESULTS: the tables and files a deterministic SELECT reads.

        None when the engine cannot vouch that the same inputs give the same rows.
        """

    def settings_digest(self) -> str:
        """Capability STORED_RESULTS: one text naming every setting that can change a result."""

    def copy_to(self, sql: str, target: str, fmt: str, params: Params = None) -> int:
        """Capability STREAM_COPY: write a query's rows as fmt (csv, tsv, json, jsonl) to target."""

    def copy_result(self, result: EngineResult, target: str, fmt: str) -> int:
        """Capability STREAM_COPY: write rows already produced (by any engine) as copy_to does."""

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
        """Write a query's rows to a file or directory with the engine's own writers.

        ``stream``, when given, makes the rows to write instead of sql (another engine's result,
        native SQLite's), called once the target is checked; they are written in their order.
        """

    # --- sources ------------------------------------------------------------------

    def register(
        self, source: Source, *, replacing: Source | None = None, reuse_reader: bool = False
    ) -> Registration:
        """Make a source queryable under its alias; a failure leaves ``replacing`` as it was."""

    def unregister(self, source: Source) -> None:
        """Forget a source."""

    def attach_again(self, source: Source) -> None:
        """Let the next statement naming an attached SQLite source attach it afresh."""

    def before_sqlite_attach(self, hook: Callable[[Source], None]) -> None:
        """Call ``hook(source)`` just before a SQLite source is attached (the hybrid closes its
        own connection to a WAL database then: see Hybrid.sqlite_engine)."""

    def inspect(self, source: Source) -> Registration:
        """What registering a source would learn (columns, dialect), without registering it."""

    def quoted_file_reader(self, path: str, kind: SourceKind) -> str | None:
        """What reads a file quoted in FROM ('x.csv') instead of the bare path, if anything."""

    def tables(self, alias: str) -> list[TableInfo]:
        """Tables and views of a registered database source (or 'memory': the session's own)."""

    def use_catalog(self, alias: str | None) -> None:
        """Make a database source where new tables go (None: the session's own database)."""

    def set_home(self, alias: str) -> None:
        """Where new tables go when no database source is current (a --db workspace)."""

    # --- settings -----------------------------------------------------------------

    def set_option(self, name: str, literal: str) -> None:
        """``SET name = literal`` (an SQL literal in the engine's dialect)."""

    def get_option(self, name: str) -> object:
        """The value of a setting as this session's connection sees it."""

    def reset_option(self, name: str) -> None:
        """Put a setting back to the engine's default."""

    def set_threads(self, threads: int, *, force: bool = False) -> None:
        """Worker threads for the next statements (only applied when it changes)."""

    def set_credentials(self, kind: str, options: Mapping[str, str | bool]) -> None:
        """Credentials for remote storage ('s3'); kept in memory only."""

    @property
    def secret_values(self) -> list[str]:
        """Credential values this engine was given (hidden from every message)."""

    # --- state --------------------------------------------------------------------

    def status(self) -> EngineStatus:
        """Threads and memory now; safe while a result streams."""

    def enable_progress(self) -> None:
        """Track progress of long statements (capability PROGRESS)."""

    def functions(self) -> list[str]:
        """Names of the engine's SQL functions (for completion), read without touching a result."""

    def extensions(self) -> list[tuple[str, str | None, str]]:
        """(name, where it is loaded from or None, how to install it) for ``noctra info``."""
