"""Sources: what a path is, which options it takes, and the registry of aliases."""

from __future__ import annotations

import os
import re
import stat as kinds
import time
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from noctra.engine.base import Column
from noctra.engine.servers import scheme_kind
from noctra.errors import OptionError, SourceError
from noctra.quoting import quote_string
from noctra.records import field, record

if TYPE_CHECKING:
    import _csv

REMOTE_PREFIXES = ("http://", "https://", "s3://", "s3a://", "gs://", "gcs://", "az://", "r2://")
COMPRESSION_SUFFIXES = (".gz", ".gzip", ".zst", ".zstd", ".bz2")


class SourceKind(Enum):
    """What kind of thing a source is; the value is what users see."""

    CSV = "CSV"
    PARQUET = "Parquet"
    JSON = "JSON"
    SQLITE = "SQLite"
    DUCKDB = "DuckDB"
    POSTGRES = "PostgreSQL"
    MYSQL = "MySQL"
    DELTA = "Delta"
    ICEBERG = "Iceberg"
    EXCEL = "Excel"
    AVRO = "Avro"

    @property
    def is_database(self) -> bool:
        return self in (SourceKind.SQLITE, SourceKind.DUCKDB, SourceKind.POSTGRES, SourceKind.MYSQL)

    @property
    def is_server(self) -> bool:
        """A database server attached in place by URL (postgresql://, mysql://), not a file."""
        return self in (SourceKind.POSTGRES, SourceKind.MYSQL)

    @property
    def is_lake(self) -> bool:
        """A table format over a directory of files and a log of its versions (Delta, Iceberg)."""
        return self in (SourceKind.DELTA, SourceKind.ICEBERG)


_EXTENSIONS = {
    ".csv": SourceKind.CSV,
    ".tsv": SourceKind.CSV,
    ".txt": SourceKind.CSV,
    ".psv": SourceKind.CSV,
    ".tab": SourceKind.CSV,
    ".parquet": SourceKind.PARQUET,
    ".pq": SourceKind.PARQUET,
    ".json": SourceKind.JSON,
    ".jsonl": SourceKind.JSON,
    ".ndjson": SourceKind.JSON,
    ".db": SourceKind.SQLITE,
    ".sqlite": SourceKind.SQLITE,
    ".sqlite3": SourceKind.SQLITE,
    ".duckdb": SourceKind.DUCKDB,
    ".ddb": SourceKind.DUCKDB,
    ".xlsx": SourceKind.EXCEL,
    ".avro": SourceKind.AVRO,
}
_FORMAT_NAMES = {
    "csv": SourceKind.CSV,
    "tsv": SourceKind.CSV,
    "parquet": SourceKind.PARQUET,
    "json": SourceKind.JSON,
    "ndjson": SourceKind.JSON,
    "jsonl": SourceKind.JSON,
    "sqlite": SourceKind.SQLITE,
    "duckdb": SourceKind.DUCKDB,
    "delta": SourceKind.DELTA,
    "iceberg": SourceKind.ICEBERG,
    "xlsx": SourceKind.EXCEL,
    "excel": SourceKind.EXCEL,
    "avro": SourceKind.AVRO,
}

# Option name -> what it takes, per kind. ``format`` is valid everywhere.
CSV_OPTIONS = {
    "delimiter": "a one-character string, e.g. ';'",
    "header": "true or false",
    "quote": "a one-character string",
    "escape": "a one-character string",
    "skip": "a whole number of lines",
    "encoding": "an encoding name: 'utf-8', 'utf-16', 'latin-1', 'windows-1252', 'shift_jis'...",
    "nullstr": "a string (or a list of strings) read as NULL",
    "dateformat": "a strftime format such as '%d/%m/%Y'",
    "timestampformat": "a strftime format",
    "types": "a map of column to type, e.g. {'id': 'INTEGER'}",
    "all_varchar": "true or false",
    "ignore_errors": "true or false",
    "null_padding": "true or false",
    "comment": "a one-character string",
    "max_line_size": "a whole number of bytes: the longest line (default 8388608)",
    "decimal_separator": "'.' or ','",
    "sample_size": "a whole number of rows (-1 for the whole file)",
    "files_to_sniff": "a whole number of files of a glob read to type its columns (-1 for all)",
}
PARQUET_OPTIONS = {
    "hive_partitioning": "true or false",
    "union_by_name": "true or false",
    "filename": "true or false",
}
JSON_OPTIONS = {
    "json_format": "'auto', 'newline_delimited' or 'array'",
    "ignore_errors": "true or false",
    "union_by_name": "true or false",
    "maximum_object_size": "a whole number of bytes",
    "sample_size": "a whole number of rows",
    "dateformat": "a strftime format",
    "timestampformat": "a strftime format",
}
DATABASE_OPTIONS = {"readonly": "true or false", "create": "true or false"}
# A server is attached read-only unless OPTIONS (readonly = false).
SERVER_OPTIONS = {"readonly": "true or false"}
# What read_xlsx (excel extension 1.5.5) takes.
EXCEL_OPTIONS = {
    "sheet": "a sheet name (default: the first sheet)",
    "range": "a cell range such as 'A1:F200'",
    "header": "true or false",
    "all_varchar": "true or false",
    "ignore_errors": "true or false",
    "stop_at_empty": "true or false",
    "empty_as_varchar": "true or false",
    "normalize_names": "true or false",
}
# What read_avro (avro extension 1.5.5) takes; its union_by_name is 'not implemented yet'.
AVRO_OPTIONS = {
    "filename": "true or false",
    "hive_partitioning": "true or false",
}
DELTA_OPTIONS = {"version": "a whole number: the table version to read (time travel)"}
ICEBERG_OPTIONS = {
    "snapshot_id": "a whole number: the snapshot to read (time travel)",
    "allow_moved_paths": "true or false: read a table copied away from where it was written",
}


