"""Noctra commands parse to the right dataclasses; everything else stays SQL."""

from __future__ import annotations

import pytest

from noctra.errors import RqlSyntaxError
from noctra.rql import ast
from noctra.rql.parser import parse
from noctra.rql.splitter import split


def one(text: str) -> ast.Command:
    statements = split(text)
    assert len(statements) == 1
    return parse(statements[0])


def test_use_with_alias_and_options() -> None:
    command = one(
        "use 'data/x y.csv' as Sales options (delimiter = ';', header = false, skip = 2,"
        " types = {'id': 'INTEGER'}, nullstr = ('NA', ''))"
    )
    assert isinstance(command, ast.Use)
    assert (command.path, command.alias) == ("data/x y.csv", "Sales")
    assert command.options == {
        "delimiter": ";",
        "header": False,
        "skip": 2,
        "types": {"id": "INTEGER"},
        "nullstr": ["NA", ""],
    }


def test_use_path_with_quote() -> None:
    command = one("USE 'it''s.csv'")
    assert isinstance(command, ast.Use) and command.path == "it's.csv" and command.alias is None


def test_use_alias_and_duckdb_use_stay_apart() -> None:
    assert one("USE sales") == ast.UseAlias("sales", one("USE sales").span)
    assert isinstance(one("USE memory.main"), ast.Sql)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DESCRIBE", ast.Describe),
        ("describe sales", ast.Describe),
        ("DESCRIBE crm.users", ast.Describe),
        ("DESCRIBE 'f.csv'", ast.Describe),
        ("DESCRIBE (SELECT 1)", ast.Describe),
        ("DESCRIBE SELECT 1", ast.Sql),
        ("SHOW SOURCES", ast.ShowSources),
        ("show tables from crm", ast.ShowTables),
        ("SHOW TABLES", ast.ShowTables),
        ("SHOW ALL TABLES", ast.Sql),
        ("DETACH crm", ast.Detach),
        ("UNUSE crm", ast.Detach),
        ("SELECT 1", ast.Sql),
        ("SET threads = 2", ast.SetOption),
        ("RESET threads", ast.ResetOption),
    ],
)
def test_command_kinds(text: str, expected: type) -> None:
    assert isinstance(one(text), expected)


def test_describe_targets() -> None:
    command = one("DESCRIBE crm.users")
    assert isinstance(command, ast.Describe) and (command.alias, command.table) == ("crm", "users")
    query = one("DESCRIBE (SELECT a FROM (SELECT 1 AS a))")
    assert isinstance(query, ast.Describe) and query.query == "SELECT a FROM (SELECT 1 AS a)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("USE 'x.csv' AS", "expected an alias after AS, found end of statement"),
        ("USE 'x.csv' OPTIONS (header)", "expected '=' after option 'header', found ')'"),
        ("USE 'x.csv' OPTIONS (a = 1, a = 2)", "option 'a' is given twice"),
        ("USE 'x.csv' junk", "unexpected 'junk' after USE"),
        ("SHOW TABLES FROM", "expected a source alias after FROM, found end of statement"),
    ],
)
def test_syntax_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(RqlSyntaxError) as info:
        one(text)
    assert info.value.message == message
    assert info.value.span is not None and info.value.span.statement == 1


def test_error_column_points_at_token() -> None:
    statements = split("select 1;\n  USE 'x.csv' AS a junk")
    with pytest.raises(RqlSyntaxError) as info:
        parse(statements[1])
    assert info.value.span is not None
    assert (info.value.span.statement, info.value.span.line, info.value.span.column) == (2, 2, 20)


@pytest.mark.parametrize(
    ("script", "span"),
    [
        ("LET abcd = ;", (1, 1, 12)),  # at the ';', where the value belongs
        ("SELECT 1; LET x =\n   ;", (2, 2, 4)),
        ("LET x = -- nothing\n;", (1, 2, 1)),
        ("LET x =", (1, 1, 8)),  # no ';': just past the last word
        ("USE 'x.csv' AS ;", (1, 1, 16)),
        ("USE 'x.csv' OPTIONS (header =  ;", (1, 1, 32)),
    ],
)
def test_end_of_statement_errors_point_at_its_semicolon(script: str, span: tuple[int, int, int]) -> None:
    with pytest.raises(RqlSyntaxError) as info:
        parse(split(script)[-1])
    assert info.value.span is not None
    assert (info.value.span.statement, info.value.span.line, info.value.span.column) == span


def test_a_list_option_needs_no_equals_sign() -> None:
    """SPEC 2.4 spells ``partition_by (cols)``, as DuckDB's COPY does."""
    command = one("EXPORT t TO 'out' OPTIONS (partition_by (year, month), compression = 'zstd')")
    assert isinstance(command, ast.Export)
    assert command.options == {"partition_by": ["year", "month"], "compression": "zstd"}
    assert one("EXPORT t TO 'out' OPTIONS (partition_by = (year))") == ast.Export(
        "out", command.span, alias="t", options={"partition_by": ["year"]}
    )
