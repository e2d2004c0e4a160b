"""Results of statements: rows still inside the engine until a front end reads them."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO, cast

from noctra.engine.base import Column, EngineResult
from noctra.errors import BusyError, CancelledQueryError, NoctraError, QueryError, UsageError
from noctra.output.display import CopyRows, needs_sql_text, sql_texts
from noctra.output.render import TableLayout, render_markdown, render_table
from noctra.output.text import TEXT_FORMATS, TextWriter, not_utf8_row, unique_names
from noctra.quoting import quote_ident
from noctra.records import field, record

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("table", "csv", "tsv", "json", "jsonl", "markdown")
_CHUNK = 10_000
_DRAIN_LIMIT = 100_000
# DuckDB reads a SQLite TEXT column in another encoding as is; Python cannot take it as str.
_NOT_UTF8_HINT = "a text value is not valid UTF-8: encode(column) gives its bytes as a blob"


class StatementLock:
    """One statement at a time on a session's engines, from any thread.

    Held while a statement runs and while its rows are read: DuckDB keeps one running query
    per connection, so another thread's statement would end it, or be read in its place.
    It counts the statements run (a reader started before a later one knows its rows are
    gone) and, once its session is closed, refuses to be taken.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.statements = 0
        self.closed = False
        self._unread: Result | None = None  # the last result run, and the thread that ran it
        self._unread_by = 0
        # The last statement (or the reading of its rows) that did not finish: how, after how
        # many seconds. A statement that runs clears it (Session.run_statement).
        self.failure: tuple[str, float] | None = None
        self._depth = 0  # calls of the holding thread inside each other
        self._since = 0.0

    def running(self) -> None:
        """Holding the lock, before a statement runs: count it. A result another thread ran
        and has not read yet is read into memory first, so that thread still gets its rows
        (in one thread, as ever, a later statement replaces a result not read)."""
        self.statements += 1
        unread = self._unread
        if unread is not None and self._unread_by != threading.get_ident():
            self._unread = None
            unread._keep_for_its_thread()

    def ran(self, result: Result) -> None:
        """Holding the lock: ``result``'s rows are in the engine now."""
        self._unread, self._unread_by = result, threading.get_ident()

    @contextmanager
    def turn(self, *, wait: bool = True) -> Iterator[None]:
        """Held around a call that runs something on the engine's connection outside a
        statement (a catalog's DESCRIBE): counted as one. Without ``wait``, a statement
        running in another thread is an error instead of a wait (a front end's own thread
        must not freeze while a query runs)."""
        if not self._lock.acquire(blocking=wait):
            raise BusyError("a statement is running", hint="ask again when it ends")
        try:
            if self.closed:
                raise NoctraError("this session is closed", hint="open a new noctra.Session()")
            self.running()
            yield
        finally:
            self._lock.release()

    def __enter__(self) -> None:
        self._lock.acquire()
        if self.closed:
            self._lock.release()
            raise NoctraError("this session is closed", hint="open a new noctra.Session()")
        self._depth += 1
        if self._depth == 1:
            self._since = time.perf_counter()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        self._depth -= 1
        if self._depth == 0 and isinstance(exc, NoctraError):
            how = "cancelled" if isinstance(exc, CancelledQueryError) else "failed"
            self.failure = (how, time.perf_counter() - self._since)
        self._lock.release()


