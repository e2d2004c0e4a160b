"""Variables whose type holds DuckDB's "NULL" type (LET v = [], [NULL], {'b': NULL}, MAP {}),
or a list of numbers (DECIMAL(3,1)[]), survive a restart: the CLI and the Python API.

The type of such a value is written with a quoted identifier ("NULL"[], STRUCT(b "NULL")); the
saved type is pasted into SQL at restore, so variables.is_type_name takes that one identifier and
nothing else: a session file edited into SQL is still left out with a warning (SPEC 2.3).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from noctra import Session
from noctra.errors import NoctraError
from noctra.variables import Variable, is_type_name, problem_with
from tests.conftest import RunNoctra

# LET expression -> the type DuckDB gives its value (typeof), as SHOW VARS says it.
ROUND_TRIPS = [
    ("[]", '"NULL"[]'),
    ("[NULL]", '"NULL"[]'),
    ("[NULL, NULL]", '"NULL"[]'),
    ("list_value()", '"NULL"[]'),
    ("[[]]", '"NULL"[][]'),
    ("[[], [NULL]]", '"NULL"[][]'),
    ("[[[NULL]]]", '"NULL"[][][]'),
    ("array_value(NULL)", '"NULL"[1]'),
    ('[NULL, NULL]::"NULL"[2]', '"NULL"[2]'),
    ("{'a': 1, 'b': NULL}", 'STRUCT(a INTEGER, b "NULL")'),
    ("{'b': NULL}", 'STRUCT(b "NULL")'),
    ("{'NULL': NULL}", 'STRUCT("NULL" "NULL")'),
    (
        "{'a b': NULL, 'select': [], '\"q': [[NULL]]}",
        'STRUCT("a b" "NULL", "select" "NULL"[], """q" "NULL"[][])',
    ),
    ("{'x': {'y': [NULL]}}", 'STRUCT(x STRUCT(y "NULL"[]))'),
    ("[{'a': NULL}]", 'STRUCT(a "NULL")[]'),
    ("[{'a': []}, {'a': [NULL]}]", 'STRUCT(a "NULL"[])[]'),
    ("MAP {}", 'MAP("NULL", "NULL")'),
    ("MAP {'a': NULL}", 'MAP(VARCHAR, "NULL")'),
    ("MAP {1: [NULL]}", 'MAP(INTEGER, "NULL"[])'),
    ("MAP {'k': {'z': NULL}}", 'MAP(VARCHAR, STRUCT(z "NULL"))'),
    ("[MAP {}]", 'MAP("NULL", "NULL")[]'),
    ("union_value(k := NULL)", 'UNION(k "NULL")'),
    ("[]::INTEGER[]", "INTEGER[]"),
    ("[]::VARCHAR[][]", "VARCHAR[][]"),
    ("[NULL]::INTEGER[1]", "INTEGER[1]"),
    ("{'a': NULL}::STRUCT(a INTEGER)", "STRUCT(a INTEGER)"),
    ("[1, NULL]", "INTEGER[]"),
    # A list of numbers is no number: its text [1.5, NULL] is kept as a list's.
    ("[1.5::DECIMAL(3,1), NULL]", "DECIMAL(3,1)[]"),
    ("[]::DECIMAL(18,3)[]", "DECIMAL(18,3)[]"),
    ("[1::DECIMAL(18,3)]::DECIMAL(18,3)[1]", "DECIMAL(18,3)[1]"),
    ("[170141183460469231731687303715884105727::HUGEINT]", "HUGEINT[]"),
    ("['inf'::DOUBLE, 'nan'::DOUBLE]", "DOUBLE[]"),
    ("NULL", "NULL"),
]
IDS = [expression for expression, _ in ROUND_TRIPS]
# :v binds the text CAST to the type, which DuckDB cannot do for this one (in the session that
# made it too): "VARCHAR can't be implicitly cast to any of the union member types".
UNBINDABLE = {"union_value(k := NULL)"}


@pytest.mark.parametrize(("expression", "type_name"), ROUND_TRIPS, ids=IDS)
def test_api_let_survives_a_new_session(expression: str, type_name: str, tmp_path: Path) -> None:
    state = tmp_path / "session.toml"
    read_back = "SELECT #v AS v, typeof(#v) AS t" + ("" if expression in UNBINDABLE else ", :v AS p")
    with Session(state_path=state) as first:
        first.execute(f"LET v = {expression}")
        made = first.variables["v"]
        shown = first.sql(read_back).arrow()
    assert made.type == type_name
    with Session(state_path=state) as second:
        assert second.warnings == []
        assert second.variables["v"] == made
        again = second.sql(read_back).arrow()
    # Same Arrow types and values (repr: NaN equals itself there).
    assert (again.schema, repr(again.to_pylist())) == (shown.schema, repr(shown.to_pylist()))


