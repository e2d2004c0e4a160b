"""`noctra repl` as a process on a terminal: Ctrl-C on a long query, start-up imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.repl.conftest import CTRL_C, CTRL_D, Pty

LONG_QUERY = "SELECT count(*) FROM range(10000000000) t(i) WHERE i % 7 = 3;"


def test_ctrl_c_cancels_a_long_query_and_the_next_statement_works(
    isolated_env: dict[str, str], sample_files: Path
) -> None:
    repl = Pty(["repl", "t.csv"], cwd=sample_files, env=isolated_env)
    try:
        repl.expect(r"noctra \[t\]>")
        repl.send("LET n = 40;\r")
        repl.expect(r"n = 40")
        repl.send(LONG_QUERY + "\r")
        repl.expect(r"Ctrl-C cancels")  # the progress bar, past half a second
        repl.send(CTRL_C)
        repl.expect(r"query cancelled \(the session is intact\)")
        repl.expect(r"noctra \[t\]>")
        repl.send("SELECT #n + count(*) - 1 AS answer FROM t;\r")
        assert "42" in repl.expect(r"1 row")
        repl.expect(r"noctra \[t\]>")  # Ctrl-D typed ahead would be the line discipline's EOF
        repl.send(CTRL_D)
        assert repl.close() == 0
    finally:
        repl.proc.kill()


def test_query_does_not_load_the_repl_libraries(isolated_env: dict[str, str], tmp_path: Path) -> None:
    code = (
        "import sys; from noctra.cli import main; main(['-c', 'select 1']); "
        "print(sorted(m for m in ('prompt_toolkit', 'pygments') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=isolated_env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]"


def test_repl_without_a_terminal_reads_stdin(isolated_env: dict[str, str], sample_files: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "noctra", "repl", "--format", "csv", "t.csv"],
        cwd=sample_files,
        input="SELECT count(*)\n AS n FROM t;\n.mode json\nSELECT :x AS x;\n5\n",
        capture_output=True,
        text=True,
        env=isolated_env,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, 'n\n3\n[{"x":5}]\n')
    assert "t: CSV, 3 columns" in proc.stderr


def test_repl_opens_the_files_after_a_missing_one(isolated_env: dict[str, str], sample_files: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "noctra", "repl", "--format", "csv", "nope.csv", "t.csv"],
        cwd=sample_files,
        input="SELECT count(*) AS n FROM t;\n",
        capture_output=True,
        text=True,
        env=isolated_env,
        check=False,
    )
    assert proc.stdout == "n\n3\n", proc.stderr
    assert "nope.csv" in proc.stderr and "t: CSV, 3 columns" in proc.stderr
