"""The REPL driven by real key sequences through prompt_toolkit's pipe input (issue 12, "Done when")."""

from __future__ import annotations

from pathlib import Path

import pytest

from noctra.session import Session
from tests.repl.conftest import CTRL_C, ENTER, TAB, UP, drive


def test_multi_line_statement_runs_at_its_semicolon(repl_dir: Path) -> None:
    run = drive(["SELECT 40", ENTER, "+ 2 AS answer", ENTER, ";", ENTER], home=repl_dir)
    assert "answer" in run.out and "42" in run.out
    assert "...>" in run.screen  # the continuation prompt was drawn
    assert "1 row" in run.err


def test_completion_after_from_offers_sources_and_tables(repl_dir: Path) -> None:
    run = drive(
        ["USE 't.csv' AS sales;", ENTER, "USE 'people.db' AS crm;", ENTER, "SELECT * FROM ", TAB],
        home=repl_dir,
    )
    assert "table (CSV)" in run.screen
    assert "crm.users" in run.screen
    assert "source SQLite" in run.screen


def test_completion_after_from_completes_what_runs(repl_dir: Path) -> None:
    run = drive(
        ["USE 't.csv' AS sales;", ENTER, "SELECT name FROM sal", TAB, " ORDER BY id;", ENTER], home=repl_dir
    )
    assert "Smith, J" in run.out


def test_completion_after_alias_dot_lists_that_database_tables(repl_dir: Path) -> None:
    run = drive(
        ["USE 'people.db' AS crm;", ENTER, "SELECT name FROM crm.", TAB, " ORDER BY id;", ENTER],
        home=repl_dir,
    )
    assert "Ann" in run.out and "Bo" in run.out


def test_completion_after_table_alias_dot_lists_its_columns(repl_dir: Path) -> None:
    run = drive(["USE 't.csv' AS sales;", ENTER, "SELECT * FROM sales s WHERE s.", TAB], home=repl_dir)
    assert "column BIGINT" in run.screen
    assert "amount" in run.screen


def test_completion_after_hash_offers_variables(repl_dir: Path) -> None:
    run = drive(["LET country = 'AR';", ENTER, "SELECT #coun", TAB, " AS c;", ENTER], home=repl_dir)
    assert "AR" in run.out


def test_completion_inside_a_path_quote_offers_files(repl_dir: Path) -> None:
    run = drive(["USE 'peo", TAB, "' AS p;", ENTER, "USE '", TAB], home=repl_dir)
    assert "p: SQLite, 1 table" in run.err
    assert "file CSV" in run.screen and "file Parquet" in run.screen


def test_mode_csv(repl_dir: Path) -> None:
    run = drive([".mode csv", ENTER, "SELECT 1 AS a, 'x,y' AS b;", ENTER], home=repl_dir)
    assert run.out == 'a,b\n1,"x,y"\n'


def test_read_runs_a_script(repl_dir: Path) -> None:
    (repl_dir / "s.rql").write_text("USE 't.csv' AS t;\nSELECT count(*) AS n FROM t;\n", encoding="utf-8")
    run = drive([".mode csv", ENTER, ".read s.rql", ENTER], home=repl_dir)
    assert run.out == "n\n3\n"
    assert "t: CSV, 3 columns" in run.err


def test_output_to_a_file_then_back_to_the_screen(repl_dir: Path) -> None:
    run = drive(
        [
            ".output o.csv",
            ENTER,
            ".mode csv",
            ENTER,
            "SELECT 1 AS a;",
            ENTER,
            ".output",
            ENTER,
            "SELECT 2 AS b;",
            ENTER,
        ],
        home=repl_dir,
    )
    assert (repl_dir / "o.csv").read_text(encoding="utf-8") == "a\n1\n"
    assert run.out == "b\n2\n"


def test_once_sends_only_the_next_result_to_a_file(repl_dir: Path) -> None:
    run = drive(
        [".mode csv", ENTER, ".once one.csv", ENTER, "SELECT 1 AS a;", ENTER, "SELECT 2 AS b;", ENTER],
        home=repl_dir,
    )
    assert (repl_dir / "one.csv").read_text(encoding="utf-8") == "a\n1\n"
    assert run.out == "b\n2\n"


