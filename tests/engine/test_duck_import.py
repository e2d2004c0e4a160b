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


def test_duckdb_is_loaded_lazily_and_python_s_flags_are_put_back() -> None:
    """The extension module binds its symbols on first call; modules imported later do not."""
    code = (
        "import os, sys; before = sys.getdlopenflags(); import noctra.engine.duck, duckdb; "
        "print(sys.getdlopenflags() == before, before & os.RTLD_NOW == os.RTLD_NOW); "
        'c = duckdb.connect(); print(c.sql("SELECT sum(x) FROM range(5) t(x)").fetchall())'
    )
    assert run(code) == "True True\n[(10,)]\n"
    # the lazy load is what makes the import cheaper: count the symbols bound at load
    bound_now = _bindings("import os, sys; sys.setdlopenflags(os.RTLD_NOW); import duckdb")
    bound_by_noctra = _bindings("import noctra.engine.duck, duckdb")
    assert bound_by_noctra < bound_now * 0.75  # measured: ~26,000 of ~48,000


def _bindings(code: str) -> int:
    """How many symbol bindings the dynamic linker made for _duckdb while code ran."""
    import os

    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "LD_DEBUG": "bindings"},
    )
    return sum(1 for line in done.stderr.splitlines() if "_duckdb" in line and "binding file" in line)
