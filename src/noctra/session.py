"""Session: the Python API, and the one façade the CLI, the REPL and the TUI use.

Every RQL command is one call of a method here (commands.HANDLERS); every statement
becomes a Plan (planner.py) before it reaches the engine, whatever road it takes.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from noctra import state
from noctra.config import Config, engine_choice
from noctra.engine import open_engine
from noctra.engine.base import PROGRESS, STREAM_COPY, Column, Engine, EngineResult, Params, Runner, TableInfo
from noctra.engine.cache import CacheStore, cache_dir, cache_store
from noctra.engine.hybrid import ENGINE_MODES, Hybrid
from noctra.engine.results import stored_results
from noctra.engine.sources import Source, SourceKind, SourceRegistry
from noctra.errors import (
    ExportError,
    NoctraError,
    OptionError,
    QueryError,
    SourceError,
    UsageError,
    VariableError,
)
from noctra.lifecycle import SourceLifecycle, build_source
from noctra.output.display import needs_sql_text
from noctra.output.model import Message, Outcome, Result, StatementLock
from noctra.output.render import format_size
from noctra.output.text import unique_names
from noctra.planner import Plan, Planner, has_top_level_order_by
from noctra.quoting import quote_ident, quote_string, text_literal
from noctra.redact import MASK, is_secret_setting, redact_url
from noctra.rql.interpolate import defined_names, named_parameters
from noctra.rql.lexer import is_variable_name
from noctra.rql.splitter import Statement, split
from noctra.tuning import SHOW_CONFIG_COLUMNS, Tuner
from noctra.variables import Variable, literal_for

if TYPE_CHECKING:
    from noctra.catalog import Catalog, SourceEntry
    from noctra.status import Status

_VERBS = {"INSERT": "inserted", "UPDATE": "updated", "DELETE": "deleted", "COPY": "copied"}
_DESCRIBE_COLUMNS = [Column("column", "VARCHAR"), Column("type", "VARCHAR"), Column("nullable", "BOOLEAN")]
T = TypeVar("T")
P = ParamSpec("P")
# Statements that only read: one SQLite cannot parse is retried in DuckDB (auto mode).
_READ_KINDS = frozenset({"SELECT", "WITH", "VALUES", "FROM", "TABLE", "("})
# DuckDB's reading of a SQLite column met a value its declared type cannot hold (errors.py).
_SQLITE_TYPE_MISMATCH = r'SQLite column ".*" (?:of \S+ )?(?:is declared|expects) .* but holds '
_UNPARSED_BY_SQLITE = r"^SQLite: (?:near .*: syntax error|no such function|unrecognized token)"


def _one_at_a_time(method: Callable[Concatenate[Session, P], T]) -> Callable[Concatenate[Session, P], T]:
    """A Session method that runs something on an engine: one thread at a time, counted as a
    statement (a reader still streaming then ends with an error), refused once closed."""

    @functools.wraps(method)
    def serialized(self: Session, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            self._lock.running()
            return method(self, *args, **kwargs)

    return serialized


class Session:
    """Sources, variables and settings over one engine; runs RQL scripts.

    Relative paths are relative to the process's current directory, for Noctra
    and DuckDB alike. Threads may share a session: its statements run one at a time.
    """

    def __init__(
        self,
        *,
        db: str | os.PathLike[str] | None = None,
        config: Config | str | os.PathLike[str] | None = None,
        read_only: bool = False,
        state_path: str | os.PathLike[str] | None = None,
        restore: bool = True,
    ) -> None:
        """A session in memory, or over a ``db`` workspace (.duckdb or SQLite) for new tables.

        ``config`` is a Config or the path of a config.toml. With ``state_path`` (or a
        ``db``), sources, the current source and variables are saved there after each
        change and restored at start (unless ``restore`` is False). ``read_only`` opens the
        ``db`` workspace read-only; without a ``db`` it is refused, never ignored.
        """
        if read_only and db is None:
            raise UsageError(
                "--read-only opens a --db workspace read-only, and no --db was given: "
                "nothing would be protected",
                hint="add --db PATH, or register a database with USE 'x.db' OPTIONS (readonly = true)",
            )
        if config is None or isinstance(config, (str, os.PathLike)):
            from noctra.config import load_config

            config = load_config(config)
        self.config = config
        # Taken to run a statement and to read its rows: DuckDB keeps one running query per
        # connection, so two threads' statements would end or swap each other's results.
        self._lock = StatementLock()
        # DuckDB is always there: the main engine, or beside Spark sniffing files, reading
        # SQLite tables and serializing results (SPEC 9).
        self._duck: Engine = open_engine()
        self.engine: Engine = self._duck
        self._spark: Engine | None = None
        self.workspace: Source | None = None
        self._save_warned: set[str] = set()  # save_state's warnings given: each once a run
        mode, remote = engine_choice(config)
        try:
            if mode == "spark":
                self.engine = self._open_spark(remote)
            self.tuner = Tuner(self.engine, self.config)
        except NoctraError:
            self._duck.close()
            raise
        self.hybrid = Hybrid(
            self._duck,
            self.config.engine,
            statement_cache=self.config.performance.stmt_cache_capacity,
            store=cache_store(self.config.cache),
        )
        self.results = stored_results(self.config.cache, self._duck)
        # Set by the first SQL statement that changes the engine (CREATE, SET, ATTACH...):
        # from then on nothing is stored, since a name may no longer mean what it meant.
        self._engine_changed = False
        self.engine_mode = mode
        self.sources = SourceRegistry()
        self.settings: dict[str, str] = {}
        self.variables: dict[str, Variable] = {}
        self.warnings: list[str] = []
        self.lifecycle = SourceLifecycle(self.engine, self.hybrid, self.sources, self.warnings)
        self.planner = Planner(
            self.engine,
            hybrid=self.hybrid,
            sources=self.sources,
            variables=self.variables,
            lifecycle=self.lifecycle,
            # On Spark every statement runs there, SQLite tables shipped (no native SQLite road).
            engine_mode=lambda: "duckdb" if self.engine_mode == "spark" else self.engine_mode,
            results=self.results,
            result_context=self._result_context,
        )
        self._catalog: Catalog | None = None
        self._catalog_waits = True
        self._last: Outcome | None = None
        self._running: Runner | None = None
        if db is not None:
            self.workspace = self.lifecycle.open_workspace(os.fspath(db), read_only=read_only)
        if state_path is None and db is not None:
            state_path = state.default_state_path(db)
        self.state_path = Path(state_path) if state_path is not None else None
        if self.state_path is not None and restore and self.config.session.restore:
            self._restore(self.state_path)
        # Written only when something changes: a run that registers nothing leaves the file
        # (and, with --fresh, the session saved before) alone.
        self._saved = self._snapshot()

    # --- running scripts -----------------------------------------------------------

    def split(self, script: str) -> list[Statement]:
        """The statements of a script; one that cannot be read (an unterminated quote) is last,
        and running it raises its error."""
        return split(script)

    def iterate(
        self,
        script: str,
        params: Params = None,
        *,
        on_error: Callable[[NoctraError], None] | None = None,
        **named: object,
    ) -> Iterator[Outcome]:
        """Run a script statement by statement, yielding each outcome as it comes.

        A query's rows stay in the engine until read (a front end can stream them
        with ``Result.write``); if the caller moves on without reading them, the
        query still runs, so its errors surface. Stops at the first error, unless
        ``on_error`` is given: then each error goes there and the script goes on.
        """
        return self._iterate(script, _merge_params(params, named), keep=False, on_error=on_error)

    def _iterate(
        self,
        script: str,
        params: Params,
        *,
        keep: bool,
        on_error: Callable[[NoctraError], None] | None = None,
    ) -> Iterator[Outcome]:
        previous: Outcome | None = None
        script = script.removeprefix("\ufeff")  # a script saved "UTF-8 with BOM" (Windows editors)
        for statement in self.split(script):
            if isinstance(previous, Result):
                # Forgotten first: a result that fails here is reported once (not again before
                # each later statement), and the next statement still runs.
                unread, previous = previous, None
                try:
                    if keep:
                        unread.detach()
                    else:
                        unread.ensure_run()
                except NoctraError as exc:
                    if on_error is None:
                        raise
                    on_error(exc)
            try:
                previous = self.run_statement(statement, params)
            except NoctraError as exc:
                if on_error is None:
                    raise
                on_error(exc)
                continue
            yield previous
        if isinstance(previous, Result):
            previous.ensure_run()

    def unbound_parameters(self, text: str, params: Params = None) -> list[str]:
        """The ``:name`` parameters of a statement that neither params nor a variable gives a value.

        Lower-cased, in order of appearance; a REPL asks for them before it runs the statement.
        Text that does not tokenize has none (running it reports the real error).
        """
        if params is not None and not isinstance(params, Mapping):
            return []
        given = {str(key).lower() for key in params or {}}
        try:
            _, names = named_parameters(text)
        except NoctraError:
            return []
        return [name for name in names if name not in given and name not in self.variables]

    @_one_at_a_time
    def execute(self, /, script: str, params: Params = None, **named: object) -> list[Outcome]:
        """Run a whole script now and return every outcome.

        Results of earlier statements are kept as Arrow tables so they stay
        readable after later statements ran; the last one stays in the engine.
        """
        return list(self._iterate(script, _merge_params(params, named), keep=True))

    @_one_at_a_time
    def sql(self, /, script: str, params: Params = None, **named: object) -> Result:
        """Run a script and return the result of its last statement."""
        last: Outcome | None = None
        for outcome in self._iterate(script, _merge_params(params, named), keep=False):
            last = outcome
        if isinstance(last, Result):
            return last
        raise NoctraError(
            "the last statement returned no rows",
            hint="use session.execute() for commands, session.sql() for queries",
        )

    @_one_at_a_time
    def run_statement(self, statement: Statement, params: Params = None) -> Outcome:
        """Run one statement; errors carry the statement's position."""
        if statement.error is not None:
            raise statement.error  # it never closes a quote or comment: nothing of it can run
        start = time.perf_counter()
        self.planner.take_attached()  # databases path::table registered from here on are its own
        try:
            self.tuner.before_statement(statement.text, self.sources, self.settings)
            self.hybrid.take_copies_used()  # what earlier planning read is not this statement's
            plan = self.planner.plan(statement, params)
            if plan.engine == "noctra":
                # Imported here: a run of plain SQL never needs the command table.
                from noctra.commands import HANDLERS

                handler = HANDLERS.get(type(plan.command))
                if handler is None:
                    raise NoctraError(
                        f"{type(plan.command).__name__.upper()} is not available in this version of Noctra",
                        hint="see docs/RQL_EXTENSIONS.md",
                    )
                outcome = handler(self, plan.command, params, plan.statement)
            else:
                try:
                    outcome = self._run_plan(plan)
                except QueryError as exc:
                    if not self._meant_for_duckdb(plan, exc):
                        raise
                    # SQLite cannot parse it: the DuckDB dialect was meant (GROUP BY ALL, EXCLUDE,
                    # list functions...). Nothing ran; DuckDB reads the SQLite tables instead.
                    plan = self.planner.plan_query(statement.text, params, statement, engine="duckdb")
                    outcome = self._run_plan(plan)
        except NoctraError as exc:
            self._forget_attached(self.planner.take_attached())
            raise _locate(exc, statement) from exc.__cause__
        finally:
            self.save_state()
        outcome.statement = statement.number
        outcome.elapsed += time.perf_counter() - start
        if isinstance(outcome, Result):
            outcome.lock = self._lock
        self._last = outcome
        self._lock.failure = None
        return outcome

    def _run_plan(self, plan: Plan) -> Outcome:
        """Run a prepared SQL statement on the engine its plan chose."""
        statement = plan.statement
        if plan.engine == "sqlite":
            assert plan.route is not None and plan.route.sqlite_source is not None
            return self._run_sqlite(plan, plan.route.sqlite_source)
        engine = self.engine
        sql, params = plan.sql, plan.params
        used = self.hybrid.take_copies_used()

        def healing(run: Callable[[], T], *, retry: bool = True) -> T:
            """Run; if a persistent copy the statement read is damaged, it is dropped and the
            statement runs once more on the text (SPEC 4.5). Without ``retry`` (rows may
            already be out, streamed to a pipe) the error says so instead: running it again
            could write the first rows twice."""
            nonlocal sql
            try:
                return run()
            except QueryError as exc:
                again = self.hybrid.without_damaged(sql, used, exc) if used else None
                if again is None:
                    raise
                sql = again
                if not retry:
                    raise QueryError(
                        "a cached copy of a file this statement reads was damaged; it is dropped",
                        hint="run the statement again: it reads the file itself now",
                    ) from exc
                return run()

        # Rows that cannot be COPYed as a query (SHOW, PRAGMA, RETURNING...) are still
        # serialized by the engine's COPY, from Arrow: one text form for every result.
        copy_rows = engine.copy_result if STREAM_COPY in engine.capabilities else None
        if plan.kind not in ("SELECT", "EXPLAIN"):
            self._engine_changed = True
        if plan.is_plain_query:
            # A plain query: run when read, so csv/json output can stream through COPY.
            attached = self.planner.take_attached()

            def located(run: Callable[[], T]) -> T:
                try:
                    return run()
                except NoctraError as exc:
                    if self._last is rows:  # no statement ran since: nothing else relies on them
                        self._forget_attached(attached)
                    raise _locate(exc, statement) from exc.__cause__

            copy: Callable[[str, str], int] | None = None
            if copy_rows is not None:

                def copy(target: str, fmt: str) -> int:
                    return located(
                        lambda: healing(
                            lambda: self._track(lambda: engine.copy_to(f"{sql}\n", target, fmt, params)),
                            retry=False,
                        )
                    )

            as_text: Callable[[], tuple[list[Column], EngineResult] | None] | None = None
            # The engine's own text of each value, by a cast written in DuckDB's SQL: another
            # engine (Spark) shows the rows' values as they come (R9-S1: COLUMNS(*) is DuckDB's).
            if copy is not None and engine.dialect == "duckdb":

                def as_text() -> tuple[list[Column], EngineResult] | None:
                    """For a screen: the rows as the engine's own text, when Python's values
                    would show some types otherwise (one bind to learn the types first)."""
                    columns = located(lambda: engine.describe(f"({sql}\n)", params))
                    if not needs_sql_text([c.type for c in columns], via_arrow=False):
                        return None
                    texts = f"SELECT COLUMNS(*)::VARCHAR FROM ({sql}\n)"
                    return columns, located(
                        lambda: healing(lambda: self._track(lambda: engine.run(texts, params)))
                    )

            stored = plan.stored
            on_read = stored.note if stored is not None else None
            rows = Result(
                statement=statement.number,
                engine=engine.name,
                run=lambda: located(lambda: healing(lambda: self._track(lambda: engine.run(sql, params)))),
                copy=copy,
                copy_rows=copy_rows,
                count=lambda: located(lambda: healing(lambda: _count_rows(engine, f"({sql}\n)", params))),
                on_read=on_read,
                as_text=as_text,
            )
            rows.stored = stored is not None and stored.hit
            return rows
        result = healing(lambda: self._track(lambda: engine.run(sql, params)))
        kind = plan.kind
        if result.has_rows and _success_only(plan, result.columns):
            # DROP, BEGIN, LOAD, ATTACH, CHECKPOINT...: DuckDB's empty "Success" result is a
            # message, not a result set (stdout carries result sets only).
            result.close()
            kind = "CHECKPOINT" if kind == "CALL" else kind
            return self._noting_hidden_sources(plan, _write_message(kind, None, engine.name))
        if result.has_rows and ([c.name for c in result.columns] != ["Count"] or plan.returning):
            if plan.kind != "SELECT":
                # Writes with RETURNING: read them now, so dropping stale copies cannot close them.
                kept = Result(
                    statement=statement.number, engine=engine.name, run=lambda: result, copy_rows=copy_rows
                )
                kept.detach()
                self._forget_copies_of(plan)
                return kept
            return Result(
                statement=statement.number, engine=engine.name, run=lambda: result, copy_rows=copy_rows
            )
        count: int | None = None
        if result.has_rows:
            row = result.fetch(1)
            count = int(str(row[0][0])) if row and row[0][0] is not None else 0
        result.close()
        if plan.kind not in ("SELECT", "EXPLAIN", "PRAGMA"):
            self._forget_copies_of(plan)
        return self._noting_hidden_sources(plan, _write_message(plan.kind, count, engine.name))

    def _meant_for_duckdb(self, plan: Plan, exc: QueryError) -> bool:
        """A read that native SQLite could not parse, in auto mode: DuckDB gets to try it."""
        return (
            plan.engine == "sqlite"
            and self.engine_mode == "auto"
            and plan.kind in _READ_KINDS
            and re.search(_UNPARSED_BY_SQLITE, exc.message) is not None
        )

    def _forget_attached(self, attached: list[Source]) -> None:
        """Undo what a failed statement's ``path::table`` registered: it leaves no source (SPEC 6)."""
        for source in attached:
            if self.sources.peek(source.alias) is source:
                self.lifecycle.detach(source)
        attached.clear()
        self.save_state()

    def _track(self, run: Callable[[], T]) -> T:
        """Run on the main engine, remembered as the one to cancel."""
        self._running = self.engine
        return run()

    def _forget_copies_of(self, plan: Plan) -> None:
        """After a write through DuckDB, copies of the SQLite sources it touched are stale."""
        if plan.route is not None:
            for source, _ in plan.route.sqlite_tables:
                self.hybrid.invalidate(source)

    def _run_sqlite(self, plan: Plan, source: Source) -> Outcome:
        engine = self.hybrid.sqlite_engine(source)
        self._running = engine
        result = engine.run(plan.sql, plan.params)
        if result.has_rows:
            return Result(statement=plan.statement.number, engine="sqlite", run=lambda: result)
        changed = result.rowcount
        result.close()
        self.hybrid.invalidate(source)
        return self._noting_hidden_sources(
            plan, _write_message(plan.kind, changed if changed >= 0 else None, "sqlite")
        )

    def _noting_hidden_sources(self, plan: Plan, message: Message) -> Message:
        """A table created in the --db workspace under a source's alias hides it: say so."""
        if plan.kind == "CREATE" and self.workspace is not None:
            message.notes.extend(self.lifecycle.shadowed_sources())
        return message

    # --- sources (USE, DETACH, SHOW, DESCRIBE) ----------------------------------------

    @_one_at_a_time
    def use(
        self,
        path: str,
        alias: str | None = None,
        options: Mapping[str, object] | None = None,
        *,
        deprecated_import: bool = False,
    ) -> Message:
        """Register a file, glob, directory, URL or database as a source and make it current."""
        source, replaced = self.lifecycle.use(path, alias, dict(options or {}))
        notes = []
        if deprecated_import:
            notes.append(f"IMPORT is deprecated: write USE {quote_string(source.path)} AS {source.alias}")
        if replaced is not None:
            notes.append(f"source {source.alias!r} replaced (was {redact_url(replaced.path)})")
        self.save_state()
        return Message(_describe_source(source), notes=notes)

    @_one_at_a_time
    def set_current(self, alias: str) -> Message:
        """Make a registered source current (``USE alias``)."""
        source = self.sources.require(alias)
        self.lifecycle.make_current(source.alias)
        self.save_state()
        return Message(f"current source: {source.alias}")

    @_one_at_a_time
    def detach(self, alias: str, *, if_exists: bool = False) -> Message:
        """Forget a source (``DETACH alias``)."""
        if if_exists and alias not in self.sources:
            return Message(f"no source {alias!r}; nothing to detach")
        source = self.sources.require(alias)
        self.lifecycle.detach(source)
        self.save_state()
        return Message(f"detached {source.alias}")

    def catalog(self, *, wait: bool = True) -> Catalog:
        """Sources -> tables -> columns, each level read when asked, without side effects.

        What it reads through the engine waits for a statement another thread is running;
        with ``wait=False`` (a front end's own thread) that is a NoctraError instead.
        """
        self._check_open()
        if self._catalog is None or self._catalog_waits is not wait:
            from noctra.catalog import Catalog

            lock = self._lock
            self._catalog = Catalog(self.engine, self.hybrid, self.sources, lambda: lock.turn(wait=wait))
            self._catalog_waits = wait
        return self._catalog

    @property
    def cache_hits(self) -> int:
        """Reads of text files this session served from their persistent copies (SPEC 4.5)."""
        return self.hybrid.cache_hits

    @property
    def result_hits(self) -> int:
        """Queries this session answered from stored results (SPEC 4.5)."""
        return 0 if self.results is None else self.results.hits

    def _result_context(self) -> str | None:
        """All a query's result depends on besides its text and files; None: store nothing.

        Nothing is stored over a --db workspace (its tables change in place), on Spark, or
        once a statement changed the engine (a view or macro may shadow a source's name).
        """
        if self.workspace is not None or self.engine is not self._duck or self._engine_changed:
            return None
        # [duckdb.tuning] and SET values are the connection's own (TimeZone, Calendar...),
        # which the settings digest, read on a cursor, does not see: they are in the key.
        tuning = {str(k).lower(): v for k, v in self.config.tuning.items()}
        if "file_search_path" in self.settings or tuning.get("file_search_path"):
            return None  # a relative path may be read from another folder than the one followed
        import noctra

        parts = [noctra.__version__, self._duck.version, os.getcwd(), self.sources.current or ""]
        parts.append(repr(sorted(self.settings.items())))
        parts.append(repr(sorted((k, repr(v)) for k, v in tuning.items())))
        for source in self.sources:
            options = sorted((str(k), repr(v)) for k, v in source.options.items())
            parts.append(
                repr((source.alias.lower(), source.kind.value, source.location, source.read_pattern))
                + f"{source.reader}\0{options!r}"
            )
        return "\0".join(parts)

    def show_sources(self) -> Result:
        """SHOW SOURCES: alias, kind, path, size, status, current, cache."""
        columns = [
            Column("alias", "VARCHAR"),
            Column("kind", "VARCHAR"),
            Column("path", "VARCHAR"),
            Column("size", "VARCHAR"),
            Column("status", "VARCHAR"),
            Column("current", "VARCHAR"),
            Column("cache", "VARCHAR"),
        ]
        rows = [_source_row(entry) for entry in self.catalog().sources()]
        return Result.of_rows(columns, rows)

    @_one_at_a_time
    def show_tables(self, alias: str | None = None) -> Result:
        """SHOW TABLES [FROM alias]: the current source's, or every source's and the session's own."""
        columns = [Column("name", "VARCHAR"), Column("type", "VARCHAR"), Column("columns", "BIGINT")]
        alias = alias or self.sources.current
        # Files that changed since are read again first (a workbook saved with a new sheet).
        self.lifecycle.refresh(alias or "")
        if alias is not None:
            source = self.sources.require(alias)
            return Result.of_rows(columns, [_table_row(t) for t in self.catalog().tables(source.alias)])
        rows: list[tuple[object, ...]] = []
        for source in self.sources:
            for table in self.catalog().tables(source.alias):
                name = _table_name(table)
                qualified = source.kind.is_database or table.type == "sheet"
                rows.append((f"{source.alias}.{name}" if qualified else name, table.type, table.columns))
        rows.extend(_table_row(t) for t in self.engine.tables("memory") if t.type == "table")
        return Result.of_rows(columns, rows)

    @_one_at_a_time
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
    ) -> Result:
        """Columns of a source, a table, a file or a query (column, type, nullable).

        A query is described where it would run (see _where_it_runs); ``main_engine`` asks the
        main engine instead (how it reads a SQLite table, for DESCRIBE alias.table).
        """
        engine = self.engine
        if query is not None:
            shown = statement or _statement_of(query)
            if main_engine:
                plan = self.planner.plan_query(query, params, shown, engine=engine.name)
                return _columns_result(engine.describe(f"({plan.sql}\n)", plan.params))
            return self._where_it_runs(
                query,
                params,
                shown,
                sqlite=self._described_by_sqlite,
                main=lambda plan: _columns_result(engine.describe(f"({plan.sql}\n)", plan.params)),
            )
        if path is not None:
            file_source = build_source(path, "__noctra_describe", {})
            if file_source.kind.is_database:
                raise SourceError(
                    f"{path!r} is a database: DESCRIBE one of its tables",
                    hint=f"USE {quote_string(path)} AS db; SHOW TABLES FROM db",
                )
            registration = engine.inspect(file_source)
            result = _columns_result(list(registration.columns))
            result.notes.extend(_dialect_notes(file_source, registration.dialect))
            return result
        target = alias or self.sources.current
        if target is None:
            raise SourceError(
                "DESCRIBE needs a source: there is no current source",
                hint="write DESCRIBE alias, DESCRIBE 'file.csv' or DESCRIBE (SELECT ...)",
            )
        source = self.sources.get(target)
        if source is not None:
            self.lifecycle.refresh(source.alias)  # a file saved since (a workbook's new sheet)
        if source is None:
            # Not a source: a table DuckDB resolves itself (one of the current database too).
            name = quote_ident(target) if table is None else f"{quote_ident(target)}.{quote_ident(table)}"
            return _columns_result(engine.describe(name))
        if table is not None:
            if not source.kind.is_database and source.kind is not SourceKind.EXCEL:
                raise SourceError(
                    f"{source.alias!r} is a {source.kind.value} file, it has no table {table!r}",
                    hint=f"write DESCRIBE {source.alias}",
                )
            if source.kind is SourceKind.SQLITE and engine.name == "duckdb":
                # SQLite's names where DuckDB's reader names columns otherwise (a view's "x:1").
                return _columns_result(engine.describe(self.hybrid.sqlite_relation(source, table)))
            return _columns_result(engine.describe(f"{quote_ident(source.alias)}.{quote_ident(table)}"))
        self.lifecycle.refresh()
        if source.kind.is_database:
            rows: list[tuple[object, ...]] = []
            for info in self.catalog().tables(source.alias):
                # A server's default schema is listed as "" (its tables go by bare name).
                schema = f"{quote_ident(info.schema)}." if info.schema else ""
                relation = f"{quote_ident(source.alias)}.{schema}{quote_ident(info.name)}"
                name = _table_name(info)
                for column in engine.describe(relation):
                    rows.append((name, column.name, column.type, column.nullable))
            table_columns = [Column("table", "VARCHAR"), *_DESCRIBE_COLUMNS]
            return Result.of_rows(table_columns, rows)
        result = _columns_result(engine.describe(quote_ident(source.alias)))
        result.notes.extend(_dialect_notes(source, source.dialect))
        return result

    def _described_by_sqlite(self, plan: Plan, engine: Runner) -> Result:
        """DESCRIBE (query) of a query SQLite runs: its columns as its result gives them.

        SQLite types values, not result columns (``a / 2`` has no declared type): the query runs
        up to its first row, whose values give the types, as they do for the query's own result.
        Nullable is unknown, so true.
        """
        self._running = engine
        result = engine.run(plan.sql, plan.params)
        try:
            first = result.fetch(1)
            columns = result.columns
        finally:
            result.close()
        names = unique_names([c.name for c in columns])  # as the query's output names them
        described = Result.of_rows(
            _DESCRIBE_COLUMNS, [(n, c.type, True) for c, n in zip(columns, names, strict=True)]
        )
        unknown = [n for i, n in enumerate(names) if not first or first[0][i] is None]
        if unknown:
            where = "the query has no rows" if not first else f"{', '.join(map(repr, unknown))} is NULL there"
            described.notes.append(
                f"SQLite ran this query: types are its first row's values' ({where}: shown as VARCHAR)"
            )
        return described

    # --- variables -------------------------------------------------------------------

    @_one_at_a_time
    def let(
        self, name: str, expression: str, params: Params = None, *, statement: Statement | None = None
    ) -> Message:
        """LET name = expr: evaluated once by the engine; a failure leaves the old value in place."""
        _check_variable_name(name)
        value = self.evaluate(expression, params, statement or _statement_of(expression))
        variable = Variable(name, value.type, value.text, value.literal)
        self.variables[name.lower()] = variable
        self.save_state()
        return Message(f"{name} = {_short(variable.display)} ({variable.type})")

    @_one_at_a_time
    def evaluate(self, expression: str, params: Params, statement: Statement) -> Variable:
        """Evaluate an expression once in the engine: its type and a literal that recreates it.

        One that runs natively in SQLite (SPEC 4.3) is evaluated there: the variable holds what
        ``SELECT`` shows (7 / 2 is 3), typed by its value (SQLite's columns have no type).
        """
        query = f"SELECT ({expression}\n) AS v"

        def in_sqlite(plan: Plan, engine: Runner) -> Variable:
            self._running = engine
            result = engine.run(plan.sql, plan.params)
            try:
                rows = result.fetch(2)
                type_name = result.columns[0].type
            finally:
                result.close()
            if len(rows) != 1 or len(rows[0]) != 1:
                raise QueryError(f"LET needs one value, the expression gave {len(rows)} rows")
            if rows[0][0] is None:
                return Variable("", "NULL", None, "NULL")
            # Typed and quoted by DuckDB, from the value bound as a parameter.
            return self._variable_of(f"SELECT CAST($v AS {type_name}) AS v", {"v": rows[0][0]})

        def in_main(plan: Plan) -> Variable:
            if self.engine is not self._duck:
                # Another engine's value comes back as Arrow: typed and quoted as DuckDB would.
                from noctra.variables import variable_from_arrow

                return variable_from_arrow(self.engine.run(plan.sql, plan.params).arrow_table())
            return self._variable_of(plan.sql, plan.params)

        return self._where_it_runs(query, params, statement, sqlite=in_sqlite, main=in_main)

    def _variable_of(self, sql: str, params: Params) -> Variable:
        """The value of DuckDB query ``sql`` (one row, one column ``v``) as a Variable."""
        # An error's position, in this wrapper, is mapped to the user's text when it is located.
        result = self.engine.run(
            "SELECT typeof(v), CAST(v AS VARCHAR), CAST(to_json(v) AS VARCHAR) "
            f"FROM ({sql}\n) AS _noctra_let",
            params,
        )
        rows = result.fetch(2)
        result.close()
        type_name, text, json_text = (str(rows[0][0]), rows[0][1], rows[0][2])
        if type_name == '"NULL"':
            return Variable("", "NULL", None, "NULL")
        candidates = [literal_for(type_name, None if text is None else str(text))]
        if text is not None and json_text is not None:
            candidates.append(literal_for(type_name, str(json_text), via_json=True))
        for literal in candidates:
            try:
                # The text as a literal, not a bound parameter: binding any Python value makes
                # DuckDB's client import pandas and numpy when they are installed (~0.4 s).
                expected = "NULL" if text is None else text_literal(str(text))
                check = self.engine.run(f"SELECT CAST({literal} AS VARCHAR) IS NOT DISTINCT FROM {expected}")
                same = check.fetch(1)
                check.close()
            except QueryError:
                continue
            if same and same[0][0] is True:
                return Variable("", type_name, None if text is None else str(text), literal)
        raise QueryError(
            f"a value of type {type_name} cannot be kept as a variable",
            hint="LET a simpler value (e.g. CAST it to VARCHAR)",
        )

    @_one_at_a_time
    def unset(self, *names: str) -> Message:
        """UNSET a, b: forget variables (all or none)."""
        missing = [name for name in names if name.lower() not in self.variables]
        if missing:
            known = [v.name for v in self.variables.values()]
            raise VariableError(f"unknown variable {missing[0]!r}", hint=defined_names(missing[0], known))
        for name in names:
            del self.variables[name.lower()]
        self.save_state()
        return Message(f"unset {', '.join(names)}")

    def show_vars(self) -> Result:
        """SHOW VARS: name, type, value."""
        columns = [Column("name", "VARCHAR"), Column("type", "VARCHAR"), Column("value", "VARCHAR")]
        return Result.of_rows(columns, [(v.name, v.type, v.display) for v in self.variables.values()])

    # --- settings --------------------------------------------------------------------

    @_one_at_a_time
    def set(self, key: str, value: str) -> Message:
        """SET key = value: Noctra's own settings, the engine mode, or passed to the engine."""
        key = key.lower()
        if key == "engine":
            mode = value.strip().strip("'\"")
            remote = mode if mode.lower().startswith("sc://") else None
            mode = "spark" if remote else mode.lower()
            if mode not in (*ENGINE_MODES, "spark"):
                raise OptionError(
                    f"engine must be one of {', '.join(ENGINE_MODES)}, spark or 'sc://HOST:PORT', "
                    f"not {value!r}",
                    hint="SET engine = auto lets Noctra route each statement",
                )
            self._switch_engine(mode, remote)
            self.settings["engine"] = remote or mode
            shown = f"spark ({self.engine.status().endpoint})" if mode == "spark" else mode
            return Message(f"engine = {shown}")
        if self.tuner.handles(key):
            return Message(self.tuner.set(key, value))
        self.engine.set_option(key, value.strip())
        value_now = self.tuner.current_setting(key, written=value)
        self.settings[key] = str(value_now)
        return Message(f"{key} = {MASK if is_secret_setting(key) else value_now}")

    @_one_at_a_time
    def reset(self, key: str) -> Message:
        """RESET key: back to the config file, the environment or the default."""
        key = key.lower()
        if key == "engine":
            mode, remote = engine_choice(self.config)
            self._switch_engine(mode, remote)
            self.settings.pop("engine", None)
            return Message(f"engine reset to {self.engine_mode}")
        if self.tuner.handles(key):
            return Message(self.tuner.reset(key))
        self.engine.reset_option(key)
        self.settings.pop(key, None)
        self.tuner.after_reset(key)
        default = self.tuner.current_setting(key, written="its default")
        return Message(f"{key} reset to {MASK if is_secret_setting(key) else default}")

    @_one_at_a_time
    def show_config(self) -> Result:
        """SHOW CONFIG: the settings in force and where each came from (default / file / env / SET)."""
        rows = self.tuner.show_config(self.settings)
        endpoint = self.engine.status().endpoint
        if endpoint is not None:
            rows.append(("engine", f"{self.engine.name} at {endpoint}", "engine"))
        return Result.of_rows(SHOW_CONFIG_COLUMNS, rows)

    # --- engines ---------------------------------------------------------------------

    def _open_spark(self, remote: str | None) -> Engine:
        """The Spark engine (its server starts when a statement first needs it)."""
        if self._spark is not None and remote is not None and remote != self._spark.status().endpoint:
            self._spark.close()
            self._spark = None
        if self._spark is None:
            if self.workspace is not None:
                raise OptionError(
                    "the Spark engine cannot use a --db workspace",
                    hint="run without --db (new tables then live in Spark's catalog)",
                )
            self._spark = open_engine(
                "spark",
                local=self._duck,
                remote=remote or self.config.spark.remote,
                sqlite_max_rows=self.config.spark.sqlite_max_rows,
            )
        return self._spark

    def _switch_engine(self, mode: str, remote: str | None) -> None:
        """SET engine: Spark or DuckDB (with its routing mode); sources so far are registered there."""
        from noctra.lifecycle import apply

        target = self._open_spark(remote) if mode == "spark" else self._duck
        if target is not self.engine:
            duck = target is self._duck
            for source in self.sources:
                if source.status != "ok" or source is self.workspace:
                    continue
                # DuckDB had them already; registered again, replacing, in case they changed.
                apply(source, target.register(source, replacing=source if duck else None, reuse_reader=True))
            self.engine = target
            self.tuner.engine = target
            self.lifecycle.engine = target
            self.planner.engine = target
            self._catalog = None
            self.lifecycle.make_current(self.sources.current)
        self.engine_mode = mode

    # --- export ----------------------------------------------------------------------

    @_one_at_a_time
    def export_format(self, path: str) -> str | None:
        """The format EXPORT gives a path from its extension (``out.csv.gz``: csv), or None
        when it has none EXPORT knows (a FORMAT must then say it)."""
        from noctra.engine.export import format_for

        try:
            return format_for(path, None)
        except OptionError:
            return None

    def export(
        self,
        query: str,
        path: str,
        *,
        format: str | None = None,
        options: Mapping[str, object] | None = None,
        params: Params = None,
        statement: Statement | None = None,
        whole_table: bool = False,
    ) -> Message:
        """EXPORT (query) TO path: the engine's own writer; one file is replaced atomically.

        A query that runs natively in SQLite (SPEC 4.3) runs there, and DuckDB's writer gets
        its rows as they come, so the file holds what the query shows (7 / 2 is 3).
        ``whole_table`` (EXPORT alias.table): the table is read as DuckDB types it (a DATE
        column stays a DATE in Parquet, ten times faster than SQLite's rows through Python);
        only a table holding a value its declared type cannot take is written from SQLite.
        """
        from noctra.engine.export import format_for

        written: dict[str, object] = dict(options or {})
        directory = bool(written.get("per_thread_output")) or "partition_by" in written
        fmt = format_for(path, format, directory=directory)
        if format is not None and format.lower() == "tsv":
            written.setdefault("delimiter", "\t")

        def in_sqlite(plan: Plan, engine: Runner) -> Message:
            def stream() -> EngineResult:
                self._running = engine
                return engine.run(plan.sql, plan.params)

            # Its rows come in SQLite's order, kept as they are.
            report = self.engine.export(
                plan.sql,
                plan.params,
                target=path,
                fmt=fmt,
                options=dict(written),
                ordered=True,
                stream=stream,
            )
            return Message(report.describe(), engine="sqlite")

        def in_main(plan: Plan) -> Message:
            self._running = self.engine
            report = self.engine.export(
                plan.sql,
                plan.params,
                target=path,
                fmt=fmt,
                options=dict(written),
                # A stored result keeps the query's order: its text (a read of it) has no ORDER BY.
                ordered=(plan.stored is not None and plan.stored.served) or has_top_level_order_by(plan.sql),
            )
            return Message(report.describe())

        if whole_table and self.engine is self._duck and self.engine_mode != "sqlite":
            try:
                return in_main(
                    self.planner.plan_query(
                        query, params, statement or _statement_of(query), engine=self.engine.name
                    )
                )
            except (QueryError, ExportError) as exc:
                if re.search(_SQLITE_TYPE_MISMATCH, exc.message) is None:
                    raise
        return self._where_it_runs(query, params, statement, sqlite=in_sqlite, main=in_main)

    def _where_it_runs(
        self,
        query: str,
        params: Params,
        statement: Statement | None,
        *,
        sqlite: Callable[[Plan, Runner], T],
        main: Callable[[Plan], T],
    ) -> T:
        """EXPORT, LET and DESCRIBE (query): run where the query alone would run, so each gives
        what the query shows.

        That is natively in SQLite for a read that routes there (one SQLite source, no files,
        SPEC 4.3); else the main engine, with SQLite tables attached. As for a plain query, a
        read SQLite cannot parse (auto mode) goes to DuckDB: nothing ran in SQLite.
        """
        statement = statement or _statement_of(query)
        plan: Plan | None = None
        if self.engine is self._duck:  # on Spark every statement runs there
            plan = self.planner.plan_query(query, params, statement)
        if plan is None or plan.engine != "sqlite" or not plan.is_plain_query:
            # Writes (INSERT ... RETURNING) are not run to be written out: as before, DuckDB's.
            if plan is None or plan.engine == "sqlite":
                plan = self.planner.plan_query(query, params, statement, engine=self.engine.name)
            return main(plan)
        assert plan.route is not None and plan.route.sqlite_source is not None
        try:
            return sqlite(plan, self.hybrid.sqlite_engine(plan.route.sqlite_source))
        except QueryError as exc:
            if not self._meant_for_duckdb(plan, exc):
                raise
        return main(self.planner.plan_query(query, params, statement, engine=self.engine.name))

    @_one_at_a_time
    def export_source(
        self,
        alias: str,
        path: str,
        *,
        table: str | None = None,
        format: str | None = None,
        options: Mapping[str, object] | None = None,
    ) -> Message:
        """EXPORT alias | alias.table | table (of the current database) TO path."""
        source = self.sources.get(alias)
        if source is not None and source.kind.is_database and table is None:
            tables = ", ".join(t.name for t in self.catalog().tables(source.alias)) or "none"
            raise SourceError(
                f"{source.alias!r} is a database: EXPORT one of its tables",
                hint=f"write EXPORT {source.alias}.<table> TO ...; its tables: {tables}",
            )
        # Not a source: a table the engine resolves itself (one of the current database too).
        name = quote_ident(alias) if table is None else f"{quote_ident(alias)}.{quote_ident(table)}"
        return self.export(f"SELECT * FROM {name}", path, format=format, options=options, whole_table=True)

    # --- status and control ----------------------------------------------------------

    def status(self) -> Status:
        """Engine of the last statement, I/O and threads, current source, memory, last run."""
        from noctra.status import Status

        self._check_open()
        engine_status = self.engine.status()
        endpoint = engine_status.endpoint
        current = self.sources.peek(self.sources.current) if self.sources.current else None
        last = self._last
        return Status(
            engine=last.engine if last is not None else self.engine.name,
            io_type="remote" if self.tuner.is_remote else "local",
            threads=engine_status.threads,
            current_source=current.alias if current is not None else None,
            current_size=current.size if current is not None else None,
            memory_used=engine_status.memory_used,
            memory_limit=engine_status.memory_limit,
            memory_limit_text=engine_status.memory_limit_text,
            last_seconds=last.elapsed if last is not None else None,
            last_rows=last.row_count if isinstance(last, Result) else None,
            last_failure=self._lock.failure,
            running=self.busy,
            endpoint=endpoint,
        )

    def engine_version(self) -> str:
        """The engine and its version, e.g. 'duckdb 1.5.5' or 'spark 4.3.0 at sc://host:15002'."""
        self._check_open()
        endpoint = self.engine.status().endpoint
        where = f" at {endpoint}" if endpoint else ""
        return f"{self.engine.name} {self.engine.version}{where}"

    def extensions(self) -> list[tuple[str, str | None, str]]:
        """(name, file it loads from or None, the package that provides it)."""
        self._check_open()
        return self.engine.extensions()

    @property
    def busy(self) -> bool:
        """True while a statement runs (a Ctrl-C handler cancels it instead of exiting)."""
        running = self._running
        return self.engine.busy or (running is not None and running.busy)

    def cancel(self) -> None:
        """Interrupt the running statement (from any thread); the session stays usable."""
        if self._lock.closed:
            return
        running = self._running
        if running is not None and running is not self.engine:
            running.cancel()
        self.engine.cancel()

    def progress(self) -> float | None:
        """Progress of the running statement in [0, 1], when the engine knows it."""
        if self._lock.closed:
            return None
        return self.engine.progress() if PROGRESS in self.engine.capabilities else None

    @_one_at_a_time
    def enable_progress(self) -> None:
        """Ask the engine to track progress (front ends that show a bar call this once)."""
        if PROGRESS in self.engine.capabilities:
            self.engine.enable_progress()

    def secrets(self) -> list[str]:
        """Credential values to hide from every message."""
        return [*self.config.secrets(), *self.engine.secret_values]

    def close(self) -> None:
        """Close the engines: from then on the session (and a result not read yet) says it is closed."""
        if self._lock.closed:
            return
        # Not waiting for the lock: a statement another thread runs is cut off, as before.
        self._lock.closed = True
        self.hybrid.close()
        if self._spark is not None:
            self._spark.close()
        self._duck.close()

    def _check_open(self) -> None:
        if self._lock.closed:
            raise NoctraError("this session is closed", hint="open a new noctra.Session()")

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the session file --------------------------------------------------------------

    def _restore(self, path: Path) -> None:
        """Re-register saved sources (missing files stay listed, as missing) and variables."""
        try:
            saved = state.load(path)
        except state.CorruptStateError as exc:
            self.warnings.append(str(exc))
            return
        if saved is None:
            return
        self.warnings.extend(saved.problems)  # entries edited by hand, left out (SPEC 2.3)
        self.lifecycle.restore(saved.sources, self.workspace)
        for variable in saved.variables:
            self.variables[variable.name.lower()] = variable
        current = self.sources.peek(saved.current) if saved.current else None
        if current is not None and current.status == "ok":
            self.lifecycle.make_current(current.alias)
        elif current is not None:
            # Its file is gone for now: it stays the current source (and saved as such), and
            # becomes the database new tables go to again when the file is back (refresh).
            self.sources.current = current.alias

    def _snapshot(self) -> str:
        kept = [s for s in self.sources if s is not self.workspace]
        return state.snapshot(kept, list(self.variables.values()), self.sources.current)

    def save_state(self) -> None:
        """Write the session file if something changed since it was last written."""
        if self.state_path is None:
            return
        text = self._snapshot()
        if text != self._saved:
            try:
                # Merged under a lock with what other processes saved meanwhile (REPL, TUI and
                # one-shot runs share one session file).
                state.save_merged(self.state_path, self._saved, text)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                blocker = next((p for p in self.state_path.parents if p.exists() and not p.is_dir()), None)
                if blocker is not None:
                    other = "" if self.workspace is not None else ", or set XDG_STATE_HOME"
                    reason = f"{blocker} is a file, not a directory (move it{other})"
                warning = f"could not save the session to {self.state_path}: {reason}"
                if warning not in self._save_warned:  # once a run, not at every statement (R9-I14)
                    self._save_warned.add(warning)
                    self.warnings.append(warning)
            self._saved = text


