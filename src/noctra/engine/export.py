"""EXPORT: DuckDB COPY to a temp file beside the target, renamed into place."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from noctra.engine.base import EngineResult, Params
from noctra.engine.sources import COMPRESSION_SUFFIXES, check_value, is_remote
from noctra.errors import CancelledQueryError, ExportError, NoctraError, OptionError
from noctra.quoting import quote_ident, quote_string
from noctra.records import record

if TYPE_CHECKING:
    from noctra.engine.duck import DuckEngine

FORMAT_OF_SUFFIX = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".xlsx": "xlsx",
}
COMPRESSION_OF_SUFFIX = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}
# Every format but XLSX can write a directory of files; JSON cannot partition it (DuckDB's
# JSON writer has no PARTITION_BY: "Unknown option for COPY").
_PARALLEL_OPTIONS = {"per_thread_output": "true or false", "overwrite": "true or false"}
_DIRECTORY_OPTIONS = {
    "per_thread_output": "true or false",
    "partition_by": "a column or a list of columns, e.g. (year, month)",
    # With partition_by: the partition columns are written in the files too (DuckDB's
    # advice when every column is a partition column, as a file needs one of its own).
    "write_partition_columns": "true or false",
    "overwrite": "true or false",
}
_TEXT_OPTIONS = {
    "compression": "'gzip', 'zstd' or 'none'",
    "dateformat": "a strftime format",
    "timestampformat": "a strftime format",
}
EXPORT_OPTIONS = {
    "parquet": {
        "compression": "'zstd', 'snappy', 'gzip', 'lz4', 'brotli' or 'uncompressed'",
        "compression_level": "a whole number",
        "row_group_size": "a whole number of rows",
        **_DIRECTORY_OPTIONS,
    },
    "csv": {
        "delimiter": "a one-character string",
        "header": "true or false",
        "quote": "a one-character string",
        "escape": "a one-character string",
        "nullstr": "a string written for NULL",
        **_TEXT_OPTIONS,
        **_DIRECTORY_OPTIONS,
    },
    "json": {"array": "true or false", **_TEXT_OPTIONS, **_PARALLEL_OPTIONS},
    # The excel extension's COPY writes one workbook (no directories, no compression).
    "xlsx": {
        "header": "true or false",
        "sheet": "the sheet's name (default: Sheet1)",
        "sheet_row_limit": "a whole number: the most rows the sheet may hold (default 1,048,576, Excel's)",
    },
}
# Options that count something: 0 or less is refused (DuckDB's own error is a raw cast).
_POSITIVE_OPTIONS = {"row_group_size": "122880", "sheet_row_limit": "1048576"}
# Decided by measurement (docs/PERFORMANCE_TUNING.md): zstd, one file.
PARQUET_DEFAULTS: dict[str, object] = {"compression": "zstd"}


@record(frozen=True)
class ExportReport:
    """What an export wrote."""

    rows: int
    bytes: int
    paths: tuple[str, ...]
    seconds: float
    target: str

    def describe(self) -> str:
        from noctra.output.render import format_size

        files = "" if len(self.paths) <= 1 else f"{len(self.paths)} files, "
        rows = f"{self.rows:,} row{'s' if self.rows != 1 else ''}"
        return f"exported {rows} to {self.target} ({files}{format_size(self.bytes)}) in {self.seconds:.2f} s"


def format_for(path: str, explicit: str | None, *, directory: bool = False) -> str:
    """The output format: FORMAT if given, else from the extension (through .gz/.zst).

    A directory output (per_thread_output, partition_by) without an extension is Parquet.
    """
    if explicit is not None:
        name = explicit.lower()
        if name in {"ndjson", "jsonl"}:
            return "json"
        if name == "tsv":
            return "csv"
        if name not in EXPORT_OPTIONS:
            raise OptionError(
                f"unknown export format {explicit!r}",
                hint=f"valid formats: {', '.join(f.upper() for f in EXPORT_OPTIONS)}",
            )
        return name
    lowered = path.lower()
    for suffix in COMPRESSION_SUFFIXES:
        if lowered.endswith(suffix):
            lowered = lowered[: -len(suffix)]
            break
    found = FORMAT_OF_SUFFIX.get(os.path.splitext(lowered)[1])
    if found is None and directory and not os.path.splitext(lowered)[1]:
        return "parquet"
    if found is None:
        raise OptionError(
            f"cannot tell the export format of {path!r} from its extension",
            hint="add FORMAT PARQUET, CSV, JSON or XLSX (or use .parquet/.csv/.json/.xlsx)",
        )
    return found


def check_export_options(fmt: str, options: dict[str, object]) -> None:
    valid = EXPORT_OPTIONS[fmt]
    for key, value in options.items():
        if key == "partition_by" and fmt == "json":
            raise OptionError(
                "JSON exports cannot be partitioned: DuckDB's JSON writer has no partition_by",
                hint="export FORMAT PARQUET or CSV to partition, or use OPTIONS (per_thread_output = true)",
            )
        if key not in valid:
            raise OptionError(
                f"unknown {fmt.upper()} export option {key!r}",
                hint=f"valid {fmt.upper()} export options: {', '.join(sorted(valid))}",
            )
        check_value(f"{fmt.upper()} export", key, value, valid[key])
        if key == "delimiter" and value == "":
            raise OptionError(
                f"{fmt.upper()} export option 'delimiter' must not be empty: the columns would run together",
                hint="write OPTIONS (delimiter = ',') or another separator",
            )
        if key in _POSITIVE_OPTIONS and isinstance(value, int) and value < 1:
            raise OptionError(
                f"{fmt.upper()} export option {key!r} must be a whole number of at least 1, not {value}",
                hint=f"write OPTIONS ({key} = {_POSITIVE_OPTIONS[key]})",
            )


def writes_tsv(target: str) -> bool:
    """A .tsv target, compressed or not (.tsv.gz, .tsv.zst...): written tab-separated."""
    name = target.lower().rstrip("/")
    for suffix in COMPRESSION_SUFFIXES:
        name = name.removesuffix(suffix)
    return name.endswith(".tsv")


def _copy_options(fmt: str, target: str, options: dict[str, object]) -> str:
    parts = [f"FORMAT {fmt}"]
    merged: dict[str, object] = dict(PARQUET_DEFAULTS) if fmt == "parquet" else {}
    if fmt in ("csv", "xlsx"):
        merged["header"] = True
        if writes_tsv(target):
            merged["delimiter"] = "\t"
    if fmt in ("csv", "json"):
        lowered = target.lower()
        merged["compression"] = next(
            (c for s, c in COMPRESSION_OF_SUFFIX.items() if lowered.endswith(s)), "none"
        )
    merged.update(options)
    for key, value in merged.items():
        if key == "partition_by":
            columns = value if isinstance(value, list) else [value]
            parts.append("PARTITION_BY (" + ", ".join(quote_ident(str(c)) for c in columns) + ")")
        elif isinstance(value, bool):
            parts.append(f"{key.upper()} {'true' if value else 'false'}")
        elif isinstance(value, int):
            parts.append(f"{key.upper()} {value}")
        else:
            parts.append(f"{key.upper()} {quote_string(str(value))}")
    return ", ".join(parts)


def export(
    engine: DuckEngine,
    query: str,
    params: Params,
    *,
    target: str,
    fmt: str,
    options: dict[str, object],
    ordered: bool,
    stream: Callable[[], EngineResult] | None = None,
) -> ExportReport:
    """Run COPY for query into target; single files are written atomically.

    ``stream`` makes the rows to write instead (another engine's), once the target is checked.
    """
    check_export_options(fmt, options)
    if fmt == "xlsx":
        engine.load_extension("excel")
    started = time.perf_counter()
    if is_remote(target):
        raise ExportError(
            f"cannot export to {target!r}: exports write local files",
            hint="export to a local path",
        )
    path = Path(os.path.expanduser(target)).absolute()
    to_directory = bool(options.get("per_thread_output")) or "partition_by" in options
    # None when not given: a single file replaces what is there unless overwrite = false; a
    # directory's earlier export is replaced only with overwrite = true (as on Spark).
    overwrite = options.pop("overwrite", None)
    if not path.parent.is_dir():
        raise ExportError(
            f"cannot export to {target!r}: folder {str(path.parent)!r} does not exist",
            hint="create the folder first",
        )
    if to_directory:
        return _export_directory(
            engine,
            query,
            params,
            stream,
            path=path,
            target=target,
            fmt=fmt,
            options=options,
            ordered=ordered,
            overwrite=overwrite is True,
            started=started,
        )
    written, before = _file_target(path, target)
    if overwrite is False and before is not None and stat.S_ISREG(before.st_mode):
        raise ExportError(
            f"cannot export to {target!r}: the file exists and overwrite = false",
            hint="leave out overwrite = false to replace it, or choose a new path",
        )
    copy_options = _copy_options(fmt, target, options)
    if before is not None and not stat.S_ISREG(before.st_mode):
        # A named pipe (or a terminal, /dev/null): written in place, never replaced.
        with _copy_input(engine, query, params, stream, fmt) as source:
            count = _run_copy(
                engine, source, target=str(written), options=copy_options, ordered=ordered, shown=str(path)
            )
        return ExportReport(count, 0, (str(path),), time.perf_counter() - started, target)
    stem = _stem(written)
    _remove_stale_temps(written.parent, stem)
    # Not named like the target (no .csv at its end): a glob of the folder never reads it.
    temp = written.with_name(temp_name(stem))
    # Streamed rows are made inside: a cancel while SQLite computes them is the export's too.
    with (
        cleaned_up(lambda: _remove_file(temp), target, path),
        _copy_input(engine, query, params, stream, fmt) as source,
    ):
        count = _run_copy(
            engine, source, target=str(temp), options=copy_options, ordered=ordered, shown=str(path)
        )
        if before is not None:
            _keep_mode(temp, before)
        os.replace(temp, written)
    return ExportReport(count, written.stat().st_size, (str(path),), time.perf_counter() - started, target)


@record
class _CopyInput:
    """What a COPY reads: a query, or rows another engine made, streamed in as a relation."""

    query: str
    params: Params
    # What stopped the rows' producer (SQLite interrupted, a column of mixed types): the
    # error to report, rather than DuckDB's words for a failed Arrow stream.
    failure: BaseException | None = None


@contextmanager
def _copy_input(
    engine: DuckEngine, query: str, params: Params, stream: Callable[[], EngineResult] | None, fmt: str
) -> Iterator[_CopyInput]:
    """What the COPY reads: the query itself, or ``stream``'s rows registered on DuckDB's
    connection as an Arrow stream; JSON without NaN or Infinity.

    The stream is read once, a batch at a time, in the rows' order (never all rows in
    Python at once); duplicate column names get DuckDB's own suffixes (id, id_1).
    """
    if stream is None:
        yield _json_input(engine, _CopyInput(query, params), fmt)
        return
    import pyarrow as pa

    from noctra.output.text import unique_names

    result = stream()
    try:
        reader = result.arrow_reader()
        names = unique_names(reader.schema.names)
        schema = pa.schema([f.with_name(n) for f, n in zip(reader.schema, names, strict=True)])
        name = f"__noctra_rows_{secrets.token_hex(4)}"
        source = _CopyInput(f"SELECT * FROM {name}", None)

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                for batch in reader:
                    yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)
            except BaseException as exc:
                source.failure = exc
                raise

        # As an Arrow C stream: registering the pyarrow reader itself makes DuckDB import
        # pyarrow.dataset and pandas (~0.5 s) first.
        stream_in = pa.RecordBatchReader.from_batches(schema, batches()).__arrow_c_stream__()
        engine.connection.register(name, engine.connection.from_arrow(stream_in))
        try:
            yield _json_input(engine, source, fmt)
        finally:
            engine.connection.unregister(name)
    finally:
        result.close()


# Character devices an export may write to in place: the null device and terminals.
_WRITABLE_DEVICES = re.compile(r"/dev/(null|tty[0-9]*|pts/[0-9]+|stdout|stderr)")


def _file_target(path: Path, target: str) -> tuple[Path, os.stat_result | None]:
    """The file a single-file export writes and what is there now (None: nothing).

    A symlink is followed: the file it points to is written (the link stays). A regular
    file is replaced by rename (its permission bits kept); one with other hard links is
    refused, since its other names would keep the old rows. A named pipe, a terminal or
    /dev/null is written in place; any other device, socket or directory is refused.
    """
    try:
        before = os.stat(path)
    except FileNotFoundError:
        before = None
    except OSError as exc:
        raise ExportError(f"cannot export to {target!r}: {exc.strerror or exc}") from exc
    if before is None:
        real = Path(os.path.realpath(path))  # a dangling link: the file it names is made
        if not real.parent.is_dir():
            raise ExportError(
                f"cannot export to {target!r}: folder {str(real.parent)!r} does not exist",
                hint="create the folder first",
            )
        return real, None
    mode = before.st_mode
    if stat.S_ISDIR(mode):
        raise ExportError(
            f"cannot export to {target!r}: it is a directory",
            hint="give a file path, or OPTIONS (per_thread_output = true) to write a directory",
        )
    if stat.S_ISREG(mode):
        if str(path).startswith(("/dev/", "/proc/")):
            # /dev/stdout redirected to a file: written through the descriptor, never renamed over.
            return path, os.stat_result((stat.S_IFIFO, *tuple(before)[1:]))
        if before.st_nlink > 1:
            raise ExportError(
                f"cannot export to {target!r}: it has {before.st_nlink} hard links, and an export "
                "replaces the file (its other names would keep the old rows)",
                hint="export to a new name, or delete the file first",
            )
        return Path(os.path.realpath(path)), before
    if stat.S_ISFIFO(mode) or (stat.S_ISCHR(mode) and _WRITABLE_DEVICES.fullmatch(os.path.realpath(path))):
        return path, before
    kind = "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"
    raise ExportError(
        f"cannot export to {target!r}: it is {kind}, and an export writes regular files",
        hint="export to a file path",
    )


def _keep_mode(temp: Path, before: os.stat_result) -> None:
    """The new file gets the replaced file's permission bits (and owner, where allowed)."""
    os.chmod(temp, stat.S_IMODE(before.st_mode))
    now = temp.stat()
    if (now.st_uid, now.st_gid) != (before.st_uid, before.st_gid):
        try:
            os.chown(temp, before.st_uid, before.st_gid)
        except OSError:
            # Only root may give a file away: the group's bits then go to nobody.
            os.chmod(temp, stat.S_IMODE(before.st_mode) & ~0o070)


