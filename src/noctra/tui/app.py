"""NoctraApp: catalog | editor over results, status bar and keys at the bottom (SPEC 5).

The app runs nothing itself: statements go to the Session in a thread worker, one at
a time, and their outcomes come back as Arrow tables and messages to draw.
"""

from __future__ import annotations

import contextlib
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import Footer, Static, TabbedContent, TabPane

from noctra.errors import CancelledQueryError, NoctraError
from noctra.output.model import Message, Result
from noctra.tui import history
from noctra.tui.widgets.catalog import CatalogTree
from noctra.tui.widgets.editor import CompletionMenu, Editor
from noctra.tui.widgets.grid import GridRows, ResultsGrid
from noctra.tui.widgets.statusbar import StatusBar

if TYPE_CHECKING:
    from noctra.rql.splitter import Statement
    from noctra.session import Session

# What one result tab holds: a grid over more rows than this is never looked through, and
# reading all of `SELECT * FROM big` into memory took 3.7 GB in ten seconds (SPEC 3, 5).
GRID_MAX_ROWS = 1_000_000
GRID_MAX_BYTES = 512 * 1024 * 1024
# Statements after which the catalog is read again.
_CHANGES_CATALOG = {"USE", "DETACH", "UNUSE", "IMPORT", "CREATE", "DROP", "ALTER", "ATTACH"}