def valid_options(kind: SourceKind) -> dict[str, str]:
    """The options a kind of source accepts (besides ``format``)."""
    return _OPTIONS_OF_KIND.get(kind, DATABASE_OPTIONS)


_OPTIONS_OF_KIND = {
    SourceKind.CSV: CSV_OPTIONS,
    SourceKind.PARQUET: PARQUET_OPTIONS,
    SourceKind.JSON: JSON_OPTIONS,
    SourceKind.POSTGRES: SERVER_OPTIONS,
    SourceKind.MYSQL: SERVER_OPTIONS,
    SourceKind.DELTA: DELTA_OPTIONS,
    SourceKind.ICEBERG: ICEBERG_OPTIONS,
    SourceKind.EXCEL: EXCEL_OPTIONS,
    SourceKind.AVRO: AVRO_OPTIONS,
}


def is_remote(path: str) -> bool:
    """True for URLs that are read over the network."""
    return path.lower().startswith(REMOTE_PREFIXES)


def server_kind(path: str) -> SourceKind | None:
    """PostgreSQL or MySQL for a server URL (postgresql://, postgres://, mysql://), else None.

    Not remote files: these are databases attached in place, never read through httpfs.
    """
    name = scheme_kind(path)
    return None if name is None else SourceKind(name)


def is_glob(path: str) -> bool:
    """True when a path has glob characters."""
    return any(c in path for c in "*?[")


def names_a_glob(location: str) -> bool:
    """True when a local location is a pattern to expand, not a file named with ``*?[`` in it.

    A file that exists under exactly that name (``report[1].csv``, ``q?.csv``) is that file,
    as DuckDB reads it when the pattern matches nothing else.
    """
    return is_glob(location) and not os.path.isfile(location)


def escape_glob(path: str) -> str:
    """A path whose ``*?[`` stand for themselves in DuckDB's glob and Python's (``[[]``, ``[?]``)."""
    return re.sub(r"([*?\[])", r"[\1]", path)


def kind_from_name(name: str) -> SourceKind | None:
    """The kind an extension stands for (compression suffixes are looked through).

    A URL's query string (``x.csv?token=...``) is left out; a local name keeps its ``?``.
    """
    lowered = name.lower()
    if "://" in lowered:
        lowered = lowered.split("?", 1)[0]
    for suffix in COMPRESSION_SUFFIXES:
        if lowered.endswith(suffix):
            lowered = lowered[: -len(suffix)]
            break
    return _EXTENSIONS.get(os.path.splitext(lowered)[1])


def kind_from_format(value: object) -> SourceKind:
    """The kind named by ``OPTIONS (format = '...')``."""
    kind = _FORMAT_NAMES.get(str(value).lower())
    if kind is None:
        raise OptionError(
            f"unknown format {value!r}",
            hint=f"valid formats: {', '.join(sorted(_FORMAT_NAMES))}",
        )
    return kind


def check_options(kind: SourceKind, options: dict[str, object]) -> None:
    """Reject unknown options and values of the wrong shape, listing what is valid."""
    valid = valid_options(kind)
    for key, value in options.items():
        if key == "format":
            continue
        if key not in valid:
            raise OptionError(
                f"unknown {kind.value} option {key!r}",
                hint=f"valid {kind.value} options: {', '.join(['format', *sorted(valid)])}",
            )
        check_value(kind.value, key, value, valid[key])
        if key == "delimiter" and value == "":
            raise OptionError(
                f"{kind.value} option 'delimiter' must not be empty: each line would be one column",
                hint="write OPTIONS (delimiter = ';'), or leave it out: it is detected",
            )


def check_value(label: str, key: str, value: object, expected: str) -> None:
    """Reject a value of the wrong shape for an option whose docs say ``expected``."""
    if expected == "true or false":
        fits, example = isinstance(value, bool), "true"
    elif expected.startswith("a whole number"):
        fits, example = isinstance(value, int) and not isinstance(value, bool), "1000"
    elif expected.startswith("a one-character"):
        fits, example = isinstance(value, str) and len(value) <= 4, "';'"
    elif expected.startswith("a map"):
        fits = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        example = "{'id': 'INTEGER'}"
    elif expected.startswith("'"):
        choices = re.findall(r"'([^']*)'", expected)
        fits, example = str(value).lower() in [c.lower() for c in choices], f"'{choices[0]}'"
    else:
        return
    if not fits:
        raise OptionError(
            f"{label} option {key!r} must be {expected}, not {value!r}",
            hint=f"write OPTIONS ({key} = {example})",
        )


# A file changed this recently may change again within its timestamps' resolution (2 s on
# FAT, a clock tick on older Linux kernels) keeping its size, mtime and ctime.
RACY_NS = 2_000_000_000
# A file's content fingerprint: its first and last bytes (as the persistent cache's, SPEC 4.5).
FINGERPRINT_BYTES = 64 * 1024


@record(frozen=True)
class Signature:
    """What a source's files looked like when it was registered: to see changes.

    Per file: path, size, mtime_ns, inode, ctime_ns and a content fingerprint. A rewrite
    that keeps the size and puts the mtime back (cp -p, rsync -t, os.utime) still changes
    the ctime, which no user can set, or the inode; the fingerprint is taken only while a
    file is within RACY_NS of its last change, when a rewrite may keep even the ctime. A
    URL's entry is its size and Last-Modified, inode 0 and, as ctime, when they were read.
    """

    files: tuple[tuple[str, int, int, int, int, str], ...]

    @property
    def size(self) -> int:
        return sum(entry[1] for entry in self.files)


