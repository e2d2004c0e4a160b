"""How results look to a person: values as DuckDB shows them, boxed tables, markdown."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING

from noctra.engine.base import Column
from noctra.output.text import blob_text, double_text, unique_names

if TYPE_CHECKING:
    import datetime as dt

NUMERIC_TYPES = frozenset(
    {
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
    }
)


def is_numeric(type_name: str) -> bool:
    """True for column types shown right-aligned."""
    return type_name.upper().split("(")[0] in NUMERIC_TYPES


def value_text(value: object) -> str:
    """A value as DuckDB casts it to text: true, 1.5, \\x00, [a, NULL], {'k': v}, 2 days."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return double_text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return blob_text(value)
    # A Decimal or a datetime exists only once its module is imported: looked up here, the
    # modules are not imported at start-up for nothing (~4 ms of `noctra query`).
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(value, decimal.Decimal):
        return format(value, "f")  # all its digits, never 0E-10
    dt = sys.modules.get("datetime")
    if dt is not None:
        if isinstance(value, dt.datetime):
            return _datetime_text(value)
        if isinstance(value, dt.time):
            return _offset_text(_trim_fraction(value.replace(tzinfo=None).isoformat()), value.utcoffset())
        if isinstance(value, dt.timedelta):
            return _interval_text(value)
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"'{k}': {value_text(v)}" for k, v in value.items()) + "}"
    return str(value)


# Line breaks as ↵, a tab as a space, other control characters as their visible
# pictures (␛ for ESC): data can never move the cursor or recolour the terminal.
# Bytes of text that was not UTF-8 (SQLite TEXT in Latin-1, kept as surrogate escapes)
# show as the replacement character, as a terminal shows them.
_CELL = (
    {0x0A: "↵", 0x0D: "↵", 0x09: " ", 0x7F: "\u2421"}
    | {i: chr(0x2400 + i) for i in range(0x20) if i not in (0x09, 0x0A, 0x0D)}
    | dict.fromkeys(range(0xDC80, 0xDD00), "\ufffd")
    # Bidirectional embeddings, overrides and isolates reorder the text after them, the rest
    # of the row included (U+202E shows "txt.exe" for "exe.txt"): shown, never acted on.
    | dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)], "\ufffd")
)


_MESSAGE = {k: v for k, v in _CELL.items() if k != 0x0A}


def terminal_text(text: str) -> str:
    """A message, error or hint for stderr: its lines kept, control characters it quotes
    from data (a value, a column name, a path) shown as their pictures, never acted on."""
    if text.isprintable():
        return text
    return text.replace("\r\n", "\n").translate(_MESSAGE)


def display_value(value: object, type_name: str = "") -> str:
    """One table cell: a value's text on one line, safe to print on a terminal."""
    if isinstance(value, dict) and type_name.upper().startswith("MAP("):
        # Python gets a MAP as a dict, like a STRUCT; DuckDB shows it as {k=v}.
        text = "{" + ", ".join(f"{value_text(k)}={value_text(v)}" for k, v in value.items()) + "}"
    else:
        text = value_text(value)
    if text.isprintable():
        return text
    return text.replace("\r\n", "\n").translate(_CELL)


def column_headings(columns: Sequence[Column]) -> list[str]:
    """Column names to show: made unique as every format does (a, a_1), safe for a terminal."""
    return [display_value(name) for name in unique_names([c.name for c in columns])]


def _trim_fraction(text: str) -> str:
    """'01:02:03.500000' -> '01:02:03.5', as DuckDB prints fractions of a second."""
    head, dot, fraction = text.partition(".")
    if not dot:
        return text
    digits = fraction[:6].rstrip("0")
    return head + ("." + digits if digits else "") + fraction[6:]


def _datetime_text(value: dt.datetime) -> str:
    return _offset_text(_trim_fraction(value.replace(tzinfo=None).isoformat(sep=" ")), value.utcoffset())


