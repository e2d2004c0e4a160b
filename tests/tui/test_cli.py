"""How the command line reaches the TUI: `noctra`, `noctra FILE ...`, `noctra tui FILE ...`."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from noctra import cli, tui


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["sales.csv"], ["tui", "sales.csv"]),
        (["--fresh", "a.csv", "b.db"], ["--fresh", "tui", "a.csv", "b.db"]),
        (["--db", "w.duckdb", "a.csv"], ["--db", "w.duckdb", "tui", "a.csv"]),
        (["repl", "a.csv"], ["repl", "a.csv"]),
        (["tui", "a.csv"], ["tui", "a.csv"]),
        (["-c", "select 1", "a.csv"], ["-c", "select 1", "a.csv"]),
        (["--help"], ["--help"]),
        (["--fresh"], ["--fresh"]),
    ],
)
def test_a_first_word_that_is_no_subcommand_opens_the_tui(argv: list[str], expected: list[str]) -> None:
    assert cli._with_implicit_tui(argv) == expected


@pytest.mark.parametrize("argv", [["sales.csv", "x.db"], ["tui", "sales.csv", "x.db"]])
def test_files_reach_the_tui(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[argparse.Namespace] = []
    monkeypatch.setattr(tui, "run_tui", lambda args: seen.append(args) or 0)
    assert cli.main(argv) == 0
    assert seen[0].files == ["sales.csv", "x.db"]


def test_piped_stdin_still_runs_the_script(isolated_env: dict[str, str], tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "noctra", "--format", "csv"],
        input="SELECT 1 AS x;",
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=isolated_env,
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, "x\n1\n")


def test_the_history_file_is_the_repls() -> None:
    from noctra.repl.app import history_path as repl_history
    from noctra.tui.history import history_path

    assert history_path() == repl_history()


def test_tui_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["tui", "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: noctra tui [-h]")


@pytest.mark.parametrize(
    ("argv", "guess"),
    [
        (["qeury", "SELECT 1"], "did you mean 'query'?"),
        (["--fresh", "bacth", "s.sql"], "did you mean 'batch'?"),
        (["run", "s.sql"], "commands: query, batch"),
        (["sales"], "commands: query, batch"),
        (["--form", "csv", "qeury", "x"], "did you mean 'query'?"),  # an abbreviated option first
    ],
)
def test_a_mistyped_command_is_a_usage_error_not_the_app(
    argv: list[str],
    guess: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Before, `noctra qeury "SELECT 1"` opened the full-screen app (or hung when piped).
    monkeypatch.chdir(tmp_path)
    opened: list[argparse.Namespace] = []
    monkeypatch.setattr(tui, "run_tui", lambda args: opened.append(args) or 0)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    word = next(a for a in argv if not a.startswith("-") and a != "csv")
    assert err.splitlines()[0] == f"noctra: error: '{word}' is neither a command nor a file here"
    assert guess in err
    assert opened == []


def test_a_bare_word_that_exists_is_a_file_for_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sales").write_text("a\n1\n", encoding="utf-8")
    assert cli._with_implicit_tui(["sales"]) == ["tui", "sales"]


@pytest.mark.parametrize("argv", [["tui", "t.csv"], ["t.csv"]], ids=["tui", "implicit"])
def test_the_app_without_a_terminal_is_one_error_not_a_hang(
    argv: list[str], isolated_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "t.csv").write_text("a\n1\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "noctra", *argv],
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=isolated_env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == (
        "noctra: error: the full-screen app needs a terminal (standard input and standard error are not one)"
    )
    assert "noctra query" in proc.stderr
    assert proc.stdout == ""
