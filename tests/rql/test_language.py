"""The language of SPEC §2.3 and §2.6: variables, parameters, retired commands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from noctra import Session
from noctra.errors import NoctraError, QueryError, RqlSyntaxError, VariableError
from noctra.output.model import Message


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.csv").write_text("id,name\n1,Ann\n2,Bo\n3,Cy\n")
    s = Session()
    s.execute("USE 't.csv' AS t")
    return s


def text_of(session: Session, script: str) -> str:
    [outcome] = session.execute(script)
    assert isinstance(outcome, Message)
    return outcome.text


def test_let_keeps_the_sql_type(session: Session) -> None:
    session.execute(
        "LET n = 18; LET r = 1.21; LET b = true; LET s = 'AR'; LET d = DATE '2024-01-01';"
        "LET ts = TIMESTAMP '2024-01-01 10:11:12'; LET m = (SELECT max(id) FROM t); LET z = NULL"
    )
    row = session.sql(
        "SELECT typeof(#n), typeof(#r), typeof(#b), typeof(#s), typeof(#d), typeof(#ts), #m"
    ).rows(1)
    assert row == [("INTEGER", "DECIMAL(3,2)", "BOOLEAN", "VARCHAR", "DATE", "TIMESTAMP", 3)]
    assert session.sql("SELECT #z IS NULL, #d + 1").rows(1) == [(True, dt.date(2024, 1, 2))]


def test_let_is_evaluated_once(session: Session) -> None:
    session.execute("LET r = random()")
    first = session.sql("SELECT #r").rows(1)
    assert session.sql("SELECT #r").rows(1) == first


def test_show_vars_lists_name_type_value(session: Session) -> None:
    session.execute("LET country = 'AR'; LET n = 2")
    assert session.sql("SHOW VARS").rows(5) == [("country", "VARCHAR", "AR"), ("n", "INTEGER", "2")]


def test_unset_removes_and_unknown_is_an_error(session: Session) -> None:
    session.execute("LET a = 1; LET b = 2; UNSET a, b")
    assert session.variables == {}
    session.execute("LET a = 1")
    with pytest.raises(VariableError, match="unknown variable 'nope'") as info:
        session.execute("UNSET a, nope")
    assert info.value.hint == "defined variables: a"
    assert "a" in session.variables  # nothing changed


def test_failed_let_keeps_the_old_value(session: Session) -> None:
    session.execute("LET x = 5")
    with pytest.raises(QueryError):
        session.execute("LET x = (SELECT nosuch FROM t)")
    assert session.sql("SELECT #x").rows(1) == [(5,)]


def test_hash_variable_is_not_replaced_in_strings_identifiers_or_comments(session: Session) -> None:
    session.execute("LET x = 7")
    row = session.sql("SELECT '#x' AS \"#x\", #x -- #x\n").rows(1)
    assert row == [("#x", 7)]


def test_hash_variable_cannot_inject_sql(session: Session) -> None:
    session.execute("LET evil = 'x''; DROP VIEW t; --'")
    assert session.sql("SELECT #evil").rows(1) == [("x'; DROP VIEW t; --",)]
    assert session.sql("SELECT count(*) FROM t").rows(1) == [(3,)]


def test_unknown_hash_variable_names_it_and_the_defined_ones(session: Session) -> None:
    session.execute("LET known = 1")
    with pytest.raises(RqlSyntaxError) as info:
        session.execute("SELECT 1;\nSELECT #nope")
    assert info.value.message == "unknown variable '#nope'"
    assert info.value.hint is not None and "#known" in info.value.hint
    assert info.value.span is not None and (info.value.span.statement, info.value.span.line) == (2, 2)


def test_hash_variable_works_in_noctra_commands(session: Session, tmp_path: Path) -> None:
    session.execute("LET file = 't.csv'; USE #file AS again")
    assert session.sql("SELECT count(*) FROM again").rows(1) == [(3,)]


def test_named_parameters_from_variables_and_arguments(session: Session) -> None:
    session.execute("LET min_id = 2")
    assert session.sql("SELECT name FROM t WHERE id >= :min_id ORDER BY id").rows(5) == [("Bo",), ("Cy",)]
    assert session.sql("SELECT name FROM t WHERE id >= :min_id", min_id=3).rows(5) == [("Cy",)]
    assert session.sql("SELECT :v", v="'; DROP VIEW t; --").rows(1) == [("'; DROP VIEW t; --",)]
    assert session.sql("SELECT count(*) FROM t").rows(1) == [(3,)]


def test_unknown_named_parameter(session: Session) -> None:
    with pytest.raises(RqlSyntaxError, match="unknown parameter ':who'"):
        session.execute("SELECT * FROM t WHERE name = :who")


def test_colon_in_slices_casts_and_struct_keys_is_not_a_parameter(session: Session) -> None:
    row = session.sql("SELECT [1, 2, 3][2:3] AS s, '5'::INTEGER AS c, {'k':1} AS st").rows(1)
    assert row == [([2, 3], 5, {"k": 1})]


def test_positional_parameters(session: Session) -> None:
    assert session.sql("SELECT name FROM t WHERE id = $1", [2]).rows(1) == [("Bo",)]
    with pytest.raises(NoctraError, match="positional values were given"):
        session.execute("SELECT :a", [1])


def test_set_and_reset_are_tracked(session: Session) -> None:
    session.execute("SET threads = 1")
    assert ("threads", "1", "SET") in session.sql("SHOW CONFIG").rows(10)
    session.execute("RESET threads")
    assert all(row[2] == "default" for row in session.sql("SHOW CONFIG").rows(10) if row[0] == "threads")


def test_import_works_as_use_with_a_warning(session: Session) -> None:
    [message] = session.execute("IMPORT 't.csv' AS old")
    assert isinstance(message, Message)
    assert message.notes == ["IMPORT is deprecated: write USE 't.csv' AS old"]
    assert session.sql("SELECT count(*) FROM old").rows(1) == [(3,)]


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("MAP upper(name) AS big", "MAP is retired: use SELECT upper(name) AS big, * FROM t"),
        (
            "FILTER id > 1 AND name <> 'x'",
            "FILTER is retired: use SELECT * FROM t WHERE id > 1 AND name <> 'x'",
        ),
        ("OUTPUT TO 'out.csv'", "OUTPUT TO is retired: use EXPORT (SELECT * FROM t) TO 'out.csv'"),
        (
            "OUTPUT TO 'out.csv' FORMAT CSV",
            "OUTPUT TO is retired: use EXPORT (SELECT * FROM t) TO 'out.csv' FORMAT CSV",
        ),
    ],
)
def test_retired_commands_print_the_replacement(session: Session, statement: str, message: str) -> None:
    with pytest.raises(RqlSyntaxError) as info:
        session.execute(statement)
    assert info.value.message == message


def test_retired_command_without_a_current_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Session() as s, pytest.raises(RqlSyntaxError) as info:
        s.execute("FILTER x > 1")
    assert info.value.message == "FILTER is retired: use SELECT * FROM <source> WHERE x > 1"


def test_sql_error_position_is_mapped_to_the_script_line(session: Session) -> None:
    script = "SELECT 1;\n\nSELECT id,\n       nme\nFROM t"
    with pytest.raises(QueryError) as info:
        session.execute(script)
    assert info.value.span is not None
    assert (info.value.span.statement, info.value.span.line, info.value.span.column) == (2, 4, 8)


def test_option_errors_list_the_valid_ones(session: Session) -> None:
    with pytest.raises(NoctraError) as info:
        session.execute("USE 't.csv' AS x OPTIONS (delimitr = ';')")
    assert info.value.message == "unknown CSV option 'delimitr'"
    assert info.value.hint is not None and "delimiter" in info.value.hint
    with pytest.raises(NoctraError, match="must be true or false"):
        session.execute("USE 't.csv' AS x OPTIONS (header = 'maybe')")
    with pytest.raises(NoctraError, match="unknown format 'xml'"):
        session.execute("USE 't.csv' AS x OPTIONS (format = 'xml')")


@pytest.mark.parametrize(
    ("statement", "hint_start"),
    [
        ("SELECT #totl", "did you mean #total? defined variables: #total, "),
        ("SELECT :totl", "did you mean :total? defined variables: :total, "),
        ("UNSET totl", "did you mean total? defined variables: total, "),
    ],
    ids=["hash", "param", "unset"],
)
def test_an_unknown_name_s_hint_puts_the_close_one_first_and_stays_short(
    session: Session, statement: str, hint_start: str
) -> None:
    # 40 variables: the hint used to list all of them; it names the close one and counts the rest.
    session.execute("".join(f"LET v{i:02d} = {i};" for i in range(40)) + "LET total = 1")
    with pytest.raises(NoctraError) as info:
        session.execute(statement)
    hint = info.value.hint or ""
    assert hint.startswith(hint_start), hint
    assert "and 33 more (SHOW VARS lists them)" in hint
    assert len(hint) < 200


NAMED_ITEMS = [
    # (statement with #x, whether each #x is a whole SELECT item and so named "#x")
    ("SELECT #x", [True]),
    ("select a, #x from t", [True]),
    ("SELECT DISTINCT #x FROM t", [True]),
    ("SELECT #x /* note */ FROM t", [True]),
    ("SELECT #x, -- note\n #x FROM t", [True, True]),
    ("SELECT #x UNION ALL SELECT #x", [True, True]),
    ("WITH c AS (SELECT #x) SELECT * FROM c", [True]),
    ("SELECT (SELECT #x) AS y", [True]),
    ("SELECT 1; SELECT #x", [True]),
    ("EXPORT (SELECT #x) TO 'f.csv'", [True]),
    ("SELECT #x AS y", [False]),
    ("SELECT #x y", [False]),
    ("SELECT #x + 1", [False]),
    ("SELECT #x::INTEGER", [False]),
    ("SELECT -#x", [False]),
    ("SELECT coalesce(NULL, #x)", [False]),
    ("SELECT CASE WHEN true THEN #x END", [False]),
    ("SELECT a FROM t WHERE a = #x ORDER BY a", [False]),
    ("SELECT a FROM t WHERE a IN (#x, 2)", [False]),
    ("SELECT a FROM t GROUP BY a, #x", [False]),
    ("SELECT a FROM t ORDER BY a, #x", [False]),
    ("SELECT a FROM t LIMIT #x", [False]),
    ("SELECT a FROM t QUALIFY #x", [False]),
    ("INSERT INTO t VALUES (#x)", [False]),
    ("UPDATE t SET a = #x", [False]),
    ("USE #x AS t", [False]),
]


@pytest.mark.parametrize(("text", "named"), NAMED_ITEMS, ids=[t for t, _ in NAMED_ITEMS])
def test_a_hash_variable_that_is_a_whole_select_item_is_named_after_itself(
    text: str, named: list[bool]
) -> None:
    from noctra.rql.interpolate import interpolate

    out = interpolate(text, {"x": "5"}, sql=True)
    pieces = text.split("#x")
    expected = pieces[0] + "".join(
        ('5 AS "#x"' if is_named else "5") + piece for is_named, piece in zip(named, pieces[1:], strict=True)
    )
    assert out == expected
    assert interpolate(text, {"x": "5"}) == text.replace("#x", "5")


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("SELECT #x, #d, #s AS s, #x + 1 AS y", ["#x", "#d", "s", "y"]),
        ("SELECT id, #s FROM t ORDER BY id LIMIT 1", ["id", "#s"]),
        ("SELECT * FROM (SELECT #d) q", ["#d"]),
    ],
)
def test_select_of_a_variable_shows_its_name_not_its_literal(
    session: Session, query: str, names: list[str]
) -> None:
    # Before, the column was DuckDB's text of the literal: CAST('3.5' AS DECIMAL(2, 1)).
    session.execute("LET x = 3.5; LET d = DATE '2024-01-02'; LET s = 'hi'")
    table = session.sql(query).arrow()
    assert table.column_names == names
    literal = query.replace("#x", "3.5").replace("#d", "DATE '2024-01-02'").replace("#s", "'hi'")
    assert table.to_pylist() == [
        dict(zip(names, row.values(), strict=True)) for row in session.sql(literal).arrow().to_pylist()
    ]


def test_export_of_a_variable_writes_its_name_as_the_header(session: Session, tmp_path: Path) -> None:
    session.execute("LET x = 3.5; EXPORT (SELECT #x, id FROM t ORDER BY id LIMIT 1) TO 'x.csv'")
    import csv

    with (tmp_path / "x.csv").open(encoding="utf-8", newline="") as f:
        assert list(csv.reader(f)) == [["#x", "id"], ["3.5", "1"]]


@pytest.mark.parametrize("name", ["é", "año", "Größe", "_x", "x1", "日付", '"quoted_ok"'])
def test_a_variable_named_in_any_script_is_usable_as_hash_and_colon(session: Session, name: str) -> None:
    session.execute(f"LET {name} = 41")
    bare = name.strip('"')
    assert session.sql(f"SELECT #{bare} + 1 AS a, :{bare} AS b").rows(1) == [(42, 41)]


@pytest.mark.parametrize("name", ['"a b"', '"1x"', '"x-y"', '"#x"', '""""'])
def test_let_refuses_a_name_no_hash_could_use(session: Session, name: str) -> None:
    with pytest.raises(RqlSyntaxError, match="cannot be a variable name") as caught:
        session.execute(f"LET {name} = 1")
    assert caught.value.hint is not None and "letter or _" in caught.value.hint
    assert session.variables == {} or all(v.name != name.strip('"') for v in session.variables.values())