def content_fingerprint(path: str) -> str:
    """A digest of a file's first and last FINGERPRINT_BYTES (OSError when it cannot be read)."""
    from noctra.engine.cache import _blake2b

    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        digest = _blake2b(handle.read(FINGERPRINT_BYTES))
        if size > FINGERPRINT_BYTES:
            handle.seek(max(FINGERPRINT_BYTES, size - FINGERPRINT_BYTES))
            digest.update(handle.read(FINGERPRINT_BYTES))
    return str(digest.hexdigest())


def signature_of(location: str) -> Signature | None:
    """Size, mtime, inode and ctime of every regular file behind a local location (and the
    fingerprint of those changed within RACY_NS); None when nothing is there.

    Pipes, sockets and devices are left out, as DuckDB's glob leaves them out: none is read.
    """
    if is_remote(location) or server_kind(location) is not None:
        return Signature(())
    paths: list[str]
    if os.path.isdir(location):
        paths = [
            os.path.join(root, name)
            for root, _, names in os.walk(location)
            for name in names
            if not name.startswith((".", "_"))
        ]
    elif names_a_glob(location):
        import glob

        paths = glob.glob(location, recursive=True, include_hidden=True)  # DuckDB's * matches .files
    else:
        paths = [location]
    files = []
    now = time.time_ns()
    for path in sorted(paths):
        try:
            stat = os.stat(path)
            if not kinds.S_ISREG(stat.st_mode):
                continue
            racy = now - max(stat.st_mtime_ns, stat.st_ctime_ns) < RACY_NS
            fingerprint = content_fingerprint(path) if racy else ""
        except OSError:
            continue
        files.append((*file_version(path, stat), fingerprint))
    if not files:
        return None
    return Signature(tuple(files))


def file_version(path: str, stat: os.stat_result) -> tuple[str, int, int, int, int]:
    """A file as signature_of sees it: path, size, mtime, inode, ctime (any rewrite moves ctime)."""
    return (path, stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns)


def unchanged(known: Signature | None, now: Signature | None) -> bool:
    """True when files seen as ``now`` (signature_of) are as they were when ``known`` was taken.

    A file ``known`` fingerprinted (it had just changed then) is fingerprinted again if
    ``now`` did not: a rewrite within the same tick keeps every timestamp.
    """
    if known is None or now is None or len(known.files) != len(now.files):
        return known is None and now is None
    for old, new in zip(known.files, now.files, strict=True):
        if old[:5] != new[:5]:
            return False
        if old[5]:
            try:
                if old[5] != (new[5] or content_fingerprint(new[0])):
                    return False
            except OSError:
                return False
    return True


@record
class Source:
    """A registered source: alias, where it is, what it is and how it is read."""

    alias: str
    path: str
    location: str
    kind: SourceKind
    options: dict[str, object] = field(default_factory=dict)
    signature: Signature | None = None
    read_pattern: str = ""
    columns: int = 0
    dialect: dict[str, str] = field(default_factory=dict)
    status: str = "ok"
    reader: str = ""  # the table-function call behind a file source's view
    schema: tuple[Column, ...] = ()  # a file source's columns, as the engine read them

    @property
    def is_remote(self) -> bool:
        return is_remote(self.location)

    @property
    def size(self) -> int | None:
        if self.signature is None or self.is_remote or self.kind.is_server:
            return None
        return self.signature.size


def resolve_location(path: str, base: Path) -> str:
    """An absolute local path (``~`` expanded) or the URL unchanged."""
    if is_remote(path) or server_kind(path) is not None:
        return path
    expanded = os.path.expanduser(path)
    if not os.path.isabs(expanded):
        expanded = os.path.join(base, expanded)
    return expanded if names_a_glob(expanded) else os.path.normpath(expanded)


# Kinds whose DuckDB reader expands a glob in its path (read_xlsx and ATTACH open it as named).
_MULTI_FILE_KINDS = (SourceKind.CSV, SourceKind.PARQUET, SourceKind.JSON, SourceKind.AVRO)

# A directory source is looked through once to learn its format; past this many files
# (USE '/' by mistake, a home directory) a glob says better what is meant.
MAX_DIRECTORY_FILES = 10_000


_LAKE_MARK = {SourceKind.DELTA: "_delta_log/ folder", SourceKind.ICEBERG: "metadata/*.metadata.json file"}


def _a(kind: SourceKind) -> str:
    """'a Delta', 'an Iceberg'."""
    return ("an " if kind.value[0] in "AEIOU" else "a ") + kind.value


def lake_kind(path: str, location: str) -> SourceKind | None:
    """Delta (``_delta_log/``) or Iceberg (``metadata/*.metadata.json``) for a local folder, else None.

    Checked before the folder is read as plain data files: a lake table's Parquet files
    hold deleted and replaced rows that only its log leaves out.
    """
    if os.path.isdir(os.path.join(location, "_delta_log")):
        return SourceKind.DELTA
    metadata = os.path.join(location, "metadata")
    if not os.path.isdir(metadata):
        return None
    names = os.listdir(metadata)
    if any(name.endswith(".metadata.json") for name in names):
        return SourceKind.ICEBERG
    if any(name.endswith(".avro") or name == "version-hint.text" for name in names):
        raise SourceError(
            f"{path!r} looks like an Iceberg table but metadata/ has no *.metadata.json file",
            hint="the table's metadata is missing: copy the whole table folder, "
            "or read its data files with a glob, e.g. USE 'dir/data/*.parquet'",
        )
    return None


