"""Native SQLite: statements that touch one SQLite database run here, with SQLite's semantics."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from noctra.engine.base import Busy, Column, Params
from noctra.errors import LOCKED_HINT, CancelledQueryError, LockedError, NoctraError, QueryError, SourceError
from noctra.output.render import value_text

if TYPE_CHECKING:
    import pyarrow as pa


class SqliteResult:
    """Rows of one SQLite statement, read through the cursor a few at a time."""

    engine = "sqlite"
    plain_values = True

    def __init__(
        self,
        cursor: sqlite3.Cursor,
        owner: SqliteEngine,
        sql: str = "",
        params: Mapping[str, Any] | Sequence[Any] | None = None,
    ) -> None:
        self._cursor = cursor
        self._owner = owner
        self._sql = sql
        self._params = params
        self._read = 0  # rows read from the cursor so far: skipped when it is read again
        description = cursor.description
        self._has_rows = description is not None
        self._peeked: list[tuple[object, ...]] = []
        names = [str(d[0]) for d in description or []]
        if self._has_rows:
            # SQLite has no column types in a result: take them from the first row.
            self._peeked = self.fetch(1)
        if self._peeked:
            self.columns = [Column(n, _type_of(v)) for n, v in zip(names, self._peeked[0], strict=True)]
        else:
            # No row to tell: the types the columns are declared with (an empty day's EXPORT
            # must not change the file's schema), text where SQLite knows none.
            declared = owner.declared_types(sql) if self._has_rows and params is None else None
            kinds = declared or [""] * len(names)
            self.columns = [Column(n, _type_of_declared(k)) for n, k in zip(names, kinds, strict=True)]
        self.closed = False

    @property
    def has_rows(self) -> bool:
        return self._has_rows

    @property
    def rowcount(self) -> int:
        """Rows a write changed (-1 when SQLite does not say)."""
        return self._cursor.rowcount

    def fetch(self, n: int) -> list[tuple[object, ...]]:
        rows: list[tuple[object, ...]] = []
        if self._peeked:
            rows, self._peeked = self._peeked[:n], self._peeked[n:]
        if len(rows) < n:
            with self._owner.translating():
                try:
                    more = self._cursor.fetchmany(n - len(rows))
                except sqlite3.OperationalError as exc:
                    if "decode to UTF-8" not in str(exc):
                        raise
                    self._read_again_keeping_bytes(exc, self._read)
                    more = self._cursor.fetchmany(n - len(rows))
                self._read += len(more)
                rows.extend(more)
        return rows

    def _read_again_keeping_bytes(self, exc: sqlite3.OperationalError, skip: int) -> None:
        """A TEXT value that is not UTF-8 (a database written in Latin-1): read the rows again
        with such text kept as its bytes (surrogate escapes), as DuckDB's reader keeps them.

        Python's default decoding is C code; the tolerant one costs a Python call per text
        value, so it is taken only for the statement that needs it. Only a statement that
        writes nothing can run twice: a write gets the error.
        """
        words = _LITERALS.sub("''", self._sql)
        if not _READS_ONLY.match(words) or _WRITES.search(words):
            raise QueryError(
                f"SQLite: a text value is not valid UTF-8 ({exc})",
                hint="CAST(column AS BLOB) gives its bytes, or SET engine = duckdb",
            ) from exc
        connection = self._owner.connection
        connection.text_factory = _text_keeping_bytes
        sql, params = self._sql, self._params
        cursor = connection.execute(sql, params) if params is not None else connection.execute(sql)
        while skip > 0:
            skip -= len(cursor.fetchmany(min(skip, 10_000)))
        self._cursor.close()
        self._cursor = cursor

    def arrow_reader(self, batch_rows: int = 100_000) -> pa.RecordBatchReader:
        import pyarrow as pa

        names = [c.name for c in self.columns]
        types: list[pa.DataType | None] = [None] * len(names)

        def batch(rows: list[tuple[object, ...]]) -> pa.RecordBatch:
            arrays = []
            for i, values in enumerate(zip(*rows, strict=True)):
                try:
                    kinds = {type(v) for v in values if v is not None}
                    if types[i] is not None and not kinds <= _FITS.get(str(types[i]), kinds):
                        # pyarrow would cast 1.5 into an int64 column as 1: refuse instead.
                        raise TypeError(f"{sorted(k.__name__ for k in kinds)} into {types[i]}")
                    try:
                        array = pa.array(values, type=types[i])
                    except UnicodeEncodeError:
                        # Text that was not UTF-8 (kept as surrogate escapes): its bytes.
                        if not kinds <= {str}:
                            raise TypeError("text that is not UTF-8 among other types") from None
                        array = arrow_text(values)
                except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as exc:
                    if types[i] not in (None, pa.string()):
                        raise QueryError(
                            f"column {names[i]!r} holds values of several types (SQLite allows it; "
                            "an Arrow column has one)",
                            hint=f"CAST({names[i]} AS TEXT) in the query, or SET engine = duckdb",
                        ) from exc
                    # A column mixing types (1, 'a', 2.5) becomes text, each value as DuckDB shows it.
                    array = arrow_text([None if v is None else value_text(v) for v in values])
                if types[i] is None:
                    # A column of NULLs only so far is text: later values of any type still fit.
                    types[i] = pa.string() if array.type == pa.null() else array.type
                    array = array.cast(types[i])
                arrays.append(array)
            return pa.RecordBatch.from_arrays(arrays, names=names)

        first = self.fetch(batch_rows)
        if not first:
            schema = pa.schema([(c.name, _arrow_type(c.type)) for c in self.columns])
            return pa.RecordBatchReader.from_batches(schema, [])
        head = batch(first)

        def batches() -> Iterator[pa.RecordBatch]:
            # SQLite hands rows over one by one: they become Arrow a batch at a time.
            yield head
            while chunk := self.fetch(batch_rows):
                yield batch(chunk)

        return pa.RecordBatchReader.from_batches(head.schema, batches())

    def arrow_table(self) -> pa.Table:
        return self.arrow_reader().read_all()

    def close(self) -> None:
        self.closed = True
        self._cursor.close()
        self._owner.connection.text_factory = str


def _text_keeping_bytes(data: bytes) -> str:
    """SQLite TEXT as str; bytes that are not UTF-8 kept as surrogate escapes (PEP 383)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


