"""Editor: the SQL text area, with the REPL's completion (keywords, functions, sources, columns, paths)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from noctra.repl.completer import Candidate, CatalogCache
    from noctra.session import Session


def sql_language() -> str | None:
    """'sql' when tree-sitter's SQL grammar is installed (highlighting), else None (plain text)."""
    try:
        from textual._tree_sitter import get_language
    except ImportError:
        return None
    return "sql" if get_language("sql") is not None else None


class Editor(TextArea):
    """SQL and RQL; Tab completes (or indents where nothing completes)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+space", "complete", "Complete", show=False),
        Binding("f5,ctrl+enter", "app.run_statement", "Run"),
        Binding("f6,ctrl+shift+enter", "app.run_all", "Run all"),
        # TextArea deletes a word on Ctrl+W (Ctrl+Backspace and Alt+Backspace still do).
        Binding("ctrl+w", "app.close_editor", "Close tab", show=False),
    ]

    class CompletionsOffered(Message):
        """More than one completion fits: the app shows the menu."""

        def __init__(self, candidates: list[Candidate]) -> None:
            super().__init__()
            self.candidates = candidates

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        super().__init__(
            text,
            id=id,
            language=sql_language(),
            theme="monokai",
            soft_wrap=False,
            tab_behavior="indent",
            show_line_numbers=True,
        )
        self.session: Session | None = None  # set by the app; completion reads its catalog
        self._cache: CatalogCache | None = None

    @property
    def cache(self) -> CatalogCache | None:
        """The REPL's catalog cache, made at the first Tab (prompt_toolkit is not loaded before)."""
        if self._cache is None and self.session is not None:
            from noctra.repl.completer import CatalogCache

            self._cache = CatalogCache(self.session, wait=False)  # the UI thread never waits
        return self._cache

    def catalog_changed(self) -> None:
        """Forget what completion knew (after USE, DETACH or DDL)."""
        if self._cache is not None:
            self._cache.invalidate()

    @property
    def cursor_offset(self) -> int:
        """The cursor as an index into the text."""
        row, column = self.cursor_location
        lines = self.text.split("\n")  # the document's own newline is "\n" once loaded
        return sum(len(line) + 1 for line in lines[:row]) + column

    def text_before_cursor(self) -> str:
        return self.get_text_range((0, 0), self.cursor_location)

    def completions(self) -> list[Candidate]:
        """What Tab offers here (the REPL's candidates over the same catalog)."""
        cache = self.cache
        if cache is None:
            return []
        from noctra.repl.completer import candidates

        return candidates(self.text_before_cursor(), cache, statement=self.text, requested=True)

    def apply(self, candidate: Candidate) -> None:
        """Replace the typed part of a word with a completion."""
        row, column = self.cursor_location
        start = (row, max(column + candidate.start, 0))
        self.replace(candidate.text, start, self.cursor_location)

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "tab" and not self.selected_text and self.text_before_cursor().strip():
            line = self.document.get_line(self.cursor_location[0])[: self.cursor_location[1]]
            if line.strip():
                event.stop()
                event.prevent_default()
                self.action_complete()
                return
        await super()._on_key(event)

    def action_complete(self) -> None:
        found = self.completions()
        if len(found) == 1:
            self.apply(found[0])
        elif found:
            self.post_message(self.CompletionsOffered(found))
        else:
            self.notify("no completion here", timeout=1.5)


class CompletionMenu(OptionList):
    """The completions of one Tab: Enter takes one, Esc closes."""

    DEFAULT_CSS = """
    CompletionMenu { layer: overlay; width: 48; max-height: 12; display: none; border: round $accent; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", show=False)]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.candidates: list[Candidate] = []
        self.editor: Editor | None = None

    def offer(self, candidates: list[Candidate], editor: Editor) -> None:
        self.candidates = candidates[:200]
        self.editor = editor
        self.clear_options()
        self.add_options(
            Option(Text.assemble(c.display or c.text, ("  " + c.kind, "dim"))) for c in self.candidates
        )
        self.highlighted = 0
        self.display = True
        self.focus()

    def action_close(self) -> None:
        self.display = False
        if self.editor is not None:
            self.editor.focus()