def _json_column(kind: str, name: str) -> str | None:
    """NaN and ±Infinity as NULL: JSON has no such numbers (as --format json)."""
    if kind in ("DOUBLE", "FLOAT", "REAL", "FLOAT4", "FLOAT8"):
        return f"CASE WHEN isfinite({name}) THEN {name} END AS {name}"
    if kind in ("DOUBLE[]", "FLOAT[]"):
        return f"list_transform({name}, x -> CASE WHEN isfinite(x) THEN x END) AS {name}"
    return None


def _parquet_column(kind: str, name: str) -> str | None:
    """A 128-bit integer (sum() of integers is one) as DECIMAL(38,0): DuckDB writes it to
    Parquet, which has no such type, as a DOUBLE, rounding past 2^53 without a word. A
    value past 38 digits stops the export with DuckDB's conversion error, naming it."""
    if kind in ("HUGEINT", "INT128", "UHUGEINT", "UINT128"):
        return f"CAST({name} AS DECIMAL(38,0)) AS {name}"
    return None


_COLUMN_FIXES: dict[str, Callable[[str, str], str | None]] = {
    "json": _json_column,
    "parquet": _parquet_column,
}


def _format_safe(
    engine: DuckEngine, query: str, params: Params, fix: Callable[[str, str], str | None]
) -> str:
    """The query with the columns the format would write wrongly replaced (see _COLUMN_FIXES)."""
    try:
        columns = engine.describe(f"({query}\n)", params)
    except NoctraError:
        return query  # the COPY reports the query's own error
    names = [c.name for c in columns]
    if len({n.lower() for n in names}) != len(names):
        return query
    replaced = [r for c in columns if (r := fix(c.type.upper(), quote_ident(c.name))) is not None]
    if not replaced:
        return query
    return f"SELECT * REPLACE ({', '.join(replaced)}) FROM ({query}\n)"