def arrow_text(values: Sequence[object]) -> pa.Array:
    """Text holding surrogate escapes as an Arrow string column of the original bytes,
    which is how DuckDB's SQLite reader hands such text over (COPY writes it as it is)."""
    import pyarrow as pa

    raw = [None if v is None else str(v).encode("utf-8", "surrogateescape") for v in values]
    return pa.array(raw, pa.binary()).view(pa.string())


_LITERALS = re.compile(r"'(?:[^']|'')*'")
_READS_ONLY = re.compile(r"\s*(?:SELECT|VALUES|WITH|PRAGMA|EXPLAIN)\b", re.IGNORECASE)
_WRITES = re.compile(r"\b(?:INSERT|UPDATE|DELETE|REPLACE|RETURNING)\b", re.IGNORECASE)


# The Python types SQLite hands over that each Arrow column type takes without loss.
_FITS: dict[str, set[type]] = {
    "int64": {int},
    "double": {int, float},
    "string": {str},
    "binary": {bytes},
}


def _type_of_declared(declared: str) -> str:
    """The type a column's values take by its declared type's affinity (sqlite.org/datatype3)."""
    upper = declared.upper()
    if "INT" in upper:
        return "BIGINT"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "DOUBLE"
    if "BLOB" in upper:
        return "BLOB"
    return "VARCHAR"  # text, no type (an expression), or NUMERIC's dates and decimals as text


