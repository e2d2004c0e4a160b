"""Rows to show on a screen, each value as SQL shows it: DuckDB's own text, as csv has it.

Most types reach Python as values whose text (render.value_text) is DuckDB's text. A few
lose on the way what DuckDB shows: an INTERVAL's months (``1 month`` arrives as 30 days),
nanoseconds, ``date 'infinity'`` (arrives as 9999-12-31), a FLOAT's short digits
(``0.1`` arrives as 0.10000000149011612), the quotes of strings inside a list. Results with
such columns are read as Arrow, and only the rows shown are turned into text, by the
engine's COPY to csv: the same text csv output has.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from noctra.engine.base import Column, EngineResult
from noctra.output.pipe import copy_through_pipe
from noctra.output.render import NUMERIC_TYPES

if TYPE_CHECKING:
    import pyarrow as pa

# Serializes a result's rows with the engine's COPY (the engine turns them into Arrow).
CopyRows = Callable[[EngineResult, str, str], int]

# Types whose Python value prints (value_text) exactly as DuckDB casts it to text.
_EXACT_IN_PYTHON = (NUMERIC_TYPES - {"FLOAT", "REAL"}) | frozenset(
    {
        "NULL",
        "BOOLEAN",
        "VARCHAR",
        "BLOB",
        "UUID",
        "JSON",
        "ENUM",
        "BIT",
        "BIGNUM",
        "VARINT",
        "TIME WITH TIME ZONE",
    }
)
# Types DuckDB's Arrow export does not carry whole (UHUGEINT past 2**127, BIT as its
# storage bytes, TIME WITH TIME ZONE without its offset): their Python values are right.
_LOST_IN_ARROW = re.compile(r"\b(UHUGEINT|BIT|TIME WITH TIME ZONE)\b")
# DuckDB's timestamp 'infinity' (negated: '-infinity').
_INFINITE = 2**63 - 1
# One csv field as DuckDB's COPY writes it: quoted ("" inside) or bare; a bare empty one is NULL.
_CSV_FIELD = re.compile(r'"((?:[^"]|"")*)"|([^,\n]*)')


def needs_sql_text(types: Sequence[str], *, via_arrow: bool = True) -> bool:
    """True when values of these column types lose, as Python values, what DuckDB shows.

    ``via_arrow``: the text would be made from the rows' Arrow form; the engine's own cast
    of the query (``via_arrow=False``) is exact for every type.
    """
    if via_arrow and any(_LOST_IN_ARROW.search(t) for t in types):
        # Arrow would be wrong where Python is right: Python's values are the lesser loss.
        return False
    return any(t.split("(")[0].strip().upper() not in _EXACT_IN_PYTHON for t in types)


def sql_texts(
    copy_rows: CopyRows, columns: Sequence[Column], table: pa.Table
) -> list[tuple[str | None, ...]]:
    """Rows of an Arrow table as DuckDB's text (None for NULL), by the engine's COPY to csv."""
    from noctra.output.model import ArrowRows

    rows = ArrowRows(list(columns), table)
    sink = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    copy_through_pipe(lambda target, fmt: copy_rows(rows, target, fmt), "csv", sink, lambda: None)
    buffer = sink.buffer
    assert isinstance(buffer, io.BytesIO)
    # Text that is not UTF-8 (a SQLite TEXT column holding Latin-1) is shown with U+FFFD.
    texts = parse_csv(buffer.getvalue().decode("utf-8", "replace"))[1:]
    zoned = [i for i, field in enumerate(table.schema) if getattr(field.type, "tz", None)]
    if not zoned or not texts:
        return texts
    # COPY runs on a cursor of its own, in the default time zone, not the one SET for the
    # session, which Arrow carries: a timestamp with time zone is shown in that one.
    columns_of_text = [list(column) for column in zip(*texts, strict=True)]
    for i in zoned:
        columns_of_text[i] = _zoned_texts(table.column(i))
    return list(zip(*columns_of_text, strict=True))


def _zoned_texts(column: pa.ChunkedArray) -> list[str | None]:
    """Timestamps with time zone as DuckDB shows them in the zone Arrow gives them."""
    import pyarrow as pa

    from noctra.output.render import value_text

    texts: list[str | None] = []
    for raw, value in zip(column.cast(pa.int64()).to_pylist(), column, strict=True):
        if raw is None:
            texts.append(None)
        elif abs(raw) == _INFINITE:
            texts.append("infinity" if raw > 0 else "-infinity")
        else:
            texts.append(value_text(value.as_py()))
    return texts


def parse_csv(text: str) -> list[tuple[str | None, ...]]:
    """Records of csv as DuckDB's COPY writes it; a bare empty field is None (NULL)."""
    records: list[tuple[str | None, ...]] = []
    fields: list[str | None] = []
    pos, end = 0, len(text)
    while pos < end:
        match = _CSV_FIELD.match(text, pos)
        assert match is not None  # the bare form matches the empty string
        quoted, bare = match.groups()
        fields.append(quoted.replace('""', '"') if quoted is not None else (bare or None))
        pos = match.end()
        if pos >= end or text[pos] == "\n":
            records.append(tuple(fields))
            fields = []
        pos += 1
    return records
