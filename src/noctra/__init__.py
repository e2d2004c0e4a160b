"""Noctra: don't import data, query it.

Nothing heavy is imported here: ``Session`` (and DuckDB with it) loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from noctra.errors import BusyError, NoctraError

__version__ = "0.6.0"
__all__ = ["BusyError", "Config", "NoctraError", "Result", "Session", "__version__"]

if TYPE_CHECKING:
    from noctra.config import Config
    from noctra.output.model import Result
    from noctra.session import Session


def __getattr__(name: str) -> object:
    if name == "Session":
        from noctra.session import Session

        return Session
    if name == "Config":
        from noctra.config import Config

        return Config
    if name == "Result":
        from noctra.output.model import Result

        return Result
    raise AttributeError(f"module 'noctra' has no attribute {name!r}")
