"""The TUI catalog opens an Excel workbook like a database: its sheets, then their columns (issue 16)."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from noctra.tui.app import NoctraApp
from noctra.tui.widgets.catalog import CatalogTree


async def test_a_workbook_opens_to_its_sheets_and_their_columns(app: NoctraApp) -> None:
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Q1"
    first.append(["region", "amount"])
    first.append(["north", 10])
    second = workbook.create_sheet("Sheet 2")
    second.append(["code"])
    second.append(["a"])
    workbook.save(Path.cwd() / "budget.xlsx")
    async with app.run_test(size=(120, 40)) as pilot:
        app.editor.text = "USE 'budget.xlsx' AS b"
        app.editor.move_cursor(app.editor.document.end)
        await pilot.press("f5")
        await app.workers.wait_for_complete()
        await pilot.pause()
        tree = app.query_one(CatalogTree)
        book = next(node for node in tree.root.children if str(node.label).startswith("b Excel"))
        book.expand()
        await pilot.pause()
        assert [str(child.label) for child in book.children] == ["Q1 sheet", "Sheet 2 sheet"]
        sheet = book.children[0]
        sheet.expand()
        await pilot.pause()
        assert [str(child.label) for child in sheet.children] == ["region varchar", "amount double"]
