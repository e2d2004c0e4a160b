"""Settings: PerformanceConfig and the other sections of config.toml, with their origins."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from enum import Enum
from pathlib import Path

from noctra.errors import ConfigError
from noctra.records import field, record
from noctra.redact import MASK, is_secret_setting

REMOTE_SCHEMES = ("s3://", "s3a://", "http://", "https://", "gs://", "gcs://", "az://", "r2://")


class IOType(Enum):
    """How a statement's I/O is treated when choosing threads."""

    LOCAL = "local"
    REMOTE = "remote"
    ADAPTIVE = "adaptive"


@record
class PerformanceConfig:
    """``[duckdb.performance]``: threads, memory and the statement cache."""

    base_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    remote_multiplier: float = 3.0
    memory_limit: str = "2GB"
    io_type: IOType = IOType.ADAPTIVE
    stmt_cache_capacity: int = 100

    def calculate_threads(self, path: str | None) -> int:
        """Threads for a statement reading path: local -> base; remote -> base x multiplier."""
        if self.io_type is IOType.LOCAL:
            remote = False
        elif self.io_type is IOType.REMOTE:
            remote = True
        else:
            remote = path is not None and path.lower().startswith(REMOTE_SCHEMES)
        if not remote:
            return self.base_threads
        return max(1, min(MAX_THREADS, round(self.base_threads * self.remote_multiplier)))


@record
class EngineConfig:
    """``[engine]``: routing between DuckDB and SQLite, and materialization thresholds."""

    mode: str = "auto"
    materialize_min_rows: int = 10_000
    materialize_after_queries: int = 3
    materialize_always_rows: int = 1_000_000
    cache_files_under: int = 64 * 1024 * 1024


@record
class CacheConfig:
    """``[cache]``: persistent columnar copies of CSV/JSON files read again (SPEC 4.5)."""

    persistent: bool = True
    # Parquet copies are ~55% of their CSV: 2 GiB holds copies of ~3.5 GB of CSV.
    max_size: int = 2 * 1024 * 1024 * 1024
    # Below 1 MB a CSV parses in a few ms of a ~120 ms process: no copy is worth its file.
    min_size: int = 1024 * 1024
    # http(s)/S3 files too: their identity is a HEAD request's size and Last-Modified.
    remote: bool = False
    # Results of deterministic queries over local files, kept from their second run when
    # their first returned at most result_max_rows rows and took result_min_ms or more.
    results: bool = True
    result_max_rows: int = 100_000
    result_min_ms: int = 50


@record
class SparkConfig:
    """``[spark]``: where the Spark engine runs, and how much of a SQLite table it may ship."""

    remote: str | None = None  # sc://host:port; None: a local server (local[*]) started on demand
    sqlite_max_rows: int = 1_000_000


@record
class SessionConfig:
    """``[session]``: whether the saved session is restored at start."""

    restore: bool = True


@record
class S3Config:
    """``[s3]``: endpoint and style for S3-compatible servers (keys come from the environment)."""

    endpoint: str | None = None
    region: str | None = None
    url_style: str | None = None
    use_ssl: bool | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None


@record
class ServerConfig:
    """``[postgres]`` / ``[mysql]``: what a server URL leaves out (host, port, user, password)."""

    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None


