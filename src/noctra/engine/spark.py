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
import re
import shutil
import signal
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

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
from noctra.engine.export import (
    ExportReport,
    cleaned_up,
    earlier_files,
    remove_output,
    stale_temps,
    swap_in,
    temp_name,
    writes_tsv,
)
from noctra.engine.sources import Source, SourceKind, is_remote
from noctra.errors import CancelledQueryError, ConfigError, ExportError, OptionError, QueryError, SourceError
from noctra.output.model import ArrowRows
from noctra.quoting import quote_ident, quote_string
from noctra.records import record

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
    "parquet": {"compression", "partition_by", "overwrite"},
    "csv": {"delimiter", "header", "quote", "escape", "nullstr", "compression", "partition_by", "overwrite"},
    "json": {"compression", "partition_by", "overwrite"},
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
    """What a Spark export wrote: always a directory of part files (on a cluster: no paths)."""

    def describe(self) -> str:
        from noctra.output.render import format_size

        rows = f"{self.rows:,} row{'s' if self.rows != 1 else ''}"
        if self.paths:
            parts = f"{len(self.paths)} part file{'s' if len(self.paths) != 1 else ''}"
            written = f"{parts}, {format_size(self.bytes)}, written by Spark"
        else:
            written = "written by Spark on the cluster"
        folder = self.target if self.target.endswith("/") else f"{self.target}/"
        return (
            f"exported {rows} to {folder} ({written}) in {self.seconds:.2f} s; "
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
        self._cancelling = False  # a thread sends interruptAll until the statement ends

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
        if "PARSE_SYNTAX_ERROR" in text:
            # DuckDB's syntax that sqlglot passed through as it was (ASOF JOIN, PIVOT, list
            # comprehensions, SUMMARIZE): Spark's parser names SQL the user never wrote (R9-S10).
            reason = re.sub(r"^\[PARSE_SYNTAX_ERROR\]\s*", "", text)
            return QueryError(
                f"this statement does not translate to Spark SQL: Spark's parser stopped at {reason}",
                hint="it uses DuckDB syntax Spark has no form of (see docs/SPARK.md); "
                "write it in Spark's SQL, or SET engine = duckdb",
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
        if self._work is not None or self.remote.startswith("local"):
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
        stream: Callable[[], EngineResult] | None = None,
    ) -> ExportReport:
        """EXPORT with Spark's writers: a directory of part files at target.

        On a Spark server of this machine the parts are written into a hidden directory
        beside the target and put in place once complete; only an earlier Spark export
        (or a file) at the target is replaced, never a directory holding anything else.
        A cluster writes on its own file systems, to a path that must not exist yet.
        """
        if stream is not None:  # rows made elsewhere: DuckDB writes them
            return self.local.export(
                sql, params, target=target, fmt=fmt, options=options, ordered=True, stream=stream
            )
        allowed = _EXPORT_OPTIONS.get(fmt)
        if allowed is None:
            raise OptionError(
                f"the Spark engine cannot export {fmt.upper()}", hint="use PARQUET, CSV or JSON"
            )
        values: dict[str, object] = {}
        for name, value in options.items():
            if name.lower() not in allowed:
                raise OptionError(
                    f"option {name!r} is not available for {fmt.upper()} exports on Spark",
                    hint=f"valid: {', '.join(sorted(allowed))}",
                )
            values[name.lower()] = value
        overwrite = values.pop("overwrite", None)
        if overwrite is not None and not isinstance(overwrite, bool):
            raise OptionError(
                f"{fmt.upper()} export option 'overwrite' must be true or false, not {overwrite!r}",
                hint="write OPTIONS (overwrite = true)",
            )
        lowered = target.lower().rstrip("/")
        if fmt == "csv" and writes_tsv(target):
            values.setdefault("delimiter", "\t")  # as DuckDB writes a .tsv
        if fmt in ("csv", "json") and lowered.endswith(".gz"):
            values.setdefault("compression", "gzip")
        start = time.perf_counter()
        # A Spark server of this machine writes where Noctra runs: Noctra checks the target
        # and puts the parts in place. A cluster writes on its own file systems, in place.
        if not self._is_local_server or "://" in target:
            rows = self._write_in_place(sql, params, target=target, fmt=fmt, options=values, ordered=ordered)
            return SparkExportReport(
                rows=rows, bytes=0, paths=(), seconds=time.perf_counter() - start, target=target
            )
        place = _place(target, fmt, overwrite=overwrite)
        _remove_stale_staging(place.path.parent, place.path.name)
        spark = self._begin()
        tree, _ = self._parse(sql)
        spark_sql, args = self._translate(tree, params)
        old: Path | None = None
        earlier: list[Path] = []
        with cleaned_up(lambda: _remove_staging(place.staging), target, place.path):
            with self._calling():
                frame = spark.sql(spark_sql, args=args) if args else spark.sql(spark_sql)
                rows = self._write(frame, str(place.staging), fmt=fmt, options=values, ordered=ordered)
            written = _tidy_parts(place.staging)
            if place.fill:
                for entry in sorted(place.staging.iterdir()):
                    os.rename(entry, place.path / entry.name)
                place.staging.rmdir()
            else:
                # Checked again: what is there may have changed while Spark wrote.
                earlier = _place(target, fmt, overwrite=overwrite).earlier
                old = swap_in(place.staging, place.path)
        if old is not None:
            # The earlier output, renamed aside: its vetted files go (a file: itself).
            if old.is_dir():
                remove_output(old, earlier)
            else:
                old.unlink(missing_ok=True)
        paths = tuple(sorted(str(place.path / relative) for relative in written))
        return SparkExportReport(
            rows=rows,
            bytes=sum(os.path.getsize(p) for p in paths),
            paths=paths,
            seconds=time.perf_counter() - start,
            target=target,
        )

    def _write_in_place(
        self, sql: str, params: Params, *, target: str, fmt: str, options: Mapping[str, object], ordered: bool
    ) -> int:
        """A cluster's export: Spark writes target itself, which must not exist yet.

        Noctra cannot see the cluster's file systems, so it cannot check that an existing
        path holds only an earlier export: Spark's overwrite would delete whatever is there.
        """
        spark = self._begin()
        tree, _ = self._parse(sql)
        spark_sql, args = self._translate(tree, params)
        try:
            with self._calling():
                frame = spark.sql(spark_sql, args=args) if args else spark.sql(spark_sql)
                return self._write(frame, target, fmt=fmt, options=options, ordered=ordered)
        except QueryError as exc:
            if "PATH_ALREADY_EXISTS" not in exc.message:
                raise
            raise ExportError(
                f"cannot export to {target!r}: it exists already, and Spark writes it on the cluster, "
                "where Noctra cannot check that it holds only an earlier export",
                hint="export to a new path, or delete the old one first (on the cluster)",
            ) from exc

    def _write(self, frame: Any, path: str, *, fmt: str, options: Mapping[str, object], ordered: bool) -> int:
        """Write frame's rows to path (which must not exist), returning how many were written.

        The count comes from the write itself (an observed metric); a server that does not
        report one has its parts read back with the options they were written with.
        """
        from pyspark.sql.connect.functions import count, lit
        from pyspark.sql.connect.observation import Observation

        if ordered:
            frame = frame.coalesce(1)  # one part file keeps the ORDER BY's order
        observed = Observation(f"noctra_export_{os.getpid()}_{time.monotonic_ns()}")
        frame = frame.observe(observed, count(lit(1)).alias("rows"))
        writer = _writer_options(frame.write.mode("error").format(fmt), fmt, options)
        if self.interrupted:  # cancelled while the query was analysed: nothing is written
            raise CancelledQueryError("query cancelled")
        writer.save(path)
        rows = observed.get.get("rows")
        if rows is not None:
            return int(rows)
        return int(_reader_options(self.spark.read.format(fmt), fmt, options).load(path).count())

    def cancel(self) -> None:
        """Interrupt every operation of this Spark session (from any thread).

        A statement makes several requests (an EXPORT: the query, then the write): one the
        server had not begun when interruptAll came would run on, so interruptAll is sent
        again, every half second, until the statement ends.
        """
        self.interrupted = True
        session = self._session
        if session is None or not self.busy:
            return
        with contextlib.suppress(Exception):
            session.interruptAll()
        with self._lock:
            if self._cancelling:
                return
            self._cancelling = True

        def again() -> None:
            try:
                while self.busy and self.interrupted and self._session is session:
                    time.sleep(0.5)
                    if self.busy and self.interrupted:
                        with contextlib.suppress(Exception):
                            session.interruptAll()
            finally:
                self._cancelling = False

        threading.Thread(target=again, name="noctra-spark-cancel", daemon=True).start()

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

    def attach_again(self, source: Source) -> None:
        self.local.attach_again(source)  # SQLite tables are read through the local DuckDB

    def before_sqlite_attach(self, hook: Callable[[Source], None]) -> None:
        self.local.before_sqlite_attach(hook)

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
        # A quoted field may hold line breaks, as DuckDB reads it: without this Spark splits
        # such a row in two (R9-S2).
        "multiLine": "true",
    }
    if dialect.get("dateformat"):
        found["dateFormat"] = _java_format(dialect["dateformat"])
    if "nullstr" in options:
        found["nullValue"] = str(options["nullstr"])
    if "encoding" in options:
        found["encoding"] = _java_charset(str(options["encoding"]))
    return found


