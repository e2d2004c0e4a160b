"""How DuckDB reads a file source: CSV sniffed once and pinned, Parquet and JSON directly."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable

from noctra.engine.base import Params
from noctra.engine.sources import (
    RAGGED_ROWS_BYTES,
    Sniffed,
    Source,
    SourceKind,
    csv_sniff,
    dialect_reader,
    escape_glob,
    file_version,
    head_bytes,
    is_glob,
    ragged_rows,
    ragged_rows_error,
    ragged_tail,
    ragged_tail_error,
)
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
        args = {key: value for key, value in source.options.items() if key != "format"}
        if is_glob(source.read_pattern):
            # Files of a folder may differ: a column of a later file is kept, not dropped.
            args.setdefault("union_by_name", True)
        return f"read_parquet({quote_string(source.read_pattern)}{_args(args)})", {}
    if source.kind is SourceKind.DELTA:
        return f"delta_scan({quote_string(source.read_pattern)}{_args(_lake_args(source))})", {}
    if source.kind is SourceKind.ICEBERG:
        return iceberg_reader(source, rows), {}
    if source.kind is SourceKind.EXCEL:
        return excel_reader(source, rows)
    if source.kind is SourceKind.AVRO:
        args = {key: value for key, value in source.options.items() if key != "format"}
        return f"read_avro({quote_string(source.read_pattern)}{_args(args)})", {}
    options = dict(source.options)
    if "json_format" in options:
        options["format"] = options.pop("json_format")
    else:
        options.pop("format", None)
        if _bom_json_array(source.read_pattern):
            options["format"] = "array"
    return f"read_json_auto({quote_string(source.read_pattern)}{_args(options)})", {}


def _bom_json_array(path: str) -> bool:
    """A local JSON file holding one array after a UTF-8 BOM (Windows editors save so).

    DuckDB's detection then reads the whole array as one value of a column ``json``;
    told ``format = 'array'`` it reads its rows.
    """
    if not os.path.isfile(path):  # a glob, a URL, a pipe (opening one would wait for a writer)
        return False
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return head.startswith(b"\xef\xbb\xbf") and head[3:].lstrip().startswith(b"[")


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
            # A literal, not a bound parameter: DuckDB's first bind imports pandas and pyarrow.
            newest = rows(
                f"SELECT file FROM glob({quote_string(pattern)}) ORDER BY try_cast(regexp_extract("
                r"parse_filename(file), '^v?(\d+)[-.]', 1) AS BIGINT) DESC NULLS LAST, file DESC LIMIT 1",
                None,
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
    if "/metadata/" not in metadata.replace("\\", "/"):
        return f"iceberg_scan({quote_string(metadata)}{_args(_lake_args(source))})"
    # The table folder and the metadata file's name as ``version``: the form allow_moved_paths
    # takes (a table copied away from the paths its metadata holds).
    table, name = metadata.replace("\\", "/").rsplit("/metadata/", 1)
    args = {"version": name.removesuffix(".metadata.json"), **_lake_args(source)}
    return f"iceberg_scan({quote_string(table)}{_args(args)})"


def pinned_csv(source: Source, rows: Rows) -> tuple[str, dict[str, str]]:
    """Sniff once (dialect from the first file of a glob) and fix dialect and column types in the view."""
    user = dict(source.options)
    user.pop("format", None)
    if "encoding" in user:
        user["encoding"] = duckdb_encoding(user["encoding"])
        if user["encoding"] == "utf-16" and not source.is_remote:
            refuse_big_endian(source)
    if "delimiter" in user:
        user["delim"] = user.pop("delimiter")
    sniff_target = source.read_pattern
    matches: list[str] = []
    if is_glob(sniff_target):
        if source.is_remote:
            # A remote glob (s3://bucket/logs/*.csv) is listed by httpfs, not the OS.
            first = rows("SELECT file FROM glob(?) ORDER BY file LIMIT 1", [sniff_target])
            matches = [str(first[0][0])] if first else []
            sniff_target = matches[0] if matches else sniff_target
        else:
            matches = regular_files(sniff_target)
            # Escaped: a file named q?.csv is sniffed alone, not with every file q?.csv matches.
            sniff_target = escape_glob(matches[0]) if matches else sniff_target
    # Types of a glob come from DuckDB's multi-file read (_glob_columns), not sniff_csv.
    sniff_args = {key: value for key, value in user.items() if key != "files_to_sniff"}
    # Lines up to the buffer's size read as in FROM 'x.csv' (DuckDB's sniffer alone stops at 2 MB).
    buffer_size = max(CSV_BUFFER_SIZE, int(str(user.get("max_line_size", 0))) + (1 << 20))
    sniff_args.setdefault("buffer_size", buffer_size)

    def sniff(args: dict[str, object]) -> tuple[object, ...]:
        return rows(
            "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, "
            f"HasHeader, Columns, DateFormat, TimestampFormat FROM sniff_csv("
            f"{quote_string(sniff_target)}{_args(args)})",
            None,
        )[0]

    try:
        row = sniff(sniff_args)
    except QueryError as exc:
        raise unreadable_csv(source, exc) from exc
    if (
        is_glob(source.read_pattern)
        and _unempty(row[1]) == ""
        and "quote" not in user
        and "escape" not in user
    ):
        # The first file quotes no field, so its sniff pins no quote; DuckDB's own read of the
        # glob sniffs every file, and a later file's "p, q" is one field there. The first file
        # read with the CSV standard's quoting, if that reads it the same, is pinned instead.
        try:
            quoted = sniff({**sniff_args, "quote": '"', "escape": '"'})
        except QueryError:
            quoted = row
        if [quoted[i] for i in (0, 3, 4, 5, 6, 7, 8, 9)] == [row[i] for i in (0, 3, 4, 5, 6, 7, 8, 9)]:
            row = quoted
    if _unempty(row[4]) and "comment" not in user and "skip" not in user and int(str(row[5])):
        # Comment lines (# exported by ...) on top: DuckDB's sniffer skips them as a preamble
        # and takes the header for a row, or the first rows for a preamble too. Told the
        # comment character it found, it reads the header and every row (comments left out).
        try:
            row = sniff({**sniff_args, "comment": _unempty(row[4])})
        except QueryError as exc:
            raise unreadable_csv(source, exc) from exc
    delim, quote, escape, newline, comment, skip, header, columns, datefmt, tsfmt = row
    assert isinstance(columns, list)
    first_file = matches[0] if matches else source.read_pattern
    if int(str(skip)) and "skip" not in user and not source.is_remote:
        encoding = str(user.get("encoding") or "utf-8")
        sniffed = Sniffed(
            str(delim), str(_unempty(quote)), str(_unempty(escape)), int(str(skip)), bool(header)
        )
        ragged = ragged_tail(
            first_file, str(delim), str(_unempty(quote)), str(_unempty(escape)), encoding, sniffed=sniffed
        )
        if ragged is not None:
            raise ragged_tail_error(source.path, ragged)
        # Rows shorter, then longer: DuckDB took all but the longest for a preamble.
        _refuse_ragged_rows(
            source.path, first_file, str(delim), str(_unempty(quote)), str(_unempty(escape)), sniffed=sniffed
        )
    if len(columns) == 1 and "delim" not in user and "all_varchar" not in user:
        name = str(columns[0]["name"])
        if not source.is_remote:
            # Refused at the line the most likely delimiter (the one the most lines fit) says.
            _refuse_ragged_rows_by(source.path, first_file, [d for d in ",;\t|" if d != delim and d in name])
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
        "buffer_size": buffer_size,
    }
    if datefmt:
        pinned["dateformat"] = datefmt
    if tsfmt:
        pinned["timestampformat"] = tsfmt
    for key in ("encoding", "nullstr", "ignore_errors", "decimal_separator", "null_padding", "max_line_size"):
        if key in user:
            pinned[key] = user[key]
    pinned["columns"] = {str(c["name"]): str(c["type"]) for c in columns}
    if is_glob(source.read_pattern):
        pinned["union_by_name"] = False
        pinned["columns"] = _glob_columns(source, user, pinned, rows)
        if header and not source.is_remote:
            check_glob_headers(source, matches, pinned)
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


def regular_files(pattern: str) -> list[str]:
    """The regular files a local glob matches, sorted.

    Pipes, sockets and devices are left out, as DuckDB's glob leaves them out: opening a
    named pipe to read its header would wait for a writer forever.
    """
    import glob

    found = []
    for path in glob.glob(pattern, recursive=True, include_hidden=True):
        try:
            if stat.S_ISREG(os.stat(path).st_mode):
                found.append(path)
        except OSError:
            continue
    return sorted(found)


def check_glob_headers(source: Source, files: list[str], pinned: dict[str, object]) -> None:
    """Every file of a CSV glob has the first file's header line (SourceError if not).

    The view reads the files by position with the first file's columns: a file whose header
    names them in another order, or names others, would put its values under wrong names
    (``FROM 'x/*.csv'`` refuses such files; so does USE). Reads one line of each file.
    """
    first: tuple[str, list[str]] | None = None
    for path in files:
        names = _header_of(path, pinned)
        if names is None:
            continue  # compressed in a way Python cannot read, or not text: DuckDB reports it
        if first is None:
            first = (path, names)
        elif names != first[1]:
            raise SourceError(
                f"the files of {source.path!r} do not have the same columns: "
                f"{os.path.basename(path)} has {', '.join(names)}; "
                f"{os.path.basename(first[0])} has {', '.join(first[1])}",
                hint="USE one glob per layout, or put the columns of every file in the same order",
            )


def _header_of(path: str, pinned: dict[str, object]) -> list[str] | None:
    """The header line of a CSV file, split with the sniffed dialect; None if it cannot be read."""
    import codecs
    import csv

    encoding = str(pinned.get("encoding") or "utf-8")
    try:
        decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)("replace")
    except LookupError:
        return None
    head = head_bytes(path, 1 << 16)
    if head is None:
        return None
    text = decoder.decode(head)
    delim, quote, escape = (str(pinned.get(k) or "") for k in ("delim", "quote", "escape"))
    if len(delim) != 1 or len(quote) > 1 or len(escape) > 1:
        return None  # a dialect Python's csv module cannot split: DuckDB reads it as before
    reader = dialect_reader(text, delim, quote, escape)
    skip = int(str(pinned.get("skip") or 0))
    comment = str(pinned.get("comment") or "")
    try:
        for row in reader:
            if skip:
                skip -= 1
                continue
            if comment and row and row[0].startswith(comment):
                continue
            return [name.strip() for name in row]
    except csv.Error:
        return None
    return None


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
    if not message.startswith(("CSV error in ", f"{source.path!r} is ")):  # is gzip-compressed...
        message = f"cannot read {source.path!r} as CSV: {message}"
    return SourceError(message, hint=exc.hint or _option_at_fault(source, message))


def _option_at_fault(source: Source, message: str) -> str:
    """The hint for an unreadable CSV: the OPTIONS value DuckDB's message names, else the usual ones."""
    lowered = message.lower()
    for key, value in source.options.items():
        names = {key.lower(), key.lower().replace("_", " "), *_DUCKDB_NAMES.get(key.lower(), ())}
        shown = value if isinstance(value, (dict, list)) else str(value)
        words = [w for w in re.findall(r"[\w%]+", str(shown).lower()) if len(w) > 1 and w not in _PLAIN_WORDS]
        if any(n in lowered for n in names) or any(w in lowered for w in words):
            return f"check OPTIONS ({key} = {sql_literal(value)}): DuckDB refused the file read with it"
    return "set OPTIONS (delimiter = ..., header = ..., quote = ...) or all_varchar = true"


