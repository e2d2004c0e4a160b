"""Benchmark workloads: what Noctra runs against what raw DuckDB (or raw sqlite3) runs, and the §7 targets."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data import COUNTRIES, LOOKUP_ROWS, ORDERS_ROWS, SQLITE_ROWS, SqliteData
from measure import MB

PINNED_CSV = (
    "header = true, auto_detect = false, columns = {'id': 'BIGINT', 'category': 'VARCHAR', "
    "'amount': 'DOUBLE', 'day': 'DATE', 'note': 'VARCHAR'}"
)
AGGREGATE = "SELECT category, count(*), sum(amount), avg(amount) FROM {src} GROUP BY category"


@dataclass(frozen=True)
class Variant:
    """One way to set up the Noctra session; its target is judged on the median of the rest."""

    label: str
    engine_config: dict[str, Any] = field(default_factory=dict)  # EngineConfig overrides
    max_ms: float | None = None
    min_speedup: float | None = None  # raw median / Noctra median at least this
    target_text: str | None = None

    def target(self, raw_label: str) -> str:
        if self.target_text is not None:
            return self.target_text
        parts = []
        if self.max_ms is not None:
            parts.append(f"≤ {self.max_ms:g} ms")
        if self.min_speedup is not None:
            parts.append(f"{self.min_speedup:g}× faster than {raw_label}")
        return " and ".join(parts) if parts else "— (none in §7)"


@dataclass(frozen=True)
class SessionCase:
    use: str  # run once in the Noctra session before timing
    noctra_sql: str  # repeated in the session
    raw_sql: str  # repeated on one raw DuckDB connection
    raw_label: str
    variants: tuple[Variant, ...] = (Variant("defaults"),)
    # Optional raw DuckDB reference doing what Noctra's view should do (e.g. CSV columns
    # pinned, no sniff): the floor for uncached Noctra. Reported, not judged.
    floor_sql: str | None = None
    floor_label: str = ""


@dataclass(frozen=True)
class Workload:
    name: str
    noctra_sql: str  # given to `noctra query`
    raw_sql: str  # the same work for raw DuckDB in `python -c`
    max_ms: float | None = None  # whole process, Noctra median
    max_over_raw_ms: float | None = None  # whole process, median of pairwise differences
    session: SessionCase | None = None
    rows: int = 0  # rows expected back, checked in session runs
    raw_setup: tuple[str, ...] = ()  # run by raw DuckDB before raw_sql (LOAD, ATTACH)

    @property
    def target(self) -> str:
        parts = []
        if self.max_ms is not None:
            parts.append(f"< {self.max_ms:g} ms")
        if self.max_over_raw_ms is not None:
            parts.append(f"≤ {self.max_over_raw_ms:g} ms over raw")
        return " and ".join(parts) if parts else "—"

    def noctra_cmd(self, noctra: Path) -> list[str]:
        """The whole-process Noctra side: ``noctra query``."""
        return [str(noctra), "query", self.noctra_sql, "--format", "csv"]

    def raw_cmd(self) -> list[str]:
        """The whole-process raw side: the same work in ``python -c``."""
        setup = "".join(f"c.execute({stmt!r}); " for stmt in self.raw_setup)
        raw_code = f"import duckdb; c = duckdb.connect(); {setup}c.execute({self.raw_sql!r}).fetchall()"
        return [sys.executable, "-c", raw_code]


USERS_AGGREGATE = "SELECT country, count(*), sum(amount), avg(amount) FROM {users} GROUP BY country"
USERS_BY_REGION = (
    "SELECT c.region, count(*), sum(u.amount), avg(u.amount) "
    "FROM {users} u JOIN {countries} c ON c.code = u.country GROUP BY c.region"
)
ORDERS_JOIN = (
    "SELECT u.country, count(*), sum(o.total), avg(o.total) "
    "FROM {orders} o JOIN {users} u ON u.id = o.user_id GROUP BY u.country"
)
POINT_LOOKUP = "SELECT * FROM {users} WHERE id = {id}"


def attach_crm(db: Path) -> str:
    return f"ATTACH '{db}' AS crm (TYPE sqlite)"


def workloads(csv: Path, parquet: Path, lite: SqliteData) -> list[Workload]:
    csv_q, pq_q = f"'{csv}'", f"'{parquet}'"
    return [
        Workload(
            name=f"CSV {csv.stat().st_size / MB:.0f} MB aggregate",
            noctra_sql=AGGREGATE.format(src=csv_q),
            raw_sql=AGGREGATE.format(src=csv_q),
            max_ms=200,
            max_over_raw_ms=20,
            session=SessionCase(
                use=f"USE {csv_q} AS t",
                noctra_sql=AGGREGATE.format(src="t"),
                raw_sql=AGGREGATE.format(src=f"read_csv_auto({csv_q})"),
                raw_label="read_csv_auto",
                variants=(
                    Variant("defaults", max_ms=5, target_text="≤ 5 ms once cached"),
                    Variant(
                        "cache off",
                        engine_config={"materialize_after_queries": 10**9},
                        max_ms=17,
                        min_speedup=2,
                    ),
                ),
                floor_sql=AGGREGATE.format(src=f"read_csv({csv_q}, {PINNED_CSV})"),
                floor_label="read_csv, columns pinned",
            ),
            rows=20,
        ),
        Workload(
            name=f"Parquet {parquet.stat().st_size / MB:.0f} MB aggregate",
            noctra_sql=AGGREGATE.format(src=pq_q),
            raw_sql=AGGREGATE.format(src=pq_q),
            max_ms=300,
            max_over_raw_ms=20,
            session=SessionCase(
                use=f"USE {pq_q} AS t",
                noctra_sql=AGGREGATE.format(src="t"),
                raw_sql=AGGREGATE.format(src=f"read_parquet({pq_q})"),
                raw_label="read_parquet",
            ),
            rows=20,
        ),
        Workload(
            name=f"CSV × SQLite JOIN, {ORDERS_ROWS // 1000}K × {SQLITE_ROWS // 1000}K rows",
            noctra_sql=ORDERS_JOIN.format(orders=f"'{lite.orders_csv}'", users=f"'{lite.users_db}'::users"),
            raw_sql=ORDERS_JOIN.format(orders=f"read_csv_auto('{lite.orders_csv}')", users="crm.users"),
            raw_setup=(lite.load, attach_crm(lite.users_db)),
            max_ms=1000,
            max_over_raw_ms=20,
            rows=len(COUNTRIES),
        ),
        Workload(name="select 1", noctra_sql="select 1", raw_sql="select 1", max_ms=150, rows=1),
    ]


# `noctra repl` to its first prompt against `noctra query "select 1"` (both on a pty): run.py
# measures it apart, the REPL being timed until its prompt is drawn, not until it exits.
REPL_START = Workload(
    name="noctra repl to first prompt", noctra_sql="", raw_sql="", max_over_raw_ms=300, rows=0
)

# `noctra FILE` (the TUI) until its first screen is drawn, with the status bar (SPEC 7: < 1 s),
# against `noctra query "select 1"` until it exits: run.py measures it apart, like the REPL.
TUI_START = Workload(name="noctra FILE (TUI) to first frame", noctra_sql="", raw_sql="", max_ms=1000, rows=0)
TUI_FRAME = b"Engine: DuckDB"
REPL_PROMPT = b"noctra>"


# In-process comparisons: SQLite through Noctra (virtual, materialized, native) against raw.

NEVER_COPY = {  # thresholds out of reach: DuckDB reads the attached SQLite table every time
    "materialize_min_rows": 10**12,
    "materialize_after_queries": 10**9,
    "materialize_always_rows": 10**12,
}
COPY_AT_ONCE = {"materialize_min_rows": 1, "materialize_after_queries": 1}  # first read copies


@dataclass(frozen=True)
class Comparison:
    """Noctra against one raw engine doing the same statements, each side in a fresh worker."""

    workload: str
    measure: str
    noctra: dict[str, object]  # worker spec without reps (see worker())
    raw: dict[str, object]
    raw_label: str
    rows: int  # rows each statement returns
    reps: int
    max_first_ms: float | None = None  # judged on the first run ...
    max_rest_ms: float | None = None  # ... and on the median of the others
    target_text: str = "— (none in §7)"
    expect_engine: str | None = None  # which engine must run Noctra's statements
    expect_copy: bool | None = None  # whether the SQLite table must have been copied into DuckDB

    def how(self) -> str:
        config = self.noctra.get("engine_config")
        given = self.noctra.get("setup")
        setup = [str(x) for x in given] if isinstance(given, list) else []
        text = "Session(" + (f"config=Config(engine=EngineConfig({_kwargs(config)}))" if config else "") + ")"
        return text + "".join(f"; {stmt}" for stmt in setup)


def _kwargs(values: object) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in dict(values).items()) if isinstance(values, dict) else ""


def sqlite_comparisons(lite: SqliteData, reps: int, lookups: int, duck_lookups: int) -> list[Comparison]:
    users_db, lookup_db = f"'{lite.users_db}'", f"'{lite.lookup_db}'"
    countries = f"'{lite.countries_csv}'"
    raw_attached: dict[str, object] = {"engine": "duckdb", "setup": [lite.load, attach_crm(lite.users_db)]}
    agg_raw: dict[str, object] = {**raw_attached, "sql": USERS_AGGREGATE.format(users="crm.users")}
    region_raw: dict[str, object] = {
        **raw_attached,
        "sql": USERS_BY_REGION.format(users="crm.users", countries=f"read_csv_auto({countries})"),
    }
    region_noctra: dict[str, object] = {
        "engine": "noctra",
        "setup": [f"USE {countries} AS countries", f"USE {users_db} AS crm"],
        "sql": USERS_BY_REGION.format(users="crm.users", countries="countries"),
        "copy_key": "crm.users",
    }
    forced: dict[str, object] = {
        "engine": "noctra",
        "setup": [f"USE {users_db} AS crm", "SET engine = duckdb"],
        "sql": USERS_AGGREGATE.format(users="crm.users"),
        "copy_key": "crm.users",
    }
    virtual, materialized = "< 5 s virtual (first and median)", "< 500 ms materialized (first and median)"
    agg = f"SQLite {SQLITE_ROWS // 1000}K-row table, aggregate"
    region = f"SQLite {SQLITE_ROWS // 1000}K-row table × 10-row CSV, aggregate"
    lookup = f"SQLite {LOOKUP_ROWS // 1_000_000}M-row table, point lookup by id"
    ids = [(i * 7919 + 17) % LOOKUP_ROWS for i in range(max(lookups, duck_lookups))]
    return [
        Comparison(
            agg,
            "in session, virtual: SET engine = duckdb, vs raw DuckDB ATTACH",
            {**forced, "engine_config": NEVER_COPY},
            agg_raw,
            "raw DuckDB ATTACH",
            len(COUNTRIES),
            reps,
            5000,
            5000,
            virtual,
            expect_engine="duckdb",
            expect_copy=False,
        ),
        Comparison(
            agg,
            "in session, materialized: SET engine = duckdb, thresholds 1, vs raw DuckDB ATTACH",
            {**forced, "engine_config": COPY_AT_ONCE},
            agg_raw,
            "raw DuckDB ATTACH",
            len(COUNTRIES),
            reps,
            500,
            500,
            materialized,
            expect_engine="duckdb",
            expect_copy=True,
        ),
        Comparison(
            agg,
            "in session, auto (→ native sqlite3) vs raw sqlite3",
            {
                "engine": "noctra",
                "setup": [f"USE {users_db} AS crm"],
                "sql": USERS_AGGREGATE.format(users="crm.users"),
            },
            {"engine": "sqlite", "db": str(lite.users_db), "sql": USERS_AGGREGATE.format(users="users")},
            "raw sqlite3",
            len(COUNTRIES),
            reps,
            expect_engine="sqlite",
        ),
        Comparison(
            region,
            "in session, virtual: auto (→ DuckDB), vs raw DuckDB ATTACH + read_csv_auto",
            {**region_noctra, "engine_config": NEVER_COPY},
            region_raw,
            "raw DuckDB ATTACH",
            len(set(COUNTRIES.values())),
            reps,
            5000,
            5000,
            virtual,
            expect_engine="duckdb",
            expect_copy=False,
        ),
        Comparison(
            region,
            "in session, materialized: auto (→ DuckDB), thresholds 1, vs raw DuckDB ATTACH + read_csv_auto",
            {**region_noctra, "engine_config": COPY_AT_ONCE},
            region_raw,
            "raw DuckDB ATTACH",
            len(set(COUNTRIES.values())),
            reps,
            500,
            500,
            materialized,
            expect_engine="duckdb",
            expect_copy=True,
        ),
        Comparison(
            lookup,
            f"in session, auto (→ native sqlite3), {lookups} lookups, vs raw sqlite3",
            {
                "engine": "noctra",
                "setup": [f"USE {lookup_db} AS crm"],
                "sqls": [POINT_LOOKUP.format(users="crm.users", id=i) for i in ids[:lookups]],
                "fetch": "rows",
            },
            {
                "engine": "sqlite",
                "db": str(lite.lookup_db),
                "sqls": [POINT_LOOKUP.format(users="users", id=i) for i in ids[:lookups]],
                "fetch": "rows",
            },
            "raw sqlite3",
            1,
            lookups,
            expect_engine="sqlite",
        ),
        Comparison(
            lookup,
            f"in session, forced: SET engine = duckdb, {duck_lookups} lookups, vs raw DuckDB ATTACH",
            {
                "engine": "noctra",
                "setup": [f"USE {lookup_db} AS crm", "SET engine = duckdb"],
                "sqls": [POINT_LOOKUP.format(users="crm.users", id=i) for i in ids[:duck_lookups]],
                "fetch": "rows",
                "copy_key": "crm.users",
            },
            {
                "engine": "duckdb",
                "setup": [lite.load, attach_crm(lite.lookup_db)],
                "sqls": [POINT_LOOKUP.format(users="crm.users", id=i) for i in ids[:duck_lookups]],
                "fetch": "rows",
            },
            "raw DuckDB ATTACH",
            1,
            duck_lookups,
            expect_engine="duckdb",
        ),
    ]


# Export (--export / --all): a ~1 GB CSV to Parquet, whole process, against raw COPY.

EXPORT_TARGET_S = 3.0
EXPORT_MAX_RATIO = 1.05
RSS_TARGET_MB = 200


@dataclass(frozen=True)
class ExportVariant:
    label: str
    compression: str
    per_thread: bool = False
    preserve_order: bool = False  # raw DuckDB's preserve_insertion_order (Noctra sets it off itself)
    noctra: bool = True  # False: raw only (without ORDER BY, Noctra always exports with it off)

    def noctra_statement(self, source: Path, target: Path) -> str:
        options = []
        if self.compression != "zstd":  # zstd is Noctra's default: left out, as a user would
            options.append(f"compression = '{self.compression}'")
        if self.per_thread:
            options.append("per_thread_output = true")
        text = f"EXPORT (SELECT * FROM '{source}') TO '{target}'"
        return text + (f" OPTIONS ({', '.join(options)})" if options else "")

    def raw_code(self, source: Path, target: Path) -> str:
        options = f"FORMAT parquet, COMPRESSION {self.compression}"
        if self.per_thread:
            options += ", PER_THREAD_OUTPUT true"
        copy = f"COPY (SELECT * FROM read_csv_auto('{source}')) TO '{target}' ({options})"
        code = "import duckdb; c = duckdb.connect(); "
        if not self.preserve_order:
            code += "c.execute('SET preserve_insertion_order = false'); "
        return code + f"c.execute({copy!r})"


EXPORT_VARIANTS = (
    ExportVariant("single file, zstd (Noctra's default)", "zstd"),
    ExportVariant("single file, snappy", "snappy"),
    ExportVariant("per_thread_output, zstd", "zstd", per_thread=True),
    ExportVariant("per_thread_output, snappy", "snappy", per_thread=True),
    ExportVariant(
        "single file, zstd, preserve_insertion_order = true (raw only)",
        "zstd",
        preserve_order=True,
        noctra=False,
    ),
    ExportVariant(
        "single file, snappy, preserve_insertion_order = true (raw only)",
        "snappy",
        preserve_order=True,
        noctra=False,
    ),
)


# Export group, peak RSS aggregating the ~1 GB CSV: Noctra straight and after USE, raw DuckDB
# with the default read buffer and with Noctra's 8 MB one (a reference).

BIG_AGGREGATE_LABELS = {
    "noctra": "Noctra FROM 'big.csv'",
    "noctra_use": "Noctra after USE",
    "raw": "raw read_csv_auto",
    "raw8": "raw with an 8 MB buffer",
}


def big_aggregate_commands(noctra: str, big: Path) -> dict[str, list[str]]:
    """The commands of the big-CSV aggregate, keyed as in BIG_AGGREGATE_LABELS."""
    sql = AGGREGATE.format(src=f"'{big}'")
    via_use = f"USE '{big}' AS big; " + AGGREGATE.format(src="big")
    buffered = AGGREGATE.format(src=f"read_csv_auto('{big}', buffer_size = 8388608)")
    return {
        "noctra": [noctra, "query", sql, "--format", "csv"],
        "noctra_use": [noctra, "query", via_use, "--format", "csv"],
        "raw": [sys.executable, "-c", f"import duckdb; duckdb.connect().execute({sql!r}).fetchall()"],
        "raw8": [
            sys.executable,
            "-c",
            f"import duckdb; duckdb.connect().execute({buffered!r}).fetchall()",
        ],
    }
