"""Status: a snapshot of a session for a status bar (SPEC 5), made when asked for."""

from __future__ import annotations

from noctra.output.render import format_size
from noctra.records import record


@record(frozen=True)
class Status:
    """A snapshot for a status bar (SPEC 5); reading it never disturbs a running result."""

    engine: str  # the engine that ran the last statement: duckdb, sqlite or noctra
    io_type: str  # local or remote: how the threads in force were chosen
    threads: int | None
    current_source: str | None
    current_size: int | None  # bytes on disk of the current source
    memory_used: int | None  # bytes DuckDB holds now
    memory_limit: int | None  # bytes
    memory_limit_text: str | None
    last_seconds: float | None
    last_rows: int | None
    running: bool
    endpoint: str | None = None  # where the engine runs, for Spark: sc://host:port
    # The last statement did not finish: ('cancelled' or 'failed', seconds it ran).
    last_failure: tuple[str, float] | None = None

    def line(self) -> str:
        """The status bar as one line of text."""
        where = f" ({self.endpoint})" if self.endpoint else ""
        parts = [f"Engine: {_ENGINE_NAMES.get(self.engine, self.engine)}{where}"]
        threads = "" if self.threads is None else f" (threads={self.threads})"
        parts.append(f"I/O: {self.io_type.capitalize()}{threads}")
        if self.current_source is not None:
            size = format_size(self.current_size)
            parts.append(f"Source: {self.current_source}" + (f" ({size})" if size else ""))
        if self.memory_used is not None:
            limit = f" / {self.memory_limit_text}" if self.memory_limit_text else ""
            parts.append(f"Memory: {format_size(self.memory_used) or '0 B'}{limit}")
        if self.last_failure is not None:
            how, seconds = self.last_failure
            parts.append(f"{how} after {_duration(seconds)}")
        elif self.last_seconds is not None:
            count = self.last_rows
            rows = "" if count is None else f" · {count:,} row{'' if count == 1 else 's'}"
            parts.append(f"{self.last_seconds * 1000:.0f} ms{rows}")
        return " │ ".join(parts)


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


_ENGINE_NAMES = {"duckdb": "DuckDB", "sqlite": "SQLite", "noctra": "Noctra", "spark": "Spark"}
