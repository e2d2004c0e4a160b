"""DuckDB's exceptions as NoctraErrors: one line, the position, and the option that helps."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import duckdb

from noctra.errors import LOCKED_HINT, CancelledQueryError, LockedError, QueryError
from noctra.quoting import quote_string
from noctra.redact import redact_text

if TYPE_CHECKING:
    from noctra.engine.duck.engine import DuckEngine

# "LINE 2: SELECT nope" and, under it, a caret: the last such pair is the error's (compiled on
# first use: errors only). Only "\n" ends a line here: the shown line may hold a \v or a U+2028.
_LINE_MARK = r"^(LINE (\d+): ?)([^\n]*)\n( *)\^"
# Patterns below are compiled on first use (re caches them), not at start-up.
# "Conversion Error: CSV Error on Line: 12", "Invalid Input Error: CSV Error on Line: 3"...
_CSV_LINE = r"^[A-Z][A-Za-z ]* Error: CSV Error on Line: (\d+)"
_CONVERTING = r'^Error when converting column "(.*?)"\. Could not convert string "(.*)" to \'(.*)\'\.?$'
_FILE_LINE = r"^\s+file = (.+)$"
_SQLITE_MISMATCH = (
    r'^Mismatch Type Error: Invalid type in column "(.*?)": (column was declared as .+?|expected .+?), '
    r'found "(.*)" of type "(.+?)" instead\.?$'
)
_MISMATCH = r'^Column with name: "(.*?)" is expected to have type: (.+) But has type: (.+)$'
# DuckDB's SQLite reader passing on what SQLite said about the query it made.
_SQLITE_PREPARE = r'^Failed to prepare query "(.*)": (.*)$'
_SQLITE_ROWID = r'^SELECT ROWID FROM "((?:[^"]|"")*)"$'
# A value met while reading (no LINE mark): a SQLite DATE/TIMESTAMP column holding other text.
_BAD_DATE = r'^Conversion Error: invalid (date|timestamp) field format: "(.*)", expected format is \((.*)\)$'
_SQLITE_ALL_VARCHAR = (
    "DuckDB reads a SQLite column by its declared type: SET sqlite_all_varchar = true "
    "reads every SQLite column as text (cast what you need), or fix the value"
)


class Translate:
    """Turns duckdb exceptions into NoctraErrors with a one-line message and a hint."""

    def __init__(self, engine: DuckEngine) -> None:
        self.engine = engine

    def __enter__(self) -> None:
        self.engine.calls.__enter__()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> Literal[False]:
        self.engine.calls.__exit__()
        if exc is None:
            return False
        if self.engine.interrupted and isinstance(exc, (duckdb.InterruptException, KeyboardInterrupt)):
            raise CancelledQueryError("query cancelled") from exc
        if isinstance(exc, RuntimeError) and str(exc) == "Query interrupted":
            # DuckDB's client saw a signal (Python's own Ctrl-C, a handler that raised) and
            # stopped the query: cancelled if Noctra asked, else the KeyboardInterrupt it was.
            if self.engine.interrupted:
                raise CancelledQueryError("query cancelled") from exc
            raise KeyboardInterrupt from exc
        if isinstance(exc, duckdb.InterruptException):
            # Nobody cancelled it: a parallel task failed and DuckDB reported the interrupt
            # it sent to the others instead of the error (seen once in ~30 runs).
            raise QueryError(
                "DuckDB stopped the query without saying why (an error in one of its threads)",
                hint="run it again: DuckDB usually reports the error; SET threads = 1 always does",
            ) from exc
        if isinstance(exc, duckdb.CatalogException) and self.engine.unattached is not None:
            raise self.engine.unattached from exc  # why the current server's tables are not there
        if isinstance(exc, duckdb.Error):
            error = translate_error(exc, self.engine.secret_values, workspace=self.engine.home)
            bad_date = re.match(_BAD_DATE, error.message)
            if bad_date and error.engine_position is None:
                _name_sqlite_date_column(self.engine, error, *bad_date.groups())
            raise error from exc
        return False


def _name_sqlite_date_column(
    engine: DuckEngine, error: QueryError, kind: str, value: str, shape: str
) -> None:
    """A date that does not parse, read from an attached SQLite database: which column holds it.

    DuckDB's message names neither table nor column; each SQLite DATE/TIMESTAMP column is
    asked (by SQLite itself, through sqlite_query) whether it holds the value. Runs only
    after such an error.
    """
    wanted = "DATE" if kind == "date" else "TIMESTAMP"
    cursor = engine.connection.cursor()
    try:
        candidates = cursor.execute(
            "SELECT c.database_name, c.table_name, c.column_name FROM duckdb_columns() c "
            "JOIN duckdb_databases() d USING (database_name) "
            f"WHERE d.type = 'sqlite' AND c.data_type = {quote_string(wanted)} LIMIT 50"
        ).fetchall()
        for database, table, column in candidates:
            probe = (
                f"SELECT 1 FROM {_sqlite_ident(str(table))} "
                f"WHERE {_sqlite_ident(str(column))} = {quote_string(value)} LIMIT 1"
            )
            found = cursor.execute(
                f"SELECT count(*) FROM sqlite_query({quote_string(str(database))}, {quote_string(probe)})"
            ).fetchone()
            if found and found[0]:
                shown = value if len(value) <= 60 else value[:59] + "…"
                error.message = (
                    f'SQLite column "{column}" of {database}.{table} is declared {wanted} '
                    f'but holds "{shown}" (not {shape})'
                )
                error.hint = _SQLITE_ALL_VARCHAR
                return
        if candidates:
            error.hint = f"if a SQLite {wanted} column holds it: {_SQLITE_ALL_VARCHAR}"
    except duckdb.Error:
        return  # the original message stands
    finally:
        cursor.close()


def _sqlite_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def translate_error(
    exc: duckdb.Error, secrets: Sequence[str] = (), *, workspace: str = "memory"
) -> QueryError:
    """A QueryError from a DuckDB exception: its first line, the 'Did you mean' as hint.

    ``workspace`` is the --db database, if any: a write refused there is --read-only's doing.
    """
    # DuckDB quotes URLs in its messages: signed query strings and passwords stay hidden.
    text = redact_text(str(exc), secrets)
    lines = text.splitlines()
    if lines and lines[0].endswith("unsuccessful or closed pending query result"):
        # An error met while rows stream (fetchmany) comes wrapped: the real one follows.
        real = next((i for i, line in enumerate(lines) if line.startswith("Error: ")), None)
        if real is not None:
            lines = [lines[real][len("Error: ") :], *lines[real + 1 :]]
    message = lines[0] if lines else type(exc).__name__
    hint = None
    error = QueryError(message)
    for line in lines[1:]:
        stripped = line.strip()
        if stripped.startswith("Candidate bindings:") and hint is None:
            # A misspelled column: DuckDB's own guesses ("name", "namf") are the hint.
            candidates = stripped.removeprefix("Candidate bindings:").lstrip(": ")
            if candidates:
                several = ", " in candidates
                hint = f"did you mean {'one of ' if several else ''}{candidates}?"
        if stripped.startswith("Did you mean") and hint is None:
            internal = ("pg_", "duckdb_", "information_schema", "sqlite_", "__noctra")
            if any(name in stripped for name in internal):
                hint = "SHOW SOURCES lists the registered sources, SHOW TABLES their tables"
            else:
                hint = stripped
    error.engine_position = _engine_position(text)
    if "extension" in message.lower() and ("download" in message.lower() or "install" in message.lower()):
        hint = "this needs a DuckDB extension that is not installed; see `noctra info`"
    if remote := _remote_hint(message):
        hint = remote
    attached = re.search(r'on database "(.*?)" which is attached in read-only mode', message)
    if attached and attached.group(1).lower() == workspace.lower():
        hint = "the --db workspace was opened with --read-only: run without it to write"
    elif attached:
        hint = (
            f"{attached.group(1)!r} is attached read-only (OPTIONS (readonly = true), or a "
            "PostgreSQL/MySQL server's default): USE it again with OPTIONS (readonly = false) to write"
        )
    elif "attempt to write a readonly database" in message:
        hint = (
            "SQLite (through DuckDB) could not write the file: it or its folder is not writable "
            "(SQLite writes a journal beside it); check their permissions"
        )
    if mismatch := re.match(_SQLITE_MISMATCH, message):
        # A SQLite column holding values of another type than declared (SQLite allows it).
        column, wanted, value, found = mismatch.groups()
        shown = value if len(value) <= 60 else value[:59] + "…"
        declared = wanted.removeprefix("column was declared as ")
        what = f"is declared {declared}" if declared != wanted else wanted.replace("expected", "expects", 1)
        error.message = f'SQLite column "{column}" {what} but holds "{shown}" ({found})'
        hint = _SQLITE_ALL_VARCHAR
    if prepare := re.match(_SQLITE_PREPARE, message):
        error.message, hint = _sqlite_prepare_error(*prepare.groups())
    if lake := _lake_error(message):
        error.message, hint = lake
    if re.match(_CSV_LINE, message):
        error.message, hint = _csv_error(message, lines)
    elif message.endswith("Schema mismatch between globbed files."):
        error.message, hint = _glob_mismatch(lines)
    elif compressed := _remote_compressed_json(message):
        error.message, hint = compressed
    elif late := _late_json_shape(message, lines):
        hint = late
    elif reading := _reading_error(message, lines):
        error.message, hint = reading
    error.hint = hint
    if message.endswith(": database is locked"):
        # DuckDB's SQLite reader met another program's lock ("Failed to prepare query ...").
        return LockedError("SQLite: database is locked", hint=LOCKED_HINT)
    return error


def _engine_position(text: str) -> tuple[int, str, int] | None:
    """(line, the line as DuckDB shows it, 0-based caret cell in it) from its LINE mark."""
    if "LINE " not in text:
        return None
    marks = list(re.finditer(_LINE_MARK, text, re.MULTILINE))
    if not marks:
        return None
    mark = marks[-1]
    caret = len(mark.group(4)) - len(mark.group(1))
    return int(mark.group(2)), mark.group(3), max(caret, 0)


def _sqlite_prepare_error(query: str, reason: str) -> tuple[str, str | None]:
    """SQLite refused a query DuckDB's SQLite reader made: said in the user's terms."""
    rowid = re.match(_SQLITE_ROWID, query)
    if rowid and reason == "no such column: ROWID":
        # The reader asks for ROWID when a query reads no column (count(*), EXISTS, SELECT 1).
        table = rowid.group(1).replace('""', '"')
        return (
            f'DuckDB\'s SQLite reader cannot read SQLite table "{table}" without naming one of its '
            "columns: it is a WITHOUT ROWID table",
            "name a column (count(<its primary key>) instead of count(*)), or run the statement on "
            "that database alone: it then runs in SQLite",
        )
    message = f"SQLite: {reason} (in {query}, run for DuckDB's SQLite reader)"
    if reason.startswith(("no such table", "no such column")):
        return message, (
            "a view of the SQLite database names a table or column that is gone (SHOW TABLES "
            "lists it as broken): fix or drop the view in SQLite"
        )
    return message, None


def _reading_error(message: str, lines: list[str]) -> tuple[str, str] | None:
    """Encodings and workbooks: DuckDB's message made one line with what to write instead."""
    if unknown := re.search(r'does not support the encoding: "(.*?)"', message):
        import difflib

        from noctra.engine.duck.readers import COMMON_ENCODINGS, ENCODING_ALIASES

        known = [line.strip()[1:].strip() for line in lines if line.strip().startswith("*")]
        # Suggested from the names Noctra checked, not all of the extension's (some decode wrongly).
        close = difflib.get_close_matches(unknown.group(1).lower(), ENCODING_ALIASES, n=3, cutoff=0.6)
        guess = f"; did you mean {', '.join(close)}?" if close else ""
        return (
            f"unknown encoding {unknown.group(1)!r}",
            f"common encodings: {COMMON_ENCODINGS}{guess} (the encodings extension knows {len(known)} names)"
            if known
            else f"common encodings: {COMMON_ENCODINGS}{guess}",
        )
    if message.endswith("File is not latin-1 encoded"):
        return (
            "the file is not latin-1 (ISO-8859-1) text: it holds bytes latin-1 leaves undefined",
            "Windows files put €, “ ” and – there: OPTIONS (encoding = 'windows-1252')",
        )
    if message.endswith("Failed to open zip for reading"):
        return (
            "cannot read the workbook: it is not an .xlsx file (not a zip file)",
            "an .xls or password-protected workbook must be saved as .xlsx (without a password) first",
        )
    return None


