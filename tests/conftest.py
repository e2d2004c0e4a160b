"""Shared fixtures: Noctra run in a subprocess or in process, and a directory of sample sources."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import duckdb
import pytest

from noctra.cli import main
from tests.db_servers import DbServer

SAMPLE_CSV = 'id,name,amount\n1,"Smith, J",10.5\n2,,20\n3,Ann,\n'


class RunNoctra(Protocol):
    """Runs `python -m noctra ARGS` in cwd and returns the finished process (text streams)."""

    def __call__(
        self, *args: str, cwd: Path, input: str | None = None
    ) -> subprocess.CompletedProcess[str]: ...


@dataclass(frozen=True, slots=True)
class CliRun:
    """What one in-process `noctra.cli.main(argv)` call returned and printed."""

    code: int
    out: str
    err: str


class RunMain(Protocol):
    """Calls `noctra.cli.main(list(args))` in tmp_path and captures stdout and stderr."""

    def __call__(self, *args: str) -> CliRun: ...


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Persistent copies of files (SPEC 4.5) never reach the user's ~/.cache from a test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def isolated_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment with config and session state kept out of the user's home."""
    home = tmp_path_factory.mktemp("xdg")
    env = {k: v for k, v in os.environ.items() if k != "NOCTRA_CONFIG"}
    env["XDG_CONFIG_HOME"] = str(home / "config")
    env["XDG_STATE_HOME"] = str(home / "state")
    env["XDG_CACHE_HOME"] = str(home / "cache")
    env["PYTHONIOENCODING"] = "utf-8"
    return env


@pytest.fixture
def run_noctra(isolated_env: dict[str, str]) -> RunNoctra:
    """Run Noctra as a separate process, as a shell or a script would."""

    def run(*args: str, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "noctra", *args],
            cwd=cwd,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=isolated_env,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def run_main(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    isolated_env: dict[str, str],
) -> RunMain:
    """Run `noctra.cli.main` in this process, in tmp_path, capturing both streams."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NOCTRA_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", isolated_env["XDG_CONFIG_HOME"])
    monkeypatch.setenv("XDG_STATE_HOME", isolated_env["XDG_STATE_HOME"])
    monkeypatch.setenv("XDG_CACHE_HOME", isolated_env["XDG_CACHE_HOME"])

    def run(*args: str) -> CliRun:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run


@pytest.fixture
def sample_files(tmp_path: Path) -> Path:
    """tmp_path holding t.csv, people.db (SQLite users), p.parquet and e.ndjson."""
    (tmp_path / "t.csv").write_text(SAMPLE_CSV, encoding="utf-8")
    with sqlite3.connect(tmp_path / "people.db") as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO users VALUES (?, ?)", [(1, "Ann"), (2, "Bo")])
    conn.close()
    parquet = str(tmp_path / "p.parquet").replace("'", "''")
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT * FROM (VALUES (1, 'x', 1.5), (2, 'y', NULL), (3, NULL, 3.0)) v(id, tag, score))"
            f" TO '{parquet}' (FORMAT parquet)"
        )
    (tmp_path / "e.ndjson").write_text(
        '{"id": 1, "kind": "click"}\n{"id": 2, "kind": null}\n', encoding="utf-8"
    )
    return tmp_path


# --- loopback servers for remote sources (tests/engine/test_remote.py) -----------------


class RangeRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with HEAD and byte ranges (206, Content-Range), as httpfs expects."""

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read their own output."""

    def send_head(self) -> BinaryIO | None:  # type: ignore[override]
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404, "File not found")
            return None
        size = os.path.getsize(path)
        handle = open(path, "rb")  # noqa: SIM115 - closed by copyfile's caller
        ranged = self.headers.get("Range", "")
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", ranged.strip())
        if not match or match.groups() == ("", ""):
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self._common_headers(path)
            self._range = None
            return handle
        first, last = match.groups()
        if first == "":
            start, end = max(size - int(last), 0), size - 1
        else:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        if start >= size or start > end:
            handle.close()
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self._common_headers(path)
        handle.seek(start)
        self._range = end - start + 1
        return handle

    def _common_headers(self, path: str) -> None:
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Last-Modified", self.date_time_string(int(os.path.getmtime(path))))
        self.end_headers()

    def copyfile(self, source: BinaryIO, outputfile: BinaryIO) -> None:  # type: ignore[override]
        with source:
            if self._range is None:
                shutil.copyfileobj(source, outputfile)
            else:
                outputfile.write(source.read(self._range))


@dataclass(frozen=True, slots=True)
class HttpServer:
    """A loopback HTTP server over `root`: write files there, read them at url(name)."""

    root: Path
    base: str

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    """An HTTP server on 127.0.0.1 (free port) with Range support, for the whole test session."""
    root = tmp_path_factory.mktemp("http")
    with serve_http(root, RangeRequestHandler) as server:
        yield server


@contextlib.contextmanager
def serve_http(root: Path, handler: type[http.server.SimpleHTTPRequestHandler]) -> Iterator[HttpServer]:
    """Serve root's files on 127.0.0.1 (a free port) with handler until the block ends."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root)), bind_and_activate=False
    )
    # A backlog of 5 (the default) makes DuckDB's parallel range requests wait a second.
    server.request_queue_size = 128
    server.server_bind()
    server.server_activate()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield HttpServer(root, f"http://{host!s}:{port}")
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True, slots=True)
class S3Server:
    """moto's S3 server on 127.0.0.1: `put` objects, read them as s3://bucket/key."""

    endpoint: str
    client: Any
    environ: dict[str, str]

    def bucket(self, name: str) -> str:
        self.client.create_bucket(Bucket=name)
        return name

    def put(self, bucket: str, key: str, body: bytes) -> str:
        self.client.put_object(Bucket=bucket, Key=key, Body=body)
        return f"s3://{bucket}/{key}"


# Databases every test session's servers hold: the matrix dataset, and test_postgres/test_mysql's.
SERVER_DATABASES = ["matrix", "shop"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[DbServer]:
    """A real PostgreSQL server (initdb + postgres) on 127.0.0.1, password auth; one per test run."""
    from tests.db_servers import POSTGRES_MISSING, postgres_bin, start_postgres

    if postgres_bin() is None:
        pytest.skip(POSTGRES_MISSING)
    server = start_postgres(SERVER_DATABASES)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[DbServer]:
    """A real MariaDB/MySQL server on 127.0.0.1, password auth; skipped when mysqld is absent."""
    from tests.db_servers import MYSQL_MISSING, mysqld_path, start_mysql

    if mysqld_path() is None:
        pytest.skip(MYSQL_MISSING)
    server = start_mysql(SERVER_DATABASES)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's ThreadedMotoServer on a free loopback port, for the whole test session."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    environ = {
        "AWS_ACCESS_KEY_ID": "AKIDNOCTRATEST0001",
        "AWS_SECRET_ACCESS_KEY": "noctra-test-secret-value-0001",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environ["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    try:
        yield S3Server(endpoint, client, environ)
    finally:
        server.stop()
