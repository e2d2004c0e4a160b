"""How the `noctra` process ends: at once when nothing is waiting, the usual way otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# A script standing in for the `noctra` command: something to notice the interpreter's
# teardown (a finalizer of a global), then what the test adds, then the command itself.
PRELUDE = """
import sys
class Noisy:
    def __del__(self):
        print("teardown", file=sys.stderr)
noisy = Noisy()
"""
COMMAND = """
from noctra.__main__ import run
sys.argv = ["noctra", *sys.argv[1:]]
raise SystemExit(run())
"""


def run_script(
    extra: str, args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + extra + COMMAND, *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "code", "out"),
    [
        (
            ["-c", "SELECT range AS n FROM range(100000)", "--format", "csv"],
            0,
            "n\n" + "".join(f"{i}\n" for i in range(100000)),
        ),
        (["-c", "SELEC 1"], 1, ""),
    ],
    ids=["rows", "error"],
)
def test_a_finished_command_ends_without_the_teardown_and_loses_no_output(
    isolated_env: dict[str, str], tmp_path: Path, args: list[str], code: int, out: str
) -> None:
    proc = run_script("", args, isolated_env, tmp_path)
    assert (proc.returncode, proc.stdout) == (code, out)
    assert "teardown" not in proc.stderr
    assert ("noctra: error" in proc.stderr) == (code != 0)


def test_an_atexit_handler_keeps_the_usual_exit(isolated_env: dict[str, str], tmp_path: Path) -> None:
    extra = "import atexit\natexit.register(print, 'handler ran')\n"
    proc = run_script(extra, ["-c", "SELECT 42 AS x", "--format", "csv"], isolated_env, tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "x\n42\nhandler ran\n")
    assert "teardown" in proc.stderr


def test_a_running_thread_keeps_the_usual_exit(isolated_env: dict[str, str], tmp_path: Path) -> None:
    extra = (
        "import threading, time\n"
        "threading.Thread(target=lambda: (time.sleep(0.5), print('thread done'))).start()\n"
    )
    proc = run_script(extra, ["-c", "SELECT 42 AS x", "--format", "csv"], isolated_env, tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "x\n42\nthread done\n")
