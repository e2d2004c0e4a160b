"""What completion offers, computed without a terminal."""

from __future__ import annotations

from pathlib import Path

from noctra.repl.completer import CatalogCache, candidates
from noctra.session import Session


def names(before: str, session: Session, **kwargs: object) -> list[str]:
    return [c.text for c in candidates(before, CatalogCache(session), requested=True)]


def test_options_inside_use_options(sample_files: Path) -> None:
    with Session() as session:
        assert "delimiter" in names(f"USE '{sample_files / 't.csv'}' OPTIONS (", session)
        assert "delimiter" not in names(f"USE '{sample_files / 'p.parquet'}' OPTIONS (", session)
        assert "row_group_size" in names(
            "EXPORT (SELECT 1) TO 'x.parquet' OPTIONS (compression 'zstd', ", session
        )


def test_columns_of_the_tables_in_the_statement(sample_files: Path) -> None:
    with Session() as session:
        session.use(str(sample_files / "t.csv"), "t")
        cache = CatalogCache(session)
        found = candidates("SELECT am", cache, statement="SELECT am FROM t")
        assert [(c.text, c.kind) for c in found][:1] == [("amount", "column DOUBLE (t)")]
        assert [c.text for c in candidates("SELECT upp", cache)][:1] == ["upper"]
        assert [c.text for c in candidates("sel", cache)][:1] == ["select"]


def test_typing_a_number_offers_nothing(sample_files: Path) -> None:
    with Session() as session:
        assert candidates("SELECT 6", CatalogCache(session)) == []