class ListRows:
    """A small result made in Python (SHOW SOURCES, DESCRIBE...): it fits in memory."""

    engine = "noctra"
    plain_values = True

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
    plain_values = False

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
        # By column, not by name: two columns named id both keep their values.
        columns = [column.to_pylist() for column in part.columns]
        return list(zip(*columns, strict=True)) if columns else [() for _ in range(part.num_rows)]

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
        copy_rows: CopyRows | None = None,
        count: Callable[[], int] | None = None,
        notes: list[str] | None = None,
        on_read: Callable[[int, float], None] | None = None,
        as_text: Callable[[], tuple[list[Column], EngineResult] | None] | None = None,
    ) -> None:
        self.statement = statement
        self.engine = engine
        self.notes = notes or []
        self.stored = False  # answered from a stored result (SPEC 4.5): the query did not run
        self.elapsed = 0.0
        self.row_count: int | None = None
        self._run = run
        self._copy = copy
        self._copy_rows = copy_rows
        self._count = count
        self._result: EngineResult | None = None
        self._consumed = False
        self._failure: NoctraError | None = None  # met reading it for its thread (_keep_for_its_thread)
        # Told the row count and time once the whole result was read (a stored result's note).
        self._on_read = on_read
        # Runs the statement with every value cast to the engine's text, for a screen: the
        # columns (their real types) and the rows; None when Python values show them alike.
        self._as_text = as_text
        # Its session's (set by Session.run_statement): reading it waits for another thread's
        # statement, and a statement run meanwhile ends a reader() still streaming.
        self.lock = StatementLock()

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
        if self._failure is not None:
            failure, self._failure = self._failure, None
            self._consumed = True
            raise failure
        if self._result is None:
            if self._consumed:
                raise NoctraError(
                    "this result was already read",
                    hint="a result streams once; keep .arrow() if you need it twice",
                )
            start = time.perf_counter()
            self.lock.running()
            try:
                self._result = self._run()
            except BaseException:
                # A statement that failed is not run again (nor reported again) by ensure_run().
                self._consumed = True
                raise
            if not isinstance(self._result, (ListRows, ArrowRows)):  # those are in memory already
                self.lock.ran(self)
            self.elapsed += time.perf_counter() - start
            if self._result.engine != "noctra":
                self.engine = self._result.engine
        return self._result

    def ensure_run(self) -> None:
        """Run the statement now if nobody has read it (errors surface here)."""
        if not self.started:
            with self.lock:
                self._engine_result()

    @property
    def columns(self) -> list[Column]:
        """The columns, named as every output names them: duplicates get DuckDB's suffixes
        (a join's id, name, id_1, name_1), as in csv/json output and EXPORT."""
        with self.lock:
            return _unique_columns(self._engine_result().columns)

    @property
    def has_rows(self) -> bool:
        with self.lock:
            return self._engine_result().has_rows

    def as_shown(self) -> None:
        """Before rows are read for a screen (table, markdown, the REPL's line mode): where
        Python's values would show some types otherwise (INTERVAL, FLOAT, infinity...), the
        engine casts the rows to its own text, so no Arrow (nor its import) is needed."""
        if self._as_text is not None and not self.started:
            with self.lock:
                self.lock.running()
                try:
                    made = self._as_text()
                except BaseException:
                    self._consumed = True  # failed: not run (nor reported) again by ensure_run()
                    raise
                if made is not None:
                    self._result = cast("EngineResult", _TextRows(*made))

    def rows(self, n: int) -> list[tuple[object, ...]]:
        """Up to n rows as Python tuples: for display, never the whole result."""
        with self.lock:
            return self._engine_result().fetch(n)

    def texts_of(self, columns: Sequence[Column], table: pa.Table) -> list[tuple[str | None, ...]] | None:
        """Rows of an Arrow table read from this result (some of its columns) as the table
        output shows them, the engine's text (None for NULL); None when no engine serializes
        rows. A screen holding the Arrow table asks this for the rows it draws."""
        if self._copy_rows is None:
            return None
        return sql_texts(self._copy_rows, columns, table)

    def reader(self, batch_rows: int = 1_000_000) -> pa.RecordBatchReader:
        """The rows as a stream of Arrow record batches (zero-copy from DuckDB).

        An engine error met while the stream is read (a bad value late in a file)
        is raised as a NoctraError, as everywhere else. The rows stream from the engine
        until the session runs another statement: past that, reading on raises a
        NoctraError rather than ending early (DuckDB keeps one running query per
        connection, and the next statement ends it).
        """
        return self._reader(batch_rows, exact=True)

    def _reader(self, batch_rows: int, *, exact: bool) -> pa.RecordBatchReader:
        """``exact``: refuse 128-bit integers Arrow cannot carry (see _check_wide_integers);
        the TUI reads them itself (it undoes DuckDB's wrap of a UHUGEINT)."""
        import pyarrow as pa

        with self.lock:
            result = self._engine_result()
            reader = result.arrow_reader(batch_rows)
            self._consumed = True
            held = isinstance(result, (ListRows, ArrowRows))  # in memory: no statement ends them
            started = self.lock.statements
            wide = _wide_integers(result.columns) if exact else {}
        schema = _unique_schema(reader.schema)
        batches = _checked_batches(reader, None if held else self.lock, started)
        if wide:
            batches = _wide_checked(batches, wide)
        if schema is not reader.schema:  # the same buffers under the unique names
            batches = (pa.RecordBatch.from_arrays(batch.columns, schema=schema) for batch in batches)
        return pa.RecordBatchReader.from_batches(schema, batches)

    def arrow(self) -> pa.Table:
        """The rows as one pyarrow Table."""
        with self.lock:
            return self._arrow()

    def _arrow(self, *, exact: bool = True) -> pa.Table:
        """``exact``: refuse 128-bit integers Arrow cannot carry (_check_wide_integers); kept
        for Noctra's own use (detach), DuckDB reads such a table back with every value."""
        start, before = time.perf_counter(), self.elapsed
        result = self._engine_result()
        table = result.arrow_table()
        wide = _wide_integers(result.columns) if exact else {}
        if wide:
            _check_wide_integers(table, wide)
        schema = _unique_schema(table.schema)
        if schema is not table.schema:
            table = table.rename_columns(schema.names)  # zero-copy: the names only
        self.elapsed = before + (time.perf_counter() - start)  # running it is inside this read
        self._consumed = True
        self._read_whole(table.num_rows)
        return table

    def arrow_head(self, max_rows: int, max_bytes: int, *, batch_rows: int = 65_536) -> tuple[pa.Table, bool]:
        """Up to ``max_rows`` rows (and about ``max_bytes``) as one Arrow table, read batch by
        batch; True when that is all of them. A result cut short is closed: the engine stops
        making rows nobody will look at, and it does not count as read whole."""
        with self.lock:
            return self._arrow_head(max_rows, max_bytes, batch_rows)

    def _arrow_head(self, max_rows: int, max_bytes: int, batch_rows: int) -> tuple[pa.Table, bool]:
        import pyarrow as pa

        start, before = time.perf_counter(), self.elapsed
        reader = self._reader(batch_rows, exact=False)
        batches: list[pa.RecordBatch] = []
        rows = size = 0
        complete = True
        for read in reader:
            if rows >= max_rows or size >= max_bytes:
                complete = False
                break
            batch = read.slice(0, max_rows - rows) if rows + read.num_rows > max_rows else read
            complete = batch is read
            batches.append(batch)
            rows += batch.num_rows
            size += batch.nbytes
            if not complete:
                break
        table = pa.Table.from_batches(batches, schema=reader.schema)
        if not complete:
            self.close()
        self.elapsed = before + (time.perf_counter() - start)  # running it is inside this read
        self.row_count = rows
        if complete:
            self._read_whole(rows)
        return table, complete

    def df(self) -> Any:
        """The rows as a pandas DataFrame (needs ``pip install 'noctra[pandas]'``)."""
        _require("pandas")
        import pyarrow as pa

        table = self.arrow()
        try:
            return table.to_pandas()
        # Most of pyarrow's errors are ValueErrors; not all (a UNION column: ArrowNotImplementedError).
        except (pa.ArrowException, ValueError, OverflowError, TypeError) as exc:
            raise _conversion_error("pandas", table, exc) from exc

    def pl(self) -> Any:
        """The rows as a polars DataFrame (needs ``pip install 'noctra[polars]'``)."""
        _require("polars")
        import polars

        table = self.arrow()
        try:
            return polars.from_arrow(table)
        except Exception as exc:  # polars raises its own classes (ComputeError...)
            raise _conversion_error("polars", table, exc) from exc

    def close(self) -> None:
        if self.lock.closed:  # its session closed the engines, and their results with them
            self._consumed = True
            return
        with self.lock:
            if self._result is not None:
                self._result.close()
            self._consumed = True

    def detach(self) -> None:
        """Keep the rows as an Arrow table so later statements cannot close them."""
        if self._consumed:
            return
        with self.lock:
            columns = self.columns
            table = self._arrow(exact=False)
            self._result = ArrowRows(columns, table)
            self._consumed = False

    def _keep_for_its_thread(self) -> None:
        """Detach, before another thread's statement: an error reading it is this result's."""
        try:
            self.detach()
        except NoctraError as exc:
            self._failure = exc

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

        ``max_rows`` limits table and markdown only: csv/json carry every row.
        ``before_output`` runs once, right before the first byte is written (a front end
        clears its progress bar there).
        """
        if fmt not in ("table", "markdown", *TEXT_FORMATS):
            raise UsageError(f"unknown format {fmt!r}", hint=f"valid formats: {', '.join(FORMATS)}")
        with self.lock:
            return self._write(stream, fmt, max_rows, width, _Once(before_output))

    def _write(self, stream: TextIO, fmt: str, max_rows: int | None, width: int, once: _Once) -> int:
        if fmt in ("table", "markdown"):
            return self._write_display(stream, fmt, max_rows, width, once)
        from noctra.output.pipe import copy_through_pipe

        start, before = time.perf_counter(), self.elapsed
        if self._copy is not None and not self.started:
            self._consumed = True  # run once, even when the COPY fails
            self.lock.running()
            written = copy_through_pipe(self._copy, fmt, stream, once)
        else:
            result = self._engine_result()
            copy_rows = self._copy_rows
            if result.plain_values or copy_rows is None:
                written = _write_plain(result, fmt, stream, once)
            else:
                written = copy_through_pipe(lambda target, f: copy_rows(result, target, f), fmt, stream, once)
        self.elapsed = before + (time.perf_counter() - start)  # running it is inside this read
        self._consumed = True
        self._read_whole(written)
        return written

    def _write_display(self, stream: TextIO, fmt: str, max_rows: int | None, width: int, once: _Once) -> int:
        # Running the statement (timed by _engine_result) is inside this read: not added twice.
        start, before = time.perf_counter(), self.elapsed
        self.as_shown()
        result = self._engine_result()
        columns = result.columns
        more = 0
        if fmt == "table" and [c.name for c in columns] == ["explain_key", "explain_value"]:
            # EXPLAIN's plan is a drawing: shown as DuckDB draws it, not squeezed into cells.
            once()
            shown = 0
            while chunk := result.fetch(_CHUNK):
                stream.write("".join(f"{value}\n" for _, value in chunk))
                shown += len(chunk)
            self.elapsed = before + (time.perf_counter() - start)
            self._consumed = True
            self._read_whole(shown)
            return shown
        shown_rows = _ShownRows(result, self._copy_rows)
        if max_rows is None:
            # No limit: stream in chunks, widths fixed by the first chunk.
            shown = self._stream_display(stream, fmt, shown_rows, width, once)
            self.elapsed = before + (time.perf_counter() - start)
            self._consumed = True
            self._read_whole(shown)
            return shown
        rows = shown_rows.fetch(max_rows + 1)
        if len(rows) > max_rows:
            rows = rows[:max_rows]
            more = self._count_rest(result, shown_rows, max_rows)
        self.elapsed = before + (time.perf_counter() - start)
        once()
        if fmt == "markdown":
            stream.write(render_markdown(columns, rows))
        else:
            stream.write(render_table(columns, rows, width=width, color=_wants_color(stream, width)))
        if more:
            stream.write(f"… {more:,} more {'row' if more == 1 else 'rows'}\n")
        self._consumed = True
        self._read_whole(len(rows) + more)
        return len(rows)

    def _stream_display(self, stream: TextIO, fmt: str, rows: _ShownRows, width: int, once: _Once) -> int:
        columns = rows.columns
        chunk = rows.fetch(1000)
        once()
        shown = 0
        if fmt == "markdown":
            stream.write(render_markdown(columns, chunk))
            shown += len(chunk)
            while chunk := rows.fetch(_CHUNK):
                stream.write(render_markdown(columns, chunk).split("\n", 2)[2])
                shown += len(chunk)
            return shown
        layout = TableLayout(columns, chunk, width=width, color=_wants_color(stream, width))
        stream.write(layout.header())
        while chunk:
            if shown and layout.widen(chunk):
                # Later rows are longer: a new box with wider columns, no value cut.
                stream.write(layout.footer() + layout.header())
            stream.write(layout.rows(chunk))
            shown += len(chunk)
            chunk = rows.fetch(_CHUNK)
        stream.write(layout.footer())
        return shown

    def _read_whole(self, rows: int) -> None:
        self.row_count = rows
        if self._on_read is not None:
            on_read, self._on_read = self._on_read, None
            on_read(rows, self.elapsed)

    def _count_rest(self, result: EngineResult, rows: _ShownRows, shown: int) -> int:
        """Rows past the shown ones: read on (cheap for small results), or counted by the engine."""
        rest = 1  # the row fetched past the limit, to learn that there were more
        while skipped := rows.skip(_CHUNK):
            rest += skipped
            if self._count is not None and rest >= _DRAIN_LIMIT:
                # Big: counting again in the engine beats turning rows into Python.
                result.close()
                self.lock.running()
                return max(self._count() - shown, 0)
        return rest


class _TextRows:
    """A result whose values the engine already cast to text, under its columns' real types."""

    plain_values = True

    def __init__(self, columns: list[Column], inner: EngineResult) -> None:
        self.columns = columns
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _ShownRows:
    """Rows of a result read for display, each value as SQL shows it (see output.display).

    Values that Python shows as DuckDB does come from fetch(); the others are read as Arrow,
    and only the rows shown become text, serialized by the engine's COPY as csv output is.
    """

    def __init__(self, result: EngineResult, copy_rows: CopyRows | None) -> None:
        self._result = result
        self.columns = result.columns
        self._copy_rows = copy_rows if not result.plain_values else None
        self._as_text = self._copy_rows is not None and needs_sql_text([c.type for c in self.columns])
        self._batches: Iterator[pa.RecordBatch] | None = None
        self._schema: pa.Schema | None = None
        self._left: pa.RecordBatch | None = None  # the part of a batch not read yet

    def fetch(self, n: int) -> list[tuple[object, ...]]:
        """Up to n more rows to show."""
        if self._copy_rows is None or not self._as_text:
            try:
                return self._result.fetch(n)
            except QueryError as exc:
                if "Invalid unicode" in exc.message and exc.hint is None:
                    exc.hint = _NOT_UTF8_HINT
                raise
        table = self._take(n)
        if table.num_rows == 0:
            return []
        return list(sql_texts(self._copy_rows, self.columns, table))

    def skip(self, n: int) -> int:
        """Read past up to n rows nobody will see; how many there were."""
        if not self._as_text:
            return len(self._result.fetch(n))
        return int(self._take(n).num_rows)

    def _take(self, n: int) -> pa.Table:
        import pyarrow as pa

        if self._batches is None:
            reader = self._result.arrow_reader(_CHUNK)
            self._schema = reader.schema
            self._batches = _checked_batches(reader)
        parts: list[pa.RecordBatch] = []
        got = 0
        while got < n:
            batch = self._left if self._left is not None else next(self._batches, None)
            self._left = None
            if batch is None:
                break
            if batch.num_rows > n - got:
                batch, self._left = batch.slice(0, n - got), batch.slice(n - got)
            parts.append(batch)
            got += batch.num_rows
        return pa.Table.from_batches(parts, schema=self._schema)


