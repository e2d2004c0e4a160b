"""StatusBar: Session.status() as one line, always visible; a progress bar while a statement runs."""

from __future__ import annotations

from textual.widgets import Static

_BAR = 20


class StatusBar(Static):
    """The status line (SPEC 5), or the running statement's progress and elapsed time."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    StatusBar.-running { background: $warning 30%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.text = ""

    def show_status(self, line: str) -> None:
        """The session's status line."""
        self.remove_class("-running")
        self.text = line
        self.update(line)

    def show_running(self, seconds: float, progress: float | None) -> None:
        """A statement runs: elapsed time, DuckDB's progress when it knows it, how to cancel."""
        self.add_class("-running")
        if progress is None or progress < 0:
            bar = ""
        else:
            filled = round(min(progress, 1.0) * _BAR)
            bar = f" {'━' * filled}{'╌' * (_BAR - filled)} {progress * 100:.0f}%"
        self.text = f"Running {seconds:.1f} s{bar} │ Esc cancels"
        self.update(self.text)
