"""The text of a result's cells as the table output shows it (DuckDB's), read from Arrow.

The grid keeps a result as Arrow, the real values (the profile counts them), and turns into
text only the rows it draws. Values of most Arrow types print in Python as DuckDB prints
them (render.value_text); the others (INTERVAL, FLOAT, DATE and TIMESTAMP with their
infinities, TIMESTAMP_NS, TIMESTAMPTZ, TIME, nested types, BIGNUM...) are cast by the
engine, those columns of those rows only, as the table output's rows are (output.display).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from noctra.output.render import value_text

if TYPE_CHECKING:
    import pyarrow as pa

    from noctra.catalog import Column

# Rows of (some columns of) an Arrow table as the engine's text; None when there is no engine.
EngineTexts = Callable[[Sequence["Column"], "pa.Table"], "list[tuple[str | None, ...]] | None"]

# DuckDB's Arrow export gives a UHUGEINT as a signed decimal128 holding its 128 bits.
_UHUGEINT_WRAP = 2**128


class CellTexts:
    """Cells of one result's columns as text (None for NULL), a slice of its Arrow table at a time."""

    def __init__(self, columns: Sequence[Column], schema: pa.Schema, engine: EngineTexts | None) -> None:
        self._columns = list(columns)
        self._engine = engine
        self._ways = [_way(c.type, f.type, engine is not None) for c, f in zip(columns, schema, strict=True)]

    def rows(self, table: pa.Table, *, limit: int | None = None) -> list[list[str | None]]:
        """Every row of table (a slice of the result's) as text.

        With ``limit``, a text value may come back as its first ``limit`` characters or more,
        enough to draw a cell: a huge value is not read whole into Python.
        """
        by_column = self._texts(table, [(i, i) for i in range(table.num_columns)], limit)
        if not by_column:
            return [[] for _ in range(table.num_rows)]
        return [list(row) for row in zip(*by_column, strict=True)]

    def column(self, index: int, values: pa.Array | pa.ChunkedArray) -> list[str | None]:
        """Values of the result's column ``index`` (a profile's min, max, top values) as text."""
        import pyarrow as pa

        table = pa.table([values], names=[self._columns[index].name])
        return self._texts(table, [(index, 0)], None)[0]

    def _texts(
        self, table: pa.Table, places: list[tuple[int, int]], limit: int | None
    ) -> list[list[str | None]]:
        """Texts of the result's columns, each given as (its index, its position in table)."""
        texts: dict[int, list[str | None]] = {}
        asked = [(i, p) for i, p in places if self._ways[i] == "engine"]
        if asked and table.num_rows:
            texts.update(self._engine_texts(table, asked))
        for i, position in places:
            if i not in texts:
                texts[i] = _python_texts(table.column(position), self._ways[i], limit)
        return [texts[i] for i, _ in places]

    def _engine_texts(self, table: pa.Table, asked: list[tuple[int, int]]) -> dict[int, list[str | None]]:
        """The engine's text of these columns; nothing (Python's text then) if it cannot give it."""
        assert self._engine is not None
        try:
            rows = self._engine([self._columns[i] for i, _ in asked], table.select([p for _, p in asked]))
        except Exception:  # noqa: BLE001 - a grid draws Python's text rather than nothing
            return {}
        if rows is None or len(rows) != table.num_rows:
            return {}
        columns: list[tuple[str | None, ...]] = list(zip(*rows, strict=True))
        return {i: list(texts) for (i, _), texts in zip(asked, columns, strict=True)}


def _way(sql_type: str, arrow_type: pa.DataType, has_engine: bool) -> str:
    """How a column's values become DuckDB's text: 'python', 'engine', 'uhugeint' or 'bit'."""
    import pyarrow as pa

    name = sql_type.split("(", maxsplit=1)[0].strip().upper()
    if name == "UHUGEINT":
        return "uhugeint"  # a signed decimal128 in Arrow: the engine would read it signed
    if name == "BIT":
        return "bit"  # DuckDB's storage bytes in Arrow: the engine would read a BLOB
    t = pa.types
    exact = (
        t.is_null(arrow_type)
        or t.is_boolean(arrow_type)
        or t.is_integer(arrow_type)
        or t.is_float64(arrow_type)  # repr() is DuckDB's shortest text; not so a FLOAT's
        or t.is_decimal(arrow_type)
        or t.is_string(arrow_type)
        or t.is_large_string(arrow_type)
        or t.is_string_view(arrow_type)
        or t.is_binary(arrow_type)
        or t.is_large_binary(arrow_type)
        or (t.is_dictionary(arrow_type) and t.is_string(arrow_type.value_type))  # an ENUM
    )
    return "python" if exact or not has_engine else "engine"


def _python_texts(values: pa.ChunkedArray, way: str, limit: int | None) -> list[str | None]:
    """A column's values as text made in Python."""
    import pyarrow as pa

    if limit is not None and way == "python":
        # pyarrow.compute's functions are made at import: its stubs do not name them.
        pc: Any = importlib.import_module("pyarrow.compute")
        kind = values.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            # Text that is not UTF-8 (SQLite TEXT in Latin-1) cannot be cut: _py shows it whole.
            with contextlib.suppress(pa.ArrowInvalid):
                values = pc.utf8_slice_codeunits(values, 0, limit)
        elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            values = pc.binary_slice(values, 0, limit)
    if way == "uhugeint":
        return [None if v is None else str(int(v) + (_UHUGEINT_WRAP if v < 0 else 0)) for v in _py(values)]
    if way == "bit":
        return [None if v is None else _bit_text(v) for v in _py(values)]
    return [None if v is None else value_text(v) for v in _py(values)]


def _py(values: pa.ChunkedArray) -> list[Any]:
    """Python values; one Python cannot hold (a date past year 9999) as Arrow's own text."""
    import pyarrow as pa

    try:
        listed: list[Any] = values.to_pylist()
        return listed
    except (OverflowError, ValueError):
        pass
    out: list[Any] = []
    for scalar in values:
        try:
            out.append(scalar.as_py())
        except (OverflowError, ValueError):
            kind = scalar.type
            if pa.types.is_string(kind) or pa.types.is_large_string(kind):
                # Text that is not UTF-8 (SQLite TEXT in Latin-1): shown with U+FFFD.
                raw = scalar.cast(pa.large_binary() if pa.types.is_large_string(kind) else pa.binary())
                out.append(raw.as_py().decode("utf-8", "replace"))
                continue
            try:
                out.append(scalar.cast(pa.string()).as_py())
            except (pa.ArrowException, OverflowError, ValueError):
                out.append(str(scalar.type))
    return out


def _bit_text(storage: bytes) -> str:
    """A BIT as DuckDB shows it, from its storage: a byte of padding bits, then the bits."""
    if not storage:
        return ""
    return "".join(f"{byte:08b}" for byte in storage[1:])[storage[0] :]
