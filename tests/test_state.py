"""Sessions that survive restarts: the session file, missing files, corrupt files, --db workspaces."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest

from noctra import Session
from noctra.engine.duck import DuckEngine
from noctra.errors import NoctraError, SourceError
from noctra.results import Result
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


def test_restart_restores_sources_variables_and_current(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = work / "state" / "session.toml"
    with Session(state_path=state) as first:
        first.execute(
            "USE 'sales.csv' AS sales OPTIONS (delimiter = ','); USE 'crm.db' AS crm; "
            "LET who = 'it''s \"me\" #1; -- x'; LET since = DATE '2024-01-02'; LET n = NULL; USE sales"
        )
    assert state.exists() and [p.name for p in state.parent.iterdir()] == ["session.toml"]
    sniffs: list[str] = []
    original = DuckEngine._pinned_csv
    monkeypatch.setattr(
        DuckEngine, "_pinned_csv", lambda self, source: sniffs.append(source.alias) or original(self, source)
    )
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


def test_a_corrupt_session_file_is_set_aside(work: Path) -> None:
    state = work / "session.toml"
    state.write_text("version = 1\n[[sources]\nthis is not toml")
    with Session(state_path=state) as session:
        assert len(session.warnings) == 1 and "set aside as session.toml.corrupt-" in session.warnings[0]
        assert len(session.sources) == 0
        session.execute("USE 'sales.csv'")
    assert [p.name.startswith("session.toml.corrupt-") for p in sorted(work.glob("session.toml*"))] == [
        False,
        True,
    ]
    state.write_text('version = 1\n[[sources]]\nalias = "x"\n')  # valid TOML, wrong shape
    with Session(state_path=state) as session:
        assert "could not be read" in session.warnings[0]


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