class NoctraApp(App[int]):
    """The full-screen front end over one Session."""

    CSS_PATH = "app.tcss"
    TITLE = "Noctra"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Not priority bindings: the editor binds F5/F6 itself, so they run after the keys typed
        # before them (a priority binding is handled before the editor has seen those keys).
        Binding("f5,ctrl+enter", "run_statement", "Run"),
        Binding("f6,ctrl+shift+enter", "run_all", "Run all"),
        Binding("escape", "cancel", "Cancel", priority=True, show=False),
        Binding("ctrl+r", "history", "History"),
        Binding("ctrl+s", "export", "Export"),
        Binding("ctrl+t", "new_editor", "New tab", show=False),
        # Not a priority binding: a dialog's Input keeps Ctrl+W (delete a word); the editor's own
        # Ctrl+W is bound to this action in Editor.BINDINGS.
        Binding("ctrl+w", "close_editor", "Close tab", show=False),
        # Ctrl+Tab reaches the app only where the terminal sends it (not in tmux); Alt+arrows do.
        Binding("alt+right,ctrl+tab", "editor_tab(1)", "Next editor", show=False),
        Binding("alt+left,ctrl+shift+tab", "editor_tab(-1)", "Previous editor", show=False),
        Binding("f2", "focus_editor", "Editor", show=False),
        Binding("f3", "focus_results", "Results", show=False),
        Binding("f4", "focus('catalog')", "Catalog", show=False),
        Binding("ctrl+b", "toggle_catalog", "Catalog", show=False),
        Binding("ctrl+pageup", "tab(-1)", "Previous tab", show=False),
        Binding("ctrl+pagedown", "tab(1)", "Next tab", show=False),
        Binding("f1", "help", "Help", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        session: Session,
        *,
        text: str = "",
        files: list[str] | None = None,
        params: dict[str, object] | None = None,
        history_file: Path | None = None,
        notices: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.initial_text = text
        self.files = list(files or [])
        self.params = params
        self.history_file = history_file if history_file is not None else history.history_path()
        self.notices = list(notices or [])
        self.running_since: float | None = None
        self._result_count = 0
        self._titles: dict[str, str] = {}  # result tab id -> its title, to mark it as earlier
        self._run_results = 0  # results of the run under way (or last run)
        self._run_messages: list[tuple[int, str]] = []
        self._editor_serial = 1
        self._asking = False  # a worker waits for a :name value typed in a dialog
        self._warned = 0  # the restore's warnings (a source whose file is gone) show at start

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield CatalogTree(self.session, id="catalog")
            with Vertical(id="work"):
                # One tab per editor; the tab bar shows only when there are two or more (Ctrl+T).
                with TabbedContent(id="editors", classes="single"):
                    yield TabPane("Editor 1", Editor(self.initial_text, id="editor-1"), id="edit-1")
                with TabbedContent(id="results"):
                    yield TabPane("Result", ResultsGrid(id="grid-0"), id="result-0")
                yield Static("", id="messages", markup=False)
        yield CompletionMenu(id="completions")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        editor = self.editor
        editor.session = self.session
        editor.focus()
        editor.move_cursor(editor.document.end)
        self.session.enable_progress()
        self.refresh_status()
        self.set_interval(0.2, self._tick)
        self.set_interval(2.0, self._idle_status)
        for notice in self.notices:
            self.say(notice, error=notice.startswith("error"))
        self._show_warnings()
        if self.files:
            self.running_since = time.perf_counter()
            self.open_files(self.files)

    @work(thread=True, group="files")
    def open_files(self, files: list[str]) -> None:
        """FILE arguments: each USE'd in order (after the first frame), then the current one's rows shown.

        As in `noctra query` and the REPL the last FILE is the current source; its rows are
        what the app shows first (a database's: its first table's), so the rows, the status
        bar's Source and the catalog's ● all name the same source.
        """

        from noctra.lifecycle import default_alias
        from noctra.quoting import quote_ident

        current: str | None = None
        said: list[str] = []
        error: NoctraError | None = None
        taken: set[str] = set()
        for path in files:
            # Two files of one stem (a/sales.csv b/sales.csv) both stay, as in `noctra query`.
            alias = default_alias(path)
            if alias.lower() in taken:
                alias = self.session.sources.free_alias(alias)
            taken.add(alias.lower())
            try:
                said.append(self.session.use(path, alias).text)
            except NoctraError as exc:
                error = error or exc  # the first one is reported; the other files still open
                continue
            current = alias
        query: str | None = None
        if current is not None:
            query = f"SELECT * FROM {quote_ident(current)};\n"
            try:
                entry = next(s for s in self.session.catalog().sources() if s.alias == current)
                if entry.is_database:
                    tables = self.session.catalog().tables(current)
                    table = quote_ident(tables[0].name) if tables else None
                    query = f"SELECT * FROM {quote_ident(current)}.{table};\n" if table else "SHOW TABLES;\n"
            except (NoctraError, StopIteration):
                pass
        self.call_from_thread(self._files_opened, query, said, error)

    def _files_opened(self, query: str | None, said: list[str], error: NoctraError | None) -> None:
        self.running_since = None
        self.query_one(CatalogTree).reload()
        self.editor.catalog_changed()
        if error is not None:
            self._report(error, (0, 0))
            if query is not None:
                # The rows of the files that opened replace the message line: the error stays up.
                hint = f"\nhint: {error.hint}" if error.hint else ""
                text = f"{error.message}{hint}"
                self.notify(text, title="error", severity="error", timeout=10, markup=False)
        else:
            self.say("\n".join(said))
        if query is not None and self.editor.text != self.initial_text:
            # Typed while the files opened: the text stays, the rows are shown all the same.
            self._run(query, None, (0, 0))
        elif query is not None:
            self.editor.text = query
            self.editor.move_cursor(self.editor.document.end)
            self.action_run_all()
        else:
            self.refresh_status()

    # --- widgets --------------------------------------------------------------------------

    @property
    def editor(self) -> Editor:
        """The editor of the editor tab in view."""
        pane = self.query_one("#editors", TabbedContent).active_pane
        if pane is None:
            return self.query(Editor).first()
        return pane.query_one(Editor)

    @property
    def editors(self) -> list[Editor]:
        """Every editor tab's editor, left to right."""
        return list(self.query(Editor))

    @property
    def grid(self) -> ResultsGrid:
        """The grid of the result tab in view (the first when the message tab is)."""
        results = self.query_one("#results", TabbedContent)
        pane = results.active_pane
        grids = pane.query(ResultsGrid) if pane is not None else None
        return grids.first() if grids else self.query(ResultsGrid).first()

    @property
    def results_message(self) -> str | None:
        """The text of the message tab when it is the tab in view."""
        results = self.query_one("#results", TabbedContent)
        if results.active != "message-pane":
            return None
        return str(self.query_one("#message-text", Static).content)

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def messages(self) -> str:
        return str(self.query_one("#messages", Static).content)

    def say(self, text: str, *, error: bool = False, hint: str | None = None) -> None:
        """A line under the results (messages of commands, errors with their hint)."""
        line = Text(text, style="bold red" if error else "")
        if hint:
            line.append(f"\nhint: {hint}", style="yellow")
        self.query_one("#messages", Static).update(line)

    def refresh_status(self) -> None:
        try:
            self.status_bar.show_status(self.session.status().line())
        except NoctraError as exc:
            self.status_bar.show_status(f"status unavailable: {exc.message}")

    def _tick(self) -> None:
        if self.running_since is not None and not self._asking:
            with contextlib.suppress(NoMatches):  # the app is closing: its widgets are gone
                self.status_bar.show_running(
                    time.perf_counter() - self.running_since, self.session.progress()
                )

    def _idle_status(self) -> None:
        if self.running_since is None and not self._asking:
            with contextlib.suppress(NoMatches):  # a timer can fire while the app closes
                self.refresh_status()

    def _show_warnings(self) -> None:
        for warning in self.session.warnings[self._warned :]:
            self.notify(warning, title="warning", severity="warning", timeout=6, markup=False)
        self._warned = len(self.session.warnings)

    # --- running ----------------------------------------------------------------------------

    def action_run_statement(self) -> None:
        editor = self.editor
        selected = editor.selected_text
        if selected.strip():
            start = min(editor.selection.start, editor.selection.end)
            self._run(selected, None, start)
            return
        from noctra.rql.splitter import statement_at

        try:
            statement = statement_at(editor.text, editor.cursor_offset)
        except NoctraError as exc:
            self._report(exc, (0, 0))
            return
        if statement is None or not statement.text.strip():
            self.say("nothing to run here: write a statement, then F5")
            return
        self._run(editor.text, statement, (0, 0))

    def action_run_all(self) -> None:
        self._run(self.editor.text, None, (0, 0))

    def _run(self, script: str, only: Statement | None, base: tuple[int, int]) -> None:
        """Run one statement of script (or all of it); base is where script starts in the editor."""
        if self.running_since is not None:
            self.say("a statement is running: Esc cancels it")
            return
        try:
            statements = [only] if only is not None else self.session.split(script)
        except NoctraError as exc:
            self._report(exc, base)
            return
        statements = [s for s in statements if s.text.strip()]
        if not statements:
            self.say("nothing to run: write a statement, then F5")
            return
        history.append(self.history_file, "; ".join(s.text.strip() for s in statements) + ";")
        self.running_since = time.perf_counter()
        self._tick()
        # Earlier result tabs stay until this run gives a result of its own (_show_result).
        self._run_results = 0
        self._run_messages = []
        self.say("")
        self.run_statements(statements, base)

    def _clear_results(self) -> None:
        results = self.query_one("#results", TabbedContent)
        for pane in list(results.query(TabPane))[1:]:
            results.remove_pane(str(pane.id))
        self._result_count = 0
        self._titles = {}

    @work(thread=True, exclusive=True, group="query")
    def run_statements(self, statements: list[Statement], base: tuple[int, int]) -> None:
        """The statements, one by one, on the session; outcomes drawn as they come."""
        session = self.session
        changed = False
        params: dict[str, object] = dict(self.params or {})
        try:
            for statement in statements:
                before = [s.alias for s in session.sources]
                try:
                    for name in session.unbound_parameters(statement.text, params):
                        answer = self._ask(name)
                        if answer is None:
                            self.call_from_thread(self.say, f"run abandoned: no value given for :{name}")
                            return
                        params[name] = answer[0]
                    outcome = session.run_statement(statement, params or None)
                    if isinstance(outcome, Result):
                        columns = outcome.columns
                        table, complete = outcome.arrow_head(GRID_MAX_ROWS, GRID_MAX_BYTES)
                        # Each value as the table output shows it: the engine casts the rows in
                        # view to its text (the first ones here, in the worker).
                        rows = GridRows(columns, table, outcome.texts_of)
                        # call_from_thread awaits a coroutine; mypy infers Never from its annotation.
                        self.call_from_thread(
                            self._show_result,  # type: ignore[arg-type]
                            statement,
                            rows,
                            outcome,
                            complete,
                        )
                    else:
                        self.call_from_thread(self._show_message, statement, outcome)
                except NoctraError as exc:
                    self.call_from_thread(self._report, exc, base)
                    return
                except Exception as exc:  # noqa: BLE001 - the app never dies on a statement
                    error = NoctraError(
                        f"{type(exc).__name__}: {exc}", hint="this is a bug: please report it"
                    )
                    self.call_from_thread(self._report, error, base)
                    return
                finally:
                    words = statement.text.split(None, 1)
                    first = words[0].upper() if words else ""
                    changed = (
                        changed or first in _CHANGES_CATALOG or before != [s.alias for s in session.sources]
                    )
        finally:
            self.call_from_thread(self._finished, changed)  # type: ignore[arg-type]

    def _ask(self, name: str) -> tuple[object] | None:
        """From the worker: (value,) for :name typed in a dialog (bound, never pasted); None on Esc.

        The answer holds for the rest of this run (a name used twice is asked for once), as
        --param values do; the next run asks again, as the REPL does.
        """
        from concurrent.futures import Future

        from textual.worker import get_current_worker

        from noctra.cli import typed_param
        from noctra.tui.screens import ParameterScreen

        answer: Future[str | None] = Future()

        def show() -> None:
            self._asking = True
            self.status_bar.show_status(f"waiting for a value of :{name} (Esc abandons the run)")
            self.push_screen(ParameterScreen(name), answer.set_result)

        self.call_from_thread(show)
        worker = get_current_worker()
        try:
            while True:
                try:
                    text = answer.result(timeout=0.2)
                    break
                except TimeoutError:
                    if worker.is_cancelled:  # the app is quitting
                        return None
        finally:
            self._asking = False
        return None if text is None else (typed_param(text),)

    async def _finished(self, catalog_changed: bool) -> None:
        self.running_since = None
        if self._run_results == 0:
            await self._results_are_earlier()
        if catalog_changed:
            self.query_one(CatalogTree).reload()
            self.editor.catalog_changed()
        self.refresh_status()
        self._show_warnings()

    async def _show_result(
        self, statement: Statement, rows: GridRows, outcome: Result, complete: bool
    ) -> bool:
        results = self.query_one("#results", TabbedContent)
        title = f"{statement.number}: " + " ".join(statement.text.split())[:24]
        if self._run_results == 0:
            self._clear_results()
        self._run_results += 1
        if self._result_count == 0:
            grid = self.query_one("#grid-0", ResultsGrid)
            pane = results.get_pane("result-0")
            results.get_tab("result-0").label = Content(title)  # plain text, never markup
        else:
            grid = ResultsGrid(id=f"grid-{self._result_count}")
            pane = TabPane(Content(title), grid, id=f"result-{self._result_count}")
            await results.add_pane(pane)
        self._result_count += 1
        self._titles[str(pane.id)] = title
        grid.load(rows)
        results.active = str(pane.id)
        count = rows.table.num_rows
        notes = "".join(f"note: {n}\n" for n in outcome.notes)
        stored = " · stored result" if outcome.stored else ""
        shown = f"{count:,} row{'' if count == 1 else 's'}"
        if not complete:
            shown = f"first {shown} shown, the rest not read (EXPORT writes all)"
        self.say(f"{notes}{shown} · {outcome.elapsed * 1000:.0f} ms{stored}")
        return True

    def _show_message(self, statement: Statement, outcome: Message) -> None:
        notes = "".join(f"note: {n}\n" for n in outcome.notes)
        self.say(f"{notes}{outcome.text}")
        self._run_messages.append((statement.number, f"{notes}{outcome.text}"))

    async def _results_are_earlier(self) -> None:
        """A run with no result: its messages get the results area, earlier tabs say so and stay."""
        results = self.query_one("#results", TabbedContent)
        for pane_id, title in self._titles.items():
            results.get_tab(pane_id).label = Content(f"earlier · {title}")
        if not self._run_messages:
            return
        many = len(self._run_messages) > 1
        text = "\n".join(f"{number}: {said}" if many else said for number, said in self._run_messages)
        if results.query("#message-pane"):
            self.query_one("#message-text", Static).update(text)
        else:
            body = VerticalScroll(Static(text, id="message-text", markup=False), id="message-scroll")
            await results.add_pane(TabPane("Message", body, id="message-pane"))
        results.active = "message-pane"

    def _report(self, exc: NoctraError, base: tuple[int, int]) -> None:
        """An error under the results, the editor cursor on its position when it has one."""
        from noctra.redact import redact_text

        secrets = self.session.secrets()
        if isinstance(exc, CancelledQueryError):
            self.say(f"{exc.message} (the session is intact)", error=True)
            return
        hint = redact_text(exc.hint, secrets) if exc.hint else None
        self.say(redact_text(f"error: {exc}", secrets), error=True, hint=hint)
        if exc.span is not None:
            row = base[0] + exc.span.line - 1
            column = exc.span.column - 1 + (base[1] if exc.span.line == 1 else 0)
            self.editor.move_cursor((row, max(column, 0)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            # Behind a dialog (a :name asked for) Esc is the dialog's.
            return self.running_since is not None and len(self.screen_stack) == 1
        if action in ("new_editor", "close_editor", "editor_tab"):
            # Not behind a dialog: there Ctrl+W stays the Input's (delete a word).
            return len(self.screen_stack) == 1
        return True

    def action_cancel(self) -> None:
        self.session.cancel()
        self.say("cancelling…")

    # --- dialogs ----------------------------------------------------------------------------

    def action_help(self) -> None:
        from noctra.tui.screens import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def _statement_here(self) -> str | None:
        editor = self.editor
        if editor.selected_text.strip():
            return editor.selected_text.strip().rstrip(";")
        from noctra.rql.splitter import statement_at

        try:
            statement = statement_at(editor.text, editor.cursor_offset)
        except NoctraError:
            return None
        return statement.text.strip() if statement is not None and statement.text.strip() else None

    def action_export(self) -> None:
        from noctra.tui.screens import ExportScreen

        query = self._statement_here()
        if query is None:
            self.say("put the cursor on a query to export it", error=True)
            return

        def chosen(answer: tuple[str, str | None] | None) -> None:
            if answer is not None:
                from noctra.quoting import quote_string

                path, fmt = answer
                statement = f"EXPORT ({query}) TO {quote_string(path)}"
                self._run(statement + (f" FORMAT {fmt.upper()}" if fmt else ""), None, (0, 0))

        self.push_screen(ExportScreen(query, self.session.export_format), chosen)

    def action_history(self) -> None:
        from noctra.tui.screens import HistoryScreen

        def chosen(text: str | None) -> None:
            if text is not None:
                self.editor.text = text
                self.editor.move_cursor(self.editor.document.end)
            self.editor.focus()

        self.push_screen(HistoryScreen(history.load(self.history_file)), chosen)

    @on(ResultsGrid.ProfileRequested)
    def show_profile(self, event: ResultsGrid.ProfileRequested) -> None:
        from noctra.tui.screens import ProfileScreen

        grid, column = event.grid, event.column
        if grid.table is not None and grid.cells is not None:
            # Counted on the Arrow values, its min, max and top values shown as the grid shows them.
            shown = partial(grid.cells.column, column)
            self.push_screen(ProfileScreen(grid.columns[column], grid.table.column(column), shown))

    # --- focus and tabs -----------------------------------------------------------------------

    def action_focus_results(self) -> None:
        if self.results_message is not None:
            self.query_one("#message-scroll").focus()
        else:
            self.grid.focus()

    def action_focus_editor(self) -> None:
        self.editor.focus()

    # --- editor tabs --------------------------------------------------------------------------

    def _editor_tabs_changed(self) -> None:
        editors = self.query_one("#editors", TabbedContent)
        editors.set_class(len(editors.query(TabPane)) < 2, "single")

    async def action_new_editor(self) -> None:
        """Ctrl+T: an empty editor in a new tab, with the focus."""
        self._editor_serial += 1
        number = self._editor_serial
        editor = Editor(id=f"editor-{number}")
        editor.session = self.session
        editors = self.query_one("#editors", TabbedContent)
        await editors.add_pane(TabPane(f"Editor {number}", editor, id=f"edit-{number}"))
        editors.active = f"edit-{number}"
        self._editor_tabs_changed()
        editor.focus()

    async def action_close_editor(self) -> None:
        """Ctrl+W: close the editor tab in view (never the last); its text goes to the history."""
        editors = self.query_one("#editors", TabbedContent)
        panes = [str(p.id) for p in editors.query(TabPane)]
        if len(panes) < 2:
            self.notify("the last editor tab stays open (Ctrl+T opens another)", timeout=2)
            return
        active = editors.active
        text = self.editor.text.strip()
        if text and text not in history.load(self.history_file)[:1]:
            history.append(self.history_file, text)
        index = panes.index(active) if active in panes else 0
        await editors.remove_pane(active)
        panes.remove(active)
        editors.active = panes[max(index - 1, 0)]
        self._editor_tabs_changed()
        self.editor.focus()
        if text:
            self.notify("editor tab closed; its text is in the history (Ctrl+R)", timeout=3)

    def action_editor_tab(self, step: int) -> None:
        """Alt+Left / Alt+Right: the previous / next editor tab, with the focus."""
        editors = self.query_one("#editors", TabbedContent)
        panes = [str(p.id) for p in editors.query(TabPane)]
        if editors.active in panes and len(panes) > 1:
            editors.active = panes[(panes.index(editors.active) + step) % len(panes)]
        self.editor.focus()

    def action_toggle_catalog(self) -> None:
        catalog = self.query_one(CatalogTree)
        catalog.display = not catalog.display

    def action_tab(self, step: int) -> None:
        results = self.query_one("#results", TabbedContent)
        panes = [str(p.id) for p in results.query(TabPane)]
        if results.active in panes:
            results.active = panes[(panes.index(results.active) + step) % len(panes)]

    # --- catalog and completion --------------------------------------------------------------

    @on(CatalogTree.NameChosen)
    def insert_name(self, event: CatalogTree.NameChosen) -> None:
        self.editor.insert(event.name)
        self.editor.focus()

    @on(Editor.CompletionsOffered)
    def offer_completions(self, event: Editor.CompletionsOffered) -> None:
        menu = self.query_one(CompletionMenu)
        x, y = self.editor.cursor_screen_offset
        menu.styles.offset = (x, y + 1)
        menu.offer(event.candidates, self.editor)

    @on(CompletionMenu.OptionSelected)
    def complete(self, event: CompletionMenu.OptionSelected) -> None:
        menu = self.query_one(CompletionMenu)
        editor = menu.editor or self.editor
        editor.apply(menu.candidates[event.option_index])
        menu.display = False
        editor.focus()
