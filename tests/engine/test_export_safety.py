"""EXPORT never shows a half-written file to a glob, never replaces what is not a plain file,
keeps a replaced file's mode, refuses bad option values, writes valid JSON; the cache is private
and a damaged persistent copy is dropped."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import duckdb
import pytest

from noctra import Session
from noctra.engine import export as export_module
from noctra.errors import ExportError, OptionError

FORMATS = ["csv", "parquet", "json", "xlsx"]
DIRECTORY_FORMATS = ["csv", "parquet", "json"]


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.chdir(tmp_path)
    return Session()


def _read(path: Path, fmt: str) -> list[tuple[object, ...]]:
    reader = {"csv": "read_csv", "parquet": "read_parquet", "json": "read_json"}
    if fmt == "xlsx":
        return Session().sql(f"SELECT * FROM '{path}'").rows(10)  # the excel extension, as Noctra loads it
    return duckdb.sql(f"SELECT * FROM {reader[fmt]}('{path}')").fetchall()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_glob_of_the_folder_never_reads_the_temp_file(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    seen: list[list[str]] = []
    original = export_module._run_copy

    def spying(*args: object, **kwargs: object) -> int:
        rows = original(*args, **kwargs)  # type: ignore[arg-type]
        # the temp file is whole now, and not yet renamed: what would a glob of the folder read?
        seen.append(
            sorted(p.name for p in folder.glob(f"*.{fmt}")) + [p.name for p in folder.glob(f".*.{fmt}")]
        )
        return rows

    monkeypatch.setattr(export_module, "_run_copy", spying)
    session.execute(f"EXPORT (SELECT 1 AS a) TO 'logs/c.{fmt}'")
    assert seen == [[]]
    assert _read(folder / f"c.{fmt}", fmt) in ([(1,)], [(1.0,)])
    assert sorted(p.name for p in folder.iterdir()) == [f"c.{fmt}"]


# DuckDB 1.5's JSON writer has no PARTITION_BY: that pair is left out.
DIRECTORY_CASES = [
    (fmt, option)
    for fmt in DIRECTORY_FORMATS
    for option in (
        "per_thread_output = true",
        "partition_by = p",
        "per_thread_output = true|in",
        "partition_by = p|in",
    )
    if not (fmt == "json" and option.startswith("partition_by"))
]


@pytest.mark.parametrize(("fmt", "option"), DIRECTORY_CASES)
def test_directory_exports_write_temp_names_then_duckdbs(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, option: str
) -> None:
    option, _, inside = option.partition("|")
    exists = bool(inside)  # "|in": into an existing empty directory
    if exists:
        (tmp_path / "out").mkdir()  # an empty directory is filled from inside
    seen: list[list[str]] = []
    original = export_module._run_copy

    def spying(*args: object, **kwargs: object) -> int:
        rows = original(*args, **kwargs)  # type: ignore[arg-type]
        seen.append([p.name for p in tmp_path.rglob(f"*.{fmt}")])
        return rows

    monkeypatch.setattr(export_module, "_run_copy", spying)
    session.execute(
        f"EXPORT (SELECT range AS a, range % 2 AS p FROM range(10)) TO 'out' FORMAT {fmt} OPTIONS ({option})"
    )
    assert seen == [[]]
    names = sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert names and all(n.startswith("data_") and n.endswith(f".{fmt}") for n in names)
    total = duckdb.sql(
        f"SELECT sum(a) FROM read_{'csv' if fmt == 'csv' else fmt}('{tmp_path}/out/**/*.{fmt}')"
    )
    assert total.fetchall() == [(45,)]


def test_a_killed_exports_stale_temp_is_removed_and_a_live_ones_kept(
    session: Session, tmp_path: Path
) -> None:
    stale = tmp_path / ".c.noctra-999999999-0123abcd.tmp"  # no such process
    stale.write_text("half")
    old = time.time() - 2 * export_module.STALE_SECONDS
    os.utime(stale, (old, old))
    fresh = tmp_path / ".c.noctra-999999998-0123abcd.tmp"  # too recent to be sure
    fresh.write_text("half")
    live = tmp_path / f".c.noctra-{os.getppid()}-0123abcd.tmp"  # a running process's
    live.write_text("half")
    os.utime(live, (old, old))
    other = tmp_path / ".d.noctra-999999999-0123abcd.tmp"  # another target's
    other.write_text("half")
    os.utime(other, (old, old))
    session.execute("EXPORT (SELECT 1 AS a) TO 'c.csv'")
    assert not stale.exists()
    assert fresh.exists() and live.exists() and other.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_through_a_symlink_writes_the_linked_file(session: Session, tmp_path: Path, fmt: str) -> None:
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / f"x.{fmt}"
    real.write_text("old")
    link = tmp_path / f"link.{fmt}"
    link.symlink_to(real)
    session.execute(f"EXPORT (SELECT 7 AS a) TO 'link.{fmt}'")
    assert link.is_symlink() and link.resolve() == real
    assert _read(real, fmt) in ([(7,)], [(7.0,)])
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == [f"x.{fmt}"]


def test_a_dangling_symlink_makes_the_file_it_names(session: Session, tmp_path: Path) -> None:
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "made.csv")
    session.execute("EXPORT (SELECT 7 AS a) TO 'link.csv'")
    assert link.is_symlink()
    assert (tmp_path / "made.csv").read_text() == "a\n7\n"


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_to_a_named_pipe_writes_into_it(session: Session, tmp_path: Path, fmt: str) -> None:
    import subprocess

    fifo = tmp_path / f"pipe.{fmt}"
    os.mkfifo(fifo)
    with subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE) as reader:
        session.execute(f"EXPORT (SELECT 42 AS a) TO 'pipe.{fmt}'")
        out, _ = reader.communicate(timeout=30)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert b"42" in out or (fmt == "parquet" and out.startswith(b"PAR1"))


def test_devices_other_than_null_and_terminals_are_refused(session: Session) -> None:
    with pytest.raises(ExportError, match="device"):
        session.execute("EXPORT (SELECT 1 AS a) TO '/dev/zero' FORMAT CSV")
    session.execute("EXPORT (SELECT 1 AS a) TO '/dev/null' FORMAT CSV")
    assert stat.S_ISCHR(os.stat("/dev/zero").st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_socket_is_refused(session: Session, tmp_path: Path) -> None:
    import socket

    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "s.csv"))
        with pytest.raises(ExportError, match="not a regular file"):
            session.execute("EXPORT (SELECT 1 AS a) TO 's.csv'")
    assert stat.S_ISSOCK(os.lstat(tmp_path / "s.csv").st_mode)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444])
def test_a_replaced_file_keeps_its_mode(session: Session, tmp_path: Path, fmt: str, mode: int) -> None:
    target = tmp_path / f"p.{fmt}"
    target.write_text("old")
    target.chmod(mode)
    session.execute(f"EXPORT (SELECT 1 AS a) TO 'p.{fmt}'")
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert _read(target, fmt) in ([(1,)], [(1.0,)])


def test_a_file_with_other_hard_links_is_refused_and_kept(session: Session, tmp_path: Path) -> None:
    first = tmp_path / "h.csv"
    first.write_text("old\n")
    os.link(first, tmp_path / "h2.csv")
    with pytest.raises(ExportError, match="hard links"):
        session.execute("EXPORT (SELECT 1 AS a) TO 'h.csv'")
    assert first.read_text() == "old\n" == (tmp_path / "h2.csv").read_text()


@pytest.mark.parametrize(
    ("target", "options", "named"),
    [
        ("x.csv", "delimiter = ''", "delimiter"),
        ("x.csv", "delimiter = '', per_thread_output = true", "delimiter"),
        ("x.parquet", "row_group_size = -1", "row_group_size"),
        ("x.parquet", "row_group_size = 0", "row_group_size"),
        ("x.xlsx", "sheet_row_limit = 0", "sheet_row_limit"),
    ],
)
def test_bad_option_values_are_refused(
    session: Session, tmp_path: Path, target: str, options: str, named: str
) -> None:
    with pytest.raises(OptionError, match=named):
        session.execute(f"EXPORT (SELECT 1 AS a, 2 AS b) TO '{target}' OPTIONS ({options})")
    assert not (tmp_path / target).exists()


@pytest.mark.parametrize("target", ["n.json", "n.ndjson", "n.json.gz"])
@pytest.mark.parametrize("array", [False, True])
def test_json_exports_write_null_for_nan_and_infinity(
    session: Session, tmp_path: Path, target: str, array: bool
) -> None:
    import gzip

    query = (
        "SELECT 'nan'::double AS x, '-inf'::double AS y, 'inf'::float AS f, 1.5 AS d, "
        "[1.0, 'nan'::double] AS l, 'NaN' AS s"
    )
    session.execute(f"EXPORT ({query}) TO '{target}' OPTIONS (array = {str(array).lower()})")
    raw = (tmp_path / target).read_bytes()
    text = (gzip.decompress(raw) if target.endswith(".gz") else raw).decode()

    def refuse(constant: str) -> object:
        raise ValueError(constant)

    rows = json.loads(text, parse_constant=refuse) if array else [json.loads(text, parse_constant=refuse)]
    assert rows == [{"x": None, "y": None, "f": None, "d": 1.5, "l": [1.0, None], "s": "NaN"}]


def test_json_directory_exports_write_null_for_nan(session: Session, tmp_path: Path) -> None:
    session.execute(
        "EXPORT (SELECT 'nan'::double AS x) TO 'out' FORMAT JSON OPTIONS (per_thread_output = true)"
    )
    [part] = (tmp_path / "out").iterdir()
    assert json.loads(part.read_text()) == {"x": None}


def _copies(cache: Path) -> list[Path]:
    return list((cache / "noctra").glob("*.parquet"))


@pytest.mark.parametrize("how", ["quoted", "source"])
def test_a_damaged_persistent_copy_is_dropped_and_the_text_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NOCTRA_CACHE_RESULTS", "false")
    lines = ["id,v"] + [f"{i},{i % 977}" for i in range(300_000)]
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n")
    sql = "SELECT sum(v) AS s, count(*) AS c FROM " + ("'big.csv'" if how == "quoted" else "big")

    def run() -> list[tuple[object, ...]]:
        with Session() as session:
            if how != "quoted":
                session.execute("USE 'big.csv' AS big")
            return session.sql(sql).rows(1)

    expected = run()
    run()
    run()
    cache = Path(os.environ["XDG_CACHE_HOME"])
    [copy] = _copies(cache)
    offset, size = duckdb.sql(
        f"SELECT data_page_offset, total_compressed_size FROM parquet_metadata('{copy}') "
        "WHERE path_in_schema = 'v' LIMIT 1"
    ).fetchone()  # type: ignore[misc]
    with open(copy, "r+b") as handle:
        handle.seek(offset + 64)
        handle.write(b"\x00" * min(2000, size - 64))
    assert run() == expected
    assert not copy.exists() or _copies(cache) != [copy] or copy.stat().st_size != size


def test_a_user_error_over_a_persistent_copy_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from noctra.errors import QueryError

    monkeypatch.chdir(tmp_path)
    lines = ["id,v"] + [f"{i},{i % 977}" for i in range(300_000)]
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n")
    for _ in range(3):
        with Session() as session:
            session.sql("SELECT sum(v) FROM 'big.csv'").rows(1)
    [copy] = _copies(Path(os.environ["XDG_CACHE_HOME"]))
    with Session() as session, pytest.raises(QueryError):
        session.sql("SELECT CAST('x' || v AS INTEGER) FROM 'big.csv'").rows(1)
    assert copy.exists()


def test_cache_folders_and_files_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NOCTRA_CACHE_RESULTS", "true")
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "noctra"
    cache.mkdir(parents=True, exist_ok=True)
    cache.chmod(0o755)  # made by an earlier version
    lines = ["id,v"] + [f"{i},{i % 977}" for i in range(300_000)]
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "big.json").write_text("\n".join(json.dumps({"id": i}) for i in range(100_000)) + "\n")
    for _ in range(3):
        with Session() as session:
            session.sql("SELECT v, count(*) FROM 'big.csv' GROUP BY v ORDER BY v LIMIT 2").rows(2)
            session.sql("SELECT count(*) FROM 'big.json'").rows(1)
    made = [p for p in cache.rglob("*")]
    assert any(p.suffix == ".parquet" for p in made)
    for path in [cache, *made]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path.name, oct(mode))
