"""Text rewrites before SQL reaches the engine: ``path::table`` and bare file names in FROM."""

from __future__ import annotations

from collections.abc import Callable

from noctra.errors import NoctraError
from noctra.quoting import quote_ident, quote_string
from noctra.rql.lexer import Kind, Token, tokenize
from noctra.rql.parser import identifier_text, string_value

_FROM_STARTERS = {"FROM", "JOIN"}
_FROM_ENDERS = {
    "WHERE",
    "GROUP",
    "ORDER",
    "LIMIT",
    "HAVING",
    "WINDOW",
    "QUALIFY",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "ON",
    "USING",
    "OFFSET",
    "RETURNING",
    "SET",
    "VALUES",
    "SELECT",
}
_PATH_PIECES = {".", "/", "-", "~", "*"}


def rewrite_table_references(
    text: str,
    attach_database: Callable[[str, str], str | None],
    file_exists: Callable[[str], bool],
    check_file: Callable[[str], str | None] = lambda path: None,
) -> str:
    """Rewrite ``FROM x.db::t`` to ``FROM alias.t`` and ``FROM data.csv`` to ``FROM 'data.csv'``.

    ``attach_database(path, table)`` returns the alias of the database at path (attaching
    it; it raises when the database lacks the table), or None when path is not a database.
    ``file_exists(path)`` says whether a bare dotted name in FROM is really a file;
    ``check_file(path)`` may raise for a quoted path in FROM that cannot be read (missing,
    empty), and may return the table-function call that should read it instead. Only
    FROM/JOIN positions are touched: elsewhere ``::`` stays DuckDB's cast operator.
    """
    if "::" not in text and "." not in text and "'" not in text:
        return text
    tokens = [t for t in tokenize(text) if t.kind is not Kind.COMMENT]
    edits: list[tuple[int, int, str]] = []
    depth = 0
    from_depths: list[int] = []
    expect_table = False
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.kind is Kind.SPACE:
            index += 1
            continue
        if token.kind is Kind.OP and token.text == "(":
            depth += 1
            expect_table = False
        elif token.kind is Kind.OP and token.text == ")":
            while from_depths and from_depths[-1] >= depth:
                from_depths.pop()
            depth -= 1
        elif token.kind is Kind.WORD and token.upper in _FROM_STARTERS:
            if not from_depths or from_depths[-1] != depth:
                from_depths.append(depth)
            expect_table = True
            index += 1
            continue
        elif token.kind is Kind.WORD and token.upper in _FROM_ENDERS:
            if from_depths and from_depths[-1] == depth:
                from_depths.pop()
        elif token.kind is Kind.OP and token.text == "," and from_depths and from_depths[-1] == depth:
            expect_table = True
            index += 1
            continue
        if expect_table:
            expect_table = False
            try:
                consumed = _table_reference(
                    tokens, index, attach_database, file_exists, edits, check_file=check_file
                )
                if not consumed and token.kind is Kind.STRING:
                    reader = check_file(string_value(token.text))
                    if reader is not None:
                        edits.append((token.start, token.end, reader))
            except NoctraError as exc:
                if exc.span is None and exc.token is None:
                    exc.token = token.text  # the error points at the path, not the statement's start
                raise
            if consumed:
                index = consumed
                continue
        index += 1
    return apply_edits(text, edits)


def apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Text with each (start, end) span replaced; spans are in order and do not overlap."""
    if not edits:
        return text
    out: list[str] = []
    last = 0
    for start, end, replacement in edits:
        out.append(text[last:start])
        out.append(replacement)
        last = end
    out.append(text[last:])
    return "".join(out)


def _table_reference(
    tokens: list[Token],
    index: int,
    attach_database: Callable[[str, str], str | None],
    file_exists: Callable[[str], bool],
    edits: list[tuple[int, int, str]],
    *,
    check_file: Callable[[str], str | None],
) -> int:
    """Rewrite one table reference starting at tokens[index]; the index after it, or 0.

    A bare file name (``FROM data.csv``) is read as its quoted form is (check_file).
    """
    first = tokens[index]
    end_index = index
    if first.kind is Kind.STRING:
        path = string_value(first.text)
    elif first.kind is Kind.WORD or (first.kind is Kind.OP and first.text in ("/", "~", ".")):
        # A bare path is a run of tokens with no space between them: data/x.db, ../a.csv
        while (
            end_index + 1 < len(tokens)
            and tokens[end_index + 1].start == tokens[end_index].end
            and (
                tokens[end_index + 1].kind in (Kind.WORD, Kind.NUMBER)
                or (tokens[end_index + 1].kind is Kind.OP and tokens[end_index + 1].text in _PATH_PIECES)
            )
        ):
            end_index += 1
        path = "".join(t.text for t in tokens[index : end_index + 1])
    else:
        return 0
    after = tokens[end_index + 1] if end_index + 1 < len(tokens) else None
    if after is not None and after.kind is Kind.OP and after.text == "::" and end_index + 2 < len(tokens):
        table = tokens[end_index + 2]
        if table.kind in (Kind.WORD, Kind.QIDENT):
            alias = attach_database(path, identifier_text(table))
            if alias is not None:
                edits.append((first.start, table.end, f"{quote_ident(alias)}.{table.text}"))
                return end_index + 3
        return 0
    if first.kind is Kind.WORD and end_index > index and "." in path and file_exists(path):
        edits.append((first.start, tokens[end_index].end, check_file(path) or quote_string(path)))
        return end_index + 1
    return 0


def replace_qualified_tables(text: str, replacements: dict[tuple[str, str], str]) -> str:
    """Replace ``alias.table`` (lower-cased keys) by other SQL names, outside strings and comments.

    Where a statement writes (INSERT INTO, UPDATE, DELETE FROM, TRUNCATE, ... TABLE) the
    table itself stays: only what is read may come from elsewhere.
    """
    tokens = [t for t in tokenize(text) if t.kind not in (Kind.SPACE, Kind.COMMENT)]
    edits: list[tuple[int, int, str]] = []
    for index in range(len(tokens) - 2):
        first, dot, second = tokens[index : index + 3]
        if not (
            dot.kind is Kind.OP and dot.text == "." and first.end == dot.start and dot.end == second.start
        ):
            continue
        if first.kind not in (Kind.WORD, Kind.QIDENT) or second.kind not in (Kind.WORD, Kind.QIDENT):
            continue
        if index > 0 and tokens[index - 1].kind is Kind.OP and tokens[index - 1].text == ".":
            continue
        if _is_written(tokens, index):
            continue
        key = (identifier_text(first).lower(), identifier_text(second).lower())
        if key not in replacements:
            continue
        after = tokens[index + 3] if index + 3 < len(tokens) else None
        table = quote_ident(identifier_text(second))
        if after is not None and after.kind is Kind.OP and after.text == "." and after.start == second.end:
            # alias.table.column: the column of the table, now named by its bare name.
            edits.append((first.start, second.end, table))
            continue
        replacement = replacements[key]
        if not _is_alias(after):
            # Keep the table's own name usable as a qualifier (orders.id) once it reads a copy.
            replacement += f" AS {table}"
        edits.append((first.start, second.end, replacement))
    return apply_edits(text, edits)


# Words after a table name that are not an alias for it.
_NOT_ALIASES = _FROM_ENDERS | {
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "CROSS",
    "NATURAL",
    "POSITIONAL",
    "ASOF",
    "ANTI",
    "SEMI",
    "LATERAL",
    "OUTER",
    "TABLESAMPLE",
    "USING",
    "PIVOT",
    "UNPIVOT",
    "FETCH",
    "FOR",
    "WITH",
}


_WRITE_TARGETS = {"INTO", "UPDATE", "TABLE", "TRUNCATE"}


def _is_written(tokens: list[Token], index: int) -> bool:
    """True when the table name at tokens[index] is what the statement writes to."""
    before = tokens[index - 1] if index > 0 else None
    if before is None or before.kind is not Kind.WORD:
        return False
    if before.upper in _WRITE_TARGETS:
        return True
    return before.upper == "FROM" and index > 1 and tokens[index - 2].is_word("DELETE")


def _is_alias(token: Token | None) -> bool:
    """True when the token after a table name starts an alias (AS x, or a bare name)."""
    if token is None:
        return False
    if token.kind is Kind.QIDENT:
        return True
    return token.kind is Kind.WORD and token.upper not in _NOT_ALIASES
