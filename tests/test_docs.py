"""Every ```sql block of the language docs runs against the bundled example data."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from noctra import Result, Session

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["docs/RQL_EXTENSIONS.md", "docs/MIGRATION_M5_TO_M6.md"]
FENCE = re.compile(r"^```sql\n(.*?)^```", re.S | re.M)


def sql_blocks(doc: str) -> list[str]:
    return FENCE.findall((ROOT / doc).read_text(encoding="utf-8"))


@pytest.mark.parametrize("doc", DOCS)
def test_every_sql_block_runs(doc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("sales.csv", "products.parquet", "events.ndjson", "customers.db"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    blocks = sql_blocks(doc)
    assert len(blocks) >= 5, f"{doc} lost its examples"
    with Session() as session:
        for number, block in enumerate(blocks, start=1):
            try:
                outcomes = session.execute(block)
            except Exception as exc:
                raise AssertionError(f"{doc}, sql block {number} failed: {exc}\n{block}") from exc
            for outcome in outcomes:
                if isinstance(outcome, Result):
                    outcome.arrow()


PYTHON_FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.mark.parametrize("doc", ["README.md", "docs/USAGE.md"])
def test_every_python_block_runs(doc: str, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = PYTHON_FENCE.findall((ROOT / doc).read_text(encoding="utf-8"))
    assert blocks, f"{doc} lost its Python example"
    monkeypatch.chdir(ROOT)  # the examples name examples/sales.csv
    for number, block in enumerate(blocks, start=1):
        try:
            exec(compile(block, f"{doc} python block {number}", "exec"), {})
        except Exception as exc:
            raise AssertionError(f"{doc}, python block {number} failed: {exc}") from exc
