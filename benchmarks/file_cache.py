"""What loading a hot CSV into DuckDB costs and pays, by file size: the basis of cache_files_under.

Run with ``.venv/bin/python benchmarks/file_cache.py``. Not part of the tests; the
figures go to docs/PERFORMANCE_TUNING.md ("Hot files").

For CSVs of several sizes (generated in a temporary directory), one in-process
``noctra.Session`` registers the file and runs the same aggregate repeatedly, with
the file cache off (``materialize_after_queries`` huge) and on (after 3 reads).
Reported per size: the median query time from the pinned view, the time of the
query that loads the copy, the median from the copy, how many queries repay the
load, and the memory DuckDB holds for the copy (``duckdb_memory()`` after it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

import noctra
from noctra.config import Config, EngineConfig
from noctra.quoting import quote_string

QUERY = "SELECT category, count(*), sum(amount), avg(amount) FROM t GROUP BY category"


def make_csv(path: Path, rows: int) -> None:
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT range AS id, 'cat' || (range % 20) AS category, random() * 100 AS amount, "
            "DATE '2024-01-01' + CAST(range % 365 AS INTEGER) AS day, 'note ' || range AS note "
            f"FROM range({rows})) TO {quote_string(str(path))} (HEADER true)"
        )


def timed(session: noctra.Session) -> float:
    start = time.perf_counter()
    session.sql(QUERY).arrow()
    return (time.perf_counter() - start) * 1000


def measure(path: Path, runs: int) -> dict[str, float]:
    off = Config(engine=EngineConfig(materialize_after_queries=10**9, cache_files_under=10**15))
    with noctra.Session(config=off) as session:
        session.execute(f"USE {quote_string(str(path))} AS t")
        view = [timed(session) for _ in range(runs)]
    on = Config(engine=EngineConfig(materialize_after_queries=3, cache_files_under=10**15))
    with noctra.Session(config=on) as session:
        session.execute(f"USE {quote_string(str(path))} AS t")
        first_two = [timed(session) for _ in range(2)]
        before = memory_mb(session)
        loading = timed(session)
        after = memory_mb(session)
        cached = [timed(session) for _ in range(runs)]
    view_ms = statistics.median(view)
    cached_ms = statistics.median(cached)
    extra = loading - statistics.median(first_two)
    return {
        "view_ms": view_ms,
        "loading_ms": loading,
        "cached_ms": cached_ms,
        "repaid_after": extra / max(view_ms - cached_ms, 1e-9),
        "copy_mb": after - before,
    }


def memory_mb(session: noctra.Session) -> float:
    return float(session.status().memory_used or 0) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,4000000", help="rows per CSV, comma-separated")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    print(f"{'CSV':>10} {'rows':>9} {'view':>9} {'load':>9} {'copy':>9} {'repaid after':>13} {'copy RAM':>9}")
    with tempfile.TemporaryDirectory() as folder:
        for rows in (int(n) for n in args.sizes.split(",")):
            path = Path(folder) / f"c{rows}.csv"
            make_csv(path, rows)
            size = os.path.getsize(path) / 1e6
            f = measure(path, args.runs)
            print(
                f"{size:8.1f}MB {rows:>9,} {f['view_ms']:7.1f}ms {f['loading_ms']:7.1f}ms "
                f"{f['cached_ms']:7.1f}ms {f['repaid_after']:10.1f} q {f['copy_mb']:7.1f}MB"
            )


if __name__ == "__main__":
    main()
