"""Modal screens: help (F1), export, history, column profile."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    import pyarrow as pa

    from noctra.catalog import Column

# Every key of the app, for the help screen (tests check each binding is listed).
KEYS: list[tuple[str, str]] = [
    ("F5 / Ctrl+Enter", "run the statement under the cursor (or the selection)"),
    ("F6 / Ctrl+Shift+Enter", "run every statement in the editor"),
    ("Esc", "cancel the running statement"),
    ("Tab / Ctrl+Space", "complete keywords, functions, sources, tables, columns, paths"),
    ("Ctrl+R", "history (shared with noctra repl): search, Enter puts it in the editor"),
    ("Ctrl+S", "export the statement under the cursor to a file"),
    ("Ctrl+T", "new editor tab (each tab keeps its own text)"),
    ("Ctrl+W", "close the editor tab (never the last; its text goes to history)"),
    ("Alt+Left / Alt+Right", "previous / next editor tab"),
    ("Ctrl+Shift+Tab / Ctrl+Tab", "the same, where the terminal sends these keys (tmux does not)"),
    ("F2 / F3 / F4", "focus the editor / the results / the catalog"),
    ("Ctrl+B", "show or hide the catalog"),
    ("Enter / Space (catalog)", "open or close a node (Enter on a column inserts its name)"),
    ("i (catalog)", "insert the qualified name: alias, alias.table, table.column"),
    ("arrows, PgUp/PgDn (results)", "move the cell cursor; Home / End: first / last row"),
    ("c / r (results)", "copy the cell / the row (tab-separated)"),
    ("p (results)", "profile the column: nulls, distinct, min/max, top values"),
    ("Ctrl+PgUp / Ctrl+PgDn", "previous / next result tab"),
    ("F1", "this help"),
    ("Ctrl+Q", "quit"),
]


class HelpScreen(ModalScreen[None]):
    """Every key, in one table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, what in KEYS:
            table.add_row(key, what)
        with Vertical(id="help", classes="dialog"):
            yield Label("Noctra keys", classes="title")
            yield Static(table)
            yield Label("SQL is DuckDB's, plus RQL: USE, DESCRIBE, SHOW, LET, EXPORT (docs/USAGE.md)")
            yield Label("Esc closes", classes="muted")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)


EXPORT_FORMATS = ("parquet", "csv", "json")


class ExportScreen(ModalScreen[tuple[str, str | None] | None]):
    """Path and format for an EXPORT of the statement under the cursor.

    The format follows the path's extension (as EXPORT's does); the buttons choose it for a
    path without one. A path naming a file that exists asks for a second Enter to replace it.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, query: str, format_of: Callable[[str], str | None], default_path: str = "export.parquet"
    ) -> None:
        super().__init__()
        self.query_text = query
        self.format_of = format_of  # the format EXPORT takes from a path's extension (the session's rule)
        self.default_path = default_path
        self._replace_confirmed: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="export", classes="dialog"):
            yield Label("Export", classes="title")
            yield Static(Text(_one_line(self.query_text, 70), style="dim"))
            yield Label("Path")
            yield Input(self.default_path, id="export-path")
            yield Label("Format")
            with RadioSet(id="export-format"):
                for i, fmt in enumerate(EXPORT_FORMATS):
                    yield RadioButton(fmt.upper(), value=i == 0, id=f"format-{fmt}")
            yield Static("", id="export-note", classes="muted")
            with Horizontal(classes="buttons"):
                yield Button("Export", variant="primary", id="export-go")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        path_input = self.query_one("#export-path", Input)
        stem, dot, extension = path_input.value.rpartition(".")
        fmt = EXPORT_FORMATS[event.index]
        if dot and extension.lower() in EXPORT_FORMATS and extension.lower() != fmt:
            path_input.value = f"{stem}.{fmt}"

    def on_input_changed(self, event: Input.Changed) -> None:
        """The buttons show the format the typed extension gives."""
        fmt = self.format_of(event.value)
        if fmt in EXPORT_FORMATS:
            button = self.query_one(f"#format-{fmt}", RadioButton)
            if not button.value:
                button.value = True
        self._note("")

    def _note(self, text: str) -> None:
        self.query_one("#export-note", Static).update(text)

    def _chosen(self) -> tuple[str, str | None] | None:
        """(path, format for FORMAT, or None when the extension gives it); None: stay open."""
        import os

        path = self.query_one("#export-path", Input).value.strip()
        if not path:
            self._note("type the path to export to")
            return None
        target = os.path.expanduser(path)
        if os.path.isfile(target) and self._replace_confirmed != path:
            self._replace_confirmed = path
            self._note(f"{path} exists: Enter (or Export) again replaces it, Esc cancels")
            return None
        if self.format_of(path) is not None:
            return path, None
        index = self.query_one("#export-format", RadioSet).pressed_index
        return path, EXPORT_FORMATS[max(index, 0)]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        chosen = self._chosen()
        if chosen is not None:
            self.dismiss(chosen)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "export-go":
            self.dismiss(None)
            return
        chosen = self._chosen()
        if chosen is not None:
            self.dismiss(chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ParameterScreen(ModalScreen[str | None]):
    """The value of a ``:name`` nothing gives, typed after ``:name =>`` as in the REPL; Esc gives None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.parameter = name

    def compose(self) -> ComposeResult:
        with Vertical(id="parameter", classes="dialog"):
            with Horizontal(classes="ask"):
                yield Label(f":{self.parameter} =>", classes="prompt")
                yield Input(id="parameter-value")
            yield Label(
                "42, 1.5, true, 2024-01-31, NULL, 'text' · Enter runs · Esc abandons the run",
                classes="muted",
            )

    def on_mount(self) -> None:
        self.query_one("#parameter-value", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HistoryScreen(ModalScreen[str | None]):
    """Past statements (the REPL's too), newest first; type to filter, Enter to take one."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, entries: list[str]) -> None:
        super().__init__()
        self.entries = entries
        self.shown: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="history", classes="dialog"):
            yield Label("History", classes="title")
            yield Input(placeholder="search", id="history-search")
            yield OptionList(id="history-list")

    def on_mount(self) -> None:
        self._filter("")
        self.query_one("#history-search", Input).focus()

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        self.shown = [e for e in self.entries if all(w in e.lower() for w in words)][:500]
        options = self.query_one("#history-list", OptionList)
        options.clear_options()
        options.add_options(Option(Text(_one_line(e, 100))) for e in self.shown)
        if self.shown:
            options.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self._filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        highlighted = self.query_one("#history-list", OptionList).highlighted
        self.dismiss(self.shown[highlighted] if highlighted is not None and self.shown else None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.shown[event.option_index])

    def on_key(self, event: object) -> None:
        from textual import events

        if isinstance(event, events.Key) and event.key in ("up", "down"):
            options = self.query_one("#history-list", OptionList)
            if event.key == "up":
                options.action_cursor_up()
            else:
                options.action_cursor_down()
            event.stop()

    def action_cancel(self) -> None:
        self.dismiss(None)


class ProfileScreen(ModalScreen[None]):
    """One column of a result: type, nulls, distinct, min/max and its most frequent values."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,p,q", "close", "Close")]

    def __init__(
        self, column: Column, values: pa.ChunkedArray, shown: Callable[[pa.Array], list[str | None]]
    ) -> None:
        super().__init__()
        self.column = column
        self.values = values
        self.shown = shown

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="profile", classes="dialog"):
            yield Label(f"Column {self.column.name}", classes="title", markup=False)
            yield Static(profile_table(self.column, self.values, self.shown))
            yield Label("Esc closes", classes="muted")

    def action_close(self) -> None:
        self.dismiss(None)


