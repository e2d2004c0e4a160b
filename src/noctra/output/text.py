"""One serialization: csv/tsv/json/jsonl text exactly as DuckDB's COPY writes it.

DuckDB's COPY serializes every DuckDB result (and Arrow from any engine). Rows made
in Python (native SQLite, Noctra's own listings) hold only NULL, booleans, integers,
floats, text and bytes; this module writes those the same way, byte for byte
(checked against COPY by tests/output/test_serialization.py). JSON has no NaN or
Infinity: both engines write null for them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import cache

from noctra.errors import QueryError

TEXT_FORMATS = ("csv", "tsv", "json", "jsonl")
# DuckDB's CSV writer quotes a field holding the delimiter, a quote, a line break or
# '#' (its comment character), and the empty string (NULL is the bare empty field).
_CSV_SPECIAL = ('"', "\n", "\r", "#")


@cache
def _json_escapes() -> dict[int, str]:
    """What DuckDB's JSON writer escapes: quote, backslash, control characters."""
    # \u00XX in upper-case hex, except the five with short forms; the rest stays UTF-8.
    escapes = {i: f"\\u{i:04X}" for i in range(0x20)}
    escapes.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"})
    escapes.update({ord('"'): '\\"', ord("\\"): "\\\\"})
    return escapes


@cache
def _blob_text() -> list[str]:
    """Each byte of a blob as DuckDB writes it in text."""
    # Printable ASCII as is, other bytes as \xHH; the backslash and both quotes too.
    table = [chr(b) if 32 <= b < 127 else f"\\x{b:02X}" for b in range(256)]
    for byte in (ord("\\"), ord('"'), ord("'")):
        table[byte] = f"\\x{byte:02X}"
    return table


def unique_names(names: Sequence[str]) -> list[str]:
    """Column names made unique the way DuckDB does it (id, id_1, id_2; case-insensitive)."""
    taken: set[str] = set()
    unique: list[str] = []
    for name in names:
        candidate = name
        number = 0
        while candidate.lower() in taken:
            number += 1
            candidate = f"{name}_{number}"
        taken.add(candidate.lower())
        unique.append(candidate)
    return unique


def blob_text(value: bytes | bytearray | memoryview) -> str:
    """A blob as DuckDB shows it: b'\\x00a' -> '\\x00a'."""
    table = _blob_text()
    return "".join(table[b] for b in bytes(value))


def double_text(value: float) -> str:
    """A double as DuckDB's CSV writer shows it (the shortest text that reads back)."""
    if math.isnan(value):
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    return repr(value)


def json_double(value: float) -> str:
    """A double as DuckDB's JSON writer lays it out: fixed below 1e21, 1e21 and 1e-7 above."""
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    text = repr(abs(value))
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    leading_zeros = len(fraction) - len(fraction.lstrip("0")) if whole == "0" else 0
    point = (len(whole) if whole != "0" else -leading_zeros) + int(exponent or 0)
    digits = digits.rstrip("0") or "0"
    sign = "-" if value < 0 else ""
    if -6 < point <= 21:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{sign}{digits}{'0' * (point - len(digits))}.0"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    rest = f".{digits[1:]}" if len(digits) > 1 else ""
    return f"{sign}{digits[0]}{rest}e{point - 1}"


