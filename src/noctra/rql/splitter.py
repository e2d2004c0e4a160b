"""Script -> statements, each with the text and where it starts."""

from __future__ import annotations

from noctra.errors import RqlSyntaxError, Span
from noctra.records import record
from noctra.rql.lexer import Kind, Token, line_starts_of, tokenize


@record(frozen=True)
class Statement:
    """One statement of a script: its text (without the ``;``) and its position.

    ``end`` is where the ``;`` that closes it sits in the script (None when the script ends
    without one): "end of statement" errors point there. ``error`` is set on a statement
    that cannot be read at all (a quote, comment or dollar-quote that never closes, a NUL):
    it is the last statement of its script, and running it raises that error, so the
    statements before it still run.
    """

    text: str
    number: int
    line: int
    column: int
    offset: int
    end: tuple[int, int] | None = None
    error: RqlSyntaxError | None = None

    @property
    def span(self) -> Span:
        return Span(self.number, self.line, self.column)

    def span_at(self, line: int, column: int) -> Span:
        """A span for a line/column counted inside this statement's text."""
        if line == 1:
            return Span(self.number, self.line, self.column + column - 1)
        return Span(self.number, self.line + line - 1, column)

    def end_span(self) -> Span:
        """Where the statement ends: its ``;``, else just past its last character."""
        if self.end is not None:
            return Span(self.number, *self.end)
        starts = line_starts_of(self.text)
        return self.span_at(len(starts), len(self.text) - starts[-1] + 1)


def split(script: str) -> list[Statement]:
    """Split a script at top-level ``;``; empty statements (only comments) are dropped.

    Text that does not tokenize (an unterminated quote, comment or dollar-quote, a NUL)
    becomes one last statement carrying the error: the statements before it are whole,
    and run (as sqlite3 and psql run them); nothing after it can be told apart.
    """
    failure: RqlSyntaxError | None = None
    try:
        tokens = tokenize(script)
    except RqlSyntaxError as exc:
        if exc.span is None:
            raise
        failure = exc
        stop = line_starts_of(script)[exc.span.line - 1] + exc.span.column - 1
        # Every token before the one that failed is whole: the text up to it tokenizes alike.
        tokens = tokenize(script[:stop])
    statements: list[Statement] = []
    current: list[Token] = []
    for token in tokens:
        if token.kind is not Kind.SEMI:
            current.append(token)
            continue
        _add(statements, script, current, (token.line, token.column))
        current = []
    if failure is None:
        _add(statements, script, current, None)
        return statements
    assert failure.span is not None
    body = _body(current)
    number = len(statements) + 1
    failure.span = Span(number, failure.span.line, failure.span.column)
    if body:
        first = body[0]
        line, column, offset = first.line, first.column, first.start
    else:
        line, column, offset = failure.span.line, failure.span.column, stop
    statements.append(
        Statement(
            text=script[offset:].rstrip(),
            number=number,
            line=line,
            column=column,
            offset=offset,
            error=failure,
        )
    )
    return statements


def _body(tokens: list[Token]) -> list[Token]:
    """A statement's tokens from its first word: spaces and leading comments are not part of it."""
    body = [t for t in tokens if t.kind is not Kind.SPACE]
    while body and body[0].kind is Kind.COMMENT:
        body.pop(0)
    return body


def _add(statements: list[Statement], script: str, tokens: list[Token], end: tuple[int, int] | None) -> None:
    body = _body(tokens)
    if not body:
        return
    first, last = body[0], body[-1]
    statements.append(
        Statement(
            text=script[first.start : last.end],
            number=len(statements) + 1,
            line=first.line,
            column=first.column,
            offset=first.start,
            end=end,
        )
    )


def statement_at(script: str, offset: int) -> Statement | None:
    """The statement that holds offset (for editors: run the statement under the cursor)."""
    found: Statement | None = None
    for statement in split(script):
        if statement.offset <= offset:
            found = statement
        else:
            break
    return found


def is_complete(script: str) -> bool:
    """True when a script ends with a ``;`` outside quotes and comments (a REPL runs it then).

    Text that is only spaces and comments is complete too: there is nothing to wait for.
    """
    try:
        tokens = tokenize(script)
    except RqlSyntaxError:
        return False  # an open quote, identifier, comment or dollar body: more is coming
    body = [t for t in tokens if t.kind not in (Kind.SPACE, Kind.COMMENT)]
    return not body or body[-1].kind is Kind.SEMI
