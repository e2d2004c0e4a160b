"""Import duckdb without importlib.metadata: ~25 ms of every Noctra start.

DuckDB 1.5.5's ``duckdb/_version.py`` asks ``importlib.metadata`` for its distribution's
version, which imports email, zipfile and friends and scans site-packages (measured:
``import duckdb`` 77 ms, 51 ms without it). For the pinned wheel that version is the one
its C module reports, so for exactly that version Noctra puts an equal ``_version``
module in place before duckdb imports its own; any other version imports as DuckDB
ships it. tests/engine/test_duck_import.py checks both against a plain ``import duckdb``.

Its ``_dbapi_type_object`` module builds the DB-API type objects (``duckdb.NUMBER``...) at
import, and two of NUMBER's types are parsed from text (``DuckDBPyType("DECIMAL")``), which
opens DuckDB's module-wide default database: a whole in-memory instance with its worker
threads, ~20 ms at start and ~7 ms at exit, for a connection Noctra never uses. For the
pinned version Noctra puts in place an equal module whose type lists are built on first use.

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
from typing import Any, cast

PINNED = "1.5.5"  # pyproject.toml's duckdb pin (a test keeps them equal)
# The DB-API categories' types, as duckdb/_dbapi_type_object.py lists them (a test compares).
_INTEGERS = (
    *("TINYINT", "UTINYINT", "SMALLINT", "USMALLINT", "INTEGER", "UINTEGER"),
    *("BIGINT", "UBIGINT", "HUGEINT", "UHUGEINT"),
)
_DATETIMES = (
    *("DATE", "TIME", "TIME_TZ", "TIMESTAMP", "TIMESTAMP_TZ"),
    *("TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"),
)


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
    sys.modules["duckdb._dbapi_type_object"] = _type_objects(_duckdb)


def _type_objects(_duckdb: types.ModuleType) -> types.ModuleType:
    """DuckDB 1.5.5's ``duckdb/_dbapi_type_object.py``, its type lists made on first use."""
    module = types.ModuleType(
        "duckdb._dbapi_type_object",
        "DB API 2.0 type objects (put in place by Noctra: noctra/engine/duck/_import.py)",
    )
    sqltypes = _duckdb._sqltypes

    class DBAPITypeObject:
        """DB API 2.0 type object: equal to every DuckDB type of its category (PEP 249)."""

        def __init__(self, types: Any) -> None:
            self._types = types  # a list, or a function that makes it

        @property
        def types(self) -> list[Any]:
            if callable(self._types):
                self._types = self._types()
            return cast("list[Any]", self._types)

        @types.setter
        def types(self, value: list[Any]) -> None:
            self._types = value

        def __eq__(self, other: object) -> bool:
            if isinstance(other, sqltypes.DuckDBPyType):
                return other in self.types
            return False

        __hash__ = None  # type: ignore[assignment]  # as DuckDB's: __eq__ without __hash__

        def __repr__(self) -> str:
            return f"<DBAPITypeObject [{','.join(str(x) for x in self.types)}]>"

    DBAPITypeObject.__module__ = "duckdb._dbapi_type_object"
    DBAPITypeObject.__qualname__ = "DBAPITypeObject"

    def numbers() -> list[Any]:
        return [
            *(getattr(sqltypes, name) for name in _INTEGERS),
            sqltypes.DuckDBPyType("BIGNUM"),  # parsed by the default connection: opened here
            sqltypes.DuckDBPyType("DECIMAL"),
            sqltypes.FLOAT,
            sqltypes.DOUBLE,
        ]

    module.__dict__.update(
        DBAPITypeObject=DBAPITypeObject,
        STRING=DBAPITypeObject([sqltypes.VARCHAR]),
        NUMBER=DBAPITypeObject(numbers),
        DATETIME=DBAPITypeObject([getattr(sqltypes, name) for name in _DATETIMES]),
        BINARY=DBAPITypeObject([sqltypes.BLOB]),
        ROWID=None,
    )
    return module


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
