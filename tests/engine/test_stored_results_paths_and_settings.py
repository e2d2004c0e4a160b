"""Stored results that must not stand in for a fresh run (SPEC 4.5): paths, globs, settings.

Each "process" is a fresh Session over the same $XDG_CACHE_HOME (the first run of a query
notes it, the second stores it, later ones are served), or a real `noctra` process. Every
test compares what a user gets with what the query gives over the files as they are now
(stored results off).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import RunNoctra
from tests.engine.stored import config, fresh, run, served_three_times

# --- globs of more than 100 files (identify_glob's FINGERPRINTED_FILES) ----------------


def _many_files(folder: Path, count: int = 101) -> None:
    """``count`` one-row CSV files, all last modified a minute ago (out of the racy window)."""
    folder.mkdir()
    old = time.time() - 60
    for i in range(count):
        path = folder / f"f{i:03}.csv"
        path.write_text(f"k,v\n{i},aaaa\n")
        os.utime(path, (old, old))


def test_a_same_size_edit_with_the_mtime_put_back_in_a_glob_of_101_files(
    tmp_path: Path, results: Path
) -> None:
    """The single-file case (cp -p, rsync -t, os.utime) is caught by inode + ctime, but a
    glob of more than FINGERPRINTED_FILES files is identified by path, size and mtime only:
    the edited file's old rows were served."""
    _many_files(tmp_path / "d")
    sql = "SELECT k, v FROM 'd/*.csv' WHERE v <> 'aaaa' ORDER BY k"
    assert served_three_times(sql) == []
    edited = tmp_path / "d" / "f050.csv"
    stat = edited.stat()
    with open(edited, "r+b") as handle:  # same size, same inode, in place
        handle.seek(stat.st_size - 5)
        handle.write(b"bbbb")
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert fresh(sql) == [{"k": 50, "v": "bbbb"}]
    assert run(sql)[0] == fresh(sql)


def test_a_symlink_in_a_glob_of_101_files_retargeted_to_a_same_size_same_mtime_file(
    tmp_path: Path, results: Path
) -> None:
    """A link farm (releases/current style): one member of a big glob is a symlink, pointed
    at another file of the same size and mtime (cp -p). Its old rows were served."""
    _many_files(tmp_path / "d")
    (tmp_path / "v1.csv").write_text("k,v\n999,aaaa\n")
    (tmp_path / "v2.csv").write_text("k,v\n999,bbbb\n")
    old = time.time() - 60
    for name in ("v1.csv", "v2.csv"):
        os.utime(tmp_path / name, (old, old))
    link = tmp_path / "d" / "zz.csv"
    link.symlink_to(tmp_path / "v1.csv")
    sql = "SELECT k, v FROM 'd/*.csv' WHERE v <> 'aaaa' ORDER BY k"
    assert served_three_times(sql) == []
    link.unlink()
    link.symlink_to(tmp_path / "v2.csv")
    assert fresh(sql) == [{"k": 999, "v": "bbbb"}]
    assert run(sql)[0] == fresh(sql)


# --- catalog listings (SHOW / DESCRIBE without a query) ---------------------------------


def test_show_all_tables_is_not_served(tmp_path: Path, results: Path) -> None:
    """``FROM (SHOW ALL TABLES)`` reads the catalog, not files: read_set accepted its
    SHOW_REF node as reading nothing, so it was stored with no inputs. The storing run
    itself creates memory.__noctra_results.r_<key> before running it, so the served
    answer lists Noctra's internal table, which a fresh run never shows."""
    (tmp_path / "a.csv").write_text("k\n1\n")
    before = "USE 'a.csv' AS f"
    sql = "SELECT database, schema, name FROM (SHOW ALL TABLES) WHERE name <> 'zz' ORDER BY ALL"
    expected = fresh(sql, before=before)
    assert expected == [{"database": "memory", "schema": "main", "name": "f"}]
    for _ in range(3):
        assert run(sql, before=before)[0] == expected


