"""SQLite TEXT that is not UTF-8 (a database written in Latin-1), read natively in SQLite.

DuckDB's SQLite reader keeps such text as its bytes; the native road used to stop with
Python's "Could not decode to UTF-8". Now it reads the statement again keeping the bytes
(surrogate escapes), so every road gives what USAGE.md "One serialization" says: csv/tsv
write the bytes as they are, table/markdown show U+FFFD, json/jsonl stop naming the row,
Arrow (Python API, EXPORT) carries the bytes. A statement that writes is never run twice.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

LATIN1 = b"caf\xe9"  # 'café' in Latin-1: not UTF-8


def _legacy_db(path: Path, rows: int = 3, bad_at: int = 2) -> None:
    """Table t(id, name): row ``bad_at`` holds Latin-1 text, the others ASCII."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (id INTEGER, name TEXT)")
    db.executemany(
        "INSERT INTO t VALUES (?, ?)",
        ((i, f"n{i}") for i in range(1, rows + 1) if i != bad_at),
    )
    db.execute("INSERT INTO t VALUES (?, CAST(? AS TEXT))", (bad_at, LATIN1))
    db.commit()
    db.close()


def _run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "noctra", "query", "--fresh", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )


QUERY = "USE 'legacy.db' AS l; SELECT * FROM l.t ORDER BY id"


@pytest.mark.parametrize("engine", ["auto", "sqlite", "duckdb"])
@pytest.mark.parametrize(("fmt", "expected"), [("csv", b","), ("tsv", b"\t")])
def test_csv_and_tsv_write_the_bytes_on_every_engine(
    tmp_path: Path, isolated_env: dict[str, str], engine: str, fmt: str, expected: bytes
) -> None:
    _legacy_db(tmp_path / "legacy.db")
    run = _run(isolated_env, tmp_path, "--engine", engine, "--format", fmt, QUERY)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    sep = expected
    assert run.stdout == b"id" + sep + b"name\n1" + sep + b"n1\n2" + sep + LATIN1 + b"\n3" + sep + b"n3\n"


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_table_and_markdown_show_the_replacement_character(
    tmp_path: Path, isolated_env: dict[str, str], fmt: str
) -> None:
    _legacy_db(tmp_path / "legacy.db")
    run = _run(isolated_env, tmp_path, "--format", fmt, QUERY)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    out = run.stdout.decode("utf-8")  # valid UTF-8: the terminal gets no stray bytes
    assert "caf\ufffd" in out
    assert "n1" in out and "n3" in out


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_stops_naming_the_row_with_the_sqlite_fix(
    tmp_path: Path, isolated_env: dict[str, str], fmt: str
) -> None:
    _legacy_db(tmp_path / "legacy.db")
    run = _run(isolated_env, tmp_path, "--format", fmt, QUERY)
    assert run.returncode == 1
    err = run.stderr.decode("utf-8")
    assert "row 2 holds text that is not valid UTF-8" in err, err
    assert "CAST(column AS BLOB)" in err, err  # SQLite has no encode()
    assert "Traceback" not in err
    fixed = _run(
        isolated_env,
        tmp_path,
        "--format",
        fmt,
        "USE 'legacy.db' AS l; SELECT id, CAST(name AS BLOB) AS b FROM l.t",
    )
    assert fixed.returncode == 0, fixed.stderr


def test_the_bad_row_past_the_first_batch_keeps_every_row_once(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    # The read starts again after 100k rows went out as the first Arrow batch / csv chunks.
    _legacy_db(tmp_path / "legacy.db", rows=250_000, bad_at=180_001)
    run = _run(isolated_env, tmp_path, "--format", "csv", QUERY)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    lines = run.stdout.split(b"\n")
    assert lines[0] == b"id,name" and lines[-1] == b""
    body = lines[1:-1]
    assert len(body) == 250_000
    assert [int(line.split(b",")[0]) for line in body] == list(range(1, 250_001))
    assert body[180_000] == b"180001," + LATIN1


def test_python_api_arrow_carries_the_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: dict[str, str]
) -> None:
    from noctra import Session

    _legacy_db(tmp_path / "legacy.db")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", isolated_env["XDG_STATE_HOME"])
    with Session(restore=False) as s:
        s.execute("USE 'legacy.db' AS l")
        table = s.sql("SELECT * FROM l.t ORDER BY id").arrow()
        assert str(table.schema.field("name").type) == "string"
        assert table.column("name").cast("binary").to_pylist() == [b"n1", LATIN1, b"n3"]
        # The connection reads UTF-8 the fast way again afterwards.
        assert s.sql("SELECT count(*) AS n FROM l.t WHERE name LIKE 'n%'").arrow().column(
            "n"
        ).to_pylist() == [2]


def test_export_writes_the_bytes_like_the_duckdb_road(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    _legacy_db(tmp_path / "legacy.db")
    native = _run(
        isolated_env, tmp_path, "USE 'legacy.db' AS l; EXPORT (SELECT * FROM l.t ORDER BY id) TO 'n.csv'"
    )
    duck = _run(
        isolated_env,
        tmp_path,
        "--engine",
        "duckdb",
        "USE 'legacy.db' AS l; EXPORT (SELECT * FROM l.t ORDER BY id) TO 'd.csv'",
    )
    assert native.returncode == 0 and duck.returncode == 0, (native.stderr, duck.stderr)
    assert (tmp_path / "n.csv").read_bytes() == (tmp_path / "d.csv").read_bytes()
    assert LATIN1 in (tmp_path / "n.csv").read_bytes()


def test_a_write_is_never_run_twice(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    _legacy_db(tmp_path / "legacy.db")
    run = _run(
        isolated_env,
        tmp_path,
        "--engine",
        "sqlite",
        "USE 'legacy.db' AS l; UPDATE l.t SET id = id + 10 RETURNING id, name",
    )
    assert run.returncode == 1
    err = run.stderr.decode("utf-8")
    assert "not valid UTF-8" in err and "CAST(column AS BLOB)" in err, err
    db = sqlite3.connect(tmp_path / "legacy.db")
    ids = sorted(r[0] for r in db.execute("SELECT id FROM t"))
    db.close()
    assert ids == [11, 12, 13]  # updated once (SQLite keeps the write; it is not repeated)


def test_a_quoted_word_like_delete_in_a_select_still_reads_again(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    _legacy_db(tmp_path / "legacy.db")
    sql = "USE 'legacy.db' AS l; SELECT id, name, 'delete me' AS note FROM l.t ORDER BY id"
    run = _run(isolated_env, tmp_path, "--format", "csv", sql)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    assert b"2," + LATIN1 + b",delete me\n" in run.stdout