def files_of_directory(location: str) -> tuple[SourceKind, str]:
    """The kind of the files in a directory and a glob that reads them all (hive dirs too)."""
    counts: dict[SourceKind, int] = {}
    suffix_of: dict[SourceKind, str] = {}
    seen = 0
    for root, dirs, names in os.walk(location):
        nested = lake_kind(root, root) if "_delta_log" in dirs or "metadata" in dirs else None
        if nested is not None:
            inner = os.path.relpath(root, location)
            raise SourceError(
                f"directory {location!r} holds {_a(nested)} table in {inner!r}",
                hint=f"USE {os.path.join(location, inner)!r} reads that table; its Parquet files read "
                "as plain files would bring back rows its log deleted",
            )
        seen += len(names)
        if seen > MAX_DIRECTORY_FILES:
            raise SourceError(
                f"directory {location!r} has more than {MAX_DIRECTORY_FILES:,} files",
                hint="name the files you mean with a glob, e.g. USE 'dir/*.parquet'",
            )
        for name in names:
            if name.startswith((".", "_")):
                continue
            kind = kind_from_name(name)
            if kind is not None and not kind.is_database:
                counts[kind] = counts.get(kind, 0) + 1
                suffix_of.setdefault(kind, name[name.index(".") :] if "." in name else "")
    if not counts:
        raise SourceError(
            f"directory {location!r} holds no CSV, Parquet or JSON files",
            hint="point USE at a file, a glob like 'dir/*.csv', or a directory of data files",
        )
    if len(counts) > 1:
        found = ", ".join(f"{n} {k.value}" for k, n in counts.items())
        raise SourceError(
            f"directory {location!r} mixes formats ({found})",
            hint="use a glob for one format, e.g. USE 'dir/*.parquet'",
        )
    kind = next(iter(counts))
    # The folder's own name is literal: '[', '*' and '?' in it would be read as a pattern.
    import glob

    return kind, os.path.join(glob.escape(location), "**", "*" + glob.escape(suffix_of[kind]))


def detect(path: str, location: str, options: dict[str, object]) -> tuple[SourceKind, str]:
    """The kind of a source and the pattern its reader takes; raises SourceError if unusable."""
    if not path.strip():
        raise SourceError("the path is empty", hint="write USE 'file.csv' AS name")
    forced = kind_from_format(options["format"]) if "format" in options else None
    server = server_kind(location)
    if server is not None:
        if forced is not None and forced is not server:
            raise OptionError(
                f"a {server.value} URL cannot be read as {forced.value}",
                hint="leave out OPTIONS (format = ...): the URL's scheme says what it is",
            )
        return server, location
    if forced in (None, SourceKind.EXCEL):
        refuse_unreadable_format(path)
    if is_remote(location):
        kind = forced or kind_from_name(location)
        if kind is None:
            raise SourceError(
                f"cannot tell the format of {path!r} from its name",
                hint="add OPTIONS (format = 'csv'|'parquet'|'json'), or 'delta'|'iceberg' for a table folder",
            )
        return kind, location.rstrip("/") if kind.is_lake else location
    if forced is SourceKind.ICEBERG and location.endswith(".metadata.json") and os.path.isfile(location):
        return forced, location  # one version of the table, named by its metadata file
    if forced is not None and forced.is_lake and not os.path.isdir(location):
        raise SourceError(
            f"{path!r} is not {_a(forced)} table: "
            + ("there is no such folder" if not os.path.exists(location) else "it is a file, not a folder"),
            hint=f"point USE at the table's folder (the one holding its {_LAKE_MARK[forced]})",
        )
    if os.path.isdir(location):
        lake = lake_kind(path, location)
        if forced is not None and forced.is_lake and lake is not forced:
            hint = f"point USE at the table's folder (the one holding its {_LAKE_MARK[forced]})"
            if lake is not None:
                hint += f"; it looks like {_a(lake)} table: OPTIONS (format = '{lake.name.lower()}')"
            raise SourceError(
                f"{path!r} is not {_a(forced)} table: it has no {_LAKE_MARK[forced]}", hint=hint
            )
        if lake is not None and (forced is None or forced is lake):
            return lake, location
        kind, pattern = files_of_directory(location)
        if (forced or kind) is SourceKind.EXCEL:
            raise one_workbook_error(path)
        return forced or kind, pattern
    if names_a_glob(location):
        import glob

        matches = [m for m in glob.glob(location, recursive=True, include_hidden=True) if os.path.isfile(m)]
        if not matches:
            raise SourceError(
                f"no files match {path!r}",
                hint="check the pattern; paths are relative to the current directory",
            )
        kind = forced or kind_from_name(location) or kind_from_name(matches[0])
        if kind is None:
            raise SourceError(
                f"cannot tell the format of {path!r} from its name",
                hint="add OPTIONS (format = 'csv'|'parquet'|'json')",
            )
        if kind is SourceKind.EXCEL:
            raise one_workbook_error(path)
        return kind, location
    if not os.path.exists(location):
        wanted = forced or kind_from_name(location)
        if wanted is not None and wanted.is_database and options.get("create") is True:
            return wanted, location
        hint = f"no such file at {location}; check the path (relative to the current directory)"
        if wanted is not None and wanted.is_database and options.get("readonly") is not True:
            hint += "; to start a new database add OPTIONS (create = true)"
        raise SourceError(
            f"file not found: {path!r}",
            hint=hint,
        )
    if not os.access(location, os.R_OK):
        raise SourceError(f"cannot read {path!r}: permission denied", hint="check its permissions")
    kind = forced or kind_from_name(location)
    if kind is None:
        raise SourceError(
            f"cannot tell the format of {path!r} from its extension",
            hint="add OPTIONS (format = 'csv'|'parquet'|'json'|'xlsx'|'avro'|'sqlite'|'duckdb')",
        )
    if os.path.getsize(location) == 0 and not kind.is_database:
        raise SourceError(
            f"{path!r} is empty (0 bytes)",
            hint="a source needs at least a header line or one record",
        )
    if os.path.isfile(location):
        refuse_lying_extension(path, location, kind)
    if is_glob(location) and kind in _MULTI_FILE_KINDS:
        return kind, escape_glob(location)  # read_csv('report[1].csv') would read report1.csv
    return kind, location


