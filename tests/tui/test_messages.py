"""A run that returns only messages (USE, SET, EXPORT) shows them in the results area.

The result tabs of earlier runs stay reachable, marked as earlier, instead of looking current.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import TabbedContent

from noctra.tui.app import NoctraApp
from noctra.tui.widgets.grid import ResultsGrid

SIZE = (120, 40)


async def run(app: NoctraApp, pilot: Pilot[int], text: str, key: str = "f6") -> None:
    app.editor.text = text
    app.editor.move_cursor(app.editor.document.end)
    await pilot.press(key)
    await app.workers.wait_for_complete()
    await pilot.pause()


def labels(app: NoctraApp) -> list[str]:
    results = app.query_one("#results", TabbedContent)
    return [str(tab.label) for tab in results.query("ContentTab")]


async def test_a_message_only_run_takes_the_results_area_and_keeps_earlier_tabs(
    app: NoctraApp, sample_files: Path
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "SELECT 1 AS a; SELECT 2 AS b")
        assert labels(app) == ["1: SELECT 1 AS a", "2: SELECT 2 AS b"]
        assert app.results_message is None
        await run(app, pilot, "USE 't.csv' AS sales; SET threads = 2")
        assert app.results_message is not None
        assert "1: sales: CSV" in app.results_message and "2: " in app.results_message
        assert labels(app) == ["earlier · 1: SELECT 1 AS a", "earlier · 2: SELECT 2 AS b", "Message"]
        assert "threads" in app.messages.lower()  # the line under the results says it too
        await pilot.press("f3")
        assert not isinstance(app.focused, ResultsGrid)
        # The earlier results are one key away.
        await pilot.press("ctrl+pageup")
        await pilot.pause()
        assert app.results_message is None and app.grid.columns[0].name == "b"
        # EXPORT is a message too.
        await run(app, pilot, f"EXPORT (SELECT 1 AS x) TO '{sample_files / 'x.csv'}' FORMAT CSV")
        assert app.results_message is not None and "1 row" in app.results_message
        assert labels(app)[-1] == "Message"
        # A run with a result takes the area again: earlier tabs and the message go.
        await run(app, pilot, "SELECT 3 AS c")
        assert labels(app) == ["1: SELECT 3 AS c"]
        assert app.results_message is None and app.grid.value(0, 0) == "3"


async def test_an_error_run_marks_the_earlier_result_as_earlier(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "SELECT 1 AS a")
        await run(app, pilot, "SELECT nope")
        assert "error:" in app.messages
        assert labels(app) == ["earlier · 1: SELECT 1 AS a"]
        assert app.grid.columns[0].name == "a"


async def test_a_mixed_run_shows_its_results(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "SELECT 1 AS a")
        await run(app, pilot, "USE 't.csv' AS sales; SELECT count(*) AS n FROM sales")
        assert labels(app) == ["2: SELECT count(*) AS n FRO"]
        assert app.results_message is None and app.grid.value(0, 0) == "3"


async def test_one_message_has_no_statement_number(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "\n\nSET threads = 2", key="f5")
        assert app.results_message is not None and app.results_message.startswith("threads")