def guess_encoding(path: str) -> str:
    """The legacy encoding a non-UTF-8 text file most likely has: utf-16, windows-1252 or latin-1."""
    from noctra.engine.sources import head_bytes

    head = head_bytes(path, 65536)  # a .gz file's text, not its compressed bytes
    if head is None:
        return "latin-1"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[1:2] == b"\x00":
        return "utf-16"
    # Bytes 0x80-0x9F are control codes in latin-1 and letters and signs (€ “ ” –) in windows-1252.
    if any(0x80 <= byte <= 0x9F for byte in head):
        return "windows-1252"
    return "latin-1"


def _remote_hint(message: str) -> str | None:
    """What to check when DuckDB's httpfs could not fetch a URL (None for other errors)."""
    url = re.search(r"'((?:https?|s3a?|gcs?|r2)://[^/']*)", message)
    where = url.group(1) if url else "that address"
    if "Could not connect to server" in message:
        return f"nothing answered at {where}: check the URL and that the server is running"
    if "Could not resolve hostname" in message:
        return f"the host of {where} is unknown: check the URL (and the network)"
    # "... (HTTP 404 Not Found)" and "Request returned HTTP 500 for HTTP HEAD to ..."
    status = re.search(r"\bHTTP (\d{3})\b", message) if message.startswith("HTTP Error") else None
    if status is None:
        return None
    code = int(status.group(1))
    if code == 404:
        return "the server has no file at that URL: check the path"
    if code in (401, 403):
        return "the server refused access: check the credentials ([s3] in the config or AWS_*) or the URL"
    if code >= 500:
        return f"the server failed (HTTP {code}): try again later"
    return None