def _arrow_type(column_type: str) -> pa.DataType:
    """The Arrow type of a column type a SQLite result gives (_type_of, _type_of_declared)."""
    import pyarrow as pa

    return {"BOOLEAN": pa.bool_(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(), "BLOB": pa.binary()}.get(
        column_type, pa.string()
    )


def _type_of(value: object) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "BIGINT"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, bytes):
        return "BLOB"
    return "VARCHAR"


class SqliteEngine:
    """One sqlite3 connection per SQLite source, in autocommit, with a statement cache."""

    name = "sqlite"

    def __init__(self, path: str, alias: str, *, readonly: bool = False, cache_size: int = 100) -> None:
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        try:
            self.connection = sqlite3.connect(
                uri,
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=cache_size,
            )
            # The alias works inside SQLite too (crm.customers), on the same file.
            self.connection.execute("ATTACH DATABASE ? AS " + _quote(alias), (uri,))
            # A long statement runs inside SQLite's C code, where Python never runs a signal
            # handler: Ctrl-C and SIGTERM waited for its end. Python is entered now and then.
            self.connection.set_progress_handler(_let_signals_in, _SIGNAL_STEPS)
        except sqlite3.Error as exc:
            if "locked" in str(exc):
                raise LockedError(f"cannot open SQLite database {path!r}: {exc}", hint=LOCKED_HINT) from exc
            hint = "check that the file is a SQLite database"
            raise SourceError(f"cannot open SQLite database {path!r}: {exc}", hint=hint) from exc
        self.path = path
        self.alias = alias
        self.readonly = readonly
        self.calls = Busy()
        self.interrupted = False  # cancel() asked: an interrupted statement was cancelled
        self._running: SqliteResult | None = None

    @property
    def busy(self) -> bool:
        return bool(self.calls)

    def run(self, sql: str, params: Params = None) -> SqliteResult:
        if self._running is not None:
            self._running.close()
        self.interrupted = False
        bound = _sqlite_params(params)
        with self.translating():
            cursor = (
                self.connection.execute(sql, bound) if bound is not None else self.connection.execute(sql)
            )
        self._running = SqliteResult(cursor, self, sql, bound)
        return self._running

    def declared_types(self, sql: str) -> list[str] | None:
        """The declared types of a query's columns ('' for an expression); None if SQLite
        cannot say (not a plain query). Read through a temporary view, dropped at once."""
        if not re.match(r"\s*(?:SELECT|WITH|VALUES)\b", sql, flags=re.I):
            return None
        try:
            self.connection.execute(f"CREATE TEMP VIEW __noctra_declared AS {sql.rstrip().rstrip(';')}")
        except sqlite3.Error:
            return None
        try:
            rows = self.connection.execute("PRAGMA temp.table_info(__noctra_declared)").fetchall()
        except sqlite3.Error:
            return None
        finally:
            self.connection.execute("DROP VIEW IF EXISTS temp.__noctra_declared")
        return [str(row[2] or "") for row in rows]

    def data_version(self) -> int:
        """SQLite's PRAGMA data_version: changes when another connection commits."""
        with self.translating():
            row = self.connection.execute("PRAGMA data_version").fetchone()
        return int(row[0]) if row else 0

    def count_rows(self, table: str) -> int:
        with self.translating():
            row = self.connection.execute(f"SELECT count(*) FROM main.{_quote(table)}").fetchone()
        return int(row[0]) if row else 0

    def views_missing(self, name: str) -> list[str]:
        """Views SQLite cannot read because ``name`` (a table or column) is gone.

        Asked only after a "no such table/column" error, to name the view the user read.
        """
        try:
            views = self.connection.execute(
                "SELECT name FROM main.sqlite_master WHERE type = 'view'"
            ).fetchall()
        except sqlite3.Error:
            return []
        broken = []
        for (view,) in views:
            try:
                self.connection.execute("SELECT * FROM pragma_table_xinfo(?, 'main')", (view,)).fetchall()
            except sqlite3.Error as exc:
                if re.search(r"no such (?:table|column): (?:.*\.)?" + re.escape(name) + "$", str(exc)):
                    broken.append(str(view))
        return broken

    def describe(self, relation_sql: str, params: Params = None) -> list[Column]:
        with self.translating():
            rows = self.connection.execute(f"PRAGMA table_info({relation_sql})").fetchall()
        return [Column(str(r[1]), str(r[2] or "ANY"), not r[3]) for r in rows]

    def cancel(self) -> None:
        self.interrupted = True

        def interrupt() -> None:
            with contextlib.suppress(sqlite3.Error):  # closed meanwhile (a session ending)
                self.connection.interrupt()

        self.calls.interrupt_until_idle(interrupt)

    def progress(self) -> float | None:
        return None

    def close(self) -> None:
        if self._running is not None:
            self._running.close()
        self.connection.close()

    def translating(self) -> _Translate:
        return _Translate(self)


