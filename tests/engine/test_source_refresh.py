"""A registered CSV follows its file: a rewrite that keeps the size and puts the mtime back,
or a remote file changed on its server, is sniffed again, in the same process and after a
restore, so its values never land under the old header's names (R4-4, R4-6)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from noctra import Session, lifecycle
from noctra.engine import sources
from noctra.engine.duck import readers
from noctra.engine.sources import Signature, signature_of, unchanged
from tests.conftest import HttpServer, RangeRequestHandler, S3Server, serve_http
from tests.engine.test_remote import remote_config


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def count_sniffs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = readers.pinned_csv

    def spy(source: sources.Source, rows: readers.Rows) -> tuple[str, dict[str, str]]:
        calls.append(source.alias)
        return original(source, rows)

    monkeypatch.setattr(readers, "pinned_csv", spy)
    return calls


# --- local files: rewrites that keep size and mtime ------------------------------------------


def put_back(path: Path, before: os.stat_result) -> None:
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def rewrite_in_place(path: Path, text: str) -> None:
    """An editor or a script writing the file, then os.utime / touch -r putting the mtime back."""
    before = path.stat()
    path.write_text(text, encoding="utf-8")
    put_back(path, before)


def copy_preserving(path: Path, text: str) -> None:
    """cp -p: another file's bytes and mtime copied over this one (same size, same mtime)."""
    before = path.stat()
    other = path.with_name("other.txt")
    other.write_text(text, encoding="utf-8")
    put_back(other, before)
    shutil.copy2(other, path)


def rsync_times(path: Path, text: str) -> None:
    """rsync -t: a new file written beside, given the old mtime and renamed over (a new inode)."""
    before = path.stat()
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    put_back(temporary, before)
    os.replace(temporary, path)


REWRITES = [rewrite_in_place, copy_preserving, rsync_times]
# (contents after, what SELECT a, b gives then): each the size of "a,b\n1,2\n".
CHANGES = [
    ("b,a\n3,4\n", [(4, 3)]),  # the columns in the other order
    ("a,b\nx,2\n", [("x", 2)]),  # a number column now holds text
]


@pytest.mark.parametrize("rewrite", REWRITES, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("after", "expected"), CHANGES, ids=["reordered", "retyped"])
def test_a_rewrite_keeping_size_and_mtime_is_read_with_the_new_header(
    tmp_path: Path, rewrite: Callable[[Path, str], None], after: str, expected: list[tuple[object, ...]]
) -> None:
    data = tmp_path / "m.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    with Session(restore=False) as session:
        session.use("m.csv", "m")
        assert session.sql("SELECT a, b FROM m").rows(5) == [(1, 2)]
        rewrite(data, after)
        assert session.sql("SELECT a, b FROM 'm.csv'").rows(5) == expected
        assert session.sql("SELECT a, b FROM m").rows(5) == expected


@pytest.mark.parametrize("rewrite", REWRITES, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("after", "expected"), CHANGES, ids=["reordered", "retyped"])
def test_a_restored_source_rewritten_keeping_size_and_mtime_is_read_with_the_new_header(
    tmp_path: Path, rewrite: Callable[[Path, str], None], after: str, expected: list[tuple[object, ...]]
) -> None:
    data = tmp_path / "m.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    state = tmp_path / "session.toml"
    with Session(state_path=state) as session:
        session.use("m.csv", "m")
        assert session.sql("SELECT a, b FROM m").rows(5) == [(1, 2)]
    rewrite(data, after)
    with Session(state_path=state) as restored:
        assert restored.sql("SELECT a, b FROM m").rows(5) == expected
        assert [s.status for s in restored.catalog().sources()] == ["ok"]


def test_an_unchanged_source_is_not_sniffed_again_after_a_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "m.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    state = tmp_path / "session.toml"
    with Session(state_path=state) as session:
        session.use("m.csv", "m")
    sniffs = count_sniffs(monkeypatch)
    with Session(state_path=state) as restored:
        for _ in range(3):
            assert restored.sql("SELECT a, b FROM m").rows(5) == [(1, 2)]
    assert sniffs == []


# (what `known` holds for the file, what unchanged(known, now) says)
FINGERPRINT_CASES = [
    ("no fingerprint, same stat", True),  # a settled file: its stat says it all, nothing is read
    ("fingerprint of these bytes", True),
    ("fingerprint of other bytes", False),  # a same-tick rewrite: every timestamp kept
    ("another ctime", False),  # os.utime, cp -p, a write: ctime moves, and no user can set it
    ("another inode", False),  # rsync -t, an editor's save-and-rename
    ("an older session file's entry", False),  # [path, size, mtime]: sniffed again once
]


