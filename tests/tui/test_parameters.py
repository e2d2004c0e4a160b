"""A ``:name`` nothing gives a value is asked for in a dialog and bound, as the REPL asks for it."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from noctra.session import Session
from noctra.tui.app import NoctraApp
from noctra.tui.screens import ParameterScreen

SIZE = (120, 40)


async def start(app: NoctraApp, pilot: Pilot[int], text: str, key: str = "f5") -> None:
    app.editor.text = text
    app.editor.move_cursor(app.editor.document.end)
    await pilot.press(key)
    # The worker asks from its thread: wait for the dialog (or the end of the run), up to 10 s.
    for _ in range(500):
        await pilot.pause(0.02)
        if isinstance(app.screen, ParameterScreen) or app.running_since is None:
            return


async def finish(app: NoctraApp, pilot: Pilot[int]) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_a_missing_parameter_is_asked_for_and_bound(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot, "SELECT name FROM 't.csv' WHERE id = :id")
        assert isinstance(app.screen, ParameterScreen)
        assert ":id =>" in str(app.screen.query_one(".prompt").render())
        await pilot.press("3", "enter")
        await finish(app, pilot)
        assert app.grid.row_count == 1 and app.grid.value(0, 0) == "Ann"


async def test_the_value_is_bound_never_pasted(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot, "SELECT :who AS who, typeof(:who) AS t")
        await pilot.press(*"x'); DROP TABLE y; --", "enter")
        await finish(app, pilot)
        # One question for a name used twice; the text is a value, not SQL.
        assert app.grid.value(0, 0) == "x'); DROP TABLE y; --"
        assert app.grid.value(0, 1) == "VARCHAR"


async def test_typed_like_a_param_and_asked_again_at_the_next_run(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot, "SELECT :n + 1 AS m")
        await pilot.press("4", "1", "enter")
        await finish(app, pilot)
        assert app.grid.value(0, 0) == "42"
        await start(app, pilot, "SELECT :n + 1 AS m")
        assert isinstance(app.screen, ParameterScreen)
        await pilot.press("n", "u", "l", "l", "enter")
        await finish(app, pilot)
        assert app.grid.value(0, 0) is None


async def test_escape_abandons_the_run_and_the_app_goes_on(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot, "SELECT 1 AS first; SELECT :x AS x; SELECT 3 AS third", key="f6")
        assert isinstance(app.screen, ParameterScreen)
        await pilot.press("escape")
        await finish(app, pilot)
        assert not isinstance(app.screen, ParameterScreen)
        assert app.running_since is None
        assert "abandoned" in app.messages and ":x" in app.messages
        assert app.grid.columns[0].name == "first"  # the third never ran
        await start(app, pilot, "SELECT 5 AS five")
        await finish(app, pilot)
        assert app.grid.value(0, 0) == "5"


async def test_variables_and_params_are_not_asked_for(session: Session, tmp_path: Path) -> None:
    app = NoctraApp(session, params={"p": 7}, history_file=tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot, "LET v = 2; SELECT :p * :v AS r", key="f6")
        assert not isinstance(app.screen, ParameterScreen)
        await finish(app, pilot)
        assert app.grid.value(0, 0) == "14"


async def test_the_status_timers_outlive_the_status_bar(app: NoctraApp) -> None:
    """A timer firing while the app closes (its widgets removed) or while a parameter is
    asked for once took the app down with NoMatches (seen under load in this file)."""
    from noctra.tui.widgets.statusbar import StatusBar

    async with app.run_test(size=SIZE) as pilot:
        await app.query_one(StatusBar).remove()
        await pilot.pause()
        app._idle_status()
        app.running_since = 0.0
        app._tick()
        app.running_since = None
        assert app.is_running and not app.query(StatusBar)
