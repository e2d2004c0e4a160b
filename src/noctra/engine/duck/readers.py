"""How DuckDB reads a file source: CSV sniffed once and pinned, Parquet and JSON directly."""

from __future__ import annotations

import glob
from collections.abc import Callable

from noctra.engine.base import Params
from noctra.engine.sources import Source, SourceKind, is_glob
from noctra.errors import QueryError, SourceError
from noctra.quoting import quote_string, sql_literal

# An 8 MB read buffer held a 1 GB CSV aggregation at 90 MB peak RSS instead of
# 188 MB, at the same speed (SPEC 2.1).
CSV_BUFFER_SIZE = 8 * 1024 * 1024
# A bounded catalog query on its own cursor (DuckEngine._rows).
Rows = Callable[[str, Params], list[tuple[object, ...]]]


def reader_of(source: Source, rows: Rows) -> tuple[str, dict[str, str]]:
    """The table-function call that reads a file source, and the CSV dialect it pinned."""
    if source.kind is SourceKind.CSV:
        return pinned_csv(source, rows)
    if source.kind is SourceKind.PARQUET:
        return f"read_parquet({quote_string(source.read_pattern)}{_args(source.options)})", {}
    if source.kind is SourceKind.DELTA:
        return f"delta_scan({quote_string(source.read_pattern)}{_args(_lake_args(source))})", {}
    if source.kind is SourceKind.ICEBERG:
        return iceberg_reader(source, rows), {}
    options = dict(source.options)
    if "json_format" in options:
        options["format"] = options.pop("json_format")
    else:
        options.pop("format", None)
    return f"read_json_auto({quote_string(source.read_pattern)}{_args(options)})", {}


def _lake_args(source: Source) -> dict[str, object]:
    """A lake table's options as its scan function names them."""
    args = {key: value for key, value in source.options.items() if key != "format"}
    if "snapshot_id" in args:
        args["snapshot_from_id"] = args.pop("snapshot_id")
    return args


def iceberg_reader(source: Source, rows: Rows) -> str:
    """``iceberg_scan`` of the table's newest metadata file, found now (local folder or S3 prefix).

    A table written through a catalog (pyiceberg's SQL catalog, most others) has no
    version-hint.text, and iceberg_scan only guesses the latest version with the
    connection-wide ``unsafe_enable_version_guessing``: the file is chosen here instead,
    the one of the highest version number (00003-<uuid>.metadata.json, v3.metadata.json).
    """
    metadata = source.read_pattern
    if not metadata.endswith(".metadata.json"):
        pattern = metadata.rstrip("/") + "/metadata/*.metadata.json"
        try:
            newest = rows(
                "SELECT file FROM glob(?) ORDER BY try_cast(regexp_extract("
                r"parse_filename(file), '^v?(\d+)[-.]', 1) AS BIGINT) DESC NULLS LAST, file DESC LIMIT 1",
                [pattern],
            )
        except QueryError as exc:
            message = f"cannot read {source.path!r} as Iceberg: {exc.message}"
            raise SourceError(message, hint=exc.hint) from exc
        if not newest:
            raise SourceError(
                f"{source.path!r} is not an Iceberg table: no metadata/*.metadata.json there",
                hint="point USE at the table's folder (the one holding metadata/ and data/)",
            )
        metadata = str(newest[0][0])
    return f"iceberg_scan({quote_string(metadata)}{_args(_lake_args(source))})"


