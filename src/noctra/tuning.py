"""Performance settings in force on one session's engine: config, SET overrides, threads per statement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from noctra.config import (
    SETTINGS,
    BadValueError,
    Config,
    IOType,
    Setting,
    check_value,
    setting_named,
    shown_value,
    toml_value,
    value_from_text,
)
from noctra.engine.base import Column, Engine
from noctra.engine.sources import Source, is_remote
from noctra.errors import ConfigError, OptionError, QueryError
from noctra.quoting import sql_literal
from noctra.records import replace
from noctra.redact import MASK, is_secret_setting
from noctra.rql.lexer import Kind, tokenize

# Noctra's own settings that SET / RESET change in a session ([duckdb.performance]).
SESSION_KEYS = ("base_threads", "remote_multiplier", "io_type", "stmt_cache_capacity")
# Any remote URL: calculate_threads decides by scheme.
REMOTE_PROBE = "s3://"
SHOW_CONFIG_COLUMNS = [
    Column("setting", "VARCHAR"),
    Column("value", "VARCHAR"),
    Column("origin", "VARCHAR"),
]


class Tuner:
    """Applies the config to a DuckDB engine and picks the threads for each statement.

    Precedence (SPEC 4.2): SET > environment > config file > default. The config
    passed in already merges file and environment; SET lands in ``overrides``.
    """

    def __init__(self, engine: Engine, config: Config) -> None:
        self.engine = engine
        self.config = config
        self.performance = replace(config.performance)
        self.overrides: set[str] = set()
        self.is_remote = False
        engine.set_credentials("s3", s3_secret_options(config))
        engine.set_credentials("postgres", server_options(config, "postgres"))
        engine.set_credentials("mysql", server_options(config, "mysql"))
        self._apply_memory_limit()
        for name, value in config.tuning.items():
            self._apply_tuning(name, value)
        if self.performance.io_type is IOType.REMOTE:
            self.is_remote = True
        self.engine.set_threads(self._threads())

    # --- at start -------------------------------------------------------------------

    def _apply_memory_limit(self) -> None:
        value = self.performance.memory_limit
        try:
            self.engine.set_option("memory_limit", sql_literal(value))
        except QueryError as exc:
            raise ConfigError(
                f"{self._where('duckdb.performance.memory_limit')}memory_limit = {toml_value(value)}: "
                f"DuckDB refused it: {exc.message}",
                hint='write a size such as "2GB" or "512MB"',
            ) from None

    def _apply_tuning(self, name: str, value: object) -> None:
        try:
            if name.lower() == "enable_profiling" and value is False:
                # DuckDB 1.5 refuses SET enable_profiling = false; off is its default.
                self.engine.reset_option(name)
            else:
                self.engine.set_option(name, sql_literal(value))
        except QueryError as exc:
            where = self.config.path or "config"
            shown = MASK if is_secret_setting(name) else toml_value(value)
            raise ConfigError(
                f"{where}: [duckdb.tuning] {name} = {shown}: DuckDB refused it: {exc.message}",
                hint=exc.hint or "each [duckdb.tuning] line is passed to DuckDB as SET key = value",
            ) from None

    def _where(self, key: str) -> str:
        origin = self.config.origin(key)
        if origin == "file":
            return f"{self.config.path}: [duckdb.performance] "
        if origin == "env":
            return f"environment variable {self.config.env_vars.get(key, '')}: "
        return ""

    # --- before each statement --------------------------------------------------------

    def before_statement(
        self, text: str, sources: Iterable[Source], user_settings: Mapping[str, str]
    ) -> None:
        """Set threads for the sources this statement reads (unless the user SET threads)."""
        io_type = self.performance.io_type
        if io_type is IOType.ADAPTIVE:
            self.is_remote = reads_remote(text, sources)
        else:
            self.is_remote = io_type is IOType.REMOTE
        if "threads" not in user_settings:
            self.engine.set_threads(self._threads())

    def _threads(self) -> int:
        return self.performance.calculate_threads(REMOTE_PROBE if self.is_remote else None)

    # --- SET / RESET ------------------------------------------------------------------

    def handles(self, key: str) -> bool:
        """True for Noctra's own settings (SET io_type = 'remote', SET base_threads = 4...)."""
        return key.lower() in SESSION_KEYS

    def set(self, key: str, text: str) -> str:
        """SET one of Noctra's settings for this session; returns the message to show."""
        setting = _performance_setting(key)
        raw = _unquote(text)
        try:
            value = check_value(setting, value_from_text(setting, raw))
        except BadValueError as exc:
            raise OptionError(
                f"SET {setting.name} = {text.strip()}: expected {exc}",
                hint=f"e.g. SET {setting.name} = {_example(setting)}",
            ) from None
        setattr(self.performance, setting.name, value)
        self.overrides.add(setting.name)
        return f"{setting.name} = {_plain(setting, value)}"

    def reset(self, key: str) -> str:
        """RESET one of Noctra's settings: back to the environment, the file or the default."""
        setting = _performance_setting(key)
        setattr(self.performance, setting.name, getattr(self.config.performance, setting.name))
        self.overrides.discard(setting.name)
        return f"{setting.name} reset to {_plain(setting, getattr(self.performance, setting.name))}"

    def after_reset(self, key: str) -> None:
        """After ``RESET key`` in DuckDB: put back what the config sets for that key."""
        name = key.lower()
        if name == "threads":
            self.engine.set_threads(self._threads(), force=True)
        elif name == "memory_limit":
            self._apply_memory_limit()
        elif name in self.config.tuning:
            self._apply_tuning(name, self.config.tuning[name])

    # --- SHOW CONFIG ------------------------------------------------------------------

    def origin(self, key: str) -> str:
        """default / file / env / SET for a dotted key."""
        name = key.rsplit(".", 1)[-1]
        if key.startswith("duckdb.performance.") and name in self.overrides:
            return "SET"
        return self.config.origin(key)

    def show_config(self, user_settings: Mapping[str, str]) -> list[tuple[object, ...]]:
        """Rows of SHOW CONFIG: (setting, value, origin); credentials masked."""
        rows: list[tuple[object, ...]] = []
        # threads follow base_threads, io_type and (for remote I/O) remote_multiplier:
        # their strongest origin is the origin of threads.
        deciding = ["base_threads", "io_type"] + (["remote_multiplier"] if self.is_remote else [])
        origins = {self.origin(f"duckdb.performance.{name}") for name in deciding}
        if "threads" in user_settings:
            origins.add("SET")
        strongest = next((o for o in ("SET", "env", "file") if o in origins), "default")
        rows.append(("threads", self._current("threads"), strongest))
        rows.append(
            (
                "memory_limit",
                self._current("memory_limit"),
                "SET"
                if "memory_limit" in user_settings
                else self.config.origin("duckdb.performance.memory_limit"),
            )
        )
        for setting in SETTINGS:
            if setting.section == "duckdb.performance" and setting.name != "memory_limit":
                value = getattr(self.performance, setting.name)
                rows.append((setting.name, _plain(setting, value), self.origin(setting.key)))
        for setting in SETTINGS:
            if setting.section == "duckdb.performance":
                continue
            value = self.config.value(setting)
            if setting.section == "engine" and setting.name == "mode" and "engine" in user_settings:
                rows.append(("engine.mode", user_settings["engine"], "SET"))
                continue
            rows.append(
                (setting.key, None if value is None else _plain(setting, value), self.origin(setting.key))
            )
        for name in self.config.tuning:
            rows.append((name, self._current(name), "SET" if name in user_settings else "file"))
        for name in user_settings:
            if name in ("threads", "memory_limit", "engine") or name in self.config.tuning:
                continue
            rows.append((name, self._current(name, user_settings), "SET"))
        if self.config.path is not None:
            state = "" if self.config.loaded else " (does not exist)"
            rows.append(("config_file", f"{self.config.path}{state}", self.config.path_origin))
        return rows

    def _current(self, name: str, user_settings: Mapping[str, str] | None = None) -> str | None:
        if is_secret_setting(name):
            return MASK
        written = (user_settings or {}).get(name)
        value = self.current_setting(name, written=written)
        return None if value is None else str(value)

    def current_setting(self, name: str, *, written: str | None = None) -> object:
        """DuckDB's value of a setting; `written` when DuckDB cannot read it back.

        DuckDB 1.5 refuses ``current_setting('s3_region')`` (and the other s3_*
        settings of httpfs) although ``SET s3_region`` works. A boolean is shown as SQL
        writes it (``false``), as Noctra's own settings are, not as Python's ``False``.
        """
        try:
            value = self.engine.get_option(name)
        except QueryError:
            if written is None:
                return None
            return _unquote(written)
        if isinstance(value, bool):
            return "true" if value else "false"
        return value


