"""What the Shell does with one input, on a terminal it is told about: no keys, no pty."""

from __future__ import annotations

import io
import os
import sqlite3
from pathlib import Path

import pytest

from noctra.repl import shell as shell_module
from noctra.repl.app import is_ready
from noctra.repl.shell import Shell, Terminal
from noctra.session import Session
from tests.repl.conftest import ENTER, drive


def make_shell(
    session: Session, *, size: tuple[int, int] = (100, 40)
) -> tuple[Shell, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Shell(session, Terminal(out, err, is_tty=True, size=lambda: size), ask=lambda name: ""), out, err


def test_help_quit_and_exit_work_without_the_dot(repl_dir: Path) -> None:
    assert all(is_ready(word) for word in ("help", "HELP;", " quit ", "exit;", "\\q"))
    assert not is_ready("SELECT help")
    run = drive(["help", ENTER, ".mode csv", ENTER, "SELECT 1 AS x;", ENTER, "quit", ENTER], home=repl_dir)
    assert ".maxrows N" in run.err  # the .help list
    assert "error" not in run.err
    assert run.out == "x\n1\n"


def test_quit_without_a_dot_ends_a_piped_repl(sample_files: Path) -> None:
    with Session() as session:
        shell, out, err = make_shell(session)
        shell.mode = "csv"
        from noctra.repl.app import run_lines

        assert run_lines(shell, io.StringIO("SELECT 1 AS a;\nexit\nSELECT 2 AS b;\n")) == 0
        assert out.getvalue() == "a\n1\n"
        assert "error" not in err.getvalue()


def test_a_locked_sqlite_file_is_one_error_line_and_the_repl_goes_on(repl_dir: Path) -> None:
    session = Session(state_path=repl_dir / "state" / "noctra" / "session.toml")
    session.use("people.db", "crm")  # attached before another program locks it
    writer = sqlite3.connect(repl_dir / "people.db", isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("UPDATE users SET name = name")
    try:
        run = drive(
            [
                ".mode csv",
                ENTER,
                "SELECT count(*) AS n FROM crm.users;",
                ENTER,
                "USE 't.csv' AS t;",
                ENTER,
                "SELECT 7 AS after;",
                ENTER,
            ],
            home=repl_dir,
            session=session,
            pause=0.6,
        )
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        session.close()
    assert "Traceback" not in run.err and "report it" not in run.err
    assert "locked" in run.err and "noctra: error:" in run.err
    assert "another program holds a lock on the database; retry when it is done" in run.err
    assert run.out.endswith("after\n7\n")


def test_unexpected_exception_keeps_the_repl(sample_files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Session() as session:
        shell, _, err = make_shell(session)

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("engine fell over")

        monkeypatch.setattr(session, "run_statement", broken)
        assert shell.handle("SELECT 1;") is True
        assert err.getvalue().splitlines()[0].endswith("noctra: error: RuntimeError: engine fell over\x1b[0m")
        assert "please report it" in err.getvalue()


def test_a_markdown_table_wider_than_the_screen_is_paged_when_wrapping_makes_it_tall(
    sample_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paged: list[str] = []

    def fake_pager(text: str) -> bool:
        paged.append(text)
        return True

    monkeypatch.setattr(shell_module, "_page", fake_pager)
    columns = ", ".join(f"{i} AS column_{i}" for i in range(40))
    with Session() as session:
        shell, out, _ = make_shell(session, size=(80, 24))
        shell.mode = "markdown"  # never narrowed to the screen (a table is: see below)
        shell.handle(f"SELECT {columns} FROM range(5);")  # 7 lines, each about 520 cells wide
        assert len(paged) == 1 and out.getvalue() == ""
        shell.handle("SELECT 1 AS narrow FROM range(5);")  # fits: printed, not paged
        assert len(paged) == 1 and "narrow" in out.getvalue()


def test_a_table_with_more_columns_than_fit_shows_the_ends_and_says_what_is_left_out(
    sample_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paged: list[str] = []
    monkeypatch.setattr(shell_module, "_page", lambda text: paged.append(text) or True)
    columns = ", ".join(f"{i} AS column_{i}" for i in range(40))
    with Session() as session:
        shell, out, err = make_shell(session, size=(80, 24))
        shell.handle(f"SELECT {columns} FROM range(5);")
        lines = out.getvalue().splitlines()
        box, note = lines[:-1], lines[-1]
        assert paged == [] and len(box) == 9  # fits the screen: nothing wraps, nothing to page
        assert all(len(line) <= 80 for line in box), box
        header = [cell.strip() for cell in box[1].strip("│").split("│")]
        assert header[:2] == ["column_0", "column_1"] and header[-1] == "column_39"
        hidden = header.index("…")
        first, last = header[hidden - 1], header[hidden + 1]
        count = int(last.split("_")[1]) - int(first.split("_")[1]) - 1
        assert count + len(header) - 1 == 40
        left_out = f"column_{int(first.split('_')[1]) + 1} … column_{int(last.split('_')[1]) - 1}"
        assert note == f"… {count} more columns ({left_out}): .mode line shows every column"
        assert "5 rows" in err.getvalue()
        shell.mode = "line"  # as the note says: every column, one per line (paged: 40 lines)
        shell.handle(f"SELECT {columns} FROM range(1);")
        assert len(paged) == 1 and "column_20 = 20\n" in paged[0]


def test_rows_cut_short_by_an_error_leave_the_message_on_its_own_line(sample_files: Path) -> None:
    with Session() as session:
        shell, out, err = make_shell(session)
        shell.mode = "csv"
        shell.handle(
            "SELECT CASE WHEN i < 300000 THEN i::VARCHAR ELSE error('boom') END AS v FROM range(400000) t(i);"
        )
        assert "boom" in err.getvalue()
        assert len(out.getvalue()) > 100_000  # rows had started to come out
        assert out.getvalue().endswith("\n")


def test_line_mode_shows_values_as_sql_shows_them(sample_files: Path) -> None:
    """`.mode line` reads rows as the table does: DuckDB's own text for the types Python
    would show otherwise (an interval's months, FLOAT digits, infinity)."""
    with Session() as session:
        shell, out, err = make_shell(session)
        shell.mode = "line"
        shell.handle(
            "SELECT interval 14 months AS i, 0.1::FLOAT AS f, date 'infinity' AS d, NULL::DATE AS z, 1 AS n;"
        )
        assert err.getvalue().count("error") == 0, err.getvalue()
        lines = [line.strip() for line in out.getvalue().splitlines() if " = " in line]
        if "NO_COLOR" not in os.environ:  # a real NULL is dimmed on a colour terminal, as in a table
            assert lines[3] == "z = \x1b[2mNULL\x1b[0m"
            lines[3] = "z = NULL"
        assert lines == ["i = 1 year 2 months", "f = 0.1", "d = infinity", "z = NULL", "n = 1"]
