"""Error positions point into the user's script, whatever Noctra wraps around the SQL it runs.

Output runs a query inside ``DESCRIBE (...)`` / ``COPY (...) TO``, LET inside ``SELECT (...)``,
EXPORT inside ``COPY``; ``#name`` becomes a literal and ``:name`` a parameter. The column an
error names is still the one of the word in the script (R4S-1), in every output format.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from noctra.errors import NoctraError, Span
from noctra.repl.shell import Shell, Terminal
from noctra.session import Session
from tests.conftest import RunMain, RunNoctra

FORMATS = ["table", "csv", "tsv", "json", "jsonl", "markdown"]


def position(script: str, offset: int) -> tuple[int, int]:
    """1-based line and column of offset in script (\\r\\n, \\r and \\n end lines)."""
    lines = re.split(r"\r\n|\r|\n", script[:offset])
    return len(lines), len(lines[-1]) + 1


@dataclass(frozen=True)
class Case:
    """A script whose error is at ``at`` (its occurrence ``nth``, from 0), in statement ``statement``."""

    script: str
    statement: int
    at: str = "nope"
    nth: int = 0

    def expected(self) -> str:
        offset = -1
        for _ in range(self.nth + 1):
            offset = self.script.index(self.at, offset + 1)
        line, column = position(self.script, offset)
        return f"noctra: error: statement {self.statement}, line {line}, column {column}: "


CASES: dict[str, Case] = {
    # plain queries: on the first line of a statement that does not start the line, and later
    "SELECT, first line": Case("SELECT 1 AS a; SELECT 2 AS b, nope", 2),
    "SELECT, later line": Case("SELECT 1 AS a;\nSELECT 2 AS b,\n  nope", 2),
    "SELECT, CRLF lines": Case("SELECT 1 AS a;\r\nSELECT 2 AS b,\r\n  nope", 2),
    "SELECT, wide characters before": Case("SELECT '日本語' AS jp, 'e\u0301' AS e, nope", 1),
    "SELECT, reading a quoted file": Case("SELECT 1 AS a; SELECT * FROM 't.csv' WHERE nope = 1", 2),
    "SELECT, end of input": Case("SELECT 1 AS a; SELECT 2 + ;", 2, ";", nth=1),
    "CREATE TABLE AS": Case("SELECT 1 AS a; CREATE TABLE t AS SELECT nope", 2),
    # Noctra's commands around a query
    "EXPORT, first line": Case("SELECT 1 AS a; EXPORT (SELECT nope) TO 'out.csv'", 2),
    "EXPORT, later line": Case("SELECT 1 AS a;\nEXPORT (\n  SELECT 1 AS a,\n    nope) TO 'out.csv'", 2),
    "EXPORT, end of its query": Case("EXPORT (SELECT 1 +) TO 'out.csv'", 1, at=")"),
    "LET, first line": Case("LET a = 1; LET b = #a + nope", 2),
    "LET, later lines": Case("LET b =\n  1 +\n  nope", 1),
    "DESCRIBE (query)": Case("SELECT 1 AS a; DESCRIBE (SELECT 2 AS b, nope)", 2),
    # text that changes length before it runs
    "#var longer than its name": Case("LET s = 'a much longer value'; SELECT #s AS s, nope", 2),
    "#var in a later line": Case("LET s = 'a much longer value';\nSELECT 1,\n  #s AS s, nope", 2),
    "an error inside a #var's value is at the #var": Case(
        "LET s = 'abc'; SELECT 1 AS a, interval #s", 2, "#s"
    ),
    "... and in LET": Case("LET s = 'abc'; LET b = interval #s", 2, "#s"),
    ":param from a variable": Case("LET p = 3; SELECT :p AS p, nope", 2),
    "unknown :param": Case("SELECT 1 AS a; SELECT 1 + :zz", 2, ":zz"),
    "unknown :param in LET": Case("LET y = :zz + 1", 1, ":zz"),
    "a #var that is a whole SELECT item": Case("LET s = 'a much longer value'; SELECT #s, nope", 2),
    # a command's own parse runs on its interpolated text: the column is still the user's
    "command after a #var": Case("LET f = '/a/much/longer/path/to/it.csv'; USE #f AS 1bad", 2, "1bad"),
    "command after a #var holding a newline": Case(
        "LET f = 'x\ny.csv';\nEXPORT (SELECT 1) TO #f WITH (FORMAT nope)", 2, "nope"
    ),
    "command whose #var is the wrong word": Case("LET n = 123456; SHOW TABLES FROM #n", 2, "#n"),
    # a file in FROM that cannot be read: the error is at its path
    "missing quoted file": Case("SELECT 1 AS a;\nSELECT *\n  FROM 'nope.parquet'", 2, "'nope.parquet'"),
    "missing file in a JOIN": Case("SELECT * FROM 't.csv' a JOIN 'nope.csv' b ON true", 1, "'nope.csv'"),
    "empty bare file": Case("SELECT * FROM t.csv, empty.csv", 1, "empty.csv"),
    "missing file after a #var": Case(
        "LET v = 'a long value'; SELECT #v, * FROM 'nope.csv'", 2, "'nope.csv'"
    ),
    # the parser's "end of statement" is the ';' (where the value belongs)
    "LET without a value": Case("LET abcd = ;", 1, ";"),
    "LET without a value, ';' on a later line": Case("SELECT 1;\nLET x =\n  ;", 2, ";", nth=1),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_error_column_is_the_one_of_the_word_in_the_script(
    run_main: RunMain, tmp_path: Path, case: Case, fmt: str
) -> None:
    (tmp_path / "t.csv").write_text("id,name\n1,a\n", encoding="utf-8")
    (tmp_path / "empty.csv").write_bytes(b"")
    run = run_main("--fresh", "--format", fmt, "-c", case.script)
    errors = [line for line in run.err.splitlines() if line.startswith("noctra: error: ")]
    assert run.code == 1 and len(errors) == 1, run.err
    assert errors[0].startswith(case.expected()), (errors[0], case.expected())


def test_a_param_from_the_command_line_does_not_move_the_column(run_main: RunMain) -> None:
    """``:p`` runs as ``CAST($p AS ...)`` or ``$p``: longer or shorter than the script's text."""
    for fmt in ("table", "csv"):
        run = run_main("--format", fmt, "--param", "p=3", "-c", "SELECT :p AS p, nope")
        assert "noctra: error: statement 1, line 1, column 17: " in run.err, run.err


