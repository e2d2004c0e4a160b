"""DuckDB's exceptions as NoctraErrors: one line, the position, and the option that helps."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import duckdb

from noctra.errors import CancelledQueryError, QueryError
from noctra.redact import redact_text

if TYPE_CHECKING:
    from noctra.engine.duck.engine import DuckEngine

_LINE_MARK = re.compile(r"^LINE (\d+): ?(.*)$")


class Translate:
    """Turns duckdb exceptions into NoctraErrors with a one-line message and a hint."""

    def __init__(self, engine: DuckEngine) -> None:
        self.engine = engine

    def __enter__(self) -> None:
        self.engine.busy = True

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> Literal[False]:
        self.engine.busy = False
        if exc is None:
            return False
        if isinstance(exc, duckdb.InterruptException) or (
            isinstance(exc, KeyboardInterrupt) and self.engine.interrupted
        ):
            raise CancelledQueryError("query cancelled") from exc
        if isinstance(exc, duckdb.Error):
            raise translate_error(exc, self.engine.secret_values) from exc
        return False


def translate_error(exc: duckdb.Error, secrets: Sequence[str] = ()) -> QueryError:
    """A QueryError from a DuckDB exception: its first line, the 'Did you mean' as hint."""
    # DuckDB quotes URLs in its messages: signed query strings and passwords stay hidden.
    text = redact_text(str(exc), secrets)
    lines = text.splitlines()
    message = lines[0] if lines else type(exc).__name__
    hint = None
    error = QueryError(message)
    for index, line in enumerate(lines[1:], start=1):
        stripped = line.strip()
        if stripped.startswith("Did you mean") and hint is None:
            internal = ("pg_", "duckdb_", "information_schema", "sqlite_", "__noctra")
            if any(name in stripped for name in internal):
                hint = "SHOW SOURCES lists the registered sources, SHOW TABLES their tables"
            else:
                hint = stripped
        match = _LINE_MARK.match(line)
        if match and index + 1 < len(lines) and "^" in lines[index + 1]:
            caret = lines[index + 1].index("^") - (len(line) - len(match.group(2)))
            error.engine_position = (int(match.group(1)), match.group(2), max(caret, 0))
    if "extension" in message.lower() and ("download" in message.lower() or "install" in message.lower()):
        hint = "this needs a DuckDB extension that is not installed; see `noctra info`"
    if message.startswith("Invalid Input Error: CSV Error on Line"):
        error.message, hint = _csv_error(message, lines)
    error.hint = hint
    return error


_CSV_HINTS = (
    ("not utf-8", "the file is not UTF-8: add OPTIONS (encoding = 'latin-1') (or 'utf-16')"),
    ("unterminated quote", "fix the quoting, or OPTIONS (quote = '') or ignore_errors = true"),
    (
        "expected number of columns",
        "rows have different numbers of fields: OPTIONS (null_padding = true) or ignore_errors = true",
    ),
    (
        "could not convert",
        "a value does not fit the column type: OPTIONS (types = {...}) or all_varchar = true",
    ),
)


def _csv_error(message: str, lines: list[str]) -> tuple[str, str]:
    """DuckDB's many-line CSV error as one line: where and why, and the option that helps."""
    where = message.removeprefix("Invalid Input Error: ").replace("CSV Error on Line:", "CSV error on line")
    reason = ""
    # After the offending line (it may span lines) DuckDB states the reason as a sentence.
    start = next((i for i, line in enumerate(lines) if line.startswith("Original Line")), 0)
    for line in lines[start + 1 :]:
        text = line.strip()
        if text.startswith("Possible"):
            break
        if text.endswith(".") or text.startswith("Expected Number of Columns"):
            reason = text
            break
    hint = "OPTIONS (ignore_errors = true) skips rows that do not fit"
    for needle, advice in _CSV_HINTS:
        if needle in reason.lower():
            hint = advice
            break
    return (f"{where}: {reason}" if reason else where), hint


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
