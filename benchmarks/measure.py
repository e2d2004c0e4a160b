"""Measuring the benchmarks: wall time and peak RSS of child processes, and in-session workers."""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MB = 1_000_000
TIME_BIN = Path("/usr/bin/time")
# The script whose hidden --worker flag runs worker() in a fresh process.
WORKER_SCRIPT = Path(__file__).with_name("run.py")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


XDG_VARS = ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")


def empty_xdg(env: dict[str, str]) -> None:
    """Every child starts with empty XDG dirs: a `noctra query` that reaches `x.db::t`
    registers x.db and saves the session, and the next child would restore (attach) it."""
    for var in XDG_VARS:
        if var in env and Path(env[var]).exists():
            shutil.rmtree(env[var])


def run_process(cmd: Sequence[str], env: dict[str, str]) -> float:
    """Run one child with stdout and stderr to /dev/null; its wall time in seconds."""
    empty_xdg(env)
    start = time.perf_counter()
    code = subprocess.call(
        list(cmd), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    elapsed = time.perf_counter() - start
    if code != 0:
        check_command(cmd, env)  # raises with the child's own output
        raise RuntimeError(f"command failed only when timed (exit {code}): {cmd}")
    return elapsed


def peak_rss_kib(cmd: Sequence[str], env: dict[str, str]) -> int | None:
    """Peak RSS of one run of cmd, in KiB (see rss_method()); None if it cannot be measured."""
    empty_xdg(env)
    if TIME_BIN.exists():
        with tempfile.NamedTemporaryFile("r", suffix=".rss") as out:
            subprocess.run(
                [str(TIME_BIN), "-f", "%M", "-o", out.name, *cmd],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                check=True,
            )
            return int(out.read().strip().splitlines()[-1])
    if hasattr(os, "wait4"):
        proc = subprocess.Popen(
            list(cmd), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        return int(usage.ru_maxrss)
    return None


def rss_method() -> str:
    if TIME_BIN.exists():
        return f"`{TIME_BIN} -f %M` (the child's own peak), separate runs after the timed ones"
    if hasattr(os, "wait4"):
        return "os.wait4() ru_maxrss: an upper bound, it includes this script's own RSS at spawn"
    return "not measured"


def check_command(cmd: Sequence[str], env: dict[str, str]) -> str:
    """Run once with output captured; fail loudly (command, exit code, stderr) if it fails."""
    empty_xdg(env)
    done = subprocess.run(list(cmd), capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"command failed with exit {done.returncode}:\n  {cmd}\nstdout:\n{done.stdout}\n"
            f"stderr:\n{done.stderr}"
        )
    return done.stdout


def timed_with_rss(cmd: Sequence[str], env: dict[str, str]) -> tuple[float, int | None]:
    """One run of cmd: wall time in seconds and peak RSS in KiB (None without /usr/bin/time).

    For long runs (exports), where one run both times and measures memory: the
    ``/usr/bin/time`` wrapper adds about a millisecond to the wall time. Fails loudly.
    """
    empty_xdg(env)
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as out:
        wrapped = [str(TIME_BIN), "-f", "%M", "-o", out.name, *cmd] if TIME_BIN.exists() else list(cmd)
        start = time.perf_counter()
        done = subprocess.run(
            wrapped, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, check=False
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(
                f"command failed with exit {done.returncode}:\n  {cmd}\nstdout:\n{done.stdout}\n"
                f"stderr:\n{done.stderr}"
            )
        lines = out.read().strip().splitlines() if TIME_BIN.exists() else []
    return elapsed, int(lines[-1]) if lines else None


@dataclass
class Pairs:
    """Interleaved whole-process runs of two commands (a = Noctra, b = raw DuckDB), in seconds."""

    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    rss_a: list[int] = field(default_factory=list)  # KiB, from separate runs
    rss_b: list[int] = field(default_factory=list)

    @property
    def median_a(self) -> float:
        return median(self.a)

    @property
    def median_b(self) -> float:
        return median(self.b)

    @property
    def ratio(self) -> float:
        return self.median_a / self.median_b

    @property
    def diffs(self) -> list[float]:
        return [x - y for x, y in zip(self.a, self.b, strict=True)]

    @property
    def median_diff(self) -> float:
        return median(self.diffs)


def interleaved(
    cmd_a: Sequence[str], cmd_b: Sequence[str], runs: int, env: dict[str, str], rss_runs: int = 0
) -> Pairs:
    """a, b, a, b, ... ``runs`` timed pairs after one discarded warm-up pair (both checked first),
    then ``rss_runs`` untimed pairs that measure peak RSS."""
    check_command(cmd_a, env)
    check_command(cmd_b, env)
    run_process(cmd_a, env)
    run_process(cmd_b, env)
    pairs = Pairs()
    for _ in range(runs):
        pairs.a.append(run_process(cmd_a, env))
        pairs.b.append(run_process(cmd_b, env))
    for _ in range(rss_runs):
        for cmd, into in ((cmd_a, pairs.rss_a), (cmd_b, pairs.rss_b)):
            rss = peak_rss_kib(cmd, env)
            if rss is not None:
                into.append(rss)
    return pairs


def child_env(tmp: Path, *, as_is_bytecode: bool) -> tuple[dict[str, str], str]:
    """The environment of every measured child, and a line saying what it is.

    No saved session and no config file (empty XDG directories, no NOCTRA_CONFIG).
    Bytecode is cached under tmp, as a pip install would have it: an editable install
    run with PYTHONDONTWRITEBYTECODE=1 recompiles Noctra's sources at every start
    while duckdb and the stdlib load their .pyc files, which is not a fair comparison.
    """
    env = dict(os.environ)
    env.pop("NOCTRA_CONFIG", None)
    for var in XDG_VARS:
        env[var] = str(tmp / "xdg" / var.lower())
    note = "empty XDG config/state dirs (emptied again before every child), NOCTRA_CONFIG unset; "
    inherited = os.environ.get("PYTHONDONTWRITEBYTECODE")
    if as_is_bytecode:
        return env, note + f"bytecode settings inherited (PYTHONDONTWRITEBYTECODE={inherited or 'unset'})"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    note += "bytecode cached under a temp PYTHONPYCACHEPREFIX (written by the warm-up runs)"
    if inherited:
        note += f"; the caller's PYTHONDONTWRITEBYTECODE={inherited} was dropped for the children"
    return env, note


# in-process worker (runs in a fresh child so that "first run" means something)


ROWS_FETCH = 100  # fetch="rows": rows read per statement (point lookups return one)


def worker(spec: dict[str, object]) -> dict[str, object]:
    """Time ``reps`` statements on one connection; JSON-able result for the parent.

    spec: ``engine`` (noctra | duckdb | sqlite), ``sql`` (repeated) or ``sqls`` (cycled
    through), ``reps``, ``use`` and/or ``setup`` (statements run once before timing),
    ``fetch`` (arrow: the whole result as Arrow; rows: up to ROWS_FETCH Python rows),
    for Noctra ``engine_config`` (EngineConfig overrides) and ``copy_key`` (report
    whether ``session.hybrid.copies[copy_key]`` holds a DuckDB copy at the end), for
    sqlite ``db`` (the database file).
    """
    import pyarrow  # noqa: F401  (imported before timing on both sides: not part of a query)

    engine, reps = str(spec["engine"]), int(str(spec["reps"]))
    given_sqls = spec.get("sqls")
    sqls = [str(q) for q in given_sqls] if isinstance(given_sqls, list) else [str(spec["sql"])]
    given_setup = spec.get("setup")
    setup_sql = [str(q) for q in given_setup] if isinstance(given_setup, list) else []
    if "use" in spec:
        setup_sql.insert(0, str(spec["use"]))
    as_rows = spec.get("fetch") == "rows"
    times: list[float] = []
    rows = -1
    engines: set[str] = set()
    copied: bool | None = None
    start = time.perf_counter()
    if engine == "noctra":
        import noctra

        given = spec.get("engine_config")
        overrides: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
        if overrides:
            try:
                from noctra.config import Config, EngineConfig

                session = noctra.Session(config=Config(engine=EngineConfig(**overrides)))
            except (ImportError, TypeError) as exc:
                return {"error": f"cannot set {overrides} on the session: {exc}"}
        else:
            session = noctra.Session()
        for statement in setup_sql:
            session.execute(statement)
        setup = time.perf_counter() - start
        for i in range(reps):
            sql = sqls[i % len(sqls)]
            t0 = time.perf_counter()
            result = session.sql(sql)
            rows = len(result.rows(ROWS_FETCH)) if as_rows else result.arrow().num_rows
            times.append(time.perf_counter() - t0)
            engines.add(str(result.engine))
        if spec.get("copy_key"):
            state = session.hybrid.copies.get(str(spec["copy_key"]))
            copied = state is not None and state.copy is not None
        session.close()
    elif engine == "sqlite":
        import sqlite3

        lite = sqlite3.connect(str(spec["db"]))
        for statement in setup_sql:
            lite.execute(statement)
        setup = time.perf_counter() - start
        for i in range(reps):
            sql = sqls[i % len(sqls)]
            t0 = time.perf_counter()
            rows = len(lite.execute(sql).fetchmany(ROWS_FETCH) if as_rows else lite.execute(sql).fetchall())
            times.append(time.perf_counter() - t0)
        engines.add("sqlite")
        lite.close()
    else:
        import duckdb

        con = duckdb.connect()
        for statement in setup_sql:
            con.execute(statement)
        setup = time.perf_counter() - start
        for i in range(reps):
            sql = sqls[i % len(sqls)]
            t0 = time.perf_counter()
            if as_rows:
                rows = len(con.execute(sql).fetchmany(ROWS_FETCH))
            else:
                rows = con.execute(sql).to_arrow_table().num_rows
            times.append(time.perf_counter() - t0)
        engines.add("duckdb")
        con.close()
    return {"setup": setup, "times": times, "rows": rows, "engines": sorted(engines), "copied": copied}


@dataclass
class InSession:
    setup: float = 0.0
    times: list[float] = field(default_factory=list)
    rows: int = -1
    error: str | None = None
    engines: list[str] = field(default_factory=list)  # which engine ran the statements
    copied: bool | None = None  # Noctra: whether the watched SQLite table had a DuckDB copy at the end

    @property
    def first(self) -> float:
        return self.times[0]

    @property
    def rest(self) -> float:
        return median(self.times[1:])

    def series(self, n: int = 6) -> str:
        return ", ".join(f"{t * 1000:.2f}" if t < 0.01 else f"{t * 1000:.1f}" for t in self.times[:n])


def in_session(spec: dict[str, object], env: dict[str, str]) -> InSession:
    out = check_command([sys.executable, str(WORKER_SCRIPT), "--worker", json.dumps(spec)], env)
    data = json.loads(out.strip().splitlines()[-1])
    if "error" in data:
        return InSession(error=str(data["error"]))
    copied = data.get("copied")
    return InSession(
        float(data["setup"]),
        [float(t) for t in data["times"]],
        int(data["rows"]),
        engines=[str(e) for e in data.get("engines", [])],
        copied=None if copied is None else bool(copied),
    )


# export runs


@dataclass
class ExportSide:
    """Whole-process runs of one side of one export variant."""

    seconds: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)  # peak RSS, KiB
    bytes: list[int] = field(default_factory=list)  # output size
    files: int = 0  # files written (a directory with per_thread_output)

    def add(self, seconds: float, rss: int | None, written: tuple[int, int]) -> None:
        self.seconds.append(seconds)
        if rss is not None:
            self.rss.append(rss)
        self.bytes.append(written[0])
        self.files = written[1]


@dataclass
class ExportRuns:
    noctra: ExportSide = field(default_factory=ExportSide)
    raw: ExportSide = field(default_factory=ExportSide)


def output_size(path: Path) -> tuple[int, int]:
    """Bytes and files written at path (a file, or a directory of files), then removed."""
    if path.is_dir():
        files = [f for f in path.rglob("*") if f.is_file()]
        size = sum(f.stat().st_size for f in files)
        shutil.rmtree(path)
        return size, len(files)
    size = path.stat().st_size
    path.unlink()
    return size, 1


_ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def until_text(cmd: Sequence[str], env: dict[str, str], marker: bytes, *, timeout: float = 60.0) -> float:
    """Wall time from spawning cmd on a terminal (a pty) until marker is on its screen, or until it
    exits when marker is empty; a child still running then is killed.

    The REPL's first prompt is what a person waits for: its text on the terminal is the mark.
    CPR is off (``PROMPT_TOOLKIT_NO_CPR``): no terminal answers here, and waiting for one
    would time the timeout.
    """
    import pty
    import select

    empty_xdg(env)
    master, slave = pty.openpty()
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"},
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    try:
        while True:
            if marker and marker in _ESCAPES.sub(b"", seen):
                return time.perf_counter() - start
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"{marker!r} never appeared in {timeout:g} s: {cmd}\n{seen!r}")
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal: it exited
                    chunk = b""
                if not chunk and not marker:
                    proc.wait()
                    return time.perf_counter() - start
                if not chunk and proc.poll() is not None:
                    raise RuntimeError(f"exited (code {proc.returncode}) before {marker!r}: {cmd}\n{seen!r}")
                seen += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def interleaved_on_terminal(
    cmd_a: Sequence[str], marker_a: bytes, cmd_b: Sequence[str], runs: int, env: dict[str, str]
) -> Pairs:
    """Like interleaved(), on a pty: a until marker_a is drawn, b until it exits; one warm-up pair."""
    until_text(cmd_a, env, marker_a)
    until_text(cmd_b, env, b"")
    pairs = Pairs()
    for _ in range(runs):
        pairs.a.append(until_text(cmd_a, env, marker_a))
        pairs.b.append(until_text(cmd_b, env, b""))
    return pairs