Outcome = Result | Message


class _Once:
    """Calls a function the first time it is called, never again."""

    def __init__(self, function: Callable[[], None]) -> None:
        self._function: Callable[[], None] | None = function

    def __call__(self) -> None:
        function, self._function = self._function, None
        if function is not None:
            function()


def _conversion_error(library: str, table: pa.Table, exc: Exception) -> NoctraError:
    """A value the library cannot hold (a date past its range, an INTERVAL): one line."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    types = ", ".join(sorted({str(f.type) for f in table.schema}))
    return NoctraError(
        f"the rows cannot be turned into a {library} DataFrame: {reason}",
        hint=f".arrow() keeps every value ({types}); or CAST the column in the query",
    )


def _require(module: str) -> None:
    """A clear error naming the extra when an optional library is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise NoctraError(f"{module} is not installed", hint=f"pip install 'noctra[{module}]'")


def _unique_columns(columns: list[Column]) -> list[Column]:
    """Columns with duplicate names renamed as DuckDB does (id, id_1); the same list if none."""
    names = unique_names([c.name for c in columns])
    if all(c.name == n for c, n in zip(columns, names, strict=True)):
        return columns
    return [Column(n, c.type, c.nullable) for c, n in zip(columns, names, strict=True)]


def _unique_schema(schema: pa.Schema) -> pa.Schema:
    """An Arrow schema with duplicate names renamed as DuckDB does; the same schema if none."""
    import pyarrow as pa

    names = unique_names(schema.names)
    if names == schema.names:
        return schema
    fields = [f.with_name(n) for f, n in zip(schema, names, strict=True)]
    return pa.schema(fields, metadata=schema.metadata)