@pytest.mark.parametrize(("known_as", "same"), FINGERPRINT_CASES, ids=[c[0] for c in FINGERPRINT_CASES])
def test_unchanged_compares_stat_and_the_fingerprint_of_a_file_seen_while_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, known_as: str, same: bool
) -> None:
    monkeypatch.setattr(sources, "RACY_NS", 3600 * 10**9)  # however slow the machine: just changed
    data = tmp_path / "m.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    now = signature_of(str(data))
    assert now is not None
    path, size, mtime, inode, ctime, fingerprint = now.files[0]
    assert fingerprint  # just written: within RACY_NS of its change
    other = tmp_path / "other.csv"
    other.write_text("b,a\n3,4\n", encoding="utf-8")
    entry = {
        "no fingerprint, same stat": (path, size, mtime, inode, ctime, ""),
        "fingerprint of these bytes": (path, size, mtime, inode, ctime, fingerprint),
        "fingerprint of other bytes": (
            path,
            size,
            mtime,
            inode,
            ctime,
            sources.content_fingerprint(str(other)),
        ),
        "another ctime": (path, size, mtime, inode, ctime - 1, ""),
        "another inode": (path, size, mtime, inode + 1, ctime, ""),
        "an older session file's entry": (path, size, mtime, 0, 0, ""),
    }[known_as]
    assert unchanged(Signature((entry,)), now) is same


def test_a_settled_file_is_known_by_its_stat_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "m.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    monkeypatch.setattr(sources, "RACY_NS", 0)  # as if it changed long ago
    now = signature_of(str(data))
    assert now is not None and now.files[0][5] == ""  # no bytes read: a stat per statement
    assert unchanged(now, signature_of(str(data)))


def test_a_source_whose_fingerprint_settles_keeps_only_its_stat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "m.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    monkeypatch.setattr(sources, "RACY_NS", 3600 * 10**9)  # however slow the machine: just changed
    with Session(restore=False) as session:
        session.use("m.csv", "m")
        source = session.sources.peek("m")
        assert source is not None and source.signature is not None
        assert source.signature.files[0][5]  # USE right after the write: fingerprinted
        monkeypatch.setattr(sources, "RACY_NS", 0)
        assert session.sql("SELECT a, b FROM m").rows(5) == [(1, 2)]
        assert source.signature.files[0][5] == ""


# --- remote files ------------------------------------------------------------------------------


class CountingHandler(RangeRequestHandler):
    """Static files with ranges; every request is counted (method, path)."""

    requests: list[tuple[str, str]]

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.requests.append((self.command, self.path))


@pytest.fixture
def counting_server(tmp_path: Path) -> Iterator[tuple[HttpServer, list[tuple[str, str]]]]:
    """A loopback HTTP server over tmp_path/www that records the requests it answers."""
    root = tmp_path / "www"
    root.mkdir()
    requests: list[tuple[str, str]] = []
    handler = type("Handler", (CountingHandler,), {"requests": requests})
    with serve_http(root, handler) as server:
        yield server, requests


def settled(path: Path) -> None:
    """The file's Last-Modified a minute ago: no same-second rewrite can hide behind it."""
    old = time.time() - 60
    os.utime(path, (old, old))


# (contents at USE, contents after, what SELECT a, b gives then)
REMOTE_CHANGES = [
    ("a,b\n1,2\n", "b,a\n3,4\n", [(4, 3)]),  # reordered, same size, same second
    ("a,b\n1,2\n", "a,b\nx,2\n", [("x", 2)]),  # a number column now holds text, same size
    ("a,b\n1,2\n", "b,c,a\n3,5,4\n", [(4, 3)]),  # a column added before
]


@pytest.mark.parametrize(
    ("before", "after", "expected"), REMOTE_CHANGES, ids=["reordered", "retyped", "added"]
)
def test_an_http_csv_rewritten_is_read_with_its_new_header(
    http_server: HttpServer, before: str, after: str, expected: list[tuple[object, ...]]
) -> None:
    name = f"r-{uuid.uuid4().hex[:8]}.csv"
    (http_server.root / name).write_text(before, encoding="utf-8")
    with Session(restore=False) as session:
        session.use(http_server.url(name), "r")
        assert session.sql("SELECT a, b FROM r").rows(5) == [(1, 2)]
        (http_server.root / name).write_text(after, encoding="utf-8")
        assert session.sql("SELECT a, b FROM r").rows(5) == expected


