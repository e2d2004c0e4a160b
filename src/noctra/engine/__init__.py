"""Engines: where statements run. Above this package, code sees only the Engine protocol (base.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from noctra.engine.base import Engine


def open_engine(
    name: str = "duckdb",
    *,
    local: Engine | None = None,
    remote: str | None = None,
    sqlite_max_rows: int = 1_000_000,
) -> Engine:
    """A new engine for one session, imported only when opened.

    ``duckdb``: DuckDB in memory (SPEC 4.1). ``spark``: Spark Connect at ``remote``
    (None: a local server started on first use), with ``local`` (the session's DuckDB
    engine) sniffing files, reading SQLite tables and serializing results (SPEC 9).
    """
    if name == "duckdb":
        from noctra.engine.duck import DuckEngine

        return DuckEngine(":memory:")
    if name == "spark" and local is not None:
        from noctra.engine.spark import SparkEngine

        return SparkEngine(remote, local=local, sqlite_max_rows=sqlite_max_rows)
    from noctra.errors import ConfigError

    raise ConfigError(f"unknown engine {name!r}", hint="the engines are duckdb and spark")
