"""Session: the one façade that the CLI, the REPL, the TUI and the Python API use."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from noctra import commands, records, state
from noctra.config import Config
from noctra.engine.base import Params
from noctra.engine.duck import DuckEngine
from noctra.engine.hybrid import Hybrid, Route, route, table_references
from noctra.engine.sources import (
    Source,
    SourceKind,
    SourceRegistry,
    check_sqlite_file,
    kind_from_name,
    resolve_location,
    signature_of,
)
from noctra.errors import NoctraError, QueryError, RqlSyntaxError, SourceError, Span, UsageError
from noctra.records import replace as dataclass_copy
from noctra.results import Message, Outcome, Result
from noctra.rql import ast
from noctra.rql.interpolate import interpolate, named_parameters, unknown_parameter
from noctra.rql.lexer import Kind, Token, significant, tokenize
from noctra.rql.parser import identifier_text, parse
from noctra.rql.rewrite import replace_qualified_tables, rewrite_table_references
from noctra.rql.splitter import Statement, split
from noctra.tuning import Tuner
from noctra.variables import Variable, literal_for

_VERBS = {"INSERT": "inserted", "UPDATE": "updated", "DELETE": "deleted", "COPY": "copied"}
T = TypeVar("T")


class Session:
    """Sources, variables and settings over one engine; runs RQL scripts.

    Relative paths are relative to the process's current directory, for Noctra
    and DuckDB alike.
    """

    def __init__(
        self,
        *,
        db: str | os.PathLike[str] | None = None,
        config: Config | None = None,
        read_only: bool = False,
        state_path: str | os.PathLike[str] | None = None,
        restore: bool = True,
    ) -> None:
        """A session in memory, or over a ``db`` workspace (.duckdb or SQLite) for new tables.

        With ``state_path`` (or a ``db``), sources, the current source and variables are
        saved there after each change and restored at start (unless ``restore`` is False).
        """
        self.config = config if config is not None else Config()
        self.engine = DuckEngine(":memory:")
        try:
            self.tuner = Tuner(self.engine, self.config)
        except NoctraError:
            self.engine.close()
            raise
        self.hybrid = Hybrid(
            self.engine, self.config.engine, statement_cache=self.config.performance.stmt_cache_capacity
        )
        self.engine_mode = self.config.engine.mode
        self.sources = SourceRegistry(activate=self.activate)
        self._routes: dict[tuple[object, ...], Route] = {}
        self.settings: dict[str, str] = {}
        self.variables: dict[str, Variable] = {}
        self.warnings: list[str] = []
        self.workspace: Source | None = None
        if db is not None:
            self._open_workspace(os.fspath(db), read_only=read_only)
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
        """The statements of a script (raises RqlSyntaxError for unterminated quotes)."""
        return split(script)

    def iterate(self, script: str, params: Params = None, **named: object) -> Iterator[Outcome]:
        """Run a script statement by statement, yielding each outcome as it comes.

        A query's rows stay in the engine until read (a front end can stream them
        with ``Result.write``); if the caller moves on without reading them, the
        query still runs, so its errors surface. Stops at the first error.
        """
        return self._iterate(script, _merge_params(params, named), keep=False)

    def _iterate(self, script: str, params: Params, *, keep: bool) -> Iterator[Outcome]:
        previous: Outcome | None = None
        for statement in self.split(script):
            if isinstance(previous, Result):
                if keep:
                    previous.detach()
                else:
                    previous.ensure_run()
            previous = self.run_statement(statement, params)
            yield previous
        if isinstance(previous, Result):
            previous.ensure_run()

    def execute(self, script: str, params: Params = None, **named: object) -> list[Outcome]:
        """Run a whole script now and return every outcome.

        Results of earlier statements are kept as Arrow tables so they stay
        readable after later statements ran; the last one stays in the engine.
        """
        return list(self._iterate(script, _merge_params(params, named), keep=True))

    def sql(self, script: str, params: Params = None, **named: object) -> Result:
        """Run a script and return the result of its last statement."""
        last: Outcome | None = None
        for outcome in self.iterate(script, params, **named):
            last = outcome
        if isinstance(last, Result):
            return last
        raise NoctraError(
            "the last statement returned no rows",
            hint="use session.execute() for commands, session.sql() for queries",
        )

    def run_statement(self, statement: Statement, params: Params = None) -> Outcome:
        """Run one statement; errors carry the statement's position."""
        start = time.perf_counter()
        try:
            try:
                text = interpolate(
                    statement.text,
                    {key: var.literal for key, var in self.variables.items()},
                    statement=statement.number,
                )
            except RqlSyntaxError as exc:
                if exc.span is not None:
                    exc.span = statement.span_at(exc.span.line, exc.span.column)
                raise
            original = statement
            if text != statement.text:
                statement = records.replace(statement, text=text)
            self.tuner.before_statement(statement.text, self.sources, self.settings)
            command = parse(statement, current_source=self.sources.current)
            if isinstance(command, ast.Sql):
                # SQL is interpolated later, in the dialect of the engine that runs it.
                outcome = self._run_sql(original.text, params, original)
            else:
                outcome = self._dispatch(command, params, statement)
        except NoctraError as exc:
            raise _locate(exc, statement) from exc.__cause__
        finally:
            self.save_state()
        outcome.statement = statement.number
        outcome.elapsed += time.perf_counter() - start
        return outcome

    def _dispatch(self, command: ast.Command, params: Params, statement: Statement) -> Outcome:
        if isinstance(command, ast.Use):
            return commands.use(self, command)
        if isinstance(command, ast.UseAlias):
            return commands.use_alias(self, command)
        if isinstance(command, ast.Detach):
            return commands.detach(self, command)
        if isinstance(command, ast.ShowSources):
            return commands.show_sources(self)
        if isinstance(command, ast.ShowTables):
            return commands.show_tables(self, command)
        if isinstance(command, ast.Describe):
            return commands.describe(self, command)
        if isinstance(command, ast.SetOption):
            return commands.set_option(self, command)
        if isinstance(command, ast.ResetOption):
            return commands.reset_option(self, command)
        if isinstance(command, ast.Let):
            return commands.let(self, command, params)
        if isinstance(command, ast.Unset):
            return commands.unset(self, command)
        if isinstance(command, ast.ShowVars):
            return commands.show_vars(self)
        if isinstance(command, ast.ShowConfig):
            return commands.show_config(self)
        if isinstance(command, ast.Export):
            return commands.export(self, command, params, statement)
        raise NoctraError(
            f"{type(command).__name__.upper()} is not available in this version of Noctra",
            hint="see docs/RQL_EXTENSIONS.md",
        )

    def evaluate(self, expression: str, params: Params, statement: Statement) -> Variable:
        """Evaluate an expression once in the engine: its type and a literal that recreates it."""
        sql, bound = self.bind(self.prepare_sql(expression), params, statement)
        try:
            result = self.engine.run(
                "SELECT typeof(v), CAST(v AS VARCHAR), CAST(to_json(v) AS VARCHAR) "
                f"FROM (SELECT ({sql}\n) AS v)",
                bound,
            )
            rows = result.fetch(2)
        except QueryError as exc:
            exc.engine_position = None  # a position in the wrapper, not in the user's text
            raise
        result.close()
        type_name, text, json_text = (str(rows[0][0]), rows[0][1], rows[0][2])
        if type_name == '"NULL"':
            return Variable("", "NULL", None, "NULL")
        candidates = [literal_for(type_name, None if text is None else str(text))]
        if text is not None and json_text is not None:
            candidates.append(literal_for(type_name, str(json_text), via_json=True))
        for literal in candidates:
            try:
                check = self.engine.scalar(
                    f"SELECT CAST({literal} AS VARCHAR) IS NOT DISTINCT FROM ?", [text]
                )
            except QueryError:
                continue
            if check is True:
                return Variable("", type_name, None if text is None else str(text), literal)
        raise QueryError(
            f"a value of type {type_name} cannot be kept as a variable",
            hint="LET a simpler value (e.g. CAST it to VARCHAR)",
        )

    def prepare_sql(self, text: str) -> str:
        """SQL as the engine gets it: shorthands rewritten, changed files re-read."""
        rewritten = rewrite_table_references(
            text, self._attach_on_the_fly, self._is_local_file, commands.check_queried_file
        )
        self.refresh_sources()
        return rewritten

    def bind(self, text: str, params: Params, statement: Statement) -> tuple[str, Params]:
        """Turn ``:name`` into bound parameters from params, else session variables."""
        if params is not None and not isinstance(params, Mapping):
            if named_parameters(text, statement=statement.number)[1]:
                raise NoctraError(
                    "this statement uses :name parameters, but positional values were given",
                    hint="pass values by name (keyword arguments or --param name=value)",
                    span=statement.span,
                )
            return text, params
        explicit = params if isinstance(params, Mapping) else {}
        lowered = {str(k).lower(): v for k, v in explicit.items()}
        values: dict[str, object] = {}

        def render(name: str) -> str:
            if name in lowered:
                values[name] = lowered[name]
                return "$" + name
            variable = self.variables.get(name)
            if variable is None:
                raise unknown_parameter(name, [":" + k for k in self.variables], statement.span)
            values[name] = variable.text
            return f"CAST(${name} AS {variable.type})"

        sql, names = named_parameters(text, render, statement=statement.number)
        return (sql, values) if names else (text, None)

    def _run_sql(self, text: str, params: Params, statement: Statement) -> Outcome:
        sql = self.prepare_sql(text)
        tokens = tokenize(sql)
        words = {identifier_text(t).lower() for t in tokens if t.kind in (Kind.WORD, Kind.QIDENT)}
        self._check_missing(words)
        route = self._route(sql, tokens, words)
        if route.engine == "sqlite":
            assert route.sqlite_source is not None
            return self._run_sqlite(sql, params, statement, route.sqlite_source)
        self._activate_named(words)
        sql = self._interpolate(sql, statement, sqlite=False)
        sql, params = self.bind(sql, params, statement)
        engine = self.engine
        kind = engine.statement_kind(sql)
        if kind == "SELECT":
            sql = self._use_copies(sql, route)
        meaningful = significant(tokens)
        first = meaningful[0]
        if kind == "SELECT" and (
            first.upper in ("SELECT", "FROM", "VALUES", "TABLE", "WITH")
            or (first.kind is Kind.OP and first.text == "(")
        ):
            # A plain query: run when read, so csv/json output can stream through COPY.
            def located(run: Callable[[], T]) -> T:
                try:
                    return run()
                except NoctraError as exc:
                    raise _locate(exc, statement) from exc.__cause__

            return Result(
                statement=statement.number,
                engine=engine.name,
                run=lambda: located(lambda: engine.run(sql, params)),
                copy=lambda target, options: located(
                    lambda: engine.copy_to(f"{sql}\n", target, options, params)
                ),
                count=lambda: located(lambda: _count_rows(engine, f"({sql}\n)", params)),
            )
        result = engine.run(sql, params)
        returning = any(t.is_word("RETURNING") for t in meaningful)
        if result.has_rows and ([c.name for c in result.columns] != ["Count"] or returning):
            if kind != "SELECT":
                # Writes with RETURNING: read them now, so dropping stale copies cannot close them.
                kept = Result(statement=statement.number, engine=engine.name, run=lambda: result)
                kept.detach()
                self._forget_copies_of(route)
                return kept
            return Result(statement=statement.number, engine=engine.name, run=lambda: result)
        count: int | None = None
        if result.has_rows:
            row = result.fetch(1)
            count = int(str(row[0][0])) if row and row[0][0] is not None else 0
        result.close()
        if kind not in ("SELECT", "EXPLAIN", "PRAGMA"):
            self._forget_copies_of(route)
        return _write_message(kind, count, engine.name)

    def _forget_copies_of(self, route: Route) -> None:
        """After a write through DuckDB, copies of the SQLite sources it touched are stale."""
        for source, _ in route.sqlite_tables:
            self.hybrid.invalidate(source)

    def _interpolate(self, sql: str, statement: Statement, *, sqlite: bool) -> str:
        """#name -> literals in the dialect of the engine that runs the statement."""
        if "#" not in sql:
            return sql
        literals = {
            key: (var.sqlite_literal if sqlite else var.literal) for key, var in self.variables.items()
        }
        try:
            return interpolate(sql, literals, statement=statement.number)
        except RqlSyntaxError as exc:
            if exc.span is not None:
                exc.span = statement.span_at(exc.span.line, exc.span.column)
            raise

    def _route(self, sql: str, tokens: list[Token], words: set[str]) -> Route:
        """Where a statement runs: SQLite natively, or DuckDB (SPEC 4.3)."""
        mode = self.engine_mode
        file_sources = [s for s in self.sources if not s.kind.is_database and s.alias.lower() in words]
        sqlite_sources = [s for s in self.sources if s.kind is SourceKind.SQLITE and s.status == "ok"]
        current = self.sources.peek(self.sources.current) if self.sources.current else None
        current_sqlite = current if current in sqlite_sources else None
        named = [s for s in sqlite_sources if s.alias.lower() in words]
        # Bare table names can only mean the current SQLite source: its tables are all we need.
        tables = (
            {} if current_sqlite is None else {current_sqlite.alias: self.hybrid.tables_of(current_sqlite)}
        )
        if (
            current_sqlite is not None
            and current_sqlite not in named
            and words & tables[current_sqlite.alias]
        ):
            named.append(current_sqlite)
        if not named:
            if mode == "sqlite":
                return self._forced_sqlite(current_sqlite, file_sources)
            # Names no SQLite table: DuckDB, without parsing (sqlglot is slow to load).
            return Route("duckdb", file_sources=file_sources)
        qualified = _qualified_tables(tokens, {s.alias.lower(): s for s in named})
        # Visibly more than one SQLite database's work: files, several databases, a quoted path.
        needs_duckdb = bool(file_sources) or len(named) > 1 or _names_a_file(tokens)
        if mode == "duckdb" or (mode == "auto" and needs_duckdb):
            return Route("duckdb", sqlite_tables=qualified, file_sources=file_sources)
        decided = self._parsed_route(sql, tokens, current, tables)
        decided.file_sources = file_sources
        if mode == "sqlite" and decided.engine != "sqlite":
            if decided.sqlite_tables or file_sources or current_sqlite is None:
                raise QueryError(
                    f"engine = sqlite cannot run this statement: it needs {decided.reason or 'DuckDB'}",
                    hint="SET engine = auto lets Noctra choose (files and several sources need DuckDB)",
                )
            return Route("sqlite", sqlite_source=current_sqlite)
        return decided

    def _forced_sqlite(self, current: Source | None, file_sources: list[Source]) -> Route:
        if current is None or file_sources:
            reason = "files" if file_sources else "a SQLite source, and none is current"
            raise QueryError(
                f"engine = sqlite cannot run this statement: it needs {reason}",
                hint="SET engine = auto lets Noctra choose, or USE a SQLite source first",
            )
        return Route("sqlite", sqlite_source=current)

    def _parsed_route(
        self, sql: str, tokens: list[Token], current: Source | None, tables: dict[str, set[str]]
    ) -> Route:
        """Route by the tables a real SQL parser finds, remembered per statement shape.

        The shape is the statement with its literals blanked out, so repeated lookups
        that differ only in a value (``WHERE id = 7``) are parsed once.
        """
        shape = " ".join(
            "?" if t.kind in (Kind.STRING, Kind.NUMBER) else t.text
            for t in tokens
            if t.kind not in (Kind.SPACE, Kind.COMMENT)
        )
        key = (
            shape,
            current.alias if current else None,
            self.sources.revision,
            tuple(id(names) for names in tables.values()),
        )
        cached = self._routes.get(key)
        if cached is not None:
            return dataclass_copy(cached)
        parseable = interpolate(sql, {k: "NULL" for k in self.variables})
        parseable, _ = named_parameters(parseable, lambda name: "NULL")
        refs = self.engine.query_table_references(parseable)
        if refs is None:
            refs = table_references(parseable)
        decided = route(refs, list(self.sources), current, tables)
        if len(self._routes) >= 256:
            self._routes.pop(next(iter(self._routes)))
        self._routes[key] = decided
        return dataclass_copy(decided)

    def _check_missing(self, words: set[str]) -> None:
        """A statement that names a source restored as missing gets an error saying so."""
        for source in self.sources:
            if source.status == "missing" and source.alias.lower() in words:
                raise SourceError(
                    f"source {source.alias!r} is missing: {source.path} is not there",
                    hint=f"put the file back (it is picked up again), or DETACH {source.alias}",
                )

    def _use_copies(self, sql: str, route: Route) -> str:
        """Count reads of hot files and SQLite tables; point the statement at DuckDB copies."""
        for source in route.file_sources:
            self.hybrid.file_read(source, source.reader)
        replacements: dict[tuple[str, str], str] = {}
        for source, table in route.sqlite_tables:
            key = (source.alias.lower(), table.lower())
            if key in replacements:
                continue
            copy = self.hybrid.sqlite_table_for_duckdb(source, table)
            if copy is not None:
                replacements[key] = copy
        return replace_qualified_tables(sql, replacements) if replacements else sql

    def _run_sqlite(self, sql: str, params: Params, statement: Statement, source: Source) -> Outcome:
        engine = self.hybrid.sqlite_engine(source)
        sql = self._interpolate(sql, statement, sqlite=True)
        explicit = {str(k).lower(): v for k, v in params.items()} if isinstance(params, Mapping) else {}

        def render(name: str) -> str:
            if name not in explicit and name not in self.variables:
                raise unknown_parameter(name, [":" + k for k in self.variables], statement.span)
            return ":" + name

        sql, names = named_parameters(sql, render, statement=statement.number)
        bound: Params = (
            params
            if not names
            else {n: explicit[n] if n in explicit else self.variables[n].text for n in names}
        )
        result = engine.run(sql, bound)
        if result.has_rows:
            return Result(statement=statement.number, engine="sqlite", run=lambda: result)
        changed = result.rowcount
        result.close()
        self.hybrid.invalidate(source)
        kind = significant(tokenize(sql))[0].upper
        return _write_message(kind, changed if changed >= 0 else None, "sqlite")

    # --- workspace and the session file ---------------------------------------------

    def _open_workspace(self, path: str, *, read_only: bool) -> None:
        kind = kind_from_name(path)
        if kind is None or not kind.is_database:
            raise UsageError(
                f"--db {path!r} is not a database file",
                hint="use a .duckdb file, or .db / .sqlite / .sqlite3 for SQLite",
            )
        options: dict[str, object] = {"readonly": True} if read_only else {"create": True}
        source = commands.build_source(self, path, commands.default_alias(path), options)
        self.engine.register(source)
        self.sources.add(source)
        self.workspace = source
        self.engine.home = source.alias
        self.make_current(source.alias)

    def _restore(self, path: Path) -> None:
        """Re-register saved sources (missing files stay listed, as missing) and variables."""
        try:
            saved = state.load(path)
        except state.CorruptStateError as exc:
            self.warnings.append(
                f"session file {path} could not be read ({exc.reason}); set aside as {exc.moved_to.name}"
            )
            return
        if saved is None:
            return
        for source in saved.sources:
            if self.workspace is not None and source.location == self.workspace.location:
                continue
            self.sources.add(source)
            if not self._register_saved(source):
                self.warnings.append(
                    f"source {source.alias!r} is missing: {source.path} (kept; it returns with the file)"
                )
        for variable in saved.variables:
            self.variables[variable.name.lower()] = variable
        current = self.sources.peek(saved.current) if saved.current else None
        if current is not None and current.status == "ok":
            self.make_current(current.alias)

    def _register_saved(self, source: Source) -> bool:
        """Register a restored source; False (status missing) when its file is not there."""
        now = signature_of(source.location)
        if now is None and not source.is_remote:
            source.status = "missing"
            return False
        if source.kind is SourceKind.SQLITE:
            source.pending = True
            source.status = "ok"
            source.signature = now
            return True
        try:
            self.engine.register(source, reuse_reader=now == source.signature)
        except NoctraError as exc:
            source.status = "missing"
            self.warnings.append(f"source {source.alias!r} could not be restored: {exc.message}")
            return True
        source.status = "ok"
        source.signature = now
        return True

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
                state.save(self.state_path, text)
            except OSError as exc:
                self.warnings.append(f"could not save the session to {self.state_path}: {exc.strerror}")
            self._saved = text

    # --- sources -------------------------------------------------------------------

    def engine_register(self, source: Source, *, replacing: Source | None, count_tables: bool = True) -> None:
        """Register a source; SQLite databases are checked now and attached when DuckDB needs them."""
        if source.kind is not SourceKind.SQLITE:
            self.engine.register(source, replacing=replacing)
            return
        check_sqlite_file(source)
        if source.options.get("create") and not os.path.exists(source.location):
            # A new database: SQLite creates the file when it is first opened.
            self.hybrid.open_new(source)
        if count_tables:
            # Opens it with sqlite3 too, which also catches a locked or broken database early.
            source.columns = len(self.hybrid.tables_of(source, fresh=True))
        source.pending = True
        if replacing is not None:
            self.engine.unregister(replacing)

    def activate(self, source: Source) -> None:
        """Attach a pending SQLite database in DuckDB (loads the sqlite extension once)."""
        if not source.pending:
            return
        self.engine.register(source)
        source.pending = False
        if self.sources.current is not None and self.sources.current.lower() == source.alias.lower():
            self.engine.use_catalog(source.alias)

    def make_current(self, alias: str | None) -> None:
        """Make a source current; a database becomes where new tables go."""
        self.sources.current = alias
        source = self.sources.peek(alias) if alias else None
        if source is not None and source.pending:
            return  # its catalog becomes DuckDB's default when it is attached
        self.engine.use_catalog(source.alias if source and source.kind.is_database else None)

    def _activate_named(self, words: set[str]) -> None:
        """Attach the pending databases a DuckDB statement names, and the current one."""
        current = self.sources.current.lower() if self.sources.current else None
        for source in self.sources:
            if source.pending and (source.alias.lower() in words or source.alias.lower() == current):
                self.activate(source)

    def refresh_sources(self) -> None:
        """Follow files that changed: CSVs are sniffed again, DuckDB copies are dropped.

        A source restored as missing becomes usable again when its file is back.
        """
        for source in self.sources:
            if source.status == "missing":
                self._register_saved(source)
                continue
            if source.kind.is_database or source.is_remote:
                continue
            if source.kind is not SourceKind.CSV and not self.hybrid.has_copy(source):
                continue  # Parquet/JSON views read the files as they are: nothing to redo
            now = signature_of(source.location)
            if now is None or now == source.signature:
                continue
            # CSV dialects are sniffed again; other views only lose their DuckDB copy.
            self.engine.register(source, reuse_reader=source.kind is not SourceKind.CSV)
            self.hybrid.invalidate(source)
            source.signature = now

    def database_tables(self, alias: str, *, skip_views: bool = False) -> list[tuple[object, ...]]:
        """(name, type, columns) of every table in an attached database."""
        self.sources.get(alias)  # attaches a pending database
        rows = self.engine.rows(
            "SELECT table_name, 'table', column_count FROM duckdb_tables() "
            "WHERE database_name = ? AND NOT internal "
            + (
                ""
                if skip_views
                else "UNION ALL SELECT view_name, 'view', column_count FROM duckdb_views() "
                "WHERE database_name = ? AND NOT internal "
            )
            + "ORDER BY 1",
            [alias] if skip_views else [alias, alias],
        )
        if skip_views:
            return rows
        return [r for r in rows if not (alias == "memory" and self.sources.peek(str(r[0])))]

    def _attach_on_the_fly(self, path: str) -> str | None:
        """``x.db::t``: the alias of x.db, registering it (not as current) if needed."""
        kind = kind_from_name(path)
        if kind is None or not kind.is_database:
            return None
        location = resolve_location(path, Path.cwd())
        known = self.sources.by_location(location)
        if known is not None:
            return known.alias
        alias = self.sources.free_alias(commands.default_alias(path))
        source = commands.build_source(self, path, alias, {})
        # Nobody sees a table count for ``x.db::t``; the statement itself opens the file.
        self.engine_register(source, replacing=None, count_tables=False)
        self.sources.add(source)
        return alias

    def _is_local_file(self, path: str) -> bool:
        kind = kind_from_name(path)
        return kind is not None and not kind.is_database and os.path.isfile(path)

    # --- control -------------------------------------------------------------------

    def cancel(self) -> None:
        """Interrupt the running statement (from any thread); the session stays usable."""
        self.engine.cancel()

    def progress(self) -> float | None:
        """Progress of the running statement in [0, 1], when the engine knows it."""
        return self.engine.progress()

    def enable_progress(self) -> None:
        """Ask the engine to track progress (front ends that show a bar call this once)."""
        self.engine.enable_progress()

    def close(self) -> None:
        self.hybrid.close()
        self.engine.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _qualified_tables(tokens: list[Token], sources: dict[str, Source]) -> list[tuple[Source, str]]:
    """(source, table) for each ``alias.table`` naming one of sources."""
    words = [t for t in tokens if t.kind not in (Kind.SPACE, Kind.COMMENT)]
    found: list[tuple[Source, str]] = []
    for first, dot, second in zip(words, words[1:], words[2:], strict=False):
        if (
            dot.text == "."
            and first.kind in (Kind.WORD, Kind.QIDENT)
            and second.kind in (Kind.WORD, Kind.QIDENT)
        ):
            source = sources.get(identifier_text(first).lower())
            if source is not None:
                found.append((source, identifier_text(second)))
    return found


