"""Red team, round 9: sessions, config, the REPL and the TUI attacked with odd inputs.

Each test states what a user would expect; the ones marked xfail fail today (found by hand
in a shell or in tmux, then reproduced here with the real parts: `python -m noctra`
subprocesses, real SQLite/DuckDB files, a pty, Textual's Pilot).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import duckdb

from noctra.session import Session
from noctra.tui.app import NoctraApp
from noctra.tui.screens import ExportScreen
from tests.repl.conftest import CTRL_D, Pty


def _noctra(
    *args: str, cwd: Path, env: dict[str, str], input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "noctra", *args],
        cwd=cwd,
        env=env,
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def _users(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute("SELECT count(*) FROM users").fetchone()
    conn.close()
    return int(n)


# --- TUI: the export dialog ---------------------------------------------------------------


async def _export_from_dialog(tmp_path: Path, target: Path, *, confirm: bool = False) -> NoctraApp:
    """Ctrl+S on `SELECT 1 AS a`, type target as the path, Enter (twice with ``confirm``:
    the dialog asks before replacing a file); the app after the run."""
    with Session(restore=False, state_path=tmp_path / "s.toml") as session:
        app = NoctraApp(session, history_file=tmp_path / "history")
        async with app.run_test(size=(120, 40)) as pilot:
            app.editor.text = "SELECT 1 AS a"
            app.editor.move_cursor(app.editor.document.end)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, ExportScreen)
            await pilot.press("ctrl+a", "ctrl+k", *str(target), "enter")
            await pilot.pause()
            if confirm:
                assert isinstance(app.screen, ExportScreen)  # asked, not written
                assert "exists" in str(app.screen.query_one("#export-note").render())
                await pilot.press("enter")
                await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
    return app


async def test_tui_export_dialog_writes_csv_to_a_path_ending_in_csv(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    await _export_from_dialog(tmp_path, target)
    assert target.exists()
    assert target.read_bytes()[:4] != b"PAR1", "a file named .csv holds Parquet"
    assert target.read_text(encoding="utf-8").splitlines() == ["a", "1"]


async def test_tui_export_dialog_does_not_silently_replace_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "precious.csv"
    target.write_text("my,data\n1,2\n", encoding="utf-8")
    await _export_from_dialog(tmp_path, target)
    assert target.read_bytes() == b"my,data\n1,2\n"


# --- TUI: a short terminal ------------------------------------------------------------------


async def test_tui_in_a_short_terminal_still_shows_result_rows(tmp_path: Path) -> None:
    with Session(restore=False, state_path=tmp_path / "s.toml") as session:
        app = NoctraApp(session, history_file=tmp_path / "history")
        async with app.run_test(size=(80, 12)) as pilot:
            app.editor.text = "SELECT * FROM range(3)"
            app.editor.move_cursor(app.editor.document.end)
            await pilot.press("f5")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.grid.row_count == 3
            assert app.grid.size.height > 2, "the grid has room for its 2 header lines only"


# --- --read-only ----------------------------------------------------------------------------


def test_read_only_never_writes_a_database_given_as_a_file(
    isolated_env: dict[str, str], sample_files: Path
) -> None:
    before = _users(sample_files / "people.db")
    run = _noctra(
        "--read-only", "query", "DELETE FROM people.users", "people.db", cwd=sample_files, env=isolated_env
    )
    assert _users(sample_files / "people.db") == before, run.stderr
    assert run.returncode != 0


# --- REPL: the history file -----------------------------------------------------------------


def test_repl_runs_statements_when_its_history_file_cannot_be_read(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    (Path(isolated_env["XDG_STATE_HOME"]) / "noctra" / "history").mkdir(parents=True)
    repl = Pty(["repl"], cwd=tmp_path, env=isolated_env)
    try:
        screen = repl.expect(r"noctra>")
        repl.send("SELECT 41 + 1 AS answer;\r")
        screen += repl.expect(r"1 row", timeout=8)
        repl.expect(r"noctra>")
        repl.send(CTRL_D)
        assert repl.close() == 0
    finally:
        repl.proc.kill()
    assert "Traceback" not in screen
    assert "42" in screen


# --- config: values out of range -------------------------------------------------------------


def test_a_huge_remote_multiplier_is_a_config_error_not_a_traceback(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**isolated_env, "NOCTRA_IO_TYPE": "remote", "NOCTRA_REMOTE_MULTIPLIER": "1e308"}
    run = _noctra("query", "SELECT 1 AS a", cwd=tmp_path, env=env)
    assert "Traceback" not in run.stderr
    assert run.returncode == 2 and "NOCTRA_REMOTE_MULTIPLIER" in run.stderr, run.stderr


def test_base_threads_too_large_is_refused_naming_the_key(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[duckdb.performance]\nbase_threads = 99999999999999999999\n", encoding="utf-8")
    run = _noctra("--config", str(config), "query", "SELECT 1 AS a", cwd=tmp_path, env=isolated_env)
    assert run.returncode == 2
    assert "base_threads" in run.stderr, run.stderr


def test_a_zero_memory_limit_is_refused_naming_the_key(isolated_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[duckdb.performance]\nmemory_limit = "0GB"\n', encoding="utf-8")
    run = _noctra("--config", str(config), "query", "SELECT 1 AS a", cwd=tmp_path, env=isolated_env)
    assert run.returncode == 2
    assert "memory_limit" in run.stderr, run.stderr


# --- config: show, path, init, a BOM ---------------------------------------------------------


def test_config_show_is_valid_toml_with_a_quoted_tuning_key(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[duckdb.tuning]\n"odd key" = 1\n', encoding="utf-8")
    run = _noctra("--config", str(config), "config", "show", cwd=tmp_path, env=isolated_env)
    assert run.returncode == 0, run.stderr
    shown = tomllib.loads(run.stdout)
    assert shown["duckdb"]["tuning"] == {"odd key": 1}


def test_config_show_reads_back_as_the_settings_in_force(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[duckdb.performance]\nbase_threads = 3\n[s3]\nsecret_access_key = "x\\"y"\n', encoding="utf-8"
    )
    env = {**isolated_env, "NOCTRA_MEMORY_LIMIT": "1GB"}
    run = _noctra("--config", str(config), "config", "show", cwd=tmp_path, env=env)
    shown = tomllib.loads(run.stdout)
    assert shown["duckdb"]["performance"]["base_threads"] == 3
    assert shown["duckdb"]["performance"]["memory_limit"] == "1GB"
    assert shown["s3"]["secret_access_key"] == "****"


def test_a_config_file_with_a_bom_is_read_or_the_error_names_the_bom(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_bytes(b"\xef\xbb\xbf[duckdb.performance]\r\nbase_threads = 3\r\n")
    run = _noctra(
        "--config",
        str(config),
        "--format",
        "csv",
        "query",
        "SELECT current_setting('threads') AS t",
        cwd=tmp_path,
        env=isolated_env,
    )
    assert (run.returncode, run.stdout) == (0, "t\n3\n") or "BOM" in run.stderr, run.stderr


def test_config_path_does_not_call_a_directory_missing(isolated_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    run = _noctra("--config", "conf", "config", "path", cwd=tmp_path, env=isolated_env)
    assert "does not exist" not in run.stdout + run.stderr


def test_config_init_never_replaces_an_existing_file(isolated_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "mine.toml"
    config.write_text("[duckdb.performance]\nbase_threads = 3\n", encoding="utf-8")
    run = _noctra("--config", str(config), "config", "init", cwd=tmp_path, env=isolated_env)
    assert run.returncode == 2 and "--force" in run.stderr
    assert config.read_text(encoding="utf-8") == "[duckdb.performance]\nbase_threads = 3\n"


def test_config_init_force_writes_through_a_symlinked_config(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "dotfiles").mkdir()
    target = tmp_path / "dotfiles" / "noctra.toml"
    target.write_text("[session]\nrestore = true\n", encoding="utf-8")
    link = tmp_path / "config.toml"
    link.symlink_to(target)
    run = _noctra("--config", str(link), "config", "init", "--force", cwd=tmp_path, env=isolated_env)
    assert run.returncode == 0, run.stderr
    assert link.is_symlink(), "the user's symlink (a dotfiles repo) was replaced by a file"


# --- sessions -----------------------------------------------------------------------------


def test_a_source_with_a_hand_edited_kind_is_left_out_and_the_rest_restored(
    isolated_env: dict[str, str], sample_files: Path
) -> None:
    first = _noctra(
        "query", "USE 't.csv'; USE 'p.parquet' AS p; LET n = 5", cwd=sample_files, env=isolated_env
    )
    assert first.returncode == 0, first.stderr
    state = Path(isolated_env["XDG_STATE_HOME"]) / "noctra" / "session.toml"
    state.write_text(
        state.read_text(encoding="utf-8").replace('kind = "CSV"', 'kind = "csv"'), encoding="utf-8"
    )
    run = _noctra(
        "--format",
        "csv",
        "query",
        "SELECT count(*) AS n FROM p; SELECT #n AS v",
        cwd=sample_files,
        env=isolated_env,
    )
    assert run.stdout == "n\n3\nv\n5\n", run.stderr
    assert "'t'" in run.stderr and "missing key" not in run.stderr


def test_an_unwritable_state_directory_warns_once_per_run(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    blocker = tmp_path / "state-file"
    blocker.write_text("", encoding="utf-8")
    env = {**isolated_env, "XDG_STATE_HOME": str(blocker)}
    script = "".join(f"LET v{i} = {i};\n" for i in range(5))
    run = _noctra("batch", "-", cwd=tmp_path, env=env, input=script)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("could not save the session") == 1, run.stderr


# --- --db workspaces ------------------------------------------------------------------------


def test_db_workspace_of_the_wrong_kind_gets_a_hint_about_db(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    workspace = tmp_path / "work.db"
    duckdb.connect(str(workspace)).close()  # a DuckDB database named like a SQLite one
    run = _noctra("--db", str(workspace), "query", "SELECT 1", cwd=tmp_path, env=isolated_env)
    assert run.returncode != 0
    assert "OPTIONS" not in run.stderr, run.stderr  # --db takes no OPTIONS: name it .duckdb instead


def test_sqlite_workspace_takes_sqlite_ddl(isolated_env: dict[str, str], tmp_path: Path) -> None:
    run = _noctra(
        "--db",
        "work.db",
        "--format",
        "csv",
        "query",
        "CREATE TABLE t(a); INSERT INTO t VALUES (1); SELECT count(*) AS n FROM t",
        cwd=tmp_path,
        env=isolated_env,
    )
    assert (run.returncode, run.stdout) == (0, "n\n1\n"), run.stderr


def test_concurrent_batches_keep_every_variable(isolated_env: dict[str, str], tmp_path: Path) -> None:
    scripts = []
    for p in "abc":
        script = tmp_path / f"{p}.rql"
        script.write_text("".join(f"LET {p}_{i} = {i};\n" for i in range(25)), encoding="utf-8")
        scripts.append(script)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "noctra", "batch", str(s)],
            cwd=tmp_path,
            env=isolated_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        for s in scripts
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    run = _noctra("--format", "csv", "query", "SHOW VARIABLES", cwd=tmp_path, env=isolated_env)
    assert len(run.stdout.splitlines()) == 1 + 75, run.stderr


def test_a_csv_source_whose_file_became_parquet_is_an_error_not_a_crash(
    isolated_env: dict[str, str], sample_files: Path
) -> None:
    (sample_files / "data.csv").write_text("a\n1\n", encoding="utf-8")
    assert _noctra("query", "USE 'data.csv' AS x", cwd=sample_files, env=isolated_env).returncode == 0
    os.replace(sample_files / "p.parquet", sample_files / "data.csv")
    run = _noctra("query", "SELECT * FROM x", cwd=sample_files, env=isolated_env)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "Parquet" in run.stderr


async def test_tui_export_dialog_knows_every_extension_export_knows(tmp_path: Path) -> None:
    """The dialog asks the session which format a path's extension gives (EXPORT's own rule):
    a .txt path is CSV, as EXPORT TO 'x.txt' writes it, not the buttons' Parquet."""
    target = tmp_path / "out.txt"
    await _export_from_dialog(tmp_path, target)
    assert target.read_text(encoding="utf-8").splitlines() == ["a", "1"]


async def test_tui_export_dialog_replaces_an_existing_file_on_a_second_enter(tmp_path: Path) -> None:
    target = tmp_path / "old.csv"
    target.write_text("my,data\n1,2\n", encoding="utf-8")
    await _export_from_dialog(tmp_path, target, confirm=True)
    assert target.read_text(encoding="utf-8").splitlines() == ["a", "1"]
