"""EXPORT: DuckDB COPY to a temp file beside the target, renamed into place."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from noctra.engine.base import Params
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
# Every format can write a directory of files.
_DIRECTORY_OPTIONS = {
    "per_thread_output": "true or false",
    "partition_by": "a column or a list of columns, e.g. (year, month)",
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
    "json": {"array": "true or false", **_TEXT_OPTIONS, **_DIRECTORY_OPTIONS},
    # The excel extension's COPY writes one workbook (no directories, no compression).
    "xlsx": {
        "header": "true or false",
        "sheet": "the sheet's name (default: Sheet1)",
        "sheet_row_limit": "a whole number: the most rows the sheet may hold (default 1,048,576, Excel's)",
    },
}
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
        if key not in valid:
            raise OptionError(
                f"unknown {fmt.upper()} export option {key!r}",
                hint=f"valid {fmt.upper()} export options: {', '.join(sorted(valid))}",
            )
        check_value(f"{fmt.upper()} export", key, value, valid[key])


def _copy_options(fmt: str, target: str, options: dict[str, object]) -> str:
    parts = [f"FORMAT {fmt}"]
    merged: dict[str, object] = dict(PARQUET_DEFAULTS) if fmt == "parquet" else {}
    if fmt in ("csv", "xlsx"):
        merged["header"] = True
        if target.lower().endswith(".tsv") or target.lower().endswith(".tsv.gz"):
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
) -> ExportReport:
    """Run COPY for query into target; single files are written atomically."""
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
    overwrite = bool(options.pop("overwrite", False))
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
            path=path,
            target=target,
            fmt=fmt,
            options=options,
            ordered=ordered,
            overwrite=overwrite,
            started=started,
        )
    if path.is_dir():
        raise ExportError(
            f"cannot export to {target!r}: it is a directory",
            hint="give a file path, or OPTIONS (per_thread_output = true) to write a directory",
        )
    suffixes = "".join(path.suffixes[-2:]) if path.suffix.lower() in COMPRESSION_SUFFIXES else path.suffix
    stem = path.name[: len(path.name) - len(suffixes)] if suffixes else path.name
    temp = path.with_name(_temp_name(stem, suffixes))
    copy_options = _copy_options(fmt, target, options)
    with _cleaned_up(lambda: _remove_file(temp), target, path):
        rows = _run_copy(
            engine, query, params, target=str(temp), options=copy_options, ordered=ordered, shown=str(path)
        )
        os.replace(temp, path)
    return ExportReport(rows, path.stat().st_size, (str(path),), time.perf_counter() - started, target)


def _export_directory(
    engine: DuckEngine,
    query: str,
    params: Params,
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
    staging = path / _temp_name("", "") if is_empty_dir else path.with_name(_temp_name(path.name, ""))
    copy_options = _copy_options(fmt, target, options)
    old: Path | None = None
    with _cleaned_up(lambda: _remove_tree(staging), target, path):
        rows = _run_copy(
            engine, query, params, target=str(staging), options=copy_options, ordered=ordered, shown=str(path)
        )
        if is_empty_dir:
            for entry in sorted(staging.iterdir()):
                os.rename(entry, path / entry.name)
            staging.rmdir()
        else:
            old = _swap_in(staging, path)
    if old is not None:
        _remove_output(old, earlier)
    files = sorted(str(p) for p in path.rglob("*") if p.is_file())
    size = sum(os.path.getsize(f) for f in files)
    return ExportReport(rows, size, tuple(files), time.perf_counter() - started, target)


@contextmanager
def _cleaned_up(remove: Callable[[], None], target: str, path: Path) -> Iterator[None]:
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


def _temp_name(stem: str, suffixes: str) -> str:
    """A hidden temp name, made beside the target: same file system, so renames are atomic."""
    tail = f"noctra-{os.getpid()}-{secrets.token_hex(4)}{suffixes}"
    room = NAME_MAX - len(tail.encode()) - 2
    kept = stem.encode()[: max(room, 0)].decode(errors="ignore")
    return f".{kept + '.' if kept else ''}{tail}"


def _earlier_output(directory: Path, fmt: str, target: str) -> list[Path]:
    """The files (relative) of an earlier export of this format in directory; refuses others.

    Only DuckDB's own layout counts: ``col=value/`` folders (partition_by) holding
    ``data_N.ext`` files (both layouts). DuckDB's OVERWRITE deletes the whole
    directory, user files included, so overwrite = true proves first that nothing
    else is there.
    """
    data_file = re.compile(rf"data_[0-9_]+\.{fmt}(\.gz|\.zst)?")
    found: list[Path] = []
    for root, dirs, names in os.walk(directory):
        base = Path(root)
        dirs.sort()
        for name in sorted(dirs + names):
            entry = base / name
            relative = entry.relative_to(directory)
            if entry.is_symlink() or not (entry.is_dir() or entry.is_file()):
                _refuse_foreign(target, relative.as_posix(), fmt)
            if entry.is_dir():
                if "=" not in name[1:]:
                    _refuse_foreign(target, relative.as_posix() + "/", fmt)
            elif data_file.fullmatch(name):
                found.append(relative)
            else:
                _refuse_foreign(target, relative.as_posix(), fmt)
    return found


def _refuse_foreign(target: str, relative: str, fmt: str) -> None:
    raise ExportError(
        f"cannot export to {target!r}: {relative!r} was not written by a {fmt.upper()} export",
        hint="choose an empty or new directory",
    )


def _swap_in(new: Path, path: Path) -> Path | None:
    """Rename new to path; an existing path is renamed aside first and returned."""
    aside = path.with_name(_temp_name(path.name, ".old"))
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


def _remove_output(directory: Path, files: list[Path]) -> None:
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
    query: str,
    params: Params,
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
        return engine._copy(query, target, options, params)
    except (ExportError, CancelledQueryError):
        raise
    except NoctraError as exc:
        message = exc.message.replace(target, shown)
        hint = exc.hint
        if "No space left on device" in message:
            hint = "the disk is full: free some space or export elsewhere (an earlier file is left as it was)"
        elif "Permission denied" in message or "Operation not permitted" in message:
            hint = "check that the target's folder is writable"
        elif "Sheet row limit" in message:
            hint = "an Excel sheet holds at most 1,048,576 rows: filter or aggregate, or export to .parquet"
        raise ExportError(f"export failed: {message}", hint=hint) from exc
    finally:
        if previous is not None:
            engine.set_option("preserve_insertion_order", "true" if previous else "false")
