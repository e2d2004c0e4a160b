"""Red team, round 4: batch scripts, the REPL on a terminal, sessions and workspaces.

Each test is a bug found with real files and real processes; a test marked xfail(strict=True)
is a bug not fixed yet (the mark comes off with the fix).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from tests.conftest import RunNoctra
from tests.repl.conftest import CTRL_D, Pty


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("noctra: error: ")]


def _state_file(env: dict[str, str]) -> Path:
    return Path(env["XDG_STATE_HOME"]) / "noctra" / "session.toml"


# --- error positions ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_error_column_on_the_first_line_points_at_the_bad_word(
    tmp_path: Path, run_noctra: RunNoctra, fmt: str
) -> None:
    (tmp_path / "s.rql").write_text("SELECT 1 AS a;\nSELECT nope;\n", encoding="utf-8")
    run = run_noctra("batch", "--format", fmt, "s.rql", cwd=tmp_path)
    assert run.returncode == 1
    # `nope` is at line 2, column 8 of the script (the Python API says column 8 too)
    assert _error_lines(run.stderr)[0].startswith("noctra: error: statement 2, line 2, column 8: "), (
        run.stderr
    )


def test_one_shot_error_column_points_at_the_bad_word(tmp_path: Path, run_noctra: RunNoctra) -> None:
    run = run_noctra("query", "SELECT 1 AS a; SELECT 2 AS b, nope", cwd=tmp_path)
    # statement 2 starts at column 16; `nope` is at column 31
    assert _error_lines(run.stderr)[0].startswith("noctra: error: statement 2, line 1, column 31: "), (
        run.stderr
    )


def test_error_column_on_a_later_line_of_a_statement_is_right(tmp_path: Path, run_noctra: RunNoctra) -> None:
    """Works: a position on the second line of a statement is not shifted."""
    (tmp_path / "s.rql").write_text("SELECT 1 AS a;\r\nSELECT 1,\r\n nope;\r\n", encoding="utf-8")
    run = run_noctra("batch", "s.rql", cwd=tmp_path)
    assert _error_lines(run.stderr)[0].startswith("noctra: error: statement 2, line 3, column 2: "), (
        run.stderr
    )


# --- batch scripts ------------------------------------------------------------------------


def test_script_splitting_respects_quotes_comments_and_dollar_quotes(
    tmp_path: Path, run_noctra: RunNoctra
) -> None:
    """Works: `;` inside every kind of quote and comment, BOM and CRLF."""
    script = (
        "\ufeff-- comment; with semi\r\n"
        'SELECT \'a;b\' AS x; /* block ; /* nested ; */ */ SELECT "x;y" FROM (SELECT 1 AS "x;y");\r\n'
        "SELECT $t$ q;$$ $t$ AS e; SELECT E'a\\'b;c' AS f; SELECT 1 AS g -- tail ; comment\r\n;"
    )
    (tmp_path / "s.rql").write_text(script, encoding="utf-8")
    run = run_noctra("batch", "--format", "csv", "s.rql", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "x\na;b\nx;y\n1\ne\n q;$$ \nf\na'b;c\ng\n1\n"


def test_a_script_ending_mid_string_runs_the_statements_before_it(
    tmp_path: Path, run_noctra: RunNoctra
) -> None:
    (tmp_path / "s.rql").write_text("LET kept = 1;\nSELECT 'abc;\n", encoding="utf-8")
    run = run_noctra("batch", "--continue-on-error", "--format", "csv", "s.rql", cwd=tmp_path)
    assert run.returncode == 1
    assert "statement 2, line 2, column 8: unterminated string" in run.stderr
    # statement 1 is complete: it runs, as sqlite3 and psql run what comes before the bad one
    assert "kept = 1" in run.stderr, run.stderr


def test_continue_on_error_keeps_variables_a_failed_let_does_not_change(
    tmp_path: Path, run_noctra: RunNoctra
) -> None:
    """Works: a failed LET leaves the old value; later statements see it."""
    (tmp_path / "s.rql").write_text(
        "LET a = 1;\nSELECT nope;\nLET b = #a + 1;\nLET a = (SELECT nope2);\nSELECT #a AS a, #b AS b;\n",
        encoding="utf-8",
    )
    run = run_noctra("batch", "--continue-on-error", "--format", "csv", "s.rql", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (1, "a,b\n1,2\n"), run.stderr
    assert len(_error_lines(run.stderr)) == 2


def test_a_script_of_many_lets_runs_in_linear_time(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    count = 1200
    (tmp_path / "lets.rql").write_text("".join(f"LET v{i} = {i};\n" for i in range(count)), encoding="utf-8")
    (tmp_path / "selects.rql").write_text(
        "".join(f"SELECT {i} AS v;\n" for i in range(count)), encoding="utf-8"
    )

    def timed(script: str) -> float:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "noctra", "batch", "--format", "csv", script],
            cwd=tmp_path,
            env=isolated_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-500:]
        return time.perf_counter() - start

    selects = timed("selects.rql")
    lets = timed("lets.rql")
    # A LET is one small query plus one atomic write: at most a few times a SELECT, never 6x.
    assert lets < 3 * selects + 2, (lets, selects)


def test_timeout_mid_script_export_exits_4_and_keeps_the_old_file(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    """Works: exit 4, the earlier file intact, no temp file, the session keeps the LET before."""
    (tmp_path / "out.parquet").write_text("old", encoding="utf-8")
    (tmp_path / "s.rql").write_text(
        "LET a = 1;\n"
        "EXPORT (SELECT i, md5(i::VARCHAR) AS h FROM range(300000000) t(i) ORDER BY h) TO 'out.parquet';\n"
        "LET b = 2;\n",
        encoding="utf-8",
    )
    run = run_noctra("batch", "--timeout", "2", "s.rql", cwd=tmp_path)
    assert run.returncode == 4, run.stderr
    assert (tmp_path / "out.parquet").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet", "s.rql"]
    saved = tomllib.loads(_state_file(isolated_env).read_text(encoding="utf-8"))
    assert [v["name"] for v in saved["variables"]] == ["a"]


# --- sessions edited by hand --------------------------------------------------------------


def _saved_session(tmp_path: Path, run_noctra: RunNoctra, env: dict[str, str]) -> Path:
    (tmp_path / "good.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    run = run_noctra("query", "USE 'good.csv' AS t; LET x = 5", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    return _state_file(env)


def test_a_hand_edited_variable_literal_is_one_warning_not_raw_sql(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    state = _saved_session(tmp_path, run_noctra, isolated_env)
    text = state.read_text(encoding="utf-8")
    assert 'literal = "5"' in text
    state.write_text(text.replace('literal = "5"', 'literal = "\'abc"'), encoding="utf-8")
    run = run_noctra("query", "--format", "csv", "SELECT #x AS x", cwd=tmp_path)
    assert "unterminated string" not in run.stderr, run.stderr
    assert "noctra: warning:" in run.stderr and "session" in run.stderr, run.stderr


def test_a_hand_edited_variable_literal_cannot_run_a_query(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    state = _saved_session(tmp_path, run_noctra, isolated_env)
    (tmp_path / "secret.txt").write_text("TOPSECRET", encoding="utf-8")
    text = state.read_text(encoding="utf-8")
    planted = "(SELECT content FROM read_text('secret.txt'))"
    state.write_text(text.replace('literal = "5"', f'literal = "{planted}"'), encoding="utf-8")
    run = run_noctra("query", "--format", "csv", "SELECT #x AS x", cwd=tmp_path)
    assert "TOPSECRET" not in run.stdout


@pytest.mark.parametrize(
    "planted",
    [
        "(SELECT content AS a, 0 AS b FROM read_text('secret.txt'))",
        "read_text('secret.txt')",
        "query('SELECT content AS a FROM read_text(''secret.txt'')')",
        "read_csv((SELECT 'secret.txt'))",
        "read_csv('secret.txt', columns = {'a': (SELECT 'VARCHAR')})",
    ],
)
def test_a_hand_edited_source_reader_is_not_run(
    planted: str, tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    """A saved reader other than one file reader on literal arguments is not run at restore:
    the source's own file is looked at again instead."""
    state = _saved_session(tmp_path, run_noctra, isolated_env)
    (tmp_path / "secret.txt").write_text("TOPSECRET", encoding="utf-8")
    lines = state.read_text(encoding="utf-8").splitlines()
    readers = [i for i, line in enumerate(lines) if line.startswith("reader = ")]
    assert len(readers) == 1, lines
    lines[readers[0]] = "reader = " + json.dumps(planted)
    state.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = run_noctra("query", "--format", "csv", "SELECT * FROM t", cwd=tmp_path)
    assert "TOPSECRET" not in run.stdout + run.stderr
    assert run.stdout == "a,b\n1,2\n", run.stderr


