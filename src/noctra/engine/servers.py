"""Database servers attached in place: PostgreSQL and MySQL URLs, without their passwords."""

from __future__ import annotations

from collections.abc import Mapping

from noctra.errors import SourceError
from noctra.records import field, record

# URL scheme -> the SourceKind value it stands for (sources.py maps it to the kind).
SCHEMES = {"postgres": "PostgreSQL", "postgresql": "PostgreSQL", "mysql": "MySQL"}
DEFAULT_PORTS = {"PostgreSQL": 5432, "MySQL": 3306}
# Schemas every server has that hold no user tables (left out of SHOW TABLES and completion).
SYSTEM_SCHEMAS = frozenset(
    {"information_schema", "pg_catalog", "pg_toast", "mysql", "performance_schema", "sys"}
)
# Seconds libpq waits for a server that does not answer (a firewall that drops packets):
# without it, USE would hang for the system's TCP timeout, minutes.
CONNECT_TIMEOUT = 10


def scheme_kind(path: str) -> str | None:
    """'PostgreSQL' or 'MySQL' for a server URL, else None."""
    scheme, sep, _ = path.partition("://")
    return SCHEMES.get(scheme.lower()) if sep else None


@record(frozen=True)
class ServerURL:
    """A server URL taken apart; the password is kept apart from what is shown or saved."""

    kind: str
    scheme: str
    user: str | None
    password: str | None
    host: str | None
    port: int | None
    database: str | None
    params: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def public(self) -> str:
        """The URL without its password: what SHOW SOURCES shows and the session file keeps."""
        from urllib.parse import quote, urlencode

        userinfo = f"{quote(self.user, safe='')}@" if self.user else ""
        host = self.host or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{self.port}" if self.port is not None else ""
        database = f"/{quote(self.database, safe='')}" if self.database else ""
        shown = [(k, v) for k, v in self.params if k.lower() not in ("password", "passwd")]
        query = f"?{urlencode(shown)}" if shown else ""
        return f"{self.scheme}://{userinfo}{host}{port}{database}{query}"


