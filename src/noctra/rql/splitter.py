"""Script -> statements, each with the text and where it starts."""

from __future__ import annotations

from noctra.errors import RqlSyntaxError, Span
from noctra.records import record
from noctra.rql.lexer import Kind, Token, line_starts_of, tokenize


@record(frozen=True)
class Statement:
    """One statement of a script: its text (without the ``;``) and its position."""

    text: str
    number: int
    line: int
    column: int
    offset: int

    @property
    def span(self) -> Span:
        return Span(self.number, self.line, self.column)

    def span_at(self, line: int, column: int) -> Span:
        """A span for a line/column counted inside this statement's text."""
        if line == 1:
            return Span(self.number, self.line, self.column + column - 1)
        return Span(self.number, self.line + line - 1, column)


def split(script: str) -> list[Statement]:
    """Split a script at top-level ``;``; empty statements (only comments) are dropped."""
    try:
        tokens = tokenize(script)
    except RqlSyntaxError as exc:
        if exc.span is not None:
            offset = line_starts_of(script)[exc.span.line - 1] + exc.span.column - 1
            number = len(split(script[:offset] + "x"))
            exc.span = Span(number, exc.span.line, exc.span.column)
        raise
    statements: list[Statement] = []
    current: list[Token] = []
    for token in [*tokens, None]:
        if token is not None and token.kind is not Kind.SEMI:
            current.append(token)
            continue
        body = [t for t in current if t.kind is not Kind.SPACE]
        # Leading comments are not part of a statement: it starts at its first word.
        while body and body[0].kind is Kind.COMMENT:
            body.pop(0)
        if body:
            first, last = body[0], body[-1]
            statements.append(
                Statement(
                    text=script[first.start : last.end],
                    number=len(statements) + 1,
                    line=first.line,
                    column=first.column,
                    offset=first.start,
                )
            )
        current = []
    return statements


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