def _offset_text(text: str, offset: dt.timedelta | None) -> str:
    """A time zone offset as DuckDB writes it: +02, -05:30."""
    if offset is None:
        return text
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{text}{sign}{hours:02d}" + (f":{minutes:02d}" if minutes else "")


def _interval_text(value: dt.timedelta) -> str:
    """'2 days 04:00:00' (a Python timedelta has no months: they arrive as days)."""
    days = value.days
    seconds = value.seconds
    parts = []
    if days:
        parts.append(f"{days} day{'s' if abs(days) != 1 else ''}")
    if seconds or value.microseconds or not days:
        hours, rest = divmod(seconds, 3600)
        clock = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        if value.microseconds:
            clock += f".{value.microseconds:06d}".rstrip("0")
        parts.append(clock)
    return " ".join(parts)


def cell_width(text: str) -> int:
    """Terminal cells a text takes: wide (CJK, most emoji) 2, combining marks 0."""
    if text.isascii():
        return len(text)
    import unicodedata

    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def cut_to(text: str, size: int) -> str:
    """The text in at most size cells, with … when something was cut."""
    if cell_width(text) <= size:
        return text
    if size <= 0:
        return ""
    kept, used = [], 0
    for char in text:
        width = cell_width(char)
        if used + width > size - 1:
            break
        kept.append(char)
        used += width
    return "".join(kept) + "…"


def pad(text: str, size: int, *, right: bool) -> str:
    fill = " " * max(size - cell_width(text), 0)
    return fill + text if right else text + fill


# What the note under a table whose columns do not all fit the terminal suggests: a table
# piped elsewhere is never narrowed (the REPL says ".mode line shows every column").
WIDE_TABLE_HINT: ContextVar[str] = ContextVar("wide_table_hint", default="| less -S shows every column")
# A column narrower than this (or than its own width) is hardly readable: when the terminal
# cannot give each column that much, columns in the middle are left out instead (DuckDB's
# CLI does the same), and a note under the table says which.
MIN_COLUMN_CELLS = 8


class TableLayout:
    """Column widths for a boxed text table, from the rows seen so far.

    A streamed table widens when later rows are longer (widen(): the box is closed and
    a new header drawn), so no value is cut unless the terminal is too narrow for it.
    On a terminal too narrow for every column, the first and last ones are shown with
    a ``…`` column between them, and the footer says how many were left out.
    """

    def __init__(
        self,
        columns: Sequence[Column],
        sample: Sequence[tuple[object, ...]],
        *,
        width: int = 0,
        color: bool = False,
    ) -> None:
        # Names as csv/json have them (a, a_1), shown safely like values (␛, ↵).
        names = column_headings(columns)
        self.names = names
        self.types = [c.type for c in columns]
        self.width = width
        self.natural = [cell_width(n) for n in names]
        self.shown, self.widths, self.gap = _choose(self.natural, width)
        self.hint = WIDE_TABLE_HINT.get()
        self._closing: str | None = None  # the footer of a box widen() replaced
        self.widen(sample)
        self._closing = None  # nothing was drawn yet
        self.numeric = [is_numeric(c.type) for c in columns]
        # NULL is dimmed on a colour terminal, so it stands apart from the text 'NULL'.
        self.color = color

    def widen(self, rows: Sequence[tuple[object, ...]]) -> bool:
        """Make room for these rows; True when a column got wider (or others are shown)."""
        natural = list(self.natural)
        for row in rows:
            for i, value in enumerate(row):
                size = cell_width(display_value(value, self.types[i]))
                natural[i] = max(natural[i], size)
        if natural == self.natural:
            return False
        self.natural = natural
        before = (self.shown, self.widths)
        closing = self.footer()
        self.shown, self.widths, self.gap = _choose(natural, self.width)
        if (self.shown, self.widths) == before:
            return False
        # The box drawn so far is closed as it was drawn: its own widths, its own note.
        if self._closing is None:
            self._closing = closing
        return True

    def _line(self, values: Sequence[str], align: bool, nulls: Sequence[bool] = ()) -> str:
        parts = []
        for size, i in zip(self.widths, self.shown, strict=True):
            text = pad(cut_to(values[i], size), size, right=align and self.numeric[i])
            if self.color and nulls and nulls[i]:
                text = text.replace("NULL", "\033[2mNULL\033[0m", 1)
            parts.append(text)
        if self.gap is not None:
            parts.insert(self.gap, "…")
        return "│ " + " │ ".join(parts) + " │"

    def _rule(self, left: str, middle: str, right: str) -> str:
        dashes = ["─" * w for w in self.widths]
        if self.gap is not None:
            dashes.insert(self.gap, "─")
        return left + "─" + f"─{middle}─".join(dashes) + "─" + right

    def header(self) -> str:
        return (
            "\n".join(
                [
                    self._rule("┌", "┬", "┐"),
                    self._line(self.names, False),
                    self._rule("├", "┼", "┤"),
                ]
            )
            + "\n"
        )

    def rows(self, rows: Sequence[tuple[object, ...]]) -> str:
        return "".join(
            self._line(
                [display_value(v, t) for v, t in zip(row, self.types, strict=True)],
                True,
                [v is None for v in row],
            )
            + "\n"
            for row in rows
        )

    def footer(self) -> str:
        """The end of the box: after widen() made a new layout, that of the box drawn before."""
        if self._closing is not None:
            closing, self._closing = self._closing, None
            return closing
        bottom = self._rule("└", "┴", "┘") + "\n"
        if self.gap is None:
            return bottom
        # The columns left out are those between the first `gap` shown and the rest.
        first = self.shown[self.gap - 1] + 1
        last = self.shown[self.gap] - 1 if self.gap < len(self.shown) else len(self.names) - 1
        hidden = last - first + 1
        which = self.names[first] if hidden == 1 else f"{self.names[first]} … {self.names[last]}"
        plural = "" if hidden == 1 else "s"
        return bottom + f"… {hidden:,} more column{plural} ({which}): {self.hint}\n"