def cached_copies(config: Config) -> list[tuple[str, str, str, int, str]]:
    """``noctra cache show``: each persistent copy and stored result: what it is, of what,
    its size, hits and last use."""
    from noctra.engine.results import ResultStore

    def when(stamp: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))

    store = CacheStore(cache_dir(), max_size=config.cache.max_size, min_size=config.cache.min_size)
    rows = [
        ("copy", entry.source, format_size(entry.copy_size), entry.hits, when(entry.last_use))
        for entry in store.entries()
    ]
    results = ResultStore(cache_dir() / "results", max_size=0, max_rows=0, min_seconds=0)
    rows += [
        (
            "result",
            _short(" ".join(entry.query.split()), 80),
            format_size(entry.size),
            entry.hits,
            when(entry.last_use),
        )
        for entry in results.entries()
    ]
    return rows


def clear_cached_copies(config: Config) -> tuple[int, int, str]:
    """``noctra cache clear``: delete every copy and stored result; how many, and from where."""
    from noctra.engine.results import ResultStore

    store = CacheStore(cache_dir(), max_size=config.cache.max_size, min_size=config.cache.min_size)
    results = ResultStore(cache_dir() / "results", max_size=0, max_rows=0, min_seconds=0)
    return store.clear(), results.clear(), str(store.directory)


