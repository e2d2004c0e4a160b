"""Persistent Parquet copies of text sources across processes (SPEC 4.5, issue 15)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from noctra import Session
from noctra.config import Config
from noctra.engine.cache import CacheStore, cache_dir, identify
from noctra.lifecycle import build_source
from tests.conftest import HttpServer, RunNoctra

QUERY = "SELECT count(*), sum(b) FROM t"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty $XDG_CACHE_HOME for this test; the store directory inside it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    return cache_dir()


def config(*, persistent: bool = True, max_size: int = 1 << 30) -> Config:
    made = Config()
    made.cache.persistent = persistent
    made.cache.max_size = max_size
    made.cache.min_size = 0  # small test files are cached too
    made.cache.results = False  # the copies, not stored results (test_stored_results.py), serve
    return made


def write_csv(path: Path, rows: int, value: int = 1) -> None:
    path.write_text("a,b\n" + "".join(f"{i},{value}\n" for i in range(rows)))


def run(path: Path, *, conf: Config | None = None, sql: str = QUERY) -> tuple[list[tuple[object, ...]], int]:
    """One 'process': a fresh session reads the file; its rows and persistent-cache hits."""
    with Session(config=conf or config(), restore=False) as session:
        session.use(str(path), alias="t")
        rows = session.sql(sql).rows(100)
        return rows, session.hybrid.cache_hits


def entries(store_dir: Path) -> list[Path]:
    return sorted(store_dir.glob("*.parquet"))


def test_second_process_builds_and_third_reads_the_copy(tmp_path: Path, cache: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 100)
    assert run(data) == ([(100, 100)], 0)
    assert entries(cache) == []  # the first read only leaves a marker
    assert run(data) == ([(100, 100)], 0)  # the second builds the copy
    assert len(entries(cache)) == 1
    assert run(data) == ([(100, 100)], 1)
    store = CacheStore(cache, max_size=1 << 30, min_size=0)
    [entry] = store.entries()
    assert (entry.source, entry.hits) == (str(data), 1)
    # LZ4, the codec that reads back fastest (docs/PERFORMANCE_TUNING.md, "Persistent cache")
    codecs = duckdb.sql(f"SELECT DISTINCT compression FROM parquet_metadata('{entry.copy}')").fetchall()
    assert codecs == [("LZ4_RAW",)]


def test_the_copy_serves_without_the_text_being_parsed(tmp_path: Path, cache: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 50)
    run(data)
    run(data)
    # The copy's rows differ from the text's: only a read of the copy gives them.
    [copy] = entries(cache)
    import duckdb

    duckdb.execute(f"COPY (SELECT 7 AS a, 7 AS b) TO '{copy}' (FORMAT parquet)")
    assert run(data) == ([(1, 7)], 1)


def test_a_size_change_is_never_served_stale(tmp_path: Path, cache: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 100)
    run(data)
    run(data)
    write_csv(data, 101)
    assert run(data) == ([(101, 101)], 0)


@pytest.mark.parametrize("road", ["USE", "FROM"])
def test_a_copy_of_an_earlier_state_goes_when_the_new_one_is_made(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, road: str
) -> None:
    """An edited file's old copy is never served again: it does not stay on disk until the
    size bound evicts it."""
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "d.csv"
    sql = "SELECT count(*), sum(b) FROM " + ("t" if road == "USE" else "'d.csv'")
    write_csv(data, 100)
    for _ in range(2):
        run(data, sql=sql)
    (old,) = entries(cache)
    write_csv(data, 101)
    for _ in range(2):
        assert run(data, sql=sql)[0] == [(101, 101)]
    (new,) = entries(cache)
    assert new != old


def test_same_size_new_mtime_is_never_served_stale(tmp_path: Path, cache: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 100, value=1)
    run(data)
    run(data)
    before = data.stat()
    write_csv(data, 100, value=2)
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert run(data) == ([(100, 200)], 0)


def test_same_size_same_mtime_rewrite_is_never_served_stale(tmp_path: Path, cache: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 100, value=1)
    run(data)
    run(data)
    before = data.stat()
    write_csv(data, 100, value=2)
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))  # a rewrite within one mtime tick
    assert data.stat().st_size == before.st_size
    assert run(data) == ([(100, 200)], 0)


def test_a_file_changed_during_a_session_is_read_again(tmp_path: Path, cache: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 100)
    run(data)
    with Session(config=config(), restore=False) as session:
        session.use(str(data), alias="t")
        assert session.sql(QUERY).rows(100) == [(100, 100)]  # builds the copy
        write_csv(data, 100, value=3)
        assert session.sql(QUERY).rows(100) == [(100, 300)]


def test_a_corrupt_copy_is_dropped_and_rebuilt(tmp_path: Path, cache: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 100)
    run(data)
    run(data)
    [copy] = entries(cache)
    copy.write_bytes(b"not parquet at all")
    assert run(data) == ([(100, 100)], 0)  # read from the text; the entry is gone
    assert entries(cache) == []
    run(data)  # the next reads build it again (the marker says it was read before)
    assert run(data) == ([(100, 100)], 1)


def test_the_size_bound_evicts_the_least_recently_used(tmp_path: Path, cache: Path) -> None:
    first, second = tmp_path / "one.csv", tmp_path / "two.csv"
    write_csv(first, 2000)
    write_csv(second, 2000)
    run(first)
    run(first)
    [copy] = entries(cache)
    bound = copy.stat().st_size * 3 // 2  # room for one copy, not two
    run(second, conf=config(max_size=bound))
    run(second, conf=config(max_size=bound))
    sources = [entry.source for entry in CacheStore(cache, max_size=bound, min_size=0).entries()]
    assert sources == [str(second)]


def test_persistent_false_reads_the_text(tmp_path: Path, cache: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 10)
    for _ in range(3):
        assert run(data, conf=config(persistent=False)) == ([(10, 10)], 0)
    assert not cache.exists()


def test_remote_sources_are_not_cached(cache: Path) -> None:
    remote = build_source("https://example.com/data.csv", "r", {})
    with Session(config=config(), restore=False) as session:
        for _ in range(3):
            session.hybrid.file_read(remote, "read_csv('https://example.com/data.csv')")
    assert not cache.exists()


def test_identity_fingerprint_covers_the_end_of_big_files(tmp_path: Path) -> None:
    data = tmp_path / "big.csv"
    data.write_bytes(b"x" * 300_000)
    before = identify(str(data))
    data.write_bytes(b"x" * 299_999 + b"y")
    assert identify(str(data)).fingerprint != before.fingerprint


def test_two_processes_racing_on_one_entry_both_read_correct_rows(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 5000, value=2)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg-cache"), NOCTRA_CACHE_MIN_SIZE="0")
    env["NOCTRA_CACHE_RESULTS"] = "false"
    env.pop("NOCTRA_CONFIG", None)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    code = (
        "import sys; from noctra import Session\n"
        "with Session(restore=False) as s:\n"
        f"    s.use({str(data)!r}, alias='t')\n"
        "    print(s.sql('SELECT count(*), sum(b) FROM t').rows(100))\n"
    )
    for _ in range(3):  # marker, then two racing builds, then two racing readers
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [proc.communicate(timeout=60) for proc in procs]
        assert outputs == [("[(5000, 10000)]\n", "")] * 2
    assert len(entries(tmp_path / "xdg-cache" / "noctra")) == 1
    assert not list((tmp_path / "xdg-cache" / "noctra").glob(".*.tmp"))


def test_a_type_parquet_would_change_is_never_copied(tmp_path: Path, cache: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 10)
    sql = "SELECT typeof(a), count(*) FROM t GROUP BY ALL"
    for _ in range(3):
        with Session(config=config(), restore=False) as session:
            session.use(str(data), alias="t", options={"types": {"a": "HUGEINT"}})
            assert session.sql(sql).rows(10) == [("HUGEINT", 10)]
    assert entries(cache) == []
    assert len(list(cache.glob("*.unfit"))) == 1  # tried once, then never again


def test_cli_stats_count_hits_and_no_cache_reads_the_text(tmp_path: Path, run_noctra: RunNoctra) -> None:
    write_csv(tmp_path / "d.csv", 100)
    (tmp_path / "c.toml").write_text("[cache]\nmin_size = 0\nresults = false\n")
    query = ("query", "SELECT count(*) AS n, sum(b) AS s FROM d", "d.csv", "--config", "c.toml")
    hits = []
    for extra in ([], [], [], ["--no-cache"]):
        proc = run_noctra(*query, "--format", "csv", "--stats", "--fresh", *extra, cwd=tmp_path)
        assert (proc.returncode, proc.stdout) == (0, "n,s\n100,100\n")
        hits.append(json.loads(proc.stderr.splitlines()[-1])["cache_hits"])
    assert hits == [0, 0, 1, 0]


def test_cache_show_lists_copies_and_clear_deletes_them(tmp_path: Path, run_noctra: RunNoctra) -> None:
    write_csv(tmp_path / "d.csv", 100)
    (tmp_path / "c.toml").write_text("[cache]\nmin_size = 0\nresults = false\n")
    for _ in range(3):
        run_noctra("query", "SELECT count(*) FROM d", "d.csv", "--config", "c.toml", "--fresh", cwd=tmp_path)
    shown = run_noctra("cache", "show", "--config", "c.toml", cwd=tmp_path)
    assert shown.returncode == 0
    header, row = shown.stdout.splitlines()
    assert header.split() == ["kind", "of", "size", "hits", "last", "use"]
    assert row.split()[:2] == ["copy", str(tmp_path / "d.csv")]
    assert row.split()[4] == "1"  # size is "N.N KB"
    cleared = run_noctra("cache", "clear", "--config", "c.toml", cwd=tmp_path)
    assert (cleared.returncode, cleared.stdout) == (0, "")
    assert cleared.stderr.startswith("deleted 1 cached copy and 0 stored results from ")
    assert run_noctra("cache", "show", cwd=tmp_path).stdout.splitlines() == ["kind  of  size  hits  last use"]


# --- every road a text file is read by: registered or quoted in FROM, CSV or NDJSON ---------


def write_text(path: Path, rows: int, value: int = 1) -> None:
    """The file in its format (by suffix): columns a, b; b is `value` on every row."""
    if path.suffix == ".ndjson":
        path.write_text("".join(json.dumps({"a": i, "b": value}) + "\n" for i in range(rows)))
    else:
        write_csv(path, rows, value)


def read_road(road: str, path: Path, conf: Config | None = None) -> tuple[list[tuple[object, ...]], int]:
    """One process reading the file by `road`: its rows and persistent-cache hits."""
    with Session(config=conf or config(), restore=False) as session:
        if road == "alias":
            session.use(str(path), alias="t")
            sql = QUERY
        else:
            sql = f"SELECT count(*), sum(b) FROM '{path}'"
        return session.sql(sql).rows(100), session.hybrid.cache_hits


ROADS = [(road, suffix) for road in ("alias", "quoted") for suffix in (".csv", ".ndjson")]


@pytest.mark.parametrize(("road", "suffix"), ROADS, ids=[f"{r}{s}" for r, s in ROADS])
def test_every_road_is_served_never_stale_and_survives_a_corrupt_copy(
    tmp_path: Path, cache: Path, road: str, suffix: str
) -> None:
    data = tmp_path / f"d{suffix}"
    write_text(data, 100)
    assert read_road(road, data) == ([(100, 100)], 0)
    assert read_road(road, data) == ([(100, 100)], 0)  # the second read builds the copy
    assert read_road(road, data) == ([(100, 100)], 1)
    # Rewritten in place, same size and mtime: the content check catches it.
    before = data.stat()
    write_text(data, 100, value=2)
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert data.stat().st_size == before.st_size
    assert read_road(road, data) == ([(100, 200)], 0)
    read_road(road, data)  # the copy of the new content
    [copy] = [c for c in entries(cache) if c.stat().st_mtime_ns >= before.st_mtime_ns]
    copy.write_bytes(b"PAR1 this is not parquet PAR1")
    assert read_road(road, data) == ([(100, 200)], 0)  # the text, never the broken copy
    assert read_road(road, data) == ([(100, 200)], 0)  # builds it again
    assert read_road(road, data) == ([(100, 200)], 1)
    assert read_road(road, data, conf=config(persistent=False)) == ([(100, 200)], 0)


def test_a_quoted_relative_path_and_its_absolute_path_share_one_copy(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 30)
    monkeypatch.chdir(tmp_path)
    for sql in ("SELECT sum(b) FROM 'd.csv'", f"SELECT sum(b) FROM '{data}'", "SELECT sum(b) FROM 'd.csv'"):
        with Session(config=config(), restore=False) as session:
            assert session.sql(sql).rows(10) == [(30,)]
            hits = session.hybrid.cache_hits
    assert (len(entries(cache)), hits) == (1, 1)


def test_show_sources_says_which_copy_a_source_is_read_from(tmp_path: Path, cache: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 10)
    run(data)
    run(data)
    with Session(config=config(), restore=False) as session:
        session.use(str(data), alias="t")
        assert session.show_sources().arrow().column("cache").to_pylist() == [""]
        session.sql(QUERY).rows(10)
        assert session.show_sources().arrow().column("cache").to_pylist() == ["persistent"]
        write_csv(data, 11)  # changed: read from the text again
        assert session.sql(QUERY).rows(10) == [(11, 11)]
        assert session.show_sources().arrow().column("cache").to_pylist() == [""]


def remote_config(*, remote: bool) -> Config:
    made = config()
    made.cache.remote = remote
    return made


@pytest.mark.parametrize("road", ["alias", "quoted"])
def test_remote_files_are_cached_only_when_asked_and_never_stale(
    cache: Path, http_server: HttpServer, road: str
) -> None:
    name = f"cache-{road}-{os.getpid()}.csv"
    path = http_server.root / name
    write_csv(path, 40)
    url = http_server.url(name)

    def settle(minutes: int) -> None:
        """A Last-Modified minutes ago: a file changed in the last minute is not copied."""
        stamp = time.time() - minutes * 60
        os.utime(path, (stamp, stamp))

    def read(remote: bool) -> tuple[list[tuple[object, ...]], int]:
        with Session(config=remote_config(remote=remote), restore=False) as session:
            if road == "alias":
                session.use(url, alias="t")
                sql = QUERY
            else:
                sql = f"SELECT count(*), sum(b) FROM '{url}'"
            return session.sql(sql).rows(10), session.hybrid.cache_hits

    for _ in range(3):
        assert read(remote=False) == ([(40, 40)], 0)
    assert entries(cache) == []
    for _ in range(3):  # just written: a same-second rewrite could not be told (R9-R1)
        assert read(remote=True) == ([(40, 40)], 0)
    assert entries(cache) == []
    settle(10)
    assert read(remote=True) == ([(40, 40)], 0)
    assert read(remote=True) == ([(40, 40)], 0)
    assert read(remote=True) == ([(40, 40)], 1)
    [entry] = CacheStore(cache, max_size=1 << 30, min_size=0).entries()
    assert entry.source == url
    write_csv(path, 41)  # a new size (and Last-Modified) on the server
    settle(5)
    assert read(remote=True) == ([(41, 41)], 0)


GLOB_ROADS = ["alias-glob", "alias-directory", "quoted-glob"]


@pytest.mark.parametrize("road", GLOB_ROADS)
def test_globs_and_directories_are_served_and_follow_every_file(
    tmp_path: Path, cache: Path, road: str
) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    write_csv(folder / "p1.csv", 10)
    write_csv(folder / "p2.csv", 20)
    pattern = str(folder / "*.csv")

    def read() -> tuple[list[tuple[object, ...]], int]:
        with Session(config=config(), restore=False) as session:
            if road == "quoted-glob":
                sql = f"SELECT count(*), sum(b) FROM '{pattern}'"
            else:
                session.use(pattern if road == "alias-glob" else str(folder), alias="t")
                sql = QUERY
            return session.sql(sql).rows(10), session.hybrid.cache_hits

    assert read() == ([(30, 30)], 0)
    assert read() == ([(30, 30)], 0)
    assert read() == ([(30, 30)], 1)
    write_csv(folder / "p3.csv", 5)  # a new file
    assert read() == ([(35, 35)], 0)
    read()
    assert read() == ([(35, 35)], 1)
    (folder / "p1.csv").unlink()  # a file gone
    assert read() == ([(25, 25)], 0)
    # One file, last changed an hour ago, rewritten in place: same size, same mtime.
    stat = (folder / "p2.csv").stat()
    os.utime(folder / "p2.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns - 3600 * 10**9))
    before = (folder / "p2.csv").stat()
    assert read() == ([(25, 25)], 0)  # its mtime changed
    read()
    assert read() == ([(25, 25)], 1)
    write_csv(folder / "p2.csv", 20, value=3)
    os.utime(folder / "p2.csv", ns=(before.st_atime_ns, before.st_mtime_ns))
    assert read() == ([(25, 65)], 0)


def test_a_copy_left_without_its_description_is_deleted_once_old(tmp_path: Path, cache: Path) -> None:
    data = tmp_path / "d.csv"
    write_csv(data, 10)
    run(data)
    run(data)
    [copy] = entries(cache)
    copy.with_suffix(".meta").unlink()  # a crash between the copy and its description
    store = CacheStore(cache, max_size=1 << 30, min_size=0)
    assert store.entries() == [] and copy.exists()  # maybe being written right now: kept
    os.utime(copy, (0, 0))
    assert store.entries() == [] and not copy.exists()
    assert run(data) == ([(10, 10)], 0)  # the text is read (a first read again)
    assert run(data) == ([(10, 10)], 0)  # and copied again
    assert run(data) == ([(10, 10)], 1)


def test_a_timestamptz_copy_is_keyed_by_the_session_time_zone(tmp_path: Path, cache: Path) -> None:
    """Text without an offset read as TIMESTAMPTZ takes the session's TimeZone: a copy made
    under one zone (persistent, or the in-memory copy of a hot file) is never served under
    another; a file without such a column keeps one copy for every zone."""
    (tmp_path / "z.csv").write_text("id,ts\n1,2024-01-01 12:00:00\n")
    (tmp_path / "n.csv").write_text("id,ts\n1,2024-01-01 12:00:00\n")
    utc, new_york = 1704110400.0, 1704128400.0

    def epochs(zone: str) -> tuple[list[float], int]:
        with Session(config=config(), restore=False) as session:
            session.execute(f"SET TimeZone = '{zone}'")
            session.use(str(tmp_path / "z.csv"), alias="z", options={"types": {"ts": "TIMESTAMPTZ"}})
            session.use(str(tmp_path / "n.csv"), alias="n")
            sql = "SELECT epoch(z.ts) + 0 * epoch(n.ts) FROM z, n"
            found = [float(str(session.sql(sql).rows(1)[0][0])) for _ in range(4)]  # a memory copy too
            session.execute("SET TimeZone = 'America/New_York'" if zone == "UTC" else "SET TimeZone = 'UTC'")
            found.append(float(str(session.sql(sql).rows(1)[0][0])))
            return found, session.hybrid.cache_hits

    assert epochs("UTC")[0] == [utc] * 4 + [new_york]
    assert epochs("UTC")[0] == [utc] * 4 + [new_york]  # both copies made (UTC, and naive n.csv)
    found, hits = epochs("America/New_York")
    assert found == [new_york] * 4 + [utc]
    assert hits >= 1  # n.csv's copy serves every zone
    assert epochs("America/New_York")[0] == [new_york] * 4 + [utc]
