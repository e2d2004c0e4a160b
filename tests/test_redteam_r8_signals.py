"""Red team, round 8: interruption on every road — signals, --timeout, cancel, dying processes.

Real processes, real signals, real files. Findings are strict xfails; the rest pins roads that
work and were not covered elsewhere.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from noctra import Session
from noctra.engine.export import STALE_SECONDS
from tests.repl.conftest import CTRL_C, CTRL_D, Pty

# A statement that runs for minutes in SQLite itself (four-way self join of 1,000 rows).
SQLITE_LONG = "SELECT count(*) AS n FROM t a, t b, t c, t e"
DUCK_LONG = "SELECT count(*) AS n FROM range(10000000000)"
HUGE = "SELECT range AS i, range * 2 AS j FROM range(3000000000)"


def _sqlite_db(path: Path) -> Path:
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (a INTEGER)")
        con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(1000)])
    return path


def _popen(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "noctra", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_ready(process: subprocess.Popen[bytes]) -> None:
    """The script starts with ``SELECT 1 AS ready``: once its csv is out, the next statement runs."""
    assert process.stdout is not None
    assert process.stdout.readline() + process.stdout.readline() == b"ready\n1\n"
    time.sleep(0.5)  # the long statement has begun (waiting longer only makes it surer)


def _stop(process: subprocess.Popen[bytes], signum: int, wait: float = 10) -> tuple[int | None, str]:
    """Send signum; the exit code and stderr, or None when it still runs after ``wait`` seconds."""
    process.send_signal(signum)
    try:
        _, err = process.communicate(timeout=wait)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate(timeout=30)
        return None, err.decode("utf-8", "replace")
    return process.returncode, err.decode("utf-8", "replace")


# --- 1. native SQLite statements ignore Ctrl-C and SIGTERM ------------------------------------


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["INT", "TERM"]
)
def test_a_signal_stops_a_native_sqlite_statement(
    signum: int, code: int, tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    _sqlite_db(tmp_path / "db.sqlite")
    process = _popen(
        ["--format", "csv", "-c", f"USE 'db.sqlite' AS d; SELECT 1 AS ready; {SQLITE_LONG}"],
        tmp_path,
        isolated_env,
    )
    _wait_ready(process)
    returncode, err = _stop(process, signum)
    assert returncode == code, f"still running 10 s after {signal.Signals(signum).name}: {err}"
    assert "Traceback" not in err


def test_timeout_does_stop_a_native_sqlite_statement_in_auto_mode(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    # The same statement as above: the timer thread's cancel reaches it (the signals do not).
    _sqlite_db(tmp_path / "db.sqlite")
    proc = subprocess.run(
        [sys.executable, "-m", "noctra", "--timeout", "1", "-c", f"USE 'db.sqlite' AS d; {SQLITE_LONG}"],
        cwd=tmp_path,
        env=isolated_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.splitlines()[1].startswith("noctra: error: statement 2") and (
        "timed out after 1 s" in proc.stderr
    ), proc.stderr
    # Not asserted here: about one run in ten also prints the noctra-timeout thread's
    # ConnectionException traceback (see test_cancel_while_another_thread_closes_...).


def test_repl_ctrl_c_cancels_a_native_sqlite_statement(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    _sqlite_db(tmp_path / "db.sqlite")
    repl = Pty(["repl", "db.sqlite"], cwd=tmp_path, env=isolated_env)
    try:
        repl.expect(r"noctra \[db\]>")
        repl.send(SQLITE_LONG + ";\r")
        time.sleep(1.5)  # SQLite is inside the join now
        repl.send(CTRL_C)
        repl.expect(r"cancelled", timeout=10)
        repl.expect(r"noctra \[db\]>")
        repl.send("SELECT count(*) + 1 AS answer FROM t;\r")
        assert "1001" in repl.expect(r"1 row")
        repl.expect(r"noctra \[db\]>")  # Ctrl-D typed ahead would be the line discipline's EOF
        repl.send(CTRL_D)
        assert repl.close() == 0
    finally:
        repl.proc.kill()
        repl.proc.wait(timeout=30)


# --- 2. Python API: cancel() racing close(), and a KeyboardInterrupt in the main thread ------


def test_cancel_while_another_thread_closes_the_session_raises_nothing() -> None:
    errors: list[BaseException] = []
    for _ in range(150):
        session = Session(restore=False)
        stop = threading.Event()

        def cancel_until_stopped(session: Session = session, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                try:
                    session.cancel()
                except BaseException as exc:  # noqa: BLE001 - any escape is the finding
                    errors.append(exc)
                    return

        thread = threading.Thread(target=cancel_until_stopped)
        thread.start()
        session.close()
        stop.set()
        thread.join(timeout=30)
        if errors:
            break
    assert errors == []


KEYBOARD_INTERRUPT_SCRIPT = textwrap.dedent(
    """
    import signal, sys
    from noctra import Session

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGALRM, interrupt)
    session = Session(restore=False)
    road = sys.argv[1]
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        if road == "rows":
            session.sql("SELECT count(*) FROM range(20000000000)").rows(1)
        elif road == "let":
            session.let("v", "(SELECT count(*) FROM range(20000000000))")
        elif road == "export":
            session.export("SELECT range AS i, range * 2 AS j FROM range(3000000000)", "out.csv")
        elif road == "reader":
            for _ in session.sql("SELECT range AS i FROM range(3000000000)").reader():
                pass
        print("finished")
    except KeyboardInterrupt:
        print("KeyboardInterrupt")
    except BaseException as exc:
        print("raised", type(exc).__module__, type(exc).__name__, exc)
    signal.setitimer(signal.ITIMER_REAL, 0)
    print(session.sql("SELECT 6 * 7 AS a, 'x' AS b").rows(10))
    print(sorted(session.variables))
    """
)


def _run_keyboard_interrupt(road: str, cwd: Path, env: dict[str, str]) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", KEYBOARD_INTERRUPT_SCRIPT, road],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@pytest.mark.parametrize("road", ["rows", "let", "export"])
def test_a_keyboard_interrupt_during_an_api_call_stays_a_keyboard_interrupt(
    road: str, tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    lines = _run_keyboard_interrupt(road, tmp_path, isolated_env)
    assert lines[0] == "KeyboardInterrupt", lines


@pytest.mark.parametrize("road", ["rows", "let", "export", "reader"])
def test_after_a_keyboard_interrupt_the_session_answers_right_and_nothing_changed(
    road: str, tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    (tmp_path / "out.csv").write_text("i,j\nold,old\n", encoding="utf-8")
    lines = _run_keyboard_interrupt(road, tmp_path, isolated_env)
    assert lines[0] != "finished", lines
    assert lines[1:] == ["[(42, 'x')]", "[]"], lines
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == "i,j\nold,old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


# --- 3. CLI roads that work ------------------------------------------------------------------


def _noctra(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "noctra", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_let_cut_by_timeout_keeps_the_old_value_across_runs(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    assert _noctra(["-c", "LET x = 5"], tmp_path, isolated_env).returncode == 0
    cut = _noctra(["--timeout", "1", "-c", f"LET x = ({DUCK_LONG})"], tmp_path, isolated_env)
    assert cut.returncode == 4, cut.stderr
    assert "Traceback" not in cut.stderr
    after = _noctra(["--format", "csv", "-c", "SELECT #x AS x"], tmp_path, isolated_env)
    assert (after.returncode, after.stdout) == (0, "x\n5\n"), after.stderr


@pytest.mark.parametrize("fmt", ["parquet", "json"])
def test_timeout_mid_export_keeps_a_file_noctra_wrote_earlier(
    fmt: str, tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    first = _noctra(["-c", f"EXPORT (SELECT range AS i FROM range(5)) TO 'o.{fmt}'"], tmp_path, isolated_env)
    assert first.returncode == 0, first.stderr
    before = (tmp_path / f"o.{fmt}").read_bytes()
    cut = _noctra(
        [
            "--timeout",
            "1",
            "-c",
            f"EXPORT (SELECT range AS i, range * 2 AS j FROM range(3000000000)) TO 'o.{fmt}'",
        ],
        tmp_path,
        isolated_env,
    )
    assert cut.returncode == 4, cut.stderr
    assert (tmp_path / f"o.{fmt}").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"o.{fmt}"]
    back = _noctra(["--format", "csv", "-c", f"SELECT sum(i) AS s FROM 'o.{fmt}'"], tmp_path, isolated_env)
    assert back.stdout == "s\n10\n", back.stderr


@pytest.mark.parametrize("fmt", ["tsv", "markdown"])
def test_output_piped_into_head_exits_cleanly_for_the_other_formats(
    fmt: str, tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    noctra = _popen(["--format", fmt, "-c", "SELECT * FROM range(10000000)"], tmp_path, isolated_env)
    assert noctra.stdout is not None
    head = subprocess.run(["head", "-1"], stdin=noctra.stdout, capture_output=True, timeout=60, check=False)
    noctra.stdout.close()
    _, err = noctra.communicate(timeout=60)
    assert head.stdout.strip()
    assert noctra.returncode == 0, err
    assert err == b""


def test_sigterm_mid_batch_keeps_the_statements_that_ran_in_the_session(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n2\n", encoding="utf-8")
    (tmp_path / "run.sql").write_text(
        f"USE 'a.csv' AS a;\nLET k = 7;\nSELECT 1 AS ready;\n{DUCK_LONG};\nLET k = 8;\n", encoding="utf-8"
    )
    process = _popen(["--format", "csv", "batch", "run.sql"], tmp_path, isolated_env)
    _wait_ready(process)
    returncode, err = _stop(process, signal.SIGTERM)
    assert returncode == 143, err
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    after = _noctra(["--format", "csv", "-c", "SELECT #k AS k, sum(x) AS s FROM a"], tmp_path, isolated_env)
    assert (after.returncode, after.stdout) == (0, "k,s\n7,3\n"), after.stderr
    state = Path(isolated_env["XDG_STATE_HOME"]) / "noctra"
    assert [p.name for p in state.iterdir() if p.name not in ("session.toml", "session.toml.lock")] == []


def test_sigkill_mid_export_leaves_the_old_file_and_the_next_export_cleans_up(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    (tmp_path / "o.csv").write_bytes(b"old\n")
    process = _popen(
        ["-c", "EXPORT (SELECT range AS i, range * 2 AS j FROM range(3000000000)) TO 'o.csv'"],
        tmp_path,
        isolated_env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not [p for p in tmp_path.iterdir() if p.name != "o.csv"]:
        time.sleep(0.05)
    left = [p for p in tmp_path.iterdir() if p.name != "o.csv"]
    assert left, "the export never began writing"
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert (tmp_path / "o.csv").read_bytes() == b"old\n"
    # A temp younger than STALE_SECONDS may be a live export's: the next export removes it once
    # it is old enough and its process is gone.
    for temp in left:
        os.utime(temp, (time.time() - 2 * STALE_SECONDS,) * 2)
    again = _noctra(["-c", "EXPORT (SELECT 1 AS one) TO 'o.csv'"], tmp_path, isolated_env)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "o.csv").read_text(encoding="utf-8") == "one\n1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.csv"]
