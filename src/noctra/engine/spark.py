"""The Spark engine: RQL statements run on Apache Spark through Spark Connect (SPEC 9).

Imported only when the Spark engine is chosen; pyspark itself is imported only when
the engine first needs a Spark session. Statements arrive in DuckDB's dialect (as
every engine gets them from the planner) and are transpiled with sqlglot. Sources
become Spark temporary views; SQLite tables are read locally (by the session's
DuckDB engine, which also sniffs CSV files and serializes results) and shipped as
Arrow. Results come back as Arrow (``DataFrame.toArrow()``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from noctra.engine.base import (
    ATTACH_SQLITE,
    PROGRESS,
    STREAM_COPY,
    Column,
    Engine,
    EngineResult,
    EngineStatus,
    Params,
    ReadSet,
    Registration,
    TableInfo,
    TableRef,
)
from noctra.engine.export import ExportReport
from noctra.engine.sources import Source, SourceKind, is_remote
from noctra.errors import CancelledQueryError, ConfigError, ExportError, OptionError, QueryError, SourceError
from noctra.output.model import ArrowRows
from noctra.quoting import quote_ident, quote_string

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp

LOCAL = "local[*]"
INSTALL_HINT = "pip install 'noctra[spark]'"
JAVA_HINT = (
    "the local Spark server needs Java 17: apt-get install openjdk-17-jre-headless "
    "(or set JAVA_HOME), or connect to a cluster with --engine sc://HOST:15002"
)
# DuckDB table functions and functions Spark has no counterpart for: one clear error each.
_DUCKDB_ONLY = {
    "read_csv": "USE 'file.csv' AS t, then FROM t",
    "read_csv_auto": "USE 'file.csv' AS t, then FROM t",
    "read_parquet": "USE 'file.parquet' AS t, then FROM t",
    "read_json": "USE 'file.json' AS t, then FROM t",
    "read_json_auto": "USE 'file.json' AS t, then FROM t",
    "read_ndjson": "USE 'file.jsonl' AS t, then FROM t",
    "sqlite_scan": "USE 'file.db' AS db, then FROM db.table",
    "glob": "list the files with a glob in USE 'dir/*.csv'",
    "columns": "name the columns",
}
_EXPORT_OPTIONS = {
    "parquet": {"compression", "partition_by"},
    "csv": {"delimiter", "header", "quote", "escape", "nullstr", "compression", "partition_by"},
    "json": {"compression", "partition_by"},
}


def check_installed() -> None:
    """A ConfigError naming the extra when pyspark (with its Connect client) is not installed."""
    import importlib.util

    for module in ("pyspark", "grpc", "grpc_status", "google.rpc", "pandas", "zstandard"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise ConfigError(
                f"the Spark engine needs pyspark with its Connect client ({module} is not installed)",
                hint=INSTALL_HINT,
            )


def is_endpoint(text: str) -> bool:
    """True for a Spark Connect URL (sc://host:port)."""
    return text.lower().startswith("sc://")


class SparkResult(ArrowRows):
    """Rows of one Spark statement, already fetched as one Arrow table."""

    engine = "spark"

    def __init__(self, table: pa.Table, has_rows: bool) -> None:
        from noctra.output.arrow_types import sql_type_of

        super().__init__([Column(f.name, sql_type_of(f.type), f.nullable) for f in table.schema], table)
        self._has_rows = has_rows

    @property
    def has_rows(self) -> bool:
        return self._has_rows


class SparkExportReport(ExportReport):
    """What a Spark export wrote: always a directory of part files."""

    def describe(self) -> str:
        from noctra.output.render import format_size

        rows = f"{self.rows:,} row{'s' if self.rows != 1 else ''}"
        parts = f"{len(self.paths)} part file{'s' if len(self.paths) != 1 else ''}"
        size = f", {format_size(self.bytes)}" if self.paths else ""
        return (
            f"exported {rows} to {self.target}/ ({parts}{size}, written by Spark) in {self.seconds:.2f} s; "
            f"USE {quote_string(self.target)} reads it back"
        )


class SparkEngine:
    """Apache Spark behind the Engine protocol, through a Spark Connect session.

    ``local`` is the session's DuckDB engine: it sniffs CSV sources (so Spark reads
    them with Noctra's schema), reads SQLite tables to ship them, and writes results
    as csv/json with the same serializer as DuckDB's own.
    """

    name = "spark"
    dialect = "spark"
    capabilities = frozenset({STREAM_COPY, ATTACH_SQLITE, PROGRESS})

    def __init__(self, remote: str | None, *, local: Engine, sqlite_max_rows: int = 1_000_000) -> None:
        check_installed()
        from importlib.metadata import version

        self.version = version("pyspark")
        self.remote = remote or LOCAL
        self.local = local
        self.sqlite_max_rows = sqlite_max_rows
        self.busy = False
        self.interrupted = False
        self.endpoint: str | None = None if self.remote.startswith("local") else self.remote
        self._session: Any = None
        self._lock = threading.Lock()
        self._work: str | None = None  # a local server's logs and scratch space
        self._views: dict[str, Source] = {}  # file sources, by lower-cased alias
        self._sqlite: dict[str, Source] = {}  # SQLite sources, by lower-cased alias
        self._shipped: dict[tuple[str, str], tuple[object, str]] = {}  # (alias, table) -> (version, view)
        self._files: dict[str, str] = {}  # a file quoted in FROM -> its view
        self._current_sqlite: str | None = None
        self._progress: float | None = None  # from Spark Connect's progress handler

    # --- the Spark session ------------------------------------------------------------

    @property
    def spark(self) -> Any:
        """The Spark Connect session, started (and the local server with it) on first use."""
        with self._lock:
            if self._session is None:
                self._session = self._connect()
            return self._session

    def _connect(self) -> Any:
        import warnings

        with warnings.catch_warnings():
            # pyspark warns about pandas versions it has not tested; Noctra passes Arrow.
            warnings.simplefilter("ignore")
            try:
                from pyspark.sql.connect.session import SparkSession
            except ImportError as exc:
                raise ConfigError(f"cannot load pyspark's Connect client: {exc}", hint=INSTALL_HINT) from exc
        _quiet_loggers()
        url = self.endpoint
        if url is None:
            url = self._start_local_server(SparkSession)
        try:
            session = SparkSession.builder.remote(url).create()
        except Exception as exc:
            raise ConfigError(
                f"bad Spark Connect endpoint {url!r}: {_first_line(exc)}",
                hint="write sc://HOST:PORT (Spark Connect listens on 15002 by default)",
            ) from exc
        client = session.client
        policies = client.get_retry_policies()
        client.set_retry_policies([])  # an unreachable endpoint fails now, not after minutes of retries
        try:
            session.version  # noqa: B018 - one round trip: is the server there?
        except Exception as exc:
            with contextlib.suppress(Exception):
                session.stop()
            raise ConfigError(
                f"cannot reach Spark Connect at {url}: {_grpc_reason(exc)}",
                hint="check the host and port (Spark Connect listens on 15002), "
                "or use --engine spark for a local server",
            ) from exc
        client.set_retry_policies(policies)
        session.registerProgressHandler(self._on_progress)  # type: ignore[arg-type]
        self.endpoint = url
        return session

    def _on_progress(self, stages: Any, inflight_tasks: int, operation_id: str | None, done: bool) -> None:
        """Spark Connect's progress report: the share of the statement's tasks completed so far."""
        total = completed = 0
        for stage in stages or ():
            total += stage.num_tasks
            completed += stage.num_completed_tasks
        self._progress = None if done or not total else completed / total

    def _start_local_server(self, session_type: Any) -> str:
        self._work = tempfile.mkdtemp(prefix="noctra-spark-")
        return start_local_server(self.remote, self._work, session_type)

    @contextlib.contextmanager
    def _calling(self, *, busy: bool = True) -> Iterator[None]:
        """Turn pyspark's errors into NoctraErrors; mark the engine busy while Spark works."""
        from pyspark.errors import PySparkException

        if busy and self.interrupted:
            # Cancelled while the server started (--timeout): the statement never begins.
            raise CancelledQueryError("query cancelled")
        self.busy = busy
        self._progress = None
        try:
            yield
        except PySparkException as exc:
            raise self._error(exc) from exc
        finally:
            self.busy = False

    def _error(self, exc: Exception) -> Exception:
        text = _first_line(exc)
        if self.interrupted or "OPERATION_CANCELED" in text:
            return CancelledQueryError("query cancelled")
        if "StatusCode.UNAVAILABLE" in str(exc) or "failed to connect" in str(exc):
            return ConfigError(
                f"lost the Spark Connect server at {self.endpoint}: {_grpc_reason(exc)}",
                hint="check that the server runs (a local one stops when Noctra exits)",
            )
        if "UNRESOLVED_ROUTINE" in text:
            text = text.split(" on search path", 1)[0]
            return QueryError(
                f"Spark does not know this function: {text}",
                hint="it has no Spark translation from DuckDB's dialect (see docs/SPARK.md); "
                "write Spark's function, or SET engine = duckdb",
            )
        return QueryError(text)

    # --- statements -------------------------------------------------------------------

    def run(self, sql: str, params: Params = None) -> SparkResult:
        """Run one statement on Spark; its rows come back as one Arrow table."""
        spark = self._begin()
        tree, kind = self._parse(sql)
        spark_sql, args = self._translate(tree, params)
        with self._calling():
            frame = spark.sql(spark_sql, args=args) if args else spark.sql(spark_sql)
            table = frame.toArrow()
        return SparkResult(table, has_rows=kind == "SELECT" or table.num_columns > 0)

    @property
    def _is_local_server(self) -> bool:
        """True when Spark runs on this machine (it then reads and writes Noctra's own files)."""
        if self._work is not None:
            return True
        host = (self.endpoint or "").removeprefix("sc://").split("/", 1)[0].rsplit(":", 1)[0]
        return host.strip("[]") in ("localhost", "127.0.0.1", "::1")

    def _begin(self) -> Any:
        """The Spark session for a new statement (started first if need be), not cancelled yet."""
        self.interrupted = False
        return self.spark

    def execute(self, sql: str, params: Params = None) -> None:
        self.run(sql, params).close()

    def statement_kind(self, sql: str) -> str:
        return self._parse(sql)[1]

    def _parse(self, sql: str) -> tuple[exp.Expr, str]:
        import sqlglot
        from sqlglot import exp

        try:
            trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
        except sqlglot.errors.SqlglotError as exc:
            raise QueryError(f"cannot read this statement for Spark: {_first_line(exc)}") from exc
        if len(trees) != 1:
            raise QueryError("expected one statement", hint="separate statements with ';'")
        tree = trees[0]
        if isinstance(tree, exp.Query):
            return tree, "SELECT"
        if isinstance(tree, exp.Command):
            return tree, str(tree.this).upper()
        names = {exp.Create: "CREATE", exp.Drop: "DROP", exp.Insert: "INSERT", exp.Describe: "DESCRIBE"}
        for node_type, kind in names.items():
            if isinstance(tree, node_type):
                return tree, kind
        return tree, type(tree).__name__.upper()

    def _translate(self, tree: exp.Expr, params: Params) -> tuple[str, Any]:
        """DuckDB's dialect -> Spark SQL, with files, SQLite tables and parameters resolved."""
        import sqlglot
        from sqlglot import exp

        args: Any = None
        if isinstance(params, Mapping):
            args = {str(k).lower(): _spark_value(v) for k, v in params.items()}
        positional = list(params) if params is not None and not isinstance(params, Mapping) else None
        placeholders: list[object] = []
        for node in list(tree.walk()):
            if isinstance(node, exp.Table):
                self._resolve_table(node)
            elif isinstance(node, exp.Placeholder) and positional is not None:
                key = node.name
                index = int(key) - 1 if key.isdigit() else len(placeholders)
                if not 0 <= index < len(positional):
                    raise QueryError(f"no value for parameter ${key or len(placeholders) + 1}")
                placeholders.append(_spark_value(positional[index]))
                node.replace(exp.Placeholder())
            elif isinstance(node, exp.Func) and _function_name(node) in _DUCKDB_ONLY:
                raise QueryError(
                    f"{_function_name(node)}() is DuckDB's and has no Spark translation",
                    hint=_DUCKDB_ONLY[_function_name(node)],
                )
            elif isinstance(node, exp.DayOfWeek):
                # DuckDB counts Sunday as 0, Spark as 1.
                shifted = exp.Paren(this=exp.Sub(this=node.copy(), expression=exp.Literal.number(1)))
                node.replace(shifted)
        if positional is not None:
            args = placeholders
        try:
            text = tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
        except sqlglot.errors.UnsupportedError as exc:
            raise QueryError(
                f"this statement does not translate to Spark SQL: {_first_line(exc)}",
                hint="rewrite that part (docs/SPARK.md lists what translates), or SET engine = duckdb",
            ) from exc
        return text, args

    def _resolve_table(self, node: exp.Table) -> None:
        """A quoted file, a SQLite table or a DuckDB table function in FROM, made a Spark view."""
        from sqlglot import exp

        target = node.this
        if isinstance(target, exp.Literal) and target.is_string:
            node.set("this", exp.to_identifier(self._file_view(target.this)))
            return
        if isinstance(target, exp.GenerateSeries):
            _spark_range(node, target)
            return
        if isinstance(target, exp.Func) and _function_name(target) in _DUCKDB_ONLY:
            raise QueryError(
                f"{_function_name(target)}() is DuckDB's and has no Spark translation",
                hint=_DUCKDB_ONLY[_function_name(target)],
            )
        if not isinstance(target, exp.Identifier):
            return
        if not node.args.get("db") and _names_a_file(node.name) and node.name.lower() not in self._views:
            # DuckDB's ``FROM 'x.csv'``: sqlglot reads the quoted path as a quoted name.
            node.set("this", exp.to_identifier(self._file_view(node.name)))
            return
        qualifier = node.args.get("catalog") or node.args.get("db")
        alias = qualifier.name.lower() if qualifier is not None else None
        current = self._current_sqlite
        if (
            alias is None
            and current is not None
            and node.name.lower() not in self._views
            and node.name.lower() in self._sqlite_tables(current)
        ):
            alias = current
        if alias is None or alias not in self._sqlite:
            return
        view = self._ship(self._sqlite[alias], node.name)
        node.set("catalog", None)
        node.set("db", None)
        node.set("this", exp.to_identifier(view))
        if not node.alias:
            node.set("alias", exp.TableAlias(this=exp.to_identifier(node.name)))

    def _sqlite_tables(self, alias: str) -> set[str]:
        return {t.name.lower() for t in self.local.tables(self._sqlite[alias].alias)}

    def _ship(self, source: Source, table: str) -> str:
        """A SQLite table read locally and sent to Spark as Arrow (again only when the file changed)."""
        from noctra.engine.sources import signature_of

        key = (source.alias.lower(), table.lower())
        version = signature_of(source.location)
        known = self._shipped.get(key)
        if known is not None and known[0] == version:
            return known[1]
        limit = self.sqlite_max_rows
        relation = f"{quote_ident(source.alias)}.{quote_ident(table)}"
        rows = self.local.run(f"SELECT * FROM {relation} LIMIT {int(limit) + 1}")
        data = rows.arrow_table()
        if data.num_rows > limit:
            raise SourceError(
                f"{source.alias}.{table} has more than {limit:,} rows: too many to ship to Spark",
                hint="raise [spark] sqlite_max_rows in config.toml, or EXPORT it to Parquet "
                "where Spark can read it and USE that",
            )
        view = f"__noctra_sqlite_{source.alias}_{table}".lower()
        with self._calling():
            self.spark.createDataFrame(data).createOrReplaceTempView(view)
        self._shipped[key] = (version, view)
        return view

    def _file_view(self, path: str) -> str:
        """``FROM 'x.parquet'``: the file registered as a Spark view once per session."""
        from pathlib import Path

        from noctra.engine.sources import detect, resolve_location, signature_of

        view = self._files.get(path)
        if view is None:
            view = f"__noctra_file_{len(self._files) + 1}"
            location = resolve_location(path, Path.cwd())
            kind, pattern = detect(path, location, {})
            source = Source(
                alias=view,
                path=path,
                location=location,
                kind=kind,
                signature=signature_of(location),
                read_pattern=pattern,
            )
            if kind not in (SourceKind.CSV, SourceKind.PARQUET, SourceKind.JSON):
                raise SourceError(f"the Spark engine cannot read {kind.value} files ({path})")
            self._create_view(source, self.local.inspect(source))
            self._files[path] = view
        return view

    def describe(self, relation_sql: str, params: Params = None) -> list[Column]:
        """Columns of a relation, from Spark's analysis of ``SELECT * FROM relation``."""
        from noctra.output.arrow_types import sql_type_of

        self._begin()
        tree, _ = self._parse(f"SELECT * FROM {relation_sql}")
        spark_sql, args = self._translate(tree, params)
        with self._calling():
            frame = self.spark.sql(spark_sql, args=args) if args else self.spark.sql(spark_sql)
            schema = frame.limit(0).toArrow().schema
        return [Column(f.name, sql_type_of(f.type), f.nullable) for f in schema]

    def read_set(self, sql: str) -> ReadSet | None:
        return None  # no stored results on Spark: its files may live on the cluster

    def settings_digest(self) -> str:
        return ""

    def table_references(self, sql: str) -> list[TableRef] | None:
        return None  # the planner asks sqlglot

    def copy_to(self, sql: str, target: str, fmt: str, params: Params = None) -> int:
        """csv/json bytes of a Spark query, written by DuckDB's serializer from its Arrow rows."""
        return self.local.copy_result(self.run(sql, params), target, fmt)

    def copy_result(self, result: EngineResult, target: str, fmt: str) -> int:
        return self.local.copy_result(result, target, fmt)

    def export(
        self,
        sql: str,
        params: Params,
        *,
        target: str,
        fmt: str,
        options: dict[str, object],
        ordered: bool,
    ) -> ExportReport:
        """EXPORT with Spark's writers: a directory of part files at target (replaced whole)."""
        allowed = _EXPORT_OPTIONS.get(fmt)
        if allowed is None:
            raise OptionError(
                f"the Spark engine cannot export {fmt.upper()}", hint="use PARQUET, CSV or JSON"
            )
        for name in options:
            if name.lower() not in allowed:
                raise OptionError(
                    f"option {name!r} is not available for {fmt.upper()} exports on Spark",
                    hint=f"valid: {', '.join(sorted(allowed))}",
                )
        start = time.perf_counter()
        spark = self._begin()
        tree, _ = self._parse(sql)
        spark_sql, args = self._translate(tree, params)
        # A local server writes where Noctra runs: there the parts replace the target at once.
        # A cluster writes on its own file systems, in place.
        is_local = self._is_local_server and "://" not in target
        location = os.path.abspath(os.path.expanduser(target)) if is_local else target
        written_to = f"{location}.noctra-{os.getpid()}.tmp" if is_local else location
        with self._calling():
            frame = spark.sql(spark_sql, args=args) if args else spark.sql(spark_sql)
            if ordered:
                frame = frame.coalesce(1)  # one part file keeps the ORDER BY's order
            writer = frame.write.mode("overwrite").format(fmt)
            writer = _writer_options(writer, fmt, options)
            writer.save(written_to)
            rows = int(spark.read.format("parquet" if fmt == "parquet" else fmt).load(written_to).count())
        paths: list[str] = []
        size = 0
        if is_local:
            _replace(written_to, location)
            for folder, _, names in os.walk(location):
                for name in names:
                    path = os.path.join(folder, name)
                    if name.startswith((".", "_")):
                        os.remove(path)  # checksums and markers: `USE 'dir'` reads the parts only
                        continue
                    paths.append(path)
                    size += os.path.getsize(path)
        return SparkExportReport(
            rows=rows,
            bytes=size,
            paths=tuple(sorted(paths)),
            seconds=time.perf_counter() - start,
            target=target,
        )

    def cancel(self) -> None:
        """Interrupt every operation of this Spark session (from any thread)."""
        self.interrupted = True
        session = self._session
        if session is not None and self.busy:
            with contextlib.suppress(Exception):
                session.interruptAll()

    def progress(self) -> float | None:
        """Completed tasks / tasks of the running statement's stages, as Spark Connect reports them."""
        return self._progress if self.busy else None

    def enable_progress(self) -> None:
        """Spark Connect reports progress to every session: nothing to switch on."""

    # --- sources ------------------------------------------------------------------------

    def register(
        self, source: Source, *, replacing: Source | None = None, reuse_reader: bool = False
    ) -> Registration:
        """A file source becomes a Spark temporary view; a SQLite source is shipped table by table."""
        key = source.alias.lower()
        if source.kind is SourceKind.SQLITE:
            registration = self.local.register(source, replacing=replacing, reuse_reader=reuse_reader)
            self._views.pop(key, None)
            self._sqlite[key] = source
            self._shipped = {k: v for k, v in self._shipped.items() if k[0] != key}
            return registration
        if source.kind not in (SourceKind.CSV, SourceKind.PARQUET, SourceKind.JSON):
            raise SourceError(
                f"the Spark engine cannot read {source.kind.value} sources ({source.path})",
                hint="Spark reads CSV, Parquet, JSON and SQLite tables; SET engine = duckdb for the rest",
            )
        if reuse_reader and source.reader and source.schema:
            found = Registration(columns=source.schema, reader=source.reader, dialect=dict(source.dialect))
        else:
            found = self.local.inspect(source)
        columns = self._create_view(source, found)
        self._sqlite.pop(key, None)
        self._views[key] = source
        return Registration(columns=columns, reader=found.reader, dialect=found.dialect)

    def _create_view(self, source: Source, found: Registration) -> tuple[Column, ...]:
        from noctra.output.arrow_types import sql_type_of

        path = source.location
        if not is_remote(path) and not os.path.isdir(path) and source.read_pattern:
            path = source.read_pattern
        spark = self.spark
        with self._calling():
            reader = spark.read
            if source.kind is SourceKind.CSV:
                reader = reader.schema(_spark_schema(found.columns))
                for name, value in _csv_options(found.dialect, source.options).items():
                    reader = reader.option(name, value)
                frame = reader.csv(path)
            elif source.kind is SourceKind.PARQUET:
                frame = reader.parquet(path)
            else:
                if found.columns:
                    # DuckDB's reading (timestamps, nested types), not Spark's inference (strings).
                    reader = reader.schema(_spark_schema(found.columns))
                frame = reader.option("multiLine", _is_json_array(path)).json(path)
            frame.createOrReplaceTempView(source.alias)
            schema = frame.limit(0).toArrow().schema
        return tuple(Column(f.name, sql_type_of(f.type), f.nullable) for f in schema)

    def unregister(self, source: Source) -> None:
        key = source.alias.lower()
        if self._sqlite.pop(key, None) is not None:
            self.local.unregister(source)
            if self._current_sqlite == key:
                self._current_sqlite = None
            return
        if self._views.pop(key, None) is not None and self._session is not None:
            with self._calling(busy=False):
                self._session.catalog.dropTempView(source.alias)

    def inspect(self, source: Source) -> Registration:
        """What registering would learn: Noctra's own sniff (the schema Spark is given)."""
        return self.local.inspect(source)

    def quoted_file_reader(self, path: str, kind: SourceKind) -> str | None:
        return None  # a quoted file becomes a Spark view when a statement names it

    def tables(self, alias: str) -> list[TableInfo]:
        """A SQLite source's tables (read locally), or 'memory': the tables made on Spark."""
        key = alias.lower()
        if key in self._sqlite:
            return self.local.tables(self._sqlite[key].alias)
        if key != "memory" or self._session is None:
            return []
        with self._calling(busy=False):
            listed = self._session.catalog.listTables()
            infos = []
            for table in listed:
                if table.isTemporary and (table.name.startswith("__noctra_") or table.name in self._views):
                    continue
                count = len(self._session.catalog.listColumns(table.name))
                infos.append(TableInfo(table.name, "view" if table.isTemporary else "table", count))
        return infos

    def use_catalog(self, alias: str | None) -> None:
        """A current SQLite source lends its table names to bare names in statements."""
        self._current_sqlite = alias.lower() if alias and alias.lower() in self._sqlite else None

    def set_home(self, alias: str) -> None:
        raise ConfigError(
            "--db is not available with the Spark engine", hint="new tables live in Spark's own catalog"
        )

    # --- settings: spark.* go to Spark, the rest to the local DuckDB ---------------------

    def set_option(self, name: str, literal: str) -> None:
        if not name.lower().startswith("spark."):
            self.local.set_option(name, literal)
            return
        with self._calling(busy=False):
            self.spark.conf.set(name, literal.strip().strip("'\""))

    def get_option(self, name: str) -> object:
        if not name.lower().startswith("spark."):
            return self.local.get_option(name)
        with self._calling(busy=False):
            return self.spark.conf.get(name, None)

    def reset_option(self, name: str) -> None:
        if not name.lower().startswith("spark."):
            self.local.reset_option(name)
            return
        with self._calling(busy=False):
            self.spark.conf.unset(name)

    def set_threads(self, threads: int, *, force: bool = False) -> None:
        self.local.set_threads(threads, force=force)

    def set_credentials(self, kind: str, options: Mapping[str, str | bool]) -> None:
        """Remote storage is read by the cluster with its own credentials; DuckDB keeps these."""
        self.local.set_credentials(kind, options)

    @property
    def secret_values(self) -> list[str]:
        return self.local.secret_values

    # --- state --------------------------------------------------------------------------

    def status(self) -> EngineStatus:
        return EngineStatus(engine=self.name, endpoint=self.endpoint or f"{self.remote}, not started")

    def functions(self) -> list[str]:
        """Spark's function names, once a Spark session is open (completion never starts one)."""
        if self._session is None:
            return []
        with self._calling(busy=False):
            rows = self._session.sql("SHOW FUNCTIONS").toArrow().column(0).to_pylist()
        return sorted({str(name) for name in rows if str(name).isidentifier()})

    def extensions(self) -> list[tuple[str, str | None, str]]:
        return []

    def close(self) -> None:
        """Stop the Spark session; a local server stops with it."""
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(Exception):
                session.stop()
        if self._work is not None:
            stop_local_server()
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None


def start_local_server(master: str, work: str, session_type: Any = None) -> str:
    """Start a Spark Connect server in a local JVM (``master`` e.g. local[*]) on a free port.

    Its logs go to ``work``/spark.log, its scratch files under ``work``; it stops when
    this process ends (the JVM exits when its stdin closes). Returns its sc:// URL.
    """
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not os.path.exists(java):
        raise ConfigError("Java is not installed: the local Spark server cannot start", hint=JAVA_HINT)
    if session_type is None:
        import warnings

        _quiet_loggers()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pyspark.sql.connect.session import SparkSession as session_type
    log = os.path.join(work, "spark.log")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    options = {
        "spark.connect.grpc.binding.port": str(port),
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": os.path.join(work, "warehouse"),
        "spark.local.dir": work,
        # Part files without _SUCCESS markers: `USE 'dir'` reads an exported directory back.
        "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={work}",
    }
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    before = _children()
    try:
        with _output_to(log):
            session_type._start_connect_server(master, options)
    except BaseException as exc:
        # A JVM interrupted while it starts (Ctrl-C, --timeout) does not watch its stdin yet,
        # so it would outlive Noctra: it is stopped here.
        for pid in _children() - before:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if not isinstance(exc, Exception):
            raise
        raise ConfigError(
            f"the local Spark server did not start: {_first_line(exc)}",
            hint=f"its log is {log}; {JAVA_HINT}",
        ) from exc
    return f"sc://localhost:{port}"


def _children() -> set[int]:
    """Process ids of this process's children (Linux /proc; empty elsewhere)."""
    me = str(os.getpid())
    found = set()
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[1] == me:
                found.add(int(entry))
    return found


def stop_local_server() -> None:
    """Stop the local Spark server this process started, if any."""
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is not None:
        import warnings

        # A JVM stopped already (Ctrl-C while it started) makes pyspark warn on stderr
        # ("Unable to cleanly shutdown Spark JVM process"): the user's answer is "interrupted".
        with contextlib.suppress(Exception), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            context.stop()


@contextlib.contextmanager
def _output_to(path: str) -> Iterator[None]:
    """Send this process's stdout and stderr to a file meanwhile: the JVM started now keeps them."""
    saved = [os.dup(1), os.dup(2)]
    with open(path, "ab") as log:
        try:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("JVM stacktrace"):
            return line.removesuffix(".").split(" SQLSTATE:")[0].strip()
    return type(exc).__name__


def _grpc_reason(exc: BaseException) -> str:
    text = str(exc)
    marker = 'details = "'
    if marker in text:
        return text.split(marker, 1)[1].split('"', 1)[0]
    return _first_line(exc)


def _function_name(node: exp.Func) -> str:
    from sqlglot import exp

    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def _spark_range(node: exp.Table, series: exp.GenerateSeries) -> None:
    """DuckDB's ``FROM range(a, b)`` / ``generate_series(a, b)`` as Spark's range(), same column name."""
    from sqlglot import exp

    exclusive = bool(series.args.get("is_end_exclusive"))
    start = series.args.get("start") or exp.Literal.number(0)
    end = series.args.get("end")
    if end is None:
        start, end = exp.Literal.number(0), start
    if not exclusive:
        end = exp.Add(this=end.copy(), expression=exp.Literal.number(1))
    step = series.args.get("step")
    args = [start.copy(), end, *([step.copy()] if step is not None else [])]
    alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier("range"))
    if not alias.columns:
        alias.set("columns", [exp.to_identifier("range" if exclusive else "generate_series")])
    node.set("this", exp.Anonymous(this="range", expressions=args))
    node.set("alias", alias)