def _names_a_file(tokens: list[Token]) -> bool:
    """True when a string in the statement looks like a file path or URL (DuckDB reads those)."""
    for token in tokens:
        if token.kind is Kind.STRING and len(token.text) > 2:
            text = token.text[1:-1]
            if kind_from_name(text) is not None or "://" in text or "*" in text:
                return True
    return False


def _write_message(kind: str, count: int | None, engine: str) -> Message:
    verb = _VERBS.get(kind)
    if verb is None or count is None:
        return Message(kind.replace("_", " ").lower() + ": ok", engine=engine)
    return Message(f"{count:,} row{'s' if count != 1 else ''} {verb}", engine=engine)


def _count_rows(engine: DuckEngine, wrapped: str, params: Params) -> int:
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
    if exc.span is not None:
        return exc
    position = getattr(exc, "engine_position", None)
    if isinstance(exc, QueryError) and position is not None:
        line, shown, caret = position
        lines = statement.text.splitlines() or [""]
        column = 1
        if 1 <= line <= len(lines):
            snippet = shown.strip(". ")
            found = lines[line - 1].find(snippet) if snippet else -1
            offset = shown.find(snippet) if found >= 0 else 0
            column = (found + caret - offset + 1) if found >= 0 else caret + 1
        exc.span = statement.span_at(min(line, len(lines)), max(column, 1))
    else:
        exc.span = Span(statement.number, statement.line, statement.column)
    return exc