def refuse_unreadable_format(path: str) -> None:
    """An Excel 97-2003 workbook (.xls): DuckDB's excel extension reads .xlsx only.

    Also a bzip2-compressed file (.bz2): DuckDB reads gzip and zstd only, and its sniffer
    would blame the delimiter.
    """
    name = path.lower().split("?", 1)[0]
    if name.endswith(".xls"):
        raise SourceError(
            f"cannot read {path!r}: Excel 97-2003 workbooks (.xls) are not supported, only .xlsx",
            hint="open it in Excel or LibreOffice and save it as .xlsx "
            "(or: libreoffice --headless --convert-to xlsx FILE.xls)",
        )
    if name.endswith(".bz2"):
        plain = os.path.basename(path.split("?", 1)[0])[:-4]
        raise SourceError(
            f"cannot read {path!r}: bzip2 files (.bz2) are not supported, only gzip (.gz) and zstd (.zst)",
            hint=f"decompress it (bunzip2 -k {os.path.basename(path)}) and read {plain}, or gzip it",
        )


# What a file's first bytes say it is, for text files whose name says otherwise.
_MAGIC = (
    (b"\x1f\x8b", "gzip-compressed", ".gz", "compression = 'gzip'"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", ".zst", "compression = 'zstd'"),
    (b"PAR1", "a Parquet file", ".parquet", ""),
    (b"PK\x03\x04", "a zip archive (or an .xlsx workbook)", ".zip / .xlsx", ""),
    (b"SQLite format 3\x00", "a SQLite database", ".db", ""),
)


def refuse_lying_extension(path: str, location: str, kind: SourceKind) -> None:
    """A local CSV/JSON file whose bytes are something else (SPEC 6: extensions that lie)."""
    if kind not in (SourceKind.CSV, SourceKind.JSON) or location.lower().endswith((".gz", ".zst")):
        return
    try:
        with open(location, "rb") as handle:
            head = handle.read(16)
            handle.seek(-4, os.SEEK_END)
            tail = handle.read(4)
    except OSError:
        return  # unreadable: the read itself says why
    error = lying_extension_error(
        path, os.path.basename(location), kind, head, tail=tail, rename="rename it to"
    )
    if error is not None:
        raise error


def lying_extension_error(
    path: str, name: str, kind: SourceKind, head: bytes, *, tail: bytes | None, rename: str
) -> SourceError | None:
    """The error for a CSV/JSON file ``name`` whose first bytes (``head``) are another format.

    ``tail`` (the last 4 bytes) tells a Parquet file from text that starts with "PAR1";
    None when they are not known (a remote file): such a file is not called Parquet.
    ``rename`` starts the hint ("rename it to").
    """
    for magic, what, suffix, option in _MAGIC:
        if not head.startswith(magic) or (magic == b"PAR1" and tail != magic):  # "PAR1,..." may be text
            continue
        reader = "read_csv" if kind is SourceKind.CSV else "read_json"
        renamed = name + suffix if option else f"{os.path.splitext(name)[0]}{suffix}"
        fix = f"{rename} {renamed}"
        if option:
            fix += f", or in FROM: {reader}({quote_string(path)}, {option})"
        if any(name.lower().endswith(s.strip()) for s in suffix.split("/")):
            # Its name says what it is: OPTIONS (format = ...) asked for another kind.
            fix = f"leave out OPTIONS (format = ...): the name {name} already reads it as {what}"
        return SourceError(f"{path!r} is {what}, not {kind.value} text", hint=fix)
    return None


def remote_lying_extension(url: str, kind: SourceKind) -> SourceError | None:
    """The error for a remote CSV/JSON file whose bytes are compressed (or another format).

    A .csv file gzipped, or sent with ``Content-Encoding: gzip``: DuckDB reads the bytes as
    they come and calls them "not UTF-8". Asked only once a read failed so: one GET of the
    first 16 bytes, over HTTP(S) only (an S3 object needs httpfs's credentials).
    """
    head = remote_head_bytes(url, 16)
    if not head:
        return None
    name = os.path.basename(url.split("?", 1)[0].rstrip("/")) or url
    return lying_extension_error(url, name, kind, head, tail=None, rename="rename it on the server to")


def remote_head_bytes(url: str, size: int, *, timeout: float = 5.0) -> bytes | None:
    """The first ``size`` bytes of an http(s) URL as the server sends them (one ranged GET).

    None for other schemes and when the server cannot be read (the read itself said why).
    """
    if not url.lower().startswith(("http://", "https://")):
        return None
    import http.client
    import urllib.request

    request = urllib.request.Request(url, headers={"Range": f"bytes=0-{size - 1}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(size)
    except (OSError, ValueError, http.client.HTTPException):
        return None
    return bytes(data)


def head_bytes(path: str, size: int) -> bytes | None:
    """The first bytes of a local regular file (gzip read through); None for anything else."""
    try:
        if not kinds.S_ISREG(os.stat(path).st_mode):
            return None  # a pipe would block until a writer comes; DuckDB's glob skips it
        if path.endswith(".gz"):
            import gzip

            with gzip.open(path, "rb") as handle:
                return handle.read(size)
        if path.endswith((".zst", ".zstd", ".bz2", ".xz")):
            return None
        with open(path, "rb") as handle:
            return handle.read(size)
    except (OSError, EOFError):
        return None


# What a ragged-tail check reads of a file at most (DuckDB's sniffer takes up to ~2,000 lines
# for a preamble; past ~3,000 it cannot sniff such a file and says so itself).
RAGGED_HEAD_BYTES = 4 << 20


@record(frozen=True)
class Sniffed:
    """What DuckDB's sniffer made of a CSV: its dialect, the lines it skips, and whether a header follows."""

    delimiter: str
    quote: str
    escape: str
    skip: int
    header: bool
    comment: str = ""


def ragged_tail(
    path: str, delim: str, quote: str, escape: str, encoding: str, *, sniffed: Sniffed | None = None
) -> tuple[int, int, int] | None:
    """A CSV whose last rows have more fields than every line before them (R4-3).

    DuckDB's sniffer takes such a file (``a,b / 1,2 / 3,4 / 7,8,9``) for a preamble followed
    by a header-less table of the longer rows: every line before them skipped, no error. A
    real preamble (a title, notes) comes before more rows than it has; here the lines before
    all split into the same number (2 or more) of fields and are at least as many as the
    longer rows. A key,value preamble over a header and fewer rows (a bank statement with one
    transaction) is not flagged when DuckDB's sniff (``sniffed``) read it so (preamble_then_table).
    Returns (line of the first longer row, its fields, the fields before), or None.
    """
    import codecs
    import csv

    if len(delim) != 1 or len(quote) > 1 or len(escape) > 1:
        return None
    head = head_bytes(path, RAGGED_HEAD_BYTES)
    if head is None or len(head) == RAGGED_HEAD_BYTES:
        return None  # not a local file, or more of it than is counted here
    try:
        text = codecs.decode(head, "utf-8-sig" if encoding == "utf-8" else encoding, "replace")
    except LookupError:
        return None
    reader = dialect_reader(text, delim, quote, escape)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if row:
                rows.append(row)
                lines.append(reader.line_num)
    except csv.Error:
        return None
    widths = [len(row) for row in rows]
    width = widths[0] if widths else 0
    before = next((i for i, w in enumerate(widths) if w != width), len(widths))
    kept = widths[before:]
    if width < 2 or not kept or len(kept) > before or min(kept) <= width:
        return None
    if sniffed is not None and preamble_then_table(rows, lines, before, sniffed):
        return None
    return lines[before - 1] + 1, kept[0], width


# A field DuckDB's sniffer types as other than text: a number, a date or time, a boolean.
_TYPED = re.compile(
    r"[-+]?(?:\d[\d_]*(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?%?"
    r"|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\S.*)?"
    r"|\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"|true|false",
    re.IGNORECASE,
)


def _names_columns(header: list[str], rows: list[list[str]]) -> bool:
    """A line that names the columns of the rows under it: each of its fields is text (not a
    number, date or boolean) and some row holds such a value under it, as DuckDB tells a header."""
    if not rows or not all(f.strip() and _TYPED.fullmatch(f.strip()) is None for f in header):
        return False
    return any(_TYPED.fullmatch(v.strip()) is not None for row in rows for v in row[: len(header)])


def preamble_then_table(rows: list[list[str]], lines: list[int], start: int, sniffed: Sniffed) -> bool:
    """``rows[:start]`` a preamble DuckDB skips, ``rows[start]`` the header of the table after it.

    A bank statement: ``Account,12345 / Period,2024-01 / date,desc,amount / 2024-01-02,Coffee,-3.5``.
    True when the rows from ``start`` all have its number of fields, it names their columns
    (text over numbers or dates: _names_columns), the preamble is not itself a table (a line
    of names over typed values: ``a,b / 1,2 / x,y,z / 5,6,7`` is refused), and DuckDB's sniff
    skipped exactly the preamble and read a header. ``lines`` are the rows' (last) line numbers.
    """
    if start < 1 or start >= len(rows) - 1 or len({len(row) for row in rows[start:]}) != 1:
        return False
    if not sniffed.header or not lines[start - 1] <= sniffed.skip < lines[start]:
        return False  # DuckDB skips other lines, or reads the names as a row
    if not _names_columns(rows[start], rows[start + 1 :]):
        return False
    return not _names_columns(rows[0], rows[1:start])


def ragged_tail_error(path: str, ragged: tuple[int, int, int]) -> SourceError:
    """The one-line error for a CSV whose last rows have more fields than the lines before."""
    line, fields, width = ragged
    return SourceError(
        f"cannot read {path!r} as CSV: line {line} has {fields} fields, the lines before it have {width}",
        hint="null_padding = true reads every row (NULL for the missing fields), ignore_errors = "
        f"true leaves the longer rows out, skip = {line - 1} says the lines before are a preamble: "
        f"in USE's OPTIONS (...), or read_csv({quote_string(path)}, ...)",
    )


# What the check of a quoted CSV's rows reads of its start (FROM 'x.csv', every statement).
RAGGED_ROWS_BYTES = 64 << 10


def ragged_rows(
    text: str, delim: str, quote: str, escape: str, *, whole: bool, sniffed: Sniffed | None = None
) -> tuple[int, int, int] | None:
    """A CSV text whose rows after the header do not all have the header's number of fields.

    DuckDB's sniffer reads such a file wrong without a word: as one column holding whole
    lines (``a,b / 1,2 / 5,6,7 / 8,9``), or as its longest rows alone, the lines before taken
    for a preamble (``a,b,c / 1,2,3 / 4,5 / 6,7,8,9``). The header is the first line of 2 or
    more fields (single-field lines may come first). Rows of one width at the end that are more
    than half of all are a table after a preamble, which DuckDB reads right: not flagged. A row
    of more fields whose extra ones are empty (``1,2,``: a trailing delimiter) fits. ``whole``
    is False when text is the start of a longer file: its last, maybe cut, row is not counted.
    A key,value preamble then a header and rows DuckDB's sniff (``sniffed``) skips as such is
    not flagged (preamble_then_table). Returns (line of the first row that does not fit, its
    fields, the header's), or None.
    """
    import csv

    if len(delim) != 1 or len(quote) > 1 or len(escape) > 1 or "\x00" in text:
        return None  # NUL: UTF-16 or binary bytes, which other checks name
    reader = dialect_reader(text, delim, quote, escape)
    rows: list[tuple[int, list[str]]] = []  # (line, fields) of each non-empty row
    try:
        rows = [(reader.line_num, row) for row in reader if row and row != [""]]
    except csv.Error:
        return None
    if not whole:
        rows = rows[:-1]
    start = next((i for i, (_, row) in enumerate(rows) if len(row) >= 2), None)
    if start is None:
        return None
    width = len(rows[start][1])
    widths = [width] + [_fields_past(row, width) for _, row in rows[start + 1 :]]
    last = widths[-1]
    run = 1  # rows of the last row's width at the end
    while run < len(widths) and widths[-run - 1] == last:
        run += 1
    if last >= 2 and run * 2 > len(widths):
        return None  # one shape to the end, after a preamble (or none): DuckDB reads it right
    lines = [line for line, _ in rows[start:]]
    at = next((i for i, w in enumerate(widths) if w != width), None)
    if at is None:
        return None
    fields = [row for _, row in rows[start:]]
    if sniffed is not None and preamble_then_table(fields, lines, at, sniffed):
        return None
    return lines[at], widths[at], width


def _fields_past(row: list[str], width: int) -> int:
    """A row's number of fields, its empty ones past ``width`` not counted (a trailing delimiter)."""
    while len(row) > width and row[-1] == "":
        row = row[:-1]
    return len(row)


def ragged_rows_error(path: str, ragged: tuple[int, int, int]) -> SourceError:
    """The one-line error for a CSV whose rows after the header have other numbers of fields."""
    line, fields, width = ragged
    return SourceError(
        f"cannot read {path!r} as CSV: line {line} has {fields} field{'s' if fields != 1 else ''}, "
        f"its header has {width}",
        hint="null_padding = true reads every row (NULL for the missing fields), ignore_errors = "
        f"true leaves such rows out: in USE's OPTIONS (...), or read_csv({quote_string(path)}, ...)",
    )


def refuse_ragged_tail(path: str, location: str) -> None:
    """``FROM 'x.csv'`` whose rows do not all have the header's fields: SourceError, not a wrong read.

    A few KB from each end of the file say whether its last line has more fields than its
    first (18 us on a 1 MB file); only then is the file read to count its rows' fields.
    The file's first 64 KB are checked for rows of another width (ragged_rows, ~0.3 ms).
    """
    try:
        info = os.stat(location)
        if not kinds.S_ISREG(info.st_mode) or location.lower().endswith(COMPRESSION_SUFFIXES):
            return  # a pipe would block the open; a compressed file's bytes say nothing here
    except OSError:
        return
    # A file that passed and has not changed since passes again, without reading it (each
    # statement quoting a CSV asks: 1.4-2.6 ms of reading and parsing its first 64 KB).
    signature = file_version(location, info)
    if signature in _RAGGED_CHECKED:
        return
    if not _check_ragged(path, location, info):
        return
    _RAGGED_CHECKED[signature] = None
    while len(_RAGGED_CHECKED) > 1024:
        del _RAGGED_CHECKED[next(iter(_RAGGED_CHECKED))]


# Signatures of files refuse_ragged_tail passed (oldest first).
_RAGGED_CHECKED: dict[tuple[str, int, int, int, int], None] = {}


def _check_ragged(path: str, location: str, info: os.stat_result) -> bool:
    """Raise for a ragged CSV; True when the file was read and passed, False if it could not be read.

    The delimiter is guessed first (the first of , ; TAB | in the header line, TAB first in
    a .tsv, | in a .psv): a file that passes so is read no further. One it flags is sniffed
    by DuckDB (csv_sniff, ~25 ms): a header holding another delimiter (``Name;Amount (EUR,
    net)``, ``id<TAB>note; extra``) is checked again with the delimiter DuckDB reads it with,
    and a key,value preamble over a header and rows passes when DuckDB skips it as one
    (preamble_then_table).
    """
    try:
        with open(location, "rb") as handle:
            head = handle.read(RAGGED_ROWS_BYTES)
            handle.seek(max(0, info.st_size - 4096))
            last = handle.read(4096).rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
    except OSError:
        return False
    first = re.sub(rb'"[^"]*"', b"", head.split(b"\n", 1)[0])
    last = re.sub(rb'"[^"]*"', b"", last)
    whole = len(head) == info.st_size
    # A .tsv/.tab file is split by TAB first, a .psv file by |: what their header holds besides.
    order = {".tsv": "\t", ".tab": "\t", ".psv": "|"}.get(os.path.splitext(location.lower())[1], "")
    guessed = [d for d in dict.fromkeys((*order, ",", ";", "\t", "|")) if d.encode() in first]
    error = _ragged_error(path, location, head, first, last, guessed, '"', None, whole=whole)
    if error is None:
        return True
    sniffed = csv_sniff(location)
    if sniffed is None or len(sniffed.delimiter) != 1 or sniffed.delimiter.encode() not in first:
        # DuckDB reads the header as one column (the lines glued): refused, at the line
        # the most likely delimiter (the one the most lines fit) says.
        parts = (path, location, head, first, last)
        each = (_ragged_error(*parts, [d], '"', None, whole=whole) for d in guessed)
        raise max((e for e in each if e is not None), key=lambda e: e[0], default=error)[1]
    quote = sniffed.quote if len(sniffed.quote) == 1 else '"'
    again = _ragged_error(path, location, head, first, last, [sniffed.delimiter], quote, sniffed, whole=whole)
    if again is not None:
        raise again[1]
    return True


def _ragged_error(  # noqa: PLR0917 (the file's parts, read once by _check_ragged)
    path: str,
    location: str,
    head: bytes,
    first: bytes,
    last: bytes,
    delimiters: list[str],
    quote: str,
    sniffed: Sniffed | None,
    *,
    whole: bool,
) -> tuple[int, SourceError] | None:
    """The ragged_tail or ragged_rows error of a CSV split by the first of ``delimiters`` (its
    head, first and last line given), with the line it names; each delimiter is tried for a
    last line with more of it than the first."""
    for delim in delimiters:
        if first.count(delim.encode()) < last.count(delim.encode()):
            ragged = ragged_tail(location, delim, quote, quote, "utf-8", sniffed=sniffed)
            if ragged is not None:
                return ragged[0], ragged_tail_error(path, ragged)
    if not delimiters:
        return None
    text = head.decode("utf-8-sig", "replace")
    rows = ragged_rows(text, delimiters[0], quote, quote, whole=whole, sniffed=sniffed)
    return None if rows is None else (rows[0], ragged_rows_error(path, rows))


def csv_sniff(location: str) -> Sniffed | None:
    """What DuckDB's sniffer makes of a local CSV, as ``FROM 'x.csv'`` reads it; None if it cannot.

    On a connection of its own (~15 ms to open, a few ms to sniff): asked only of a file the
    quick ragged checks flag, or that has a line starting with '#' (readers.quoted_csv_comment).
    """
    import duckdb

    from noctra.engine.duck.readers import CSV_BUFFER_SIZE

    query = (
        "SELECT Delimiter, Quote, Escape, SkipRows, HasHeader, Comment FROM "
        f"sniff_csv({quote_string(location)}, buffer_size = {CSV_BUFFER_SIZE})"
    )
    try:
        with duckdb.connect(config={"threads": 1}) as con:
            found = con.execute(query).fetchone()
    except duckdb.Error:
        return None
    if found is None:
        return None
    delim, quote, escape, skip, header, comment = (("" if v == "(empty)" else v) for v in found)
    return Sniffed(str(delim), str(quote), str(escape), int(str(skip or 0)), bool(header), str(comment))


def one_workbook_error(path: str) -> SourceError:
    """Globs and directories of workbooks: read_xlsx reads one workbook at a time."""
    return SourceError(
        f"cannot read {path!r} as one source: Excel workbooks are read one at a time",
        hint="USE each workbook on its own (USE 'a.xlsx' AS a; USE 'b.xlsx' AS b), "
        "then SELECT * FROM a UNION ALL BY NAME SELECT * FROM b",
    )


class SourceRegistry:
    """The registered sources by alias (in the order they came) and the current one."""

    def __init__(self) -> None:
        self._sources: dict[str, Source] = {}
        self.current: str | None = None
        # Bumped on every add/remove: caches keyed on the set of sources use it.
        self.revision = 0

    def __contains__(self, alias: str) -> bool:
        return alias.lower() in self._sources

    def __iter__(self) -> Iterator[Source]:
        return iter(list(self._sources.values()))

    def __len__(self) -> int:
        return len(self._sources)

    def peek(self, alias: str) -> Source | None:
        """The source with that alias, or None."""
        return self._sources.get(alias.lower())

    def get(self, alias: str) -> Source | None:
        """The source with that alias, or None."""
        return self._sources.get(alias.lower())

    def require(self, alias: str) -> Source:
        """The source with that alias, or an error listing the ones there are."""
        source = self.get(alias)
        if source is None:
            known = ", ".join(s.alias for s in self) or "none yet"
            raise SourceError(
                f"unknown source {alias!r}",
                hint=f"registered sources: {known}; add one with USE 'file' AS "
                + (alias if alias.isidentifier() else "name"),
            )
        return source

    def add(self, source: Source) -> Source | None:
        """Add or replace a source; returns the one it replaced."""
        previous = self._sources.pop(source.alias.lower(), None)
        self._sources[source.alias.lower()] = source
        self.revision += 1
        return previous

    def remove(self, alias: str) -> Source:
        source = self.require(alias)
        del self._sources[alias.lower()]
        self.revision += 1
        if self.current is not None and self.current.lower() == alias.lower():
            self.current = None
        return source

    def by_location(self, location: str) -> Source | None:
        for source in self._sources.values():
            if source.location == location:
                return source
        return None

    def free_alias(self, wanted: str) -> str:
        """wanted, or wanted_2, wanted_3... if taken."""
        alias, n = wanted, 1
        while alias.lower() in self._sources:
            n += 1
            alias = f"{wanted}_{n}"
        return alias


def is_wal(path: str) -> bool:
    """True for a SQLite database in WAL mode (its header's read/write versions are 2)."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(20)
    except OSError:
        return False
    return len(header) == 20 and header[:16] == b"SQLite format 3\x00" and header[18] == 2


def check_sqlite_file(source: Source) -> None:
    """A readable file that is not SQLite gets a clear error before DuckDB tries it."""
    if is_remote(source.location) or not os.path.isfile(source.location):
        return
    if os.path.getsize(source.location) == 0:
        return
    with open(source.location, "rb") as handle:
        header = handle.read(16)
    if header != b"SQLite format 3\x00":
        raise SourceError(f"{source.path!r} is not a SQLite database", hint=_format_hint(header))


def _format_hint(header: bytes) -> str:
    """What a file whose extension lies seems to be, from its first bytes."""
    if header[8:12] == b"DUCK":
        return "it is a DuckDB database: add OPTIONS (format = 'duckdb')"
    if header.startswith(b"PAR1"):
        return "it is a Parquet file: add OPTIONS (format = 'parquet')"
    if header.lstrip()[:1] in (b"{", b"["):
        return "it looks like JSON: add OPTIONS (format = 'json')"
    return "check the file; for another format set OPTIONS (format = 'csv'|'parquet'|'json'|'duckdb')"


def dialect_reader(text: str, delim: str, quote: str, escape: str) -> _csv.Reader:
    """Python's csv reader splitting text as DuckDB's CSV dialect (delim, quote, escape) does."""
    import csv
    import io

    return csv.reader(
        io.StringIO(text),
        delimiter=delim,
        quotechar=quote or None,
        quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE,
        escapechar=escape if escape and escape != quote else None,
        doublequote=not escape or escape == quote,
    )