# "IO Error: DeltaKernel GenericError (5): Generic delta kernel error: No files in log segment"
_DELTA_KERNEL = r"^IO Error: DeltaKernel (\w+) \(\d+\): (?:Generic delta kernel error: )?(.*)$"
_DELTA_VERSION = r"end version (\d+) not the same as the specified end version (\d+)"


def _lake_error(message: str) -> tuple[str, str] | None:
    """A Delta or Iceberg failure in a user's words, and what to do (None for other errors)."""
    if found := re.match(_DELTA_KERNEL, message):
        kind, detail = found.groups()
        if version := re.search(_DELTA_VERSION, detail):
            latest, wanted = version.groups()
            return (
                f"the Delta table has no version {wanted} (its latest is {latest})",
                f"OPTIONS (version = n) takes 0 to {latest}; without it the latest version is read",
            )
        if "No files in log segment" in detail:
            return (
                "the Delta log (_delta_log/) holds no commit",
                "the table was never written, or its log was removed: copy the whole table folder",
            )
        if kind == "ObjectStoreError":
            detail = detail.removeprefix("Error interacting with object store: ")
            reached = "error sending request" not in detail and "connect" not in detail.lower()
            if reached:
                hint = "check the credentials ([s3] in the config or AWS_*) and the path"
            else:
                hint = "nothing answered at the S3 endpoint: check [s3] endpoint (or AWS_ENDPOINT_URL)"
            return f"cannot read the Delta table from object storage: {detail}", hint
        if kind in ("ArrowError", "JsonError") or "Json error" in detail:
            return (
                f"the Delta log (_delta_log/) is corrupt: {detail}",
                "a commit file in _delta_log/ cannot be read: copy the table again from where it was written",
            )
        return f"Delta: {detail}", "check the table folder and its _delta_log/"
    if found := re.search(r"Fails to parse iceberg metadata from (.+)$", message):
        return (
            f"the Iceberg metadata file {_shown_path(found.group(1))} is corrupt",
            "copy the table again, or read one version: USE 'table/metadata/<file>.metadata.json' "
            "OPTIONS (format = 'iceberg')",
        )
    if moved := re.search(r'Cannot open file "([^"]*/metadata/snap-[^"]*\.avro)"', message):
        return (
            f"the Iceberg table's files are not where its metadata says ({_shown_path(moved.group(1))})",
            "a table copied or moved away from where it was written: OPTIONS (allow_moved_paths = true)",
        )
    if message.startswith("Could not find snapshot with id"):
        return (
            f"the Iceberg table has no snapshot with that id ({message.rsplit(' ', 1)[-1]})",
            "SELECT snapshot_id, timestamp_ms FROM iceberg_snapshots('table folder') lists them",
        )
    return None


