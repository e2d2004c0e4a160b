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


def text_literal(value: str, *, nul: str = "chr(0)") -> str:
    """Any text as an SQL expression: a string literal, joined with ``nul`` (DuckDB's chr(0),
    SQLite's char(0)) where the text holds NUL characters, which no literal can."""
    if "\x00" not in value:
        return quote_string(value)
    pieces: list[str] = []
    for index, part in enumerate(value.split("\x00")):
        if index:
            pieces.append(nul)
        if part:
            pieces.append(quote_string(part))
    return "(" + " || ".join(pieces) + ")"


# DuckDB's reserved words (duckdb_keywords(), category 'reserved'): an alias that is one
# would work only quoted, so a default alias gets a trailing underscore instead.
RESERVED_WORDS = frozenset(
    {
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "default",
        "deferrable",
        "desc",
        "describe",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "group",
        "having",
        "in",
        "initially",
        "intersect",
        "into",
        "lambda",
        "lateral",
        "leading",
        "limit",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "pivot",
        "pivot_longer",
        "pivot_wider",
        "placing",
        "primary",
        "qualify",
        "references",
        "returning",
        "select",
        "show",
        "some",
        "summarize",
        "symmetric",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "unpivot",
        "using",
        "variadic",
        "when",
        "where",
        "window",
        "with",
        "",
    }
)


# DuckDB's own catalog and schema names: a database attached under one fails ("database main
# is already in use", "reserved name") or is read as DuckDB's own (memory.t, information_schema.t).
CATALOG_NAMES = frozenset({"main", "temp", "system", "memory", "information_schema", "pg_catalog"})


def identifier_from_stem(stem: str) -> str:
    """Turn a file stem into a valid bare identifier: 'ventas-2024' -> 'ventas_2024', '日本' stays.

    Letters of any script are kept (DuckDB and RQL accept them unquoted); a reserved
    word or one of DuckDB's catalog names gets a trailing underscore ('order' -> 'order_',
    'main' -> 'main_').
    """
    name = re.sub(r"[^\w]+", "_", stem).strip("_")
    if not name:
        name = "source"
    if name[0].isdigit():
        name = "t_" + name
    name = name.lower()
    return name + "_" if name in RESERVED_WORDS or name in CATALOG_NAMES else name


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
