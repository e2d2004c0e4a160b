"""SVG snapshots of the TUI's layout (pytest-textual-snapshot): main screen, help, export dialog.

Timings and memory change from run to run: the status bar and the message line get fixed text.
Update after a deliberate layout change with ``pytest tests/tui --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from noctra.tui.app import NoctraApp

SIZE = (120, 40)
STATUS = "Engine: DuckDB │ I/O: Local (threads=2) │ Source: t (43 B) │ Memory: 0 B / 1.8 GiB │ 3 ms · 3 rows"


def with_result(app: NoctraApp, monkeypatch: pytest.MonkeyPatch) -> Callable[[Pilot[int]], object]:
    async def run_before(pilot: Pilot[int]) -> None:
        monkeypatch.setattr(app, "refresh_status", lambda: app.status_bar.show_status(STATUS))
        # A blinking cursor is drawn or not depending on when the picture is taken (a loaded
        # machine caught it both ways): keep it steady, at the end of the text.
        app.editor.cursor_blink = False
        app.editor.text = "USE 't.csv' AS t;\nSELECT * FROM t ORDER BY id;"
        app.editor.move_cursor(app.editor.document.end)
        await pilot.press("f6")
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.say("3 rows · 3 ms")
        await pilot.wait_for_animation()
        await pilot.pause()

    return run_before


def test_main_screen_with_a_result(
    app: NoctraApp, monkeypatch: pytest.MonkeyPatch, snap_compare: Callable[..., bool]
) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=with_result(app, monkeypatch))


def test_help_screen(
    app: NoctraApp, monkeypatch: pytest.MonkeyPatch, snap_compare: Callable[..., bool]
) -> None:
    assert snap_compare(app, press=["f1"], terminal_size=SIZE, run_before=with_result(app, monkeypatch))


def test_export_dialog(
    app: NoctraApp, monkeypatch: pytest.MonkeyPatch, snap_compare: Callable[..., bool]
) -> None:
    assert snap_compare(app, press=["ctrl+s"], terminal_size=SIZE, run_before=with_result(app, monkeypatch))


def test_editor_tabs_and_a_message_tab(
    app: NoctraApp, monkeypatch: pytest.MonkeyPatch, snap_compare: Callable[..., bool]
) -> None:
    async def run_before(pilot: Pilot[int]) -> None:
        await with_result(app, monkeypatch)(pilot)
        await pilot.press("ctrl+t", *"SET threads = 2", "f5")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("f3")  # the focus off the editor: no blinking cursor in the picture
        await pilot.wait_for_animation()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_parameter_dialog(
    app: NoctraApp, monkeypatch: pytest.MonkeyPatch, snap_compare: Callable[..., bool]
) -> None:
    async def run_before(pilot: Pilot[int]) -> None:
        await with_result(app, monkeypatch)(pilot)
        app.editor.text = "SELECT * FROM t WHERE id = :id"
        await pilot.press("f5")
        for _ in range(500):
            await pilot.pause(0.02)
            if len(app.screen_stack) > 1:
                break
        await pilot.wait_for_animation()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