# Values too common in DuckDB's messages to say which option they came from.
_PLAIN_WORDS = frozenset({"true", "false", "varchar", "integer", "csv", "auto"})
# Names DuckDB's CSV messages give some options by.
_DUCKDB_NAMES = {
    "skip": ("skip_rows",),
    "types": ("column_types", "columns with names"),
    "dateformat": ("date",),
}


# Encoding names people write -> the name DuckDB's CSV reader (or the encodings extension)
# knows it by. Each extension name here was checked to decode text written by Python's codec.
_ENCODING_NAMES = {
    "utf-8": ("utf8", "utf-8", "utf_8", "u8"),
    "utf-16": ("utf16", "utf-16", "utf_16", "utf-16le", "utf16le", "utf_16_le", "utf-16-le"),
    "latin-1": ("latin-1", "latin1", "latin_1", "iso-8859-1", "iso8859-1", "iso_8859_1", "iso88591", "l1"),
    "CP1252": ("windows-1252", "cp1252", "cp-1252", "win-1252", "win1252", "windows1252"),
    "CP1250": ("windows-1250", "cp1250", "win1250"),
    "CP1251": ("windows-1251", "cp1251", "win1251"),
    "CP1253": ("windows-1253", "cp1253"),
    "CP1254": ("windows-1254", "cp1254"),
    "CP1255": ("windows-1255", "cp1255"),
    "CP1256": ("windows-1256", "cp1256"),
    "CP1257": ("windows-1257", "cp1257"),
    "CP1258": ("windows-1258", "cp1258"),
    "ISO_8859_2": ("iso-8859-2", "iso8859-2", "latin-2", "latin2"),
    "ISO_8859_5": ("iso-8859-5", "iso8859-5"),
    "ISO_8859_7": ("iso-8859-7", "iso8859-7"),
    "ISO_8859_15": ("iso-8859-15", "iso8859-15", "latin-9", "latin9"),
    "shift_jis": ("shift_jis", "shift-jis", "sjis", "s-jis"),
    "EUC_JP": ("euc-jp", "eucjp", "euc_jp"),
    "EUC_KR": ("euc-kr", "euckr", "euc_kr"),
    "zh_CN.gbk": ("gbk", "cp936", "gb2312"),
    "gb18030": ("gb18030",),
    "java-Big5-1.3_P": ("big5", "big-5"),
    "KOI8_R": ("koi8-r", "koi8_r"),
    "KOI8_U": ("koi8-u", "koi8_u"),
    "cp437": ("cp437", "ibm437"),
    "cp850": ("cp850", "ibm850"),
    "mac_roman": ("mac_roman", "macroman", "mac-roman", "macintosh"),
    "ascii": ("ascii", "us-ascii"),
}
_ENCODING_OF = {alias: name for name, aliases in _ENCODING_NAMES.items() for alias in aliases}
ENCODING_ALIASES = list(_ENCODING_OF)
# What DuckDB's CSV reader decodes itself; any other name needs the encodings extension.
CORE_ENCODINGS = ("utf-8", "utf-16", "latin-1")
COMMON_ENCODINGS = "utf-8, utf-16, latin-1, windows-1252, iso-8859-15, windows-1251, shift_jis, gbk, big5"


