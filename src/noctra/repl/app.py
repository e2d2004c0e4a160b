"""The prompt_toolkit loop: read a complete input, hand it to the Shell, draw the next prompt.

Thin on purpose: what an input does is in shell.py, what to complete in completer.py.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.output import Output
from prompt_toolkit.shortcuts import CompleteStyle
from prompt_toolkit.styles import Style

from noctra.errors import UsageError
from noctra.redact import redact_text
from noctra.repl.completer import Completer
from noctra.repl.dotcommands import bare_command
from noctra.repl.highlight import RqlLexer
from noctra.rql.splitter import is_complete

if TYPE_CHECKING:
    from noctra.repl.shell import Shell
    from noctra.session import Session

STYLE = Style.from_dict(
    {
        "prompt.name": "bold",
        "prompt.source": "ansicyan",
        "continuation": "ansibrightblack",
        "bottom-toolbar": "noreverse bg:#303030 #d0d0d0",
        "completion-menu.meta.completion": "bg:#444444 #bbbbbb",
        "completion-menu.meta.completion.current": "bg:#888888 #000000",
    }
)


class RedactedHistory(FileHistory):
    """The history file, passwords and tokens of URLs typed in it (USE 'mysql://u:pw@...') masked.

    A file that cannot be read or written (a directory, no permission, a full disk) keeps the
    history of this run in memory: the REPL warns once and runs on, never a traceback.
    """

    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self.problem: str | None = None

    def load_history_strings(self) -> Iterable[str]:
        try:
            yield from super().load_history_strings()
        except OSError as exc:
            self._failed(exc)

    def store_string(self, string: str) -> None:
        if self.problem is not None:
            return
        try:
            super().store_string(redact_text(string))
        except OSError as exc:
            self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        if self.problem is None:
            self.problem = f"history file {self.filename!r} cannot be used ({exc.strerror or exc})"


def history_path() -> Path:
    """``$XDG_STATE_HOME/noctra/history`` (default ``~/.local/state/noctra/history``), whole statements."""
    from noctra.state import default_state_path

    return default_state_path().parent / "history"


def is_ready(text: str) -> bool:
    """Enter runs the input: a complete statement, a dot-command line (or ``help``, ``quit``), or nothing."""
    stripped = text.strip()
    return (
        not stripped
        or (stripped.startswith(".") and "\n" not in stripped)
        or bare_command(stripped) is not None
        or is_complete(text)
    )


def _bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        state = buffer.complete_state
        if state is not None and state.current_completion is not None:
            buffer.complete_state = None  # Enter takes the chosen completion, it does not run yet
            return
        if is_ready(buffer.text):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    return bindings


class Repl:
    """``noctra [source]>`` prompts over a Shell until Ctrl-D or .quit."""

    def __init__(
        self,
        shell: Shell,
        *,
        history: Path,
        input: Input | None = None,
        output: Output | None = None,
    ) -> None:
        self.shell = shell
        self._history = RedactedHistory(str(history))
        try:
            history.parent.mkdir(parents=True, exist_ok=True)
            with open(history, "ab"):
                pass
        except OSError as exc:
            self._history._failed(exc)
        if self._history.problem is not None:
            print(f"noctra: warning: {self._history.problem}: kept for this run only", file=sys.stderr)
        shell.history = self._history_entries
        shell.ask = self.ask
        self._status = ""
        self.prompt = PromptSession[str](
            self._message,
            multiline=True,
            key_bindings=_bindings(),
            history=self._history,
            lexer=PygmentsLexer(RqlLexer),
            completer=Completer(shell.cache),
            complete_while_typing=True,
            complete_style=CompleteStyle.COLUMN,
            search_ignore_case=True,
            bottom_toolbar=lambda: self._status,
            prompt_continuation=_continuation,
            style=STYLE,
            input=input,
            output=output,
        )
        self._ask = PromptSession[str](input=input, output=output, style=STYLE)

    def _message(self) -> FormattedText:
        current = self.shell.session.sources.current
        parts = [("class:prompt.name", "noctra")]
        if current is not None:
            parts.append(("class:prompt.source", f" [{current}]"))
        parts.append(("", "> "))
        return FormattedText(parts)

    def _history_entries(self) -> list[str]:
        return list(reversed(list(self._history.load_history_strings())))

    def ask(self, name: str) -> str:
        """The value of a ``:name`` nothing gives, typed at a ``:name =>`` prompt."""
        try:
            return self._ask.prompt(f":{name} => ")
        except EOFError:
            raise UsageError(f"no value given for :{name}", hint="the statement did not run") from None

    def run(self) -> int:
        """Prompt, run, repeat; 0 when the user leaves."""
        session = self.shell.session
        self._status = session.status().line()
        while True:
            try:
                text = self.prompt.prompt()
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line
            except EOFError:
                return 0
            if not text.strip():
                continue
            with _CancelOnInterrupt(session):
                try:
                    keep = self.shell.handle(text)
                except KeyboardInterrupt:
                    self.shell.interrupted()
                    keep = True
            self._status = session.status().line()
            if not keep:
                return 0


class _CancelOnInterrupt:
    """While an input runs, Ctrl-C cancels the engine's statement; between statements it interrupts."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._previous: Callable[[int, FrameType | None], object] | int | None = None

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self._session.busy:
            self._session.cancel()
        else:
            raise KeyboardInterrupt

    def __enter__(self) -> None:
        self._previous = signal.signal(signal.SIGINT, self._handler)

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)


def _continuation(width: int, line_number: int, wrap_count: int) -> FormattedText:
    return FormattedText([("class:continuation", "...> ".rjust(width))])


def run_lines(shell: Shell, stream: TextIO) -> int:
    """Without a terminal (``noctra repl < file``): the same inputs, read line by line."""
    pending = ""
    for line in stream:
        if not pending.strip() and (line.lstrip().startswith(".") or bare_command(line) is not None):
            if not shell.handle(line):
                return 0
            continue
        pending += line
        if is_complete(pending):
            if pending.strip():
                shell.handle(pending)
            pending = ""
    if pending.strip():
        shell.handle(pending)
    return 0


def ask_line(stream: TextIO) -> Callable[[str], str]:
    """Parameter values from the next line of a stream (no terminal to prompt on)."""

    def ask(name: str) -> str:
        line = stream.readline()
        if not line:
            raise UsageError(f"no value given for :{name}", hint="the statement did not run")
        return line.rstrip("\n")

    return ask


def is_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()
