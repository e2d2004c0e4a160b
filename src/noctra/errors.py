"""The one family of errors a user sees: a message, a hint and where it happened."""

from __future__ import annotations

from noctra.records import record
from noctra.redact import redact_text


@record(frozen=True)
class Span:
    """Where a statement (or a part of it) sits in the script: 1-based numbers."""

    statement: int
    line: int
    column: int

    def describe(self) -> str:
        return f"statement {self.statement}, line {self.line}, column {self.column}"


class NoctraError(Exception):
    """A failure the user can act on."""

    exit_code = 1
    # The word of the user's statement the error is about (``:name``), when the span given
    # cannot say where it is: locating the error in its statement finds that word there.
    token: str | None = None

    def __init__(self, message: str, *, hint: str | None = None, span: Span | None = None) -> None:
        # URLs in messages lose their passwords and signatures: errors end up on screens and in logs.
        message = redact_text(message)
        super().__init__(message)
        self.message = message
        self.hint = None if hint is None else redact_text(hint)
        self.span = span

    def with_span(self, span: Span) -> NoctraError:
        """Attach a position if the error does not carry one yet."""
        if self.span is None:
            self.span = span
        return self

    def __str__(self) -> str:
        if self.span is None:
            return self.message
        return f"{self.span.describe()}: {self.message}"


class UsageError(NoctraError):
    """Bad command-line usage."""

    exit_code = 2


class ConfigError(NoctraError):
    """A config file or setting that cannot be used."""

    exit_code = 2


class SourceError(NoctraError):
    """A source that cannot be registered, found or read."""


class OptionError(NoctraError):
    """An unknown option or an option with a bad value."""


class RqlSyntaxError(NoctraError):
    """A Noctra command (or a script) that cannot be parsed."""


class VariableError(NoctraError):
    """An unknown variable or parameter."""


class QueryError(NoctraError):
    """The engine refused or failed a statement."""

    # (line, the line's text as the engine showed it, 0-based caret) when known.
    engine_position: tuple[int, str, int] | None = None


class LockedError(QueryError):
    """Another program holds a lock on a database file: the same statement works later."""


LOCKED_HINT = "another program holds a lock on the database; retry when it is done"


class ExportError(NoctraError):
    """An EXPORT that could not be written."""


class TimeoutExpiredError(NoctraError):
    """The run went past --timeout and was cancelled."""

    exit_code = 4


class CancelledQueryError(NoctraError):
    """The user interrupted a statement."""

    exit_code = 130


class BusyError(NoctraError):
    """Asked without waiting while a statement runs in another thread: ask again later."""