def duckdb_encoding(value: object) -> str:
    """The name DuckDB knows an encoding by ('latin1' -> 'latin-1', 'cp1252' -> 'CP1252')."""
    text = str(value).strip()
    lowered = text.lower()
    if lowered in ("utf-16be", "utf16be", "utf-16-be", "utf_16_be"):
        raise SourceError(
            "DuckDB reads UTF-16 little-endian only, not big-endian (UTF-16BE)",
            hint="convert the file first, e.g. iconv -f UTF-16BE -t UTF-8 in.csv > out.csv",
        )
    return _ENCODING_OF.get(lowered, text)


def needs_encodings_extension(options: dict[str, object]) -> bool:
    """True when a CSV's encoding is one DuckDB decodes only with the encodings extension."""
    return "encoding" in options and duckdb_encoding(options["encoding"]) not in CORE_ENCODINGS


def refuse_big_endian(source: Source) -> None:
    """UTF-16BE read as utf-16 gives no rows and no error in DuckDB 1.5.5: refused here."""
    first = regular_files(source.read_pattern) if is_glob(source.read_pattern) else []
    head = head_bytes(first[0] if first else source.read_pattern, 2)
    if head is None:
        return
    # A BOM FE FF, or ASCII text whose first code unit starts with a zero byte.
    if head == b"\xfe\xff" or (len(head) == 2 and head[0] == 0 and head[1] != 0):
        raise SourceError(
            f"{source.path!r} is UTF-16 big-endian: DuckDB reads UTF-16 little-endian only",
            hint="convert it first, e.g. iconv -f UTF-16BE -t UTF-8 in.csv > out.csv, "
            "then USE it without encoding",
        )


