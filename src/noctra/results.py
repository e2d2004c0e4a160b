"""Results of statements and how they are written out (table, markdown, csv, json...)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from noctra.engine.base import Column, EngineResult
from noctra.errors import NoctraError, UsageError
from noctra.records import field, record

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("table", "csv", "tsv", "json", "jsonl", "markdown")
_NUMERIC = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "REAL",
    "INT",
    "NUMERIC",
)
_TEXT_FORMATS = ("csv", "tsv", "json", "jsonl")
_CHUNK = 10_000
_DRAIN_LIMIT = 100_000


class ListRows:
    """A small result made in Python (SHOW SOURCES, DESCRIBE...): it fits in memory."""

    engine = "noctra"

    def __init__(self, columns: Sequence[Column], rows: Sequence[tuple[object, ...]]) -> None:
        self.columns = list(columns)
        self._rows = list(rows)
        self._pos = 0

    @property
    def has_rows(self) -> bool:
        return True

    def fetch(self, n: int) -> list[tuple[object, ...]]:
        chunk = self._rows[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk

    def arrow_table(self) -> pa.Table:
        import pyarrow as pa

        rest = self._rows[self._pos :]
        self._pos = len(self._rows)
        data = {c.name: [row[i] for row in rest] for i, c in enumerate(self.columns)}
        return pa.table(data)

    def arrow_reader(self, batch_rows: int = 1_000_000) -> pa.RecordBatchReader:
        import pyarrow as pa

        table = self.arrow_table()
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(batch_rows))

    def close(self) -> None:
        self._pos = len(self._rows)


class ArrowRows:
    """Rows kept as an Arrow table (results that must outlive later statements)."""

    engine = "noctra"

    def __init__(self, columns: list[Column], table: pa.Table) -> None:
        self.columns = columns
        self._table = table
        self._pos = 0

    @property
    def has_rows(self) -> bool:
        return True

    def fetch(self, n: int) -> list[tuple[object, ...]]:
        part = self._table.slice(self._pos, n)
        self._pos += part.num_rows
        names = part.column_names
        return [tuple(row[name] for name in names) for row in part.to_pylist()]

    def arrow_table(self) -> pa.Table:
        rest = self._table.slice(self._pos)
        self._pos = self._table.num_rows
        return rest

    def arrow_reader(self, batch_rows: int = 1_000_000) -> pa.RecordBatchReader:
        import pyarrow as pa

        table = self.arrow_table()
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(batch_rows))

    def close(self) -> None:
        self._pos = self._table.num_rows


@record
class Message:
    """What a command says when it has no rows to show ("sales: CSV, 4 columns")."""

    text: str
    statement: int = 0
    elapsed: float = 0.0
    notes: list[str] = field(default_factory=list)
    engine: str = "noctra"


class Result:
    """Rows of one statement, still inside the engine until someone reads them.

    A plain query is not run until it is read, so that a front end can choose how:
    ``write()`` in csv/json streams it with DuckDB's COPY (no Python rows), ``reader()``
    and ``arrow()`` give Arrow, ``rows(n)`` gives the few rows a screen shows.
    """

    def __init__(
        self,
        *,
        statement: int,
        engine: str,
        run: Callable[[], EngineResult],
        copy: Callable[[str, str], int] | None = None,
        count: Callable[[], int] | None = None,
        notes: list[str] | None = None,
    ) -> None:
        self.statement = statement
        self.engine = engine
        self.notes = notes or []
        self.elapsed = 0.0
        self.row_count: int | None = None
        self._run = run
        self._copy = copy
        self._count = count
        self._result: EngineResult | None = None
        self._consumed = False

    @classmethod
    def of_rows(
        cls, columns: Sequence[Column], rows: Sequence[tuple[object, ...]], *, statement: int = 0
    ) -> Result:
        """A Result over a few rows made in Python."""
        table = ListRows(columns, rows)
        result = cls(statement=statement, engine="noctra", run=lambda: table)
        result.row_count = len(rows)
        return result

    @property
    def started(self) -> bool:
        return self._result is not None or self._consumed

    def _engine_result(self) -> EngineResult:
        if self._result is None:
            if self._consumed:
                raise NoctraError(
                    "this result was already read",
                    hint="a result streams once; keep .arrow() if you need it twice",
                )
            start = time.perf_counter()
            self._result = self._run()
            self.elapsed += time.perf_counter() - start
            if self._result.engine != "noctra":
                self.engine = self._result.engine
        return self._result

    def ensure_run(self) -> None:
        """Run the statement now if nobody has read it (errors surface here)."""
        if not self.started:
            self._engine_result()

    @property
    def columns(self) -> list[Column]:
        return self._engine_result().columns

    @property
    def has_rows(self) -> bool:
        return self._engine_result().has_rows

    def rows(self, n: int) -> list[tuple[object, ...]]:
        """Up to n rows as Python tuples: for display, never the whole result."""
        return self._engine_result().fetch(n)

    def reader(self, batch_rows: int = 1_000_000) -> pa.RecordBatchReader:
        """The rows as a stream of Arrow record batches (zero-copy from DuckDB)."""
        reader = self._engine_result().arrow_reader(batch_rows)
        self._consumed = True
        return reader

    def arrow(self) -> pa.Table:
        """The rows as one pyarrow Table."""
        start = time.perf_counter()
        table = self._engine_result().arrow_table()
        self.elapsed += time.perf_counter() - start
        self._consumed = True
        self.row_count = table.num_rows
        return table

    def df(self) -> Any:
        """The rows as a pandas DataFrame (needs pandas)."""
        return self.arrow().to_pandas()

    def pl(self) -> Any:
        """The rows as a polars DataFrame (needs polars)."""
        import polars

        return polars.from_arrow(self.arrow())

    def close(self) -> None:
        if self._result is not None:
            self._result.close()
        self._consumed = True

    def detach(self) -> None:
        """Keep the rows as an Arrow table so later statements cannot close them."""
        if self._consumed:
            return
        columns = self.columns
        table = self.arrow()
        self._result = ArrowRows(columns, table)
        self._consumed = False

    # --- output ---------------------------------------------------------------------

    def write(
        self,
        stream: TextIO,
        fmt: str,
        *,
        max_rows: int | None = None,
        width: int = 0,
        before_output: Callable[[], None] = lambda: None,
    ) -> int:
        """Write the rows to stream in fmt; returns how many rows were written or shown.

        ``before_output`` runs once, right before the first byte is written (a front end
        clears its progress bar there).
        """
        once = _Once(before_output)
        if fmt in ("table", "markdown"):
            return self._write_display(stream, fmt, max_rows, width, once)
        if fmt not in _TEXT_FORMATS:
            raise UsageError(f"unknown format {fmt!r}", hint=f"valid formats: {', '.join(FORMATS)}")
        if self._copy is not None and not self.started and max_rows is None:
            start = time.perf_counter()
            written = _copy_through_pipe(self._copy, fmt, stream, once)
            self.elapsed += time.perf_counter() - start
            self._consumed = True
            self.row_count = written
            return written
        return self._write_python(stream, fmt, max_rows, once)

    def _write_python(self, stream: TextIO, fmt: str, max_rows: int | None, once: _Once) -> int:
        start = time.perf_counter()
        result = self._engine_result()
        once()
        names = [c.name for c in result.columns]
        written = 0
        writer = None
        if fmt in ("csv", "tsv"):
            writer = csv.writer(stream, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")
            writer.writerow(names)
        elif fmt == "json":
            stream.write("[")
        import json

        while True:
            want = _CHUNK if max_rows is None else min(_CHUNK, max_rows - written)
            if want <= 0:
                break
            chunk = result.fetch(want)
            if not chunk:
                break
            for row in chunk:
                if writer is not None:
                    writer.writerow(["" if v is None else _plain(v) for v in row])
                else:
                    text = json.dumps(
                        dict(zip(names, row, strict=True)), default=_json_default, ensure_ascii=False
                    )
                    if fmt == "json":
                        stream.write(("\n" if written == 0 else ",\n") + text)
                    else:
                        stream.write(text + "\n")
                written += 1
        if fmt == "json":
            stream.write("\n]\n" if written else "]\n")
        self._consumed = True
        self.row_count = written
        self.elapsed += time.perf_counter() - start
        return written

    def _write_display(self, stream: TextIO, fmt: str, max_rows: int | None, width: int, once: _Once) -> int:
        start = time.perf_counter()
        result = self._engine_result()
        columns = result.columns
        more = 0
        if max_rows is None:
            # No limit: stream in chunks, widths fixed by the first chunk.
            shown = self._stream_display(stream, fmt, result, width, once)
            self.elapsed += time.perf_counter() - start
            self._consumed = True
            self.row_count = shown
            return shown
        rows = result.fetch(max_rows + 1)
        if len(rows) > max_rows:
            rows = rows[:max_rows]
            more = self._count_rest(result, max_rows)
        self.elapsed += time.perf_counter() - start
        once()
        if fmt == "markdown":
            stream.write(render_markdown(columns, rows))
        else:
            stream.write(render_table(columns, rows, width=width, color=_wants_color(stream, width)))
        if more:
            stream.write(f"… {more:,} more rows\n")
        self._consumed = True
        self.row_count = len(rows) + more
        return len(rows)

    def _stream_display(self, stream: TextIO, fmt: str, result: EngineResult, width: int, once: _Once) -> int:
        columns = result.columns
        chunk = result.fetch(1000)
        once()
        shown = 0
        if fmt == "markdown":
            stream.write(render_markdown(columns, chunk))
            shown += len(chunk)
            while chunk := result.fetch(_CHUNK):
                stream.write(render_markdown(columns, chunk).split("\n", 2)[2])
                shown += len(chunk)
            return shown
        layout = TableLayout(columns, chunk, width=width, cut=bool(width), color=_wants_color(stream, width))
        stream.write(layout.header())
        while chunk:
            stream.write(layout.rows(chunk))
            shown += len(chunk)
            chunk = result.fetch(_CHUNK)
        stream.write(layout.footer())
        return shown

    def _count_rest(self, result: EngineResult, shown: int) -> int:
        """Rows past the shown ones: read on (cheap for small results), or counted by the engine."""
        rest = 1  # the row fetched past the limit, to learn that there were more
        while chunk := result.fetch(_CHUNK):
            rest += len(chunk)
            if self._count is not None and rest >= _DRAIN_LIMIT:
                # Big: counting again in the engine beats turning rows into Python.
                result.close()
                return max(self._count() - shown, 0)
        return rest


Outcome = Result | Message


class _Once:
    """Calls a function the first time it is called, never again."""

    def __init__(self, function: Callable[[], None]) -> None:
        self._function: Callable[[], None] | None = function

    def __call__(self) -> None:
        function, self._function = self._function, None
        if function is not None:
            function()


def _copy_through_pipe(copy: Callable[[str, str], int], fmt: str, stream: TextIO, once: _Once) -> int:
    """Run COPY into a pipe whose bytes a thread forwards to stream: rows never become Python."""
    read_fd, write_fd = os.pipe()
    binary = getattr(stream, "buffer", None)
    stream.flush()
    failure: list[BaseException] = []

    def forward() -> None:
        try:
            with os.fdopen(read_fd, "rb") as pipe:
                decoder = io.TextIOWrapper(pipe, encoding="utf-8", newline="") if binary is None else None
                while True:
                    if decoder is not None:
                        text = decoder.read(1 << 16)
                        if not text:
                            break
                        once()
                        stream.write(text)
                    elif binary is not None:
                        data = pipe.read1(1 << 16)
                        if not data:
                            break
                        once()
                        binary.write(data)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            failure.append(exc)

    thread = threading.Thread(target=forward, name="noctra-copy-out", daemon=True)
    thread.start()
    error: BaseException | None = None
    written = 0
    try:
        written = copy(f"/dev/fd/{write_fd}", fmt)
    except BaseException as exc:  # noqa: BLE001 - re-raised below, after the pipe is drained
        error = exc
    finally:
        os.close(write_fd)
        thread.join()
    if any(isinstance(f, BrokenPipeError) for f in failure):
        # The reader went away (`| head`): report that, not DuckDB's failed write.
        raise BrokenPipeError
    if error is not None:
        raise error
    if binary is not None:
        binary.flush()
    if failure:
        raise failure[0]
    return written


def _wants_color(stream: TextIO, width: int) -> bool:
    """Colour only on a terminal (width > 0 means one) and unless NO_COLOR is set."""
    return width > 0 and not os.environ.get("NO_COLOR") and stream.isatty()


def _plain(value: object) -> object:
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, default=_json_default, ensure_ascii=False)
    return value


def _json_default(value: object) -> object:
    import decimal
    import uuid

    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.time, dt.datetime)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def is_numeric(type_name: str) -> bool:
    """True for column types shown right-aligned."""
    return type_name.upper().split("(")[0] in _NUMERIC


def display_value(value: object) -> str:
    """How one value looks in a table: NULL shown as NULL, no newlines."""
    if value is None:
        return "NULL"
    if isinstance(value, float):
        text = repr(value)
    elif isinstance(value, (dict, list)):
        import json

        text = json.dumps(value, default=_json_default, ensure_ascii=False)
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    else:
        text = str(value)
    return text.replace("\r\n", "↵").replace("\n", "↵").replace("\t", " ")


class TableLayout:
    """Column widths for a boxed text table, fixed from the rows seen first."""

    def __init__(
        self,
        columns: Sequence[Column],
        sample: Sequence[tuple[object, ...]],
        *,
        width: int = 0,
        cut: bool = True,
        color: bool = False,
    ) -> None:
        names = [c.name for c in columns]
        cells = [[display_value(v) for v in row] for row in sample]
        widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
        if width and names:
            widths = _fit(widths, max(width - (3 * len(names) + 1), len(names)))
        self.names = names
        self.widths = widths
        self.numeric = [is_numeric(c.type) for c in columns]
        # Streamed tables fix widths from the first rows; later, longer values overflow
        # rather than lose characters.
        self.cut = cut
        # NULL is dimmed on a colour terminal, so it stands apart from the text 'NULL'.
        self.color = color

    def _line(self, values: Sequence[str], align: bool, nulls: Sequence[bool] = ()) -> str:
        parts = []
        for i, value in enumerate(values):
            size = self.widths[i]
            text = value if len(value) <= size or not self.cut else (value[: max(size - 1, 0)] + "…")[:size]
            text = text.rjust(size) if align and self.numeric[i] else text.ljust(size)
            if self.color and nulls and nulls[i]:
                text = text.replace("NULL", "\033[2mNULL\033[0m", 1)
            parts.append(text)
        return "│ " + " │ ".join(parts) + " │"

    def header(self) -> str:
        return (
            "\n".join(
                [
                    "┌─" + "─┬─".join("─" * w for w in self.widths) + "─┐",
                    self._line(self.names, False),
                    "├─" + "─┼─".join("─" * w for w in self.widths) + "─┤",
                ]
            )
            + "\n"
        )

    def rows(self, rows: Sequence[tuple[object, ...]]) -> str:
        return "".join(
            self._line([display_value(v) for v in row], True, [v is None for v in row]) + "\n" for row in rows
        )

    def footer(self) -> str:
        return "└─" + "─┴─".join("─" * w for w in self.widths) + "─┘\n"


def render_table(
    columns: Sequence[Column], rows: Sequence[tuple[object, ...]], *, width: int = 0, color: bool = False
) -> str:
    """A boxed text table; long text is cut with an ellipsis to fit width (0: no limit)."""
    layout = TableLayout(columns, rows, width=width, color=color)
    return layout.header() + layout.rows(rows) + layout.footer()


def _fit(widths: list[int], budget: int) -> list[int]:
    """Shrink the widest columns first until the table fits the budget."""
    widths = list(widths)
    while sum(widths) > budget:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= 3:
            break
        widths[widest] -= 1
    return widths


def render_markdown(columns: Sequence[Column], rows: Sequence[tuple[object, ...]]) -> str:
    """A GitHub-flavoured markdown table."""

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|")

    header = "| " + " | ".join(esc(c.name) for c in columns) + " |"
    rule = "| " + " | ".join("---:" if is_numeric(c.type) else "---" for c in columns) + " |"
    body = ["| " + " | ".join(esc(display_value(v)) for v in row) + " |" for row in rows]
    return "\n".join([header, rule, *body]) + "\n"


def format_size(size: int | None) -> str:
    """1234567 -> '1.2 MB'."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"