@record
class Config:
    """Everything config.toml can set; ``origins`` says where each key's value came from."""

    performance: PerformanceConfig = field(default_factory=PerformanceConfig)
    tuning: dict[str, object] = field(default_factory=dict)
    engine: EngineConfig = field(default_factory=EngineConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    s3: S3Config = field(default_factory=S3Config)
    spark: SparkConfig = field(default_factory=SparkConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    postgres: ServerConfig = field(default_factory=ServerConfig)
    mysql: ServerConfig = field(default_factory=ServerConfig)
    path: str | None = None
    origins: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # How `path` was chosen: "--config", "NOCTRA_CONFIG" or "default"; and whether it was read.
    path_origin: str = "default"
    loaded: bool = False
    # Dotted key -> the environment variable its value came from.
    env_vars: dict[str, str] = field(default_factory=dict)

    def origin(self, key: str) -> str:
        """default / file / env for a dotted key such as 'duckdb.performance.base_threads'."""
        return self.origins.get(key, "default")

    def value(self, setting: Setting) -> object:
        """The value of one setting in this config."""
        return getattr(getattr(self, setting.attribute), setting.name)

    def secrets(self) -> list[str]:
        """Credential values in force (to be redacted wherever text is shown)."""
        found = [self.value(s) for s in SETTINGS if s.is_secret]
        return [str(v) for v in found if v]


CONFIG_ENV = "NOCTRA_CONFIG"
# Patterns are compiled on first use (re caches them), not at start-up.
# More threads than this is a typo (100000 made DuckDB hang starting them), not a machine.
MAX_THREADS = 1024
_SIZE = r"(?i)\s*(\d+(?:\.\d+)?)\s*(?:b|bytes|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)\s*"
_INTEGER = r"\s*[+-]?\d+\s*"
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")

# Kind of value -> what a user must write (the end of every validation error).
EXPECTED = {
    "threads": f"a whole number from 1 to {MAX_THREADS}",
    "count": "a whole number ≥ 0",
    "multiplier": f"a number above 0, at most {MAX_THREADS}",
    "size": 'a size above 0 such as "2GB", "512MB" or "1.5GiB"',
    "io_type": '"local", "remote" or "adaptive"',
    "mode": '"auto", "duckdb", "sqlite", "spark" or "sc://HOST:PORT"',
    "spark_remote": '"local[*]", "local[N]" or "sc://HOST:PORT"',
    "bool": "true or false",
    "url_style": '"path" or "vhost"',
    "text": "a string",
}


@record(frozen=True)
class Setting:
    """One key of config.toml: its section, the kind of value it takes, its environment variables."""

    section: str
    name: str
    attribute: str
    kind: str
    env: tuple[str, ...] = ()
    is_secret: bool = False

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def expected(self) -> str:
        return EXPECTED[self.kind]


SETTINGS: tuple[Setting, ...] = (
    Setting("duckdb.performance", "base_threads", "performance", "threads", ("NOCTRA_BASE_THREADS",)),
    Setting(
        "duckdb.performance", "remote_multiplier", "performance", "multiplier", ("NOCTRA_REMOTE_MULTIPLIER",)
    ),
    Setting("duckdb.performance", "memory_limit", "performance", "size", ("NOCTRA_MEMORY_LIMIT",)),
    Setting("duckdb.performance", "io_type", "performance", "io_type", ("NOCTRA_IO_TYPE",)),
    Setting(
        "duckdb.performance", "stmt_cache_capacity", "performance", "count", ("NOCTRA_STMT_CACHE_CAPACITY",)
    ),
    Setting("engine", "mode", "engine", "mode", ("NOCTRA_ENGINE",)),
    Setting("engine", "materialize_min_rows", "engine", "count", ("NOCTRA_MATERIALIZE_MIN_ROWS",)),
    Setting("engine", "materialize_after_queries", "engine", "count", ("NOCTRA_MATERIALIZE_AFTER_QUERIES",)),
    Setting("engine", "materialize_always_rows", "engine", "count", ("NOCTRA_MATERIALIZE_ALWAYS_ROWS",)),
    Setting("engine", "cache_files_under", "engine", "count", ("NOCTRA_CACHE_FILES_UNDER",)),
    Setting("session", "restore", "session", "bool", ("NOCTRA_SESSION_RESTORE",)),
    Setting("cache", "persistent", "cache", "bool", ("NOCTRA_CACHE_PERSISTENT",)),
    Setting("cache", "max_size", "cache", "count", ("NOCTRA_CACHE_MAX_SIZE",)),
    Setting("cache", "min_size", "cache", "count", ("NOCTRA_CACHE_MIN_SIZE",)),
    Setting("cache", "remote", "cache", "bool", ("NOCTRA_CACHE_REMOTE",)),
    Setting("cache", "results", "cache", "bool", ("NOCTRA_CACHE_RESULTS",)),
    Setting("cache", "result_max_rows", "cache", "count", ("NOCTRA_CACHE_RESULT_MAX_ROWS",)),
    Setting("cache", "result_min_ms", "cache", "count", ("NOCTRA_CACHE_RESULT_MIN_MS",)),
    Setting("s3", "endpoint", "s3", "text", ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")),
    Setting("s3", "region", "s3", "text", ("AWS_REGION", "AWS_DEFAULT_REGION")),
    Setting("s3", "url_style", "s3", "url_style"),
    Setting("s3", "use_ssl", "s3", "bool"),
    Setting("s3", "access_key_id", "s3", "text", ("AWS_ACCESS_KEY_ID",), is_secret=True),
    Setting("s3", "secret_access_key", "s3", "text", ("AWS_SECRET_ACCESS_KEY",), is_secret=True),
    Setting("s3", "session_token", "s3", "text", ("AWS_SESSION_TOKEN",), is_secret=True),
    # The variables libpq itself reads (it also reads ~/.pgpass when no password is given).
    Setting("postgres", "host", "postgres", "text", ("PGHOST",)),
    Setting("postgres", "port", "postgres", "count", ("PGPORT",)),
    Setting("postgres", "user", "postgres", "text", ("PGUSER",)),
    Setting("postgres", "password", "postgres", "text", ("PGPASSWORD",), is_secret=True),
    # The variables DuckDB's mysql extension reads.
    Setting("mysql", "host", "mysql", "text", ("MYSQL_HOST",)),
    Setting("mysql", "port", "mysql", "count", ("MYSQL_TCP_PORT",)),
    Setting("mysql", "user", "mysql", "text"),
    Setting("mysql", "password", "mysql", "text", ("MYSQL_PWD",), is_secret=True),
    Setting("spark", "remote", "spark", "spark_remote", ("NOCTRA_SPARK_REMOTE",)),
    Setting("spark", "sqlite_max_rows", "spark", "count", ("NOCTRA_SPARK_SQLITE_MAX_ROWS",)),
)
SECTIONS = (
    "duckdb.performance",
    "duckdb.tuning",
    "engine",
    "session",
    "cache",
    "s3",
    "postgres",
    "mysql",
    "spark",
)
# Settings Noctra manages itself: [duckdb.tuning] may not set them.
MANAGED_DUCKDB_SETTINGS = {"threads": "base_threads", "memory_limit": "memory_limit"}


class BadValueError(ValueError):
    """A value of the wrong kind; the message is what was expected."""


def engine_choice(config: Config) -> tuple[str, str | None]:
    """The engine a session starts on, and the Spark endpoint (None: a local server) for Spark.

    ``[engine] mode`` (or --engine, NOCTRA_ENGINE) = spark uses ``[spark] remote``; an
    sc:// URL there is Spark at that URL; ``[spark] remote`` alone, with the mode left
    at its default, chooses Spark too (SPEC 9).
    """
    mode = config.engine.mode
    if mode.lower().startswith("sc://"):
        return "spark", mode
    remote = config.spark.remote
    if mode == "spark" or (
        config.origin("engine.mode") == "default" and remote is not None and remote.startswith("sc://")
    ):
        return "spark", remote
    return mode, None


def choose_engine(config: Config, value: str) -> None:
    """``--engine VALUE``: the engine mode for this run, above the environment and the file."""
    setting = setting_named("mode", "engine")
    assert setting is not None
    try:
        config.engine.mode = str(check_value(setting, value))
    except BadValueError as exc:
        raise ConfigError(f"--engine {value!r}: expected {exc}", hint="e.g. --engine spark") from None
    config.origins[setting.key] = "--engine"


def setting_named(name: str, section: str | None = None) -> Setting | None:
    """The setting with that name (in that section, if given)."""
    for setting in SETTINGS:
        if setting.name == name and (section is None or setting.section == section):
            return setting
    return None


_CHOICES: dict[str, tuple[str, ...]] = {
    "io_type": ("local", "remote", "adaptive"),
    "mode": ("auto", "duckdb", "sqlite", "spark"),
    "url_style": ("path", "vhost"),
}


def check_value(setting: Setting, value: object) -> object:
    """The value as the config holds it; raises BadValueError when it is of the wrong kind."""
    kind = setting.kind
    if isinstance(value, bool):
        if kind != "bool":
            raise BadValueError(setting.expected)
        return value
    if kind in ("threads", "count"):
        if not isinstance(value, int) or value < (1 if kind == "threads" else 0):
            raise BadValueError(setting.expected)
        if value > (MAX_THREADS if kind == "threads" else 2**63 - 1):
            raise BadValueError(setting.expected)
        return value
    if kind == "multiplier":
        if not isinstance(value, int | float) or not 0 < value <= MAX_THREADS:
            raise BadValueError(setting.expected)
        return float(value)
    if not isinstance(value, str) or kind == "bool":
        raise BadValueError(setting.expected)
    word = value.strip().lower()
    if kind in ("mode", "spark_remote") and word.startswith("sc://") and len(word) > len("sc://"):
        return value.strip()
    if kind == "spark_remote":
        if not re.fullmatch(r"local(\[(\*|\d+)\])?", word):
            raise BadValueError(setting.expected)
        return word
    if kind in _CHOICES:
        if word not in _CHOICES[kind]:
            raise BadValueError(setting.expected)
        return IOType(word) if kind == "io_type" else word
    if kind == "size":
        size = re.fullmatch(_SIZE, value)
        if size is None or float(size.group(1)) == 0:
            raise BadValueError(setting.expected)
    if kind == "text" and not value.strip():
        raise BadValueError("a non-empty string")
    return value.strip()


def value_from_text(setting: Setting, text: str) -> object:
    """A value written as text (environment, SET) turned into the kind the setting takes."""
    stripped = text.strip()
    if setting.kind in ("threads", "count") and re.fullmatch(_INTEGER, stripped):
        return int(stripped)
    if setting.kind == "multiplier":
        try:
            return float(stripped)
        except ValueError:
            return text
    if setting.kind == "bool" and stripped.lower() in (*_TRUE, *_FALSE):
        return stripped.lower() in _TRUE
    return text


# TOML's bare keys; any other key (a dot, a space, non-ASCII, empty) must be quoted.
_BARE_KEY = r"[A-Za-z0-9_-]+"
# Control characters may not appear raw in a TOML basic string (U+007F included).
_SHORT_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_key(key: str) -> str:
    """A key written as TOML: bare when it may be, else quoted."""
    return key if re.fullmatch(_BARE_KEY, key) else toml_value(key)


def toml_value(value: object) -> str:
    """A value written as TOML (for messages, `noctra config show` and the session file)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, IOType):
        return toml_value(value.value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = "".join(
            c if c >= " " and c != "\x7f" else _SHORT_ESCAPES.get(c, f"\\u{ord(c):04x}") for c in escaped
        )
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    return toml_value(str(value))


def shown_value(setting: Setting, value: object) -> str:
    """A value as messages show it: secrets masked."""
    return f'"{MASK}"' if setting.is_secret else toml_value(value)


def config_path(
    explicit: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Path, str]:
    """The config file to read and how it was chosen: --config, $NOCTRA_CONFIG, else XDG."""
    env = os.environ if environ is None else environ
    if explicit is not None and os.fspath(explicit):
        return Path(os.path.expanduser(os.fspath(explicit))), "--config"
    if env.get(CONFIG_ENV):
        return Path(os.path.expanduser(env[CONFIG_ENV])), CONFIG_ENV
    base = env.get("XDG_CONFIG_HOME", "")
    # The XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored.
    root = Path(base) if os.path.isabs(base) else Path(os.path.expanduser("~")) / ".config"
    return root / "noctra" / "config.toml", "default"


def load_config(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> Config:
    """Defaults, then the config file (if there is one), then the environment.

    ``SET`` in a session comes last and wins (SPEC 4.2). A bad value raises
    ConfigError naming the file, the key, the value and what is expected; unknown
    keys and sections are kept as warnings in ``Config.warnings``.
    """
    env = os.environ if environ is None else environ
    location, chosen_by = config_path(path, env)
    config = Config(path=str(location), path_origin=chosen_by)
    if os.path.isfile(location):
        _apply_file(config, location)
        config.loaded = True
    elif os.path.exists(location):
        raise ConfigError(
            f"config file {str(location)!r} is not a file",
            hint="point --config (or NOCTRA_CONFIG) at a TOML file",
        )
    elif chosen_by != "default":
        config.warnings.append(f"config file {location} does not exist; using the defaults")
    _apply_environment(config, env)
    return config


def _apply_file(config: Config, location: Path) -> None:
    import tomllib

    where = str(location)
    try:
        with open(location, "rb") as handle:
            raw = handle.read()
        # A UTF-8 byte order mark (Windows Notepad writes one) is not TOML: it is passed over.
        data = tomllib.loads(raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{where}: not valid TOML: {exc}",
            hint="fix that line, or write a fresh file with `noctra config init --force`",
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text", hint="save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {where}: {exc.strerror}") from None
    for name, value in data.items():
        if name == "duckdb" and isinstance(value, dict):
            for sub, table in value.items():
                _apply_section(config, where, f"duckdb.{sub}", table)
        else:
            _apply_section(config, where, name, value)


def _apply_section(config: Config, where: str, section: str, table: object) -> None:
    if section not in SECTIONS:
        if isinstance(table, dict):
            known = ", ".join(f"[{s}]" for s in SECTIONS)
            config.warnings.append(f"{where}: unknown section [{section}] (ignored; known: {known})")
        else:
            config.warnings.append(f"{where}: unknown key {section} (ignored)")
        return
    if not isinstance(table, dict):
        raise ConfigError(
            f"{where}: {section} = {toml_value(table)}: expected a section [{section}]",
            hint=f"write [{section}] on a line of its own, then key = value lines",
        )
    for name, value in table.items():
        if section == "duckdb.tuning":
            _apply_tuning(config, where, name, value)
            continue
        setting = setting_named(name, section)
        if setting is None:
            config.warnings.append(
                f"{where}: unknown key [{section}] {name} (ignored{_suggest(name, section)})"
            )
            continue
        try:
            checked = check_value(setting, value)
        except BadValueError as exc:
            raise ConfigError(
                f"{where}: [{section}] {name} = {shown_value(setting, value)}: expected {exc}",
                hint=f"fix it in {where}, or delete the line to use the default",
            ) from None
        setattr(getattr(config, setting.attribute), setting.name, checked)
        config.origins[setting.key] = "file"


def _apply_tuning(config: Config, where: str, name: str, value: object) -> None:
    if name.lower() in MANAGED_DUCKDB_SETTINGS:
        replacement = MANAGED_DUCKDB_SETTINGS[name.lower()]
        config.warnings.append(
            f"{where}: [duckdb.tuning] {name} is managed by Noctra (ignored; "
            f"set [duckdb.performance] {replacement} instead)"
        )
        return
    if not isinstance(value, str | int | float | bool):
        raise ConfigError(
            f"{where}: [duckdb.tuning] {name} = {_tuning_shown(name, value)}: "
            "expected a string, number or boolean",
            hint="each [duckdb.tuning] line is passed to DuckDB as SET key = value",
        )
    config.tuning[name] = value
    config.origins[f"duckdb.tuning.{name}"] = "file"


def _suggest(name: str, section: str) -> str:
    import difflib

    names = [s.name for s in SETTINGS if s.section == section]
    close = difflib.get_close_matches(name, names, n=1)
    return f"; did you mean {close[0]}?" if close else f"; known: {', '.join(names)}"


def _apply_environment(config: Config, env: Mapping[str, str]) -> None:
    for setting in SETTINGS:
        for variable in setting.env:
            text = env.get(variable, "")
            if not text.strip():
                continue
            try:
                checked = check_value(setting, value_from_text(setting, text))
            except BadValueError as exc:
                shown = f'"{MASK}"' if setting.is_secret else toml_value(text)
                raise ConfigError(
                    f"environment variable {variable} = {shown}: expected {exc}",
                    hint=f"fix or unset {variable}",
                ) from None
            setattr(getattr(config, setting.attribute), setting.name, checked)
            config.origins[setting.key] = "env"
            config.env_vars[setting.key] = variable
            break


def _tuning_shown(name: str, value: object) -> str:
    return f'"{MASK}"' if is_secret_setting(name) else toml_value(value)


def origin_text(config: Config, key: str) -> str:
    """default, file, or env NAME: where a setting's value came from."""
    origin = config.origin(key)
    return f"env {config.env_vars[key]}" if origin == "env" and key in config.env_vars else origin


def effective_toml(config: Config) -> str:
    """The settings in force as TOML, each with its origin as a comment; secrets masked."""
    state = "read" if config.loaded else "does not exist, defaults in use"
    lines = [
        "# Noctra settings in force. Precedence: SET > environment > config file > default.",
        f"# config file: {config.path or 'none'} ({state})" if config.path else "# config file: none",
    ]
    for section in SECTIONS:
        lines += ["", f"[{section}]"]
        if section == "duckdb.tuning":
            tuning = [f"{toml_key(k)} = {_tuning_shown(k, v)}  # file" for k, v in config.tuning.items()]
            lines += tuning or ["# (none)"]
            continue
        for setting in SETTINGS:
            if setting.section != section:
                continue
            value = config.value(setting)
            if value is None:
                lines.append(f"# {setting.name}: not set")
                continue
            lines.append(
                f"{setting.name} = {shown_value(setting, value)}  # {origin_text(config, setting.key)}"
            )
    return "\n".join(lines) + "\n"


DEFAULT_CONFIG_TOML = """\
# Noctra configuration, written by `noctra config init`.
#
# Precedence of a setting: SET in a session > environment variable > this file > default.
# Every setting below is commented out, so its default is in force: uncomment a line
# and edit it to change one. `noctra config show` prints the settings in force and
# where each came from; docs/USAGE.md and docs/PERFORMANCE_TUNING.md explain them.

[duckdb.performance]
# Threads for statements that read local files (default: the number of CPUs).
# Environment: NOCTRA_BASE_THREADS.
# base_threads = 8

# Statements that read a remote source (s3://, https://, ...) run with
# base_threads × remote_multiplier threads: they wait on the network, not the CPU.
# Environment: NOCTRA_REMOTE_MULTIPLIER.
# remote_multiplier = 3.0

# DuckDB's memory limit: "512MB", "2GB", "1.5GiB"... Environment: NOCTRA_MEMORY_LIMIT.
# memory_limit = "2GB"

# adaptive: threads chosen by the sources each statement reads; local: always
# base_threads; remote: always base_threads × remote_multiplier. Environment: NOCTRA_IO_TYPE.
# io_type = "adaptive"

# Prepared-statement cache entries; see docs/PERFORMANCE_TUNING.md.
# Environment: NOCTRA_STMT_CACHE_CAPACITY.
# stmt_cache_capacity = 100

[duckdb.tuning]
# Any DuckDB setting, applied at start as SET key = value, for example:
# catalog_error_max_schemas = 10
# preserve_insertion_order = false

[engine]
# Which engine runs a statement: "auto", "duckdb", "sqlite", or "spark" / "sc://HOST:PORT"
# (Apache Spark, docs/SPARK.md). Environment: NOCTRA_ENGINE.
# mode = "auto"
# A SQLite table of at least materialize_min_rows rows read materialize_after_queries
# times (or any table above materialize_always_rows) is copied into DuckDB.
# Environment: NOCTRA_MATERIALIZE_MIN_ROWS, _AFTER_QUERIES, _ALWAYS_ROWS.
# materialize_min_rows = 10000
# materialize_after_queries = 3
# materialize_always_rows = 1000000
# Local CSV/JSON files under this many bytes may be loaded into DuckDB when read often.
# Environment: NOCTRA_CACHE_FILES_UNDER.
# cache_files_under = 67108864

[spark]
# Where `--engine spark` (or [engine] mode = "spark") runs statements: "local[*]" starts a
# local Spark Connect server (needs `pip install 'noctra[spark]'` and Java 17);
# "sc://HOST:15002" uses a cluster. Environment: NOCTRA_SPARK_REMOTE. See docs/SPARK.md.
# remote = "sc://spark.example.com:15002"
# A SQLite table used in a Spark statement is read here and shipped up to this many rows.
# Environment: NOCTRA_SPARK_SQLITE_MAX_ROWS.
# sqlite_max_rows = 1000000

[session]
# Restore the sources and variables of the last session at start.
# Environment: NOCTRA_SESSION_RESTORE.
# restore = true

[cache]
# CSV/JSON files of at least min_size bytes read a second time (in any process) are
# kept as Parquet copies under $XDG_CACHE_HOME/noctra and read from them until the file
# changes; the copies are bounded by max_size bytes (least recently used go first).
# --no-cache turns it off for one run. remote = true copies http(s)/S3 files too (a
# HEAD request per read checks their size and Last-Modified).
# results: a deterministic query over local files run a second time, whose first run
# returned at most result_max_rows rows and took at least result_min_ms, keeps its
# result; later runs read it while every file it reads is unchanged (a tenth of
# max_size at most). See docs/PERFORMANCE_TUNING.md.
# Environment: NOCTRA_CACHE_PERSISTENT, NOCTRA_CACHE_MAX_SIZE, NOCTRA_CACHE_MIN_SIZE,
# NOCTRA_CACHE_REMOTE, NOCTRA_CACHE_RESULTS, NOCTRA_CACHE_RESULT_MAX_ROWS,
# NOCTRA_CACHE_RESULT_MIN_MS.
# persistent = true
# max_size = 2147483648
# min_size = 1048576
# remote = false
# results = true
# result_max_rows = 100000
# result_min_ms = 50

[s3]
# S3 and S3-compatible servers. Keep credentials in the environment
# (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), which wins over this file.
# endpoint = "http://127.0.0.1:9000"   # AWS_ENDPOINT_URL; default: AWS itself
# region = "us-east-1"                 # AWS_REGION or AWS_DEFAULT_REGION
# url_style = "path"                   # "path" or "vhost"; "path" when an endpoint is set
# use_ssl = true                       # default: from the endpoint's scheme, else true

[postgres]
# What a postgresql:// URL (USE 'postgresql://user@host/db' AS pg) leaves out. The password
# is better kept in the environment (PGPASSWORD, which wins over this file) or ~/.pgpass;
# it is never shown nor written to the session file. Environment: PGHOST, PGPORT, PGUSER.
# host = "127.0.0.1"
# port = 5432
# user = "me"
# password = "..."

[mysql]
# The same for mysql:// URLs. Environment: MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_PWD.
# host = "127.0.0.1"
# port = 3306
# user = "me"
# password = "..."
"""


def write_default_config(location: Path, *, force: bool = False) -> None:
    """Write DEFAULT_CONFIG_TOML at location (atomically); refuse to overwrite unless force.

    A symlink (a config kept in a dotfiles repository) stays a link: the file it points to
    is written. A dangling link counts as a file there.
    """
    if (location.exists() or location.is_symlink()) and not force:
        raise ConfigError(
            f"config file {location} already exists" + (" (a symlink)" if location.is_symlink() else ""),
            hint="add --force to overwrite it (`noctra config show` prints what it sets)",
        )
    if location.is_symlink():
        location = Path(os.path.realpath(location))
    try:
        location.parent.mkdir(parents=True, exist_ok=True)
        temporary = location.with_name(f".{location.name}.{os.getpid()}.tmp")
        temporary.write_text(DEFAULT_CONFIG_TOML, encoding="utf-8")
        os.replace(temporary, location)
    except OSError as exc:
        raise ConfigError(f"cannot write config file {location}: {exc.strerror}") from None