@pytest.mark.xfail(
    strict=True,
    reason="R4S-4, left as it is (for the lead to decide): 't; x' is an alias USE itself makes "
    '(USE \'f.csv\' AS "t; x") and saves, and the restored source is reached as "t; x"; refusing it '
    "would drop that source at every start. An alias USE cannot make (empty, NUL) is one warning: "
    "tests/test_state.py::test_an_alias_use_takes_quoted_is_restored_and_an_empty_one_is_left_out",
)
def test_a_hand_edited_alias_that_is_not_an_identifier_is_a_warning(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    state = _saved_session(tmp_path, run_noctra, isolated_env)
    text = state.read_text(encoding="utf-8")
    state.write_text(text.replace('alias = "t"', 'alias = "t; x"'), encoding="utf-8")
    run = run_noctra("query", "--format", "csv", "SHOW SOURCES", cwd=tmp_path)
    assert run.returncode == 0
    assert "noctra: warning:" in run.stderr, run.stderr


def test_a_session_file_with_a_bad_table_leaves_that_source_out_with_one_warning(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    """Works: a source entry of a bad shape is one warning naming it, never a crash (and the
    rest of the file is kept: USAGE, Sessions; r9)."""
    state = _saved_session(tmp_path, run_noctra, isolated_env)
    text = state.read_text(encoding="utf-8")
    state.write_text(text.replace("dialect = {", "dialect = 3 #{"), encoding="utf-8")
    run = run_noctra("query", "--format", "csv", "SELECT 1 AS one", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (0, "one\n1\n")
    warnings = [line for line in run.stderr.splitlines() if line.startswith("noctra: warning:")]
    assert len(warnings) == 1 and "source 't' left out: options and dialect must be tables" in warnings[0]
    assert "Traceback" not in run.stderr


def test_kill_9_mid_script_leaves_a_readable_session(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    """Works: the session file is replaced atomically; a killed writer's temp is cleaned up."""
    (tmp_path / "lets.rql").write_text("".join(f"LET v{i} = {i};\n" for i in range(400)), encoding="utf-8")
    state = _state_file(isolated_env)
    for extra in (0.0, 0.2, 0.5):
        proc = subprocess.Popen(
            [sys.executable, "-m", "noctra", "batch", "lets.rql"],
            cwd=tmp_path,
            env=isolated_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not state.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)  # the script is writing the session: kill it in the middle
        time.sleep(extra)
        proc.kill()
        proc.wait()
        assert state.exists()
        tomllib.loads(state.read_text(encoding="utf-8"))
    # A kill between a temp's write and its rename may leave that temp: the next run that
    # saves the session deletes those of dead processes.
    subprocess.run(
        [sys.executable, "-m", "noctra", "query", "LET after = 1"],
        cwd=tmp_path,
        env=isolated_env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    leftovers = [p.name for p in state.parent.iterdir() if p.name.startswith(".session-")]
    assert leftovers == []


def test_two_processes_changing_the_session_at_once_keep_both(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    """Works: concurrent LETs from two processes are merged."""
    for name in ("a", "b"):
        (tmp_path / f"{name}.rql").write_text(
            "".join(f"LET {name}{i} = {i};\n" for i in range(60)), encoding="utf-8"
        )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "noctra", "batch", f"{name}.rql"],
            cwd=tmp_path,
            env=isolated_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("a", "b")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    saved = tomllib.loads(_state_file(isolated_env).read_text(encoding="utf-8"))
    assert len(saved["variables"]) == 120


# --- the REPL and table output on a terminal -----------------------------------------------


def test_a_table_with_many_columns_fits_the_terminal(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    columns = ", ".join(f"repeat('x', {i}) AS col{i}" for i in range(1, 30))
    repl = Pty(["repl", "--fresh"], cwd=tmp_path, env=isolated_env)
    try:
        repl.expect(r"noctra>")
        repl.send(f"SELECT {columns} FROM range(2);\r")
        drawn = repl.expect(r"2 rows")
        repl.expect(r"noctra>")
        repl.send(CTRL_D)
        assert repl.close() == 0
    finally:
        repl.proc.kill()
    box = [line for line in drawn.splitlines() if line.startswith(("┌", "│", "└"))]
    assert box, drawn
    assert max(len(line) for line in box) <= 120, max(len(line) for line in box)


def test_repl_error_is_one_line_and_the_repl_goes_on_after_ctrl_c(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    """Works: an error, a half-typed statement dropped by Ctrl-C, then a statement runs."""
    repl = Pty(["repl", "--fresh"], cwd=tmp_path, env=isolated_env)
    try:
        repl.expect(r"noctra>")
        repl.send("SELECT 1 AS a, nope;\r")
        repl.expect(r"noctra: error: ")
        rest = repl.expect(r"noctra>")
        assert "noctra: error:" not in rest and "Traceback" not in rest, rest
        repl.send("SELECT 1,\r  2")
        repl.send("\x03")
        repl.expect(r"noctra>")
        repl.send("SELECT '日本語' AS jp, 42 AS answer;\r")
        assert "42" in repl.expect(r"1 row")
        repl.expect(r"noctra>")
        repl.send(CTRL_D)
        assert repl.close() == 0
    finally:
        repl.proc.kill()
