"""Engines: where statements run. Above this package, code sees only the Engine protocol (base.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from noctra.engine.base import Engine


def open_engine(name: str = "duckdb") -> Engine:
    """A new engine for one session (DuckDB in memory; SPEC 4.1). Imported only when opened."""
    if name != "duckdb":
        from noctra.errors import ConfigError

        raise ConfigError(f"unknown engine {name!r}", hint="the engine is duckdb")
    from noctra.engine.duck import DuckEngine

    return DuckEngine(":memory:")