def test_show_all_tables_is_not_served_cli(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    """The same through the CLI: the third run (result_hits 1) lists a table no fresh run has."""
    isolated_env["NOCTRA_CACHE_RESULT_MIN_MS"] = "0"
    (tmp_path / "a.csv").write_text("k\n1\n")
    script = (
        "USE 'a.csv' AS f; "
        "SELECT database, schema, name FROM (SHOW ALL TABLES) WHERE name <> 'zz' ORDER BY ALL"
    )
    expected = "database,schema,name\nmemory,main,f\n"
    for _ in range(3):
        done = run_noctra("--fresh", "query", script, "--format", "csv", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout == expected


# --- DuckDB's file_search_path ----------------------------------------------------------


def test_a_glob_resolved_through_file_search_path_is_followed(tmp_path: Path, results: Path) -> None:
    """With file_search_path set ([duckdb.tuning] or SET), DuckDB reads a relative glob
    from the search path's folder, while a stored result would follow the files the glob
    matches under the working directory: nothing is stored while it is set."""
    (tmp_path / "other").mkdir()
    (tmp_path / "x1.csv").write_text("k\ncwd\n")
    (tmp_path / "other" / "x2.csv").write_text("k\nother\n")
    tuning: dict[str, object] = {"file_search_path": str(tmp_path / "other")}
    conf = config(tuning=tuning)
    sql = "SELECT k FROM 'x*.csv' ORDER BY k"
    assert fresh(sql, tuning=tuning) == [{"k": "other"}]  # what DuckDB reads
    for _ in range(3):
        assert run(sql, conf=conf) == ([{"k": "other"}], 0)  # never stored while it is set
    (tmp_path / "other" / "x2.csv").write_text("k\nCHANGED\n")
    assert fresh(sql, tuning=tuning) == [{"k": "CHANGED"}]
    assert run(sql, conf=conf)[0] == [{"k": "CHANGED"}]


def test_a_glob_resolved_through_set_file_search_path_is_followed_cli(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    isolated_env["NOCTRA_CACHE_RESULT_MIN_MS"] = "0"
    (tmp_path / "other").mkdir()
    (tmp_path / "x1.csv").write_text("k\ncwd\n")
    (tmp_path / "other" / "x2.csv").write_text("k\nother\n")
    script = f"SET file_search_path = '{tmp_path / 'other'}'; SELECT k FROM 'x*.csv' ORDER BY k"
    for _ in range(3):
        done = run_noctra("--fresh", "query", script, "--format", "csv", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.endswith("k\nother\n")
    (tmp_path / "other" / "x2.csv").write_text("k\nCHANGED\n")
    done = run_noctra("--fresh", "query", script, "--format", "csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("k\nCHANGED\n")


# --- a symlinked folder followed by .. ---------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT k FROM 'link/../x.csv'",
        "SELECT k FROM read_csv('link/../x.csv')",
        "SELECT k FROM 'link/../*.csv'",
    ],
)
def test_a_path_through_a_symlinked_folder_and_dotdot_follows_the_file_read(
    sql: str, tmp_path: Path, results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``link/../x.csv`` with ``link -> deep/sub``: the kernel (and DuckDB) read
    ``deep/x.csv``, but os.path.abspath collapses ``link/..`` as text and the stored result
    followed ``./x.csv`` instead, so a change to the file the query read was not seen."""
    (tmp_path / "deep" / "sub").mkdir(parents=True)
    work = tmp_path / "w"
    work.mkdir()
    (work / "x.csv").write_text("k\ncwd\n")
    (tmp_path / "deep" / "x.csv").write_text("k\ndeep\n")
    (work / "link").symlink_to(tmp_path / "deep" / "sub")
    monkeypatch.chdir(work)
    assert fresh(sql) == [{"k": "deep"}]
    served_three_times(sql)
    (tmp_path / "deep" / "x.csv").write_text("k\nCHANGED\n")
    assert fresh(sql) == [{"k": "CHANGED"}]
    assert run(sql)[0] == [{"k": "CHANGED"}]


# --- [duckdb.tuning]: the connection's own settings ----------------------------------------


def test_a_time_zone_changed_in_the_config_file_is_not_served_the_old_one(
    tmp_path: Path, results: Path
) -> None:
    """[duckdb.tuning] settings are the connection's (a cursor does not see them): they key
    the result, so a TimeZone changed in the config file recomputes hour() and the text."""
    (tmp_path / "f.csv").write_text("t\n2024-01-01 00:00:00+00\n")
    sql = "SELECT hour(t) AS h, t::VARCHAR AS v FROM 'f.csv'"
    utc = config(tuning={"TimeZone": "UTC"})
    assert served_three_times(sql, conf=utc) == [{"h": 0, "v": "2024-01-01 00:00:00+00"}]
    tokyo = config(tuning={"TimeZone": "Asia/Tokyo"})
    assert fresh(sql, tuning={"TimeZone": "Asia/Tokyo"}) == [{"h": 9, "v": "2024-01-01 09:00:00+09"}]
    assert run(sql, conf=tokyo) == ([{"h": 9, "v": "2024-01-01 09:00:00+09"}], 0)
    assert served_three_times(sql, conf=tokyo) == [{"h": 9, "v": "2024-01-01 09:00:00+09"}]
    assert run(sql, conf=utc) == ([{"h": 0, "v": "2024-01-01 00:00:00+00"}], 1)  # its own entry


# --- what a glob matches besides regular files ---------------------------------------------


@pytest.mark.parametrize("odd", ["fifo", "proc", "device", "dangling"])
def test_a_glob_matching_a_pipe_device_or_kernel_file_has_no_identity(tmp_path: Path, odd: str) -> None:
    """DuckDB reads every match of a glob; one no identity can follow means no copy and no
    stored result (the text is read, the query runs), while folders are passed over."""
    from noctra.engine.cache import identify_glob

    folder = tmp_path / "d"
    (folder / "sub.csv").mkdir(parents=True)  # a folder named like a file is not read
    (folder / "a.csv").write_text("k\n1\n")
    assert identify_glob(str(folder / "*.csv")).size == 4
    odd_path = folder / "b.csv"
    if odd == "fifo":
        os.mkfifo(odd_path)
    elif odd == "proc":
        odd_path.symlink_to("/proc/self/status")
    elif odd == "device":
        odd_path.symlink_to("/dev/null")
    else:
        odd_path.symlink_to(tmp_path / "gone.csv")
    with pytest.raises(OSError):
        identify_glob(str(folder / "*.csv"))


# --- two processes storing one query over a file that changed between them -------------------


def test_a_stored_file_beside_another_state_s_description_is_not_served(
    tmp_path: Path, results: Path
) -> None:
    """Process A stores rows of the old file while B stores rows of the new one: if A's rows
    land last beside B's description (the window between a check and a rename), the rows
    must not be served for the new file. Each stored file names the state it was made from."""
    data = tmp_path / "d.csv"
    data.write_text("k\n1\n")
    sql = "SELECT sum(k) AS s FROM 'd.csv'"
    assert served_three_times(sql) == [{"s": 1}]
    (entry,) = results.glob("*.duckdb")
    old_rows = entry.read_bytes()
    data.write_text("k\n1\n2\n")
    assert served_three_times(sql) == [{"s": 3}]
    entry.write_bytes(old_rows)  # A's rename after B's, B's description kept
    assert run(sql) == ([{"s": 3}], 0)  # not served: computed again
    assert run(sql)[0] == [{"s": 3}]
