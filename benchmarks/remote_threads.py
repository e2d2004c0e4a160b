"""Threads for remote reads: the same aggregation at several thread counts, local vs remote.

Run with ``.venv/bin/python benchmarks/remote_threads.py`` (needs the dev extras: moto).
Not part of the tests. Figures go to docs/PERFORMANCE_TUNING.md.

Sources, all holding the same generated rows (Parquet in row groups of 100,000 rows,
and CSV):

* local: the files on local disk (in the page cache after the first run);
* s3: moto's S3 server (``moto.server``, in its own process) on 127.0.0.1, read
  through httpfs with the S3 secret Noctra creates from the AWS_* variables;
* http+latency: a loopback HTTP server (own process, byte ranges) that waits
  ``--latency-ms`` before answering each request, as a far-away server would.

For each source and thread count, a ``noctra.Session`` runs
``SELECT category, count(*), sum(amount) FROM '<source>' GROUP BY ALL`` after
``SET threads = N`` (a user SET wins over adaptive threads) and with DuckDB's
external file cache off, so every run really reads over the network. Thread counts
are interleaved within each round; reported: the median wall time per query.
"""

from __future__ import annotations

import argparse
import http.server
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import duckdb

from noctra import Session
from noctra.config import load_config
from noctra.quoting import quote_string

QUERY = "SELECT category, count(*), sum(amount) FROM {source} GROUP BY ALL"
ACCESS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError as exc:
            if getattr(exc, "code", None) is not None:
                return  # an HTTP error is an answer: the server is up
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def generate(directory: Path, rows: int) -> dict[str, Path]:
    files = {"parquet": directory / "data.parquet", "csv": directory / "data.csv"}
    with duckdb.connect() as con:
        con.execute(
            "CREATE TABLE t AS SELECT range AS id, 'cat_' || (range % 17) AS category, "
            "round(random() * 1000, 2) AS amount, 'note ' || range AS note "
            f"FROM range({int(rows)})"
        )
        con.execute(
            f"COPY t TO {quote_string(str(files['parquet']))} (FORMAT parquet, ROW_GROUP_SIZE 100000)"
        )
        con.execute(f"COPY t TO {quote_string(str(files['csv']))} (HEADER)")
    return files


class SlowRangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with HEAD and byte ranges; every request waits `latency` seconds first."""

    latency = 0.0

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def send_head(self):  # type: ignore[no-untyped-def]
        time.sleep(self.latency)
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return None
        size = os.path.getsize(path)
        handle = open(path, "rb")  # noqa: SIM115 - closed by copyfile
        ranged = self.headers.get("Range", "").removeprefix("bytes=")
        self._length = size
        if ranged and "-" in ranged:
            first, _, last = ranged.partition("-")
            start = int(first) if first else size - int(last)
            end = min(int(last), size - 1) if first and last else size - 1
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            handle.seek(start)
            self._length = end - start + 1
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(self._length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", self.date_time_string(int(os.path.getmtime(path))))
        self.end_headers()
        return handle

    def copyfile(self, source, outputfile):  # type: ignore[no-untyped-def]
        with source:
            remaining = self._length
            while remaining > 0:
                chunk = source.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                outputfile.write(chunk)
                remaining -= len(chunk)


def serve(directory: str, port: int, latency_ms: float) -> None:
    """The http+latency server (run in a child process)."""
    SlowRangeHandler.latency = latency_ms / 1000

    def handler(*args: object) -> SlowRangeHandler:
        return SlowRangeHandler(*args, directory=directory)  # type: ignore[arg-type]

    class Server(http.server.ThreadingHTTPServer):
        # The default listen backlog of 5 drops connections past it: the client then
        # waits a second before it tries again, which would be measured here.
        request_queue_size = 128

    Server(("127.0.0.1", port), handler).serve_forever()  # type: ignore[arg-type]


def start_servers(directory: Path, latency_ms: float) -> tuple[list[subprocess.Popen[bytes]], str, str]:
    s3_port, http_port = free_port(), free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    s3 = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)], **quiet
    )
    serve_args = ["--serve", str(directory), "--port", str(http_port), "--latency-ms", str(latency_ms)]
    web = subprocess.Popen([sys.executable, __file__, *serve_args], **quiet)
    endpoint, base = f"http://127.0.0.1:{s3_port}", f"http://127.0.0.1:{http_port}"
    wait_for(endpoint)
    wait_for(base + "/")
    return [s3, web], endpoint, base


def upload(endpoint: str, files: dict[str, Path]) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=ACCESS["AWS_SECRET_ACCESS_KEY"],
        region_name=ACCESS["AWS_REGION"],
    )
    client.create_bucket(Bucket="bench")
    for name, path in files.items():
        client.upload_file(str(path), "bench", f"data.{name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000, help="rows of generated data")
    parser.add_argument("--runs", type=int, default=5, help="rounds (median reported)")
    parser.add_argument("--threads", default="1,2,4,6,8,12", help="thread counts, comma separated")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="delay per HTTP request")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.latency_ms)
        return
    thread_counts = [int(n) for n in args.threads.split(",")]
    with tempfile.TemporaryDirectory(prefix="noctra-remote-threads-") as tmp:
        files = generate(Path(tmp), args.rows)
        children, endpoint, base = start_servers(Path(tmp), args.latency_ms)
        try:
            upload(endpoint, files)
            sources: dict[str, str] = {}
            for kind, path in files.items():
                size = path.stat().st_size / 1e6
                sources[f"local {kind} ({size:.0f} MB)"] = str(path)
                sources[f"s3 {kind} (moto)"] = f"s3://bench/data.{kind}"
                sources[f"http+{args.latency_ms:g}ms {kind}"] = f"{base}/data.{kind}"
            environ = {**ACCESS, "AWS_ENDPOINT_URL": endpoint, "XDG_CONFIG_HOME": tmp}
            times: dict[tuple[str, int], list[float]] = {}
            with Session(config=load_config(environ=environ)) as session:
                session.execute("SET enable_external_file_cache = false")
                for source in sources.values():
                    session.sql(QUERY.format(source=quote_string(source))).rows(100)  # warm-up
                for _ in range(args.runs):
                    for label, source in sources.items():
                        for threads in thread_counts:
                            session.execute(f"SET threads = {threads}")
                            start = time.perf_counter()
                            session.sql(QUERY.format(source=quote_string(source))).rows(100)
                            times.setdefault((label, threads), []).append(time.perf_counter() - start)
        finally:
            for child in children:
                child.terminate()
                child.wait()
    cpus = os.cpu_count()
    print(f"{args.rows:,} rows; {cpus} CPUs; median of {args.runs} runs; duckdb {duckdb.__version__}")
    print()
    print("| source | " + " | ".join(f"threads={n}" for n in thread_counts) + " |")
    print("|---|" + "---:|" * len(thread_counts))
    for label in sources:
        cells = [f"{statistics.median(times[(label, n)]) * 1000:.0f} ms" for n in thread_counts]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
