"""Driving the REPL with real key sequences: prompt_toolkit's pipe input, or a pty."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from noctra.repl.app import Repl
from noctra.repl.shell import Shell, Terminal
from noctra.session import Session

UP = "\x1b[A"
TAB = "\t"
ENTER = "\r"
CTRL_C = "\x03"
CTRL_D = "\x04"
PAUSE = 0.3  # between chunks: completion and each statement get to finish before the next keys
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")


def screen_text(raw: str) -> str:
    """What the terminal drew, escape sequences removed."""
    return _ESCAPES.sub("", raw)


class _Screen(Vt100_Output):
    """A 120x40 xterm drawn into a string; it knows the room below the prompt (as CPR tells)."""

    def __init__(self, raw: io.StringIO) -> None:
        super().__init__(raw, lambda: Size(rows=40, columns=120), term="xterm", enable_cpr=False)

    def get_rows_below_cursor_position(self) -> int:
        return 30


@dataclass
class Run:
    """What one REPL run wrote: results (out), messages and errors (err), the drawn screen."""

    out: str
    err: str
    screen: str


@pytest.fixture
def repl_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_files: Path) -> Path:
    """tmp_path with the sample files as the current directory, and its own XDG dirs."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("NOCTRA_CONFIG", raising=False)
    return tmp_path


def drive(chunks: Sequence[str], *, home: Path, session: Session | None = None, pause: float = PAUSE) -> Run:
    """Type chunks of keys into a REPL (a pause after each), then Ctrl-C, Ctrl-D; what it wrote."""
    out, err, raw = io.StringIO(), io.StringIO(), io.StringIO()
    output = _Screen(raw)
    own = session is None
    session = session or Session(state_path=home / "state" / "noctra" / "session.toml")
    try:
        with create_pipe_input() as keys:
            shell = Shell(session, Terminal(out, err), ask=lambda name: "")
            repl = Repl(shell, history=home / "state" / "noctra" / "history", input=keys, output=output)

            def typist() -> None:
                time.sleep(pause)
                for chunk in [*chunks, CTRL_C, CTRL_D]:  # Ctrl-C drops an unfinished line
                    keys.send_text(chunk)
                    time.sleep(pause)

            thread = threading.Thread(target=typist, daemon=True)
            thread.start()
            assert repl.run() == 0
            thread.join()
            shell.close()
    finally:
        if own:
            session.close()
    return Run(out.getvalue(), err.getvalue(), screen_text(raw.getvalue()))


def _take_terminal() -> None:
    """In the child, after setsid: the pty becomes its controlling terminal, so Ctrl-C is SIGINT."""
    import fcntl
    import termios

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Pty:
    """`noctra ARGS` on a pseudo-terminal: type keys, wait for text on the screen."""

    def __init__(self, args: Sequence[str], *, cwd: Path, env: dict[str, str]) -> None:
        import pty

        master, slave = pty.openpty()
        os.set_blocking(master, False)
        self._master = master
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "noctra", *args],
            cwd=cwd,
            env={**env, "TERM": "xterm", "COLUMNS": "120", "LINES": "40", "PROMPT_TOOLKIT_NO_CPR": "1"},
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=_take_terminal,  # noqa: PLW1509 - an ioctl only, no locks taken
        )
        os.close(slave)
        self.seen = ""

    def send(self, keys: str) -> None:
        os.write(self._master, keys.encode())

    def expect(self, pattern: str, timeout: float = 20.0) -> str:
        """Read until pattern (a regex) appears in what came since the last match; that text."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, screen_text(self.seen))
            if found:
                text = screen_text(self.seen)
                self.seen = text[found.end() :]
                return text[: found.end()]
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{pattern!r} never appeared; the screen had:\n{screen_text(self.seen)}")
            ready, _, _ = select.select([self._master], [], [], min(left, 0.1))
            if ready:
                try:
                    self.seen += os.read(self._master, 65536).decode("utf-8", "replace")
                except OSError:
                    continue

    def close(self) -> int:
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._master)
        return self.proc.returncode
