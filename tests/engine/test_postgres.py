"""PostgreSQL attached in place: a real server (tests/db_servers.py) read, joined, exported, restored.

The password (a distinctive string) is given every way a user can give it and must never
appear in anything Noctra prints, writes or keeps.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import json
import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from noctra import Session
from noctra.config import load_config
from noctra.errors import NoctraError
from tests.conftest import RunNoctra
from tests.db_servers import PASSWORD, USER, DbServer

SHOP = [
    "DROP TABLE IF EXISTS typed",
    "DROP TABLE IF EXISTS people",
    "DROP TABLE IF EXISTS scratch",
    "DROP SCHEMA IF EXISTS sales CASCADE",
    "CREATE TABLE typed (i int, b bigint, n numeric(10, 2), t text, ok boolean, d date, "
    "ts timestamp, tz timestamptz, j json, arr int[])",
    "INSERT INTO typed VALUES (1, 9007199254740993, 12.34, 'Ωmega café', true, '2024-02-29', "
    "'2024-01-02 03:04:05', '2024-01-02 03:04:05+00', '{\"a\": [1, 2]}', '{1,2,3}'), "
    "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    "CREATE TABLE people (id int PRIMARY KEY, name text, city_code text)",
    "INSERT INTO people VALUES (1, 'Zoë', 'BA'), (2, 'Ann', 'MX'), (3, 'Li', 'BA')",
    "CREATE TABLE scratch (id int)",
    "CREATE SCHEMA sales",
    "CREATE TABLE sales.orders (id int, person_id int, total numeric(10, 2))",
    "INSERT INTO sales.orders VALUES (10, 1, 5.50), (11, 1, 4.50), (12, 2, 100.00)",
]


@pytest.fixture(scope="module")
def pg(postgres_server: DbServer) -> DbServer:
    postgres_server.execute("shop", *SHOP)
    return postgres_server


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's own HOME, XDG dirs and working directory; no password anywhere yet."""
    for name in ("PGPASSWORD", "PGUSER", "PGHOST", "PGPORT", "NOCTRA_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def session(pg: DbServer, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    with Session(config=load_config(), state_path=home / "session.toml") as opened:
        opened.execute(f"USE '{pg.url('shop')}' AS pg")
        yield opened


def test_types_come_back_typed(session: Session) -> None:
    table = session.sql("SELECT * FROM pg.typed ORDER BY i").arrow()
    first, empty = table.to_pylist()
    assert first == {
        "i": 1,
        "b": 9007199254740993,
        "n": decimal.Decimal("12.34"),
        "t": "Ωmega café",
        "ok": True,
        "d": datetime.date(2024, 2, 29),
        "ts": datetime.datetime(2024, 1, 2, 3, 4, 5),
        "tz": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "j": '{"a": [1, 2]}',
        "arr": [1, 2, 3],
    }
    assert set(empty.values()) == {2, None}
    types = {c.name: c.type for c in session.catalog().columns("pg", "typed")}
    assert (
        types["b"] == "BIGINT" and types["n"] == "DECIMAL(10,2)" and types["tz"] == "TIMESTAMP WITH TIME ZONE"
    )
    assert types["arr"] == "INTEGER[]" and types["j"] == "VARCHAR"  # json arrives as its text


def test_join_with_a_csv_and_a_sqlite_table(session: Session, home: Path) -> None:
    (home / "cities.csv").write_text("code,city\nBA,Buenos Aires\nMX,México\n", encoding="utf-8")
    with sqlite3.connect(home / "crm.db") as conn:
        conn.execute("CREATE TABLE tiers (person_id INTEGER, tier TEXT)")
        conn.executemany("INSERT INTO tiers VALUES (?, ?)", [(1, "gold"), (2, "silver"), (3, "gold")])
    conn.close()
    session.execute("USE 'cities.csv' AS cities; USE 'crm.db' AS crm")
    result = session.sql(
        "SELECT p.name, c.city, t.tier, sum(o.total) AS spent FROM pg.people p "
        "JOIN cities c ON c.code = p.city_code JOIN crm.tiers t ON t.person_id = p.id "
        "LEFT JOIN pg.sales.orders o ON o.person_id = p.id GROUP BY ALL ORDER BY p.name"
    )
    assert result.engine == "duckdb"
    assert result.rows(10) == [
        ("Ann", "México", "silver", decimal.Decimal("100.00")),
        ("Li", "Buenos Aires", "gold", None),
        ("Zoë", "Buenos Aires", "gold", decimal.Decimal("10.00")),
    ]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_reads_back(session: Session, home: Path, fmt: str) -> None:
    session.execute(f"EXPORT (SELECT i, t, d FROM pg.typed ORDER BY i) TO 'out.{fmt}'")
    session.execute("EXPORT pg.people TO 'people.csv'")
    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    with duckdb.connect() as con:
        rows = con.execute(f"SELECT * FROM {reader}('{home / f'out.{fmt}'}') ORDER BY i").fetchall()
        people = con.execute(f"SELECT count(*) FROM read_csv('{home / 'people.csv'}')").fetchall()
    assert rows == [(1, "Ωmega café", datetime.date(2024, 2, 29)), (2, None, None)]
    assert people == [(3,)]


def test_bare_names_schemas_and_listing(session: Session) -> None:
    assert session.sql("SELECT count(*) FROM people").rows(1) == [(3,)]  # pg is current
    assert session.sql("SELECT count(*) FROM pg.public.people").rows(1) == [(3,)]
    assert session.sql("SELECT sum(total) FROM pg.sales.orders").rows(1) == [(decimal.Decimal("110.00"),)]
    tables = session.sql("SHOW TABLES FROM pg").rows(10)
    assert [row[0] for row in tables] == ["people", "scratch", "typed", "sales.orders"]
    assert [t.name for t in session.catalog().tables("pg")] == [str(t[0]).split(".")[-1] for t in tables]
    described = session.sql("DESCRIBE pg.people").rows(10)
    assert [(r[0], r[1]) for r in described] == [
        ("id", "INTEGER"),
        ("name", "VARCHAR"),
        ("city_code", "VARCHAR"),
    ]
    whole = session.sql("DESCRIBE pg").rows(40)
    assert {r[0] for r in whole} == {"people", "scratch", "typed", "sales.orders"}
    sources = session.sql("SHOW SOURCES").arrow().to_pylist()
    assert sources[0]["kind"] == "PostgreSQL" and sources[0]["status"] == "ok"
    assert sources[0]["path"] == session.sources.require("pg").path
    assert sources[0]["current"] == "*" and sources[0]["size"] is None


def test_default_alias_is_the_database(pg: DbServer, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    with Session(config=load_config()) as session:
        [message] = session.execute(f"USE '{pg.url('shop')}'")
        assert getattr(message, "text", None) == "shop: PostgreSQL, 4 tables"
        assert session.sql("SELECT count(*) FROM shop.people").rows(1) == [(3,)]


def test_read_only_unless_asked(session: Session, pg: DbServer) -> None:
    with pytest.raises(NoctraError) as caught:
        session.execute("INSERT INTO pg.scratch VALUES (1)")
    assert "read-only" in caught.value.message and "readonly = false" in str(caught.value.hint)
    session.execute(f"USE '{pg.url('shop')}' AS rw OPTIONS (readonly = false)")
    session.execute("INSERT INTO rw.scratch VALUES (7); DELETE FROM rw.scratch WHERE id = 7")
    assert session.sql("SELECT count(*) FROM rw.scratch").rows(1) == [(0,)]


def test_restore_reattaches_without_the_password(
    pg: DbServer, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = home / "session.toml"
    with Session(config=load_config(), state_path=state) as first:
        first.execute(f"USE '{pg.url('shop', password=PASSWORD)}' AS pg")
    assert PASSWORD not in state.read_text(encoding="utf-8")
    assert f"{USER}@127.0.0.1:{pg.port}/shop" in state.read_text(encoding="utf-8")
    with Session(config=load_config(), state_path=state) as second:
        assert [s.alias for s in second.sources] == ["pg"]
        with pytest.raises(NoctraError) as caught:
            second.sql("SELECT count(*) FROM people").rows(1)
        assert caught.value.message == f"'pg' needs a password for user 'noctra' at 127.0.0.1:{pg.port}"
        assert "PGPASSWORD" in str(caught.value.hint)
        # pg is current, but a statement that does not need it still runs.
        (home / "t.csv").write_text("a\n1\n", encoding="utf-8")
        assert second.sql("SELECT 40 + 2 AS n").rows(1) == [(42,)]
        assert second.sql("SELECT count(*) FROM 't.csv'").rows(1) == [(1,)]
        with pytest.raises(NoctraError) as caught:
            second.sql("SELECT count(*) FROM pg.people").rows(1)
        assert "needs a password" in caught.value.message
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    with Session(config=load_config(), state_path=state) as third:
        assert third.sql("SELECT count(*) FROM people").rows(1) == [(3,)]
        assert third.sql("SELECT name FROM pg.people WHERE id = 1").rows(1) == [("Zoë",)]


def _errors(pg: DbServer) -> list[tuple[str, str, str, str]]:
    """(case, USE url, message, hint fragment)."""
    port = pg.port
    return [
        ("refused", f"postgresql://{USER}@127.0.0.1:1/shop", "nothing answered at 127.0.0.1:1", "running"),
        ("unknown host", f"postgresql://{USER}@no-such-host.invalid/shop", "unknown host", "host name"),
        (
            "bad password",
            f"postgresql://{USER}:wrong-secret-1@127.0.0.1:{port}/shop",
            "refused the password",
            "PGPASSWORD",
        ),
        ("missing database", pg.url("nowhere"), "has no database 'nowhere'", "database name"),
    ]


@pytest.mark.parametrize("case", ["refused", "unknown host", "bad password", "missing database"])
def test_connection_errors_are_one_line(
    pg: DbServer, home: Path, run_noctra: RunNoctra, isolated_env: dict[str, str], case: str
) -> None:
    url, message, hint = next((u, m, h) for c, u, m, h in _errors(pg) if c == case)
    isolated_env["PGPASSWORD"] = PASSWORD
    proc = run_noctra("-c", f"USE '{url}' AS pg", cwd=home)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("noctra: error: ") and lines[1].startswith("hint: ")
    assert message in lines[0] and hint in lines[1]
    assert PASSWORD not in proc.stderr and "wrong-secret-1" not in proc.stderr


def test_missing_table_and_extension_errors(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NoctraError) as caught:
        session.sql("SELECT * FROM pg.nope").rows(1)
    assert "nope does not exist" in caught.value.message and "people" in str(caught.value.hint)
    # The mysql extension's wheel uninstalled: the error names the package to install.
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "duckdb_extension_mysql_scanner" else real(name, *args),
    )
    with pytest.raises(NoctraError) as caught:
        session.execute("USE 'mysql://noctra@127.0.0.1:1/shop' AS my")
    assert caught.value.message == "the DuckDB extension 'mysql_scanner' is not installed"
    assert caught.value.hint == f"pip install duckdb-extension-mysql-scanner=={duckdb.__version__}"
    assert [s.alias for s in session.sources] == ["pg"]


@pytest.mark.parametrize("way", ["PGPASSWORD", "pgpass", "config", "url"])
def test_password_never_appears(
    pg: DbServer, home: Path, run_noctra: RunNoctra, isolated_env: dict[str, str], way: str
) -> None:
    env_home = home / "home"
    isolated_env["HOME"] = str(env_home)
    for name in ("PGPASSWORD", "PGUSER", "PGHOST", "PGPORT"):
        isolated_env.pop(name, None)
    url = pg.url("shop", password=PASSWORD if way == "url" else None)
    if way == "PGPASSWORD":
        isolated_env["PGPASSWORD"] = PASSWORD
    elif way == "pgpass":
        pgpass = env_home / ".pgpass"
        pgpass.write_text(f"127.0.0.1:{pg.port}:shop:{USER}:{PASSWORD}\n")
        pgpass.chmod(0o600)
    elif way == "config":
        config = Path(isolated_env["XDG_CONFIG_HOME"]) / "noctra" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(f'[postgres]\npassword = "{PASSWORD}"\n')
    script = (
        f"USE '{url}' AS pg; SHOW SOURCES; SELECT count(*) FROM people; DESCRIBE pg.people; "
        "EXPORT pg.people TO 'p.csv'; SHOW TABLES; SHOW CONFIG"
    )
    outputs = [run_noctra("--debug", "-c", script, cwd=home)]
    assert outputs[0].returncode == 0, outputs[0].stderr
    # Every road to an error, with --debug's traceback.
    outputs.append(run_noctra("--debug", "-c", "SELECT * FROM pg.nope", cwd=home))
    outputs.append(run_noctra("--debug", "-c", f"USE '{url.replace('/shop', '/nowhere')}' AS bad", cwd=home))
    outputs.append(run_noctra("--debug", "-c", "INSERT INTO pg.scratch VALUES (1)", cwd=home))
    outputs.append(run_noctra("--debug", "-c", "SHOW SOURCES; SELECT count(*) FROM pg.people", cwd=home))
    outputs.append(run_noctra("info", cwd=home))
    outputs.append(run_noctra("config", "show", cwd=home))
    assert [p.returncode for p in outputs[1:4]] == [1, 1, 1]
    assert outputs[1].stderr.count("Traceback") >= 1
    restored = outputs[4]
    if way == "url":
        assert restored.returncode == 1 and "needs a password" in restored.stderr
    else:
        assert restored.returncode == 0 and "3" in restored.stdout
    state_files = list(Path(isolated_env["XDG_STATE_HOME"]).rglob("*"))
    kept = b"".join(p.read_bytes() for p in state_files if p.is_file())
    assert b"postgresql://noctra@127.0.0.1" in kept
    written = kept + (home / "p.csv").read_bytes()
    for proc in outputs:
        text = proc.stdout + proc.stderr
        assert PASSWORD not in text, (way, proc.args, text)
    assert PASSWORD.encode() not in written


def test_config_section_fills_the_url(pg: DbServer, home: Path) -> None:
    config = home / "config.toml"
    config.write_text(
        f'[postgres]\nhost = "127.0.0.1"\nport = {pg.port}\nuser = "{USER}"\npassword = "{PASSWORD}"\n'
    )
    with Session(config=load_config(config)) as session:
        session.execute("USE 'postgresql:///shop' AS pg")
        assert session.sql("SELECT count(*) FROM pg.people").rows(1) == [(3,)]
        assert PASSWORD in session.secrets()
    bad = home / "bad.toml"
    bad.write_text('[postgres]\nport = "five"\n')
    with pytest.raises(NoctraError) as caught:
        load_config(bad)
    assert "[postgres] port" in caught.value.message


def test_json_output_of_a_server_table(
    pg: DbServer, home: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    isolated_env["PGPASSWORD"] = PASSWORD
    proc = run_noctra(
        "-c",
        f"USE '{pg.url('shop')}' AS pg; SELECT id, name FROM people ORDER BY id",
        "--format",
        "json",
        cwd=home,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [
        {"id": 1, "name": "Zoë"},
        {"id": 2, "name": "Ann"},
        {"id": 3, "name": "Li"},
    ]


def test_a_restored_server_loads_nothing_until_used(
    pg: DbServer, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    (home / "t.csv").write_text("a\n1\n", encoding="utf-8")
    state = home / "session.toml"
    with Session(config=load_config(), state_path=state) as first:
        first.execute(f"USE '{pg.url('shop')}' AS pg; USE 't.csv' AS t")

    def loaded(session: Session) -> list[str]:
        rows = session.sql("SELECT extension_name FROM duckdb_extensions() WHERE loaded ORDER BY 1").rows(50)
        return [str(row[0]) for row in rows]

    with Session(config=load_config(), state_path=state) as second:
        assert second.sql("SELECT count(*) FROM t").rows(1) == [(1,)]
        assert "postgres_scanner" not in loaded(second)
        assert second.sql("SELECT count(*) FROM pg.people").rows(1) == [(3,)]
        assert "postgres_scanner" in loaded(second)


class Forwarder:
    """A TCP port that, once opened, forwards every connection to the real server."""

    def __init__(self, target: int) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()  # nothing listens here until open()

    def open(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            client, _ = listener.accept()
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def test_a_restored_server_that_does_not_answer_says_error_until_it_does(
    pg: DbServer, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    state = home / "session.toml"
    with Session(config=load_config(), state_path=state) as first:
        first.execute(f"USE '{pg.url('shop')}' AS pg")
    later = Forwarder(pg.port)  # where the server "moves" to: down at first
    state.write_text(state.read_text().replace(f":{pg.port}/", f":{later.port}/"))

    def status(session: Session) -> str:
        return str(session.sql("SHOW SOURCES").rows(5)[0][4])

    with Session(config=load_config(), state_path=state) as second:
        assert second.warnings == [] and status(second) == "ok"  # not tried yet: nothing loaded
        with pytest.raises(NoctraError, match=r"nothing answered at 127\.0\.0\.1"):
            second.sql("SELECT count(*) FROM pg.people").rows(1)
        assert status(second) == "error"
        later.open()
        assert second.sql("SELECT count(*) FROM pg.people").rows(1) == [(3,)]  # tried again
        assert status(second) == "ok"


def test_an_attach_typed_by_hand(session: Session, pg: DbServer) -> None:
    # DuckDB's own ATTACH works too (the extension is loaded for it); its password stays hidden.
    where = f"host=127.0.0.1 port={pg.port} user={USER} dbname=shop"
    with pytest.raises(NoctraError) as caught:
        session.execute(f"ATTACH '{where} password=wrong-secret-1' AS raw (TYPE postgres)")
    assert "wrong-secret-1" not in str(caught.value) and "password=****" in caught.value.message
    session.execute(f"ATTACH '{where} password={PASSWORD}' AS raw (TYPE postgres, READ_ONLY)")
    assert session.sql("SELECT count(*) FROM raw.people").rows(1) == [(3,)]