def _java_charset(name: str) -> str:
    """An encoding as Python (and DuckDB) name it, as Java names it: latin-1 -> ISO-8859-1."""
    import codecs

    try:
        python = codecs.lookup(name).name  # latin-1, latin1, iso-8859-1 -> iso8859-1
    except LookupError:
        return name  # Spark names what it does not know
    if python.startswith("iso8859-"):
        return "ISO-8859-" + python.removeprefix("iso8859-")
    return python.upper()


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
    if fmt == "json":
        # Spark leaves NULL fields out by default: a column NULL in every row would vanish.
        writer = writer.option("ignoreNullFields", "false")
    if "partition_by" in values:
        columns = values["partition_by"]
        parts = [str(c) for c in columns] if isinstance(columns, list | tuple) else [str(columns)]
        writer = writer.partitionBy(*parts)
    return writer


def _reader_options(reader: Any, fmt: str, options: Mapping[str, object]) -> Any:
    """A reader of exported parts with the options they were written with (to count their rows)."""
    if fmt != "csv":
        return reader
    values = {str(k).lower(): v for k, v in options.items()}
    reader = reader.option("header", str(values.get("header", True)).lower()).option("multiLine", "true")
    names = {"delimiter": "sep", "quote": "quote", "escape": "escape"}
    for ours, theirs in names.items():
        if ours in values:
            reader = reader.option(theirs, str(values[ours]))
    return reader


