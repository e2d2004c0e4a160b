"""Remote sources through httpfs: a loopback HTTP server with ranges and moto's S3 server."""

from __future__ import annotations

import gzip
import http.server
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from noctra import NoctraError, Session
from noctra.config import Config, load_config
from noctra.output.model import Message
from noctra.quoting import quote_string
from tests.conftest import HttpServer, RangeRequestHandler, RunMain, S3Server, serve_http

CSV = b"id,city,amount\n1,Rosario,10.5\n2,Salta,20\n3,Rosario,4.5\n"


def parquet_bytes(tmp_path: Path) -> bytes:
    target = tmp_path / "remote.parquet"
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT * FROM (VALUES (1, 'AR'), (2, 'UY'), (3, 'CL')) v(id, country)) "
            f"TO {quote_string(str(target))} (FORMAT parquet)"
        )
    return target.read_bytes()


def rows(session: Session, sql: str) -> list[tuple[object, ...]]:
    return session.sql(sql).rows(1000)


def remote_config(s3: S3Server, tmp_path: Path, **extra: str) -> Config:
    """A config from the environment only: the AWS variables of the S3 server, threads 2 × 3."""
    environ = {
        **s3.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "no-config"),
        "NOCTRA_BASE_THREADS": "2",
        "NOCTRA_REMOTE_MULTIPLIER": "3",
        **extra,
    }
    return load_config(environ=environ)


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return s3_server.bucket(f"noctra-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def session(s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    monkeypatch.chdir(tmp_path)
    with Session(config=remote_config(s3_server, tmp_path)) as opened:
        yield opened


# --- S3 --------------------------------------------------------------------------------


def test_csv_and_parquet_from_s3_with_use_and_from(
    session: Session, s3_server: S3Server, bucket: str, tmp_path: Path
) -> None:
    csv_url = s3_server.put(bucket, "data/sales.csv", CSV)
    parquet_url = s3_server.put(bucket, "data/countries.parquet", parquet_bytes(tmp_path))
    outcomes = session.execute(f"USE {quote_string(csv_url)} AS sales")
    assert isinstance(outcomes[0], Message)
    assert outcomes[0].text == "sales: CSV, 3 columns"
    assert rows(session, "SELECT city, sum(amount) FROM sales GROUP BY city ORDER BY city") == [
        ("Rosario", 15.0),
        ("Salta", 20.0),
    ]
    assert rows(session, f"SELECT count(*) FROM {quote_string(csv_url)}") == [(3,)]
    session.execute(f"USE {quote_string(parquet_url)} AS countries")
    assert rows(session, "SELECT country FROM countries ORDER BY id") == [("AR",), ("UY",), ("CL",)]
    assert rows(session, f"SELECT max(id) FROM {quote_string(parquet_url)}") == [(3,)]


def test_glob_on_s3(session: Session, s3_server: S3Server, bucket: str) -> None:
    for month in ("01", "02", "03"):
        s3_server.put(bucket, f"logs/2024-{month}.csv", CSV)
    s3_server.put(bucket, "other/ignored.csv", CSV)
    pattern = f"s3://{bucket}/logs/*.csv"
    assert rows(session, f"SELECT count(*) FROM {quote_string(pattern)}") == [(9,)]
    session.execute(f"USE {quote_string(pattern)} AS logs")
    assert rows(session, "SELECT count(DISTINCT city) FROM logs") == [(2,)]


def test_missing_s3_object_is_one_clear_error(session: Session, bucket: str) -> None:
    with pytest.raises(Exception, match=r"404") as caught:
        session.sql(f"SELECT * FROM 's3://{bucket}/nope.csv'")
    assert "\n" not in str(caught.value)


# --- HTTP ------------------------------------------------------------------------------


def test_csv_and_parquet_over_http_with_use_and_from(
    session: Session, http_server: HttpServer, tmp_path: Path
) -> None:
    name = uuid.uuid4().hex[:8]
    (http_server.root / f"{name}.csv").write_bytes(CSV)
    (http_server.root / f"{name}.parquet").write_bytes(parquet_bytes(tmp_path))
    csv_url, parquet_url = http_server.url(f"{name}.csv"), http_server.url(f"{name}.parquet")
    session.execute(f"USE {quote_string(csv_url)} AS web")
    assert rows(session, "SELECT count(*), sum(amount) FROM web") == [(3, 35.0)]
    assert rows(session, f"SELECT city FROM {quote_string(csv_url)} WHERE id = 2") == [("Salta",)]
    session.execute(f"USE {quote_string(parquet_url)} AS webp")
    assert rows(session, "SELECT country FROM webp WHERE id = 3") == [("CL",)]
    assert rows(session, f"SELECT count(*) FROM read_parquet({quote_string(parquet_url)})") == [(3,)]


def test_http_server_answers_ranges(http_server: HttpServer) -> None:
    import urllib.request

    (http_server.root / "range.txt").write_bytes(b"0123456789")
    request = urllib.request.Request(http_server.url("range.txt"), headers={"Range": "bytes=2-5"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == "bytes 2-5/10"
        assert response.read() == b"2345"
    head = urllib.request.Request(http_server.url("range.txt"), method="HEAD")
    with urllib.request.urlopen(head) as response:
        assert (response.headers["Content-Length"], response.headers["Accept-Ranges"]) == ("10", "bytes")


def test_join_remote_parquet_with_local_csv(
    session: Session, s3_server: S3Server, bucket: str, tmp_path: Path
) -> None:
    parquet_url = s3_server.put(bucket, "countries.parquet", parquet_bytes(tmp_path))
    (tmp_path / "people.csv").write_text("id,name\n1,Ann\n3,Bo\n", encoding="utf-8")
    session.execute("USE 'people.csv' AS people")
    joined = rows(
        session,
        f"SELECT p.name, c.country FROM people p JOIN {quote_string(parquet_url)} c USING (id) ORDER BY id",
    )
    assert joined == [("Ann", "AR"), ("Bo", "CL")]


# --- threads ---------------------------------------------------------------------------


def threads_now(session: Session) -> int:
    """The threads DuckDB has now (read on a cursor, so no statement re-tunes them)."""
    return int(str(session.engine.get_option("threads")))


def test_adaptive_threads_switch_between_remote_and_local(
    session: Session, http_server: HttpServer, tmp_path: Path
) -> None:
    (http_server.root / "switch.csv").write_bytes(CSV)
    (tmp_path / "local.csv").write_bytes(CSV)
    url = quote_string(http_server.url("switch.csv"))
    assert rows(session, "SELECT current_setting('threads')") == [(2,)]
    # The statement itself runs with the remote threads: base 2 × multiplier 3.
    assert rows(session, f"SELECT current_setting('threads'), count(*) FROM {url}") == [(6, 3)]
    assert threads_now(session) == 6
    assert rows(session, "SELECT current_setting('threads'), count(*) FROM 'local.csv'") == [(2, 3)]
    assert threads_now(session) == 2
    session.execute(f"USE {url} AS web")
    assert threads_now(session) == 6
    assert rows(session, "SELECT current_setting('threads') FROM web LIMIT 1") == [(6,)]
    assert rows(session, "SELECT current_setting('threads')") == [(2,)]


def test_set_threads_wins_until_reset(session: Session, http_server: HttpServer) -> None:
    (http_server.root / "pinned.csv").write_bytes(CSV)
    url = quote_string(http_server.url("pinned.csv"))
    session.execute("SET threads = 1")
    assert rows(session, f"SELECT current_setting('threads'), count(*) FROM {url}") == [(1, 3)]
    assert rows(session, "SELECT current_setting('threads')") == [(1,)]
    show = {r[0]: (r[1], r[2]) for r in rows(session, "SHOW CONFIG")}
    assert show["threads"] == ("1", "SET")
    session.execute("RESET threads")
    assert threads_now(session) == 2
    assert rows(session, f"SELECT current_setting('threads') FROM {url} LIMIT 1") == [(6,)]


def test_io_type_local_and_remote_ignore_the_path(
    s3_server: S3Server, http_server: HttpServer, tmp_path: Path
) -> None:
    (http_server.root / "fixed.csv").write_bytes(CSV)
    url = quote_string(http_server.url("fixed.csv"))
    with Session(config=remote_config(s3_server, tmp_path, NOCTRA_IO_TYPE="local")) as local:
        assert rows(local, f"SELECT current_setting('threads') FROM {url} LIMIT 1") == [(2,)]
    with Session(config=remote_config(s3_server, tmp_path, NOCTRA_IO_TYPE="remote")) as remote:
        assert rows(remote, "SELECT current_setting('threads')") == [(6,)]
        remote.execute("SET io_type = 'adaptive'")
        assert rows(remote, "SELECT current_setting('threads')") == [(2,)]


# --- secrets ---------------------------------------------------------------------------


def test_s3_credentials_never_shown(
    session: Session, s3_server: S3Server, bucket: str, run_main: RunMain, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = s3_server.environ["AWS_SECRET_ACCESS_KEY"]
    key_id = s3_server.environ["AWS_ACCESS_KEY_ID"]
    url = s3_server.put(bucket, "s.csv", CSV)
    assert rows(session, f"SELECT count(*) FROM {quote_string(url)}") == [(3,)]
    shown = {r[0]: (r[1], r[2]) for r in rows(session, "SHOW CONFIG")}
    assert shown["s3.secret_access_key"] == ("****", "env")
    assert shown["s3.access_key_id"] == ("****", "env")
    assert shown["s3.endpoint"] == (s3_server.endpoint, "env")
    for name, value in s3_server.environ.items():
        monkeypatch.setenv(name, value)
    for args, masks in (
        (("config", "show"), True),
        (("--debug", "-c", f"SELECT * FROM 's3://{bucket}/missing.csv'"), False),
        (("-c", "SHOW CONFIG", "--format", "csv"), True),
        (("-c", "SET s3_secret_access_key = 'typed-in-secret-0002'; SHOW CONFIG", "--format", "csv"), True),
    ):
        run = run_main(*args)
        assert run.code == (1 if "--debug" in args else 0), run.err
        shown_text = run.out + run.err
        assert secret not in shown_text, args
        assert key_id not in shown_text, args
        assert "typed-in-secret-0002" not in shown_text, args
        assert ("****" in shown_text) is masks, args


def test_signed_urls_and_passwords_are_redacted(
    session: Session, http_server: HttpServer, run_main: RunMain, tmp_path: Path
) -> None:
    (http_server.root / "signed.csv").write_bytes(CSV)
    signed = http_server.url("signed.csv") + "?X-Amz-Credential=AKIDSIGNED&X-Amz-Signature=deadbeefcafe"
    session.execute(f"USE {quote_string(signed)} AS signed")
    sources = rows(session, "SHOW SOURCES")
    assert "deadbeefcafe" not in str(sources)
    assert "AKIDSIGNED" not in str(sources)
    assert "X-Amz-Signature=****" in str(sources)
    missing = http_server.url("gone.csv").replace("http://", "http://user:hunter22@") + "?token=t0k3n-value"
    run = run_main("--debug", "-c", f"SELECT * FROM {quote_string(missing)}")
    assert run.code == 1
    assert "noctra: error:" in run.err
    assert "hunter22" not in run.err
    assert "t0k3n-value" not in run.err


def test_session_file_keeps_no_credentials(
    s3_server: S3Server, http_server: HttpServer, tmp_path: Path
) -> None:
    (http_server.root / "kept.csv").write_bytes(CSV)
    state = tmp_path / "session.toml"
    signed = http_server.url("kept.csv") + "?X-Amz-Signature=feedface0001"
    config = remote_config(s3_server, tmp_path)
    with Session(config=config, state_path=state) as session:
        session.execute(f"USE {quote_string(http_server.url('kept.csv'))} AS plain")
        session.execute(f"USE {quote_string(signed)} AS signed")
        session.execute("SET s3_secret_access_key = 'set-secret-0003'")
    saved = state.read_text(encoding="utf-8")
    assert http_server.url("kept.csv") in saved
    for secret in ("feedface0001", "set-secret-0003", s3_server.environ["AWS_SECRET_ACCESS_KEY"]):
        assert secret not in saved


def test_set_httpfs_settings(session: Session) -> None:
    # DuckDB 1.5 cannot read s3_* settings back with current_setting(): Noctra shows what was SET.
    outcomes = session.execute("SET s3_region = 'eu-west-1'")
    assert isinstance(outcomes[0], Message)
    assert outcomes[0].text == "s3_region = eu-west-1"
    assert ("s3_region", "eu-west-1", "SET") in session.sql("SHOW CONFIG").rows(100)
    session.execute("SET http_timeout = 5")
    assert ("http_timeout", "5", "SET") in session.sql("SHOW CONFIG").rows(100)
    session.execute("RESET s3_region")
    assert all(row[0] != "s3_region" for row in session.sql("SHOW CONFIG").rows(100))


# --- restoring a remote source ----------------------------------------------------------


class _Recording(RangeRequestHandler):
    """Static files with ranges; each request answered is recorded (method, path)."""

    requests: list[tuple[str, str]]

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.requests.append((self.command, self.path))


def _write_remote(root: Path, name: str, tmp_path: Path) -> None:
    if name.endswith(".parquet"):
        (root / name).write_bytes(parquet_bytes(tmp_path))
    else:
        lines = ['{"id": 1, "country": "AR"}', '{"id": 2, "country": "UY"}', '{"id": 3, "country": "CL"}']
        (root / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("name", ["r.parquet", "r.ndjson"])
def test_a_restored_remote_parquet_or_json_is_read_only_by_a_statement_naming_it(
    name: str, tmp_path: Path
) -> None:
    root = tmp_path / "www"
    root.mkdir()
    _write_remote(root, name, tmp_path)
    requests: list[tuple[str, str]] = []
    handler = type("Handler", (_Recording,), {"requests": requests})
    state = tmp_path / "session.toml"
    with serve_http(root, handler) as server:
        with Session(state_path=state) as session:
            session.use(server.url(name), "r")
        requests.clear()
        with Session(state_path=state) as restored:
            assert requests == []  # the restore waits on no network
            assert restored.warnings == []
            assert restored.sql("SELECT 1 AS one").rows(1) == [(1,)]
            assert ("r", "ok") in [(e.alias, e.status) for e in restored.catalog().sources()]
            assert requests == []  # neither a statement not naming it, nor SHOW SOURCES
            result = restored.sql("SELECT id, country FROM r ORDER BY id")
            assert [c.name for c in result.columns] == ["id", "country"]
            assert result.rows(5) == [(1, "AR"), (2, "UY"), (3, "CL")]
            assert [c.name for c in restored.catalog().columns("r")] == ["id", "country"]
            assert requests != []


def test_a_restored_remote_parquet_whose_server_is_down_is_one_clear_error_until_it_is_back(
    tmp_path: Path,
) -> None:
    root = tmp_path / "www"
    root.mkdir()
    _write_remote(root, "r.parquet", tmp_path)
    state = tmp_path / "session.toml"
    with serve_http(root, RangeRequestHandler) as server:
        url = server.url("r.parquet")
        with Session(state_path=state) as session:
            session.use(url, "r")
    with Session(state_path=state) as restored:
        assert restored.warnings == []  # not looked at: nothing to warn about
        assert restored.sql("SELECT 1 AS one").rows(1) == [(1,)]
        for _ in range(2):  # tried again by each statement naming it
            with pytest.raises(NoctraError, match=r"cannot read .*r\.parquet") as caught:
                restored.sql("SELECT count(*) FROM r").rows(1)
            assert caught.value.hint is not None and "nothing answered" in caught.value.hint
        # The server comes back on the same port: the source is read, nothing to redo.
        host, port = url.split("/")[2].split(":")
        back = http.server.ThreadingHTTPServer(
            (host, int(port)), lambda *a: RangeRequestHandler(*a, directory=str(root))
        )
        thread = threading.Thread(target=back.serve_forever, daemon=True)
        thread.start()
        try:
            assert restored.sql("SELECT count(*), max(country) FROM r").rows(1) == [(3, "UY")]
        finally:
            back.shutdown()
            back.server_close()


# --- compressed bytes under a plain name -----------------------------------------------


class _GzipEncoded(RangeRequestHandler):
    """Serves its (gzipped) files with Content-Encoding: gzip, as a misconfigured server does."""

    def _common_headers(self, path: str) -> None:
        self.send_header("Content-Encoding", "gzip")
        super()._common_headers(path)


def test_a_gzipped_remote_csv_is_called_gzip_compressed(session: Session, http_server: HttpServer) -> None:
    (http_server.root / "zipped.csv").write_bytes(gzip.compress(CSV))
    url = http_server.url("zipped.csv")
    for statement in (f"SELECT * FROM {quote_string(url)}", f"USE {quote_string(url)} AS z"):
        with pytest.raises(NoctraError, match="is gzip-compressed, not CSV text") as caught:
            session.execute(statement)
        assert "latin-1" not in str(caught.value) and caught.value.hint is not None
        assert f"read_csv({quote_string(url)}, compression = 'gzip')" in caught.value.hint
    # What the hint says reads it.
    read = f"SELECT count(*) FROM read_csv({quote_string(url)}, compression = 'gzip')"
    assert rows(session, read) == [(3,)]


@pytest.mark.parametrize(
    ("name", "body", "kind"), [("e.csv", CSV, "CSV"), ("e.json", b'{"id": 1}\n', "JSON")]
)
def test_a_remote_file_sent_with_content_encoding_gzip_is_called_gzip_compressed(
    name: str, body: bytes, kind: str, session: Session, tmp_path: Path
) -> None:
    root = tmp_path / "www"
    root.mkdir()
    (root / name).write_bytes(gzip.compress(body))
    with (
        serve_http(root, _GzipEncoded) as server,
        pytest.raises(NoctraError, match=f"is gzip-compressed, not {kind} text"),
    ):
        session.execute(f"SELECT * FROM {quote_string(server.url(name))}")


def test_a_remote_latin1_csv_still_gets_the_encoding_hint(session: Session, http_server: HttpServer) -> None:
    (http_server.root / "latin.csv").write_bytes("id,name\n1,Jos\u00e9\n".encode("latin-1"))
    with pytest.raises(NoctraError, match="not utf-8") as caught:
        session.execute(f"SELECT * FROM {quote_string(http_server.url('latin.csv'))}")
    assert caught.value.hint is not None and "encoding = 'latin-1'" in caught.value.hint
