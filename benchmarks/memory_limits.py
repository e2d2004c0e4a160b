"""Peak RSS and time of aggregations over a 1 GB CSV at several memory_limit values.

Run with ``.venv/bin/python benchmarks/memory_limits.py``. Not part of the tests.
Figures go to docs/PERFORMANCE_TUNING.md.

A CSV of about 1 GB is generated in a temporary directory. Each measurement is a
whole ``noctra query "<sql>" --format csv`` process with ``NOCTRA_MEMORY_LIMIT`` set,
run under ``/usr/bin/time -f '%M %e'`` for its peak RSS and wall time (``wait4``'s
``ru_maxrss`` would not do: Linux carries the parent's RSS at spawn into it). The
children get empty XDG config/state directories and run in the temporary directory
(where DuckDB spills, under ``.tmp``). Queries:

* start-up only: ``SELECT 1`` -- the RSS of Python, DuckDB and Noctra before any data;
* few groups: ``GROUP BY category`` (17 groups) -- SPEC 7's "aggregating a 1 GB CSV",
  straight ``FROM 'big.csv'`` (DuckDB's CSV reader as is), and after ``USE 'big.csv'``
  (Noctra's view: dialect pinned, 8 MB read buffer);
* many groups: ``GROUP BY user_id`` (up to 2,000,000 groups, a big hash table); and
  the same with spilling to disk forbidden (``max_temp_directory_size = '0KiB'``), which
  fails at the limits where DuckDB had to spill.

Reported: median peak RSS and time of ``--runs`` runs, and whether the query failed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

from noctra.quoting import quote_string

TIME_BIN = "/usr/bin/time"
QUERIES = {
    "start-up only": "SELECT 1",
    "few groups": "SELECT category, count(*), sum(amount), avg(amount) FROM 'big.csv' GROUP BY category",
    "few groups via USE": "USE 'big.csv' AS big; "
    "SELECT category, count(*), sum(amount), avg(amount) FROM big GROUP BY category",
    "many groups": "SELECT count(*), sum(n) FROM "
    "(SELECT user_id, count(*) AS n, sum(amount) AS s FROM 'big.csv' GROUP BY user_id)",
    "many groups without spilling": "SET max_temp_directory_size = '0KiB'; SELECT count(*), sum(n) FROM "
    "(SELECT user_id, count(*) AS n, sum(amount) AS s FROM 'big.csv' GROUP BY user_id)",
}


def generate(directory: Path, target_bytes: int) -> Path:
    """big.csv of about target_bytes: id, user_id, category, amount, note."""
    path = directory / "big.csv"
    rows = target_bytes // 46  # measured: ~46 bytes a row
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT range AS id, (hash(range) % 2000000)::BIGINT AS user_id, "
            "'cat_' || (range % 17) AS category, round((range % 100000) / 100.0, 2) AS amount, "
            "'note number ' || range AS note "
            f"FROM range({int(rows)})) TO {quote_string(str(path))} (HEADER)"
        )
    return path


def run_once(directory: Path, sql: str, memory_limit: str | None) -> tuple[float, float, bool, str]:
    """(peak RSS in MB, seconds, ok, last error line) of one noctra process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOCTRA_")}
    env["XDG_CONFIG_HOME"] = str(directory / "xdg-config")
    env["XDG_STATE_HOME"] = str(directory / "xdg-state")
    if memory_limit is not None:
        env["NOCTRA_MEMORY_LIMIT"] = memory_limit
    marker = "@@time "
    command = [TIME_BIN, "-f", marker + "%M %e", sys.executable, "-m", "noctra", "query", sql]
    proc = subprocess.run(
        [*command, "--format", "csv"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = proc.stderr.splitlines()
    timing = next(line for line in reversed(lines) if line.startswith(marker))
    kib, seconds = timing.removeprefix(marker).split()
    errors = [line for line in lines if line.startswith("noctra: error:")]
    return int(kib) / 1024, float(seconds), proc.returncode == 0, errors[-1] if errors else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1000, help="size of the generated CSV (MB)")
    parser.add_argument("--runs", type=int, default=3, help="runs per cell (median reported)")
    parser.add_argument("--limits", default="2GB,1GB,512MB,256MB,128MB,64MB", help="memory_limit values")
    parser.add_argument("--queries", default=",".join(QUERIES), help="query names (above), comma separated")
    args = parser.parse_args()
    limits = args.limits.split(",")
    chosen = {name: QUERIES[name.strip()] for name in args.queries.split(",")}
    with tempfile.TemporaryDirectory(prefix="noctra-memory-") as tmp:
        directory = Path(tmp)
        csv = generate(directory, args.size_mb * 1_000_000)
        size = csv.stat().st_size / 1e6
        cpus = os.cpu_count()
        print(f"CSV {size:,.0f} MB; {cpus} CPUs; median of {args.runs} runs; duckdb {duckdb.__version__}")
        print()
        print("| query | memory_limit | peak RSS | time | result |")
        print("|---|---|---:|---:|---|")
        for name, sql in chosen.items():
            for limit in limits:
                results = [run_once(directory, sql, limit) for _ in range(args.runs)]
                rss = statistics.median(r[0] for r in results)
                seconds = statistics.median(r[1] for r in results)
                failed = [r for r in results if not r[2]]
                outcome = "ok" if not failed else f"failed {len(failed)}/{args.runs}: {failed[0][3][:90]}"
                print(f"| {name} | {limit} | {rss:.0f} MB | {seconds:.2f} s | {outcome} |", flush=True)


if __name__ == "__main__":
    main()
