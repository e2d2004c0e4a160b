"""The fast command-line path (cli.parse_fast) reads argv exactly as argparse does, or passes."""

from __future__ import annotations

import subprocess
import sys

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
tokens = st.one_of(words, st.sampled_from([*FLAG_OPTIONS, *VALUE_OPTIONS, "-c", *FORMATS]))


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