@record(frozen=True)
class _Place:
    """Where a Spark export's parts go on this machine, and what is there now."""

    path: Path  # the directory of parts once done (a link followed)
    staging: Path  # the hidden directory Spark writes, beside it (or inside an empty one)
    fill: bool  # the target is an empty directory: the parts are moved into it
    earlier: list[Path]  # the files of an earlier export at path, relative to it


# Spark's part files (part-00000-<uuid>-c000.snappy.parquet, .csv.gz; .c000 when partitioned)
# and DuckDB's (data_0.parquet), of one format, with their checksums and markers.
_SPARK_PART = (
    r"part-[0-9]{5}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:_[0-9]{5})?[.-]c[0-9]{3}"
)


def _part_names(fmt: str) -> re.Pattern[str]:
    part = rf"(?:{_SPARK_PART}(?:\.[a-z0-9]+)?\.{fmt}(?:\.[a-z0-9]+)?|data_[0-9_]+\.{fmt}(?:\.gz|\.zst)?)"
    return re.compile(rf"{part}|\.{part}\.crc|_SUCCESS|\._SUCCESS\.crc")


def _place(target: str, fmt: str, *, overwrite: bool | None) -> _Place:
    """Check a local target: new, a file (replaced), an empty directory or an earlier export.

    An earlier export is replaced only with ``overwrite = true``, as DuckDB's directory
    exports: files named like its parts (``data_2023.parquet``) may be a user's own. A file
    is replaced unless ``overwrite = false``. Anything else is refused, naming what is
    there: an export never deletes what it did not write (docs/RQL_EXTENSIONS.md, Export).
    """
    path = Path(os.path.realpath(Path(os.path.expanduser(target)).absolute()))
    if not path.parent.is_dir():
        raise ExportError(
            f"cannot export to {target!r}: folder {str(path.parent)!r} does not exist",
            hint="create the folder first",
        )
    beside = path.with_name(temp_name(path.name))
    try:
        before = os.stat(path)
    except FileNotFoundError:
        return _Place(path, beside, fill=False, earlier=[])
    except OSError as exc:
        raise ExportError(f"cannot export to {target!r}: {exc.strerror or exc}") from exc
    mode = before.st_mode
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        kind = "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file or directory"
        raise ExportError(
            f"cannot export to {target!r}: it is {kind}, and a Spark export writes a directory of part files",
            hint="export to a new path",
        )
    if stat.S_ISREG(mode) and before.st_nlink > 1:
        raise ExportError(
            f"cannot export to {target!r}: it has {before.st_nlink} hard links, and an export "
            "replaces the file (its other names would keep the old rows)",
            hint="export to a new name, or delete the file first",
        )
    earlier: list[Path] = []
    if stat.S_ISDIR(mode):
        _remove_stale_staging(path, None)
        earlier = _earlier_parts(path, fmt, target)
        if not any(path.iterdir()):
            return _Place(path, path / temp_name(""), fill=True, earlier=[])
    if overwrite is False:
        what = "an earlier export" if stat.S_ISDIR(mode) else "a file"
        raise ExportError(
            f"cannot export to {target!r}: it holds {what} and overwrite = false",
            hint="leave out overwrite = false to replace a file, or choose a new path",
        )
    if stat.S_ISDIR(mode) and overwrite is not True:
        raise ExportError(
            f"cannot export to {target!r}: it holds an earlier export ({len(earlier)} "
            f"file{'s' if len(earlier) != 1 else ''}, e.g. {str(earlier[0])!r})",
            hint="add OPTIONS (overwrite = true) to replace it, or choose a new path",
        )
    return _Place(path, beside, fill=False, earlier=earlier)


