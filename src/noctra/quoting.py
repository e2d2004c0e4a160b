"""The only way user text (paths, aliases, values) enters SQL."""

from __future__ import annotations

import re


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier, safe for any name."""
    return '"' + name.replace('"', '""') + '"'


def quote_string(value: str) -> str:
    """A single-quoted SQL string literal, safe for any text."""
    if "\x00" in value:
        raise ValueError("text with a NUL character cannot be written as an SQL literal")
    return "'" + value.replace("'", "''") + "'"


def identifier_from_stem(stem: str) -> str:
    """Turn a file stem into a valid identifier: 'ventas-2024' -> 'ventas_2024'."""
    name = re.sub(r"[^0-9A-Za-z_]+", "_", stem).strip("_")
    if not name:
        name = "source"
    if name[0].isdigit():
        name = "t_" + name
    return name.lower()
