"""MySQL attached in place: a real MariaDB/MySQL server (tests/db_servers.py), skipped without mysqld."""

from __future__ import annotations

import datetime
import decimal
import sqlite3
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
    "CREATE TABLE typed (i int, b bigint, n decimal(10, 2), t text, ok boolean, d date, "
    "ts datetime, j json) DEFAULT CHARSET = utf8mb4",
    "INSERT INTO typed VALUES (1, 9007199254740993, 12.34, 'Ωmega café', true, '2024-02-29', "
    "'2024-01-02 03:04:05', '{\"a\": [1, 2]}'), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    "CREATE TABLE people (id int PRIMARY KEY, name text, city_code text) DEFAULT CHARSET = utf8mb4",
    "INSERT INTO people VALUES (1, 'Zoë', 'BA'), (2, 'Ann', 'MX'), (3, 'Li', 'BA')",
    "CREATE TABLE scratch (id int)",
]


@pytest.fixture(scope="module")
def my(mysql_server: DbServer) -> DbServer:
    mysql_server.execute("shop", *SHOP)
    return mysql_server


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("MYSQL_PWD", "MYSQL_HOST", "MYSQL_TCP_PORT", "NOCTRA_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def session(my: DbServer, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    monkeypatch.setenv("MYSQL_PWD", PASSWORD)
    with Session(config=load_config(), state_path=home / "session.toml") as opened:
        opened.execute(f"USE '{my.url('shop')}' AS my")
        yield opened


def test_types_come_back_typed(session: Session) -> None:
    first, empty = session.sql("SELECT * FROM my.typed ORDER BY i").arrow().to_pylist()
    assert first == {
        "i": 1,
        "b": 9007199254740993,
        "n": decimal.Decimal("12.34"),
        "t": "Ωmega café",
        "ok": True,
        "d": datetime.date(2024, 2, 29),
        "ts": datetime.datetime(2024, 1, 2, 3, 4, 5),
        "j": '{"a": [1, 2]}',
    }
    assert set(empty.values()) == {2, None}


def test_join_export_and_listing(session: Session, home: Path) -> None:
    (home / "cities.csv").write_text("code,city\nBA,Buenos Aires\nMX,México\n", encoding="utf-8")
    with sqlite3.connect(home / "crm.db") as conn:
        conn.execute("CREATE TABLE tiers (person_id INTEGER, tier TEXT)")
        conn.executemany("INSERT INTO tiers VALUES (?, ?)", [(1, "gold"), (2, "silver"), (3, "gold")])
    conn.close()
    session.execute("USE 'cities.csv' AS cities; USE 'crm.db' AS crm")
    query = (
        "SELECT p.name, c.city, t.tier FROM my.people p JOIN cities c ON c.code = p.city_code "
        "JOIN crm.tiers t ON t.person_id = p.id ORDER BY p.name"
    )
    expected = [("Ann", "México", "silver"), ("Li", "Buenos Aires", "gold"), ("Zoë", "Buenos Aires", "gold")]
    assert session.sql(query).rows(10) == expected
    session.execute(f"EXPORT ({query}) TO 'joined.parquet'")
    with duckdb.connect() as con:
        assert con.execute(f"SELECT * FROM '{home / 'joined.parquet'}'").fetchall() == expected
    session.execute("USE my")
    assert session.sql("SELECT count(*) FROM people").rows(1) == [(3,)]
    assert [row[0] for row in session.sql("SHOW TABLES FROM my").rows(10)] == ["people", "scratch", "typed"]
    described = session.sql("DESCRIBE my.people").rows(10)
    assert [r[0] for r in described] == ["id", "name", "city_code"]
    [source] = [s for s in session.sql("SHOW SOURCES").arrow().to_pylist() if s["alias"] == "my"]
    assert (source["kind"], source["status"]) == ("MySQL", "ok")


def test_default_alias_is_the_database(my: DbServer, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # shop is then both the catalog and its schema: shop.people must still resolve (not "ambiguous").
    monkeypatch.setenv("MYSQL_PWD", PASSWORD)
    with Session(config=load_config()) as session:
        [message] = session.execute(f"USE '{my.url('shop')}'")
        assert getattr(message, "text", None) == "shop: MySQL, 3 tables"
        assert session.sql("SELECT count(*) FROM shop.people").rows(1) == [(3,)]
        session.execute("EXPORT shop.people TO 'people.csv'")
        assert (home / "people.csv").read_text(encoding="utf-8").startswith("id,name,city_code\n")
        assert [row[0] for row in session.sql("SHOW TABLES").rows(10)] == ["people", "scratch", "typed"]


def test_read_only_unless_asked(session: Session, my: DbServer) -> None:
    with pytest.raises(NoctraError) as caught:
        session.execute("INSERT INTO my.scratch VALUES (1)")
    assert "read-only" in caught.value.message and "readonly = false" in str(caught.value.hint)
    session.execute(f"USE '{my.url('shop')}' AS rw OPTIONS (readonly = false)")
    session.execute("INSERT INTO rw.scratch VALUES (7); DELETE FROM rw.scratch WHERE id = 7")
    assert session.sql("SELECT count(*) FROM rw.scratch").rows(1) == [(0,)]


def test_restore_and_the_password(
    my: DbServer, home: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    isolated_env.pop("MYSQL_PWD", None)
    first = run_noctra(
        "--debug", "-c", f"USE '{my.url('shop', password=PASSWORD)}' AS my; SHOW SOURCES", cwd=home
    )
    assert first.returncode == 0, first.stderr
    without = run_noctra("--debug", "-c", "SELECT count(*) FROM my.people", cwd=home)
    assert without.returncode == 1 and "'my' needs a password" in without.stderr
    assert "MYSQL_PWD" in without.stderr
    isolated_env["MYSQL_PWD"] = PASSWORD
    again = run_noctra("--debug", "-c", "SELECT count(*) AS n FROM my.people", "--format", "csv", cwd=home)
    assert again.returncode == 0 and again.stdout == "n\n3\n", again.stderr
    state = b"".join(p.read_bytes() for p in Path(isolated_env["XDG_STATE_HOME"]).rglob("*") if p.is_file())
    assert f"mysql://{USER}@127.0.0.1:{my.port}/shop".encode() in state
    for proc in (first, without, again):
        assert PASSWORD not in proc.stdout + proc.stderr
    assert PASSWORD.encode() not in state


@pytest.mark.parametrize(
    "case",
    [
        ("refused", "nothing answered at 127.0.0.1:1"),
        ("bad password", "MySQL refused the password of user 'noctra'"),
        ("missing database", "has no database 'nowhere'"),
    ],
)
def test_connection_errors_are_one_line(
    my: DbServer, home: Path, run_noctra: RunNoctra, isolated_env: dict[str, str], case: tuple[str, str]
) -> None:
    urls = {
        "refused": f"mysql://{USER}@127.0.0.1:1/shop",
        "bad password": f"mysql://{USER}:wrong-secret-1@127.0.0.1:{my.port}/shop",
        "missing database": my.url("nowhere"),
    }
    isolated_env["MYSQL_PWD"] = PASSWORD
    name, message = case
    proc = run_noctra("-c", f"USE '{urls[name]}' AS my", cwd=home)
    lines = proc.stderr.splitlines()
    assert proc.returncode == 1 and len(lines) == 2, proc.stderr
    assert message in lines[0] and lines[1].startswith("hint: ")
    assert PASSWORD not in proc.stderr and "wrong-secret-1" not in proc.stderr
