"""DuckDB extensions from pinned PyPI wheels (never the web), and the S3 secret of httpfs."""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager

import duckdb

from noctra.engine.duck.errors import first_line
from noctra.errors import ConfigError, NoctraError, SourceError
from noctra.quoting import quote_ident, quote_string, sql_literal
from noctra.redact import redact_text

WHEEL_OF_EXTENSION = {
    "sqlite_scanner": "sqlite-scanner",
    "httpfs": "httpfs",
    "excel": "excel",
    "postgres_scanner": "postgres-scanner",
    "mysql_scanner": "mysql-scanner",
    "delta": "delta",
    "iceberg": "iceberg",
    "avro": "avro",
    "encodings": "encodings",
}
# Extensions another one loads first: iceberg reads its manifests with avro, and would
# otherwise try to install it from the web.
_LOADED_FIRST = {"iceberg": ("avro",)}
# DuckDB names the extension a setting belongs to when it is not loaded yet.
_SETTING_OF_EXTENSION = r"but it exists in the (\w+) extension"


class Extensions:
    """The extensions one connection has loaded, and the credentials that go with them."""

    def __init__(
        self, connection: duckdb.DuckDBPyConnection, translating: Callable[[], AbstractContextManager[None]]
    ) -> None:
        self._connection = connection
        self._translating = translating
        self.loaded: set[str] = set()
        self._s3_secret: dict[str, str | bool] = {}
        # [postgres] / [mysql] (host, port, user, password) and passwords written in server URLs,
        # by the URL without them: given to DuckDB as temporary secrets, never in SQL text shown.
        self.servers: dict[str, dict[str, str]] = {"postgres": {}, "mysql": {}}
        self._url_passwords: dict[str, str] = {}

    def load(self, name: str) -> None:
        """Load an extension from its pinned PyPI wheel, never from the web."""
        if name in self.loaded:
            return
        for first in _LOADED_FIRST.get(name, ()):
            self.load(first)
        with self._translating():
            self._connection.execute(f"LOAD {quote_string(extension_path(name))}")
        self.loaded.add(name)
        if name == "httpfs" and self._s3_secret:
            self._create_s3_secret()

    def owner_of_setting(self, message: str) -> str | None:
        """The extension, not loaded yet, that DuckDB's error says defines a setting."""
        found = re.search(_SETTING_OF_EXTENSION, message)
        if found is None or found.group(1) not in WHEEL_OF_EXTENSION or found.group(1) in self.loaded:
            return None
        return found.group(1)

    def set_credentials(self, kind: str, options: Mapping[str, str | bool]) -> None:
        """S3 credentials and endpoint, made a DuckDB secret when httpfs is loaded.

        Also ``postgres`` / ``mysql`` (what a server URL leaves out) and ``url`` (the
        password written in a server URL, by that URL without it).
        """
        if kind in self.servers:
            self.servers[kind] = {key: str(value) for key, value in options.items()}
            return
        if kind == "url":
            self._url_passwords.update({key: str(value) for key, value in options.items()})
            return
        if kind != "s3":
            raise ConfigError(f"unknown kind of credentials {kind!r}", hint="DuckDB takes 's3'")
        self._s3_secret = dict(options)
        if options and "httpfs" in self.loaded:
            self._create_s3_secret()

    @property
    def secret_values(self) -> list[str]:
        """Credential values this connection was given (for redaction)."""
        keys = ("KEY_ID", "SECRET", "SESSION_TOKEN")
        found = [str(self._s3_secret[k]) for k in keys if self._s3_secret.get(k)]
        found += [server["password"] for server in self.servers.values() if server.get("password")]
        return found + list(self._url_passwords.values())

    def server_secret(self, kind: str, location: str, alias: str) -> str | None:
        """A temporary secret holding the password for a server source; its name, or None.

        The URL's own password wins over [postgres] / [mysql] password (or PGPASSWORD,
        MYSQL_PWD); with neither, the client library looks (~/.pgpass for PostgreSQL).
        """
        password = self._url_passwords.get(location) or self.servers[kind].get("password")
        if not password:
            return None
        name = f"__noctra_{kind}_{alias.lower()}"
        try:
            self._connection.execute(
                f"CREATE OR REPLACE TEMPORARY SECRET {quote_ident(name)} "
                f"(TYPE {kind}, PASSWORD {quote_string(password)})"
            )
        except duckdb.Error as exc:
            message = redact_text(first_line(exc), self.secret_values)
            raise SourceError(f"cannot pass the password for {alias!r}: {message}") from None
        return name

    def _create_s3_secret(self) -> None:
        # A temporary secret: it lives in this connection only, never on disk.
        options = ", ".join(f"{key} {sql_literal(value)}" for key, value in self._s3_secret.items())
        try:
            self._connection.execute(f"CREATE OR REPLACE SECRET __noctra_s3 (TYPE s3, {options})")
        except duckdb.Error as exc:
            message = redact_text(first_line(exc), self.secret_values)
            raise ConfigError(
                f"cannot set up S3 access: {message}",
                hint="check [s3] in the config file and the AWS_* environment variables",
            ) from None


def installed() -> list[tuple[str, str | None, str]]:
    """(name, file it loads from or None, the pip package that provides it)."""
    found: list[tuple[str, str | None, str]] = []
    for name, wheel in WHEEL_OF_EXTENSION.items():
        package = f"duckdb-extension-{wheel}=={duckdb.__version__}"
        try:
            found.append((name, extension_path(name), package))
        except NoctraError:
            found.append((name, None, package))
    return found


def extension_path(name: str) -> str:
    """Path of an extension file inside its PyPI wheel; error naming the package if absent."""
    package = f"duckdb-extension-{WHEEL_OF_EXTENSION.get(name, name)}=={duckdb.__version__}"
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        import glob

        found = glob.glob(
            os.path.join(location, "extensions", f"v{duckdb.__version__}", f"{name}.duckdb_extension")
        )
        if found:
            return found[0]
    raise SourceError(
        f"the DuckDB extension {name!r} is not installed",
        hint=f"pip install {package}",
    )
