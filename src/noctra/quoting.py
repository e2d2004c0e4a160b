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


def sql_literal(value: object) -> str:
    """A Python value (bool, number, string, list, dict, None) as an SQL literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{quote_string(str(k))}: {sql_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    if value is None:
        return "NULL"
    return quote_string(str(value))