# SQLite virtual-machine steps between two calls of _let_signals_in (a fraction of a ms).
_SIGNAL_STEPS = 20_000


def _let_signals_in() -> int:
    """SQLite's progress handler: entering Python runs the signal handlers due (Ctrl-C cancels
    the statement through the front end's handler); one that raises stops the statement."""
    return 0


class _Translate:
    def __init__(self, engine: SqliteEngine) -> None:
        self.engine = engine

    def __enter__(self) -> None:
        self.engine.calls.__enter__()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        self.engine.calls.__exit__()
        if exc is None:
            return
        if isinstance(exc, sqlite3.OperationalError) and "interrupted" in str(exc):
            if not self.engine.interrupted:
                # Nobody called cancel(): a signal's handler raised in _let_signals_in (Python's
                # own Ctrl-C), and sqlite3 kept only "interrupted". The caller gets it back.
                raise KeyboardInterrupt from exc
            raise CancelledQueryError("query cancelled") from exc
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            raise LockedError(f"SQLite: {exc} ({self.engine.path})", hint=LOCKED_HINT) from exc
        if isinstance(exc, sqlite3.OperationalError) and "readonly database" in str(exc):
            raise read_only_error(self.engine.alias, self.engine.path, readonly=self.engine.readonly) from exc
        if isinstance(exc, sqlite3.Error):
            hint = "this statement ran in SQLite (SET engine = duckdb to change)"
            missing = re.match(r"no such (?:table|column): (?:.*\.)?(.+)$", str(exc))
            if missing is not None:
                views = self.engine.views_missing(missing.group(1))
                if views:
                    names = ", ".join(repr(v) for v in views)
                    gone = missing.group(1)
                    hint = f"view {names} names {gone!r}, which is gone: fix or drop the view in SQLite"
            raise QueryError(f"SQLite: {exc}", hint=hint) from exc
        if isinstance(exc, NoctraError):
            return


def read_only_error(alias: str, path: str, *, readonly: bool) -> QueryError:
    """A write to a database that cannot take it: opened read-only, or a file SQLite cannot write."""
    if readonly:
        return QueryError(
            f"cannot write to {alias!r}: it is open read-only",
            hint="it was registered with OPTIONS (readonly = true), or is a --db workspace opened "
            "with --read-only: register it again without that to write",
        )
    return QueryError(
        f"cannot write to {alias!r}: SQLite says the file is read-only ({path})",
        hint="the file or its folder is not writable (SQLite writes a journal beside it): "
        "check their permissions",
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_params(params: Params) -> Mapping[str, Any] | Sequence[Any] | None:
    if params is None:
        return None
    if isinstance(params, Mapping):
        return {str(k): _sqlite_value(v) for k, v in params.items()}
    return [_sqlite_value(v) for v in params]


def _sqlite_value(value: object) -> object:
    """Values sqlite3 cannot bind become what SQLite stores: decimals as REAL, dates as ISO text."""
    import datetime as dt
    import decimal

    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return value
