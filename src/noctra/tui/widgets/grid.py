"""ResultsGrid: a result set on screen, read from an Arrow table only where it is shown.

The table stays Arrow (zero-copy from DuckDB); rows become text a chunk at a time, for
the lines being drawn, so a million-row result opens and scrolls at once. The text is the
table output's, DuckDB's own (tui.cells): `1 year 2 months`, `infinity`, `0.1` for a FLOAT.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from noctra.output.render import cell_width, cut_to, display_value, is_numeric, pad
from noctra.output.text import csv_field
from noctra.tui.cells import CellTexts, EngineTexts

if TYPE_CHECKING:
    import pyarrow as pa
    from textual import events

    from noctra.catalog import Column

_CHUNK = 256  # rows turned into text at once, for drawing
_CHUNKS_KEPT = 16
_SAMPLE = 200  # rows read to size the columns
_MAX_WIDTH = 40
# Characters of a value kept to draw it (then …): a column is never wider than _MAX_WIDTH,
# and a huge value is not held (nor read from Arrow) whole for that. Copying reads it whole.
_KEPT = 200
_HEADER = 2  # name, type


class GridRows:
    """A result ready for the grid: its columns, its Arrow table, its values' text by chunk.

    Made where the rows are read (the app's worker): the first chunk, which sizes the
    columns, becomes text there, so the grid draws a new result at once.
    """

    def __init__(self, columns: list[Column], table: pa.Table, texts: EngineTexts | None = None) -> None:
        self.columns = columns
        self.table = table
        # The engine's text of the columns whose Python values DuckDB shows otherwise.
        self.cells = CellTexts(columns, table.schema, texts)
        self.first = self.chunk(0)

    def chunk(self, index: int) -> list[list[str | None]]:
        """Rows index * _CHUNK on, as their cells are drawn (None for NULL)."""
        part = self.table.slice(index * _CHUNK, _CHUNK)
        return [
            [None if text is None else _shown(text) for text in row]
            for row in self.cells.rows(part, limit=_KEPT + 1)
        ]


class ResultsGrid(ScrollView, can_focus=True):
    """Rows of one result: a header with each column's type, NULL shown apart, numbers right."""

    DEFAULT_CSS = """
    ResultsGrid { background: $surface; }
    ResultsGrid > .grid--header { text-style: bold; color: $text; background: $panel; }
    ResultsGrid > .grid--type { color: $text-muted; background: $panel; }
    ResultsGrid > .grid--gutter { color: $text-muted; }
    ResultsGrid > .grid--null { color: $text-muted; text-style: italic; }
    ResultsGrid > .grid--cursor { background: $accent 50%; }
    ResultsGrid > .grid--cursor-row { background: $boost; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "grid--header",
        "grid--type",
        "grid--gutter",
        "grid--null",
        "grid--cursor",
        "grid--cursor-row",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first_row", "First row", show=False),
        Binding("end", "last_row", "Last row", show=False),
        Binding("c", "copy_cell", "Copy cell"),
        Binding("r", "copy_row", "Copy row"),
        Binding("p", "profile", "Profile column"),
    ]

    class ProfileRequested(Message):
        """The user asked for a profile of the column under the cursor."""

        def __init__(self, grid: ResultsGrid, column: int) -> None:
            super().__init__()
            self.grid = grid
            self.column = column

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.table: pa.Table | None = None
        self.columns: list[Column] = []
        self.widths: list[int] = []
        self.cursor_row = 0
        self.cursor_column = 0
        self._right: list[bool] = []
        self._rows: GridRows | None = None
        self._chunks: OrderedDict[int, list[list[str | None]]] = OrderedDict()
        self.chunks_read = 0  # how many chunks became text (tests: never all of them)

    # --- data ---------------------------------------------------------------------------

    def load(self, rows: GridRows) -> None:
        """Show a result: column types from the engine, values from the Arrow table."""
        self._rows = rows
        self.table = table = rows.table
        self.columns = columns = rows.columns
        self._right = [is_numeric(c.type) for c in columns]
        self._chunks.clear()
        self._chunks[0] = rows.first
        self.chunks_read = 1
        self.cursor_row = self.cursor_column = 0
        sample = rows.first[:_SAMPLE]
        self.widths = [
            min(
                max(
                    cell_width(display_value(column.name)),
                    cell_width(column.type),
                    *(cell_width(row[i] or "NULL") for row in sample),
                    4,
                ),
                _MAX_WIDTH,
            )
            for i, column in enumerate(columns)
        ]
        self.virtual_size = Size(self._gutter + sum(w + 1 for w in self.widths), table.num_rows + _HEADER)
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    @property
    def row_count(self) -> int:
        return 0 if self.table is None else self.table.num_rows

    @property
    def cells(self) -> CellTexts | None:
        """How the result's values become text (the profile shows its values so too)."""
        return None if self._rows is None else self._rows.cells

    def value(self, row: int, column: int) -> str | None:
        """A cell as drawn before it is fitted to its column (None for NULL): DuckDB's text
        on one line, control characters shown as pictures, at most _KEPT characters (then …)."""
        return self._chunk(row // _CHUNK)[row % _CHUNK][column]

    def text(self, row: int, column: int) -> str | None:
        """A cell's whole text as DuckDB shows it, line breaks and all (None for NULL)."""
        assert self._rows is not None
        return self._rows.cells.column(column, self._rows.table.column(column).slice(row, 1))[0]

    def _chunk(self, index: int) -> list[list[str | None]]:
        chunk = self._chunks.get(index)
        if chunk is not None:
            self._chunks.move_to_end(index)
            return chunk
        assert self._rows is not None
        chunk = self._rows.chunk(index)
        self.chunks_read += 1
        self._chunks[index] = chunk
        if len(self._chunks) > _CHUNKS_KEPT:
            self._chunks.popitem(last=False)
        return chunk

    # --- drawing --------------------------------------------------------------------------

    @property
    def _gutter(self) -> int:
        return len(f"{self.row_count:,}") + 1

    @property
    def _visible_rows(self) -> int:
        return max(self.scrollable_content_region.height - _HEADER, 1)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if self.table is None:
            return Strip.blank(width, self.rich_style)
        scroll_x, scroll_y = self.scroll_offset
        base = self.rich_style
        gutter = self._gutter
        if y < _HEADER:
            role = "grid--header" if y == 0 else "grid--type"
            style = base + self.get_component_rich_style(role)
            # A name is data too: a control character in it is shown, never sent to the terminal.
            texts = [display_value(c.name) if y == 0 else c.type.lower() for c in self.columns]
            segments = [Segment(" " * gutter, style)]
            cells = [
                Segment(pad(cut_to(text, w), w, right=right) + " ", style)
                for text, w, right in zip(texts, self.widths, self._right, strict=True)
            ]
        else:
            row = scroll_y + y - _HEADER
            if row >= self.row_count:
                return Strip.blank(width, base)
            values = self._chunk(row // _CHUNK)[row % _CHUNK]
            is_cursor_row = row == self.cursor_row
            row_style = base + self.get_component_rich_style("grid--cursor-row") if is_cursor_row else base
            segments = [
                Segment(f"{row + 1:>{gutter - 1}} ", base + self.get_component_rich_style("grid--gutter"))
            ]
            null = self.get_component_rich_style("grid--null")
            cursor = self.get_component_rich_style("grid--cursor")
            cells = []
            for i, (value, w, right) in enumerate(zip(values, self.widths, self._right, strict=True)):
                cell: Style = row_style + null if value is None else row_style
                if is_cursor_row and i == self.cursor_column and self.has_focus:
                    cell = cell + cursor
                text = pad(cut_to("NULL" if value is None else value, w), w, right=right)
                cells.append(Segment(text, cell))
                cells.append(Segment(" ", row_style))
        data = Strip(cells).crop(scroll_x, scroll_x + max(width - gutter, 0))
        return Strip.join([Strip(segments), data]).extend_cell_length(width, base).crop(0, width)

    # --- cursor ---------------------------------------------------------------------------

    def action_move(self, rows: int, columns: int) -> None:
        self._go(self.cursor_row + rows, self.cursor_column + columns)

    def action_page(self, pages: int) -> None:
        self._go(self.cursor_row + pages * self._visible_rows, self.cursor_column)

    def action_first_row(self) -> None:
        self._go(0, self.cursor_column)

    def action_last_row(self) -> None:
        self._go(self.row_count - 1, self.cursor_column)

    def _go(self, row: int, column: int) -> None:
        if self.table is None or not self.row_count:
            return
        self.cursor_row = max(0, min(row, self.row_count - 1))
        self.cursor_column = max(0, min(column, len(self.columns) - 1))
        top = self.scroll_offset.y
        if self.cursor_row < top:
            top = self.cursor_row
        elif self.cursor_row >= top + self._visible_rows:
            top = self.cursor_row - self._visible_rows + 1
        left = self.scroll_offset.x
        start = sum(w + 1 for w in self.widths[: self.cursor_column])
        end = start + self.widths[self.cursor_column] if self.widths else 0
        room = max(self.scrollable_content_region.width - self._gutter, 1)
        if start < left:
            left = start
        elif end > left + room:
            left = end - room
        self.scroll_to(left, top, animate=False)
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < _HEADER:
            return
        x = offset.x - self._gutter + self.scroll_offset.x
        column, start = 0, 0
        for i, w in enumerate(self.widths):
            if start <= x < start + w + 1:
                column = i
                break
            start += w + 1
        self._go(self.scroll_offset.y + offset.y - _HEADER, column)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # --- copy and profile -------------------------------------------------------------------

    def cell_text(self) -> str:
        """The cell under the cursor as DuckDB shows it, whole ('' for NULL)."""
        if not self.row_count or not self.columns:
            return ""
        return self.text(self.cursor_row, self.cursor_column) or ""

    def row_text(self) -> str:
        """The row under the cursor as a line of `--format tsv` (NULL empty, '' as "")."""
        if not self.row_count:
            return ""
        assert self._rows is not None
        (row,) = self._rows.cells.rows(self._rows.table.slice(self.cursor_row, 1))
        return "\t".join(csv_field(text, "\t") for text in row)

    def action_copy_cell(self) -> None:
        self.app.copy_to_clipboard(self.cell_text())
        self.notify("cell copied", timeout=2)

    def action_copy_row(self) -> None:
        self.app.copy_to_clipboard(self.row_text())
        self.notify("row copied", timeout=2)

    def action_profile(self) -> None:
        if self.table is not None and self.columns:
            self.post_message(self.ProfileRequested(self, self.cursor_column))


def _shown(text: str) -> str:
    """A value's text as a cell draws it: one line, safe for a terminal, at most _KEPT characters."""
    if len(text) > _KEPT:
        return display_value(text[:_KEPT]) + "…"
    return display_value(text)
