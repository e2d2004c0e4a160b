"""The TUI driven by Textual's Pilot (issue 13, "Done when")."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from noctra.session import Session
from noctra.tui.app import NoctraApp
from noctra.tui.screens import KEYS, ExportScreen, HelpScreen, HistoryScreen, ProfileScreen
from noctra.tui.widgets.catalog import CatalogTree
from noctra.tui.widgets.editor import CompletionMenu, Editor

SIZE = (120, 40)


async def run(app: NoctraApp, pilot: Pilot[int], text: str, key: str = "f5") -> None:
    """Put text in the editor, the cursor at its end, press key and wait for the worker."""
    app.editor.text = text
    app.editor.move_cursor(app.editor.document.end)
    await pilot.press(key)
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_editor_has_focus_and_f5_runs_the_statement_under_the_cursor(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.focused, Editor)
        app.editor.text = "SELECT 1 AS a;\nSELECT 42 AS x, 'y' AS s, NULL AS n;\nSELECT 3"
        app.editor.move_cursor((1, 5))
        await pilot.press("f5")
        await app.workers.wait_for_complete()
        await pilot.pause()
        grid = app.grid
        assert grid.row_count == 1
        assert [c.name for c in grid.columns] == ["x", "s", "n"]
        assert [grid.value(0, i) for i in range(3)] == ["42", "y", None]
        assert "1 row" in app.messages


async def test_typed_text_runs(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"select 7 as seven")
        await pilot.press("f5")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.grid.value(0, 0) == "7"


async def test_f6_runs_all_and_each_result_gets_a_tab(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "SELECT 1 AS a; SELECT 2 AS b; SELECT 3 AS c", key="f6")
        assert len(app.query("ResultsGrid")) == 3
        assert app.grid.columns[0].name == "c"


async def test_use_shows_the_source_in_the_catalog(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "USE 't.csv' AS sales")
        assert "sales: CSV" in app.messages
        tree = app.query_one(CatalogTree)
        labels = [str(node.label) for node in tree.root.children]
        assert any(label.startswith("sales CSV") for label in labels)
        node = tree.root.children[0]
        node.expand()
        await pilot.pause()
        assert [str(child.label) for child in node.children] == ["id bigint", "name varchar", "amount double"]
        assert "Source: sales" in app.status_bar.text


async def test_i_in_the_catalog_inserts_the_qualified_name(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "USE 'people.db'; USE 't.csv'", key="f6")
        app.editor.text = "SELECT * FROM "
        app.editor.move_cursor(app.editor.document.end)
        tree = app.query_one(CatalogTree)
        tree.focus()
        tree.root.children[0].expand()
        await pilot.pause()
        tree.move_cursor(tree.root.children[0].children[0])
        await pilot.press("i")
        await pilot.pause()
        assert app.editor.text == "SELECT * FROM people.users"
        assert isinstance(app.focused, Editor)


async def test_enter_in_the_catalog_opens_a_node_and_inserts_a_column(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "USE 'people.db'; USE 't.csv' AS sales", key="f6")
        app.editor.text = "SELECT "
        app.editor.move_cursor(app.editor.document.end)
        await pilot.press("f4")
        tree = app.query_one(CatalogTree)
        assert app.focused is tree
        people = tree.root.children[0]
        tree.move_cursor(people)
        await pilot.press("enter")  # a source opens: its tables
        await pilot.pause()
        assert people.is_expanded and str(people.children[0].label).startswith("users")
        await pilot.press("down", "enter")  # a table opens: its columns
        await pilot.pause()
        users = people.children[0]
        assert users.is_expanded and str(users.children[0].label).startswith("id ")
        assert app.editor.text == "SELECT "  # nothing inserted yet
        await pilot.press("down", "down", "enter")  # a column: Enter inserts table.column
        await pilot.pause()
        assert app.editor.text == f"SELECT users.{str(users.children[1].label).split()[0]}"
        assert isinstance(app.focused, Editor)
        await pilot.press(*", ", "f4")
        tree.move_cursor(tree.root.children[1])
        await pilot.press("enter", "down", "i")  # a file source's column: alias.column
        await pilot.pause()
        assert app.editor.text.endswith(", sales.id")
        await pilot.press("f4")
        tree.move_cursor(people)
        await pilot.press("enter")  # Enter again closes it
        await pilot.pause()
        assert not people.is_expanded


async def test_a_million_rows_open_as_arrow_and_scroll_to_the_end(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "SELECT range AS i, range * 2 AS j FROM range(1000000)")
        grid = app.grid
        assert isinstance(grid.table, pa.Table)
        assert grid.row_count == 1_000_000
        grid.focus()
        await pilot.press("end")
        await pilot.pause()
        assert grid.cursor_row == 999_999
        assert grid.scroll_offset.y + grid.size.height - 2 >= 1_000_000
        assert grid.value(999_999, 1) == "1999998"
        # Only the chunks drawn became Python values: the first and the last.
        assert grid.chunks_read <= 3


async def test_escape_cancels_a_long_query_and_the_next_one_runs(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        app.editor.text = "SELECT sum(a.range * b.range) FROM range(100000) a, range(100000) b"
        await pilot.press("f5")
        await pilot.pause(0.8)
        assert app.running_since is not None
        assert "Esc cancels" in app.status_bar.text
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "interrupted" in app.messages.lower() or "cancel" in app.messages.lower()
        await run(app, pilot, "SELECT 5 AS five")
        assert app.grid.value(0, 0) == "5"


async def test_catalog_opened_during_a_long_query_leaves_it_running_then_esc_says_cancelled(
    app: NoctraApp,
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "CREATE TABLE own AS SELECT 1 AS a")
        tree = app.query_one(CatalogTree)
        own = next(n for n in tree.root.children if str(n.label) == "own")
        app.editor.text = "SELECT sum(a.range * b.range) FROM range(100000) a, range(100000) b"
        await pilot.press("f5")
        await pilot.pause(0.5)
        assert app.running_since is not None
        own.expand()  # the UI thread never waits for the query, nor ends it
        await pilot.pause()
        assert [str(child.label) for child in own.children] == ["error: a statement is running"]
        assert app.running_since is not None and "Esc cancels" in app.status_bar.text
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "cancelled after" in app.status_bar.text, app.status_bar.text
        own.collapse()
        own.expand()  # asked again once the query ended: its columns
        await pilot.pause()
        assert [str(child.label) for child in own.children] == ["a integer"]


async def test_an_error_shows_with_its_hint_and_moves_the_cursor(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "SELECT 1;\nSELECT nope FROM 't.csv'")
        assert "error:" in app.messages
        assert "nope" in app.messages
        assert app.editor.cursor_location[0] == 1
        assert app.is_running
        await run(app, pilot, "SELECT 2 AS two")
        assert app.grid.value(0, 0) == "2"


async def test_status_bar_follows_engine_threads_and_timing(app: NoctraApp, sample_files: Path) -> None:
    with sqlite3.connect(sample_files / "big.db") as conn:
        conn.execute("CREATE TABLE nums (n INTEGER)")
        conn.executemany("INSERT INTO nums VALUES (?)", [(i,) for i in range(10)])
    conn.close()
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "SELECT 1")
        duck = app.status_bar.text
        assert duck.startswith("Engine: DuckDB")
        assert "I/O: Local (threads=" in duck and "Memory:" in duck and " ms · 1 row" in duck
        await run(app, pilot, "USE 'big.db'; SELECT count(*) FROM nums", key="f6")
        assert app.status_bar.text.startswith("Engine: SQLite")
        await run(app, pilot, "SELECT 1 FROM range(3)")
        assert app.status_bar.text.startswith("Engine: DuckDB") and "3 rows" in app.status_bar.text


async def test_export_dialog_writes_a_file_that_reads_back(app: NoctraApp, sample_files: Path) -> None:
    target = sample_files / "out.parquet"
    async with app.run_test(size=SIZE) as pilot:
        app.editor.text = "SELECT range AS n FROM range(5)"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        app.screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "5 rows" in app.messages
    assert pq.read_table(target).column("n").to_pylist() == [0, 1, 2, 3, 4]


async def test_tab_completes_from_the_catalog(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "USE 't.csv' AS sales")
        app.editor.text = "SELECT * FROM sal"
        app.editor.move_cursor(app.editor.document.end)
        await pilot.press("tab")
        await pilot.pause()
        assert app.editor.text == "SELECT * FROM sales"
        app.editor.text = "SELECT am"
        app.editor.move_cursor(app.editor.document.end)
        await pilot.press("tab")
        await pilot.pause()
        menu = app.query_one(CompletionMenu)
        if menu.display:
            await pilot.press("enter")
            await pilot.pause()
        assert app.editor.text.startswith("SELECT am")


async def test_history_is_shared_and_searchable(app: NoctraApp, tmp_path: Path) -> None:
    (tmp_path / "history").write_text("\n# 2026-01-01\n+SELECT 'from the repl' AS r;\n")
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "SELECT 11 AS eleven")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        assert app.screen.shown[0] == "SELECT 11 AS eleven;"
        await pilot.press(*"repl")
        await pilot.press("enter")
        await pilot.pause()
        assert app.editor.text == "SELECT 'from the repl' AS r;"
    assert "+SELECT 11 AS eleven;" in (tmp_path / "history").read_text()


async def test_f1_lists_every_key(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        listed = " ".join(key for key, _ in KEYS).lower().replace("ctrl+", "ctrl+")
        for binding in app.BINDINGS:
            assert not isinstance(binding, tuple)
            for key in binding.key.split(","):
                assert key.replace("_", " ") in listed.replace("ctrl+pgup", "ctrl+pageup").replace(
                    "ctrl+pgdn", "ctrl+pagedown"
                ).replace("esc", "escape"), key
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_column_profile(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "SELECT * FROM 't.csv'")
        app.grid.focus()
        await pilot.press("right", "p")
        await pilot.pause()
        assert isinstance(app.screen, ProfileScreen)
        assert app.screen.column.name == "name"


async def test_copy_cell_and_row(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "SELECT * FROM 't.csv'")
        app.grid.focus()
        await pilot.press("down", "right", "c")
        assert app.clipboard == ""  # row 2's name is NULL: copied as nothing
        await pilot.press("r")
        assert app.clipboard == "2\t\t20.0"


async def test_files_open_after_the_first_frame_and_show_the_current_ones_rows(
    session: Session, tmp_path: Path
) -> None:
    # As in `noctra query` and the REPL, each FILE is USE'd in order: the last is current,
    # and its rows (a database's first table) are the ones shown.
    app = NoctraApp(session, files=["t.csv", "people.db"], history_file=tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.editor.text == 'SELECT * FROM "people"."users";\n'
        assert [c.name for c in app.grid.columns][:2] == ["id", "name"]
        assert "Source: people" in app.status_bar.text
        children = app.query_one(CatalogTree).root.children
        assert [str(n.label).split()[0] for n in children] == ["t", "people"]
        assert str(children[1].label).endswith("●")


async def test_a_file_last_on_the_command_line_is_the_one_shown(session: Session, tmp_path: Path) -> None:
    app = NoctraApp(session, files=["people.db", "t.csv"], history_file=tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.editor.text == 'SELECT * FROM "t";\n'
        assert app.grid.row_count == 3
        assert "Source: t " in app.status_bar.text


async def test_a_missing_file_is_an_error_on_screen(session: Session, tmp_path: Path) -> None:
    app = NoctraApp(session, files=["nope.csv"], history_file=tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "error:" in app.messages and "nope.csv" in app.messages
        assert app.is_running


async def test_a_missing_file_does_not_keep_the_next_ones_closed(
    session: Session, sample_files: Path, tmp_path: Path
) -> None:
    # `noctra nope.csv t.csv`: t.csv opens and its rows show; the error stays up as a notice.
    app = NoctraApp(
        session, files=["nope.csv", str(sample_files / "t.csv")], history_file=tmp_path / "history"
    )
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [s.alias for s in session.catalog().sources()] == ["t"]
        assert app.grid.row_count == 3
        notices = [str(n.message) for n in app._notifications]
        assert any("nope.csv" in n for n in notices), notices


async def test_text_typed_while_the_files_open_is_kept(session: Session, tmp_path: Path) -> None:
    app = NoctraApp(session, history_file=tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"select 1")
        app._files_opened("SELECT * FROM 't.csv';\n", ["t: CSV"], None)  # as open_files ends
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.editor.text == "select 1"
        assert app.grid.row_count == 3


async def test_a_huge_result_holds_only_the_first_million_rows_and_says_so(app: NoctraApp) -> None:
    """`SELECT *` over billions of rows must not pull them all into memory (SPEC 3, 5)."""
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "SELECT range AS i FROM range(5000000)")
        assert app.grid.row_count == 1_000_000
        assert app.grid.value(999_999, 0) == "999999"
        assert "first 1,000,000 rows shown, the rest not read (EXPORT writes all)" in app.messages
        await run(app, pilot, "SELECT 42 AS after")  # the session is free again
        assert app.grid.value(0, 0) == "42"


async def test_a_repeated_query_is_answered_by_its_stored_result(
    sample_files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grid reads results batch by batch; a whole read still notes the run (SPEC 4.5)."""
    monkeypatch.chdir(sample_files)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("NOCTRA_CACHE_RESULT_MIN_MS", "0")
    with Session() as session:
        app = NoctraApp(session, history_file=tmp_path / "history")
        async with app.run_test(size=SIZE) as pilot:
            stored = []
            for _ in range(3):
                await run(app, pilot, "SELECT count(*) AS n FROM 't.csv'")
                assert app.grid.value(0, 0) == "3"
                stored.append("stored result" in app.messages)
            assert stored == [False, False, True]


async def test_control_characters_in_a_column_name_never_reach_the_terminal(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, 'SELECT 1 AS "bell\x07", 2 AS "esc\x1b[31mred"')
        header = app.grid.render_line(0).text
        assert "\x07" not in header and "\x1b" not in header
        assert "bell␇" in header and "esc␛[31mred" in header