def profile_table(
    column: Column, values: pa.ChunkedArray, shown: Callable[[pa.Array], list[str | None]], *, top: int = 10
) -> Table:
    """Counts and a bar chart of the top values, computed in Arrow (no Python rows); the values
    named (min, max, top values) are shown as the grid shows them, by ``shown``."""
    import importlib

    import pyarrow as pa

    from noctra.output.render import display_value

    def text(value: str | None) -> str:
        return "NULL" if value is None else display_value(value)

    # pyarrow.compute's functions are made at import: its stubs do not name them.
    pc: Any = importlib.import_module("pyarrow.compute")

    total = len(values)
    nulls = values.null_count
    facts = Table(box=None, show_header=False, padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("type", Text(column.type))
    facts.add_row("rows", f"{total:,}")
    facts.add_row("nulls", f"{nulls:,}" + (f" ({nulls / total:.1%})" if total else ""))
    with contextlib.suppress(pa.ArrowNotImplementedError):
        facts.add_row("distinct", f"{pc.count_distinct(values).as_py():,}")
    try:
        bounds = _unsigned_min_max(values, pc) if _is_uhugeint(column.type) else pc.min_max(values)
        low, high = shown(pa.array([bounds["min"], bounds["max"]], type=values.type))
        facts.add_row("min", Text(text(low)))
        facts.add_row("max", Text(text(high)))
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    try:
        counts = pc.value_counts(values.drop_null() if nulls else values)
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return facts
    order = pc.sort_indices(counts.field("counts"), sort_keys=[("", "descending")])
    best = counts.take(order[:top])
    if len(best):
        facts.add_row("", "")
        facts.add_row("top values", "")
        counted = best.field("counts").to_pylist()
        most = max(counted)
        for value, count in zip(shown(best.field("values")), counted, strict=True):
            share = count / most if most else 0
            bar = "█" * max(round(share * 30), 1)
            facts.add_row(Text(text(value)[:24]), Text.assemble((bar, "cyan"), f" {count:,}"))
    return facts


def _is_uhugeint(sql_type: str) -> bool:
    return sql_type.strip().upper() == "UHUGEINT"


def _unsigned_min_max(values: pa.ChunkedArray, pc: Any) -> dict[str, Any]:
    """min and max of a UHUGEINT, which Arrow holds as a signed decimal128 of the same bits:
    the values that read negative are the ones from 2**127 up, above every other."""
    import pyarrow as pa

    zero = pa.scalar(0, type=values.type)
    low = pc.min_max(pc.filter(values, pc.greater_equal(values, zero)))
    high = pc.min_max(pc.filter(values, pc.less(values, zero)))
    return {
        "min": low["min"] if low["min"].is_valid else high["min"],
        "max": high["max"] if high["max"].is_valid else low["max"],
    }


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