def _json_input(engine: DuckEngine, source: _CopyInput, fmt: str) -> _CopyInput:
    """The input of a JSON or Parquet export, with the columns that format would write
    wrongly replaced: NaN and Infinity as NULL in JSON, 128-bit integers as decimals in Parquet."""
    fix = _COLUMN_FIXES.get(fmt)
    if fix is not None:
        source.query = _format_safe(engine, source.query, source.params, fix)
    return source


def _export_directory(
    engine: DuckEngine,
    query: str,
    params: Params,
    stream: Callable[[], EngineResult] | None,
    *,
    path: Path,
    target: str,
    fmt: str,
    options: dict[str, object],
    ordered: bool,
    overwrite: bool,
    started: float,
) -> ExportReport:
    """per_thread_output / partition_by: written into a temp directory, then swapped in."""
    if path.is_symlink() and path.is_dir():
        # The swap renames the target: a link to a directory is followed, not replaced.
        path = path.resolve()
    elif path.is_symlink():
        # A link to nothing (or to a file): the directory it names is not there to fill, and
        # replacing the link itself would lose where it pointed.
        pointed = os.readlink(path)
        raise ExportError(
            f"cannot export to {target!r}: it is a link to {pointed!r}, which is not a directory",
            hint="create that directory first (the link is followed), or export to another path",
        )
    if path.is_file():
        raise ExportError(
            f"cannot export to {target!r}: it is a file, and this export writes a directory",
            hint="choose a directory path (per_thread_output and partition_by write one)",
        )
    earlier: list[Path] = []
    is_empty_dir = False
    if path.is_dir():
        earlier = _earlier_output(path, fmt, target)
        if earlier and not overwrite:
            raise ExportError(
                f"directory {target!r} is not empty: it holds an earlier export",
                hint="add OPTIONS (overwrite = true) to replace it, or choose an empty or new directory",
            )
        is_empty_dir = not any(path.iterdir())
    # An empty directory is filled from inside (it may be the working directory, a
    # mount point or sit in a read-only folder); otherwise the new output is staged
    # beside it and swapped in, so a failed export leaves the earlier one whole.
    staging = path / temp_name("") if is_empty_dir else path.with_name(temp_name(path.name))
    # Its files end in .tmp while they are written (a glob of *.parquet never reads half a
    # file), and get DuckDB's own names (data_0.parquet) once the COPY is done.
    copy_options = f"{_copy_options(fmt, target, options)}, FILE_EXTENSION {quote_string(TEMP_SUFFIX[1:])}"
    old: Path | None = None
    with (
        cleaned_up(lambda: _remove_tree(staging), target, path),
        _copy_input(engine, query, params, stream, fmt) as source,
    ):
        count = _run_copy(
            engine, source, target=str(staging), options=copy_options, ordered=ordered, shown=str(path)
        )
        _name_parts(staging, fmt)
        if is_empty_dir:
            for entry in sorted(staging.iterdir()):
                os.rename(entry, path / entry.name)
            staging.rmdir()
        else:
            old = swap_in(staging, path)
    if old is not None:
        remove_output(old, earlier)
    files = sorted(str(p) for p in path.rglob("*") if p.is_file())
    size = sum(os.path.getsize(f) for f in files)
    return ExportReport(count, size, tuple(files), time.perf_counter() - started, target)


