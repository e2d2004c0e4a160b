"""Editor tabs: Ctrl+T opens one, Ctrl+W closes one (never the last), Alt+Left/Right switch."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent

from noctra.tui import history
from noctra.tui.app import NoctraApp
from noctra.tui.screens import ExportScreen
from noctra.tui.widgets.editor import Editor

SIZE = (120, 40)


async def settle(app: NoctraApp, pilot: Pilot[int]) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_each_tab_keeps_its_own_text_and_runs_its_own_statement(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        tabs = app.query_one("#editors", TabbedContent)
        assert tabs.has_class("single")  # one editor: no tab bar
        await pilot.press(*"select 1 as one")
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert len(app.editors) == 2 and not tabs.has_class("single")
        assert isinstance(app.focused, Editor) and app.focused is app.editor
        assert app.editor.text == ""
        await pilot.press(*"select 2 as two")
        await pilot.press("f5")
        await settle(app, pilot)
        assert app.grid.columns[0].name == "two"
        await pilot.press("alt+left")
        await pilot.pause()
        assert app.editor.text == "select 1 as one" and app.focused is app.editor
        await pilot.press("f5")
        await settle(app, pilot)
        assert app.grid.columns[0].name == "one"
        await pilot.press("alt+right")
        await pilot.pause()
        assert app.editor.text == "select 2 as two"
        await pilot.press("alt+right")  # wraps around
        await pilot.pause()
        assert app.editor.text == "select 1 as one"


async def test_ctrl_w_closes_a_tab_into_the_history_but_never_the_last(
    app: NoctraApp, tmp_path: Path
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"select 'kept' as k")
        await pilot.press("ctrl+w")
        await pilot.pause()
        assert len(app.editors) == 1 and app.editor.text == "select 'kept' as k"  # the last stays
        await pilot.press("ctrl+t")
        await pilot.press(*"select 'second' as s")
        await pilot.press("ctrl+w")
        await pilot.pause()
        assert len(app.editors) == 1
        assert app.editor.text == "select 'kept' as k" and app.focused is app.editor
        assert app.query_one("#editors", TabbedContent).has_class("single")
        assert history.load(tmp_path / "history")[0] == "select 'second' as s"
        await pilot.press("ctrl+t", "ctrl+w")  # an empty tab leaves nothing in the history
        await pilot.pause()
        assert history.load(tmp_path / "history") == ["select 'second' as s"]


async def test_new_tabs_complete_and_ctrl_w_in_a_dialog_is_the_inputs(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        app.editor.text = "USE 't.csv' AS sales"
        await pilot.press("f5")
        await settle(app, pilot)
        await pilot.press("ctrl+t")
        await pilot.press(*"SELECT * FROM sal")
        await pilot.press("tab")
        await pilot.pause()
        assert app.editor.text == "SELECT * FROM sales"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("ctrl+w")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen) and len(app.editors) == 2
        assert app.screen.query_one("#export-path", Input).value != "export.parquet"