_CSV_HINTS = (
    ("not utf-8", "the file is not UTF-8: add OPTIONS (encoding = 'latin-1') (or 'utf-16')"),
    ("unterminated quote", "fix the quoting, or OPTIONS (quote = '') or ignore_errors = true"),
    (
        "expected number of columns",
        "rows have different numbers of fields: OPTIONS (null_padding = true) or ignore_errors = true",
    ),
    (
        "maximum line size",
        "a line is longer than the limit: OPTIONS (max_line_size = 20000000) in USE; in FROM: "
        "read_csv('file', max_line_size = 20000000, buffer_size = 30000000)",
    ),
    (
        "could not convert",
        "a value does not fit the column type: OPTIONS (types = {...}) or all_varchar = true",
    ),
)


def _csv_error(message: str, lines: list[str]) -> tuple[str, str]:
    """DuckDB's many-line CSV error as one line: file, line, value and column, and what helps."""
    match = re.match(_CSV_LINE, message)
    assert match is not None
    where = f"CSV error{_in_file(lines)} on line {match.group(1)}"
    converting = next((m for line in lines if (m := re.match(_CONVERTING, line))), None)
    if converting is not None:
        # The value, the column and the type: "CSV Error on Line: N" alone says none of them.
        column, value, type_ = converting.groups()
        shown = value if len(value) <= 60 else value[:59] + "…"
        start = next((i for i, line in enumerate(lines) if line.startswith("Original Line")), 0)
        original = lines[start] if start else ""
        unquoted = any(line.strip().startswith("quote = (empty)") for line in lines)
        if unquoted and '"' in original:
            # Quoting is sniffed from a sample: a first quoted field past it splits on its commas.
            return (
                f'{where}: cannot convert "{shown}" in column "{column}" to {type_}',
                "the line holds a quoted field, but no quotes were in the rows sniffed: "
                "OPTIONS (quote = '\"') (in FROM: read_csv('file', quote = '\"'))",
            )
        return (
            f'{where}: cannot convert "{shown}" in column "{column}" to {type_}',
            f"DuckDB types CSV columns from a sample of rows: set types = {{{quote_string(column)}: "
            "'VARCHAR'} or all_varchar = true (USE ... OPTIONS (...), or read_csv arguments)",
        )
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
    if "not utf-8" in reason.lower():
        compressed = _remote_compressed(lines)
        if compressed is not None:
            return compressed
        hint = _encoding_hint(lines)
    original = lines[start] if start else ""
    unquoted = any(line.strip().startswith("quote = (empty)") for line in lines)
    if reason.startswith("Expected Number of Columns") and unquoted and '"' in original:
        # Quoting is sniffed from a sample: a first quoted field past it splits on its commas.
        hint = (
            "the line holds a quoted field, but no quotes were in the rows sniffed: "
            "OPTIONS (quote = '\"') (in FROM: read_csv('file', quote = '\"'))"
        )
    return (f"{where}: {reason}" if reason else where), hint


