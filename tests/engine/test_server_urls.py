"""Server URLs taken apart: what is shown and saved (never the password), what DuckDB is given."""

from __future__ import annotations

import pytest

from noctra.engine.servers import connection_string, parse_url, url_password
from noctra.engine.sources import SourceKind, server_kind
from noctra.errors import OptionError, SourceError
from noctra.lifecycle import build_source, default_alias
from noctra.redact import redact_text

CASES = [
    # url, public (shown, saved), connection string given to DuckDB, password, default alias
    (
        "postgresql://ana:s3cr%40t@db.example.com:5433/shop",
        "postgresql://ana@db.example.com:5433/shop",
        "host=db.example.com port=5433 user=ana dbname=shop connect_timeout=10",
        "s3cr@t",
        "shop",
    ),
    (
        "postgres://ana@127.0.0.1/sales-2024?sslmode=require&password=hidden1",
        "postgres://ana@127.0.0.1/sales-2024?sslmode=require",
        "host=127.0.0.1 user=ana dbname=sales-2024 connect_timeout=10 sslmode=require",
        "hidden1",
        "sales_2024",
    ),
    (
        "postgresql:///local",
        "postgresql:///local",
        "dbname=local connect_timeout=10",
        None,
        "local",
    ),
    (
        "postgresql://[::1]:5432/app",
        "postgresql://[::1]:5432/app",
        "host=::1 port=5432 dbname=app connect_timeout=10",
        None,
        "app",
    ),
    (
        "mysql://root:pw-123@127.0.0.1:3306/crm",
        "mysql://root@127.0.0.1:3306/crm",
        "host=127.0.0.1 port=3306 user=root database=crm",
        "pw-123",
        "crm",
    ),
    ("MySQL://bob@server", "mysql://bob@server", "host=server user=bob", None, "server"),
]


@pytest.mark.parametrize(("url", "public", "conninfo", "password", "alias"), CASES)
def test_a_url_taken_apart(url: str, public: str, conninfo: str, password: str | None, alias: str) -> None:
    parsed = parse_url(url)
    assert parsed.public == public
    assert connection_string(parsed, {}) == conninfo
    assert url_password(parsed) == password
    assert default_alias(url) == alias
    assert server_kind(url) in (SourceKind.POSTGRES, SourceKind.MYSQL)
    if password is not None:
        assert password not in redact_text(f"cannot open {url}")


def test_config_fills_what_the_url_leaves_out() -> None:
    parsed = parse_url("postgresql:///shop")
    defaults = {"host": "10.0.0.5", "port": "6432", "user": "ana", "password": "never-here"}
    assert (
        connection_string(parsed, defaults)
        == "host=10.0.0.5 port=6432 user=ana dbname=shop connect_timeout=10"
    )
    # The URL wins over the config.
    assert connection_string(parse_url("postgresql://bob@h:1/shop"), defaults).startswith(
        "host=h port=1 user=bob"
    )


def test_values_with_spaces_are_quoted_for_libpq() -> None:
    parsed = parse_url("postgresql://ana@h/shop?application_name=my%20app&options=-c%20x%3D%27y%27")
    assert connection_string(parsed, {}).endswith("application_name='my app' options='-c x=\\'y\\''")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://ana:pw-secret-9@h:notaport/db", "cannot read the PostgreSQL URL"),
        ("mysql://ana:pw-secret-9@h/a/b", "names a path, not a database"),
    ],
)
def test_bad_urls_are_one_error_without_the_password(url: str, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        build_source(url, "x", {})
    assert message in caught.value.message and "pw-secret-9" not in str(caught.value)


def test_a_source_never_holds_the_password() -> None:
    source = build_source("postgresql://ana:pw-secret-9@h:5432/shop", "pg", {"readonly": False})
    assert (source.kind, source.path, source.location) == (
        SourceKind.POSTGRES,
        "postgresql://ana@h:5432/shop",
        "postgresql://ana@h:5432/shop",
    )
    assert "pw-secret-9" not in repr(source)
    with pytest.raises(OptionError):
        build_source("mysql://ana@h/shop", "my", {"format": "csv"})
    with pytest.raises(OptionError) as caught:
        build_source("mysql://ana@h/shop", "my", {"create": True})
    assert "readonly" in str(caught.value.hint)