def excel_reader(source: Source, rows: Rows) -> tuple[str, dict[str, str]]:
    """read_xlsx of the sheet OPTIONS names, else the first sheet that has rows."""
    args = {key: value for key, value in source.options.items() if key != "format"}
    sheets = workbook_sheets(source, rows)
    wanted = args.get("sheet")
    if wanted is not None:
        if str(wanted) not in sheets:
            raise SourceError(
                f"workbook {source.path!r} has no sheet {wanted!r}",
                hint=f"its sheets: {', '.join(repr(s) for s in sheets) or 'none'}",
            )
        candidates = [str(wanted)]
    else:
        candidates = sheets or [""]
    for sheet in candidates:
        call = dict(args)
        if sheet:
            call["sheet"] = sheet
        reader = f"read_xlsx({quote_string(source.read_pattern)}{_args(call)})"
        try:
            rows(f"DESCRIBE SELECT * FROM {reader}", None)
        except QueryError as exc:
            # An empty cover sheet: the first sheet with rows is the source.
            if "No rows found" in exc.message and wanted is None:
                continue
            raise excel_error(source, exc, sheet) from exc
        return reader, ({"sheet": sheet} if sheet else {})
    raise SourceError(f"workbook {source.path!r} has no rows in any sheet", hint="check the workbook")


