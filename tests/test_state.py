"""Sessions that survive restarts: the session file, missing files, corrupt files, --db workspaces."""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
import tomllib
from pathlib import Path

import duckdb
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from noctra import Session
from noctra.config import toml_value
from noctra.engine.duck import readers
from noctra.engine.sources import Source, SourceKind
from noctra.errors import NoctraError, SourceError
from noctra.output.model import Result
from noctra.redact import has_credentials
from noctra.state import CorruptStateError, SavedState, load, parse, snapshot
from noctra.variables import Variable
from tests.conftest import RunMain


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sales.csv").write_text("id,amount\n1,10\n2,20\n")
    with sqlite3.connect(tmp_path / "crm.db") as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO users VALUES (1, 'Ann')")
    conn.close()
    return tmp_path


def names_beside(path: Path) -> list[str]:
    """The files in path's directory, less the lock file that serializes saves."""
    return sorted(p.name for p in path.parent.iterdir() if p.name != f"{path.name}.lock")


def test_restart_restores_sources_variables_and_current(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = work / "state" / "session.toml"
    with Session(state_path=state) as first:
        first.execute(
            "USE 'sales.csv' AS sales OPTIONS (delimiter = ','); USE 'crm.db' AS crm; "
            "LET who = 'it''s \"me\" #1; -- x'; LET since = DATE '2024-01-02'; LET n = NULL; USE sales"
        )
    assert state.exists() and names_beside(state) == ["session.toml"]
    sniffs: list[str] = []
    original = readers.pinned_csv

    def spy(source: Source, rows: readers.Rows) -> tuple[str, dict[str, str]]:
        sniffs.append(source.alias)
        return original(source, rows)

    monkeypatch.setattr(readers, "pinned_csv", spy)
    with Session(state_path=state) as second:
        assert [(s.alias, s.kind.value, s.status) for s in second.sources] == [
            ("sales", "CSV", "ok"),
            ("crm", "SQLite", "ok"),
        ]
        assert second.sources.current == "sales"
        assert second.sources.get("sales").options == {"delimiter": ","}  # type: ignore[union-attr]
        row = second.sql("SELECT #who, #since, #n IS NULL, (SELECT sum(amount) FROM sales)").rows(1)
        assert (
            row[0][0] == 'it\'s "me" #1; -- x' and str(row[0][1]) == "2024-01-02" and row[0][2:] == (True, 30)
        )
        assert second.sql("SELECT name FROM crm.users").rows(1) == [("Ann",)]
        assert sniffs == []  # the pinned reader was kept: no second sniff
        assert second.warnings == []


def test_a_deleted_file_comes_back_as_missing(work: Path) -> None:
    state = work / "session.toml"
    with Session(state_path=state) as first:
        first.execute("USE 'sales.csv' AS sales; USE 'crm.db' AS crm")
    (work / "sales.csv").rename(work / "away.csv")
    with Session(state_path=state) as second:
        assert second.warnings == ["source 'sales' is missing: sales.csv (kept; it returns with the file)"]
        shown = second.sql("SHOW SOURCES").rows(5)
        assert [(r[0], r[4]) for r in shown] == [("sales", "missing"), ("crm", "ok")]
        with pytest.raises(SourceError, match="source 'sales' is missing"):
            second.execute("SELECT * FROM sales")
        assert second.sql("SELECT count(*) FROM crm.users").rows(1) == [(1,)]
        (work / "away.csv").rename(work / "sales.csv")
        assert second.sql("SELECT sum(amount) FROM sales").rows(1) == [(30,)]
        assert second.sources.get("sales").status == "ok"  # type: ignore[union-attr]


MISSING_SALES_AND_CRM = [
    # (statement, whether it reads a missing source)
    ("SELECT * FROM sales", True),
    ("SELECT s.amount FROM sales AS s", True),
    ('SELECT * FROM "SALES"', True),
    ("WITH q AS (SELECT 1) SELECT * FROM q, sales", True),
    ("SELECT * FROM crm.users", True),
    ("SELECT * FROM crm.main.users", True),
    ("INSERT INTO sales VALUES (1, 2)", True),
    ("SELECT 42 AS sales", False),
    ("SELECT 1 AS crm, 2 AS sales", False),
    ("SELECT sales.a FROM (SELECT 7 AS a) AS sales", False),
    ("WITH sales AS (SELECT 7 AS a) SELECT a FROM sales", False),
    ("SELECT 'sales' AS name", False),
]


@pytest.mark.parametrize(("sql", "reads"), MISSING_SALES_AND_CRM)
def test_only_a_statement_reading_a_missing_source_fails(work: Path, sql: str, reads: bool) -> None:
    """A word spelled like a missing source (a column alias, a WITH name) is not a read of it."""
    state = work / "session.toml"
    with Session(state_path=state) as first:
        first.execute("USE 'sales.csv' AS sales; USE 'crm.db' AS crm")
    (work / "sales.csv").rename(work / "away.csv")
    (work / "crm.db").rename(work / "away.db")
    with Session(state_path=state) as second:
        if reads:
            with pytest.raises(SourceError, match=r"source '(sales|crm)' is missing"):
                second.execute(sql)
        else:
            assert len(second.sql(sql).rows(5)) == 1


def test_a_corrupt_session_file_is_set_aside(work: Path) -> None:
    state = work / "session.toml"
    state.write_text("version = 1\n[[sources]\nthis is not toml")
    with Session(state_path=state) as session:
        assert len(session.warnings) == 1 and "set aside as session.toml.corrupt-" in session.warnings[0]
        assert len(session.sources) == 0
        session.execute("USE 'sales.csv'")
    kept = [name for name in names_beside(state) if name.startswith("session.toml")]
    assert [name.startswith("session.toml.corrupt-") for name in kept] == [False, True]
    state.write_text('version = 1\n[[sources]]\nalias = "x"\n')  # valid TOML, an entry of a wrong shape
    with Session(state_path=state) as session:
        assert "source 'x' left out: it has no 'kind'" in session.warnings[0]


def test_a_failed_statement_does_not_change_the_file(work: Path) -> None:
    state = work / "session.toml"
    with Session(state_path=state) as session:
        session.execute("USE 'sales.csv' AS sales; LET x = 1")
        before = state.read_text()
        for bad in ("USE 'nope.csv' AS sales", "LET x = (SELECT nosuch)", "UNSET x, y"):
            with pytest.raises(NoctraError):
                session.execute(bad)
            assert state.read_text() == before


def test_credentials_never_reach_the_session_file(work: Path) -> None:
    state = work / "session.toml"
    with Session(state_path=state) as session:
        session.execute("USE 'sales.csv' AS sales")
        secret = "https://user:hunter2@example.com/data.csv?X-Amz-Signature=abc123"
        session.sources.add(
            session.sources.require("sales").__class__(
                alias="remote", path=secret, location=secret, kind=session.sources.require("sales").kind
            )
        )
        session.save_state()
    text = state.read_text()
    assert "hunter2" not in text and "abc123" not in text


def test_db_workspace_keeps_tables_across_restarts(work: Path) -> None:
    with Session(db=work / "ws.duckdb") as first:
        first.execute("USE 'sales.csv' AS sales; CREATE TABLE kept AS SELECT * FROM sales; USE ws")
        first.execute("CREATE TABLE also AS SELECT 1 AS x")
    assert (work / ".noctra" / "session.toml").exists()
    with duckdb.connect(str(work / "ws.duckdb")) as con:
        assert sorted(r[0] for r in con.execute("SHOW TABLES").fetchall()) == ["also", "kept"]
    with Session(db=work / "ws.duckdb") as second:
        assert second.sql("SELECT count(*) FROM kept").rows(1) == [(2,)]
        assert second.sql("SELECT sum(amount) FROM sales").rows(1) == [(30,)]


def test_sqlite_workspace(work: Path) -> None:
    with Session(db=work / "box.sqlite") as session:
        session.execute("CREATE TABLE t AS SELECT 42 AS answer")
    with sqlite3.connect(work / "box.sqlite") as conn:
        assert conn.execute("SELECT answer FROM t").fetchone() == (42,)
    conn.close()


def test_cli_restores_unless_fresh(run_main: RunMain, sample_files: Path) -> None:
    assert run_main("-c", "USE 't.csv' AS kept; LET k = 7").code == 0
    again = run_main("--format", "csv", "-c", "SELECT count(*) AS n, #k AS k FROM kept")
    assert (again.code, again.out) == (0, "n,k\n3,7\n")
    fresh = run_main("--fresh", "-c", "SELECT count(*) FROM kept")
    assert fresh.code == 1 and "kept" in fresh.err


def test_a_source_that_fails_to_restore_is_reported_once_and_tried_when_it_changes(work: Path) -> None:
    state = work / "session.toml"
    with Session(state_path=state) as first:
        first.execute("USE 'sales.csv' AS sales")
    # A source whose file is there but cannot be read as its kind (an edited CSV that is no CSV).
    (work / "sales.csv").write_bytes(b"\x00\x01 not text \xff\xfe")
    with Session(state_path=state) as second:
        for _ in range(3):
            second.execute("SELECT 1")
        failed = [w for w in second.warnings if "could not be restored" in w]
        assert len(failed) == 1 and failed[0].startswith("source 'sales' could not be restored")
        (work / "sales.csv").write_text("id,amount\n1,5\n")
        assert second.sql("SELECT sum(amount) FROM sales").rows(1) == [(5,)]


def test_cli_prints_restore_warnings(run_main: RunMain, sample_files: Path) -> None:
    assert run_main("-c", "USE 't.csv' AS gone").code == 0
    (sample_files / "t.csv").unlink()
    result = run_main("-c", "SHOW SOURCES", "--format", "csv")
    assert result.code == 0
    assert "noctra: warning: source 'gone' is missing" in result.err
    assert "gone,CSV,t.csv,,missing," in result.out


def test_outcomes_are_results(work: Path) -> None:
    with Session() as session:
        assert isinstance(session.execute("SELECT 1")[0], Result)


def test_runs_that_change_nothing_do_not_write_the_file(work: Path) -> None:
    state = work / "session.toml"
    with Session(state_path=state) as session:
        session.execute("SELECT 1; SHOW SOURCES")
    assert not state.exists()
    with Session(state_path=state) as session:
        session.execute("USE 'sales.csv' AS sales")
    saved = state.read_text()
    with Session(state_path=state, restore=False) as fresh:
        fresh.execute("SELECT 42")
    assert state.read_text() == saved  # --fresh alone does not wipe the saved session


# --- broken, unreadable and unwritable session files (SPEC §6: nothing lost) -------------

skip_as_root = pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes whatever the modes say")


def make_unreadable(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chmod 000; as root (which ignores it), reading that very file raises PermissionError instead."""
    path.chmod(0)
    if os.geteuid() != 0:
        return
    inode = path.stat().st_ino
    read_bytes = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self == path and self.exists() and self.stat().st_ino == inode:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)


def test_two_corruptions_in_one_second_keep_both_backups(tmp_path: Path) -> None:
    path = tmp_path / "session.toml"
    for garbage in ("first [[", "second [["):
        path.write_text(garbage)
        with pytest.raises(CorruptStateError):
            load(path)
    backups = sorted(tmp_path.glob("session.toml.corrupt-*"))
    assert sorted(p.read_text() for p in backups) == ["first [[", "second [["]
    assert not path.exists()


SOURCE = b'version = 1\n[[sources]]\nalias = "a"\npath = "p"\nlocation = "l"\n'


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe not UTF-8",
        b"",
        b"version = 2\n",
        b'version = 1\nsources = "x"\n',
        b"version = 1\nx = " + b"[" * 5000 + b"]" * 5000 + b"\n",
    ],
    ids=["not-utf8", "empty", "version", "not-tables", "deep"],
)
def test_load_raises_nothing_but_corrupt_state_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "session.toml"
    path.write_bytes(content)
    with pytest.raises(CorruptStateError) as caught:
        load(path)
    assert isinstance(caught.value, NoctraError) and caught.value.is_set_aside
    assert caught.value.moved_to.read_bytes() == content and not path.exists()
    assert str(caught.value).startswith(f"session file {path} could not be read (")


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (SOURCE + b'kind = "NOPE"\n', "source 'a' left out: kind 'NOPE' is not one of"),
        (SOURCE + b'kind = "CSV"\nsignature = ["a"]\n', "source 'a' left out: "),
        (b'version = 1\n[[variables]]\nname = "v"\n', "variable 'v' left out: it has no 'type'"),
    ],
    ids=["kind", "signature", "no-type"],
)
def test_an_entry_noctra_never_writes_is_left_out_and_the_rest_kept(
    tmp_path: Path, entry: bytes, reason: str
) -> None:
    """USAGE, Sessions: an entry edited by hand is left out with one warning, the rest restored."""
    path = tmp_path / "session.toml"
    kept = b'\n[[variables]]\nname = "n"\ntype = "INTEGER"\ntext = "5"\nliteral = "5"\n'
    path.write_bytes(entry + kept)
    saved = load(path)
    assert [v.name for v in saved.variables] == ["n"] and saved.sources == []
    assert len(saved.problems) == 1 and reason in saved.problems[0], saved.problems
    assert saved.problems[0].startswith(f"session file {path}: ")
    assert path.read_bytes() == entry + kept  # nothing set aside


def test_an_unreadable_session_file_is_set_aside_not_overwritten(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = work / "session.toml"
    with Session(state_path=path) as session:
        session.execute("USE 'crm.db' AS crm")
    before = path.read_bytes()
    make_unreadable(path, monkeypatch)
    with Session(state_path=path) as session:
        (warning,) = session.warnings
        assert "(Permission denied); set aside as session.toml.unreadable-" in warning
        session.execute("USE 'sales.csv' AS sales")
        assert session.warnings == [warning]
    (aside,) = work.glob("session.toml.unreadable-*")
    aside.chmod(0o600)
    assert aside.read_bytes() == before and 'alias = "sales"' in path.read_text()


def test_a_directory_in_place_of_the_session_file(work: Path) -> None:
    path = work / "session.toml"
    (path / "inside").mkdir(parents=True)
    with Session(state_path=path) as session:
        (warning,) = session.warnings
        assert f"session file {path} could not be read (it is a directory)" in warning
        session.execute("USE 'sales.csv' AS sales")
        assert len(session.warnings) == 2 and session.warnings[1].startswith("could not save the session to")
        assert session.sql("SELECT sum(amount) FROM sales").rows(1) == [(30,)]
    assert (path / "inside").is_dir()


def test_a_corrupt_file_that_cannot_be_moved_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "session.toml"
    path.write_text("broken [[")
    replace = os.replace

    def refuse(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        if Path(source) == path:
            raise PermissionError(errno.EROFS, "Read-only file system")
        replace(source, target)

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(CorruptStateError) as caught:
        load(path)
    assert not caught.value.is_set_aside and caught.value.moved_to == path
    assert "it cannot be renamed: Read-only file system); left where it is" in str(caught.value)
    assert path.read_text() == "broken [[" and names_beside(path) == ["session.toml"]


@skip_as_root
def test_a_corrupt_file_in_a_read_only_directory(work: Path) -> None:
    directory = work / "state"
    directory.mkdir()
    path = directory / "session.toml"
    path.write_text("broken [[")
    directory.chmod(0o555)
    try:
        with Session(state_path=path) as session:
            (warning,) = session.warnings
            assert "could not be read" in warning and "cannot be renamed: Permission denied" in warning
            session.execute("USE 'sales.csv' AS sales")
            assert len(session.warnings) == 2 and session.warnings[1].startswith("could not save the session")
        assert path.read_text() == "broken [[" and names_beside(path) == ["session.toml"]
    finally:
        directory.chmod(0o755)


@pytest.mark.parametrize("how", ["a file in the way", pytest.param("read-only", marks=skip_as_root)])
def test_an_unwritable_state_directory_gives_one_warning(work: Path, how: str) -> None:
    directory = work / "state"
    if how == "read-only":
        directory.mkdir(mode=0o555)
    else:
        directory.write_text("")
    with Session(state_path=directory / "session.toml") as session:
        session.execute("USE 'sales.csv' AS sales")
        (warning,) = session.warnings
        assert warning.startswith(f"could not save the session to {directory / 'session.toml'}: ")
        if how == "a file in the way":
            assert warning.endswith(
                f"{directory} is a file, not a directory (move it, or set XDG_STATE_HOME)"
            )
    directory.chmod(0o755)


# --- the TOML written: any option key or value reads back as it was ---------------------

keys = st.text(max_size=8) | st.sampled_from(["a.b", "with space", "ключ", "", '"', "=", "#", "[x]"])
scalars = (
    st.text(max_size=12)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.booleans()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200)
@given(
    options=st.dictionaries(keys, values, max_size=4),
    dialect=st.dictionaries(keys, st.text(max_size=8), max_size=3),
    alias=st.text(min_size=1, max_size=8),
    path=st.text(max_size=16),
    text=st.none() | st.text(max_size=12),
)
def test_snapshot_reads_back_as_written(
    options: dict[str, object], dialect: dict[str, str], alias: str, path: str, text: str | None
) -> None:
    assume(not has_credentials(path))
    source = Source(
        alias=alias,
        path=path,
        location=path,
        kind=SourceKind.PARQUET,
        options=options,
        read_pattern=path,
        dialect=dialect,
        reader=path,
    )
    variable = Variable(alias, "VARCHAR", text, path)
    assert parse(snapshot([source], [variable], alias)) == SavedState([source], [variable], alias)


@given(st.dictionaries(keys, values, max_size=4))
def test_toml_value_reads_back_as_written(value: dict[str, object]) -> None:
    assert tomllib.loads(f"v = {toml_value(value)}") == {"v": value}


def test_toml_value_quotes_keys_that_are_not_bare() -> None:
    written = toml_value({"a.b": 1, "c d": "\t\x7f", "é": True, "": [], "plain-key_1": {"x.y": 2}})
    assert written == '{"a.b" = 1, "c d" = "\\t\\u007f", "é" = true, "" = [], plain-key_1 = {"x.y" = 2}}'


# --- entries edited by hand (SPEC 2.3: a variable's value never runs as SQL) ----------------

# Values of every kind LET keeps: each is restored as it was, with no warning.
LET_VALUES = {
    "i": "42",
    "big": "9223372036854775807",
    "huge": "170141183460469231731687303715884105727::HUGEINT",
    "dec": "1.50",
    "dbl": "-0.0::DOUBLE",
    "flt": "0.1::FLOAT",
    "inf": "'inf'::DOUBLE",
    "e": "1e300",
    "s": "'it''s \"q\" ; -- x'",
    "nul": "'a' || chr(0) || 'b'",
    "nl": "'a' || chr(10) || 'b'",
    "d": "DATE '2024-01-02'",
    "tstz": "TIMESTAMPTZ '2024-01-02 03:04:05+02'",
    "ns": "'2024-01-01 00:00:00.123456789'::TIMESTAMP_NS",
    "iv": "INTERVAL '1 month 2 days 3 hours'",
    "blob": "'\\x00\\xFF'::BLOB",
    "lst": "['a''b', NULL]",
    "st": "{'a b': 1, 'select': 'x''y', '\"q\"': [1.5]}",
    "mp": "MAP {'k': 1}",
    "un": "union_value(num := 2)",
    "arr": "[1, 2]::INTEGER[2]",
    "en": "'b'::ENUM('a', 'b')",
    "n": "NULL",
    "tn": "CAST(NULL AS INTEGER)",
    "b": "true",
    "js": "'{\"a\": [1]}'::JSON",
}


def test_every_value_let_makes_is_restored_without_a_warning(work: Path) -> None:
    state = work / "session.toml"
    with Session(state_path=state) as first:
        for name, expression in LET_VALUES.items():
            first.execute(f"LET {name} = {expression}")
        made = dict(first.variables)
        shown = first.sql("SELECT " + ", ".join(f"#{name}" for name in LET_VALUES)).rows(1)
    with Session(state_path=state) as second:
        assert second.warnings == []
        assert second.variables == made
        assert second.sql("SELECT " + ", ".join(f"#{name}" for name in LET_VALUES)).rows(1) == shown


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (old, text)
    path.write_text(text.replace(old, new))


def test_hand_edited_variables_are_left_out_with_one_warning_each(work: Path) -> None:
    (work / "secret.txt").write_text("TOPSECRET")
    state = work / "session.toml"
    with Session(state_path=state) as first:
        first.execute("USE 'sales.csv' AS sales; LET a = 1; LET b = 2; LET c = 3; LET d = 'kept'")
    # A literal that is a query; a type that closes the CAST; a number SQLite would paste as it is.
    _edit(state, 'literal = "1"', "literal = \"(SELECT content FROM read_text('secret.txt'))\"")
    _edit(
        state,
        'type = "INTEGER"\ntext = "2"\nliteral = "2"',
        'type = "INTEGER) + (SELECT 1"\ntext = "2"\nliteral = "2"',
    )
    _edit(state, 'text = "3"\nliteral = "3"', 'text = "3 OR 1=1"\nliteral = "CAST(\'3 OR 1=1\' AS INTEGER)"')
    edited = state.read_text()
    with Session(state_path=state) as second:
        assert len(second.warnings) == 3, second.warnings
        for name, warning in zip("abc", second.warnings, strict=True):
            assert warning.startswith(f"session file {state}: variable '{name}' left out: ")
            assert warning.endswith(f"(LET {name} = ... replaces it)")
        assert "is not the one Noctra writes for INTEGER '1'" in second.warnings[0]
        assert "'INTEGER) + (SELECT 1' is not an SQL type" in second.warnings[1]
        assert "'3 OR 1=1' is not a number" in second.warnings[2]
        assert list(second.variables) == ["d"] and [s.alias for s in second.sources] == ["sales"]
        with pytest.raises(NoctraError, match="unknown variable '#a'"):
            second.execute("SELECT #a")
        assert second.sql("SELECT #d, sum(amount) FROM sales").rows(1) == [("kept", 30)]
        second.execute("SELECT 1")
        assert state.read_text() == edited  # nothing changed: the file is as the user left it
        second.execute("LET a = 10")
    saved = tomllib.loads(state.read_text())
    assert {v["name"]: v["literal"] for v in saved["variables"]}["a"] == "10"
    with Session(state_path=state) as third:
        assert len(third.warnings) == 2 and third.sql("SELECT #a").rows(1) == [(10,)]


def test_an_alias_use_takes_quoted_is_restored_and_an_empty_one_is_left_out(work: Path) -> None:
    state = work / "session.toml"
    with Session(state_path=state) as first:
        first.execute("""USE 'sales.csv' AS "t; x"; USE 'crm.db' AS crm""")
    with Session(state_path=state) as second:
        assert second.warnings == []
        assert second.sql('SELECT sum(amount) FROM "t; x"').rows(1) == [(30,)]
    _edit(state, 'alias = "crm"', 'alias = ""')
    with Session(state_path=state) as third:
        assert third.warnings == [f"session file {state}: source '' left out: an alias cannot be empty"]
        assert [s.alias for s in third.sources] == ["t; x"]


def test_a_script_of_lets_serializes_each_value_once(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each save wrote every variable again: N LETs cost O(N^2) (R4S-3)."""
    from noctra import state as state_module

    written: list[object] = []
    value = state_module._value
    monkeypatch.setattr(state_module, "_value", lambda v: written.append(v) or value(v))
    count = 300
    with Session(state_path=work / "session.toml") as session:
        session.execute("".join(f"LET v{i} = {i};" for i in range(count)))
        session.execute("LET v7 = 'again'; UNSET v8")
    # name, type, text and literal of each variable; the last two statements rewrite a few.
    assert len(written) <= 4 * count + 50, len(written)
    saved = tomllib.loads((work / "session.toml").read_text())
    assert [v["name"] for v in saved["variables"]] == [f"v{i}" for i in range(count) if i != 8]
    assert saved["variables"][7]["literal"] == "'again'"


names = st.sampled_from([f"v{i}" for i in range(6)])


@settings(max_examples=100)
@given(st.lists(st.tuples(st.sampled_from(["let", "unset", "other"]), names, st.integers(0, 3)), max_size=30))
def test_snapshot_is_right_whatever_the_order_of_changes(steps: list[tuple[str, str, int]]) -> None:
    """Entries are reused from one snapshot to the next: never a stale one."""
    mine: dict[str, Variable] = {}
    other = [Variable("o", "INTEGER", "1", "1")]
    for action, name, value in steps:
        if action == "let":
            mine[name] = Variable(name, "INTEGER", str(value), str(value))
        elif action == "unset":
            mine.pop(name, None)
        else:  # another session of the same process saves in between
            assert parse(snapshot([], other, None)).variables == other
        assert parse(snapshot([], list(mine.values()), None)).variables == list(mine.values())


def test_a_save_deletes_the_temps_of_killed_writers_only(tmp_path: Path) -> None:
    import subprocess

    from noctra import state

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid is free now: a writer killed between its temp's write and rename
    names = [f".session-{dead.pid}-k1ll.toml", f".session-{os.getppid()}-live.toml", ".session-x-old.toml"]
    for name in names:
        (tmp_path / name).write_text("x = 1\n", encoding="utf-8")
    state._synced.pop(tmp_path / "session.toml", None)  # the first save of a process sweeps
    state.save(tmp_path / "session.toml", "a = 1\n")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([names[1], names[2], "session.toml"])


def test_the_current_source_stays_current_while_its_file_is_away(tmp_path: Path) -> None:
    # A restore that finds the current source's file gone kept it listed but not current; the
    # next save then dropped "current", so it was lost for good when the file came back.
    from noctra import Session

    state_path = tmp_path / "s.toml"
    (tmp_path / "a.csv").write_text("x\n1\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("y\n2\n", encoding="utf-8")
    with Session(state_path=state_path) as s:
        s.execute(f"USE '{tmp_path / 'a.csv'}' AS a; USE '{tmp_path / 'b.csv'}' AS b")
    (tmp_path / "b.csv").rename(tmp_path / "b.away")
    with Session(state_path=state_path) as s:
        assert s.sources.current == "b"
        assert any("'b' is missing" in w for w in s.warnings)
        s.execute("LET n = 1")  # a save while it is away
        assert "Source: b" in s.status().line()
    (tmp_path / "b.away").rename(tmp_path / "b.csv")
    with Session(state_path=state_path) as s:
        assert s.sources.current == "b"
        assert s.sql("SELECT y FROM b").rows(1) == [(2,)]
