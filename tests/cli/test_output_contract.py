"""The stdout/stderr contract: byte-clean formats, options anywhere, scripts from files and stdin."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import RunMain, RunNoctra

SELECT_T = "SELECT * FROM 't.csv'"
T_AS_CSV = 'id,name,amount\n1,"Smith, J",10.5\n2,,20.0\n3,Ann,\n'
T_AS_OBJECTS = [
    {"id": 1, "name": "Smith, J", "amount": 10.5},
    {"id": 2, "name": None, "amount": 20.0},
    {"id": 3, "name": "Ann", "amount": None},
]
SLOW_QUERY = "SELECT count(*) FROM range(100000000000) t(a) WHERE a % 7 = 3"
# tomllib too: with no config file and no saved session, nothing TOML is read.
HEAVY_MODULES = ("pyarrow", "textual", "prompt_toolkit", "sqlglot", "pandas", "polars", "sqlite3", "tomllib")


def run_bytes(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m noctra` keeping stdout and stderr as raw bytes."""
    return subprocess.run(
        [sys.executable, "-m", "noctra", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )


def table_cells(text: str) -> list[list[str]]:
    """Rows of a boxed table as unstripped cells (border and rule lines skipped)."""
    rows = []
    for line in text.splitlines():
        if line[:1] in ("│", "|"):
            rows.append(line.split(line[0])[1:-1])
    return rows


def test_csv_is_byte_clean(isolated_env: dict[str, str], sample_files: Path) -> None:
    proc = run_bytes(isolated_env, sample_files, "query", SELECT_T, "--format", "csv")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, T_AS_CSV.encode(), b"")


def test_csv_of_a_registered_source_is_byte_clean(isolated_env: dict[str, str], sample_files: Path) -> None:
    proc = run_bytes(isolated_env, sample_files, "--format", "csv", "-c", "USE 't.csv' AS t; SELECT * FROM t")
    assert proc.returncode == 0
    assert proc.stdout == T_AS_CSV.encode()
    assert b"noctra: error" not in proc.stderr


def test_json_is_a_list_of_objects(run_noctra: RunNoctra, sample_files: Path) -> None:
    proc = run_noctra("query", SELECT_T, "--format", "json", cwd=sample_files)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert json.loads(proc.stdout) == T_AS_OBJECTS


def test_json_of_no_rows_is_an_empty_list(run_main: RunMain, sample_files: Path) -> None:
    run = run_main("--format", "json", "-c", "SELECT * FROM 't.csv' WHERE id > 99")
    assert run.code == 0
    assert json.loads(run.out) == []


def test_jsonl_is_one_object_per_line(run_noctra: RunNoctra, sample_files: Path) -> None:
    proc = run_noctra("query", SELECT_T, "--format", "jsonl", cwd=sample_files)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.endswith("\n")
    assert [json.loads(line) for line in proc.stdout.splitlines()] == T_AS_OBJECTS


def test_tsv(run_noctra: RunNoctra, sample_files: Path) -> None:
    proc = run_noctra("query", SELECT_T, "--format", "tsv", cwd=sample_files)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0,
        "id\tname\tamount\n1\tSmith, J\t10.5\n2\t\t20.0\n3\tAnn\t\n",
        "",
    )


def test_markdown(run_main: RunMain, sample_files: Path) -> None:
    run = run_main("query", SELECT_T, "--format", "markdown")
    assert run.code == 0
    lines = run.out.splitlines()
    assert re.fullmatch(r"\|\s*-+:\s*\|\s*:?-+\s*\|\s*-+:\s*\|", lines[1]), lines[1]
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in lines[:1] + lines[2:]]
    assert cells == [
        ["id", "name", "amount"],
        ["1", "Smith, J", "10.5"],
        ["2", "NULL", "20.0"],
        ["3", "Ann", "NULL"],
    ]


def test_markdown_escapes_pipes_in_values(run_main: RunMain, tmp_path: Path) -> None:
    run = run_main("--format", "markdown", "-c", "SELECT 'a|b' AS s")
    assert run.code == 0
    assert run.out.splitlines()[2] == r"| a\|b |"


def test_table_shows_null_and_right_aligns_numbers(run_main: RunMain, tmp_path: Path) -> None:
    (tmp_path / "w.csv").write_text("n,s,x\n5,bbbbb,1.5\n12345,a,\n")
    run = run_main("-c", "SELECT * FROM 'w.csv'")
    assert run.code == 0
    header, first, second = table_cells(run.out)
    assert [c.strip() for c in header] == ["n", "s", "x"]
    assert [c.strip() for c in first] == ["5", "bbbbb", "1.5"]
    assert [c.strip() for c in second] == ["12345", "a", "NULL"]
    # Numbers share a right edge, text shares a left edge.
    assert len(first[0].rstrip()) == len(second[0].rstrip())
    assert len(first[1]) - len(first[1].lstrip()) == len(second[1]) - len(second[1].lstrip())