@pytest.mark.parametrize(("expression", "type_name"), ROUND_TRIPS, ids=IDS)
def test_cli_let_survives_a_restart(
    expression: str, type_name: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    shown = "SELECT #v AS v, typeof(#v) AS t; SHOW VARS"
    first = run_noctra("query", "--format", "csv", f"LET v = {expression}; {shown}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"({type_name})" in first.stderr  # the LET message: v = [] ("NULL"[])
    second = run_noctra("query", "--format", "csv", shown, cwd=tmp_path)
    assert (second.returncode, second.stderr) == (0, ""), second.stderr
    assert second.stdout == first.stdout


# A list of numbers reaches SQLite as its text, like any other list (it was pasted bare: [1.5]
# is a quoted column name there, "no such column: 1.5").
def test_a_list_of_decimals_in_a_statement_sqlite_runs(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "f.db") as conn:
        conn.execute("CREATE TABLE t (a INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
    with Session(state_path=tmp_path / "s.toml") as s:
        s.execute(f"USE '{tmp_path / 'f.db'}' AS f; LET v = [1.5::DECIMAL(3,1)]; LET w = [1, 2]")
        assert s.sql("SELECT #v AS v, #w AS w, a FROM f.t").rows(1) == [("[1.5]", "[1, 2]", 1)]


# --- the type check stays strict -----------------------------------------------------------------

TYPES_TAKEN = [type_name for _, type_name in ROUND_TRIPS if type_name != "NULL"] + [
    '"NULL"',
    '"NULL"[3][]',
    'MAP("NULL", STRUCT(a "NULL"[2]))',
    'UNION(a "NULL", b INTEGER)',
]

TYPES_REFUSED = [
    '"null"[]',  # DuckDB writes "NULL", never another case
    '"Null"',
    '"NULL"(1)',
    '"NULL"(INTEGER)',
    '"NULL" "NULL"',
    '"NULL" INTEGER',
    'INTEGER "NULL"',
    '"NULL"[',
    '"NULL"[x]',
    '"NULL"[]]',
    '"NULL""',
    '""NULL""',
    '"NULL" || 1',
    '"NULL"::INTEGER',
    '"NULL"); SELECT 1; --',
    '"NULL"[]) + (SELECT 1',
    "\"NULL\"[] AS x FROM read_text('secret.txt')",
    'STRUCT("NULL")',  # a field needs a name and a type
    'STRUCT(a "NULL"), (SELECT 1)',
    'STRUCT(a "NULL") --',
    'MAP("NULL")',
    'MAP("NULL", "NULL", "NULL")',
    '"my type"',  # another quoted name is no type DuckDB writes
    '"NULL" /* x */',
]


@pytest.mark.parametrize("type_name", TYPES_TAKEN)
def test_types_duckdb_writes_are_taken(type_name: str) -> None:
    assert is_type_name(type_name)


@pytest.mark.parametrize("type_name", TYPES_REFUSED)
def test_anything_else_is_no_type(type_name: str) -> None:
    assert not is_type_name(type_name)


@pytest.mark.parametrize(
    ("variable", "reason"),
    [
        (Variable("v", '"NULL"', None, 'CAST(NULL AS "NULL")'), "a NULL variable has the type NULL"),
        (Variable("v", '"NULL"[]', "[]", 'CAST((SELECT 1) AS "NULL"[])'), "is not the one Noctra writes"),
        (Variable("v", '"NULL"[]', "[]", "[]"), "is not the one Noctra writes"),
        (Variable("v", '"NULL"[]) + (SELECT 1', "[]", "[]"), "is not an SQL type"),
        (Variable("v", "DECIMAL(3,1)[]", "[1.5]", "[1.5]"), "is not the one Noctra writes"),
        (Variable("v", "DECIMAL(3,1)", "[1.5]", "CAST('[1.5]' AS DECIMAL(3,1))"), "is not a number"),
    ],
)
def test_edited_variables_are_still_refused(variable: Variable, reason: str) -> None:
    problem = problem_with(variable)
    assert problem is not None and reason in problem


def test_a_session_file_edited_around_a_null_type_is_left_out(tmp_path: Path) -> None:
    state = tmp_path / "session.toml"
    with Session(state_path=state) as first:
        first.execute("LET a = []; LET b = {'x': NULL}; LET c = [NULL]")
    text = state.read_text()
    # a's type closes the CAST and adds a query; so does b's literal.
    a_type = 'type = "\\"NULL\\"[]"\ntext = "[]"'
    text = text.replace(a_type, a_type.replace('[]"', '[]) + (SELECT 1"', 1))
    text = text.replace('AS STRUCT(x \\"NULL\\"))', 'AS STRUCT(x \\"NULL\\")) + (SELECT 1)')
    state.write_text(text)
    with Session(state_path=state) as second:
        assert len(second.warnings) == 2, (second.warnings, text)
        assert "variable 'a' left out: " in second.warnings[0]
        assert "is not an SQL type" in second.warnings[0]
        assert "variable 'b' left out: its literal" in second.warnings[1]
        assert list(second.variables) == ["c"]
        with pytest.raises(NoctraError, match="unknown variable '#a'"):
            second.execute("SELECT #a")
