"""Noctra's benchmark suite (SPEC §7): Noctra against raw DuckDB doing the same work.

Run with ``make bench`` (``.venv/bin/python benchmarks/run.py``). Not part of the tests.

Data is generated into a temporary directory with DuckDB ``COPY`` (SQLite tables with
``sqlite3``). What is measured:

* whole process: ``noctra query "<sql>" --format csv`` against the same query run by
  ``python -c "import duckdb; ..."``, pairs interleaved (Noctra, raw, Noctra, raw ...),
  one warm-up pair discarded; wall time around the child process. Peak RSS comes from
  a few extra untimed runs under ``/usr/bin/time -f %M`` (``os.wait4``'s ``ru_maxrss``
  would not do: Linux carries the parent's RSS at spawn into it). Every child gets
  empty XDG config/state directories (emptied again before each child), so no saved
  session or config file is read.
* in session (in-process): a fresh worker process opens a ``noctra.Session``, runs
  ``USE '<file>' AS t`` and then the query again and again (``.arrow()``), against a
  worker that runs the same query with ``read_csv_auto`` / ``read_parquet`` on one raw
  DuckDB connection (``.to_arrow_table()``). First run and median of the rest. A case
  can have several Noctra variants (e.g. defaults, where a hot small CSV gets copied
  into DuckDB, and the file cache switched off) and a raw reference query (e.g.
  ``read_csv`` with the columns pinned, what Noctra's view does before any caching).
* whole process, CSV x SQLite JOIN: ``'orders.csv' o JOIN 'crm.db'::users u`` against raw
  DuckDB with ``ATTACH`` and ``read_csv_auto``.
* SQLite (in-process, SPEC 4.3): a 100K-row SQLite table read by DuckDB through
  Noctra, virtual (attached, materialization thresholds out of reach) and materialized
  (thresholds at 1, so the first read copies the table), against raw DuckDB
  ``ATTACH ... (TYPE sqlite)`` doing the same; point lookups by primary key on a
  1M-row table, routed to native SQLite (auto) or forced through DuckDB, against raw
  ``sqlite3`` and raw DuckDB. Raw DuckDB loads the same ``sqlite_scanner`` file that
  Noctra loads (from its PyPI wheel: nothing is downloaded here).
* REPL start (issue 12): on a pseudo-terminal, ``noctra repl`` until its first prompt is
  drawn, against ``noctra query "select 1"`` until it exits, pairs interleaved; the target
  is at most 300 ms more.
* TUI start (issue 13): on a pseudo-terminal, ``noctra --fresh data.csv`` until its first
  screen (the status bar) is drawn; the target is under 1 s. The "raw" column is
  ``noctra query "select 1"`` until it exits.
* peers (only with ``--peers`` or ``--all``; ``make bench`` adds it): the same workloads through
  Noctra and the tools a user would pick instead (DuckDB CLI and Python API, chDB, DataFusion,
  Polars, sqlite-utils, csvsql), interleaved, with their answers checked equal; see peers.py.
  Its ~1 GB CSV is kept in ``benchmarks/.data`` (``--data-dir``) between runs.
* export (only with ``--export`` or ``--all``: it writes a ~1 GB CSV and takes a few
  minutes): ``noctra query "EXPORT ..."`` against ``python -c`` with DuckDB ``COPY``
  and the same settings, whole process, wall time and peak RSS of each run, output
  size; and the peak RSS of aggregating the 1 GB CSV.

To add a workload: add a ``Workload`` (whole process, optional ``SessionCase``) in
``workloads()``, a ``Comparison`` (in-process, any two sides) in ``sqlite_comparisons()``,
or an ``ExportVariant`` in ``EXPORT_VARIANTS`` (all in workloads.py); the report picks it up.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from data import LOOKUP_ROWS, SQLITE_ROWS, write_sized, write_sqlite_data
from measure import (
    MB,
    ExportRuns,
    InSession,
    check_command,
    child_env,
    in_session,
    interleaved,
    interleaved_on_terminal,
    output_size,
    timed_with_rss,
    worker,
)
from peers import PEER_BEGIN, PEER_END, run_peers
from report import BEGIN_MARK, END_MARK, Report, load_average, machine_info, write_markdown
from workloads import (
    EXPORT_VARIANTS,
    REPL_PROMPT,
    REPL_START,
    TUI_FRAME,
    TUI_START,
    Comparison,
    SessionCase,
    Workload,
    big_aggregate_commands,
    sqlite_comparisons,
    workloads,
)

# The export group writes a 1 GB CSV and its Parquet outputs.
EXPORT_MIN_FREE = 6 * 10**9


def run_session_case(report: Report, w: Workload, case: SessionCase, reps: int, env: dict[str, str]) -> None:
    measured = []
    for variant in case.variants:
        spec: dict[str, object] = {"engine": "noctra", "use": case.use, "sql": case.noctra_sql, "reps": reps}
        spec["engine_config"] = variant.engine_config
        measured.append((variant, in_session(spec, env)))
    raw = in_session({"engine": "duckdb", "sql": case.raw_sql, "reps": reps}, env)
    floor = None
    if case.floor_sql is not None:
        floor = in_session({"engine": "duckdb", "sql": case.floor_sql, "reps": reps}, env)
    checked = [(v.label, m) for v, m in measured] + [("raw", raw)] + ([("reference", floor)] if floor else [])
    for name, got in checked:
        if got.error is None and got.rows != w.rows:
            raise RuntimeError(f"{w.name}, in session, {name}: {got.rows} rows, expected {w.rows}")
    report.session(w, case, measured, raw, floor)


def run_comparisons(
    report: Report, comparisons: Sequence[Comparison], env: dict[str, str], log: Callable[[str], None]
) -> None:
    """Each side in its own fresh worker; a raw side shared by two comparisons is measured once."""
    measured: dict[str, InSession] = {}

    def measure(spec: dict[str, object], reps: int) -> InSession:
        key = json.dumps({**spec, "reps": reps}, sort_keys=True)
        if key not in measured:
            measured[key] = in_session({**spec, "reps": reps}, env)
        return measured[key]

    for c in comparisons:
        log(f"{c.workload}: {c.measure}, {c.reps} runs each ...")
        noc = measure(c.noctra, c.reps)
        raw = measure(c.raw, c.reps)
        if raw.error is not None:
            raise RuntimeError(f"{c.workload}, {c.raw_label}: {raw.error}")
        for side, got in (("Noctra", noc), (c.raw_label, raw)):
            if got.error is None and got.rows != c.rows:
                raise RuntimeError(f"{c.workload}, {c.measure}, {side}: {got.rows} rows, expected {c.rows}")
        report.comparison(c, noc, raw)


def run_export_group(
    report: Report,
    *,
    tmp: Path,
    args: argparse.Namespace,
    env: dict[str, str],
    log: Callable[[str], None],
    selected: Callable[[str], bool],
) -> None:
    """EXPORT of a ~1 GB CSV to Parquet against raw COPY, and peak RSS aggregating it."""
    free = shutil.disk_usage(tmp).free
    if free < EXPORT_MIN_FREE:
        message = (
            f"export group skipped: {free / 1e9:.1f} GB free in {tmp}, "
            f"it needs {EXPORT_MIN_FREE / 1e9:.0f} GB (a 1 GB CSV and the Parquet outputs)"
        )
        log(message)
        report.notes.append(message)
        return
    big = tmp / "big.csv"
    log("generating the ~1 GB CSV ...")
    started = time.perf_counter()
    big_rows = write_sized(big, 1000 * MB, "HEADER", 54.0)
    size_gb = big.stat().st_size / 1e9
    log(
        f"  {big}: {big.stat().st_size / MB:.0f} MB, {big_rows:,} rows "
        f"({time.perf_counter() - started:.0f} s)"
    )
    report.machine.append(("export data", f"CSV {big.stat().st_size:,} bytes ({big_rows:,} rows)"))
    check_command([str(args.noctra), "query", "select 1"], env)  # bytecode written before timing
    out_dir = tmp / "exports"
    out_dir.mkdir()
    noctra = str(args.noctra)
    n = args.export_runs

    name = f"EXPORT {size_gb:.1f} GB CSV → Parquet"
    if selected(name):
        runs = {v.label: ExportRuns() for v in EXPORT_VARIANTS}
        for rep in range(n):
            log(f"{name}: round {rep + 1} of {n} ({len(EXPORT_VARIANTS)} variants) ...")
            for i, v in enumerate(EXPORT_VARIANTS):
                if v.noctra:
                    target = out_dir / f"noctra{i}.parquet"
                    cmd = [noctra, "query", v.noctra_statement(big, target)]
                    runs[v.label].noctra.add(*timed_with_rss(cmd, env), output_size(target))
                target = out_dir / f"raw{i}.parquet"
                cmd = [sys.executable, "-c", v.raw_code(big, target)]
                runs[v.label].raw.add(*timed_with_rss(cmd, env), output_size(target))
        for v in EXPORT_VARIANTS:
            report.export(name, v, runs[v.label])
        report.export_method(n, big)

    name = f"CSV {size_gb:.1f} GB aggregate"
    if selected(name):
        cmds = big_aggregate_commands(noctra, big)
        seconds: dict[str, list[float]] = {k: [] for k in cmds}
        rss_kib: dict[str, list[int]] = {k: [] for k in cmds}
        for rep in range(n):
            log(f"{name}: peak RSS, round {rep + 1} of {n} ...")
            for key, cmd in cmds.items():
                took, rss = timed_with_rss(cmd, env)
                seconds[key].append(took)
                if rss is not None:
                    rss_kib[key].append(rss)
        report.big_aggregate(name, big, seconds, rss_kib)
    big.unlink()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="interleaved pairs per workload (default 15)")
    parser.add_argument("--session-runs", type=int, default=50, help="in-session repetitions (default 50)")
    parser.add_argument(
        "--lookups", type=int, default=500, help="point lookups routed to native SQLite (default 500)"
    )
    parser.add_argument(
        "--duckdb-lookups",
        type=int,
        default=20,
        help="point lookups forced through DuckDB, each a scan of the SQLite table (default 20)",
    )
    parser.add_argument(
        "--export",
        action="store_true",
        help="also run the export group: a ~1 GB CSV to Parquet, and peak RSS aggregating it (minutes)",
    )
    parser.add_argument(
        "--peers",
        action="store_true",
        help="also run the peer group: Noctra against DuckDB CLI/Python, chDB, DataFusion, Polars, "
        "sqlite-utils and csvsql on the same workloads, 10 MB to 1 GB (about 10 minutes)",
    )
    parser.add_argument("--peer-runs", type=int, default=5, help="timed rounds of the peer group (default 5)")
    parser.add_argument(
        "--peer-rss-runs", type=int, default=1, help="untimed peak-RSS rounds of the peer group (default 1)"
    )
    parser.add_argument(
        "--peer-big-mb",
        type=int,
        default=1000,
        help="size of the peer group's big CSV in MB (default 1000; smaller for a quick try)",
    )
    parser.add_argument(
        "--peer-slow",
        type=float,
        default=20.0,
        help="a peer whose first run takes longer is timed on that run alone (default 20 s)",
    )
    parser.add_argument(
        "--peer-timeout",
        type=float,
        default=120.0,
        help="a peer run still going after this is stopped (default 120 s)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(__file__).resolve().parent / ".data",
        help="where generated data kept between runs lives (default benchmarks/.data)",
    )
    parser.add_argument(
        "--all", action="store_true", help="every group (the default ones, --peers and --export)"
    )
    parser.add_argument("--export-runs", type=int, default=3, help="rounds of the export group (default 3)")
    parser.add_argument(
        "--rss-runs", type=int, default=3, help="extra runs per side for peak RSS (default 3)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 pairs, 6 in-session runs, 1 RSS run, 50/5 lookups, 1 export round",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help="only workloads (any group) whose name contains TEXT (repeatable)",
    )
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="also write the report as markdown")
    parser.add_argument(
        "--noctra", type=Path, default=Path(sys.executable).parent / "noctra", help="the noctra executable"
    )
    parser.add_argument(
        "--as-is-bytecode",
        action="store_true",
        help="keep the inherited PYTHONDONTWRITEBYTECODE/PYTHONPYCACHEPREFIX for the children",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.session_runs, args.rss_runs = 3, 6, 1
        args.lookups, args.duckdb_lookups, args.export_runs = 50, 5, 1
        args.peer_runs, args.peer_rss_runs = 2, 1
    if args.runs < 1 or args.session_runs < 2 or args.rss_runs < 0:
        parser.error("--runs must be ≥ 1, --session-runs ≥ 2, --rss-runs ≥ 0")
    if args.lookups < 2 or args.duckdb_lookups < 2 or args.export_runs < 1:
        parser.error("--lookups and --duckdb-lookups must be ≥ 2, --export-runs ≥ 1")
    if args.peer_runs < 1 or args.peer_rss_runs < 0 or args.peer_big_mb < 1 or args.peer_timeout <= 0:
        parser.error("--peer-runs must be ≥ 1, --peer-rss-runs ≥ 0, --peer-big-mb ≥ 1, --peer-timeout > 0")
    args.export = args.export or args.all
    args.peers = args.peers or args.all
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    load_start = load_average()
    with tempfile.TemporaryDirectory(prefix="noctra-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env, env_note = child_env(tmp, as_is_bytecode=args.as_is_bytecode)

        log("generating data ...")
        csv, parquet = tmp / "data.csv", tmp / "data.parquet"
        csv_rows = write_sized(csv, 10 * MB, "HEADER", 54.0)
        pq_rows = write_sized(parquet, 100 * MB, "FORMAT parquet", 29.0)
        log(f"  {csv}: {csv.stat().st_size / MB:.1f} MB, {csv_rows:,} rows")
        log(f"  {parquet}: {parquet.stat().st_size / MB:.1f} MB, {pq_rows:,} rows")

        lite = write_sqlite_data(tmp)
        log(
            f"  SQLite: {lite.users_db.name} {SQLITE_ROWS:,} rows, {lite.lookup_db.name} {LOOKUP_ROWS:,} rows"
        )

        report = Report(
            machine_info(
                args,
                csv=csv,
                parquet=parquet,
                csv_rows=csv_rows,
                pq_rows=pq_rows,
                lite=lite,
                env_note=env_note,
            )
        )

        def selected(name: str) -> bool:
            return not args.only or any(o.lower() in name.lower() for o in args.only)

        for w in workloads(csv, parquet, lite):
            if not selected(w.name):
                continue
            log(f"{w.name}: whole process, {args.runs} pairs ...")
            pairs = interleaved(w.noctra_cmd(args.noctra), w.raw_cmd(), args.runs, env, args.rss_runs)
            report.whole(w, pairs)
            if w.session is not None:
                run_session_case(report, w, w.session, args.session_runs, env)
                log(f"{w.name}: in session, {args.session_runs} runs each ... done")

        if selected(REPL_START.name):
            log(f"{REPL_START.name}: on a terminal, {args.runs} pairs ...")
            noctra = str(args.noctra)
            pairs = interleaved_on_terminal(
                [noctra, "repl"], REPL_PROMPT, [noctra, "query", "select 1"], args.runs, env
            )
            report.whole(REPL_START, pairs)
            report.notes.append(
                f"{REPL_START.name}: on a pty, `noctra repl` until its prompt is drawn against "
                '`noctra query "select 1"` until it exits (the "raw" column).'
            )

        if selected(TUI_START.name):
            log(f"{TUI_START.name}: on a terminal, {args.runs} pairs ...")
            noctra = str(args.noctra)
            pairs = interleaved_on_terminal(
                [noctra, "--fresh", str(csv)], TUI_FRAME, [noctra, "query", "select 1"], args.runs, env
            )
            report.whole(TUI_START, pairs)
            report.notes.append(
                f"{TUI_START.name}: on a pty, `noctra --fresh data.csv` until its status bar is drawn "
                'against `noctra query "select 1"` until it exits (the "raw" column).'
            )

        comparisons = sqlite_comparisons(lite, args.session_runs, args.lookups, args.duckdb_lookups)
        run_comparisons(report, [c for c in comparisons if selected(c.workload)], env, log)

        if args.export:
            run_export_group(report, tmp=tmp, args=args, env=env, log=log, selected=selected)
        else:
            report.notes.append(
                "Export group (EXPORT of a ~1 GB CSV to Parquet, peak RSS aggregating it) not run: "
                "it needs --export or --all."
            )
        peers = None
        if args.peers:
            peers = run_peers(
                args, tmp=tmp, env=env, csv_path=csv, parquet=parquet, lite=lite, selected=selected, log=log
            )
        report.scrub(tmp)

    report.finish(load_start)
    if report.rows or not peers:
        print(report.text(), end="")
    if peers is not None:
        peers.machine.append(("load average (1 min)", f"{load_start} at start, {load_average()} at end"))
        print(("\n" if report.rows else "") + peers.text(), end="")
    if args.markdown:
        if report.rows:  # an --only run of another group leaves this block as it was
            write_markdown(args.markdown, report.markdown(), BEGIN_MARK, END_MARK)
        if peers is not None:
            write_markdown(args.markdown, peers.markdown(), PEER_BEGIN, PEER_END)
        log(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