def _name_parts(staging: Path, fmt: str) -> None:
    """Rename the finished ``data_N.tmp[.gz]`` files of a directory export to ``data_N.<fmt>[.gz]``."""
    for root, _, names in os.walk(staging):
        for name in names:
            stem, dot, rest = name.partition(TEMP_SUFFIX)
            if dot and rest in ("", ".gz", ".zst"):
                os.rename(os.path.join(root, name), os.path.join(root, f"{stem}.{fmt}{rest}"))


@contextmanager
def cleaned_up(remove: Callable[[], None], target: str, path: Path) -> Iterator[None]:
    """On any failure (a cancel, an OSError, a signal) remove what the export wrote so far."""
    try:
        yield
    except CancelledQueryError as exc:
        remove()
        kept = "left as it was" if path.exists() else "not written"
        raise CancelledQueryError(f"export cancelled: {target!r} {kept}") from exc
    except OSError as exc:
        remove()
        raise ExportError(
            f"cannot export to {target!r}: {exc.strerror or exc}", hint="check that its folder is writable"
        ) from exc
    except BaseException:
        remove()
        raise


# The longest file name most file systems take (bytes): a temp name must fit wherever the
# target's name fits, or an export to a long but valid name fails (issue 11.14).
NAME_MAX = 255


TEMP_SUFFIX = ".tmp"
# ".<name>.noctra-<pid>-<8 hex>.tmp": hidden, and never ending in the target's extension, so
# a glob of the folder ('logs/*.csv': DuckDB's globs match hidden files) never reads it.
TEMP_NAME = re.compile(r"\.(?:(?P<name>.*)\.)?noctra-(?P<pid>[0-9]+)-[0-9a-f]{8}(?:\.tmp|\.old)")
# A leftover temp this old whose process is gone is a killed export's (never one running).
STALE_SECONDS = 3600


