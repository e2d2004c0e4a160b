"""EXPORT: DuckDB COPY to a temp file beside the target, renamed into place."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

from noctra.engine.base import ExportReport, Params
from noctra.engine.sources import COMPRESSION_SUFFIXES, check_value, is_remote
from noctra.errors import CancelledQueryError, ExportError, NoctraError, OptionError
from noctra.quoting import quote_ident, quote_string

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
}
# Decided by measurement (docs/PERFORMANCE_TUNING.md): zstd, one file.
PARQUET_DEFAULTS: dict[str, object] = {"compression": "zstd"}


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
            hint="add FORMAT PARQUET, FORMAT CSV or FORMAT JSON (or use .parquet/.csv/.json)",
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
    if fmt == "csv":
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
        if path.is_file():
            raise ExportError(
                f"cannot export to {target!r}: it is a file, and this export writes a directory",
                hint="choose a directory path (per_thread_output and partition_by write one)",
            )
        if path.is_dir() and any(path.iterdir()):
            if not overwrite:
                raise ExportError(
                    f"directory {target!r} is not empty",
                    hint="choose an empty directory or add OPTIONS (overwrite = true)",
                )
            options["overwrite"] = True
        copy_options = _copy_options(fmt, target, options)
        rows = _run_copy(engine, query, params, target=str(path), options=copy_options, ordered=ordered)
        files = sorted(str(p) for p in path.rglob("*") if p.is_file())
        size = sum(os.path.getsize(f) for f in files)
        return ExportReport(rows, size, tuple(files), time.perf_counter() - started, target)
    if path.is_dir():
        raise ExportError(
            f"cannot export to {target!r}: it is a directory",
            hint="give a file path, or OPTIONS (per_thread_output = true) to write a directory",
        )
    suffixes = "".join(path.suffixes[-2:]) if path.suffix.lower() in COMPRESSION_SUFFIXES else path.suffix
    stem = path.name[: len(path.name) - len(suffixes)] if suffixes else path.name
    temp = path.with_name(f".{stem}.noctra-{os.getpid()}-{secrets.token_hex(4)}{suffixes}")
    copy_options = _copy_options(fmt, target, options)
    try:
        rows = _run_copy(engine, query, params, target=str(temp), options=copy_options, ordered=ordered)
        os.replace(temp, path)
    except CancelledQueryError as exc:
        temp.unlink(missing_ok=True)
        kept = "left as it was" if path.exists() else "not written"
        raise CancelledQueryError(f"export cancelled: {target!r} {kept}") from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return ExportReport(rows, path.stat().st_size, (str(path),), time.perf_counter() - started, target)


def _run_copy(
    engine: DuckEngine, query: str, params: Params, *, target: str, options: str, ordered: bool
) -> int:
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
        raise ExportError(f"export failed: {exc.message}", hint=exc.hint) from exc
    finally:
        if previous is not None:
            engine.set_option("preserve_insertion_order", "true" if previous else "false")