def test_missing_parameter_is_asked_for_and_bound(repl_dir: Path) -> None:
    run = drive(
        [".mode csv", ENTER, "SELECT :v + 1 AS w, typeof(:v) AS t;", ENTER, "41", ENTER], home=repl_dir
    )
    assert ":v => " in run.screen
    assert run.out == "w,t\n42,INTEGER\n"


def test_asked_text_is_a_value_never_sql(repl_dir: Path) -> None:
    run = drive([".mode csv", ENTER, "SELECT :who AS who;", ENTER, "x' OR 1=1 --", ENTER], home=repl_dir)
    assert run.out == "who\nx' OR 1=1 --\n"


def test_history_is_kept_across_two_runs(repl_dir: Path) -> None:
    drive(["SELECT 'from run one'", ENTER, "AS h;", ENTER], home=repl_dir)
    history = (repl_dir / "state" / "noctra" / "history").read_text(encoding="utf-8")
    assert "+SELECT 'from run one'\n+AS h;" in history  # one entry, the whole statement
    run = drive([UP, ENTER, ".history", ENTER], home=repl_dir)
    assert "from run one" in run.out
    assert "1  SELECT 'from run one'" in run.err


def test_error_keeps_the_session(repl_dir: Path) -> None:
    run = drive(
        [
            ".mode csv",
            ENTER,
            "USE 't.csv' AS t;",
            ENTER,
            "LET x = 5;",
            ENTER,
            "SELEC oops;",
            ENTER,
            "LET x = (SELECT nope FROM t);",
            ENTER,
            "SELECT count(*) + #x AS n FROM t;",
            ENTER,
        ],
        home=repl_dir,
    )
    assert run.err.count("noctra: error:") == 2
    assert "statement 1, line 1" in run.err
    assert run.out == "n\n8\n"


def test_ctrl_c_at_the_prompt_clears_the_line(repl_dir: Path) -> None:
    run = drive(["SELECT 'lost'", CTRL_C, ".mode csv", ENTER, "SELECT 'kept' AS k;", ENTER], home=repl_dir)
    assert run.out == "k\nkept\n"


def test_prompt_shows_the_current_source_and_the_toolbar_the_status(repl_dir: Path) -> None:
    run = drive(["USE 't.csv' AS sales;", ENTER, "SELECT 1;", ENTER], home=repl_dir)
    assert "noctra [sales]>" in run.screen
    assert "Engine: DuckDB" in run.screen and "Source: sales" in run.screen


def test_dot_command_errors_keep_the_repl(repl_dir: Path) -> None:
    run = drive(
        [".mode nope", ENTER, ".frobnicate", ENTER, ".mode csv", ENTER, "SELECT 3 AS c;", ENTER],
        home=repl_dir,
    )
    assert "noctra: error: .mode takes one of" in run.err
    assert "noctra: error: unknown command .frobnicate" in run.err
    assert run.out == "c\n3\n"


def test_two_repls_on_one_session_file_keep_both_sources(repl_dir: Path) -> None:
    state = repl_dir / "state" / "noctra" / "session.toml"
    first, second = Session(state_path=state), Session(state_path=state)
    try:
        drive(["USE 't.csv' AS from_first;", ENTER, "LET a = 1;", ENTER], home=repl_dir, session=first)
        drive(["USE 'people.db' AS from_second;", ENTER, "LET b = 2;", ENTER], home=repl_dir, session=second)
        drive(["USE 'p.parquet' AS again_first;", ENTER], home=repl_dir, session=first)
    finally:
        first.close()
        second.close()
    with Session(state_path=state) as third:
        assert [s.alias for s in third.catalog().sources()] == ["from_first", "from_second", "again_first"]
        assert sorted(third.variables) == ["a", "b"]


def test_the_footer_says_when_a_stored_result_answered(
    repl_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run 1 notes the query, run 2 stores its result, run 3 is answered from it (SPEC 4.5)."""
    monkeypatch.setenv("NOCTRA_CACHE_RESULT_MIN_MS", "0")
    query = "SELECT count(*) AS n FROM 't.csv';" + ENTER
    run = drive([query, query, query], home=repl_dir)
    footers = [line for line in run.err.splitlines() if " row" in line]
    assert len(footers) == 3, run.err
    assert ["stored result" in f for f in footers] == [False, False, True]
    box = "┌───┐\n│ n │\n├───┤\n│ 3 │\n└───┘\n"
    assert run.out == box * 3  # the stored answer is the computed one