def temp_name(name: str, suffix: str = TEMP_SUFFIX) -> str:
    """A hidden temp name, made beside the target: same file system, so renames are atomic."""
    tail = f"noctra-{os.getpid()}-{secrets.token_hex(4)}{suffix}"
    room = NAME_MAX - len(tail.encode()) - 2
    kept = name.encode()[: max(room, 0)].decode(errors="ignore")
    return f".{kept + '.' if kept else ''}{tail}"


def _stem(path: Path) -> str:
    """The file's name without its extension (and compression suffix): c.csv.gz -> c."""
    suffixes = "".join(path.suffixes[-2:]) if path.suffix.lower() in COMPRESSION_SUFFIXES else path.suffix
    return path.name[: len(path.name) - len(suffixes)] if suffixes else path.name


def _remove_stale_temps(folder: Path, stem: str) -> None:
    """Delete temp files that killed exports to this name left in folder (see stale_temps)."""
    for path in stale_temps(folder, stem, stat.S_ISREG):
        with contextlib.suppress(OSError):
            os.unlink(path)


def stale_temps(folder: Path, name: str | None, kind: Callable[[int], bool]) -> Iterator[str]:
    """Temps that killed exports to ``name`` left in folder: only what is provably Noctra's
    and stale. Each is of this ``kind`` (a regular file, a directory of parts), of this user,
    named as ``temp_name`` names this target's temps, its process gone, untouched an hour."""
    try:
        neighbours = list(os.scandir(folder))
    except OSError:
        return
    now = time.time()
    for entry in neighbours:
        match = TEMP_NAME.fullmatch(entry.name)
        if match is None or not entry.name.endswith(TEMP_SUFFIX) or match["name"] != name:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if (
            kind(info.st_mode)
            and info.st_uid == os.geteuid()
            and now - info.st_mtime >= STALE_SECONDS
            and not _running(int(match["pid"]))
        ):
            yield entry.path


