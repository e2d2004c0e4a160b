"""``.mode line``: each row as ``column = value`` lines, as the DuckDB CLI shows it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from noctra.output.model import Result
from noctra.output.render import cell_width, display_value

_CHUNK = 1000


def write_lines(
    result: Result, stream: TextIO, *, max_rows: int | None, before_output: Callable[[], None]
) -> int:
    """Write up to max_rows rows (None: all), a blank line between them; returns how many."""
    result.as_shown()
    columns = result.columns
    width = max((cell_width(c.name) for c in columns), default=0)
    shown = more = 0
    while chunk := result.rows(_CHUNK if max_rows is None else min(_CHUNK, max_rows + 1 - shown)):
        if max_rows is not None and shown + len(chunk) > max_rows:
            more = shown + len(chunk) - max_rows
            chunk = chunk[: max_rows - shown]
        if not shown:
            before_output()
        for row in chunk:
            stream.write("\n" if shown else "")
            stream.write(
                "".join(
                    " " * (width - cell_width(c.name)) + f"{c.name} = {display_value(v, c.type)}\n"
                    for c, v in zip(columns, row, strict=True)
                )
            )
            shown += 1
        if more:
            # Counted, not kept: past the limit only the number of rows is shown.
            while rest := result.rows(10_000):
                more += len(rest)
            break
    before_output()
    if more:
        stream.write(f"… {more:,} more {'row' if more == 1 else 'rows'}\n")
    result.close()
    result.row_count = shown + more
    return shown