def test_table_shows_null_distinctly(run_main: RunMain, sample_files: Path) -> None:
    run = run_main("query", SELECT_T)
    assert run.code == 0
    rows = [[c.strip() for c in row] for row in table_cells(run.out)]
    assert rows == [
        ["id", "name", "amount"],
        ["1", "Smith, J", "10.5"],
        ["2", "NULL", "20.0"],
        ["3", "Ann", "NULL"],
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("--format", "csv", "query", SELECT_T),
        ("query", SELECT_T, "--format", "csv"),
        ("query", "--format", "csv", SELECT_T),
        ("--format", "csv", "-c", SELECT_T),
        ("-c", SELECT_T, "--format", "csv"),
        ("--format", "tsv", "query", SELECT_T, "--format", "csv"),
    ],
    ids=["before query", "after query", "between query and sql", "before -c", "after -c", "last wins"],
)
def test_common_options_before_or_after_the_subcommand(
    run_main: RunMain, sample_files: Path, args: tuple[str, ...]
) -> None:
    run = run_main(*args)
    assert (run.code, run.out, run.err) == (0, T_AS_CSV, "")


@pytest.mark.parametrize("before", [True, False], ids=["before batch", "after batch"])
def test_common_options_with_batch(run_main: RunMain, sample_files: Path, before: bool) -> None:
    (sample_files / "s.rql").write_text(f"{SELECT_T};\n")
    opts = ("--format", "markdown", "--max-rows", "1")
    args = (*opts, "batch", "s.rql") if before else ("batch", "s.rql", *opts)
    run = run_main(*args)
    assert run.code == 0
    lines = run.out.splitlines()
    assert [[c.strip() for c in line.split("|")[1:-1]] for line in (lines[0], lines[2])] == [
        ["id", "name", "amount"],
        ["1", "Smith, J", "10.5"],
    ]
    assert "… 2 more rows" in (run.out + run.err).splitlines()
    assert "| 2 |" not in run.out


def test_query_registers_trailing_files(run_main: RunMain, sample_files: Path) -> None:
    run = run_main("query", "SELECT count(*) AS n FROM t", "t.csv", "--format", "csv")
    assert (run.code, run.out) == (0, "n\n3\n")


def test_parquet_and_ndjson_sources(run_main: RunMain, sample_files: Path) -> None:
    run = run_main(
        "--format",
        "csv",
        "-c",
        "USE 'e.ndjson' AS e; SELECT p.id, p.tag, p.score, e.kind FROM 'p.parquet' p "
        "LEFT JOIN e ON e.id = p.id ORDER BY p.id",
    )
    assert (run.code, run.out) == (0, "id,tag,score,kind\n1,x,1.5,click\n2,y,,\n3,,3.0,\n")


SCRIPT = (
    "USE 't.csv' AS t;\n"
    "-- a comment; with a semicolon\n"
    "SELECT name FROM t WHERE id = 1;\n"
    "SELECT 'a;b' AS s;\n"
)
SCRIPT_OUT = 'name\n"Smith, J"\ns\na;b\n'


def test_batch_script_file(run_noctra: RunNoctra, sample_files: Path) -> None:
    (sample_files / "script.rql").write_text(SCRIPT)
    proc = run_noctra("batch", "script.rql", "--format", "csv", cwd=sample_files)
    assert (proc.returncode, proc.stdout) == (0, SCRIPT_OUT)


def test_batch_dash_reads_stdin(run_noctra: RunNoctra, sample_files: Path) -> None:
    proc = run_noctra("batch", "-", "--format", "csv", cwd=sample_files, input=SCRIPT)
    assert (proc.returncode, proc.stdout) == (0, SCRIPT_OUT)


def test_stdin_without_subcommand(run_noctra: RunNoctra, sample_files: Path) -> None:
    proc = run_noctra("--format", "csv", cwd=sample_files, input=SCRIPT)
    assert (proc.returncode, proc.stdout) == (0, SCRIPT_OUT)


def test_max_rows_limits_the_table_and_counts_the_rest(run_main: RunMain, tmp_path: Path) -> None:
    (tmp_path / "five.csv").write_text("n\n1\n2\n3\n4\n5\n")
    run = run_main("--max-rows", "2", "-c", "SELECT * FROM 'five.csv'")
    assert run.code == 0
    rows = [[c.strip() for c in row] for row in table_cells(run.out)]
    assert rows == [["n"], ["1"], ["2"]]
    assert "… 3 more rows" in (run.out + run.err).splitlines()


