"""The fast command-line path (cli.parse_fast) reads argv exactly as argparse does, or passes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noctra.cli import FLAG_OPTIONS, FORMATS, VALUE_OPTIONS, build_parser, parse_fast
from noctra.errors import UsageError
from tests.conftest import RunMain


def by_argparse(argv: list[str]) -> dict[str, object] | None:
    try:
        return vars(build_parser(argv).parse_args(argv))
    except (UsageError, SystemExit):
        return None


def test_the_fast_path_knows_the_options_argparse_knows() -> None:
    parser = build_parser(["query"])
    common = {
        option
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option not in ("--help", "--version")
    }
    assert common == set(FLAG_OPTIONS) | set(VALUE_OPTIONS)


@pytest.mark.parametrize(
    "argv",
    [
        ["-c", "select 1"],
        ["-c", "select 1", "--format", "csv", "--stats"],
        ["--format", "json", "query", "SELECT 1", "a.csv", "b.parquet", "--max-rows", "5"],
        ["query", "SELECT 1", "--param", "a=1", "--param", "b=x", "--timeout", "2.5", "--fresh"],
        ["--format", "csv", "query", "x", "--format", "tsv"],
        ["batch", "-", "--continue-on-error", "--db", "w.duckdb", "--read-only", "--debug"],
        ["batch", "script.rql", "f.csv"],
        ["--config", "c.toml", "-c", "x"],
    ],
)
def test_common_command_lines_parse_the_same_both_ways(argv: list[str]) -> None:
    fast = parse_fast(argv)
    assert fast is not None
    assert vars(fast) == by_argparse(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["query", "--help"],
        ["--version"],
        ["info"],
        ["config", "show"],
        ["--form", "csv", "-c", "x"],  # an abbreviation: argparse's business
        ["--format=csv", "-c", "x"],
        ["--format", "xml", "-c", "x"],
        ["--max-rows", "many", "-c", "x"],
        ["--max-rows", "-1", "-c", "x"],
        ["-c"],
        ["query"],
        ["qurey", "x"],
        ["file.csv"],
        ["-c", "x", "file.csv"],
        ["--", "-c", "x"],
    ],
)
def test_anything_else_is_left_to_argparse(argv: list[str]) -> None:
    assert parse_fast(argv) is None


words = st.sampled_from(["select 1", "x.csv", "-", "query", "batch", "a=1", "5", "2.5", "csv", "json", "-1"])
tokens = st.one_of(words, st.sampled_from([*FLAG_OPTIONS, *VALUE_OPTIONS, "-c", "--", *FORMATS]))


@settings(max_examples=400, deadline=None)
@given(st.lists(tokens, max_size=8))
def test_whenever_the_fast_path_answers_argparse_agrees(argv: list[str]) -> None:
    fast = parse_fast(argv)
    if fast is not None:
        assert vars(fast) == by_argparse(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["--param", "a=1", "query", "--param", "b=2", "SELECT :a + :b AS s"],
        ["--param", "a=1", "--form", "csv", "query", "--param", "b=2", "SELECT :a + :b AS s"],
    ],
    ids=["fast", "argparse"],  # an abbreviation takes argparse's road
)
def test_params_before_and_after_the_subcommand_all_count(run_main: RunMain, argv: list[str]) -> None:
    # argparse used to keep only the subcommand's --param values (a=1 was lost).
    run = run_main("--format", "csv", *argv)
    assert (run.code, run.out) == (0, "s\n3\n"), run.err


def test_a_plain_run_never_imports_argparse() -> None:
    code = (
        "import sys; from noctra.cli import main; main(['-c', 'select 1', '--format', 'csv']); "
        "print('argparse' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "False"


# --- positionals before, between and after options (r7) ----------------------------------------
#
# USAGE: "Options go before or after the subcommand". A subcommand's words are parsed intermixed
# (cli._Parser._parse_intermixed), and parse_fast reads them the same way; every word after a
# `--` is a positional (a file named -x.csv or --format). Each line: argv as typed, then what
# the run gets (only the keys given are checked).

INTERMIXED: list[tuple[list[str], dict[str, object]]] = [
    (["query", "SQL", "--format", "csv", "t.csv"], {"sql": "SQL", "files": ["t.csv"], "format": "csv"}),
    (["query", "SQL", "t.csv", "--format", "csv"], {"sql": "SQL", "files": ["t.csv"], "format": "csv"}),
    (["query", "--format", "csv", "SQL", "t.csv"], {"sql": "SQL", "files": ["t.csv"], "format": "csv"}),
    (
        ["query", "SQL", "a.csv", "--stats", "b.csv", "--format", "csv", "c.csv"],
        {"files": ["a.csv", "b.csv", "c.csv"], "stats": True, "format": "csv"},
    ),
    (
        ["--format", "json", "query", "SQL", "--max-rows", "5", "a.csv", "--fresh"],
        {"files": ["a.csv"], "format": "json", "max_rows": 5, "fresh": True},
    ),
    (["--format", "json", "query", "SQL", "--format", "csv", "a.csv"], {"format": "csv", "files": ["a.csv"]}),
    # Options whose value looks like a file take it; the next word is a file again.
    (["query", "SQL", "--db", "w.csv", "t.csv"], {"db": "w.csv", "files": ["t.csv"]}),
    (["query", "SQL", "--config", "c.csv", "t.csv"], {"config": "c.csv", "files": ["t.csv"]}),
    (["query", "SQL", "--param", "p=x.csv", "t.csv"], {"param": ["p=x.csv"], "files": ["t.csv"]}),
    (["query", "SQL", "--engine", "duckdb", "t.csv"], {"engine": "duckdb", "files": ["t.csv"]}),
    (["query", "SQL", "--timeout", "5", "t.csv"], {"timeout": 5.0, "files": ["t.csv"]}),
    (
        ["--param", "a=1", "query", "SQL", "--param", "b=2", "t.csv", "--param", "c=3"],
        {"param": ["a=1", "b=2", "c=3"], "files": ["t.csv"]},
    ),
    # After --, every word is a positional.
    (["query", "SQL", "--", "--format"], {"sql": "SQL", "files": ["--format"], "format": None}),
    (["query", "SQL", "--", "-x.csv"], {"files": ["-x.csv"]}),
    (["query", "SQL", "--", "-h"], {"files": ["-h"]}),
    (
        ["query", "SQL", "--format", "csv", "--", "-x.csv", "--stats"],
        {"files": ["-x.csv", "--stats"], "format": "csv", "stats": False},
    ),
    (["query", "--format", "csv", "--", "SQL", "-x.csv"], {"sql": "SQL", "files": ["-x.csv"]}),
    (["query", "--", "-x"], {"sql": "-x", "files": []}),
    (["query", "SQL", "--"], {"sql": "SQL", "files": []}),
    # -c is `query`.
    (["-c", "SQL", "--format", "csv", "t.csv"], {"subcommand": "query", "sql": "SQL", "files": ["t.csv"]}),
    (["-c", "SQL", "--", "-x.csv"], {"subcommand": "query", "files": ["-x.csv"]}),
    # batch
    (["batch", "s.rql", "--format", "csv", "t.csv"], {"script": "s.rql", "files": ["t.csv"]}),
    (["batch", "--format", "csv", "s.rql", "t.csv"], {"script": "s.rql", "files": ["t.csv"]}),
    (
        ["batch", "s.rql", "t.csv", "--continue-on-error", "u.csv"],
        {"files": ["t.csv", "u.csv"], "continue_on_error": True},
    ),
    (["batch", "-", "--stats", "t.csv"], {"script": "-", "files": ["t.csv"]}),
    (["batch", "-", "--", "-"], {"script": "-", "files": ["-"]}),
    # repl, tui and the bare `noctra FILE ...` (the TUI)
    (["repl", "a.csv", "--format", "csv", "b.csv"], {"subcommand": "repl", "files": ["a.csv", "b.csv"]}),
    (["tui", "a.csv", "--fresh", "b.csv"], {"subcommand": "tui", "files": ["a.csv", "b.csv"], "fresh": True}),
    (["a.csv", "--fresh", "b.csv"], {"subcommand": "tui", "files": ["a.csv", "b.csv"], "fresh": True}),
    (["--fresh", "a.csv", "--db", "w.duckdb", "b.csv"], {"subcommand": "tui", "files": ["a.csv", "b.csv"]}),
    (["--", "-x.csv"], {"subcommand": "tui", "files": ["-x.csv"]}),
    (["--", "-c", "x"], {"subcommand": "tui", "files": ["-c", "x"], "command": None}),
    (["--fresh", "--", "--format"], {"subcommand": "tui", "files": ["--format"], "fresh": True}),
    (["a.csv", "--", "-x.csv"], {"subcommand": "tui", "files": ["a.csv", "-x.csv"]}),
    (["--"], {"subcommand": None, "files": None}),
    # config and cache: their one word anywhere
    (["config", "--format", "csv", "show"], {"action": "show", "format": "csv"}),
    (["config", "show", "--force"], {"action": "show", "force": True}),
    (["cache", "--format", "csv", "show"], {"action": "show", "format": "csv"}),
    # an abbreviation (argparse's road) too
    (["query", "SQL", "--form", "csv", "t.csv"], {"format": "csv", "files": ["t.csv"]}),
]


def as_main_reads(argv: list[str]) -> dict[str, object]:
    """argv as cli.main reads it: -c and the bare form rewritten, then parse_fast or argparse;
    whenever parse_fast answers, argparse agrees."""
    from noctra.cli import _dash_c_as_query, _with_implicit_tui

    argv = _dash_c_as_query(list(argv))
    fast = parse_fast(argv)
    argv = _with_implicit_tui(argv)
    full = vars(build_parser(argv).parse_args(argv))
    if fast is not None:
        assert vars(fast) == full
    return full


@pytest.mark.parametrize(("argv", "expected"), INTERMIXED, ids=[" ".join(a) for a, _ in INTERMIXED])
def test_positionals_before_between_and_after_options(argv: list[str], expected: dict[str, object]) -> None:
    parsed = as_main_reads(argv)
    assert {key: parsed.get(key) for key in expected} == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["query", "SQL", "--format", "csv", "t.csv"],
        ["query", "SQL", "a.csv", "--stats", "b.csv", "--format", "csv"],
        ["--format", "csv", "query", "SQL", "--param", "a=1", "t.csv", "--fresh"],
        ["query", "SQL", "--", "-x.csv", "--format"],
        ["query", "--stats", "--", "SQL", "-x.csv"],
        ["batch", "s.rql", "--format", "csv", "t.csv"],
        ["batch", "-", "--", "-"],
    ],
)
def test_the_fast_path_takes_intermixed_command_lines(argv: list[str]) -> None:
    fast = parse_fast(argv)
    assert fast is not None
    assert vars(fast) == by_argparse(argv)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["query", "SQL", "t.csv", "--format"], "argument --format: expected one argument"),
        (["query", "SQL", "--format", "xml", "t.csv"], "argument --format: invalid choice: 'xml'"),
        (["query", "SQL", "t.csv", "-x.csv"], "unrecognized arguments: -x.csv"),
        (["query", "SQL", "--force", "t.csv"], "unrecognized arguments: --force"),
        (["query", "--format", "csv"], "the following arguments are required: sql"),
        (["info", "x"], "unrecognized arguments: x"),
        (["config", "show", "--format", "csv", "path"], "unrecognized arguments: path"),
        (["cache", "--", "show", "x"], "unrecognized arguments: x"),
    ],
)
def test_bad_intermixed_command_lines_are_usage_errors(argv: list[str], message: str) -> None:
    assert parse_fast(argv) is None
    with pytest.raises(UsageError, match=re.escape(message)):
        as_main_reads(argv)


def test_files_after_options_and_after_a_double_dash_are_registered(run_main: RunMain) -> None:
    Path("t.csv").write_text("id\n1\n", encoding="utf-8")
    Path("-x.csv").write_text("id\n2\n", encoding="utf-8")
    sql = "SELECT * FROM t UNION ALL SELECT * FROM x ORDER BY 1"
    for argv in (
        ["query", sql, "--format", "csv", "t.csv", "--", "-x.csv"],
        ["query", "--format", "csv", sql, "--fresh", "t.csv", "--", "-x.csv"],
        ["-c", sql, "t.csv", "--format", "csv", "--", "-x.csv"],
    ):
        run = run_main(*argv)
        assert (run.code, run.out) == (0, "id\n1\n2\n"), (argv, run.err)
    Path("s.rql").write_text(sql, encoding="utf-8")
    run = run_main("batch", "s.rql", "--format", "csv", "t.csv", "--fresh", "--", "-x.csv")
    assert (run.code, run.out) == (0, "id\n1\n2\n"), run.err
