"""Shared fixtures: Noctra run in a subprocess or in process, and a directory of sample sources."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb
import pytest

from noctra.cli import main

SAMPLE_CSV = 'id,name,amount\n1,"Smith, J",10.5\n2,,20\n3,Ann,\n'


class RunNoctra(Protocol):
    """Runs `python -m noctra ARGS` in cwd and returns the finished process (text streams)."""

    def __call__(
        self, *args: str, cwd: Path, input: str | None = None
    ) -> subprocess.CompletedProcess[str]: ...


@dataclass(frozen=True, slots=True)
class CliRun:
    """What one in-process `noctra.cli.main(argv)` call returned and printed."""

    code: int
    out: str
    err: str


class RunMain(Protocol):
    """Calls `noctra.cli.main(list(args))` in tmp_path and captures stdout and stderr."""

    def __call__(self, *args: str) -> CliRun: ...


@pytest.fixture
def isolated_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment with config and session state kept out of the user's home."""
    home = tmp_path_factory.mktemp("xdg")
    env = {k: v for k, v in os.environ.items() if k != "NOCTRA_CONFIG"}
    env["XDG_CONFIG_HOME"] = str(home / "config")
    env["XDG_STATE_HOME"] = str(home / "state")
    env["PYTHONIOENCODING"] = "utf-8"
    return env


@pytest.fixture
def run_noctra(isolated_env: dict[str, str]) -> RunNoctra:
    """Run Noctra as a separate process, as a shell or a script would."""

    def run(*args: str, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "noctra", *args],
            cwd=cwd,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=isolated_env,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def run_main(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    isolated_env: dict[str, str],
) -> RunMain:
    """Run `noctra.cli.main` in this process, in tmp_path, capturing both streams."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NOCTRA_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", isolated_env["XDG_CONFIG_HOME"])
    monkeypatch.setenv("XDG_STATE_HOME", isolated_env["XDG_STATE_HOME"])

    def run(*args: str) -> CliRun:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run


@pytest.fixture
def sample_files(tmp_path: Path) -> Path:
    """tmp_path holding t.csv, people.db (SQLite users), p.parquet and e.ndjson."""
    (tmp_path / "t.csv").write_text(SAMPLE_CSV, encoding="utf-8")
    with sqlite3.connect(tmp_path / "people.db") as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO users VALUES (?, ?)", [(1, "Ann"), (2, "Bo")])
    conn.close()
    parquet = str(tmp_path / "p.parquet").replace("'", "''")
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT * FROM (VALUES (1, 'x', 1.5), (2, 'y', NULL), (3, NULL, 3.0)) v(id, tag, score))"
            f" TO '{parquet}' (FORMAT parquet)"
        )
    (tmp_path / "e.ndjson").write_text(
        '{"id": 1, "kind": "click"}\n{"id": 2, "kind": null}\n', encoding="utf-8"
    )
    return tmp_path