def _remote_compressed(lines: list[str]) -> tuple[str, str] | None:
    """A remote CSV that is "not UTF-8" because it is gzip/zstd bytes: said as for a local file.

    A local one is refused before DuckDB reads it (sources.refuse_lying_extension); a URL's
    first bytes are asked for only now, once the read failed.
    """
    from noctra.engine.sources import SourceKind, is_remote, remote_lying_extension

    path = _path_in(lines)
    if not is_remote(path):
        return None
    error = remote_lying_extension(path, SourceKind.CSV)
    if error is None:
        return None
    return error.message, error.hint or ""


def _remote_compressed_json(message: str) -> tuple[str, str] | None:
    """A remote JSON file DuckDB calls malformed because it is gzip/zstd bytes, as for a local one."""
    found = re.match(r'Invalid Input Error: Malformed JSON in file "((?:https?)://[^"]+)"', message)
    if found is None:
        return None
    from noctra.engine.sources import SourceKind, remote_lying_extension

    error = remote_lying_extension(found.group(1), SourceKind.JSON)
    return None if error is None else (error.message, error.hint or "")


def _late_json_shape(message: str, lines: list[str]) -> str | None:
    """A JSON object past the sample the reader learnt its columns from has another shape (a new
    key, another type): DuckDB's advice line is dropped with the rest, so the fix is said here.

    An object holding a key twice (``{"a": 1, "a": 2}``) is no such case: no sample_size
    reads it, as its key cannot be two columns. read_json_objects reads each object as one
    JSON value; ignore_errors = true keeps the first value of the key (DuckDB 1.5.5).
    """
    found = re.search(r'JSON transform error in file "([^"]+)"', message)
    if found is None or not any(line.startswith("Try increasing 'sample_size'") for line in lines[1:]):
        return None
    path = quote_string(found.group(1))
    twice = re.search(r'has duplicate key "((?:[^"\\]|\\.)*)"$', message)
    if twice is not None:
        key = twice.group(1)
        return (
            f'an object in the file holds the key "{key}" twice, which cannot be read as columns: '
            f"read_json_objects({path}) reads each object as one JSON value (then json ->> "
            f"{quote_string(key)} is its first value), or OPTIONS (ignore_errors = true) in USE "
            f"keeps the first value of each repeated key (in FROM: read_json({path}, ignore_errors = true))"
        )
    return (
        "the reader learnt the columns from the first objects only: OPTIONS (sample_size = -1) in "
        f"USE reads the whole file to learn them (in FROM: read_json({path}, sample_size = -1))"
    )


