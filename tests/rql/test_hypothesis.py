"""Properties: the splitter and parser only raise NoctraError; LET -> #name -> SELECT round-trips."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noctra import Session
from noctra.errors import NoctraError
from noctra.rql.parser import parse
from noctra.rql.splitter import split

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROUND_TRIP = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

FRAGMENTS = [
    "USE",
    "use",
    "'",
    "''",
    '"',
    "AS",
    "OPTIONS",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    "=",
    ":",
    "::",
    ";",
    "--",
    "/*",
    "*/",
    "$$",
    "$t$",
    "$1",
    "#",
    "#x",
    ":p",
    "E'",
    "\\",
    "\n",
    " ",
    "DESCRIBE",
    "SHOW",
    "SOURCES",
    "TABLES",
    "FROM",
    "LET",
    "UNSET",
    "SET",
    "RESET",
    "EXPORT",
    "TO",
    "FORMAT",
    "DETACH",
    "IMPORT",
    "MAP",
    "FILTER",
    "OUTPUT",
    "SELECT",
    "x.db",
    "a",
    "1",
    "1.5",
    "-",
    "true",
    "NULL",
    "ñ",
    "\r\n",
    "\t",
]

statement_like = st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join)
any_text = st.one_of(st.text(max_size=80), statement_like)


@FAST
@given(any_text)
def test_splitter_and_parser_raise_only_noctra_errors(text: str) -> None:
    try:
        statements = split(text)
    except NoctraError:
        return
    for statement in statements:
        with contextlib.suppress(NoctraError):
            parse(statement, current_source="t")


@FAST
@given(
    st.lists(
        st.sampled_from(
            [
                "select 1",
                "select 'a;b'",
                "select $$x;y$$",
                "select /* ; */ 2",
                'select "q;" from t',
                "USE 'a;b.csv' AS x",
            ]
        ),
        min_size=1,
        max_size=6,
    )
)
def test_split_inverts_join(parts: list[str]) -> None:
    assert [s.text for s in split(";\n".join(parts))] == parts


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    # Generated statements run in a directory of their own: nothing they write lands elsewhere.
    previous = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("hypothesis"))
    try:
        with Session() as s:
            yield s
    finally:
        os.chdir(previous)


text_values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
) | st.sampled_from(["it's", "a\\b", "#x", ";", "line\nbreak", "--", "/*", "$$", "''", '"'])

values = st.one_of(
    text_values,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=True, width=64),
    st.booleans(),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.decimals(min_value=-(10**9), max_value=10**9, places=3, allow_nan=False),
    st.lists(text_values, max_size=4),
    st.lists(st.integers(min_value=-1000, max_value=1000), max_size=4),
    st.fixed_dictionaries({"a": text_values, "b": st.integers(min_value=0, max_value=99)}),
    st.none(),
)


@ROUND_TRIP
@given(values)
def test_let_hash_select_round_trip(session: Session, value: object) -> None:
    session.execute("LET v = $1", [value])
    [(back, same_type)] = session.sql("SELECT #v, typeof(#v) = typeof($1)", [value]).rows(1)
    if isinstance(value, decimal.Decimal):
        assert decimal.Decimal(str(back)) == value
    else:
        assert back == value
    assert same_type


@ROUND_TRIP
@given(text_values)
def test_named_parameter_from_variable_round_trip(session: Session, value: str) -> None:
    session.execute("LET p = $1", [value])
    assert session.sql("SELECT :p").rows(1) == [(value,)]


@FAST
@given(any_text)
def test_rewrites_raise_only_noctra_errors(text: str) -> None:
    from noctra.rql.interpolate import interpolate, named_parameters
    from noctra.rql.rewrite import replace_qualified_tables, rewrite_table_references

    with contextlib.suppress(NoctraError):
        rewrite_table_references(text, lambda path, table: "db", lambda path: True, lambda path: None)
        interpolate(text, {"x": "1"})
        named_parameters(text)
        replace_qualified_tables(text, {("a", "b"): "c"})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(any_text)
def test_a_session_answers_any_text_with_results_or_noctra_errors(session: Session, text: str) -> None:
    try:
        for outcome in session.execute(text):
            if hasattr(outcome, "rows"):
                outcome.rows(3)
    except NoctraError:
        pass