def _running(pid: int) -> bool:
    """Whether a process with this id exists (one of another user counts)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _earlier_output(directory: Path, fmt: str, target: str) -> list[Path]:
    """The files (relative) of an earlier export of this format in directory; refuses others.

    Only DuckDB's own layout counts: ``col=value/`` folders (partition_by) holding
    ``data_N.ext`` files (both layouts). DuckDB's OVERWRITE deletes the whole
    directory, user files included, so overwrite = true proves first that nothing
    else is there.
    """
    data_file = re.compile(rf"data_[0-9_]+\.{fmt}(\.gz|\.zst)?")
    return earlier_files(directory, data_file, lambda relative: _refuse_foreign(target, relative, fmt))


def earlier_files(directory: Path, parts: re.Pattern[str], refuse: Callable[[str], NoReturn]) -> list[Path]:
    """The files (relative) of an earlier export in directory: ``col=value/`` folders holding
    files named as ``parts`` matches. Anything else (a user's file, a link, a device, another
    export's temp) is refused, naming it: an export never deletes what it did not write."""
    found: list[Path] = []
    for root, dirs, names in os.walk(directory):
        base = Path(root)
        dirs.sort()
        for name in sorted(dirs + names):
            entry = base / name
            relative = entry.relative_to(directory).as_posix()
            if TEMP_NAME.fullmatch(name):
                raise ExportError(
                    f"cannot export to {str(directory)!r}: {relative!r} is another export's temp "
                    "(still running, or stopped less than an hour ago)",
                    hint="wait for that export, or delete it if no export runs",
                )
            if entry.is_symlink() or not (entry.is_dir() or entry.is_file()):
                refuse(relative)
            if entry.is_dir():
                if "=" not in name[1:]:
                    refuse(relative + "/")
            elif parts.fullmatch(name):
                found.append(Path(relative))
            else:
                refuse(relative)
    return found


def _refuse_foreign(target: str, relative: str, fmt: str) -> NoReturn:
    raise ExportError(
        f"cannot export to {target!r}: {relative!r} was not written by a {fmt.upper()} export",
        hint="choose an empty or new directory",
    )


def swap_in(new: Path, path: Path) -> Path | None:
    """Rename new to path; an existing path is renamed aside first and returned."""
    aside = path.with_name(temp_name(path.name, ".old"))
    try:
        if path.exists():
            os.rename(path, aside)
        os.rename(new, path)
    except BaseException:
        # Stopped between the two renames: the earlier output goes back in place.
        if aside.exists() and not path.exists():
            os.rename(aside, path)
        raise
    return aside if aside.exists() else None


def remove_output(directory: Path, files: list[Path]) -> None:
    """Delete the vetted files of an earlier export, then its folders once empty.

    Never a recursive delete: a file that appeared while the export ran is kept.
    """
    for relative in files:
        (directory / relative).unlink(missing_ok=True)
    for root, _, _ in sorted(os.walk(directory), key=lambda walked: -len(walked[0])):
        try:
            os.rmdir(root)
        except OSError:
            continue


def _remove_file(temp: Path) -> None:
    """Delete this export's temp file; a failure to do so never hides why the export failed."""
    try:
        temp.unlink(missing_ok=True)
    except OSError:
        return


def _remove_tree(temp: Path) -> None:
    """Delete a temp directory of this export (its random name means nobody else wrote it)."""
    shutil.rmtree(temp, ignore_errors=True)


def _run_copy(
    engine: DuckEngine,
    source: _CopyInput,
    *,
    target: str,
    options: str,
    ordered: bool,
    shown: str,
) -> int:
    """COPY into target (a temp path); errors name ``shown``, the path the user asked for."""
    # Without ORDER BY, order does not matter: letting DuckDB drop it halves the
    # memory of a 1 GB CSV -> Parquet export and is faster (SPEC 2.4).
    previous = None
    if not ordered:
        previous = engine.get_option("preserve_insertion_order")
        engine.set_option("preserve_insertion_order", "false")
    try:
        return engine._copy(source.query, target, options, source.params)
    except (ExportError, CancelledQueryError):
        raise
    except NoctraError as exc:
        failure = source.failure
        if isinstance(failure, CancelledQueryError):
            raise CancelledQueryError(failure.message) from failure
        if isinstance(failure, NoctraError):
            raise ExportError(f"export failed: {failure.message}", hint=failure.hint) from failure
        if failure is not None:
            raise ExportError(f"export failed: {type(failure).__name__}: {failure}") from failure
        message = exc.message.replace(target, shown)
        hint = exc.hint
        if "No space left on device" in message:
            hint = "the disk is full: free some space or export elsewhere (an earlier file is left as it was)"
        elif "Permission denied" in message or "Operation not permitted" in message:
            hint = "check that the target's folder is writable"
        elif "to DECIMAL(38,0)" in message and "Could not cast" in message:
            hint = (
                "Parquet has no 128-bit integer, so Noctra writes one as DECIMAL(38,0): this value "
                "has more digits; CAST the column AS VARCHAR (exact) or DOUBLE (rounded) to export it"
            )
        elif "Sheet row limit" in message:
            hint = "an Excel sheet holds at most 1,048,576 rows: filter or aggregate, or export to .parquet"
        raise ExportError(f"export failed: {message}", hint=hint) from exc
    finally:
        if previous is not None:
            engine.set_option("preserve_insertion_order", "true" if previous else "false")