def _wide_integers(columns: Sequence[Column]) -> dict[int, str]:
    """Columns of 128-bit integers, which DuckDB hands to Arrow as decimal128(38, 0)."""
    return {i: c.type.upper() for i, c in enumerate(columns) if c.type.upper() in ("HUGEINT", "UHUGEINT")}


def _wide_checked(batches: Iterator[pa.RecordBatch], columns: dict[int, str]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        _check_wide_integers(batch, columns)
        yield batch


def _check_wide_integers(data: pa.RecordBatch | pa.Table, columns: dict[int, str]) -> None:
    """Refuse 128-bit integers that Arrow's decimal128(38, 0) does not hold.

    DuckDB writes a HUGEINT of 39 digits into it as it is (an invalid decimal) and a UHUGEINT
    past 2^127 wrapped to a negative number: wrong values, given without a word. rows() and
    every output format show them exactly.
    """
    import decimal
    import importlib

    # pyarrow.compute's functions are made at import: its stubs do not name them.
    pc: Any = importlib.import_module("pyarrow.compute")
    limit = decimal.Decimal("1e38")  # compared, never computed with: exact at any precision
    for index, kind in columns.items():
        low, high = (v.as_py() for v in pc.min_max(data.column(index)).values())
        if high is None:
            continue  # NULLs only
        floor = 0 if kind == "UHUGEINT" else -limit  # a negative UHUGEINT is one that wrapped
        if high >= limit or low < floor or (kind == "HUGEINT" and low <= -limit):
            name = data.schema.field(index).name
            raise QueryError(
                f"column {name!r} holds a {kind} value of more than 38 digits, which Arrow "
                "(decimal128) cannot carry",
                hint=f"CAST({quote_ident(name)} AS VARCHAR) gives it exactly (as rows() and every "
                "output format do), or AS DOUBLE rounded",
            )


def _checked_batches(
    reader: pa.RecordBatchReader, lock: StatementLock | None = None, started: int = 0
) -> Iterator[pa.RecordBatch]:
    """The batches of an engine's Arrow stream; an error met while reading is a NoctraError.

    With its session's ``lock``: each batch is read holding it, and once a statement ran
    after the ``started``-th, reading on is an error. DuckDB ends a stream silently when its
    connection runs another statement (SQLite's cursor is closed): never a short result.
    """
    import pyarrow as pa

    while True:
        try:
            if lock is None:
                batch = reader.read_next_batch()
            else:
                with lock:
                    if lock.statements != started:
                        raise NoctraError(
                            "this result was already read or replaced by a later statement",
                            hint="read a reader to its end (or use .arrow()) before the next statement",
                        )
                    batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            raise _stream_error(exc) from exc
        yield batch


def _stream_error(exc: BaseException) -> NoctraError:
    """An Arrow stream's error as a NoctraError: DuckDB's own message, one line."""
    text = str(exc).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    # DuckDB's reader reports the real error on a later line ("Error: Invalid Input Error: boom").
    real = next((line[len("Error: ") :] for line in lines if line.startswith("Error: ")), None)
    return QueryError(real or (lines[0] if lines else type(exc).__name__))


def _write_plain(result: EngineResult, fmt: str, stream: TextIO, once: _Once) -> int:
    """Rows of plain values (native SQLite, Noctra's listings) in COPY's exact text."""
    writer = TextWriter(fmt, [c.name for c in result.columns])
    once()
    binary = getattr(stream, "buffer", None)
    stream.write(writer.start())
    while chunk := result.fetch(_CHUNK):
        text = writer.rows(chunk)
        try:
            if fmt in ("json", "jsonl"):
                text.encode("utf-8")  # JSON cannot carry text that is not UTF-8
            stream.write(text)
        except UnicodeEncodeError:
            # Text that was not UTF-8 (SQLite TEXT in Latin-1, kept as surrogate escapes).
            if fmt in ("json", "jsonl"):
                row = writer.count - len(chunk) + _first_not_utf8(chunk)
                native = getattr(result, "engine", "") == "sqlite"
                raise not_utf8_row(row, blob="CAST(column AS BLOB)" if native else "encode(column)") from None
            if binary is None:
                raise
            stream.flush()  # csv/tsv write those bytes as they are, as DuckDB's COPY does
            binary.write(text.encode("utf-8", "surrogateescape"))
    stream.write(writer.end())
    return writer.count


def _first_not_utf8(rows: list[tuple[object, ...]]) -> int:
    """The 1-based place in rows of the first one holding text that is not UTF-8."""
    for place, row in enumerate(rows, 1):
        for value in row:
            if isinstance(value, str) and not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return place
    return 1


def _wants_color(stream: TextIO, width: int) -> bool:
    """Colour only on a terminal (width > 0 means one) and unless NO_COLOR is set."""
    return width > 0 and not os.environ.get("NO_COLOR") and stream.isatty()
