"""The splitter on a corpus of tricky SQL."""

from __future__ import annotations

import pytest

from noctra.errors import RqlSyntaxError, Span
from noctra.rql.splitter import split, statement_at

CORPUS: list[tuple[str, list[str]]] = [
    ("select 1; select 2", ["select 1", "select 2"]),
    ("select 'a;b'; select 2", ["select 'a;b'", "select 2"]),
    ("select 'it''s; here'", ["select 'it''s; here'"]),
    ('select "we;ird" from t', ['select "we;ird" from t']),
    ('select "a""b;" from t; x', ['select "a""b;" from t', "x"]),
    ("select 1 -- no; split\n; select 2", ["select 1 -- no; split", "select 2"]),
    ("select /* a; b */ 1; select 2", ["select /* a; b */ 1", "select 2"]),
    ("select /* nested /* ; */ still; */ 1", ["select /* nested /* ; */ still; */ 1"]),
    ("select $$a;b$$; select 2", ["select $$a;b$$", "select 2"]),
    ("select $tag$ $$ ; $tag$ ;", ["select $tag$ $$ ; $tag$"]),
    ("select E'\\';' ; select 2", ["select E'\\';'", "select 2"]),
    ("select 'ñandú;' ; select '日本'", ["select 'ñandú;'", "select '日本'"]),
    ("select 1;\r\nselect 2;\r\n", ["select 1", "select 2"]),
    (";;  ; select 1 ;;", ["select 1"]),
    ("-- only a comment\n", []),
    ("select a$b$c from t; select 2", ["select a$b$c from t", "select 2"]),
    ("select $1, $2; select 3", ["select $1, $2", "select 3"]),
]


@pytest.mark.parametrize(("script", "expected"), CORPUS)
def test_split_corpus(script: str, expected: list[str]) -> None:
    assert [s.text for s in split(script)] == expected


def test_statements_know_number_line_and_column() -> None:
    statements = split("select 1;\n  select 2;\n\n-- c\nselect\n 3")
    assert [(s.number, s.line, s.column) for s in statements] == [(1, 1, 1), (2, 2, 3), (3, 5, 1)]


@pytest.mark.parametrize(
    ("script", "what", "line", "column"),
    [
        ("select 1;\nselect 'abc", "unterminated string", 2, 8),
        ('select "abc', "unterminated quoted identifier", 1, 8),
        ("select 1 /* open", "unterminated /* comment", 1, 10),
        ("select $x$ body", "unterminated dollar-quoted string $x$", 1, 8),
    ],
)
def test_unterminated_input_names_where(script: str, what: str, line: int, column: int) -> None:
    with pytest.raises(RqlSyntaxError) as info:
        split(script)
    assert info.value.message == what
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.column) == (line, column)


def test_statement_at_cursor() -> None:
    script = "select 1;\nselect 2;\nselect 3"
    found = statement_at(script, script.index("2"))
    assert found is not None and found.text == "select 2"


@pytest.mark.parametrize(
    ("script", "statement", "line", "column"),
    [
        ("SELECT 2 \x00+ 40", 1, 1, 10),
        ("SELECT 1;\nSELECT 'a\x00b'", 2, 2, 8),
        ("SELECT 1 -- \x00\n+ 1", 1, 1, 10),
    ],
)
def test_a_nul_character_is_refused_where_it_is(script: str, statement: int, line: int, column: int) -> None:
    """DuckDB reads a statement only up to a NUL: ``SELECT 2 <NUL>+ 40`` answered 2."""
    with pytest.raises(RqlSyntaxError, match="NUL") as info:
        split(script)
    assert info.value.span == Span(statement, line, column)