def render_table(
    columns: Sequence[Column], rows: Sequence[tuple[object, ...]], *, width: int = 0, color: bool = False
) -> str:
    """A boxed text table; long text is cut with an ellipsis to fit width (0: no limit)."""
    layout = TableLayout(columns, rows, width=width, color=color)
    return layout.header() + layout.rows(rows) + layout.footer()


def _choose(natural: list[int], width: int) -> tuple[list[int], list[int], int | None]:
    """The columns to show, their widths, and where a ``…`` column stands for those left out.

    width 0 is no limit. Every column is shown when each can keep MIN_COLUMN_CELLS (or its
    own width, if less): the widest are narrowed first. Otherwise columns are taken from
    both ends in turn (first, last, second, second to last...) while they fit.
    """
    count = len(natural)
    everything = list(range(count))
    if not width or count < 2:
        budget = max(width - (3 * count + 1), count) if width else 0
        return everything, _fit(natural, budget) if budget else list(natural), None
    floors = [min(w, MIN_COLUMN_CELLS) for w in natural]
    if sum(floors) + 3 * count + 1 <= width:
        return everything, _fit(natural, width - (3 * count + 1)), None
    order = [i for pair in zip(everything, reversed(everything), strict=True) for i in pair][:count]
    taken: list[int] = []
    used = 1 + 3 + 1  # the left border and the … column with its separator
    for i in order:
        if taken and used + floors[i] + 3 > width:
            break
        taken.append(i)
        used += floors[i] + 3
    left, right = taken[0::2], sorted(taken[1::2])
    shown = left + right
    budget = max(width - (3 * (len(shown) + 1) + 1) - 1, len(shown))
    return shown, _fit([natural[i] for i in shown], budget), len(left)


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

    header = "| " + " | ".join(esc(n) for n in column_headings(columns)) + " |"
    rule = "| " + " | ".join("---:" if is_numeric(c.type) else "---" for c in columns) + " |"
    types = [c.type for c in columns]
    body = [
        "| " + " | ".join(esc(display_value(v, t)) for v, t in zip(row, types, strict=True)) + " |"
        for row in rows
    ]
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
