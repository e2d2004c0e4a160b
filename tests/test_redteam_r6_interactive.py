"""Red team, round 6: the REPL and the TUI used by hand, with odd inputs.

Each test states what a user would expect; the ones marked xfail fail today (a bug found
by hand in tmux, then reproduced here with the real parts: the Shell on a terminal,
prompt_toolkit's pipe input, a pty, Textual's Pilot).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from noctra.repl.shell import Shell, Terminal
from noctra.session import Session
from noctra.tui.app import NoctraApp
from noctra.tui.screens import ProfileScreen
from tests.repl.conftest import CTRL_D, ENTER, TAB, Pty, drive

SIZE = (120, 40)
# Bytes that would act on the terminal if printed as they are: ESC, BEL, backspace.
_RAW_CONTROL = re.compile(r"[\x07\x08\x1b]")
_SGR = re.compile(r"\x1b\[[0-9;]*m")  # colour codes Noctra itself writes (red errors, dim footers)


def _tty_shell(session: Session) -> tuple[Shell, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    terminal = Terminal(out, err, is_tty=True, size=lambda: (120, 40))
    return Shell(session, terminal, ask=lambda name: ""), out, err


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_files: Path) -> Path:
    """tmp_path with the sample files (t.csv...) as the current directory, and its own XDG dirs."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("NOCTRA_CONFIG", raising=False)
    return tmp_path


def _hostile_csv(where: Path) -> Path:
    """A CSV whose header and value carry escape sequences (set the title, clear the screen)."""
    path = where / "hostile.csv"
    path.write_text('id,"x\x1b]0;PWNED\x07y"\n1,"v\x1b[2Jq"\n', encoding="utf-8")
    return path


# --- REPL -----------------------------------------------------------------------------------


def test_repl_line_mode_shows_control_chars_in_column_names_as_symbols(tmp_path: Path) -> None:
    path = _hostile_csv(tmp_path)
    with Session(restore=False, state_path=tmp_path / "s.toml") as session:
        shell, out, _ = _tty_shell(session)
        shell.mode = "line"
        shell.handle(f"SELECT * FROM '{path}'")
    shown = _SGR.sub("", out.getvalue())
    assert "v␛[2Jq" in shown  # the value is already made safe
    assert not _RAW_CONTROL.search(shown), repr(shown)
    assert "␛]0;PWNED␇" in shown


def test_repl_error_about_a_value_does_not_send_its_escape_sequences(tmp_path: Path) -> None:
    path = _hostile_csv(tmp_path)
    with Session(restore=False, state_path=tmp_path / "s.toml") as session:
        shell, _, err = _tty_shell(session)
        shell.handle(f"USE '{path}' AS h")
        shell.handle('SELECT CAST("x\x1b]0;PWNED\x07y" AS INT) FROM h')  # value 'v<ESC>[2Jq' is no INT
        shell.handle("SELECT xPWNEDy FROM h")  # the hint suggests the hostile column name
    said = _SGR.sub("", err.getvalue())
    assert "Could not convert string" in said
    assert not _RAW_CONTROL.search(said), repr(said)


def test_repl_line_mode_tells_null_from_the_text_null(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    with Session(restore=False, state_path=tmp_path / "s.toml") as session:
        shell, out, _ = _tty_shell(session)
        shell.mode = "line"
        shell.handle("SELECT NULL AS a, 'NULL' AS b")
    lines = dict(line.strip().split(" = ", 1) for line in out.getvalue().splitlines() if " = " in line)
    assert lines["a"] != lines["b"], "table mode dims a real NULL; line mode should too"


def test_repl_start_warns_about_a_restored_source_whose_file_is_gone(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "gone.csv").write_text("a\n1\n", encoding="utf-8")
    first = subprocess.run(
        [sys.executable, "-m", "noctra", "query", "USE 'gone.csv'"],
        cwd=tmp_path,
        env=isolated_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    (tmp_path / "gone.csv").unlink()
    repl = Pty(["repl"], cwd=tmp_path, env=isolated_env)
    try:
        # The source stays current while its file is away: the prompt names it.
        screen = repl.expect(r"noctra \[gone\]>")
        repl.send("SELECT 41 + 1 AS answer;\r")
        screen += repl.expect(r"1 row")
        repl.expect(r"noctra \[gone\]>")
        repl.send(CTRL_D)
        assert repl.close() == 0
    finally:
        repl.proc.kill()
    # `noctra query` prints this warning; the REPL swallows it (it is gathered before the Shell).
    assert "source 'gone' is missing" in screen


def test_repl_completion_after_use_quotes_an_alias_that_needs_it(home: Path) -> None:
    run = drive(["USE 't.csv' AS \"my data\";", ENTER, "USE my", TAB, ";", ENTER], home=home)
    assert "error" not in run.err, run.err
    assert "current source: my data" in run.err


def test_repl_completion_after_from_finds_a_quoted_alias_by_prefix(home: Path) -> None:
    run = drive(
        [
            "USE 't.csv' AS \"my data\";",
            ENTER,
            ".mode csv",
            ENTER,
            "SELECT count(*) AS n FROM my",
            TAB,
            ";",
            ENTER,
        ],
        home=home,
    )
    assert "error" not in run.err, run.err
    assert run.out == "n\n3\n"


# --- TUI ------------------------------------------------------------------------------------


async def _run(app: NoctraApp, pilot: object, text: str) -> None:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    app.editor.text = text
    app.editor.move_cursor(app.editor.document.end)
    await pilot.press("f5")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_tui_statement_with_square_brackets_shows_its_rows(tmp_path: Path) -> None:
    with Session(restore=False, state_path=tmp_path / "s.toml") as session:
        app = NoctraApp(session, history_file=tmp_path / "history")
        async with app.run_test(size=SIZE) as pilot:
            await _run(app, pilot, "SELECT '[/]' AS x")
            assert "error" not in app.messages, app.messages
            assert app.grid.value(0, 0) == "[/]"


async def test_tui_profile_of_a_column_named_with_brackets_keeps_the_app(tmp_path: Path) -> None:
    path = tmp_path / "brackets.csv"
    path.write_text('"[/]",b\n1,2\n1,3\n', encoding="utf-8")
    with Session(restore=False, state_path=tmp_path / "s.toml") as session:
        app = NoctraApp(session, history_file=tmp_path / "history")
        async with app.run_test(size=SIZE) as pilot:
            await _run(app, pilot, f"SELECT * FROM '{path}'")
            assert [c.name for c in app.grid.columns] == ["[/]", "b"]
            await pilot.press("f3", "p")
            await pilot.pause()
            assert isinstance(app.screen, ProfileScreen)
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, ProfileScreen)


async def test_tui_start_warns_about_a_restored_source_whose_file_is_gone(tmp_path: Path) -> None:
    state = tmp_path / "state" / "session.toml"
    gone = tmp_path / "gone.csv"
    gone.write_text("a\n1\n", encoding="utf-8")
    with Session(state_path=state) as first:
        first.use(str(gone), "gone")
    gone.unlink()
    with Session(state_path=state) as session:
        assert any("missing" in w for w in session.warnings)  # `noctra query` prints this one
        app = NoctraApp(session, history_file=tmp_path / "history")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            said = [str(n.message) for n in app._notifications] + [app.messages]
            assert any("gone" in s and "missing" in s for s in said), said