def _check_variable_name(name: str) -> None:
    """Refuse a name no ``#name`` or ``:name`` could reach (RQL's LET refuses them in its parser)."""
    if not is_variable_name(name):
        raise VariableError(
            f"{name!r} cannot be a variable name",
            hint="a name is a letter or _, then letters, digits or _ (LET total = 1, then #total or :total)",
        )


def _statement_of(text: str) -> Statement:
    return Statement(text, 1, 1, 1, 0)


def _describe_source(source: Source) -> str:
    """The one-line summary USE prints: 'sales: CSV, 12 columns, 10.2 MB'."""
    what = "tables" if source.kind.is_database else "columns"
    count = f"{source.columns} {what[:-1] if source.columns == 1 else what}"
    size = format_size(source.size)
    return f"{source.alias}: {source.kind.value}, {count}" + (f", {size}" if size else "")


def _source_row(entry: SourceEntry) -> tuple[object, ...]:
    size = format_size(entry.size) if entry.size is not None else None
    current = "*" if entry.is_current else ""
    return (entry.alias, entry.kind, entry.path, size, entry.status, current, entry.cache)


def _table_name(table: TableInfo) -> str:
    """A table's name, with its schema when that is not ``main``."""
    return table.name if table.schema in ("main", "") else f"{table.schema}.{table.name}"


