"""Files whose name says CSV or JSON but whose bytes are something else (SPEC 6): one line
naming what the file is and how to read it, on USE and in FROM; text that merely looks like a
magic number is read as text."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from noctra import Session
from noctra.errors import SourceError


def gzip_bytes(path: Path) -> None:
    path.write_bytes(gzip.compress(b"a,b\n1,x\n"))


def parquet_bytes(path: Path) -> None:
    pq.write_table(pa.table({"a": [1]}), path)


def sqlite_bytes(path: Path) -> None:
    sqlite3.connect(path).execute("CREATE TABLE t(a)").connection.commit()


def zip_bytes(path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("inner.csv", "a\n1\n")


MAKERS = {
    "gzip": (gzip_bytes, "is gzip-compressed", ".gz"),
    "parquet": (parquet_bytes, "is a Parquet file", ".parquet"),
    "sqlite": (sqlite_bytes, "is a SQLite database", ".db"),
    "zip": (zip_bytes, "is a zip archive", ".zip"),
}


@pytest.mark.parametrize("road", ["FROM", "USE"])
@pytest.mark.parametrize("name", ["data.csv", "data.json", "data.tsv"])
@pytest.mark.parametrize("content", list(MAKERS))
def test_a_file_that_is_not_text_is_named_for_what_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, name: str, road: str
) -> None:
    monkeypatch.chdir(tmp_path)
    make, said, suffix = MAKERS[content]
    make(tmp_path / name)
    with Session(restore=False) as s:
        statement = f"SELECT * FROM '{name}'" if road == "FROM" else f"USE '{name}' AS x"
        with pytest.raises(SourceError) as info:
            s.execute(statement)
        assert said in info.value.message and name in info.value.message
        assert info.value.hint is not None and suffix in info.value.hint
        assert s.sources.peek("x") is None


@pytest.mark.parametrize("text", ["PAR1,b\n1,2\n", "PK,b\n1,2\n", "SQLite format 3,b\n1,2\n"])
def test_text_that_starts_like_a_magic_number_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.csv").write_text(text)
    with Session(restore=False) as s:
        assert s.sql("SELECT b FROM 't.csv'").rows(1) == [(2,)]
        s.execute("USE 't.csv' AS t")
        assert s.sql("SELECT b FROM t").rows(1) == [(2,)]


def test_a_compressed_file_with_its_suffix_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    gzip_bytes(tmp_path / "data.csv.gz")
    with Session(restore=False) as s:
        assert s.sql("SELECT b FROM 'data.csv.gz'").rows(1) == [("x",)]