def sheet_reader(source: Source, sheet: str) -> str:
    """read_xlsx of one sheet with the source's options (its range belongs to its own sheet)."""
    args = {key: value for key, value in source.options.items() if key not in ("format", "sheet", "range")}
    return f"read_xlsx({quote_string(source.read_pattern)}{_args({'sheet': sheet, **args})})"


def excel_error(source: Source, exc: QueryError, sheet: str) -> SourceError:
    """A read_xlsx failure as one line naming the workbook (and the sheet)."""
    message = exc.message.split(": ", 1)[-1]
    where = f"sheet {sheet!r} of {source.path!r}" if sheet else repr(source.path)
    if message.startswith("Invalid range"):
        return SourceError(
            f"cannot read {where}: {message}",
            hint="write range as cells, e.g. OPTIONS (range = 'A1:F200')",
        )
    if message.startswith("No rows found"):
        return SourceError(f"cannot read {where}: it has no rows", hint="choose another sheet")
    return SourceError(f"cannot read {where} as Excel: {message}", hint=exc.hint or "check the workbook")


def workbook_sheets(source: Source, rows: Rows) -> list[str]:
    """The worksheets of an Excel source (a remote workbook is fetched once through httpfs)."""
    from noctra.engine.workbook import sheet_names

    if not source.is_remote:
        return sheet_names(source.path, source.read_pattern)
    import io

    found = rows(f"SELECT content FROM read_blob({quote_string(source.read_pattern)})", None)
    content = found[0][0] if found else b""
    return sheet_names(source.path, io.BytesIO(content if isinstance(content, bytes) else b""))


