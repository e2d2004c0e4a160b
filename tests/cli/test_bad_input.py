"""Bad input: one `noctra: error:` line (plus an optional hint), the right exit code, no traceback."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_CSV, CliRun, RunMain, RunNoctra

SPEC_CSV_OPTIONS = (
    "delimiter",
    "header",
    "quote",
    "escape",
    "skip",
    "encoding",
    "nullstr",
    "dateformat",
    "types",
    "all_varchar",
    "ignore_errors",
)


def assert_one_error(code: int, out: str, err: str, *, exit_code: int = 1) -> str:
    """The error contract for a run whose only stderr output is the error; returns the error text."""
    assert "Traceback" not in out + err
    assert code == exit_code, err
    lines = err.splitlines()
    assert 1 <= len(lines) <= 2, err
    assert lines[0].startswith("noctra: error: "), err
    if len(lines) == 2:
        assert lines[1].startswith("hint: "), err
    return err


def error_line(err: str) -> str:
    """The one `noctra: error:` line of a stderr that may also hold messages of earlier statements."""
    errors = [line for line in err.splitlines() if line.startswith("noctra: error: ")]
    assert len(errors) == 1, err
    return errors[0]


def astuple(run: CliRun) -> tuple[int, str, str]:
    return run.code, run.out, run.err


def write_csv(name: str, text: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        (root / name).write_text(text, encoding="utf-8")

    return setup


def make_dir(name: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        (root / name).mkdir()

    return setup


def nothing(root: Path) -> None:
    """No files needed."""


@dataclass(frozen=True)
class BadInput:
    """One statement that must fail, what the message must name, and what it must not suggest."""

    script: str
    names: tuple[str, ...]
    setup: Callable[[Path], None] = nothing
    not_in_message: tuple[str, ...] = field(default=())


RAGGED_CSV = "a,b,c\n1,2,3\n4,5\n6,7,8\n"

BAD_INPUTS: dict[str, BadInput] = {
    "missing file in USE": BadInput("USE 'nope.csv'", ("nope.csv",)),
    "missing file in FROM": BadInput("SELECT * FROM 'nope.csv'", ("nope.csv",)),
    # DuckDB's own "Did you mean pg_sequences?" is no help to someone who mistyped an alias.
    "DESCRIBE unknown name": BadInput("DESCRIBE nosuch", ("nosuch",), not_in_message=("pg_", "duckdb_")),
    "SHOW TABLES FROM unknown alias": BadInput("SHOW TABLES FROM nosuch", ("nosuch",)),
    "USE unknown alias": BadInput("USE nosuch", ("nosuch",)),
    "DETACH unknown alias": BadInput("DETACH nosuch", ("nosuch",)),
    "UNUSE unknown alias": BadInput("UNUSE nosuch", ("nosuch",)),
    "unknown CSV option": BadInput(
        "USE 't.csv' OPTIONS (delimitr = ';')",
        ("delimitr", *SPEC_CSV_OPTIONS),
        write_csv("t.csv", SAMPLE_CSV),
    ),
    # DuckDB reads each line as one column then; EXPORT refuses an empty delimiter too.
    "empty CSV delimiter in USE": BadInput(
        "USE 't.csv' OPTIONS (delimiter = '')", ("'delimiter'", "empty"), write_csv("t.csv", SAMPLE_CSV)
    ),
    "bad boolean option value": BadInput(
        "USE 't.csv' OPTIONS (header = 'maybe')", ("header", "maybe"), write_csv("t.csv", SAMPLE_CSV)
    ),
    "SQLite file that is not a database": BadInput(
        "USE 'x.db'", ("x.db",), write_csv("x.db", "this is plain text, not SQLite\n")
    ),
    "path::table on a file that is not a database": BadInput(
        "SELECT * FROM x.db::users", ("x.db",), write_csv("x.db", "this is plain text, not SQLite\n")
    ),
    "empty CSV in USE": BadInput("USE 'empty.csv'", ("empty.csv",), write_csv("empty.csv", "")),
    "empty CSV in FROM": BadInput("SELECT * FROM 'empty.csv'", ("empty.csv",), write_csv("empty.csv", "")),
    "directory named like a file in USE": BadInput("USE 'd.csv'", ("d.csv", "director"), make_dir("d.csv")),
    "directory named like a file in FROM": BadInput("SELECT * FROM 'd.csv'", ("d.csv",), make_dir("d.csv")),
    "CSV text in a .parquet file, USE": BadInput(
        "USE 'x.parquet'", ("x.parquet", "format"), write_csv("x.parquet", SAMPLE_CSV)
    ),
    "CSV text in a .parquet file, FROM": BadInput(
        "SELECT * FROM 'x.parquet'", ("x.parquet",), write_csv("x.parquet", SAMPLE_CSV)
    ),
    "unknown extension": BadInput("USE 'x.foo'", ("x.foo", "format"), write_csv("x.foo", SAMPLE_CSV)),
    "ragged CSV rows": BadInput("USE 'ragged.csv'", ("ragged.csv",), write_csv("ragged.csv", RAGGED_CSV)),
    "path with a quote left unescaped": BadInput(
        "USE 'it's here.csv'", ("statement 1",), write_csv("it's here.csv", SAMPLE_CSV)
    ),
    "unterminated string": BadInput("SELECT 'abc", ("statement 1", "string")),
    "SQL syntax error": BadInput("SELEC 1", ("statement 1", "SELEC")),
}


@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_gives_one_error_line(run_main: RunMain, tmp_path: Path, case: BadInput) -> None:
    case.setup(tmp_path)
    run = run_main("-c", case.script)
    err = assert_one_error(run.code, run.out, run.err)
    for name in case.names:
        assert name in err
    for wrong in case.not_in_message:
        assert wrong not in err
    assert run.out == ""


@pytest.mark.parametrize(
    "script",
    ["USE 'nope.csv'", "SELEC 1", "USE 'x.db'", "DESCRIBE nosuch", "SELECT 'abc"],
)
def test_bad_input_in_a_real_process_has_no_traceback(
    run_noctra: RunNoctra, tmp_path: Path, script: str
) -> None:
    (tmp_path / "x.db").write_text("not a database\n")
    proc = run_noctra("-c", script, cwd=tmp_path)
    assert_one_error(proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""


def test_syntax_error_names_statement_line_and_column(run_main: RunMain) -> None:
    err = assert_one_error(*astuple(run_main("-c", "SELEC 1")))
    assert re.search(r"statement 1, line 1, column \d+", err), err


def test_syntax_error_in_second_statement_names_it(run_main: RunMain) -> None:
    run = run_main("--format", "csv", "-c", "SELECT 1 AS x; SELEC 2")
    err = assert_one_error(run.code, "", run.err)
    assert re.search(r"statement 2, line 1, column \d+", err), err
    assert run.out == "x\n1\n"


def test_syntax_error_on_a_later_line_points_at_it(run_main: RunMain) -> None:
    run = run_main("--format", "csv", "-c", "SELECT 1 AS x;\nSELECT *\n    FRM t")
    err = assert_one_error(run.code, "", run.err)
    assert "statement 2, line 3, column" in err


def test_unterminated_string_in_second_statement_names_it(run_main: RunMain) -> None:
    """Statement 1 is whole: it runs (as in sqlite3 and psql); statement 2 is the error."""
    run = run_main("--format", "csv", "-c", "SELECT 1 AS x;\nSELECT 'abc")
    err = assert_one_error(run.code, run.out, run.err)
    assert run.out == "x\n1\n"
    assert err.startswith("noctra: error: statement 2, line 2, column 8: unterminated string\n")


@pytest.mark.parametrize(
    "script",
    ["SELECT 1 AS x; SELECT * FROM nosuch_table", "SELECT 1 AS x; SELECT * FROM 'nope.csv'"],
    ids=["unknown table", "missing file"],
)
def test_engine_error_names_the_statement(run_main: RunMain, script: str) -> None:
    run = run_main("--format", "csv", "-c", script)
    err = assert_one_error(run.code, "", run.err)
    assert "statement 2" in err


def test_path_with_quote_and_spaces_works_when_quoted(run_main: RunMain, tmp_path: Path) -> None:
    (tmp_path / "it's here.csv").write_text(SAMPLE_CSV)
    run = run_main(
        "--format",
        "csv",
        "-c",
        "USE 'it''s here.csv' AS here; SELECT count(*) AS n FROM here; "
        "SELECT count(*) AS m FROM 'it''s here.csv'",
    )
    assert (run.code, run.out) == (0, "n\n3\nm\n3\n")
    assert "noctra: error" not in run.err


def test_unknown_extension_read_with_format_option(run_main: RunMain, tmp_path: Path) -> None:
    (tmp_path / "x.foo").write_text(SAMPLE_CSV)
    run = run_main(
        "--format", "csv", "-c", "USE 'x.foo' AS x OPTIONS (format = 'csv'); SELECT sum(amount) AS s FROM x"
    )
    assert (run.code, run.out) == (0, "s\n30.5\n")


def test_lying_extension_read_with_format_option(run_main: RunMain, tmp_path: Path) -> None:
    (tmp_path / "x.parquet").write_text(SAMPLE_CSV)
    run = run_main(
        "--format", "csv", "-c", "USE 'x.parquet' AS x OPTIONS (format = 'csv'); SELECT count(*) AS n FROM x"
    )
    assert (run.code, run.out) == (0, "n\n3\n")


def test_ragged_csv_rows_skipped_with_ignore_errors(run_main: RunMain, tmp_path: Path) -> None:
    (tmp_path / "ragged.csv").write_text(RAGGED_CSV)
    run = run_main(
        "--format",
        "csv",
        "-c",
        "USE 'ragged.csv' AS r OPTIONS (ignore_errors = true); SELECT a, b, c FROM r ORDER BY a",
    )
    assert (run.code, run.out) == (0, "a,b,c\n1,2,3\n6,7,8\n")


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("--format", "xml", "-c", "SELECT 1"), ("xml",)),
        (("--max-rows", "-1", "-c", "SELECT 1"), ("--max-rows",)),
        (("query", "SELECT 1", "--format", "xml"), ("xml",)),
        (("batch", "missing.rql"), ("missing.rql",)),
        (("--timeout", "0", "-c", "SELECT 1"), ("--timeout",)),
        (("--param", "novalue", "-c", "SELECT 1"), ("novalue",)),
    ],
    ids=[
        "bad format",
        "negative max-rows",
        "bad format after subcommand",
        "missing script",
        "zero timeout",
        "param without =",
    ],
)
def test_bad_usage_exits_2(
    run_noctra: RunNoctra, tmp_path: Path, args: tuple[str, ...], names: tuple[str, ...]
) -> None:
    proc = run_noctra(*args, cwd=tmp_path)
    err = assert_one_error(proc.returncode, proc.stdout, proc.stderr, exit_code=2)
    for name in names:
        assert name in err
    assert proc.stdout == ""


def test_batch_stops_at_first_error_and_keeps_earlier_output(run_main: RunMain, tmp_path: Path) -> None:
    script = tmp_path / "s.rql"
    script.write_text("SELECT 1 AS a;\nSELECT * FROM 'nope.csv';\nSELECT 3 AS c;\n")
    run = run_main("--format", "csv", "batch", str(script))
    assert run.code == 1
    assert run.out == "a\n1\n"
    assert "nope.csv" in error_line(run.err)


def test_continue_on_error_runs_later_statements_and_exits_1(run_main: RunMain, tmp_path: Path) -> None:
    script = tmp_path / "s.rql"
    script.write_text("SELECT 1 AS a;\nSELECT * FROM 'nope.csv';\nSELEC 2;\nSELECT 3 AS c;\n")
    run = run_main("--format", "csv", "--continue-on-error", "batch", str(script))
    assert run.code == 1
    assert run.out == "a\n1\nc\n3\n"
    errors = [line for line in run.err.splitlines() if line.startswith("noctra: error: ")]
    assert len(errors) == 2
    assert "statement 2" in errors[0]
    assert "nope.csv" in errors[0]
    assert "statement 3" in errors[1]
    assert "Traceback" not in run.err


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "tsv", "json", "jsonl"])
@pytest.mark.parametrize("bad", ["SELECT nope", "SELECT * FROM 'nope.csv'", "SELECT 1/0::INT + 'x'"])
def test_continue_on_error_reports_each_failed_statement_once_in_every_format(
    run_main: RunMain, fmt: str, bad: str
) -> None:
    # The table formats cast a result to text before showing it: a statement that failed
    # there was run (and reported) a second time before the next statement.
    run = run_main(
        "--format", fmt, "--continue-on-error", "--stats", "query", f"SELECT 1 AS a; {bad}; SELECT 3 AS c"
    )
    assert run.code == 1
    errors = [line for line in run.err.splitlines() if line.startswith("noctra: error: ")]
    assert len(errors) == 1, run.err
    assert "statement 2" in errors[0]
    stats = json.loads(run.err.strip().splitlines()[-1])
    assert (stats["statements"], stats["errors"]) == (2, 1)


@pytest.mark.parametrize(
    "replacement",
    [
        "USE 'missing.csv' AS a",
        "USE 'x.db' AS a",
        "USE 'x.parquet' AS a",
        "USE 't.csv' AS a OPTIONS (delimitr = ';')",
    ],
    ids=["missing file", "not a database", "lying extension", "bad option"],
)
def test_failed_use_keeps_the_alias_it_tried_to_replace(
    run_main: RunMain, sample_files: Path, replacement: str
) -> None:
    (sample_files / "x.db").write_text("plain text\n")
    (sample_files / "x.parquet").write_text(SAMPLE_CSV)
    run = run_main(
        "--format",
        "csv",
        "--continue-on-error",
        "-c",
        f"USE 't.csv' AS a; {replacement}; SELECT count(*) AS n FROM a; SELECT name FROM a WHERE id = 1",
    )
    assert run.code == 1
    assert run.out == 'n\n3\nname\n"Smith, J"\n'
    assert "statement 2" in error_line(run.err)


def test_failed_use_keeps_an_attached_database(run_main: RunMain, sample_files: Path) -> None:
    run = run_main(
        "--format",
        "csv",
        "--continue-on-error",
        "-c",
        "USE 'people.db' AS a; USE 'missing.csv' AS a; SELECT name FROM a.users ORDER BY id",
    )
    assert (run.code, run.out) == (1, "name\nAnn\nBo\n")


def test_ctrl_c_cancels_the_running_query_with_exit_130(isolated_env: dict[str, str], tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "noctra",
            "-c",
            "SELECT 1 AS before; SELECT count(*) FROM range(100000000000) t(a) WHERE a % 7 = 3",
            "--format",
            "csv",
        ],
        cwd=tmp_path,
        env=isolated_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert [process.stdout.readline(), process.stdout.readline()] == ["before\n", "1\n"]
    time.sleep(0.5)  # the second statement is running now
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert out == ""
    assert err.splitlines()[0].startswith("noctra: error: statement 2, line 1, column ")
    assert err.splitlines()[0].endswith(": query cancelled")
    assert "Traceback" not in err


def run_bytes(args: list[str], stdin: bytes, cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "noctra", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            [],
            b"SELECT 1;\nSELECT '\xff\xfe';\n",
            "the script on stdin is not UTF-8 text: byte 0xff on line 2",
        ),
        (["batch", "-"], b"SELECT \xe9", "the script on stdin is not UTF-8 text: byte 0xe9 on line 1"),
    ],
)
def test_non_utf8_scripts_get_one_error(
    tmp_path: Path, isolated_env: dict[str, str], args: list[str], stdin: bytes, message: str
) -> None:
    """11.12: bytes that are not UTF-8 in a script: one line, exit 2, nothing run."""
    for locale in ("C.UTF-8", "C"):
        env = {**isolated_env, "LC_ALL": locale}
        env.pop("PYTHONIOENCODING", None)
        code, out, err = run_bytes(args, stdin, tmp_path, env)
        assert (code, out) == (2, "")
        assert err.splitlines()[0] == f"noctra: error: {message}"
        assert "Traceback" not in err


def test_non_utf8_sql_argument_gets_one_error(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    import os
    import subprocess
    import sys

    env = {**isolated_env, "LC_ALL": "C.UTF-8"}
    proc = subprocess.run(
        [os.fsencode(sys.executable), b"-m", b"noctra", b"-c", b"SELECT \xff"],
        capture_output=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2
    assert err.splitlines()[0] == "noctra: error: the statements are not UTF-8 text: byte 0xff on line 1"


def test_a_full_disk_on_stdout_is_one_error(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "noctra", "-c", "SELECT * FROM range(10)"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=isolated_env,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 1
    assert proc.stderr == "noctra: error: cannot write the output: No space left on device\n"
