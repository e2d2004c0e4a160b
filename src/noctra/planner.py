"""Statement -> Plan: parsed once, #vars interpolated once, routed, bound, in the engine's dialect.

Every road into an engine (a query in any output format, EXPORT, LET, DESCRIBE (query),
the Python API) runs a Plan, so each gets the same preparation: ``path::table`` and
file shorthands rewritten, changed files re-read, missing sources reported, the route
chosen (native SQLite or DuckDB, SPEC 4.3), hot copies used, parameters bound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from noctra import records
from noctra.engine.base import ATTACH_SQLITE, Engine, Params, ReadSet, TableRef
from noctra.engine.cache import absolute
from noctra.engine.hybrid import Hybrid, Route, is_file_name, route, table_references
from noctra.engine.sources import Source, SourceKind, SourceRegistry, is_remote, kind_from_name
from noctra.errors import LockedError, NoctraError, QueryError, RqlSyntaxError, SourceError
from noctra.quoting import quote_ident
from noctra.records import record
from noctra.rql import ast
from noctra.rql.interpolate import interpolate, named_parameters, span_in_original, unknown_parameter
from noctra.rql.lexer import Kind, Token, significant, tokenize
from noctra.rql.parser import identifier_text, parse, string_value
from noctra.rql.rewrite import replace_qualified_tables, rewrite_table_references
from noctra.rql.splitter import Statement

if TYPE_CHECKING:
    from noctra.engine.results import StoredLookup, StoredResults
    from noctra.lifecycle import SourceLifecycle
    from noctra.variables import Variable

# Statements that read rows and start like a plain query: run lazily, streamable.
_QUERY_STARTS = ("SELECT", "FROM", "VALUES", "TABLE", "WITH")
# Sources whose files a stored result can follow (lake tables keep their own logs).
_TRACKED_KINDS = (SourceKind.CSV, SourceKind.JSON, SourceKind.PARQUET, SourceKind.AVRO, SourceKind.EXCEL)


@record
class Plan:
    """One statement, ready for an engine."""

    statement: Statement  # as written: errors point into it
    command: ast.Command  # what it is; ast.Sql for SQL
    engine: str = "noctra"  # duckdb | sqlite | noctra (a command Noctra answers itself)
    sql: str = ""  # SQL in the dialect of the engine that runs it
    params: Params = None  # bound parameters
    kind: str = ""  # the engine's statement type (SELECT, INSERT, ...) for SQL
    route: Route | None = None  # for SQL: where it runs, the sources and SQLite tables it reads
    is_plain_query: bool = False  # a SELECT-like statement that can stream (COPY, Arrow)
    returning: bool = False  # a write with RETURNING
    stored: StoredLookup | None = None  # a stored result serves it, or its run is to be noted


class Planner:
    """Turns statements into Plans over one session's sources, variables and engine."""

    def __init__(
        self,
        engine: Engine,
        *,
        hybrid: Hybrid,
        sources: SourceRegistry,
        variables: Mapping[str, Variable],
        lifecycle: SourceLifecycle,
        engine_mode: Callable[[], str],
        results: StoredResults | None = None,
        result_context: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.hybrid = hybrid
        self.sources = sources
        self.variables = variables
        self.lifecycle = lifecycle
        self._engine_mode = engine_mode
        self._routes: dict[tuple[object, ...], Route] = {}
        self.results = results  # stored results of repeated queries; None when off
        # What else a result depends on (settings, sources, directory); None: store nothing now.
        self._result_context = result_context
        # Databases ``path::table`` registered while planning the statement that runs now.
        self._attached: list[Source] = []

    # --- statements -----------------------------------------------------------------

    def plan(self, statement: Statement, params: Params) -> Plan:
        """Parse a statement once; SQL is prepared for its engine, commands are parsed."""
        parsed = statement
        replaced: list[tuple[int, int, int, int]] = []
        if "#" in statement.text:
            # #vars in a command become literals before its arguments are read (USE #path).
            # SQL is interpolated again after routing, in the dialect of the engine that runs it.
            text = self._interpolate(statement.text, statement, sqlite=False, replaced=replaced)
            parsed = records.replace(statement, text=text)
        tokens = tokenize(parsed.text, statement=statement.number)
        try:
            command = parse(parsed, current_source=self.sources.current, tokens=tokens)
        except RqlSyntaxError as exc:
            if replaced and exc.span is not None:
                # Point at what the user wrote: the #name, not a spot inside its value.
                exc.span = span_in_original(statement, parsed.text, exc.span, replaced)
            raise
        if isinstance(command, ast.Sql):
            return self.plan_query(
                statement.text, params, statement, tokens=tokens if parsed is statement else None
            )
        return Plan(statement=parsed, command=command)

    def plan_query(
        self,
        text: str,
        params: Params,
        statement: Statement,
        *,
        engine: str | None = None,
        tokens: list[Token] | None = None,
    ) -> Plan:
        """Prepare SQL: rewrite, refresh, route (unless ``engine`` forces one), interpolate, bind.

        ``tokens`` are text's tokens when the caller lexed it already (reused unless rewritten).
        """
        # Quoted files' persistent copies are looked up only once no stored result answers.
        may_store = self.results is not None and self.engine is self.hybrid.duck
        sql = self.prepare(text, copies=not may_store)
        if tokens is None or sql != text:
            tokens = tokenize(sql)
        words = {identifier_text(t).lower() for t in tokens if t.kind in (Kind.WORD, Kind.QIDENT)}
        self._check_missing(sql, words)
        unheld = self._unheld_in_sqlite(tokens, params)
        decided = self._route(
            sql, tokens, words, self._engine_mode() if engine is None else "auto", unheld=unheld is not None
        )
        if engine is not None and decided.engine != engine:
            # EXPORT, LET and DESCRIBE (query) need the main engine; SQLite tables are read there.
            if ATTACH_SQLITE not in self.engine.capabilities:
                raise QueryError(
                    f"the {self.engine.name} engine cannot read SQLite tables for this statement",
                    hint="run it as a plain query, or SET engine = duckdb",
                )
            decided = Route(engine, sqlite_tables=decided.sqlite_tables, file_sources=decided.file_sources)
        command = ast.Sql(text, statement.span)
        if decided.engine == "sqlite":
            assert decided.sqlite_source is not None
            if unheld is not None:  # engine = sqlite (auto runs it in DuckDB, see _route)
                name, problem = unheld
                raise QueryError(
                    f"engine = sqlite cannot run this statement: {name} holds {problem}",
                    hint="SET engine = auto (or duckdb) runs it in DuckDB, which keeps the value",
                )
            sql = self._interpolate(sql, statement, sqlite=True)
            sql, bound = self._bind_sqlite(sql, params, statement)
            meaningful = significant(tokens)
            return Plan(
                statement=statement,
                command=command,
                engine="sqlite",
                sql=sql,
                params=bound,
                kind=meaningful[0].upper,
                route=decided,
                is_plain_query=_reads_only(meaningful),
            )
        sql = self._interpolate(sql, statement, sqlite=False)
        sql, bound = self.bind(sql, params, statement)
        kind = self.engine.statement_kind(sql)
        as_text = sql

        def with_copies() -> str:
            """The statement reading quoted files' persistent copies, where they have them."""
            if not self.lifecycle.copy_wanted:
                return as_text
            again = self._interpolate(self._rewrite(text, copies=True), statement, sqlite=False)
            return self.bind(again, params, statement)[0]

        stored: StoredLookup | None = None
        if kind == "SELECT" and self.engine is self.hybrid.duck:
            read: list[str] = []

            def reading() -> str:
                """What reads the files when no stored result answers: a read of each file
                source is counted (its copies made) as for any query, also when the result is
                stored from this run."""
                read.append(self._use_copies(with_copies(), decided))
                return read[0]

            stored = self._stored(sql, bound, decided, shown=text, runs=reading)
            # Copies of hot tables live in the router's engine (DuckDB): only its queries read
            # them (a write goes to the table itself).
            sql = (reading() if not read else read[0]) if stored is None else stored.sql
        else:
            sql = with_copies()
        meaningful = significant(tokens)
        first_token = meaningful[0]
        plain = kind == "SELECT" and (
            first_token.upper in _QUERY_STARTS or (first_token.kind is Kind.OP and first_token.text == "(")
        )
        return Plan(
            statement=statement,
            command=command,
            engine=self.engine.name,
            sql=sql,
            params=bound,
            kind=kind,
            route=decided,
            is_plain_query=plain,
            returning=any(t.is_word("RETURNING") for t in meaningful),
            stored=stored,
        )

    def prepare(self, text: str, *, copies: bool = True) -> str:
        """SQL as an engine gets it: shorthands rewritten, changed files re-read.

        ``copies=False`` reads quoted files as text (``lifecycle.copy_wanted`` keeps those that
        may have a persistent copy, checked, for a second rewrite).
        """
        self.lifecycle.copy_wanted.clear()
        rewritten = self._rewrite(text, copies=copies)
        self.lifecycle.refresh(text)
        return rewritten

    def _rewrite(self, text: str, *, copies: bool) -> str:
        lifecycle = self.lifecycle
        lifecycle.quoted_copies = copies
        try:
            return rewrite_table_references(
                text, self._attach_on_the_fly, lifecycle.is_local_file, lifecycle.check_queried_file
            )
        finally:
            lifecycle.quoted_copies = True

    def _attach_on_the_fly(self, path: str, table: str) -> str | None:
        """``x.db::t``: the database's alias; one registered now is noted (see take_attached)."""
        known = {source.alias.lower() for source in self.sources}
        alias = self.lifecycle.attach_on_the_fly(path, table)
        if alias is not None and alias.lower() not in known:
            source = self.sources.peek(alias)
            if source is not None:
                self._attached.append(source)
        return alias

    def take_attached(self) -> list[Source]:
        """The databases ``path::table`` registered since the last call (then forgotten).

        A statement that fails is undone with them: it leaves no source behind (SPEC 6).
        """
        attached, self._attached = self._attached, []
        return attached

    # --- #vars and :params ----------------------------------------------------------

    def _interpolate(
        self,
        sql: str,
        statement: Statement,
        *,
        sqlite: bool,
        replaced: list[tuple[int, int, int, int]] | None = None,
    ) -> str:
        """#name -> literals in the dialect of the engine that runs the statement.

        A ``#name`` that is a whole SELECT item keeps its name (in a command's query too: EXPORT).
        """
        if "#" not in sql:
            return sql
        literals = {
            key: (var.sqlite_literal if sqlite else var.literal) for key, var in self.variables.items()
        }
        try:
            return interpolate(sql, literals, statement=statement.number, sql=True, replaced=replaced)
        except RqlSyntaxError as exc:
            if exc.span is not None:
                exc.span = statement.span_at(exc.span.line, exc.span.column)
            raise

    def _unheld_in_sqlite(self, tokens: list[Token], params: Params) -> tuple[str, str] | None:
        """The first ``#name`` (or ``:name`` bound to a variable) whose value SQLite cannot hold
        (NaN, an integer past 2^63-1, a DECIMAL a double rounds), and why; None if there is none.
        Values given from Python (keyword arguments, --param) are checked the same way."""
        if isinstance(params, Mapping):
            for key, value in params.items():
                problem = _python_sqlite_problem(value)
                if problem is not None:
                    return f":{key}", problem
        elif params is not None:
            for index, value in enumerate(params, 1):
                problem = _python_sqlite_problem(value)
                if problem is not None:
                    return f"parameter {index}", problem
        if not self.variables:
            return None
        explicit = {str(k).lower() for k in params} if isinstance(params, Mapping) else set()
        for token in tokens:
            bound = token.kind is Kind.PARAM and token.text.startswith(":")
            if token.kind is not Kind.HASHVAR and not bound:
                continue
            name = token.text[1:].lower()
            variable = None if bound and name in explicit else self.variables.get(name)
            problem = variable.sqlite_problem if variable is not None else None
            if problem is not None:
                return token.text, problem
        return None

    def bind(self, text: str, params: Params, statement: Statement) -> tuple[str, Params]:
        """Turn ``:name`` into DuckDB parameters from params, else session variables."""
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
            if variable.text is None:
                return f"${name}"  # NULL: a typed CAST would need a type NULL does not have
            return f"CAST(${name} AS {variable.type})"

        sql, names = named_parameters(text, render, statement=statement.number)
        return (sql, values) if names else (text, None)

    def _bind_sqlite(self, sql: str, params: Params, statement: Statement) -> tuple[str, Params]:
        explicit = {str(k).lower(): v for k, v in params.items()} if isinstance(params, Mapping) else {}

        def render(name: str) -> str:
            if name not in explicit and name not in self.variables:
                raise unknown_parameter(name, [":" + k for k in self.variables], statement.span)
            return ":" + name

        sql, names = named_parameters(sql, render, statement=statement.number)
        if not names:
            return sql, params
        return sql, {n: explicit[n] if n in explicit else self.variables[n].sqlite_value for n in names}

    # --- routing (SPEC 4.3) ---------------------------------------------------------

    def _check_missing(self, sql: str, words: set[str]) -> None:
        """A statement that reads a source restored as missing gets an error saying so.

        A word equal to the alias is only a candidate: ``SELECT 42 AS x`` or a column named
        like the source does not read it, so the parser's table references decide (the
        word alone when neither parser can describe the statement).
        """
        missing = [s for s in self.sources if s.status == "missing" and s.alias.lower() in words]
        if not missing:
            return
        refs = self._table_refs(sql)
        named = (
            None
            if refs is None
            else {part.lower() for r in refs if not r.is_function for part in (r.catalog, r.db, r.name)}
        )
        for source in missing:
            if named is None or source.alias.lower() in named:
                failure = self.lifecycle.unreadable.get(source.alias.lower())
                if failure is not None:  # its file is there but does not read (any more)
                    raise SourceError(
                        f"source {source.alias!r} cannot be read: {failure.message}",
                        hint=failure.hint or f"fix {source.path}, or DETACH {source.alias}",
                    )
                raise SourceError(
                    f"source {source.alias!r} is missing: {source.path} is not there",
                    hint=f"put the file back (it is picked up again), or DETACH {source.alias}",
                )

    def _table_refs(self, sql: str, *, sqlglot: bool = True) -> list[TableRef] | None:
        """The tables a statement names: DuckDB's parser, else (unless ``sqlglot`` is False)
        sqlglot's; None if neither can."""
        parseable = interpolate(sql, {k: "NULL" for k in self.variables})
        parseable, _ = named_parameters(parseable, lambda name: "NULL")
        refs = self.engine.table_references(parseable)
        return table_references(parseable) if refs is None and sqlglot else refs

    def _route(
        self, sql: str, tokens: list[Token], words: set[str], mode: str, *, unheld: bool = False
    ) -> Route:
        """Where a statement runs: SQLite natively, or DuckDB.

        ``unheld``: it uses a variable whose value SQLite cannot hold, so auto picks DuckDB.
        """
        file_sources = [s for s in self.sources if not s.kind.is_database and s.alias.lower() in words]
        sqlite_sources = [s for s in self.sources if s.kind is SourceKind.SQLITE and s.status == "ok"]
        current = self.sources.peek(self.sources.current) if self.sources.current else None
        current_sqlite = current if current in sqlite_sources else None
        named = [s for s in sqlite_sources if s.alias.lower() in words]
        # Bare table names can only mean the current SQLite source: its tables are all we need.
        tables: dict[str, set[str]] = {}
        if current_sqlite is not None:
            tables[current_sqlite.alias] = self._sqlite_names(current_sqlite, sql)
        if (
            current_sqlite is not None
            and current_sqlite not in named
            and words & tables[current_sqlite.alias]
        ):
            named.append(current_sqlite)
        if not named:
            if mode == "sqlite":
                return _forced_sqlite(current_sqlite, file_sources, reads_files=_reads_a_file(tokens))
            if mode == "auto" and current_sqlite is not None and not file_sources and not self._parses(sql):
                # SQLite's own SQL that DuckDB cannot even parse (CREATE TABLE t(a): no column
                # types) with a SQLite database current: it can only mean that database (R9-I13).
                return Route("sqlite", sqlite_source=current_sqlite)
            # Names no SQLite table: DuckDB, without parsing (sqlglot is slow to load).
            return Route("duckdb", file_sources=file_sources)
        qualified = _qualified_tables(tokens, {s.alias.lower(): s for s in named})
        # Visibly more than one SQLite database's work: files, several databases, a quoted path,
        # or syntax only DuckDB has.
        needs_duckdb = (
            bool(file_sources)
            or len(named) > 1
            or unheld
            or _names_a_file(tokens)
            or _has_duckdb_syntax(tokens)
        )
        if mode == "duckdb" or (mode == "auto" and needs_duckdb):
            bare = self._bare_tables(sql, words, current_sqlite, tables)
            return Route(
                "duckdb", sqlite_tables=qualified + bare, file_sources=file_sources, bare_tables=bare
            )
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

    def _parses(self, sql: str) -> bool:
        """True when DuckDB's parser takes the statement."""
        try:
            self.hybrid.duck.statement_kind(sql)
        except NoctraError:
            return False
        return True

    def _bare_tables(
        self, sql: str, words: set[str], current: Source | None, tables: dict[str, set[str]]
    ) -> list[tuple[Source, str]]:
        """Tables of the current SQLite source a query names without its alias (``FROM t``).

        Only DuckDB's parser is asked (it describes queries, the statements that read copies
        and generated columns); a name that is also a file source's alias is that source.
        """
        names = tables.get(current.alias, set()) if current is not None else set()
        if current is None or not names & words:  # no word of the statement names one
            return []
        refs = self._table_refs(sql, sqlglot=False)
        if refs is None:
            return []
        files = {s.alias.lower() for s in self.sources if not s.kind.is_database}
        return [
            (current, ref.name)
            for ref in refs
            if not (ref.is_function or ref.catalog or ref.db)
            and ref.name.lower() in names
            and ref.name.lower() not in files
        ]

    def _sqlite_names(self, source: Source, sql: str) -> set[str]:
        """The current SQLite source's table names; none needed by a statement that names no
        table of it (``SELECT 7``, a file) while another program holds a lock on the file."""
        try:
            return self.hybrid.tables_of(source)
        except LockedError:
            refs = self._table_refs(sql)
            if refs is None or any(not is_file_name(r.name) and not r.is_function for r in refs):
                raise
            return set()

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
            return records.replace(cached)
        decided = route(self._table_refs(sql), list(self.sources), current, tables)
        if len(self._routes) >= 256:
            self._routes.pop(next(iter(self._routes)))
        self._routes[key] = decided
        return records.replace(decided)

    def _stored(
        self, sql: str, bound: Params, decided: Route, *, shown: str, runs: Callable[[], str]
    ) -> StoredLookup | None:
        """A stored result for a query over files (SPEC 4.5), when one may serve it.

        ``sql`` reads quoted files as text (the key and the files followed come from it);
        ``runs`` gives what runs when no stored result answers. Only queries that name files
        or file sources get this far (a quote or a source in the route), never ones with
        bound parameters or SQLite tables.
        """
        if self.results is None or bound or decided.sqlite_tables:
            return None
        if not decided.file_sources and "'" not in sql:
            return None
        context = self._result_context()
        if context is None:
            return None
        return self.results.lookup(sql, context, self._tracked_inputs, runs=runs, shown=shown)

    def _tracked_inputs(self, reads: ReadSet) -> list[str] | None:
        """The local files and globs a query reads; None when it reads anything else."""
        by_alias = {s.alias.lower(): s for s in self.sources}
        current = self.sources.peek(self.sources.current) if self.sources.current else None
        # Bare names could mean a table of the current database rather than a file source.
        bare_names_ok = current is None or not current.kind.is_database
        locations: list[str] = []
        for table in reads.tables:
            name = table.name.lower()
            if not table.catalog and not table.db:
                if name in reads.ctes:
                    if name in by_alias:
                        return None  # a WITH name that is also a source's: ambiguous
                    continue
                if is_file_name(table.name):
                    if is_remote(table.name) or kind_from_name(table.name) not in _TRACKED_KINDS:
                        return None
                    locations.append(absolute(table.name))  # FROM 'x.parquet'
                    continue
                if not bare_names_ok:
                    return None
            elif (table.catalog.lower() or "memory", table.db.lower() or "main") != ("memory", "main"):
                return None
            source = by_alias.get(name)
            if source is None or source.kind not in _TRACKED_KINDS or source.is_remote:
                return None
            locations.append(source.read_pattern or source.location)
        for path in reads.files:
            if is_remote(path):
                return None
            locations.append(absolute(path))
        return locations or None  # no file at all (SELECT DATE '2024-01-01'): nothing to store

    def _use_copies(self, sql: str, decided: Route) -> str:
        """Count reads of hot files and SQLite tables; point the statement at DuckDB copies."""
        for source in decided.file_sources:
            self.hybrid.file_read(source, source.reader)
        replacements: dict[tuple[str, str], str] = {}
        for source, table in decided.sqlite_tables:
            key = (source.alias.lower(), table.lower())
            if key in replacements:
                continue
            copy = self.hybrid.sqlite_table_for_duckdb(source, table)
            if copy is not None:
                replacements[key] = copy
        if not replacements:
            return sql
        bare: dict[str, str] = {}
        for source, table in decided.bare_tables:
            replacement = replacements.get((source.alias.lower(), table.lower()))
            if replacement is not None:
                bare.setdefault(table.lower(), replacement)
        return _with_tables(replace_qualified_tables(sql, replacements), bare)


def _with_tables(sql: str, tables: Mapping[str, str]) -> str:
    """A query whose bare table names read other SQL: a WITH of that name stands in for each.

    DuckDB finds a bare name through its search path, so no text can be swapped for it the
    way ``alias.table`` is; a WITH name comes first for every mention (subqueries too), and
    ``t.column`` still means its column. A query already starting with WITH gets them first
    in its list; one starting otherwise than SELECT, FROM, TABLE, VALUES or WITH is left as
    it is (DuckDB takes no WITH before a parenthesized query).
    """
    if not tables:
        return sql
    tokens = significant(tokenize(sql))
    first = tokens[0]
    if first.kind is not Kind.WORD or first.upper not in _QUERY_STARTS:
        return sql
    defined = ", ".join(f"{quote_ident(name)} AS (SELECT * FROM {read})" for name, read in tables.items())
    if first.upper != "WITH":
        return f"WITH {defined}\n{sql}"
    after = tokens[1] if len(tokens) > 1 and tokens[1].is_word("RECURSIVE") else first
    return f"{sql[: after.end]} {defined},{sql[after.end :]}"


# What a statement's main verb (after any WITH list) can be in SQLite.
_SQLITE_VERBS = frozenset({"SELECT", "VALUES", "INSERT", "UPDATE", "DELETE", "REPLACE"})


def _reads_only(tokens: list[Token]) -> bool:
    """True for a SQLite statement that only reads rows: a query, not a write (``WITH ...
    DELETE``, ``INSERT ... RETURNING``), so EXPORT, LET and DESCRIBE may run it as it is."""
    first = tokens[0]
    if first.kind is Kind.OP and first.text == "(":
        return True
    if first.upper != "WITH":
        return first.upper in _QUERY_STARTS
    depth = 0
    for token in tokens[1:]:
        if token.kind is Kind.OP and token.text in ("(", ")"):
            depth += 1 if token.text == "(" else -1
        elif depth == 0 and token.kind is Kind.WORD and token.upper in _SQLITE_VERBS:
            return token.upper in ("SELECT", "VALUES")
    return False


def _forced_sqlite(current: Source | None, file_sources: list[Source], *, reads_files: bool) -> Route:
    if current is None or file_sources or reads_files:
        reason = "files" if file_sources or reads_files else "a SQLite source, and none is current"
        raise QueryError(
            f"engine = sqlite cannot run this statement: it needs {reason}",
            hint="SET engine = auto lets Noctra choose, or USE a SQLite source first",
        )
    return Route("sqlite", sqlite_source=current)


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
    """True when a quoted path or URL stands where DuckDB reads or writes a file.

    That is a relation (``FROM 'x.csv'``, ``JOIN``, after a comma of a FROM list), a file
    reader's argument (``read_csv('x.csv')``), ``COPY ... TO 'x'`` or ``ATTACH 'x.db'``. A
    value that only looks like a file name (``LIKE '%.csv'``, ``VALUES ('a.csv')``) is text:
    it leaves the statement on SQLite, whose semantics (LIKE, integer division) it keeps.
    """
    meaningful = significant(tokens)
    in_from = [False]  # per parenthesis depth: inside a FROM clause
    before: Token | None = None
    call: Token | None = None  # the token before ``before``
    for token in meaningful:
        if token.kind is Kind.OP and token.text == "(":
            in_from.append(False)
        elif token.kind is Kind.OP and token.text == ")":
            if len(in_from) > 1:
                in_from.pop()
        elif token.kind is Kind.WORD:
            word = token.text.upper()
            if word in ("FROM", "JOIN"):
                in_from[-1] = True
            elif word in _FROM_ENDS:
                in_from[-1] = False
        elif (
            token.kind is Kind.STRING
            and _in_a_file_position(before, call, in_from[-1])
            and _looks_like_a_path(string_value(token.text))
        ):
            return True
        call, before = before, token
    return False


def _in_a_file_position(before: Token | None, call: Token | None, in_from: bool) -> bool:
    """After FROM/JOIN/TO/ATTACH, a comma of a FROM list, or a file reader's ``(``."""
    if before is None:
        return False
    if before.kind is Kind.WORD:
        return before.text.upper() in _PATH_AFTER
    if before.kind is not Kind.OP:
        return False
    if before.text == ",":
        return in_from
    return (
        before.text == "("
        and call is not None
        and call.kind is Kind.WORD
        and call.text.lower().startswith(_PATH_FUNCTIONS)
    )


def _looks_like_a_path(text: str) -> bool:
    return kind_from_name(text) is not None or "://" in text or "*" in text


# Words after which a quoted string is a file: a relation, COPY's target or source, ATTACH.
_PATH_AFTER = frozenset({"FROM", "JOIN", "TO", "ATTACH"})
# Words that end a FROM clause (a comma after them is no longer a join).
_FROM_ENDS = frozenset(
    {"WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "QUALIFY", "WINDOW", "UNION", "EXCEPT", "INTERSECT"}
    | {"SELECT", "SET", "VALUES", "RETURNING", "OFFSET"}
)
# Functions whose first argument is a path: DuckDB's readers and file listings.
_PATH_FUNCTIONS = ("read_", "parquet_", "glob", "sniff_csv", "delta_scan", "iceberg_", "sqlite_scan")


def _reads_a_file(tokens: list[Token]) -> bool:
    """True when FROM/JOIN reads a quoted file, or a file reader Noctra wrote for one (read_csv)."""
    meaningful = significant(tokens)
    for before, token in zip([None, *meaningful], meaningful, strict=False):
        if token.kind is Kind.WORD and token.text.lower().startswith(_FILE_READERS):
            return True
        after_from = before is not None and before.is_word("FROM", "JOIN")
        if token.kind is Kind.STRING and after_from and kind_from_name(string_value(token.text)) is not None:
            return True
    return False


# Table functions that read files (what FROM 'x.csv' becomes).
_FILE_READERS = ("read_csv", "read_json", "read_parquet", "read_xlsx", "read_avro", "parquet_scan")


# Syntax SQLite cannot parse: such a statement runs in DuckDB, with the database attached.
_DUCKDB_WORDS = frozenset({"PIVOT", "UNPIVOT", "PIVOT_WIDER", "PIVOT_LONGER", "LAMBDA"})


def _has_duckdb_syntax(tokens: list[Token]) -> bool:
    """True for PIVOT/UNPIVOT, ``lambda x: ...`` and ``::`` casts (SQLite has none of them)."""
    return any(
        (t.kind is Kind.WORD and t.upper in _DUCKDB_WORDS) or (t.kind is Kind.OP and t.text == "::")
        for t in tokens
    )


def has_top_level_order_by(sql: str) -> bool:
    """True when the outermost query has ORDER BY (its order must be kept)."""
    depth = 0
    tokens = significant(tokenize(sql))
    for index, token in enumerate(tokens):
        if token.kind is Kind.OP and token.text == "(":
            depth += 1
        elif token.kind is Kind.OP and token.text == ")":
            depth -= 1
        elif (
            depth == 0
            and token.is_word("ORDER")
            and index + 1 < len(tokens)
            and tokens[index + 1].is_word("BY")
        ):
            return True
    return False


def _python_sqlite_problem(value: object) -> str | None:
    """Why SQLite cannot take a Python parameter value as it is; None when it can.

    SQLite binds None, int (64-bit), float, str and bytes; Noctra adds decimals (as a double)
    and dates (as ISO text). NaN would be stored as NULL; anything else fails to bind.
    """
    import datetime as dt
    import decimal
    import math

    if value is None or isinstance(value, (bool, str, bytes, dt.date, dt.time)):
        return None
    if isinstance(value, int):
        return None if -(2**63) <= value < 2**63 else f"{value}, past SQLite's INTEGER range (64-bit signed)"
    if isinstance(value, float):
        return "NaN, which SQLite has no value for" if math.isnan(value) else None
    if isinstance(value, decimal.Decimal):
        if value.is_nan():
            return "NaN, which SQLite has no value for"
        if value.is_finite() and value != decimal.Decimal(repr(float(value))):
            return f"DECIMAL {value}, more digits than SQLite's REAL keeps"
        return None
    return f"a {type(value).__name__} value, which SQLite has no type for"