def test_csv_redirected_to_a_file_is_exact(isolated_env: dict[str, str], sample_files: Path) -> None:
    target = sample_files / "out.csv"
    big = sample_files / "big.csv"
    with target.open("wb") as out, big.open("wb") as big_out:
        for args, stdout in (((SELECT_T,), out), (("SELECT range AS n FROM range(200000)",), big_out)):
            proc = subprocess.run(
                [sys.executable, "-m", "noctra", "--format", "csv", "-c", *args],
                cwd=sample_files,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.PIPE,
                env=isolated_env,
                timeout=60,
                check=False,
            )
            assert (proc.returncode, proc.stderr) == (0, b"")
    assert target.read_bytes() == T_AS_CSV.encode()
    assert big.read_bytes() == ("n\n" + "".join(f"{i}\n" for i in range(200000))).encode()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "table"])
def test_output_piped_into_head_exits_cleanly(isolated_env: dict[str, str], tmp_path: Path, fmt: str) -> None:
    noctra = subprocess.Popen(
        [sys.executable, "-m", "noctra", "--format", fmt, "-c", "SELECT range AS n FROM range(200000)"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=isolated_env,
    )
    assert noctra.stdout is not None
    head = subprocess.run(["head", "-1"], stdin=noctra.stdout, capture_output=True, timeout=60, check=False)
    noctra.stdout.close()
    _, err = noctra.communicate(timeout=60)
    assert head.stdout.strip()
    assert noctra.returncode == 0, err
    assert b"Traceback" not in err
    assert b"noctra: error" not in err


def test_stats_is_one_json_line_on_stderr(run_noctra: RunNoctra, tmp_path: Path) -> None:
    proc = run_noctra("--stats", "--format", "csv", "-c", "SELECT range AS n FROM range(5)", cwd=tmp_path)
    assert proc.returncode == 0
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    stats = json.loads(lines[0])
    assert {"statements", "rows", "seconds", "engine"} <= stats.keys()
    assert (stats["statements"], stats["rows"], stats["engine"]) == (1, 5, "duckdb")
    assert isinstance(stats["seconds"], float)
    assert stats["seconds"] >= 0


def test_timeout_cancels_and_exits_4(run_noctra: RunNoctra, tmp_path: Path) -> None:
    proc = run_noctra("--timeout", "0.5", "-c", SLOW_QUERY, cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert 1 <= len(lines) <= 2, proc.stderr
    assert lines[0].startswith("noctra: error: ")
    assert "0.5" in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("extra", [(), ("--continue-on-error",)], ids=["stop", "continue-on-error"])
def test_timeout_stops_a_script_of_many_short_statements(
    run_noctra: RunNoctra, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    # Each statement takes a few ms, most of it outside the engine: the time runs out between two
    # of them, where an interrupt reaches nothing. The run still stops at the time, not at the end.
    statements = 20000
    (tmp_path / "many.sql").write_text("SELECT 1 AS one;\n" * statements, encoding="utf-8")
    proc = run_noctra("--timeout", "0.5", *extra, "--format", "csv", "batch", "many.sql", cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr[-500:]
    first = proc.stderr.splitlines()[0]
    # Between statements, or (on a loaded machine) inside one, then with its position.
    assert first.startswith("noctra: error: ") and first.endswith("timed out after 0.5 s"), proc.stderr
    assert "Traceback" not in proc.stderr
    printed = proc.stdout.count("one\n")
    assert 0 <= printed < statements


def test_info_shows_duckdb_version_and_extension_paths(run_noctra: RunNoctra, tmp_path: Path) -> None:
    proc = run_noctra("info", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert duckdb.__version__ in proc.stdout
    for name in ("sqlite_scanner", "httpfs"):
        found = re.search(rf"(/\S+/{name}\.duckdb_extension)\b", proc.stdout)
        assert found, proc.stdout
        assert Path(found.group(1)).is_file()


def test_join_csv_with_sqlite_through_alias_table(run_main: RunMain, sample_files: Path) -> None:
    run = run_main(
        "--format",
        "csv",
        "-c",
        "USE 't.csv' AS t; USE 'people.db' AS p; "
        "SELECT t.id, t.name, u.name AS who FROM t JOIN p.users u ON u.id = t.id ORDER BY t.id",
    )
    assert (run.code, run.out) == (0, 'id,name,who\n1,"Smith, J",Ann\n2,,Bo\n')


def test_join_csv_with_sqlite_through_path_shorthand(run_main: RunMain, sample_files: Path) -> None:
    run = run_main(
        "--format",
        "csv",
        "-c",
        "SELECT t.id, t.amount, u.name FROM 't.csv' t JOIN people.db::users u ON u.id = t.id ORDER BY t.id",
    )
    assert (run.code, run.out) == (0, "id,amount,name\n1,10.5,Ann\n2,20.0,Bo\n")


def test_query_does_not_import_heavy_modules(isolated_env: dict[str, str], tmp_path: Path) -> None:
    code = (
        "import sys; from noctra.cli import main; main(['-c','select 1']); "
        f"print(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=isolated_env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]"
