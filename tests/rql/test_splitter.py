"""The splitter on a corpus of tricky SQL."""

from __future__ import annotations

import pytest

from noctra.errors import Span
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
    ("script", "what", "span", "whole"),
    [
        ("select 1;\nselect 'abc", "unterminated string", Span(2, 2, 8), ["select 1"]),
        ('select "abc', "unterminated quoted identifier", Span(1, 1, 8), []),
        ("select 1 /* open", "unterminated /* comment", Span(1, 1, 10), []),
        ("select 1; /* open", "unterminated /* comment", Span(2, 1, 11), ["select 1"]),
        ("select $x$ body", "unterminated dollar-quoted string $x$", Span(1, 1, 8), []),
        ("a; b;\n-- c\n  select 'x;\n y;\n", "unterminated string", Span(3, 3, 10), ["a", "b"]),
        (
            "LET a = 1;\r\nSELECT $$ open;",
            "unterminated dollar-quoted string $$",
            Span(2, 2, 8),
            ["LET a = 1"],
        ),
    ],
)
def test_unterminated_input_is_a_last_statement_carrying_the_error(
    script: str, what: str, span: Span, whole: list[str]
) -> None:
    """The statements before an unterminated quote or comment are whole: they run; the broken
    one is last and carries its error (nothing after it can be told apart)."""
    *before, broken = split(script)
    assert [(s.text, s.error) for s in before] == [(text, None) for text in whole]
    assert broken.error is not None and broken.error.message == what
    assert broken.error.span == span
    assert broken.number == span.statement
    assert script[broken.offset :].rstrip() == broken.text


def test_the_broken_statement_starts_at_its_first_word() -> None:
    broken = split("select 1;\n  -- note\n  select 'open")[-1]
    assert (broken.text, broken.line, broken.column) == ("select 'open", 3, 3)
    assert statement_at("select 1; select 'open", 3) == split("select 1; select 'open")[0]


def test_statements_know_where_their_semicolon_is() -> None:
    statements = split("select 1 ;\nLET x =\n   ;\nselect 3")
    assert [s.end for s in statements] == [(1, 10), (3, 4), None]
    assert [s.end_span() for s in statements] == [Span(1, 1, 10), Span(2, 3, 4), Span(3, 4, 9)]


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
    broken = split(script)[-1]
    assert broken.error is not None and "NUL" in broken.error.message
    assert broken.error.span == Span(statement, line, column)
