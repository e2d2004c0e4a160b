"""USE of a CSV glob reads every file by the first file's columns: files whose header differs
are refused (as FROM 'x/*.csv' refuses them), never read by position under wrong names."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from noctra import Session
from noctra.errors import NoctraError

FIRST = b"id,amount\n1,100\n"

# (second file's name, its bytes, the sum of amount, or None: refused)
CASES = [
    ("b.csv", b"id,amount\n2,200\n", 300),
    ("b.csv", b"\xef\xbb\xbfid,amount\n2,200\n", 300),  # a BOM
    ("b.csv", b"id , amount\n2,200\n", 300),  # spaces around names
    ("b.csv.gz", gzip.compress(b"id,amount\n2,200\n"), 300),
    ("b.csv", b"amount,id\n200,2\n", None),  # same names, other order
    ("b.csv", b"id,total\n2,200\n", None),  # another name
    ("b.csv", b"id,amount,extra\n2,200,9\n", None),  # one more column
    ("b.csv.gz", gzip.compress(b"amount,id\n200,2\n"), None),
]


@pytest.mark.parametrize(("name", "data", "total"), CASES)
def test_a_glob_is_read_only_when_every_header_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, data: bytes, total: int | None
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.csv").write_bytes(FIRST)
    (tmp_path / "d" / name).write_bytes(data)
    pattern = "d/*.csv*" if name.endswith(".gz") else "d/*.csv"
    with Session(restore=False) as s:
        if total is None:
            with pytest.raises(NoctraError, match="do not have the same columns") as info:
                s.execute(f"USE '{pattern}' AS m")
            assert "a.csv" in info.value.message and name in info.value.message
            assert s.sources.peek("m") is None  # nothing registered
        else:
            s.execute(f"USE '{pattern}' AS m")
            assert s.sql("SELECT sum(amount) FROM m").rows(1) == [(total,)]


def test_a_file_added_later_with_another_order_is_refused_not_misread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.csv").write_bytes(FIRST)
    with Session(restore=False) as s:
        s.execute("USE 'd' AS m")
        assert s.sql("SELECT sum(amount) FROM m").rows(1) == [(100,)]
        (tmp_path / "d" / "b.csv").write_bytes(b"amount,id\n200,2\n")
        with pytest.raises(NoctraError, match="do not have the same columns"):
            s.sql("SELECT sum(amount) FROM m").rows(1)
        (tmp_path / "d" / "b.csv").write_bytes(b"id,amount\n2,200\n")
        assert s.sql("SELECT sum(amount) FROM m").rows(1) == [(300,)]


def test_without_a_header_files_are_read_by_position_as_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_bytes(b"1,100\n")
    (tmp_path / "b.csv").write_bytes(b"2,200\n")
    with Session(restore=False) as s:
        s.execute("USE '*.csv' AS m OPTIONS (header = false)")
        assert s.sql("SELECT sum(column1) FROM m").rows(1) == [(300,)]
