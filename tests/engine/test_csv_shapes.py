"""Which CSV shapes DuckDB's sniffer would read wrong without a word (engine.sources.ragged_rows).

A row of another width after the header makes DuckDB read the file as one column of whole
lines, or as its longest rows alone; Noctra refuses those files with the line at fault
instead (FROM 'x.csv' and USE alike). Files DuckDB reads right must pass untouched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from noctra.engine.sources import ragged_rows

SHAPES = {
    # read right by DuckDB: never flagged
    "plain": ("a,b\n1,2\n3,4\n", True, None),
    "CRLF": ("a,b\r\n1,2\r\n3,4\r\n", True, None),
    "trailing delimiter on the rows": ("a,b\n1,2,\n3,4,\n", True, None),
    "trailing delimiter everywhere": ("a,b,\n1,2,\n3,4,\n", True, None),
    "single-field preamble": ("Report\n\na,b\n1,2\n3,4\n", True, None),
    "preamble with a comma, then the table": ("Report, 2024\na,b,c\n1,2,3\n4,5,6\n", True, None),
    "quoted delimiter": ('a,b\n"1,5",2\n3,4\n', True, None),
    "quoted newline": ('a,b\n"x\ny",2\n3,4\n', True, None),
    "one column": ("a\n1\n2\n", True, None),
    "header only": ("a,b\n", True, None),
    "the start of a longer file, cut mid-row": ("a,b\n1,2\n3,4\n5", False, None),
    # read wrong by DuckDB: flagged at the first row that does not fit
    "a short row, then a longer one": ("a,b,c\n1,2,3\n4,5\n6,7,8,9\n", True, (3, 2, 3)),
    "a longer row in the middle": ("a,b\n1,2\n3,4\n5,6,7\n8,9\n", True, (4, 3, 2)),
    "two longer rows in the middle": ("a,b\n1,2\n3,4,5\n6,7,8\n9,10\n", True, (3, 3, 2)),
    "a short last row": ("a,b,c\n1,2,3\n4,5,6\n7,8\n", True, (4, 2, 3)),
    "a footer": ("a,b\n1,2\n3,4\nTotal 7\n", True, (4, 1, 2)),
    "a short row after a quoted newline": ('a,b\n"x\ny",2\n3\n4,5\n', True, (4, 1, 2)),
}


@pytest.mark.parametrize(("text", "whole", "expected"), SHAPES.values(), ids=SHAPES.keys())
def test_ragged_rows_flags_exactly_the_shapes_duckdb_misreads(
    text: str, whole: bool, expected: tuple[int, int, int] | None
) -> None:
    assert ragged_rows(text, ",", '"', '"', whole=whole) == expected


def test_a_tab_separated_file_is_checked_with_its_delimiter() -> None:
    assert ragged_rows("a\tb\n1\t2\n3\n4\t5\n", "\t", '"', '"', whole=True) == (3, 1, 2)
    assert ragged_rows("a\tb\n1\t2\n3\t4\n", "\t", '"', '"', whole=True) is None


def test_an_unchanged_file_is_checked_once_and_a_rewritten_one_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from noctra import Session
    from noctra.engine import sources
    from noctra.errors import SourceError

    reads: list[str] = []
    real = sources._check_ragged

    def counted(path: str, location: str, info: os.stat_result) -> bool:
        reads.append(location)
        return real(path, location, info)

    monkeypatch.setattr(sources, "_check_ragged", counted)
    data = tmp_path / "d.csv"
    data.write_text("a,b,c\n1,2,3\n4,5,6\n", encoding="utf-8")
    stamp = data.stat().st_mtime_ns
    with Session(restore=False, state_path=tmp_path / "s.toml") as s:
        for _ in range(3):
            assert s.sql(f"SELECT count(*) FROM '{data}'").rows(1) == [(2,)]
        assert len(reads) == 1  # read once; the next statements knew it had not changed
        # Same size, same mtime, now ragged: its ctime (and so its signature) changed.
        data.write_text("a,b,c\n1,2\n4,5,6,7\n", encoding="utf-8")
        os.utime(data, ns=(stamp, stamp))
        with pytest.raises(SourceError, match="line 2 has 2 fields, its header has 3"):
            s.sql(f"SELECT count(*) FROM '{data}'").rows(1)
        assert len(reads) == 2
