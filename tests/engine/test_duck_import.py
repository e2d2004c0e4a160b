"""Noctra imports duckdb without importlib.metadata, and duckdb's version API is unchanged."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


# Every type DuckDB can describe a column with, and the DB-API categories each belongs to.
TYPE_PROBE = """
import duckdb, sys
names = [n for n in dir(duckdb.sqltypes) if n.isupper()]
parsed = ["DECIMAL", "DECIMAL(10,2)", "BIGNUM", "VARCHAR[]", "STRUCT(a INTEGER)", "MAP(VARCHAR, INTEGER)",
          "TIMESTAMP WITH TIME ZONE", "ENUM('a','b')", "UNION(a INTEGER, b VARCHAR)", "INTEGER[3]"]
connection = duckdb.connect()
kinds = [getattr(duckdb.sqltypes, n) for n in names] + [connection.sqltype(p) for p in parsed]
described = connection.sql("SELECT 1.5::DECIMAL(18,3) a, 'x' b, DATE '2020-01-01' c, 2::BIGNUM d").description
kinds += [column[1] for column in described]
for kind in kinds:
    print(kind, [kind == duckdb.STRING, kind == duckdb.NUMBER, kind == duckdb.DATETIME, kind == duckdb.BINARY,
                 duckdb.NUMBER == kind, kind != duckdb.NUMBER])
print(repr(duckdb.STRING), repr(duckdb.NUMBER), repr(duckdb.DATETIME), repr(duckdb.BINARY), duckdb.ROWID)
print(duckdb.DBAPITypeObject.__module__, duckdb.DBAPITypeObject.__name__)
print(isinstance(duckdb.NUMBER, duckdb.DBAPITypeObject), duckdb.DBAPITypeObject.__hash__)
print(duckdb.DBAPITypeObject([duckdb.sqltypes.UUID]) == duckdb.sqltypes.UUID, "BINARY" in duckdb.__all__)
"""


def test_the_db_api_type_objects_are_what_duckdb_itself_gives() -> None:
    plain = run(TYPE_PROBE)
    through_noctra = run(f"import noctra.engine.duck\n{TYPE_PROBE}")
    assert through_noctra == plain
    assert "DECIMAL(18,3) [False, True, False, False, True, False]" in plain  # the probe probes


THREADS = (
    "import os; tasks = lambda: len(os.listdir('/proc/self/task')); before = tasks(); "
    "import {}; print(tasks() - before)"
)


@pytest.mark.skipif(
    not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2, reason="counts Linux worker threads"
)
def test_noctra_imports_duckdb_without_opening_its_default_database() -> None:
    """A plain ``import duckdb`` opens the module's default database (its worker threads
    start); through Noctra the import opens nothing until a type object is compared."""
    assert int(run(THREADS.format("duckdb"))) >= 1
    assert run(THREADS.format("noctra.engine.duck, duckdb")) == "0\n"
