"""Does a prepared-statement cache pay? (SPEC 4.1, docs/PERFORMANCE_TUNING.md)

Run with ``.venv/bin/python benchmarks/stmt_cache.py``. Not part of the tests.

Sources are registered the way Noctra does it (``USE`` through a ``noctra.Session``:
a view over ``read_csv`` with the dialect and column types pinned, or over
``read_parquet``), then each query is repeated on the session's DuckDB connection:

* ``execute``: ``connection.execute(sql)`` every time (DuckDB parses, binds and plans
  each time), or ``connection.execute(sql, [value])`` for a query with a parameter;
* ``prepared``: ``PREPARE q AS sql`` once, then ``EXECUTE q`` / ``EXECUTE q(value)``.

Rows are read with ``fetchall()`` (the results are a few rows). Reported: the median
time of one query over the runs (the runs of the two ways interleaved), and the
difference. For scale, the last line times the same small query through
``Session.sql(...).rows()`` (Noctra's whole per-statement work) against the raw
``execute``. Data is generated in a temporary directory.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from noctra import Session
from noctra.quoting import quote_string

QUERIES = {
    "aggregate": (
        "SELECT category, count(*), sum(amount) FROM {t} GROUP BY category ORDER BY category",
        None,
    ),
    "point lookup": ("SELECT * FROM {t} WHERE id = 4242", None),
    "lookup with $1": ("SELECT * FROM {t} WHERE id = $1", 4242),
}


def generate(directory: Path, rows: int) -> tuple[Path, Path]:
    """A CSV of `rows` rows and the same data as Parquet."""
    csv = directory / f"data_{rows}.csv"
    parquet = directory / f"data_{rows}.parquet"
    with duckdb.connect() as con:
        con.execute(
            "CREATE TABLE t AS SELECT range AS id, 'cat_' || (range % 17) AS category, "
            "round(random() * 1000, 2) AS amount, 'note ' || range AS note "
            f"FROM range({int(rows)})"
        )
        con.execute(f"COPY t TO {quote_string(str(csv))} (HEADER)")
        con.execute(f"COPY t TO {quote_string(str(parquet))} (FORMAT parquet)")
    return csv, parquet


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure(con: duckdb.DuckDBPyConnection, sql: str, value: int | None, runs: int) -> tuple[float, float]:
    """Median seconds per query: (execute every time, PREPARE once + EXECUTE)."""
    con.execute(f"PREPARE q AS {sql}")
    if value is None:

        def plain() -> object:
            return con.execute(sql).fetchall()

        def prepared() -> object:
            return con.execute("EXECUTE q").fetchall()
    else:

        def plain() -> object:
            return con.execute(sql, [value]).fetchall()

        def prepared() -> object:
            return con.execute(f"EXECUTE q({int(value)})").fetchall()

    plain()
    prepared()
    plain_times: list[float] = []
    prepared_times: list[float] = []
    for _ in range(runs):
        plain_times.append(timed(plain))
        prepared_times.append(timed(prepared))
    con.execute("DEALLOCATE q")
    return statistics.median(plain_times), statistics.median(prepared_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="repetitions of each query (default 60)")
    args = parser.parse_args()
    print(f"duckdb {duckdb.__version__}; median of {args.runs} runs per cell, runs interleaved")
    print()
    print("| source | query | execute each time | PREPARE + EXECUTE | difference |")
    print("|---|---|---:|---:|---:|")
    overhead = (0.0, 0.0)
    with tempfile.TemporaryDirectory(prefix="noctra-stmt-cache-") as tmp:
        for rows in (1_000, 320_000):
            csv, parquet = generate(Path(tmp), rows)
            size = csv.stat().st_size / 1e6
            with Session() as session:
                session.execute(f"USE {quote_string(str(csv))} AS c")
                session.execute(f"USE {quote_string(str(parquet))} AS p")
                con = session.engine.connection
                labels = (("c", f"CSV, {rows:,} rows ({size:.2f} MB)"), ("p", f"Parquet, {rows:,} rows"))
                for alias, label in labels:
                    for name, (template, value) in QUERIES.items():
                        plain, prepared = measure(con, template.format(t=alias), value, args.runs)
                        delta = prepared - plain
                        print(
                            f"| {label} | {name} | {plain * 1000:.2f} ms | {prepared * 1000:.2f} ms | "
                            f"{delta * 1000:+.2f} ms ({delta / plain * 100:+.0f}%) |"
                        )
                if rows == 1_000:
                    overhead = session_overhead(session, args.runs)
    raw, through = overhead
    print()
    print(
        f"Point lookup on the 1,000-row Parquet source: raw execute {raw * 1000:.2f} ms, "
        f"Session.sql {through * 1000:.2f} ms (Noctra's per-statement work: {(through - raw) * 1000:.2f} ms)"
    )


def session_overhead(session: Session, runs: int) -> tuple[float, float]:
    """Median seconds of one small query: raw connection.execute, and through Session.sql."""
    sql = QUERIES["point lookup"][0].format(t="p")
    con = session.engine.connection
    raw: list[float] = []
    through: list[float] = []
    for _ in range(runs):
        raw.append(timed(lambda: con.execute(sql).fetchall()))
        through.append(timed(lambda: session.sql(sql).rows(10)))
    return statistics.median(raw), statistics.median(through)


if __name__ == "__main__":
    main()