def quoted_file_reader(path: str, kind: SourceKind) -> str | None:
    """A CSV quoted in FROM is read with the same small buffer as registered sources.

    DuckDB's default buffer took a 1 GB CSV aggregation to 199 MiB peak instead of 112 MiB.
    """
    if kind is SourceKind.EXCEL:
        return f"read_xlsx({quote_string(path)})"
    if kind is SourceKind.AVRO:
        # The avro extension has no replacement scan: FROM 'x.avro' would find no table.
        return f"read_avro({quote_string(path)})"
    if kind is SourceKind.JSON and _bom_json_array(path):
        return f"read_json_auto({quote_string(path)}, format = 'array')"
    if kind is SourceKind.PARQUET and is_glob(path):
        # Files of a glob may differ: a column of a later file is kept, not dropped.
        return f"read_parquet({quote_string(path)}, union_by_name = true)"
    if kind is SourceKind.PARQUET and not path.lower().endswith(".parquet"):
        # DuckDB's replacement scan knows .parquet only: 'x.pq' would be no table.
        return f"read_parquet({quote_string(path)})"
    if kind is not SourceKind.CSV:
        return None
    comment = "" if is_glob(path) else quoted_csv_comment(path)
    told = f", comment = {sql_literal(comment)}" if comment else ""
    return f"read_csv({quote_string(path)}, buffer_size = {CSV_BUFFER_SIZE}{told})"


# The comment character quoted_csv_comment found for a file version ('' for none), oldest first.
_COMMENTS: dict[tuple[str, int, int, int, int], str] = {}


def quoted_csv_comment(path: str) -> str:
    """The comment character to read a local CSV quoted in FROM with, or ''.

    Comment lines on top (``# exported by ...``): DuckDB's sniffer skips them as a preamble
    and takes the header for a row (or the first rows for the preamble too); told the
    comment character it found, it reads the header and every row, as USE does (pinned_csv).
    Only a file with a line starting with '#' in its first 4 KB is sniffed, once per version.
    """
    try:
        info = os.stat(path)
    except OSError:
        return ""
    if not stat.S_ISREG(info.st_mode):
        return ""  # a pipe would block the open; a URL is read as it comes
    version = file_version(os.path.abspath(path), info)  # FROM 'c.csv' asks with both names
    found = _COMMENTS.get(version)
    if found is not None:
        return found
    head = head_bytes(path, 4096) or b""
    found = ""
    if head.removeprefix(b"\xef\xbb\xbf").startswith(b"#") or b"\n#" in head:
        sniffed = csv_sniff(path)
        if sniffed is not None and sniffed.comment and sniffed.skip:
            found = sniffed.comment
    _COMMENTS[version] = found
    while len(_COMMENTS) > 1024:
        del _COMMENTS[next(iter(_COMMENTS))]
    return found


def _refuse_ragged_rows(
    path: str, location: str, delim: str, quote: str, escape: str, *, sniffed: Sniffed | None = None
) -> None:
    """SourceError naming the first row whose number of fields is not the header's (ragged_rows)."""
    head = head_bytes(location, RAGGED_ROWS_BYTES)
    if head is None:
        return
    whole = len(head) < RAGGED_ROWS_BYTES
    text = head.decode("utf-8-sig", "replace")
    ragged = ragged_rows(text, delim, quote, escape, whole=whole, sniffed=sniffed)
    if ragged is not None:
        raise ragged_rows_error(path, ragged)


def _refuse_ragged_rows_by(path: str, location: str, delimiters: list[str]) -> None:
    """_refuse_ragged_rows with the delimiter of those whose first misfit comes last, if any has one."""
    head = head_bytes(location, RAGGED_ROWS_BYTES)
    if head is None:
        return
    whole = len(head) < RAGGED_ROWS_BYTES
    text = head.decode("utf-8-sig", "replace")
    found = [ragged_rows(text, d, '"', '"', whole=whole) for d in delimiters]
    ragged = max((r for r in found if r is not None), key=lambda r: r[0], default=None)
    if ragged is not None:
        raise ragged_rows_error(path, ragged)


def _unempty(value: object) -> object:
    return "" if value in (None, "(empty)") else value


def _args(options: dict[str, object]) -> str:
    """Named arguments for a DuckDB table function, every value quoted."""
    return "".join(f", {key} = {sql_literal(value)}" for key, value in options.items())
