"""A SQLite database in WAL mode read and written by both roads of the hybrid engine.

Noctra's native road (Python's sqlite3) and DuckDB's SQLite reader are two copies of the
SQLite library in one process; they do not see each other's POSIX locks. With both open on a
WAL database, DuckDB's copy kept reading what it had read before (wrong answers), and the WAL
the native road wrote to was deleted under it: its commits were lost when the process died.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from noctra import Session

JOURNALS = ["wal", "delete"]


def make_db(path: Path, journal: str) -> None:
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute(f"PRAGMA journal_mode = {journal}")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INT)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, i) for i in range(100)])
    conn.close()


def value_on_disk(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        row = conn.execute("SELECT v FROM t WHERE id = 5").fetchone()
        return int(row[0])
    finally:
        conn.close()


@pytest.mark.parametrize("journal", JOURNALS)
def test_each_native_write_is_seen_by_the_next_duckdb_read(journal: str, tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    make_db(db, journal)
    (tmp_path / "k.csv").write_text("id\n5\n")
    seen = []
    with Session(restore=False) as s:
        s.execute(f"USE '{db}' AS m")
        join = f"SELECT t.v FROM m.t JOIN '{tmp_path / 'k.csv'}' k USING (id)"
        for value in (1005, 2005, 3005):
            s.execute(f"UPDATE m.t SET v = {value} WHERE id = 5")
            joined = s.sql(join)
            by_duckdb = joined.rows(1)[0][0]
            assert joined.engine == "duckdb"
            native = s.sql("SELECT v FROM m.t WHERE id = 5")
            seen.append((native.rows(1)[0][0], by_duckdb))
            assert native.engine == "sqlite"
    assert seen == [(1005, 1005), (2005, 2005), (3005, 3005)]


@pytest.mark.parametrize("journal", JOURNALS)
def test_writes_by_either_road_survive_a_process_that_dies(journal: str, tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    make_db(db, journal)
    (tmp_path / "k.csv").write_text("id,w\n5,7005\n")
    script = textwrap.dedent(
        f"""
        import os
        from noctra import Session
        s = Session(restore=False)
        s.execute("USE {str(db)!r} AS m")
        join = "SELECT t.v FROM m.t JOIN {str(tmp_path / "k.csv")!r} k USING (id)"
        for value in (1005, 2005):
            s.execute(f"UPDATE m.t SET v = {{value}} WHERE id = 5")  # native
            assert s.sql(join).rows(1) == [(value,)]  # DuckDB
        # DuckDB writes (it reads a file), then SQLite writes again: each is committed.
        s.execute("UPDATE m.t SET v = k.w FROM {str(tmp_path / "k.csv")!r} k WHERE t.id = k.id")
        assert s.sql("SELECT v FROM m.t WHERE id = 5").rows(1) == [(7005,)]
        s.execute("UPDATE m.t SET v = 9005 WHERE id = 5")
        os._exit(0)  # dies: nothing is closed
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert value_on_disk(db) == 9005


def test_another_process_writing_a_wal_database_is_read_fresh_by_both_roads(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    make_db(db, "wal")
    (tmp_path / "k.csv").write_text("id\n5\n")
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "for line in sys.stdin:\n"
            "    c.execute('UPDATE t SET v = ? WHERE id = 5', (int(line),))\n"
            "    print('ok', flush=True)\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdin is not None and writer.stdout is not None
    seen = []
    try:
        with Session(restore=False) as s:
            s.execute(f"USE '{db}' AS m")
            join = f"SELECT t.v FROM m.t JOIN '{tmp_path / 'k.csv'}' k USING (id)"
            for value in (1005, 2005, 3005):
                writer.stdin.write(f"{value}\n")
                writer.stdin.flush()
                assert writer.stdout.readline().strip() == "ok"
                seen.append((s.sql("SELECT v FROM m.t WHERE id = 5").rows(1), s.sql(join).rows(1)))
    finally:
        writer.stdin.close()
        writer.wait(timeout=30)
    assert seen == [([(v,)], [(v,)]) for v in (1005, 2005, 3005)]
    assert value_on_disk(db) == 3005


def test_a_current_wal_database_takes_new_tables_from_duckdb_after_reads(tmp_path: Path) -> None:
    """Read-only for reads, writable again for CREATE TABLE new (a bare name: the current one)."""
    db = tmp_path / "live.db"
    make_db(db, "wal")
    (tmp_path / "k.csv").write_text("id\n5\n")
    csv = str(tmp_path / "k.csv")
    with Session(restore=False) as s:
        s.execute(f"USE '{db}' AS m")
        assert s.sql(f"SELECT t.v FROM t JOIN '{csv}' k USING (id)").rows(1) == [(5,)]
        s.execute(f"CREATE TABLE new AS SELECT * FROM '{csv}'")
        s.execute(f"INSERT INTO new SELECT id + 1 FROM '{csv}'")
        assert s.sql("SELECT count(*) FROM new").rows(1) == [(2,)]
        assert s.sql(f"SELECT count(*) FROM new JOIN '{csv}' USING (id)").rows(1) == [(1,)]
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM new").fetchone() == (2,)
    finally:
        conn.close()
