"""What a persistent columnar copy of a CSV costs and pays, whole process: the basis of [cache].

Run with ``.venv/bin/python benchmarks/persistent_cache.py``. Not part of the tests; the
figures go to docs/PERFORMANCE_TUNING.md ("Persistent cache").

For CSVs of several sizes (generated in a temporary directory) it times, as separate
``python -c`` processes interleaved, the same aggregate read from the CSV (pinned
``read_csv``), from Parquet copies (``COPY ... TO 'x.parquet'``: snappy, lz4, zstd) and from a DuckDB
database file (``ATTACH ... (READ_ONLY)``), and once per size what building each copy
costs in a process and how large it is.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from data import write_sized

AGG = "SELECT category, count(*), sum(amount), avg(amount) FROM {src} GROUP BY category"
MB = 1024 * 1024
CODECS = ("snappy", "lz4", "zstd")  # Parquet compressions compared for the copies


def timed(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return (time.perf_counter() - start) * 1000


def run_size(tmp: Path, megabytes: int, reps: int) -> None:
    csv = tmp / f"d{megabytes}.csv"
    write_sized(csv, megabytes * MB, "HEADER true", 60.0)
    db = tmp / f"d{megabytes}.duckdb"
    # The reader Noctra pins at USE: dialect and column types fixed, no sniffing per run.
    reader = (
        f"read_csv('{csv}', auto_detect = false, header = true, buffer_size = 8388608, columns = "
        "{'id': 'BIGINT', 'category': 'VARCHAR', 'amount': 'DOUBLE', 'day': 'DATE', 'note': 'VARCHAR'})"
    )
    copies = {f"parquet {codec}": tmp / f"d{megabytes}.{codec}.parquet" for codec in CODECS}
    build = {
        label: (
            f"con.execute(\"COPY (SELECT * FROM {reader}) TO '{path}' "
            f'(FORMAT parquet, COMPRESSION {label.split()[1]})")'
        )
        for label, path in copies.items()
    }
    build["duckdb file"] = (
        f'con.execute("ATTACH \'{db}\' AS c"); con.execute("CREATE TABLE c.t AS SELECT * FROM {reader}")'
    )
    for label, code in build.items():
        ms = timed(f"import duckdb; con = duckdb.connect(); {code}")
        size = copies.get(label, db).stat().st_size
        print(f"{megabytes} MB CSV: build {label}: {ms:.0f} ms, {size / MB:.1f} MB")
    query = {"csv": f'import duckdb; duckdb.connect().execute("{AGG.format(src=reader)}").fetchall()'}
    for label, path in copies.items():
        sql = AGG.format(src=repr(str(path)))
        query[label] = f'import duckdb; duckdb.connect().execute("{sql}").fetchall()'
    query["duckdb file"] = (
        f"import duckdb; con = duckdb.connect(); con.execute(\"ATTACH '{db}' AS c (READ_ONLY)\");"
        f' con.execute("{AGG.format(src="c.t")}").fetchall()'
    )
    times: dict[str, list[float]] = {k: [] for k in query}
    timed("import duckdb")
    for _ in range(reps):
        for label, code in query.items():
            times[label].append(timed(code))
    for label, values in times.items():
        print(
            f"{megabytes} MB CSV: query from {label}: median {statistics.median(values):.0f} ms "
            f"(min {min(values):.0f}, max {max(values):.0f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1,10,100", help="CSV sizes in MB")
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        for size in args.sizes.split(","):
            run_size(Path(name), int(size), args.reps)


if __name__ == "__main__":
    main()