def _table_row(table: TableInfo) -> tuple[object, ...]:
    return (_table_name(table), table.type, table.columns)


def _columns_result(columns: list[Column]) -> Result:
    # Named as the query's own output names them: a join's id, name, id_1, name_1.
    names = unique_names([c.name for c in columns])
    return Result.of_rows(
        _DESCRIBE_COLUMNS, [(n, c.type, c.nullable) for c, n in zip(columns, names, strict=True)]
    )


def _dialect_notes(source: Source, dialect: Mapping[str, str]) -> list[str]:
    if not dialect:
        return []
    if source.kind is SourceKind.EXCEL and "sheet" in dialect:
        return [f"{redact_url(source.path)}: Excel, sheet {dialect['sheet']!r}"]
    parts = ", ".join(f"{key}={value!r}" for key, value in dialect.items())
    return [f"{redact_url(source.path)}: {source.kind.value} dialect: {parts}"]


def _short(text: str, limit: int = 60) -> str:
    flat = text.replace("\n", "↵")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _success_only(plan: Plan, columns: Sequence[Column]) -> bool:
    """True for DuckDB's answer to a statement that returns nothing: one BOOLEAN "Success".

    A query that names a column so is still a query; of CALLs only CHECKPOINT answers so.
    """
    if [(c.name, c.type.upper()) for c in columns] != [("Success", "BOOLEAN")] or plan.returning:
        return False
    if plan.kind == "CALL":
        return re.match(r"\s*(?:FORCE\s+)?CHECKPOINT\b", plan.sql, re.IGNORECASE) is not None
    return plan.kind not in ("SELECT", "EXECUTE", "EXPLAIN")


def _write_message(kind: str, count: int | None, engine: str) -> Message:
    verb = _VERBS.get(kind)
    if verb is None or count is None:
        return Message(kind.replace("_", " ").lower() + ": ok", engine=engine)
    return Message(f"{count:,} row{'s' if count != 1 else ''} {verb}", engine=engine)


def _count_rows(engine: Engine, wrapped: str, params: Params) -> int:
    result = engine.run(f"SELECT count(*) FROM {wrapped} AS _noctra_q", params)
    row = result.fetch(1)
    return int(str(row[0][0])) if row else 0


def _merge_params(params: Params, named: Mapping[str, object]) -> Params:
    if not named:
        return params
    if params is None:
        return dict(named)
    if isinstance(params, Mapping):
        return {**params, **named}
    raise NoctraError("give parameters either by position or by name, not both")


def _locate(exc: NoctraError, statement: Statement) -> NoctraError:
    """Give an error the statement's position (and the engine's line/column if known)."""
    from noctra.rql.positions import locate  # errors only: difflib is not on the start-up path

    return locate(exc, statement)