def _names_a_file(name: str) -> bool:
    from noctra.engine.sources import is_glob, kind_from_name

    return kind_from_name(name) is not None or is_glob(name) or "://" in name


def _quiet_loggers() -> None:
    """pyspark logs each failed query as JSON on stderr; Noctra reports it once, its own way."""
    import logging

    for name in ("pyspark", "SQLQueryContextLogger", "py4j"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _spark_value(value: object) -> object:
    """A parameter value as Spark takes it (Python literals)."""
    return value


def _spark_schema(columns: Sequence[Column]) -> str:
    """A DDL schema string for Spark's CSV reader from the columns Noctra sniffed."""
    import sqlglot
    from sqlglot import exp

    parts = []
    for column in columns:
        try:
            spark_type = exp.DataType.build(column.type, dialect="duckdb").sql("spark")
        except sqlglot.errors.SqlglotError:
            spark_type = "STRING"
        name = column.name.replace("`", "``")
        parts.append(f"`{name}` {spark_type}")
    return ", ".join(parts)


def _csv_options(dialect: Mapping[str, str], options: Mapping[str, object]) -> dict[str, str]:
    found = {
        "header": dialect.get("header", "true"),
        "sep": dialect.get("delimiter", ","),
        "quote": dialect.get("quote") or '"',
        "escape": dialect.get("escape") or dialect.get("quote") or '"',
        "mode": "PERMISSIVE",
    }
    if dialect.get("dateformat"):
        found["dateFormat"] = _java_format(dialect["dateformat"])
    if "nullstr" in options:
        found["nullValue"] = str(options["nullstr"])
    if "encoding" in options:
        found["encoding"] = str(options["encoding"])
    return found


def _java_format(strftime: str) -> str:
    """%d/%m/%Y -> dd/MM/yyyy (the date formats DuckDB's sniffer reports)."""
    mapping = {"%Y": "yyyy", "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm", "%S": "ss", "%y": "yy"}
    for key, value in mapping.items():
        strftime = strftime.replace(key, value)
    return strftime


def _is_json_array(path: str) -> bool:
    """True when a local JSON file holds one array (Spark's multiLine), not one object per line."""
    if is_remote(path) or os.path.isdir(path) or any(c in path for c in "*?["):
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(4096).lstrip().startswith(b"[")
    except OSError:
        return False


def _writer_options(writer: Any, fmt: str, options: Mapping[str, object]) -> Any:
    values = {str(k).lower(): v for k, v in options.items()}
    if fmt == "parquet":
        writer = writer.option("compression", str(values.get("compression", "zstd")))
    elif "compression" in values:
        writer = writer.option("compression", str(values["compression"]))
    if fmt == "csv":
        writer = writer.option("header", str(values.get("header", True)).lower())
        names = {"delimiter": "sep", "quote": "quote", "escape": "escape", "nullstr": "nullValue"}
        for ours, theirs in names.items():
            if ours in values:
                writer = writer.option(theirs, str(values[ours]))
    if "partition_by" in values:
        columns = values["partition_by"]
        parts = [str(c) for c in columns] if isinstance(columns, list | tuple) else [str(columns)]
        writer = writer.partitionBy(*parts)
    return writer


def _replace(written: str, target: str) -> None:
    """Put a finished export in place of whatever was at target."""
    try:
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        elif os.path.lexists(target):
            os.remove(target)
        os.replace(written, target)
    except OSError as exc:
        shutil.rmtree(written, ignore_errors=True)
        raise ExportError(f"cannot write {target!r}: {exc.strerror or exc}") from exc