def _path_in(lines: list[str]) -> str:
    """The file a many-line CSV error names ("  file = ..."), or ''."""
    return next((m.group(1).strip() for line in lines if (m := re.match(_FILE_LINE, line))), "")


def _encoding_hint(lines: list[str]) -> str:
    """What to write for a CSV that is not UTF-8, with the encoding its bytes suggest."""
    path = _path_in(lines)
    guess = guess_encoding(path) if path else "latin-1"
    others = ", ".join(repr(e) for e in ("latin-1", "windows-1252", "utf-16") if e != guess)
    return (
        f"the file is not UTF-8 (it looks like {guess}): add OPTIONS (encoding = '{guess}') "
        f"(or {others}; in FROM: read_csv('file', encoding = '{guess}'))"
    )


def _glob_mismatch(lines: list[str]) -> tuple[str, str]:
    """DuckDB's "Schema mismatch between globbed files" as one line naming both files."""
    main = current = "?"
    column = expected = found = ""
    for line in lines:
        if line.startswith("Main file schema: "):
            main = _shown_path(line.removeprefix("Main file schema: "))
        elif line.startswith("Current file: "):
            current = _shown_path(line.removeprefix("Current file: "))
        elif match := re.match(_MISMATCH, line):
            column, expected, found = match.groups()
    if not column:
        return (
            f"the files of a glob do not have the same columns: {current} differs from {main}",
            "read them with union_by_name = true, or one glob per layout",
        )
    return (
        f'the files of a glob disagree: column "{column}" is {found} in {current}, {expected} in {main}',
        "DuckDB types a glob from its first files: files_to_sniff = -1 reads them all, "
        f"or set types = {{{quote_string(column)}: 'VARCHAR'}}",
    )


def _in_file(lines: list[str]) -> str:
    """' in FILE' from the ``file = ...`` line DuckDB adds to CSV errors ('' if none)."""
    for line in lines:
        match = re.match(_FILE_LINE, line)
        if match:
            return f" in {_shown_path(match.group(1))}"
    return ""


def _shown_path(path: str) -> str:
    """A path as the user would write it: relative when it is under the working directory."""
    path = path.strip()
    if os.path.isabs(path):
        try:
            relative = os.path.relpath(path)
        except ValueError:
            return path
        if not relative.startswith(".."):
            return relative
    return path


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
