"""Completion that knows the session: what to offer at the cursor, from a cached catalog.

``candidates()`` is a plain function over the text before the cursor, so it is tested
without a terminal; ``Completer`` adapts it to prompt_toolkit. The catalog is read
through ``Session.catalog()`` once and kept until a statement changes it (USE, DETACH,
DDL): typing never runs a query and never attaches anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

from prompt_toolkit.completion import CompleteEvent, Completion
from prompt_toolkit.completion import Completer as _PtCompleter
from prompt_toolkit.document import Document

from noctra.errors import BusyError, NoctraError
from noctra.records import record
from noctra.rql.lexer import Kind, Token, tokenize

if TYPE_CHECKING:
    from noctra.catalog import Catalog, Column, SourceEntry, TableInfo
    from noctra.session import Session

KEYWORDS = (
    "SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "LIMIT", "OFFSET", "JOIN", "LEFT",
    "RIGHT", "FULL", "INNER", "OUTER", "CROSS", "ON", "USING", "AS", "AND", "OR", "NOT", "IN", "IS",
    "NULL", "LIKE", "ILIKE", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE", "END", "DISTINCT", "ALL",
    "UNION", "INTERSECT", "EXCEPT", "WITH", "RECURSIVE", "INSERT", "INTO", "VALUES", "UPDATE", "SET",
    "DELETE", "CREATE", "TABLE", "VIEW", "DROP", "ALTER", "REPLACE", "IF", "EXISTS", "ASC", "DESC",
    "NULLS", "FIRST", "LAST", "OVER", "PARTITION", "WINDOW", "QUALIFY", "PIVOT", "UNPIVOT", "EXPLAIN",
    "ANALYZE", "TRUE", "FALSE", "CAST", "TRY_CAST", "INTERVAL", "DATE", "TIMESTAMP", "RETURNING",
    "SUMMARIZE", "FILTER", "ASOF", "POSITIONAL", "SEMI", "ANTI", "LATERAL", "SAMPLE"
)  # fmt: skip
RQL_COMMANDS = (
    "USE", "DETACH", "UNUSE", "SHOW", "SOURCES", "TABLES", "VARS", "CONFIG", "DESCRIBE", "LET", "UNSET",
    "EXPORT", "TO", "FORMAT", "OPTIONS", "RESET",
)  # fmt: skip
TYPES = (
    "INTEGER", "BIGINT", "DOUBLE", "DECIMAL", "VARCHAR", "BOOLEAN", "DATE", "TIMESTAMP", "TIMESTAMPTZ",
    "INTERVAL", "BLOB", "JSON",
)  # fmt: skip
# After these words the next name is a relation (a source, a table) or, for USE/DETACH, an alias.
_RELATION_WORDS = {"FROM", "JOIN", "INTO", "UPDATE", "TABLE", "DESCRIBE", "EXPORT", "SUMMARIZE"}
_ALIAS_WORDS = {"USE", "DETACH", "UNUSE"}
# A quote after these words holds a path.
_PATH_WORDS = {"USE", "FROM", "JOIN", "TO", "DESCRIBE", "IMPORT", "SUMMARIZE"}
_WORD_AT_END = re.compile(r"[#:]?[\w$]*(?:\.[\w$]*)*$")
_SIMPLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
T = TypeVar("T")


@record(frozen=True)
class Candidate:
    """One completion: the text to insert, where it starts (<= 0, from the cursor), what it is."""

    text: str
    start: int
    kind: str
    display: str = ""


class CatalogCache:
    """What completion knows about a session, read on first need and kept until invalidated."""

    def __init__(self, session: Session, *, wait: bool = True) -> None:
        """``wait=False`` (the TUI's own thread): while a statement runs, offer what is known."""
        self._session = session
        self._wait = wait
        self._functions: list[str] | None = None
        self.invalidate()

    def _catalog(self) -> Catalog:
        return self._session.catalog(wait=self._wait)

    def invalidate(self) -> None:
        """Forget sources, tables and columns (after USE, DETACH or DDL)."""
        self._sources: list[SourceEntry] | None = None
        self._tables: dict[str, list[TableInfo]] = {}
        self._columns: dict[tuple[str, str | None], list[Column]] = {}
        self._own: list[TableInfo] | None = None
        self._own_columns: dict[str, list[Column]] = {}

    def sources(self) -> list[SourceEntry]:
        if self._sources is None:
            self._sources = _quietly(lambda: self._catalog().sources())
        return self._sources or []

    def source(self, alias: str) -> SourceEntry | None:
        return next((s for s in self.sources() if s.alias.lower() == alias.lower()), None)

    def tables(self, alias: str) -> list[TableInfo]:
        key = alias.lower()
        if key not in self._tables:
            found = _quietly(lambda: self._catalog().tables(alias))
            if found is None:
                return []
            self._tables[key] = found
        return self._tables[key]

    def columns(self, alias: str, table: str | None = None) -> list[Column]:
        key = (alias.lower(), None if table is None else table.lower())
        if key not in self._columns:
            found = _quietly(lambda: self._catalog().columns(alias, table))
            if found is None:
                return []
            self._columns[key] = found
        return self._columns[key]

    def own_tables(self) -> list[TableInfo]:
        if self._own is None:
            self._own = _quietly(lambda: self._catalog().own_tables())
        return self._own or []

    def own_columns(self, table: str) -> list[Column]:
        key = table.lower()
        if key not in self._own_columns:
            found = _quietly(lambda: self._catalog().own_columns(table))
            if found is None:
                return []
            self._own_columns[key] = found
        return self._own_columns[key]

    def functions(self) -> list[str]:
        """The engine's function names: read once per REPL, they never change."""
        if self._functions is None:
            self._functions = _quietly(lambda: self._catalog().functions())
        return self._functions or []

    def variables(self) -> list[tuple[str, str]]:
        """(name, type) of the session's variables: read from the session, no query."""
        return [(v.name, v.type) for v in self._session.variables.values()]

    def option_names(self, path: str | None, *, export: bool) -> dict[str, str]:
        try:
            return self._catalog().option_names(path, export=export)
        except NoctraError:
            return {}

    def file_kind(self, name: str) -> str | None:
        return self._catalog().file_kind(name)


def _quietly(read: Callable[[], list[T]]) -> list[T] | None:
    """Completion never fails: a catalog read that raises offers nothing. None: a statement
    is running in another thread, so nothing is known yet (asked again next time)."""
    try:
        return read()
    except BusyError:
        return None
    except (NoctraError, OSError):
        return []


def candidates(
    before: str, cache: CatalogCache, *, statement: str = "", requested: bool = False
) -> list[Candidate]:
    """What to offer for the text before the cursor.

    ``statement`` is the whole input (text after the cursor too: a FROM typed later
    still tells which columns are in scope); ``requested`` is True for Tab, False
    while typing (then an empty word offers only relations and names, not every keyword).
    """
    statement = statement or before
    stripped = before.lstrip()
    if stripped.startswith(".") and "\n" not in stripped:
        from noctra.repl.dotcommands import complete_dot_command

        return complete_dot_command(stripped, cache)
    try:
        tokens = tokenize(before)
    except NoctraError:
        return _in_quote(before, cache)
    code = [t for t in tokens if t.kind not in (Kind.SPACE, Kind.COMMENT)]
    if tokens and tokens[-1].kind in (Kind.COMMENT, Kind.STRING, Kind.QIDENT, Kind.DOLLAR):
        return []  # the cursor right after a closed quote or in a -- comment
    word = _WORD_AT_END.search(before)
    typed = word.group(0) if word else ""
    if typed[:1].isdigit():
        return []  # a number
    if typed.startswith(":") and before[: len(before) - len(typed)].endswith(":"):
        return _match(typed[1:], [(t, "type") for t in TYPES], keyword=True)  # x::TYPE, a cast
    previous = [t for t in code if t.end <= len(before) - len(typed)]
    if typed.startswith("#"):
        return _match(typed, [("#" + name, f"variable {kind}") for name, kind in cache.variables()])
    if typed.startswith(":"):
        return _match(typed, [(":" + name, f"variable {kind}") for name, kind in cache.variables()])
    if "." in typed:
        qualifier, _, partial = typed.rpartition(".")
        return [
            Candidate(c.text, -len(partial), c.kind, c.display)
            for c in _match(partial, _after_dot(qualifier, statement, cache))
        ]
    options = _option_context(previous, cache)
    if options is not None:
        return _match(typed, options)
    last = previous[-1].upper if previous else ""
    if last in _ALIAS_WORDS or (last == "FROM" and _words(previous[-3:-1]) == ["SHOW", "TABLES"]):
        return _match(typed, [(_name(s.alias), f"source {s.kind}") for s in cache.sources()])
    if last in _RELATION_WORDS or (last == "," and _in_from_clause(previous)):
        return _match(typed, _relations(cache))
    if not typed and not requested:
        return []
    names: list[tuple[str, str]] = []
    for table, columns in _columns_in_scope(statement, cache):
        names.extend((_name(c.name), f"column {c.type}" + (f" ({table})" if table else "")) for c in columns)
    names.extend(_relations(cache))
    names.extend((k, "keyword") for k in [*RQL_COMMANDS, *KEYWORDS])
    names.extend((f, "function") for f in cache.functions())
    return _match(typed, names, keyword=True)


def _words(tokens: list[Token]) -> list[str]:
    return [t.upper for t in tokens]


def _name(name: str) -> str:
    """A name as it must be written in SQL: quoted unless it is a plain identifier."""
    if _SIMPLE_NAME.fullmatch(name):
        return name
    return '"' + name.replace('"', '""') + '"'


def _table_name(table: TableInfo) -> str:
    return _name(table.name) if table.schema in ("main", "") else f"{_name(table.schema)}.{_name(table.name)}"


def _relations(cache: CatalogCache) -> list[tuple[str, str]]:
    """Sources, the tables of database sources (alias.table) and the session's own tables."""
    found: list[tuple[str, str]] = []
    for source in cache.sources():
        if source.is_database:
            found.append((_name(source.alias), f"source {source.kind}"))
            found.extend(
                (f"{_name(source.alias)}.{_table_name(t)}", t.type.lower())
                for t in cache.tables(source.alias)
            )
        else:
            found.append((_name(source.alias), f"table ({source.kind})"))
    found.extend((_table_name(t), "table") for t in cache.own_tables())
    return found


def _after_dot(qualifier: str, statement: str, cache: CatalogCache) -> list[tuple[str, str]]:
    """After ``alias.``: a database's tables (a workbook's sheets), or the columns of what it names."""
    parts = [p.strip('"') for p in qualifier.split(".")]
    source = cache.source(parts[0])
    if source is not None and len(parts) == 1:
        if source.is_database:
            return [(_table_name(t), t.type.lower()) for t in cache.tables(source.alias)]
        columns = [(_name(c.name), f"column {c.type}") for c in cache.columns(source.alias)]
        if source.kind == "Excel":
            return [*columns, *((_name(t.name), "sheet") for t in cache.tables(source.alias))]
        return columns
    if source is not None and (source.is_database or source.kind == "Excel") and len(parts) == 2:
        return [(_name(c.name), f"column {c.type}") for c in cache.columns(source.alias, parts[1])]
    aliases = _table_aliases(statement)
    target = aliases.get(qualifier.lower())
    if target is not None:
        return [(_name(c.name), f"column {c.type}") for c in _columns_of(target, cache)]
    return [(_name(c.name), f"column {c.type}") for c in _columns_of(qualifier, cache)]


def _columns_of(name: str, cache: CatalogCache) -> list[Column]:
    """Columns of a relation named as in SQL: alias, alias.table, a session table or a current db's table."""
    parts = [p.strip('"') for p in name.split(".")]
    source = cache.source(parts[0])
    if source is not None:
        if len(parts) == 1 and not source.is_database:
            return cache.columns(source.alias)
        if len(parts) == 2 and (source.is_database or source.kind == "Excel"):
            return cache.columns(source.alias, parts[1])
        if len(parts) != 1:
            return []
        # A database's bare alias in FROM is one of its tables (customers.db's customers).
    if len(parts) != 1:
        return []
    if any(t.name.lower() == parts[0].lower() for t in cache.own_tables()):
        return cache.own_columns(parts[0])
    current = next((s for s in cache.sources() if s.is_current and s.is_database), None)
    if current is not None and any(t.name.lower() == parts[0].lower() for t in cache.tables(current.alias)):
        return cache.columns(current.alias, parts[0])
    return []


def _table_aliases(statement: str) -> dict[str, str]:
    """``FROM sales s JOIN crm.customers AS c`` -> {'sales': 'sales', 's': 'sales', 'c': 'crm.customers'}."""
    try:
        tokens = [t for t in tokenize(statement) if t.kind not in (Kind.SPACE, Kind.COMMENT)]
    except NoctraError:
        return {}
    found: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        if not (tokens[i].is_word("FROM", "JOIN") or (tokens[i].text == "," and _in_from_clause(tokens[:i]))):
            i += 1
            continue
        i += 1
        name: list[str] = []
        while i < len(tokens) and tokens[i].kind in (Kind.WORD, Kind.QIDENT):
            name.append(tokens[i].text)
            if i + 1 < len(tokens) and tokens[i + 1].text == ".":
                i += 2
                continue
            i += 1
            break
        if not name:
            continue
        relation = ".".join(name)
        found.setdefault(relation.lower(), relation)
        if i < len(tokens) and tokens[i].is_word("AS"):
            i += 1
        if i < len(tokens) and tokens[i].kind is Kind.WORD and tokens[i].upper not in _CLAUSE_WORDS:
            found[tokens[i].text.lower()] = relation
    return found


_CLAUSE_WORDS = {
    "WHERE", "GROUP", "ORDER", "LIMIT", "JOIN", "LEFT", "RIGHT", "FULL", "INNER", "CROSS", "ON",
    "USING", "HAVING", "UNION", "WINDOW", "QUALIFY", "NATURAL", "POSITIONAL", "ASOF", "SEMI", "ANTI",
    "OFFSET", "EXCEPT", "INTERSECT", "SAMPLE",
}  # fmt: skip


def _in_from_clause(previous: list[Token]) -> bool:
    """True when the last clause keyword before the cursor is FROM (``FROM a, |``)."""
    for token in reversed(previous):
        if token.kind is Kind.WORD and token.upper in {"FROM", "SELECT", "WHERE", "GROUP", "ORDER", "SET"}:
            return token.upper == "FROM"
    return False


def _columns_in_scope(statement: str, cache: CatalogCache) -> Iterator[tuple[str, list[Column]]]:
    relations = dict.fromkeys(_table_aliases(statement).values())
    for relation in relations:
        yield relation, _columns_of(relation, cache)


def _option_context(previous: list[Token], cache: CatalogCache) -> list[tuple[str, str]] | None:
    """Inside ``OPTIONS (`` where a name goes: the options of that USE or EXPORT, else None."""
    if not previous or previous[-1].text not in ("(", ","):
        return None
    depth = 0
    for index in range(len(previous) - 1, -1, -1):
        text = previous[index].text
        if text == ")":
            depth += 1
        elif text == "(":
            if depth == 0:
                if index == 0 or not previous[index - 1].is_word("OPTIONS"):
                    return None
                strings = [t.text[1:-1].replace("''", "'") for t in previous if t.kind is Kind.STRING]
                export = previous[0].is_word("EXPORT")
                path = strings[-1] if strings else None
                options = cache.option_names(path, export=export)
                return [(name, f"option: {what}") for name, what in options.items()]
            depth -= 1
    return None


def _in_quote(before: str, cache: CatalogCache) -> list[Candidate]:
    """The cursor inside an open '...': a path after USE, FROM, JOIN, TO or DESCRIBE."""
    try:
        tokens = tokenize(before + "'")
    except NoctraError:
        return []
    if not tokens or tokens[-1].kind is not Kind.STRING or not tokens[-1].text.startswith("'"):
        return []
    code = [t for t in tokens[:-1] if t.kind not in (Kind.SPACE, Kind.COMMENT)]
    if not code or code[-1].upper not in _PATH_WORDS:
        return []
    typed = tokens[-1].text[1:-1].replace("''", "'")
    return [
        Candidate(c.text.replace("'", "''"), c.start - typed.count("'"), c.kind, c.display)
        for c in path_candidates(typed, cache)
    ]


def path_candidates(typed: str, cache: CatalogCache) -> list[Candidate]:
    """Files and directories that complete a path (``~`` expanded); directories end in ``/``."""
    directory, _, partial = typed.rpartition("/")
    if "/" in typed:
        directory += "/"
    where = os.path.expanduser(directory) if directory else "."
    try:
        entries = sorted(os.scandir(where), key=lambda e: (not e.is_dir(), e.name.lower()))
    except OSError:
        return []
    found: list[Candidate] = []
    hidden = partial.startswith(".")
    for entry in entries:
        if entry.name.startswith(".") and not hidden:
            continue
        if not entry.name.lower().startswith(partial.lower()):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        kind = "directory" if is_dir else f"file {cache.file_kind(entry.name) or ''}".rstrip()
        name = entry.name + ("/" if is_dir else "")
        found.append(Candidate(name, -len(partial), kind, name))
    return found


def _match(typed: str, names: Iterable[tuple[str, str]], *, keyword: bool = False) -> list[Candidate]:
    """Prefix matches first, then fuzzy ones (3+ typed letters, in order); case-insensitive.

    Keywords follow the case of what was typed (``sel`` -> ``select``).
    """
    wanted = typed.lower()
    prefix: list[Candidate] = []
    fuzzy: list[Candidate] = []
    seen: set[str] = set()
    lower_keywords = keyword and typed != "" and typed == typed.lower()
    for name, kind in names:
        text = name.lower() if kind in ("keyword", "type") and lower_keywords else name
        key = text.lower()
        if key in seen or key == wanted:
            continue
        # A name that must be quoted ("my data") is found by its letters too: my<Tab>.
        if key.startswith(wanted) or (key.startswith('"') and wanted and key[1:].startswith(wanted)):
            prefix.append(Candidate(text, -len(typed), kind))
        elif len(wanted) >= 3 and _is_subsequence(wanted, key):
            fuzzy.append(Candidate(text, -len(typed), kind))
        else:
            continue
        seen.add(key)
    return prefix + fuzzy


def _is_subsequence(wanted: str, text: str) -> bool:
    letters = iter(text)
    return all(char in letters for char in wanted)


class Completer(_PtCompleter):
    """prompt_toolkit's side of ``candidates()``: each with what it is beside it."""

    def __init__(self, cache: CatalogCache) -> None:
        self.cache = cache

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        found = candidates(
            document.text_before_cursor,
            self.cache,
            statement=document.text,
            requested=complete_event.completion_requested,
        )
        for candidate in found[:200]:
            yield Completion(
                candidate.text,
                start_position=candidate.start,
                display=candidate.display or candidate.text,
                display_meta=candidate.kind,
            )
