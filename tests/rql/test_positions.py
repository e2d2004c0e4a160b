"""An engine's position in the SQL it ran, mapped back to the statement the user wrote."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noctra.engine.duck.errors import translate_error
from noctra.errors import QueryError, Span
from noctra.rql.positions import engine_span, locate
from noctra.rql.splitter import Statement, split

# What output, EXPORT and LET put around a statement (session.py, engine/duck/engine.py).
WRAPPERS = {
    "none": ("", ""),
    "csv/json output (COPY)": ("COPY (", "\n) TO '/nonexistent-noctra-dir/never.csv' (FORMAT csv)"),
    "table output (DESCRIBE)": ("DESCRIBE (", "\n)"),
    "table output (text)": ("SELECT COLUMNS(*)::VARCHAR FROM (", "\n)"),
    "row count": ("SELECT count(*) FROM (", "\n) AS _noctra_q"),
    "LET": ("SELECT typeof(v), CAST(v AS VARCHAR) FROM (SELECT (", "\n) AS v\n) AS _noctra_let"),
}

WIDE = ", ".join(f"{i} AS c{i}" for i in range(40))
STATEMENTS = {
    "one line": "SELECT 2 AS b, nope",
    "wide characters": "SELECT '日本語' AS jp, 'e\u0301' AS e, '😀' AS s, nope",
    "a tab": "SELECT 1 AS a\t, nope",
    "a later line": "SELECT 1 AS a,\n  2 AS b,\n    nope",
    "a long line, cut on both sides": f"SELECT {WIDE}, nope, {WIDE}",
    "a long line, cut after": f"SELECT nope, {WIDE}",
}


def engine_position(sql: str) -> tuple[int, str, int]:
    connection = duckdb.connect()
    try:
        connection.execute(sql, {"p": 3} if "$p" in sql else None)
    except duckdb.Error as exc:
        position = translate_error(exc).engine_position
        assert position is not None, str(exc)
        return position
    finally:
        connection.close()
    raise AssertionError(f"{sql!r} ran")


def where(text: str, word: str) -> tuple[int, int]:
    before = text[: text.index(word)].split("\n")
    return len(before), len(before[-1]) + 1


@pytest.mark.parametrize("wrapper", WRAPPERS.values(), ids=WRAPPERS.keys())
@pytest.mark.parametrize("text", STATEMENTS.values(), ids=STATEMENTS.keys())
def test_a_wrapper_does_not_move_the_position(text: str, wrapper: tuple[str, str]) -> None:
    statement = split(f"SELECT 0;   {text}")[1]
    prefix, suffix = wrapper
    span = engine_span(statement, *engine_position(prefix + text + suffix))
    line, column = where(text, "nope")
    assert span == statement.span_at(line, column)


@pytest.mark.parametrize(
    ("text", "sent", "word"),
    [
        # a #name became a longer literal before the bad word, and the bad word is in the literal
        ("SELECT #s AS s, nope", "SELECT 'a much longer value' AS s, nope", "nope"),
        ("SELECT 1 AS a, interval #s", "SELECT 1 AS a, interval 'abc'", "#s"),
        (
            "LET b = interval #s",
            "SELECT typeof(v), CAST(v AS VARCHAR) FROM (SELECT (interval 'abc'\n) AS v\n) AS q",
            "#s",
        ),
        ("SELECT 1 AS a, interval #s, 2 AS b", "COPY (SELECT 1 AS a, interval 'abc', 2 AS b\n) TO 'x'", "#s"),
        # a :name became a typed parameter
        ("SELECT :p AS p, nope", "DESCRIBE (SELECT CAST($p AS INTEGER) AS p, nope\n)", "nope"),
        # LET's expression: the statement's first words are not in the SQL run
        ("LET b = 'x' || nope", "SELECT typeof(v) FROM (SELECT ('x' || nope\n) AS v\n) AS q", "nope"),
        ("LET b =\n  1 +\n  nope", "SELECT typeof(v) FROM (SELECT (1 +\n  nope\n) AS v\n) AS q", "nope"),
        # EXPORT's query starts on the statement's second line
        (
            "EXPORT (\n  SELECT 1 AS a,\n    nope) TO 'x.csv'",
            "COPY (SELECT 1 AS a,\n    nope\n) TO 'x'",
            "nope",
        ),
        ("DESCRIBE (\n  SELECT 1 AS a,\n    nope\n)", "DESCRIBE (SELECT 1 AS a,\n    nope\n)", "nope"),
        ("LET x =\n  (SELECT 1 AS a,\n    nope)", "SELECT ((SELECT 1 AS a,\n    nope)\n) AS v", "nope"),
        # the query ended too soon: the wrapper's ')' is the one after it
        ("EXPORT (SELECT 1 +) TO 'x.csv'", "COPY (SELECT 1 +\n) TO 'x' (FORMAT csv)", ")"),
    ],
)
def test_text_changed_before_it_ran_points_at_what_the_user_wrote(text: str, sent: str, word: str) -> None:
    statement = split(text)[0]
    span = engine_span(statement, *engine_position(sent))
    assert span == statement.span_at(*where(text, word))


def test_past_the_end_of_the_statement_is_its_end() -> None:
    statement = split("SELECT 1; SELECT (1) + ;")[1]
    # DESCRIBE (SELECT (1) +\n) fails at the wrapper's ')' on a line the statement does not have
    assert engine_span(statement, 2, ")", 0) == Span(2, 1, 24)
    error = locate(QueryError("Parser Error: syntax error at end of input"), statement)
    assert error.span == Span(2, 1, 24)


def test_a_wrapped_error_keeps_the_position_of_the_one_it_wraps() -> None:
    statement = split("SELECT 1;\nEXPORT (SELECT nope) TO 'x.csv'")[1]
    cause = translate_error_of("COPY (SELECT nope\n) TO '/nonexistent-noctra-dir/never.csv'")
    try:
        raise QueryError(f"export failed: {cause.message}") from cause
    except QueryError as wrapped:
        assert locate(wrapped, statement).span == Span(2, 2, 16)


def translate_error_of(sql: str) -> QueryError:
    connection = duckdb.connect()
    try:
        connection.execute(sql)
    except duckdb.Error as exc:
        return translate_error(exc)
    finally:
        connection.close()
    raise AssertionError(f"{sql!r} ran")


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("SELECT 1;  LET x = 2", (1, "SELECT CAST($v AS DATE) AS v", 12)),
        # a query Noctra ran for USE (an Iceberg table's metadata): a word or two in common
        (
            "SELECT 1;  USE 's3://lake/t' OPTIONS (format = 'iceberg')",
            (1, "SELECT file FROM glob('s3://lake/t/metadata/*.metadata.json') ORDER BY try_cast...", 17),
        ),
    ],
)
def test_nothing_alike_is_the_statement_start(text: str, position: tuple[int, str, int]) -> None:
    statement = split(text)[1]
    error = QueryError("Conversion Error")
    error.engine_position = position
    assert locate(error, statement).span == statement.span


POSITIONS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
sql_text = st.text(alphabet=st.sampled_from(list("SELECT nope,'\"()$#:;-/*\n\r\t 日é1")), max_size=60)


@POSITIONS
@given(sql_text, st.integers(min_value=-2, max_value=6), sql_text, st.integers(min_value=-1, max_value=90))
def test_any_position_maps_to_the_statement_or_nothing(text: str, line: int, shown: str, caret: int) -> None:
    statement = Statement(text or "x", 3, 2, 5, 0)
    span = engine_span(statement, line, shown.replace("\n", " "), caret)
    assert span is None or (span.statement == 3 and span.line >= 2 and span.column >= 1)
