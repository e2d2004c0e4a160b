"""DuckDB behind the Engine protocol: core, readers, extensions, error translation."""

from noctra.engine.duck import _import

_import.prepare()  # before any module of this package imports duckdb

from noctra.engine.duck.engine import DuckEngine, DuckResult  # noqa: E402

__all__ = ["DuckEngine", "DuckResult"]
