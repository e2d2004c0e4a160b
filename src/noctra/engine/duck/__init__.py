"""DuckDB behind the Engine protocol: core, readers, extensions, error translation."""

from noctra.engine.duck.engine import DuckEngine, DuckResult

__all__ = ["DuckEngine", "DuckResult"]
