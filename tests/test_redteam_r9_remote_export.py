"""Red team r9 ("remote"): remote sources (http(s)://, s3://) and EXPORT.

Each xfail test states the behaviour a user would expect; the reason names the finding
(R9-Rn) described in the round's report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from noctra import Session
from noctra.config import Config
from noctra.quoting import quote_string
from tests.conftest import HttpServer, RangeRequestHandler, RunNoctra, serve_http


def _parquet(path: Path, sql: str) -> None:
    with duckdb.connect() as con:
        con.execute(f"COPY ({sql}) TO {quote_string(str(path))} (FORMAT parquet)")


# --- R9-R1: [cache] remote = true serves a stale copy ------------------------------------


def _remote_cache_config() -> Config:
    made = Config()
    made.cache.persistent = True
    made.cache.remote = True
    made.cache.min_size = 0
    made.cache.results = False
    return made


def test_remote_copy_is_never_served_after_a_same_second_same_size_rewrite(http_server: HttpServer) -> None:
    name = f"r9-stale-{uuid.uuid4().hex[:8]}.csv"
    path = http_server.root / name
    path.write_text("a,b\n1,1\n2,1\n")
    first = os.stat(path)
    url = http_server.url(name)

    def read() -> list[tuple[object, ...]]:
        with Session(config=_remote_cache_config(), restore=False) as session:
            session.use(url, alias="t")
            return session.sql("SELECT count(*), sum(b) FROM t").rows(5)

    assert read() == [(2, 2)]
    assert read() == [(2, 2)]  # the second read builds the copy
    # Rewritten within the same second (as an upload right after the first one is):
    # same size, same Last-Modified. S3 (moto) shows the same with two puts in one second.
    path.write_text("a,b\n1,7\n2,7\n")
    os.utime(path, ns=(first.st_atime_ns, first.st_mtime_ns))
    assert read() == [(2, 14)]


# --- R9-R2: USE over a restored (lazy) remote source keeps the old one --------------------


def test_use_replacing_a_restored_remote_parquet_reads_the_new_file(
    http_server: HttpServer, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    _parquet(http_server.root / f"old-{tag}.parquet", "SELECT 1 AS id, 'old' AS what")
    _parquet(http_server.root / f"new-{tag}.parquet", "SELECT 42 AS answer")
    state = tmp_path / "session.toml"
    with Session(state_path=state) as first:
        first.use(http_server.url(f"old-{tag}.parquet"), "gp")
    with Session(state_path=state) as second:
        second.execute(f"USE {quote_string(http_server.url(f'new-{tag}.parquet'))} AS gp")
        result = second.sql("SELECT * FROM gp")
        assert [c.name for c in result.columns] == ["answer"]
        assert result.rows(5) == [(42,)]


# --- R9-R3: --timeout does not stop a run waiting on a slow server ------------------------


@pytest.mark.xfail(
    strict=True,
    reason="R9-R3: --timeout 1 against a server that answers slowly runs on for minutes "
    "(httpfs's own 30 s timeout x retries); the cancel loop meanwhile spawns ~100 threads",
)
def test_timeout_stops_a_query_stuck_on_a_slow_server(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    root = tmp_path / "www"
    root.mkdir()
    _parquet(root / "slow.parquet", "SELECT 1 AS a")
    release = threading.Event()

    class Slow(RangeRequestHandler):
        def send_head(self):  # type: ignore[no-untyped-def]
            release.wait(60)  # a server that takes its time (released when the test ends)
            return super().send_head()

    with serve_http(root, Slow) as server:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "noctra",
                "query",
                "--fresh",
                "--timeout",
                "1",
                f"SELECT count(*) FROM {quote_string(server.url('slow.parquet'))}",
            ],
            cwd=tmp_path,
            env=isolated_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started = time.monotonic()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        finally:
            elapsed = time.monotonic() - started
            if proc.poll() is None:
                proc.kill()
            _, err = proc.communicate()
            release.set()
    assert elapsed < 10, f"--timeout 1 still running after {elapsed:.0f} s"
    assert proc.returncode == 4, err
    assert "timed out" in err


# --- R9-R4: a directory export whose name holds '[' cannot be read back -------------------


def test_a_directory_export_named_with_brackets_reads_back(run_noctra: RunNoctra, tmp_path: Path) -> None:
    run = run_noctra(
        "query",
        "--fresh",
        "--format",
        "csv",
        "EXPORT (SELECT 1 AS a, 'x' AS b) TO 'run [2024]' OPTIONS (partition_by (b)); "
        "USE 'run [2024]' AS r; SELECT a, b FROM r",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "a,b\n1,x\n"


# --- R9-R5: overwrite = false does not keep the file ---------------------------------------


def test_overwrite_false_never_replaces_an_existing_file(run_noctra: RunNoctra, tmp_path: Path) -> None:
    (tmp_path / "keep.csv").write_text("precious\n")
    run = run_noctra(
        "query", "--fresh", "EXPORT (SELECT 1 AS a) TO 'keep.csv' OPTIONS (overwrite = false)", cwd=tmp_path
    )
    assert (tmp_path / "keep.csv").read_text() == "precious\n"
    assert run.returncode == 1 and "keep.csv" in run.stderr


# --- R9-R6: a .tsv.zst export is comma-separated -------------------------------------------


def test_a_tsv_zst_export_is_tab_separated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Session(restore=False) as session:
        session.execute("EXPORT (SELECT 1 AS a, 'x' AS b) TO 'x.tsv.zst'")
    # Each line as one text field: the separator is what the file holds.
    rows = duckdb.sql(
        f"SELECT * FROM read_csv({quote_string(str(tmp_path / 'x.tsv.zst'))}, "
        "compression = 'zstd', header = false, delim = '|', all_varchar = true)"
    ).fetchall()
    assert rows == [("a\tb",), ("1\tx",)]


# --- R9-R7: a server error (HTTP 500) gets a hint about CSV options -------------------------


class _Error500(RangeRequestHandler):
    def send_head(self):  # type: ignore[no-untyped-def]
        self.send_error(500, "Internal Server Error")


@pytest.mark.parametrize("name", ["e.csv", "e.parquet"])
def test_a_server_error_is_not_blamed_on_the_file_format(
    name: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    root = tmp_path / "www"
    root.mkdir()
    (root / name).write_bytes(b"id\n1\n")
    with serve_http(root, _Error500) as server:
        run = run_noctra("query", "--fresh", f"USE {quote_string(server.url(name))} AS r", cwd=tmp_path)
    assert run.returncode == 1
    assert "500" in run.stderr
    hint = [line for line in run.stderr.splitlines() if line.startswith("hint:")]
    assert hint, run.stderr
    assert "delimiter" not in hint[0] and "format =" not in hint[0], hint[0]


# --- R9-R8: partition_by output read back with USE 'dir' is not what was written ----------


@pytest.mark.xfail(
    strict=True,
    reason="R9-R8: a partition_by export read back with USE 'dir' turns the string 'NULL' into "
    "NULL and a column 'my col' into 'my%20col'",
)
def test_partition_by_round_trip_keeps_values_and_names(run_noctra: RunNoctra, tmp_path: Path) -> None:
    run = run_noctra(
        "query",
        "--fresh",
        "--format",
        "csv",
        "EXPORT (SELECT * FROM (VALUES (1, 'NULL', 'p'), (2, 'x', 'q')) t(id, code, \"my col\")) "
        "TO 'parts' OPTIONS (partition_by (code, \"my col\")); "
        "USE 'parts' AS p; SELECT id, code, code IS NULL AS gone, \"my col\" FROM p ORDER BY id",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "id,code,gone,my col\n1,NULL,false,p\n2,x,false,q\n"


# --- R9-R9: partition_by every column: the error advises an option Noctra refuses ---------


def test_partitioning_by_every_column_gives_advice_that_works(run_noctra: RunNoctra, tmp_path: Path) -> None:
    run = run_noctra(
        "query",
        "--fresh",
        "EXPORT (SELECT 1 AS a, 'x' AS b) TO 'p' OPTIONS (partition_by (a, b))",
        cwd=tmp_path,
    )
    if run.returncode == 0:
        return
    if "write_partition_columns" in run.stderr.lower():
        again = run_noctra(
            "query",
            "--fresh",
            "EXPORT (SELECT 1 AS a, 'x' AS b) TO 'p2' "
            "OPTIONS (partition_by (a, b), write_partition_columns = true)",
            cwd=tmp_path,
        )
        assert again.returncode == 0, again.stderr


# --- R9-R10: directory export to a dangling symlink -----------------------------------------


def test_directory_export_to_a_dangling_link_is_a_clear_error(run_noctra: RunNoctra, tmp_path: Path) -> None:
    (tmp_path / "out").symlink_to(tmp_path / "gone")
    run = run_noctra(
        "query",
        "--fresh",
        "EXPORT (SELECT 1 AS a, 'x' AS b) TO 'out' OPTIONS (partition_by (b))",
        cwd=tmp_path,
    )
    if run.returncode == 0:
        assert (tmp_path / "gone").is_dir()  # followed, as a single-file export follows a link
        return
    assert "writable" not in run.stderr and "link" in run.stderr, run.stderr


# --- pinned: what was checked and is right ---------------------------------------------------


def test_remote_sources_in_every_format_and_output(
    http_server: HttpServer, run_noctra: RunNoctra, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    (http_server.root / f"{tag}.csv").write_text("id,city\n1,a\n2,b\n")
    url = http_server.url(f"{tag}.csv")
    run = run_noctra(
        "query",
        "--fresh",
        "--format",
        "jsonl",
        f"USE {quote_string(url + '?a=1&sig=s3cr3t-value')} AS r; LET n = (SELECT count(*) FROM r); "
        "EXPORT (SELECT * FROM r WHERE id <= #n) TO 'back.parquet'; "
        "SELECT * FROM 'back.parquet' ORDER BY id; "
        "SHOW SOURCES",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "s3cr3t-value" not in run.stdout + run.stderr
    assert '{"id":1,"city":"a"}\n{"id":2,"city":"b"}\n' in run.stdout
    assert "sig=****" in run.stdout


def test_repeated_cancels_share_one_resending_thread() -> None:
    """--timeout cancels every 50 ms: each cancel started a thread re-sending interrupts for
    5 s, ~100 at once against a slow server (R9-R3), until "can't start new thread"."""
    from noctra.engine.base import Busy

    busy = Busy()
    sent: list[int] = []
    with busy:
        for _ in range(100):
            busy.interrupt_until_idle(lambda: sent.append(1), seconds=0.5)
        resending = [t for t in threading.enumerate() if t.name == "noctra-cancel"]
        assert len(resending) == 1
        time.sleep(0.1)
    assert len(sent) >= 100 + 2  # every call sent one; the helper sent more while busy
    resending[0].join(2)
    assert not resending[0].is_alive()
    with busy:  # a later spell gets a helper of its own
        busy.interrupt_until_idle(lambda: sent.append(1), seconds=0.2)
        assert [t for t in threading.enumerate() if t.name == "noctra-cancel"]