def reads_remote(text: str, sources: Iterable[Source]) -> bool:
    """True when a statement reads a remote source: a quoted URL, or an alias of a remote source."""
    lowered = text.lower()
    remote_aliases = {s.alias.lower() for s in sources if s.is_remote}
    if "://" not in lowered and not remote_aliases:
        return False
    for token in tokenize(text):
        if token.kind is Kind.STRING:
            value = token.text[1:] if token.text[:1] in "eE" else token.text
            if is_remote(value.strip("'")):
                return True
        elif remote_aliases:
            if token.kind is Kind.WORD and token.text.lower() in remote_aliases:
                return True
            if token.kind is Kind.QIDENT and token.text[1:-1].replace('""', '"').lower() in remote_aliases:
                return True
    return False


def server_options(config: Config, section: str) -> dict[str, str | bool]:
    """host, port, user, password of [postgres] or [mysql] (or their variables) that are set."""
    server = config.postgres if section == "postgres" else config.mysql
    values = {"host": server.host, "port": server.port, "user": server.user, "password": server.password}
    return {key: str(value) for key, value in values.items() if value is not None}


def s3_secret_options(config: Config) -> dict[str, str | bool]:
    """Options of DuckDB's ``CREATE SECRET (TYPE s3, ...)`` from [s3] and the AWS variables."""
    s3 = config.s3
    options: dict[str, str | bool] = {}
    if s3.access_key_id:
        options["KEY_ID"] = s3.access_key_id
    if s3.secret_access_key:
        options["SECRET"] = s3.secret_access_key
    if s3.session_token:
        options["SESSION_TOKEN"] = s3.session_token
    if s3.region:
        options["REGION"] = s3.region
    use_ssl = s3.use_ssl
    url_style = s3.url_style
    if s3.endpoint:
        scheme, sep, host = s3.endpoint.partition("://")
        if sep:
            if use_ssl is None:
                use_ssl = scheme.lower() == "https"
        else:
            host = s3.endpoint
        options["ENDPOINT"] = host.rstrip("/")
        # S3-compatible servers on a host:port answer path-style requests.
        url_style = url_style or "path"
    if url_style:
        options["URL_STYLE"] = url_style
    if use_ssl is not None:
        options["USE_SSL"] = use_ssl
    return options


def _performance_setting(key: str) -> Setting:
    setting = setting_named(key.lower(), "duckdb.performance")
    if setting is None:
        raise OptionError(f"unknown Noctra setting {key!r}", hint=f"settings: {', '.join(SESSION_KEYS)}")
    return setting


def _plain(setting: Setting, value: object) -> str:
    return shown_value(setting, value).strip('"')


def _unquote(text: str) -> str:
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == "'":
        return stripped[1:-1].replace("''", "'")
    return stripped


def _example(setting: Setting) -> str:
    return {"io_type": "'remote'", "remote_multiplier": "2.0"}.get(setting.name, "4")