def pinned_csv(source: Source, rows: Rows) -> tuple[str, dict[str, str]]:
    """Sniff once (dialect from the first file of a glob) and fix dialect and column types in the view."""
    user = dict(source.options)
    user.pop("format", None)
    if "delimiter" in user:
        user["delim"] = user.pop("delimiter")
    sniff_target = source.read_pattern
    if is_glob(sniff_target):
        if source.is_remote:
            # A remote glob (s3://bucket/logs/*.csv) is listed by httpfs, not the OS.
            first = rows("SELECT file FROM glob(?) ORDER BY file LIMIT 1", [sniff_target])
            matches = [str(first[0][0])] if first else []
        else:
            matches = sorted(glob.glob(sniff_target, recursive=True))
        sniff_target = matches[0] if matches else sniff_target
    # Types of a glob come from DuckDB's multi-file read (_glob_columns), not sniff_csv.
    sniff_args = {key: value for key, value in user.items() if key != "files_to_sniff"}
    try:
        row = rows(
            "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, "
            f"HasHeader, Columns, DateFormat, TimestampFormat FROM sniff_csv("
            f"{quote_string(sniff_target)}{_args(sniff_args)})",
            None,
        )[0]
    except QueryError as exc:
        raise unreadable_csv(source, exc) from exc
    delim, quote, escape, newline, comment, skip, header, columns, datefmt, tsfmt = row
    assert isinstance(columns, list)
    if len(columns) == 1 and "delim" not in user and "all_varchar" not in user:
        name = str(columns[0]["name"])
        if any(d in name for d in ",;\t|" if d != delim):
            raise SourceError(
                f"cannot read {source.path!r} as CSV: its rows have different numbers of fields",
                hint="OPTIONS (ignore_errors = true) skips bad rows; null_padding = true fills "
                "missing fields with NULL; or set delimiter",
            )
    pinned: dict[str, object] = {
        "auto_detect": False,
        "delim": delim,
        "quote": _unempty(quote),
        "escape": _unempty(escape),
        "new_line": newline,
        "comment": _unempty(comment),
        "skip": skip,
        "header": header,
        "buffer_size": CSV_BUFFER_SIZE,
    }
    if datefmt:
        pinned["dateformat"] = datefmt
    if tsfmt:
        pinned["timestampformat"] = tsfmt
    for key in ("encoding", "nullstr", "ignore_errors", "decimal_separator", "null_padding"):
        if key in user:
            pinned[key] = user[key]
    pinned["columns"] = {str(c["name"]): str(c["type"]) for c in columns}
    if is_glob(source.read_pattern):
        pinned["union_by_name"] = False
        pinned["columns"] = _glob_columns(source, user, pinned, rows)
    odd = next((name for name in pinned_names(pinned) if "\x00" in name), None)
    if odd is not None:
        raise SourceError(
            f"cannot read {source.path!r} as CSV: a column name holds a NUL character ({odd!r})",
            hint="fix the header line, or OPTIONS (header = false) to name the columns column0, column1...",
        )
    dialect = {
        "delimiter": str(delim),
        "quote": str(_unempty(quote)),
        "escape": str(_unempty(escape)),
        "header": str(header).lower(),
        "skip": str(skip),
    }
    if datefmt:
        dialect["dateformat"] = str(datefmt)
    return f"read_csv({quote_string(source.read_pattern)}{_args(pinned)})", dialect


def pinned_names(pinned: dict[str, object]) -> list[str]:
    """The column names a pinned reader fixes."""
    columns = pinned.get("columns")
    return [str(name) for name in columns] if isinstance(columns, dict) else []


def _glob_columns(
    source: Source, user: dict[str, object], pinned: dict[str, object], rows: Rows
) -> dict[str, str]:
    """Column types of a glob as DuckDB's own read of it gives them (issue 11.5).

    sniff_csv reads one file only, so text in a later file, in a column the first file
    holds numbers in, broke every query. DuckDB's multi-file read types the columns over
    its first files (``files_to_sniff``, 10, within one ``sample_size`` of rows), as
    ``FROM 'dir/*.csv'`` does; the dialect sniffed from the first file is kept, and hive
    partition columns are left to the view.
    """
    typing = {key: value for key, value in pinned.items() if key not in ("auto_detect", "columns")}
    for key in ("types", "all_varchar", "sample_size", "files_to_sniff"):
        if key in user:
            typing[key] = user[key]
    typing["hive_partitioning"] = False
    try:
        described = rows(
            f"DESCRIBE SELECT * FROM read_csv({quote_string(source.read_pattern)}{_args(typing)})", None
        )
    except QueryError as exc:
        raise unreadable_csv(source, exc) from exc
    return {str(row[0]): str(row[1]) for row in described}


def unreadable_csv(source: Source, exc: QueryError) -> SourceError:
    """A CSV source that cannot be read: DuckDB's reason, and the file when it names one."""
    message = exc.message
    if not message.startswith("CSV error in "):
        message = f"cannot read {source.path!r} as CSV: {message}"
    return SourceError(
        message,
        hint=exc.hint or "set OPTIONS (delimiter = ..., header = ..., quote = ...) or all_varchar = true",
    )


def quoted_file_reader(path: str, kind: SourceKind) -> str | None:
    """A CSV quoted in FROM is read with the same small buffer as registered sources.

    DuckDB's default buffer took a 1 GB CSV aggregation to 199 MiB peak instead of 112 MiB.
    """
    if kind is not SourceKind.CSV:
        return None
    return f"read_csv({quote_string(path)}, buffer_size = {CSV_BUFFER_SIZE})"


def _unempty(value: object) -> object:
    return "" if value in (None, "(empty)") else value


def _args(options: dict[str, object]) -> str:
    """Named arguments for a DuckDB table function, every value quoted."""
    return "".join(f", {key} = {sql_literal(value)}" for key, value in options.items())