def test_batch_and_stdin_scripts_point_at_the_word(tmp_path: Path, run_noctra: RunNoctra) -> None:
    script = "LET s = 'a much longer value';\nSELECT #s AS s,   nope;\n"
    (tmp_path / "s.rql").write_text(script, encoding="utf-8")
    for args, given in ((("batch", "s.rql"), None), (("batch", "-"), script), ((), script)):
        run = run_noctra(*args, "--format", "csv", cwd=tmp_path, input=given)
        assert "noctra: error: statement 2, line 2, column 19: " in run.stderr, (args, run.stderr)


def make_shell(session: Session) -> tuple[Shell, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return (
        Shell(session, Terminal(out, err, is_tty=False, size=lambda: (100, 40)), ask=lambda name: ""),
        out,
        err,
    )


@pytest.mark.parametrize("mode", ["table", "csv"])
def test_the_repl_and_read_point_at_the_word(tmp_path: Path, mode: str) -> None:
    (tmp_path / "s.rql").write_text("SELECT 1 AS a;\nSELECT 2 AS b, nope;\n", encoding="utf-8")
    with Session() as session:
        shell, _, err = make_shell(session)
        shell.mode = mode
        shell.handle("SELECT 1 AS a; SELECT 2 AS b, nope;")
        shell.handle(f".read {tmp_path / 's.rql'}")
    lines = [line for line in err.getvalue().splitlines() if line.startswith("noctra: error: ")]
    assert [line.split(": Binder")[0] for line in lines] == [
        "noctra: error: statement 2, line 1, column 31",
        "noctra: error: statement 2, line 2, column 16",
    ], err.getvalue()


def test_the_python_api_gives_the_span_of_the_word() -> None:
    with Session() as session:
        with pytest.raises(NoctraError) as info:
            session.execute("LET a = 1;\nEXPORT (SELECT #a AS a,\n  nope) TO 'never.csv'")
        assert info.value.span == Span(2, 3, 3)
        with pytest.raises(NoctraError) as info:
            session.sql("SELECT 1 AS a;   LET b = 'x' || nope")
        assert info.value.span == Span(2, 1, 33)


# --- a script that ends inside a string, comment or dollar-quote (R4S-2) --------------------

UNTERMINATED = {
    "string": ("SELECT 'abc;\n", "'", "unterminated string"),
    "comment": ("SELECT 2 /* never closed;\n", "/*", "unterminated /* comment"),
    "dollar-quote": ("SELECT $x$ body;\n", "$x$", "unterminated dollar-quoted string $x$"),
    "quoted identifier": ('SELECT "abc;\n', '"', "unterminated quoted identifier"),
}


@pytest.mark.parametrize("broken", UNTERMINATED.values(), ids=UNTERMINATED.keys())
@pytest.mark.parametrize("keep_going", [False, True], ids=["stop", "continue-on-error"])
def test_the_statements_before_an_unterminated_one_run(
    tmp_path: Path, run_noctra: RunNoctra, broken: tuple[str, str, str], keep_going: bool
) -> None:
    tail, opening, what = broken
    script = "LET kept = 1;\nSELECT #kept AS k;\n" + tail
    (tmp_path / "s.rql").write_text(script, encoding="utf-8")
    flags = ["--continue-on-error"] if keep_going else []
    column = tail.index(opening) + 1
    for args, given in ((("batch", *flags, "s.rql"), None), (("batch", *flags, "-"), script)):
        run = run_noctra(*args, "--format", "csv", cwd=tmp_path, input=given)
        assert (run.returncode, run.stdout) == (1, "k\n1\n"), run.stderr
        errors = [line for line in run.stderr.splitlines() if line.startswith("noctra: error: ")]
        assert errors == [f"noctra: error: statement 3, line 3, column {column}: {what}"], run.stderr
        assert "kept = 1 (INTEGER)" in run.stderr


def test_a_one_shot_query_runs_the_statements_before_an_unterminated_one(run_main: RunMain) -> None:
    run = run_main("--format", "csv", "-c", "SELECT 1 AS a; SELECT 2 AS b; SELECT 'open")
    assert (run.code, run.out) == (1, "a\n1\nb\n2\n")
    assert run.err.startswith("noctra: error: statement 3, line 1, column 38: unterminated string\n")


def test_read_in_the_repl_runs_the_statements_before_an_unterminated_one(tmp_path: Path) -> None:
    (tmp_path / "s.rql").write_text("SELECT 1 AS a;\nSELECT 'open;\n", encoding="utf-8")
    with Session() as session:
        shell, out, err = make_shell(session)
        shell.mode = "csv"
        shell.handle(f".read {tmp_path / 's.rql'}")
        assert out.getvalue() == "a\n1\n"
        assert "noctra: error: statement 2, line 2, column 8: unterminated string" in err.getvalue()
        shell.handle("SELECT 3 AS c;")  # the REPL goes on
    assert out.getvalue() == "a\n1\nc\n3\n"


def test_the_python_api_runs_the_statements_before_an_unterminated_one() -> None:
    with Session() as session:
        with pytest.raises(NoctraError, match="unterminated string") as info:
            session.execute("LET kept = 1; SELECT 'open")
        assert info.value.span == Span(2, 1, 22)
        assert session.variables["kept"].text == "1"
        statements = session.split("SELECT 1; SELECT 'open")
        assert [s.error is None for s in statements] == [True, False]