def parse_url(url: str) -> ServerURL:
    """A postgresql:// or mysql:// URL taken apart; SourceError naming what is wrong."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    kind = scheme_kind(url)
    if kind is None:
        raise SourceError(f"{url!r} is not a PostgreSQL or MySQL URL")
    try:
        parts = urlsplit(url)
        port = parts.port
        params = tuple(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)))
    except ValueError as exc:
        example = "postgresql://user@host:5432/db" if kind == "PostgreSQL" else "mysql://user@host:3306/db"
        raise SourceError(
            f"cannot read the {kind} URL {redact_password(url)!r}: {exc}", hint=f"write it as {example}"
        ) from None
    database = unquote(parts.path.lstrip("/")) or None
    if database is not None and "/" in database:
        raise SourceError(
            f"the {kind} URL {redact_password(url)!r} names a path, not a database",
            hint=f"write the database name alone after the host, e.g. {parts.scheme}://host/dbname",
        )
    return ServerURL(
        kind=kind,
        scheme=parts.scheme.lower(),
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        host=parts.hostname,
        port=port,
        database=database,
        params=params,
    )


def redact_password(url: str) -> str:
    """The URL with the password of its user-info replaced by ``****``."""
    from noctra.redact import redact_url

    return redact_url(url)


def default_alias(url: str) -> str:
    """The database name (else the host, else the kind) a server URL is known by without AS."""
    try:
        parsed = parse_url(url)
    except SourceError:
        return "db"
    return parsed.database or parsed.host or parsed.kind.lower()


def connection_string(url: ServerURL, defaults: Mapping[str, object]) -> str:
    """The key=value connection string DuckDB's postgres/mysql extensions take, without a password.

    Parts the URL leaves out come from ``defaults`` ([postgres] / [mysql] in the config or
    their environment variables); what neither gives is left to the client library
    (PGHOST, PGUSER, ~/.pgpass... for PostgreSQL).
    """
    values: dict[str, str] = {}
    host = url.host or defaults.get("host")
    port = url.port or defaults.get("port")
    user = url.user or defaults.get("user")
    if host:
        values["host"] = str(host)
    if port:
        values["port"] = str(port)
    if user:
        values["user"] = str(user)
    if url.kind == "PostgreSQL":
        if url.database:
            values["dbname"] = url.database
        values["connect_timeout"] = str(CONNECT_TIMEOUT)
        for key, value in url.params:
            if key.lower() == "password":
                continue
            values[key] = value
        return " ".join(f"{key}={_libpq_value(value)}" for key, value in values.items())
    if url.database:
        values["database"] = url.database
    for key, value in url.params:
        if key.lower() in ("password", "passwd"):
            continue
        values[key] = value
    for key, value in values.items():
        if not value or any(c.isspace() or c in "='\"" for c in value):
            # The mysql extension splits its connection string on spaces and takes no quotes.
            raise SourceError(
                f"MySQL {key} {value!r} cannot be passed to the server",
                hint="DuckDB's mysql extension takes values without spaces, quotes or '='",
            )
    return " ".join(f"{key}={value}" for key, value in values.items())


def url_password(url: ServerURL) -> str | None:
    """The password written in the URL (user-info or ?password=), if any."""
    if url.password:
        return url.password
    for key, value in url.params:
        if key.lower() in ("password", "passwd") and value:
            return value
    return None


def _libpq_value(value: str) -> str:
    """A value of a libpq key=value string: quoted when it is empty or has spaces or quotes."""
    if value and not any(c.isspace() or c in "'\\" for c in value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# What PostgreSQL's libpq and MySQL's client say, and what it means: (needle, what, hint).
_ATTACH_ERRORS = (
    (
        ("no password supplied", "using password: NO"),
        "{alias!r} needs a password for {who}",
        "{password_hint}; a password written in the URL is not kept with the session",
    ),
    (
        ("password authentication failed", "Access denied for user", "authentication failed"),
        "{kind} refused the password of {who}",
        "check the password ({password_hint})",
    ),
    (
        ('role "',),
        "{kind} at {where} has no user {user!r}",
        "check the user name in the URL (or [postgres] user, PGUSER)",
    ),
    (
        ("does not exist", "Unknown database"),
        "{kind} at {where} has no database {database!r}",
        "check the database name at the end of the URL",
    ),
    (
        ("could not translate host name", "Unknown server host", "Unknown MySQL server host"),
        "unknown host {host!r} in the {kind} URL",
        "check the host name in the URL",
    ),
    (
        ("Connection refused", "Can't connect to server", "Can't connect to MySQL server"),
        "nothing answered at {where}",
        "check the host and port, and that the {kind} server is running",
    ),
    (
        ("timeout expired", "timed out"),
        "no answer from {where} within {timeout} s",
        "check the host and port (and any firewall between)",
    ),
)
_PASSWORD_HINTS = {
    "PostgreSQL": "set PGPASSWORD, a line in ~/.pgpass, or [postgres] password in the config file",
    "MySQL": "set MYSQL_PWD, or [mysql] password in the config file",
}


def attach_error(alias: str, url: ServerURL, defaults: Mapping[str, object], message: str) -> SourceError:
    """Why a server did not attach, in one line naming it, and what to do (never the password)."""
    host = url.host or str(defaults.get("host") or "localhost")
    port = url.port or defaults.get("port") or DEFAULT_PORTS[url.kind]
    user = url.user or defaults.get("user")
    values = {
        "alias": alias,
        "kind": url.kind,
        "host": host,
        "where": f"{host}:{port}",
        "who": f"user {user!r} at {host}:{port}" if user else f"{host}:{port}",
        "database": url.database or "",
        "user": user or "",
        "timeout": CONNECT_TIMEOUT,
        "password_hint": _PASSWORD_HINTS[url.kind],
    }
    for needles, what, hint in _ATTACH_ERRORS:
        if any(needle in message for needle in needles):
            return SourceError(what.format(**values), hint=hint.format(**values))
    # The client's own words, after DuckDB's "Unable to connect to Postgres at "...":" preamble.
    reason = message.split('": ', 1)[-1].strip()
    return SourceError(
        f"cannot attach {url.kind} database {url.public!r}: {reason}",
        hint="check the URL, and that the server is running and lets this user in",
    )