def csv_field(value: object, delimiter: str) -> str:
    """One field of a CSV/TSV row."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return double_text(value)
    text = blob_text(value) if isinstance(value, (bytes, bytearray, memoryview)) else str(value)
    if text == "" or delimiter in text or any(c in text for c in _CSV_SPECIAL):
        return '"' + text.replace('"', '""') + '"'
    return text


def json_string(text: str) -> str:
    return '"' + text.translate(_json_escapes()) + '"'


def json_value(value: object) -> str:
    """One JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json_double(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return json_string(blob_text(value))
    return json_string(str(value))


class TextWriter:
    """Rows of plain values as csv/tsv/json/jsonl text, in DuckDB's COPY layout.

    json is one array per result set on one line (``[{...},{...}]``), so the output
    of a script with several queries is read line by line; jsonl is one object per line.
    """

    def __init__(self, fmt: str, names: Sequence[str]) -> None:
        self.fmt = fmt
        self.delimiter = "\t" if fmt == "tsv" else ","
        self.names = unique_names(names)
        self.keys = [json_string(n) + ":" for n in self.names]
        self.count = 0

    def start(self) -> str:
        if self.fmt in ("csv", "tsv"):
            return self.delimiter.join(csv_field(n, self.delimiter) for n in self.names) + "\n"
        return ""

    def rows(self, rows: Iterable[Sequence[object]]) -> str:
        parts: list[str] = []
        if self.fmt in ("csv", "tsv"):
            delimiter = self.delimiter
            for row in rows:
                parts.append(delimiter.join(csv_field(v, delimiter) for v in row) + "\n")
                self.count += 1
            return "".join(parts)
        keys = self.keys
        for row in rows:
            obj = "{" + ",".join(k + json_value(v) for k, v in zip(keys, row, strict=True)) + "}"
            if self.fmt == "jsonl":
                parts.append(obj + "\n")
            else:
                parts.append(("[" if self.count == 0 else ",") + obj)
            self.count += 1
        return "".join(parts)

    def end(self) -> str:
        if self.fmt != "json":
            return ""
        return "]\n" if self.count else "[]\n"


class JsonShaper:
    """Turns DuckDB's newline-delimited JSON from COPY into Noctra's JSON output.

    NaN and ±Infinity (which DuckDB writes bare, and JSON does not have) become null;
    for ``json`` the objects are joined into one array on one line. DuckDB escapes line
    breaks inside strings, so a raw newline always ends an object.
    """

    def __init__(self, fmt: str) -> None:
        self.array = fmt == "json"
        self.count = 0
        self._carry = b""

    def feed(self, data: bytes) -> bytes:
        data = self._carry + data
        cut = data.rfind(b"\n") + 1
        complete, self._carry = data[:cut], data[cut:]
        return self._shape(complete)

    def finish(self) -> bytes:
        tail = self._shape(self._carry + b"\n") if self._carry.strip() else b""
        if not self.array:
            return tail
        return tail + (b"]\n" if self.count else b"[]\n")

    def _shape(self, lines: bytes) -> bytes:
        if not lines:
            return b""
        if lines.startswith(b"\n") or b"\n\n" in lines:
            raise _dropped_row(self.count, lines)
        if b"NaN" in lines or b"Infinity" in lines:
            lines = _null_non_finite(lines)
        if not self.array:
            self.count += lines.count(b"\n")
            return lines
        body = lines[:-1].replace(b"\n", b",")
        prefix = b"[" if self.count == 0 else b","
        self.count += lines.count(b"\n")
        return prefix + body


def _dropped_row(before: int, lines: bytes) -> QueryError:
    """DuckDB's JSON writer writes an empty line for a row holding text that is not UTF-8
    (a SQLite TEXT column in Latin-1): the row is gone, so the output cannot be given."""
    empty = 0 if lines.startswith(b"\n") else lines.index(b"\n\n") + 1
    return not_utf8_row(before + lines[:empty].count(b"\n") + 1)


def not_utf8_row(row: int, *, blob: str = "encode(column)") -> QueryError:
    """The error for JSON output of a row holding text that is not valid UTF-8.

    ``blob`` is how the engine that ran the query turns text into its bytes.
    """
    return QueryError(
        f"row {row} holds text that is not valid UTF-8, which JSON cannot carry",
        hint=f"{blob} gives its bytes as a blob; --format csv writes them as they are",
    )


def _null_non_finite(lines: bytes) -> bytes:
    import re

    def replace(match: re.Match[bytes]) -> bytes:
        return b"null" if match.group(1) else match.group(0)

    return re.sub(rb'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)', replace, lines)
