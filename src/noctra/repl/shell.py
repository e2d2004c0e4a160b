"""What the REPL does with one complete input: run it and show what it gave. No terminal needed.

The prompt_toolkit loop (app.py) reads the input; everything after that happens here,
as plain methods over text streams, so tests can drive it without a terminal.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from noctra.errors import CancelledQueryError, NoctraError, UsageError
from noctra.output.model import Message, Outcome, Result
from noctra.output.render import WIDE_TABLE_HINT, terminal_text
from noctra.repl.completer import CatalogCache

if TYPE_CHECKING:
    from noctra.session import Session

DEFAULT_MAX_ROWS = 1000  # rows kept for one screenful of table; the pager shows the tall ones
# Statements after which completion reads the catalog again (sources, tables, columns changed).
_CHANGES_CATALOG = {"USE", "DETACH", "UNUSE", "IMPORT", "CREATE", "DROP", "ALTER", "ATTACH", "INSERT"}
_RED, _DIM, _RESET = "\033[31m", "\033[2m", "\033[0m"


class Terminal:
    """Where the REPL writes: results to out, messages and errors to err.

    ``is_tty``: out is a terminal (colour, the pager, a progress bar); ``size()``: its
    columns and lines.
    """

    def __init__(
        self,
        out: TextIO,
        err: TextIO,
        *,
        is_tty: bool = False,
        size: Callable[[], tuple[int, int]] = lambda: (100, 40),
    ) -> None:
        self.out, self.err, self.is_tty, self.size = out, err, is_tty, size

    @classmethod
    def of_process(cls) -> Terminal:
        """stdout and stderr of this process."""
        is_tty = sys.stdout.isatty()

        def size() -> tuple[int, int]:
            columns, lines = shutil.get_terminal_size((100, 40))
            return columns, lines

        return cls(sys.stdout, sys.stderr, is_tty=is_tty, size=size)

    @property
    def color(self) -> bool:
        return self.is_tty and not os.environ.get("NO_COLOR")


class _Screen(io.StringIO):
    """A result rendered in memory, as a terminal would get it (colour when it is one)."""

    def __init__(self, is_tty: bool) -> None:
        super().__init__()
        self._is_tty = is_tty

    def isatty(self) -> bool:
        return self._is_tty


class Shell:
    """Runs inputs on a session and shows the outcomes, with the REPL's settings."""

    def __init__(
        self,
        session: Session,
        terminal: Terminal,
        *,
        ask: Callable[[str], str],
        params: dict[str, object] | None = None,
        history: Callable[[], list[str]] = list,
    ) -> None:
        self.session = session
        self.terminal = terminal
        self.cache = CatalogCache(session)
        self.mode = "table"
        self.max_rows = DEFAULT_MAX_ROWS
        self.timer = True
        self.pager = True
        self.history = history
        self.ask = ask
        self._params = dict(params or {})
        self._redirect: TextIO | None = None
        self._redirect_once = False
        self._warned = 0  # the restore's warnings (a source whose file is gone) show at start
        self.debug = False  # --debug: a traceback before an unexpected error's line

    # --- one input ------------------------------------------------------------------

    def handle(self, text: str) -> bool:
        """Run one input (statements, or a dot-command line); False means leave the REPL."""
        from noctra.repl.dotcommands import bare_command, run_dot_command

        try:
            if text.lstrip().startswith("."):
                return run_dot_command(self, text)
            command = bare_command(text)
            if command is not None:
                return run_dot_command(self, command)
            self.run_statements(text)
        except NoctraError as exc:
            self.report(exc)
        except Exception as exc:  # noqa: BLE001 - the REPL never dies on a statement (SPEC 6)
            if self.debug:
                traceback.print_exc(file=self.terminal.err)
            self.report(
                NoctraError(
                    f"{type(exc).__name__}: {exc}",
                    hint="this is a bug: please report it (--debug shows the traceback)",
                )
            )
        finally:
            self.show_warnings()
        return True

    def run_statements(self, script: str) -> None:
        """Run statements one by one, stopping at the first error (which is raised)."""
        for statement in self.session.split(script):
            params = self._params_for(statement.text)
            sources_before = [s.alias for s in self.session.sources]
            try:
                with self._progress() as stop:
                    outcome = self.session.run_statement(statement, params)
                    self.show(outcome, before_output=stop)
            finally:
                first = statement.text.split(None, 1)[0].upper() if statement.text.strip() else ""
                if first in _CHANGES_CATALOG or [s.alias for s in self.session.sources] != sources_before:
                    self.cache.invalidate()

    def _params_for(self, text: str) -> dict[str, object] | None:
        """--param values, and an answer for each ``:name`` nothing gives a value (asked for now)."""
        missing = self.session.unbound_parameters(text, self._params)
        if not missing:
            return self._params or None
        from noctra.cli import typed_param

        params = dict(self._params)
        for name in missing:
            params[name] = typed_param(self.ask(name))
        return params

    # --- output ---------------------------------------------------------------------

    def show(self, outcome: Outcome, *, before_output: Callable[[], None] = lambda: None) -> None:
        """A message to err; rows to the screen (paged when taller than it) or to the .output file."""
        if isinstance(outcome, Message):
            before_output()
            for note in outcome.notes:
                self.say(f"note: {note}")
            self.say(outcome.text)
            return
        for note in outcome.notes:
            self.say(f"note: {note}")
        target = self._redirect
        if target is not None:
            shown = self._write(outcome, target, is_tty=False, before_output=before_output)
            target.flush()
            if self._redirect_once:
                self.redirect(None, once=False)
        elif self.mode in ("table", "markdown", "line") and self.max_rows:
            screen = _Screen(self.terminal.is_tty)
            shown = self._write(outcome, screen, is_tty=self.terminal.is_tty, before_output=before_output)
            self._page_or_print(screen.getvalue())
        else:
            started = False

            def first_output() -> None:
                nonlocal started
                started = True
                before_output()

            try:
                shown = self._write(
                    outcome, self.terminal.out, is_tty=self.terminal.is_tty, before_output=first_output
                )
            except BaseException:
                if started and self.terminal.is_tty:
                    # Rows stopped mid-line (Ctrl-C, a late error): the message gets a line of its own.
                    self.terminal.out.write("\n")
                    self.terminal.out.flush()
                raise
            self.terminal.out.flush()
        total = outcome.row_count if outcome.row_count is not None else shown
        footer = f"{total:,} row{'' if total == 1 else 's'}"
        if self.timer:
            footer += f" · {_duration(outcome.elapsed)}"
        if outcome.stored:
            footer += " · stored result"  # files unchanged since it was computed (SPEC 4.5)
        self.say(footer, dim=True)

    def _write(
        self, result: Result, stream: TextIO, *, is_tty: bool, before_output: Callable[[], None]
    ) -> int:
        width = self.terminal.size()[0] if is_tty else 0
        max_rows = self.max_rows or None
        if self.mode == "line":
            from noctra.repl.render import write_lines

            color = is_tty and self.terminal.color
            return write_lines(result, stream, max_rows=max_rows, before_output=before_output, color=color)
        limit = max_rows if self.mode in ("table", "markdown") else None
        # A table too wide for the terminal leaves columns out and says how to see them.
        hint = WIDE_TABLE_HINT.set(".mode line shows every column")
        try:
            return result.write(stream, self.mode, max_rows=limit, width=width, before_output=before_output)
        finally:
            WIDE_TABLE_HINT.reset(hint)

    def _page_or_print(self, text: str) -> None:
        columns, lines = self.terminal.size()
        if self.pager and self.terminal.is_tty and _rows_taken(text, columns) > lines - 3 and _page(text):
            return
        self.terminal.out.write(text)
        self.terminal.out.flush()

    def redirect(self, path: str | None, *, once: bool) -> None:
        """Send results to a file (created or truncated), or back to the screen with None."""
        if self._redirect is not None:
            self._redirect.close()
            self._redirect = None
        self._redirect_once = once
        if path is None:
            return
        try:
            self._redirect = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - kept open
        except OSError as exc:
            raise UsageError(f"cannot write {path!r}: {exc.strerror}") from None

    def say(self, text: str, *, dim: bool = False) -> None:
        """A line for the person at the terminal (messages, notes, footers)."""
        text = terminal_text(text)  # a message quoting data never moves the cursor
        if dim and self.terminal.color:
            text = f"{_DIM}{text}{_RESET}"
        print(text, file=self.terminal.err, flush=True)

    def report(self, exc: NoctraError) -> None:
        """An error in one line (red on a colour terminal) and its hint; the REPL goes on."""
        from noctra.redact import redact_text

        secrets = self.session.secrets()
        line = terminal_text(redact_text(f"noctra: error: {exc}", secrets))
        if isinstance(exc, CancelledQueryError):
            line = f"noctra: {exc.message} (the session is intact)"
        if self.terminal.color:
            line = f"{_RED}{line}{_RESET}"
        print(line, file=self.terminal.err, flush=True)
        if exc.hint:
            hint = terminal_text(redact_text(f"hint: {exc.hint}", secrets))
            print(hint, file=self.terminal.err, flush=True)

    def interrupted(self) -> None:
        """Ctrl-C came between two steps of a statement (not inside the engine)."""
        self.say("noctra: interrupted (the session is intact)")

    def close(self) -> None:
        self.redirect(None, once=False)

    def show_warnings(self) -> None:
        """Warnings the session gathered since the last call (a restore, a save that failed)."""
        for warning in self.session.warnings[self._warned :]:
            self.say(f"noctra: warning: {warning}")
        self._warned = len(self.session.warnings)

    @contextmanager
    def _progress(self) -> Iterator[Callable[[], None]]:
        """A progress bar on err past 0.5 s (a terminal only); yields the function that clears it."""
        if not self.terminal.is_tty:
            yield lambda: None
            return
        from noctra.cli import Progress

        bar = Progress(self.session, self.terminal.err, draw=True)
        try:
            yield bar.stop
        finally:
            bar.stop()


def _page(text: str) -> bool:
    """Show text through $PAGER (default ``less``, with colours kept); False when there is none."""
    command = os.environ.get("PAGER") or ("less" if shutil.which("less") else "")
    if not command:
        return False
    env = dict(os.environ)
    # As git does: quit when it fits, keep colours, chop long lines, leave the text on screen.
    env.setdefault("LESS", "FRSX")
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the pager here
    try:
        with subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE, env=env) as pager:
            assert pager.stdin is not None
            try:
                pager.stdin.write(text.encode("utf-8", "replace"))
                pager.stdin.close()
            except BrokenPipeError:
                pass  # the reader quit before the end
    except OSError:
        return False
    finally:
        signal.signal(signal.SIGINT, previous)
    return True


_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def _rows_taken(text: str, columns: int) -> int:
    """Screen rows the text fills once the terminal wraps its lines (a wide table takes many)."""
    from noctra.output.render import cell_width

    rows = 0
    for line in text.splitlines():
        width = cell_width(_ESCAPE.sub("", line)) if len(line) > columns // 2 else len(line)
        rows += max(1, -(-width // max(columns, 1)))
    return rows


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"