def _earlier_parts(directory: Path, fmt: str, target: str) -> list[Path]:
    """The files (relative) of an earlier export of this format in directory; refuses others.

    Only an export's layout counts: ``col=value/`` folders holding part files (Spark's,
    or DuckDB's data_N), their checksums and _SUCCESS markers.
    """
    return earlier_files(directory, _part_names(fmt), lambda relative: _refuse_foreign(target, relative, fmt))


def _refuse_foreign(target: str, relative: str, fmt: str) -> NoReturn:
    example = quote_string(os.path.join(target, f"out.{fmt}"))
    raise ExportError(
        f"cannot export to {target!r}: {relative!r} was not written by a {fmt.upper()} export, "
        "and a Spark export replaces the whole directory",
        hint=f"choose a new or empty directory, e.g. {example}: Spark writes a directory of part files there",
    )


def _remove_stale_staging(folder: Path, name: str | None) -> None:
    """Delete the temp directories that killed exports to ``name`` left in folder."""
    for path in stale_temps(folder, name, stat.S_ISDIR):
        shutil.rmtree(path, ignore_errors=True)


def _remove_staging(staging: Path) -> None:
    """Delete a failed or cancelled export's parts (its random name: nobody else wrote there)."""
    shutil.rmtree(staging, ignore_errors=True)


def _tidy_parts(staging: Path) -> list[Path]:
    """The part files Spark wrote (relative); its checksums and markers go: `USE 'dir'` reads parts."""
    parts: list[Path] = []
    for root, _, names in os.walk(staging):
        for name in names:
            path = Path(root) / name
            if name.startswith((".", "_")):
                path.unlink()
            else:
                parts.append(path.relative_to(staging))
    return parts
