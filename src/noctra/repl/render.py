"""``.mode line``: each row as ``column = value`` lines, as the DuckDB CLI shows it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from noctra.output.model import Result
from noctra.output.render import cell_width, display_value

_CHUNK = 1000


def write_lines(
    result: Result,
    stream: TextIO,
    *,
    max_rows: int | None,
    before_output: Callable[[], None],
    color: bool = False,
) -> int:
    """Write up to max_rows rows (None: all), a blank line between them; returns how many.

    Names and values are made safe for a terminal as table output makes them (control
    characters as their pictures); on a colour terminal NULL is dimmed, as in a table.
    """
    result.as_shown()
    columns = result.columns
    names = [display_value(c.name) for c in columns]
    width = max((cell_width(n) for n in names), default=0)
    null = "\033[2mNULL\033[0m" if color else "NULL"

    def value(v: object, type_name: str) -> str:
        return null if v is None else display_value(v, type_name)

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
                    " " * (width - cell_width(n)) + f"{n} = {value(v, c.type)}\n"
                    for n, c, v in zip(names, columns, row, strict=True)
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
