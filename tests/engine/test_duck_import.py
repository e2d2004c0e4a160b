"""Noctra imports duckdb without importlib.metadata, and duckdb's version API is unchanged."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from noctra.engine.duck import _import

PROBE = "import duckdb, sys; print(duckdb.__version__, duckdb.__duckdb_version__, duckdb.version(), sep='|')"


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


def test_the_version_api_is_what_duckdb_itself_gives() -> None:
    plain = run(PROBE)
    through_noctra = run(f"import noctra.engine.duck; {PROBE}")
    assert through_noctra == plain
    assert plain.split("|")[0] == _import.PINNED


def test_noctra_imports_duckdb_without_importlib_metadata() -> None:
    code = (
        "import sys, noctra.engine.duck; print('importlib.metadata' in sys.modules, 'email' in sys.modules)"
    )
    assert run(code) == "False False\n"
    assert run("import sys, duckdb; print('importlib.metadata' in sys.modules)") == "True\n"  # why it pays


def test_the_pinned_version_is_pyproject_s() -> None:
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    pin = re.search(r'"duckdb==([^"]+)"', pyproject)
    assert pin is not None and pin.group(1) == _import.PINNED