@pytest.mark.parametrize(
    ("before", "after", "expected"), REMOTE_CHANGES, ids=["reordered", "retyped", "added"]
)
def test_a_restored_http_csv_rewritten_is_read_with_its_new_header(
    tmp_path: Path, http_server: HttpServer, before: str, after: str, expected: list[tuple[object, ...]]
) -> None:
    name = f"r-{uuid.uuid4().hex[:8]}.csv"
    (http_server.root / name).write_text(before, encoding="utf-8")
    state = tmp_path / "session.toml"
    with Session(state_path=state) as session:
        session.use(http_server.url(name), "r")
        assert session.sql("SELECT a, b FROM r").rows(5) == [(1, 2)]
    (http_server.root / name).write_text(after, encoding="utf-8")
    with Session(state_path=state) as restored:
        assert restored.sql("SELECT a, b FROM r").rows(5) == expected


def test_an_s3_csv_rewritten_is_read_with_its_new_header(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_server.bucket(f"noctra-{uuid.uuid4().hex[:12]}")
    url = s3_server.put(bucket, "r.csv", b"a,b\n1,2\n")
    with Session(config=remote_config(s3_server, tmp_path), restore=False) as session:
        session.use(url, "r")
        assert session.sql("SELECT a, b FROM r").rows(5) == [(1, 2)]
        s3_server.put(bucket, "r.csv", b"b,a\n3,4\n")  # same size, most likely the same second
        assert session.sql("SELECT a, b FROM r").rows(5) == [(4, 3)]
        s3_server.put(bucket, "r.csv", b"a,b,c\n5,6,7\n")
        assert session.sql("SELECT a, b FROM r").rows(5) == [(5, 6)]


def test_a_remote_csv_costs_one_head_per_statement_naming_it_and_none_otherwise(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    counting_server: tuple[HttpServer, list[tuple[str, str]]],
) -> None:
    server, requests = counting_server
    data = server.root / "r.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    settled(data)
    state = tmp_path / "session.toml"
    with Session(state_path=state) as session:
        session.use(server.url("r.csv"), "r")
    sniffs = count_sniffs(monkeypatch)
    requests.clear()
    with Session(state_path=state) as restored:
        assert requests == []  # the restore waits on no network
        assert restored.sql("SELECT 1 AS one").rows(1) == [(1,)]
        assert requests == []  # a statement not naming it: no request
        assert restored.sql("SELECT a, b FROM r").rows(5) == [(1, 2)]
        heads = [method for method, _ in requests].count("HEAD")
        requests.clear()
        assert restored.sql("SELECT a, b FROM r").rows(5) == [(1, 2)]
        # Noctra's HEAD and DuckDB's own read (its HEAD and GET): the same each time.
        assert [method for method, _ in requests].count("HEAD") == heads <= 2
    assert sniffs == []


def test_a_remote_csv_read_within_seconds_of_its_change_is_sniffed_until_it_settles(
    monkeypatch: pytest.MonkeyPatch, counting_server: tuple[HttpServer, list[tuple[str, str]]]
) -> None:
    server, _ = counting_server
    (server.root / "r.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    monkeypatch.setattr(lifecycle, "REMOTE_RACY_NS", 30 * 10**9)  # however slow the machine
    sniffs = count_sniffs(monkeypatch)
    with Session(restore=False) as session:
        session.use(server.url("r.csv"), "r")
        assert session.sql("SELECT a, b FROM r").rows(5) == [(1, 2)]
        assert len(sniffs) == 2  # Last-Modified was this second: a same-size rewrite would hide
        settled(server.root / "r.csv")  # a minute ago: sniffed again (changed), then settled
        assert session.sql("SELECT a, b FROM r").rows(5) == [(1, 2)]
        assert session.sql("SELECT a, b FROM r").rows(5) == [(1, 2)]
        assert len(sniffs) == 3


def test_an_s3_glob_whose_files_changed_is_read_with_their_new_header(
    tmp_path: Path, s3_server: S3Server
) -> None:
    bucket = s3_server.bucket(f"noctra-{uuid.uuid4().hex[:12]}")
    for name in ("p1.csv", "p2.csv"):
        s3_server.put(bucket, f"logs/{name}", b"a,b\n1,2\n")
    with Session(config=remote_config(s3_server, tmp_path), restore=False) as session:
        session.use(f"s3://{bucket}/logs/*.csv", "logs")
        assert session.sql("SELECT a, b FROM logs").rows(5) == [(1, 2), (1, 2)]
        for name in ("p1.csv", "p2.csv"):
            s3_server.put(bucket, f"logs/{name}", b"b,a\n3,4\n")
        assert session.sql("SELECT a, b FROM logs").rows(5) == [(4, 3), (4, 3)]
