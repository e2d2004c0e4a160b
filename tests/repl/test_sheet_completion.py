"""Completion after a workbook's alias offers its sheets, and after alias.sheet their columns (issue 16)."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from noctra.repl.completer import CatalogCache, candidates
from noctra.session import Session


def test_a_workbook_alias_completes_to_its_sheets_and_their_columns(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Q1"
    first.append(["region", "amount"])
    first.append(["north", 10])
    second = workbook.create_sheet("Sheet 2")
    second.append(["code"])
    second.append(["a"])
    workbook.save(tmp_path / "budget.xlsx")
    with Session() as session:
        session.use(str(tmp_path / "budget.xlsx"), "b")
        cache = CatalogCache(session)
        after_alias = [(c.text, c.kind) for c in candidates("SELECT * FROM b.", cache, requested=True)]
        assert ("Q1", "sheet") in after_alias and ('"Sheet 2"', "sheet") in after_alias
        assert ("region", "column VARCHAR") in after_alias  # b itself reads the first sheet
        found = candidates("SELECT b.Q1.am", cache, statement="SELECT b.Q1.am FROM b.Q1", requested=True)
        assert [c.text for c in found] == ["amount"]
