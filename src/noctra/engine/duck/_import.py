"""Import duckdb without importlib.metadata: ~25 ms of every Noctra start.

DuckDB 1.5.5's ``duckdb/_version.py`` asks ``importlib.metadata`` for its distribution's
version, which imports email, zipfile and friends and scans site-packages (measured:
``import duckdb`` 77 ms, 51 ms without it). For the pinned wheel that version is the one
its C module reports, so for exactly that version Noctra puts an equal ``_version``
module in place before duckdb imports its own; any other version imports as DuckDB
ships it. tests/engine/test_duck_import.py checks both against a plain ``import duckdb``.

The extension module is also loaded with lazy binding: Python dlopens with RTLD_NOW, which
resolves every one of the ~56,000 symbols the 60 MB module exports before the first query
(callgrind: 28 M instructions, ~7 % of a whole ``select 1``); lazily, only the functions a
run calls are resolved, on first call. The wheel imports with RTLD_NOW in the tests, so
nothing is left unresolved.
"""

from __future__ import annotations

import os
import sys
import types

PINNED = "1.5.5"  # pyproject.toml's duckdb pin (a test keeps them equal)


def prepare() -> None:
    """Before the first ``import duckdb``: its version module, without importlib.metadata."""
    if "duckdb" in sys.modules or "duckdb._version" in sys.modules:
        return
    try:
        _duckdb = _load_lazily()
    except ImportError:
        return  # the import of duckdb itself reports it
    bundled = getattr(_duckdb, "__version__", None)
    if bundled != PINNED:
        return
    module = types.ModuleType(
        "duckdb._version", "Version API (put in place by Noctra: noctra/engine/duck/_import.py)"
    )

    def version() -> str:
        """Human-friendly formatted version string of the package and the bundled engine."""
        return f"{PINNED} (with duckdb {bundled})"

    module.__dict__.update(__version__=PINNED, __duckdb_version__=bundled, version=version)
    sys.modules["duckdb._version"] = module


def _load_lazily() -> types.ModuleType:
    """``import _duckdb`` with RTLD_LAZY in place of Python's RTLD_NOW; the flags are put back."""
    lazy = getattr(os, "RTLD_LAZY", None)
    flags = sys.getdlopenflags()
    if lazy is None or os.environ.get("LD_BIND_NOW"):
        import _duckdb

        return _duckdb
    sys.setdlopenflags((flags & ~getattr(os, "RTLD_NOW", 0)) | lazy)
    try:
        import _duckdb
    finally:
        sys.setdlopenflags(flags)
    return _duckdb
