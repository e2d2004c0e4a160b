"""USE of a CSV glob reads every file by the first file's columns: files whose header differs
are refused (as FROM 'x/*.csv' refuses them), never read by position under wrong names."""

from __future__ import annotations

import contextlib
import gzip
import os
import threading
from collections.abc import Iterator
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


# --- quoting a later file needs (R4-1) ---------------------------------------------------------

# (first file, second file, rows of SELECT * ORDER BY id): the first file quotes nothing.
QUOTING = [
    (b"id,s\n1,x\n", b'id,s\n2,"p, q"\n', [(1, "x"), (2, "p, q")]),
    (b"id,s\n1,x\n", b'id,s\n2,"two\nlines"\n', [(1, "x"), (2, "two\nlines")]),
    (b"id,s\n1,x\n", b"id,s\n2,y\n", [(1, "x"), (2, "y")]),
    (b'id,s\n1,"x"\n', b'id,s\n2,"p, q"\n', [(1, "x"), (2, "p, q")]),
    # A stray quote inside a field: the first file is read without quoting, as FROM reads it.
    (b'id,s\n1,5" disk\n', b"id,s\n2,y\n", [(1, '5" disk'), (2, "y")]),
]


@pytest.mark.parametrize("case", QUOTING)
@pytest.mark.parametrize("pattern", ["d", "d/*.csv"])
def test_a_glob_whose_later_file_quotes_a_field_reads_like_from(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pattern: str,
    case: tuple[bytes, bytes, list[tuple[object, ...]]],
) -> None:
    first, second, expected = case
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.csv").write_bytes(first)
    (tmp_path / "d" / "b.csv").write_bytes(second)
    with Session(restore=False) as s:
        assert s.sql("SELECT * FROM 'd/*.csv' ORDER BY id").rows(5) == expected
        s.execute(f"USE '{pattern}' AS d")
        assert s.sql("SELECT * FROM d ORDER BY id").rows(5) == expected


def test_a_glob_reads_a_later_file_s_doubled_quotes_as_that_file_alone_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.csv").write_bytes(b"id,s\n1,x\n")
    (tmp_path / "d" / "b.csv").write_bytes(b'id,s\n2,"say ""hi"""\n')
    with Session(restore=False) as s:
        assert s.sql("SELECT s FROM 'd/b.csv'").rows(5) == [('say "hi"',)]
        s.execute("USE 'd' AS d")
        assert s.sql("SELECT s FROM d ORDER BY id").rows(5) == [("x",), ('say "hi"',)]


# --- pipes, sockets and devices in a folder (R4-8) --------------------------------------------


@contextlib.contextmanager
def watched_pipe(path: Path) -> Iterator[list[str]]:
    """A named pipe at path; the list says whether anything opened it to read.

    A reader would wait forever for a writer: the watcher plays the writer (and the test
    fails) instead of letting the test hang.
    """
    os.mkfifo(path)
    readers: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                continue  # ENXIO: nobody has it open to read
            readers.append(str(path))
            os.close(descriptor)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield readers
    finally:
        done.set()
        watcher.join()


@pytest.mark.parametrize("pipe", ["0.csv", "b.csv", "sub/c.csv"])
@pytest.mark.parametrize("pattern", [".", "*.csv", "**/*.csv"])
def test_a_named_pipe_in_a_folder_is_left_out_as_from_leaves_it_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pattern: str, pipe: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text("id\n1\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.csv").write_text("id\n2\n", encoding="utf-8")
    with watched_pipe(tmp_path / pipe) as opened, Session(restore=False) as s:
        expected = s.sql(f"SELECT count(*) FROM '{'**/*.csv' if pattern == '.' else pattern}'").rows(1)
        s.execute(f"USE '{pattern}' AS d")
        assert s.sql("SELECT count(*) FROM d").rows(1) == expected
        source = s.sources.peek("d")
        assert source is not None and source.signature is not None
        assert all(not path.endswith(pipe) for path, *_ in source.signature.files)
    assert opened == []


def test_a_folder_of_pipes_only_is_an_error_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with (
        watched_pipe(tmp_path / "a.csv") as opened,
        Session(restore=False) as s,
        pytest.raises(NoctraError, match="no files match"),
    ):
        s.execute("USE '*.csv' AS d")
    assert opened == []


# --- file names holding glob characters (R4-7) -------------------------------------------------

# (the file's name, a sibling the name would match as a pattern)
LITERAL_NAMES = [
    ("report[1].csv", "report1.csv"),
    ("q?.csv", "qx.csv"),
    ("all*.csv", "all_of_it.csv"),
    ("data [final].csv", "data f.csv"),
]


@pytest.mark.parametrize(("name", "sibling"), LITERAL_NAMES)
@pytest.mark.parametrize("with_sibling", [False, True])
def test_a_file_named_with_glob_characters_is_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, sibling: str, with_sibling: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text("id\n1\n", encoding="utf-8")
    if with_sibling:
        (tmp_path / sibling).write_text("id\n100\n", encoding="utf-8")
    state = tmp_path / "session.toml"
    with Session(state_path=state) as s:
        s.execute(f"USE '{name}' AS r")
        assert s.sql("SELECT id FROM r").rows(5) == [(1,)]
        if not with_sibling:
            assert s.sql(f"SELECT id FROM '{name}'").rows(5) == [(1,)]  # DuckDB: the file, as USE
    with Session(state_path=state) as restored:
        assert [(e.alias, e.status) for e in restored.catalog().sources()] == [("r", "ok")]
        assert restored.sql("SELECT id FROM r").rows(5) == [(1,)]


def test_parquet_and_json_files_named_with_brackets_are_those_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e[1].json").write_text('{"id": 1}\n', encoding="utf-8")
    (tmp_path / "e1.json").write_text('{"id": 100}\n', encoding="utf-8")
    with Session(restore=False) as s:
        s.execute("COPY (SELECT 1 AS id) TO 'p[1].parquet' (FORMAT parquet)")
        s.execute("COPY (SELECT 100 AS id) TO 'p1.parquet' (FORMAT parquet)")
        s.execute("USE 'p[1].parquet' AS p; USE 'e[1].json' AS e")
        assert s.sql("SELECT p.id, e.id FROM p, e").rows(5) == [(1, 1)]
