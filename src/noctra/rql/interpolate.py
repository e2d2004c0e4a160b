"""``#name`` -> a typed SQL literal; ``:name`` -> a bound parameter. Pure text work."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from noctra.errors import RqlSyntaxError, Span
from noctra.rql.lexer import Kind, Token, line_starts_of, tokenize

if TYPE_CHECKING:
    from noctra.rql.splitter import Statement


# Names a "defined variables" hint lists; the rest are counted (SHOW VARS lists them all).
_LISTED = 8


def defined_names(name: str, known: Sequence[str]) -> str:
    """The hint's list of what is defined: the names close to ``name`` first, at most a few.

    ``known`` are spelled as the user sees them (``#total``, ``:total`` or ``total``).
    """
    if not known:
        return "defined variables: none defined"
    import difflib

    lowered = {k.lower(): k for k in known}
    close = [lowered[k] for k in difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)]
    ordered = close + sorted(k for k in known if k not in close)
    listed = ", ".join(ordered[:_LISTED])
    more = len(ordered) - _LISTED
    if more > 0:
        listed += f" and {more} more (SHOW VARS lists them)"
    guess = f"did you mean {close[0]}? " if close else ""
    return f"{guess}defined variables: {listed}"


def _unknown(kind: str, name: str, known: list[str], span: Span | None, how: str) -> RqlSyntaxError:
    return RqlSyntaxError(f"unknown {kind} {name!r}", hint=f"{defined_names(name, known)}; {how}", span=span)


def interpolate(
    text: str,
    literals: Mapping[str, str],
    *,
    statement: int = 1,
    sql: bool = False,
    replaced: list[tuple[int, int, int, int]] | None = None,
) -> str:
    """Replace every ``#name`` outside strings, identifiers and comments by its literal.

    ``literals`` maps lower-cased variable names to SQL literal text. In ``sql``, a ``#name``
    that is a whole item of a SELECT list is named after itself (``SELECT #x`` shows a column
    ``#x``, not DuckDB's text of the literal, ``CAST('3.5' AS DECIMAL(2, 1))``).
    ``replaced`` collects (start, end) of each ``#name`` and of what replaced it (original_offset).
    """
    if "#" not in text:
        return text
    out: list[str] = []
    last = written = 0  # offsets in text, and in what is written
    tokens = tokenize(text, statement=statement)
    named = _select_items(tokens) if sql else set()
    for token in tokens:
        if token.kind is not Kind.HASHVAR:
            continue
        name = token.text[1:]
        literal = literals.get(name.lower())
        if literal is None:
            raise _unknown(
                "variable",
                "#" + name,
                ["#" + k for k in literals],
                Span(statement, token.line, token.column),
                f"define it with LET {name} = ...",
            )
        if token.start in named:
            literal += ' AS "' + token.text.replace('"', '""') + '"'
        out.append(text[last : token.start])
        written += token.start - last
        out.append(literal)
        if replaced is not None:
            replaced.append((token.start, token.end, written, written + len(literal)))
        written += len(literal)
        last = token.end
    out.append(text[last:])
    return "".join(out)


def original_offset(offset: int, replaced: list[tuple[int, int, int, int]]) -> int:
    """Where an offset in interpolated text was in the user's: a literal's points at its ``#name``."""
    shift = 0
    for start, end, new_start, new_end in replaced:
        if offset < new_start:
            break
        if offset < new_end:
            return start
        shift = end - new_end
    return offset + shift


def span_in_original(
    statement: Statement, interpolated: str, span: Span, replaced: list[tuple[int, int, int, int]]
) -> Span:
    """A span the parser found in a statement's interpolated text, moved to what the user wrote."""
    if span.statement != statement.number or not replaced:
        return span
    line = span.line - statement.line + 1
    column = span.column - (statement.column - 1 if line == 1 else 0)
    starts = line_starts_of(interpolated)
    if not 1 <= line <= len(starts):
        return span
    offset = original_offset(starts[line - 1] + column - 1, replaced)
    original = line_starts_of(statement.text)
    index = bisect.bisect_right(original, offset) - 1
    return statement.span_at(index + 1, offset - original[index] + 1)


# What may follow a whole SELECT item: the next item, the end of the list or of the statement.
_ITEM_ENDS = frozenset(
    {"FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "QUALIFY", "WINDOW", "UNION"}
    | {"EXCEPT", "INTERSECT", "INTO"}
)
# Words that start a clause: a #name is a SELECT list's item only while SELECT is the last one.
_CLAUSES = _ITEM_ENDS | {
    "SELECT",
    "VALUES",
    "SET",
    "ON",
    "USING",
    "RETURNING",
    "JOIN",
    "BY",
    "PIVOT",
    "UNPIVOT",
}


def _select_items(tokens: list[Token]) -> set[int]:
    """Offsets of the ``#name`` tokens that are a whole SELECT list item with no alias."""
    meaningful = [t for t in tokens if t.kind not in (Kind.SPACE, Kind.COMMENT)]
    clause: list[str | None] = [None]  # the last clause word, per parenthesis depth
    found: set[int] = set()
    for index, token in enumerate(meaningful):
        if token.kind is Kind.OP and token.text == "(":
            clause.append(None)
        elif token.kind is Kind.OP and token.text == ")":
            if len(clause) > 1:
                clause.pop()
        elif token.kind is Kind.SEMI:
            clause = [None]
        elif token.kind is Kind.WORD and token.upper in _CLAUSES:
            clause[-1] = token.upper
        elif token.kind is Kind.HASHVAR and clause[-1] == "SELECT" and index > 0:
            before = meaningful[index - 1]
            after = meaningful[index + 1] if index + 1 < len(meaningful) else None
            starts = before.is_word("SELECT", "DISTINCT", "ALL") or (
                before.kind is Kind.OP and before.text == ","
            )
            ends = (
                after is None
                or after.kind is Kind.SEMI
                or (after.kind is Kind.OP and after.text in (",", ")"))
                or after.is_word(*_ITEM_ENDS)
            )
            if starts and ends:
                found.add(token.start)
    return found


def named_parameters(
    text: str, render: Callable[[str], str] = lambda name: "$" + name, *, statement: int = 1
) -> tuple[str, list[str]]:
    """Rewrite each ``:name`` with render(name) (DuckDB's ``$name`` by default).

    Returns the text and the lower-cased names in order; ``$1``-style positional
    parameters are left alone.
    """
    if ":" not in text:
        return text, []
    out: list[str] = []
    names: list[str] = []
    last = 0
    for token in tokenize(text, statement=statement):
        if token.kind is Kind.PARAM and token.text.startswith(":"):
            name = token.text[1:]
            out.append(text[last : token.start])
            out.append(render(name.lower()))
            last = token.end
            if name.lower() not in names:
                names.append(name.lower())
    out.append(text[last:])
    return "".join(out), names


def unknown_parameter(name: str, known: list[str], span: Span | None) -> RqlSyntaxError:
    """The error for a ``:name`` that no variable or parameter gives a value to.

    Its span is found again where the statement has the ``:name`` (the text bound may be a
    rewritten one, or a part of the statement, as LET's expression is).
    """
    error = _unknown(
        "parameter",
        ":" + name,
        known,
        span,
        f"define it with LET {name} = ..., --param {name}=VALUE or a keyword argument",
    )
    error.token = ":" + name
    return error
