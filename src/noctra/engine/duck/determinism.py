"""Which statements give the same rows every time their input files are the same.

A stored result (SPEC 4.5) may only stand in for a statement that reads nothing but
files Noctra can identify and calls nothing that depends on when, where or how often it
runs. This module reads DuckDB's own parse tree (``json_serialize_sql``) and answers
with the tables and files the statement reads, or None when it cannot vouch for it.
Everything not known to be safe is refused: an unknown node costs a cache miss, a wrong
"yes" would cost a wrong answer.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from typing import Any

from noctra.engine.base import ReadSet, TableRef
from noctra.engine.cache import SPECIAL_PREFIXES, absolute

# Table functions that read files named by their first argument (constants only).
FILE_READERS = frozenset(
    {
        "read_csv",
        "read_csv_auto",
        "read_parquet",
        "parquet_scan",
        "read_json",
        "read_json_auto",
        "read_ndjson",
        "read_ndjson_auto",
        "read_json_objects",
        "read_ndjson_objects",
        "read_xlsx",
        "read_avro",
    }
)

# Functions DuckDB marks CONSISTENT that still read the clock, the session or chance:
# refused by name whatever the catalog says (current_localtimestamp is "CONSISTENT").
_NAME_DENIED = ("current", "now", "today", "time_", "random", "uuid", "local", "getvariable", "getenv")
DENIED_FUNCTIONS = frozenset(
    {
        "ago",
        "version",
        "get_block_size",
        "pg_conf_load_time",
        "pg_postmaster_start_time",
        "inet_client_addr",
        "inet_client_port",
        "inet_server_addr",
        "inet_server_port",
        "session_user",
        "user",
        "error",
        "sleep_ms",
        "pg_sleep",
        "write_log",
        "stats",
        "query",
        "query_table",
        # age(ts) counts from today (its catalog entry says CONSISTENT all the same).
        "age",
        # Binds the statement it is given: the files that one reads are not followed.
        "json_serialize_plan",
    }
)
# SQL keywords DuckDB parses as column references and binds to the clock or the session.
SPECIAL_COLUMNS = frozenset(
    {
        "current_timestamp",
        "current_date",
        "current_time",
        "localtimestamp",
        "localtime",
        "current_user",
        "session_user",
        "user",
        "current_role",
        "current_catalog",
        "current_schema",
        "current_database",
    }
)

# Parsed as functions, bound as operators: the same rows from the same input.
SPECIAL_FORMS = frozenset({"unnest", "unlist", "grouping", "grouping_id", "ifnull", "coalesce", "nullif"})

# Every built-in function: whether all its non-macro overloads are CONSISTENT (NULL when
# it has none) and the bodies of its macro overloads.
DETERMINISTIC_FUNCTIONS_SQL = """
SELECT function_name,
       bool_and(stability = 'CONSISTENT') FILTER (WHERE function_type <> 'macro'),
       string_agg(macro_definition, ' ') FILTER (WHERE function_type = 'macro')
FROM duckdb_functions()
WHERE internal AND function_type IN ('scalar', 'aggregate', 'macro')
GROUP BY function_name
"""
# Words a macro body puts before a parenthesis that are SQL, not calls.
_SQL_WORDS = frozenset(
    {"when", "then", "else", "and", "or", "not", "in", "case", "as", "exists", "select", "from", "where"}
)


def denied_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in DENIED_FUNCTIONS or any(part in lowered for part in _NAME_DENIED)


def deterministic_functions(rows: list[tuple[object, ...]]) -> frozenset[str]:
    """The names a stored result may call, from DETERMINISTIC_FUNCTIONS_SQL's rows.

    A function is kept when none of its overloads may change between runs: every non-macro
    overload CONSISTENT, every macro body calling only kept functions (macros calling
    macros are resolved over a few rounds).
    """
    import re

    unsafe = {str(name).lower() for name, ok, _ in rows if ok is False}
    allowed = {str(n).lower() for n, ok, body in rows if ok and body is None and not denied_name(str(n))}
    allowed |= SPECIAL_FORMS
    macros = {
        str(name).lower(): {w.lower() for w in re.findall(r"([A-Za-z_]\w*)\s*\(", str(body))} - _SQL_WORDS
        for name, ok, body in rows
        if body is not None and ok is not False and not denied_name(str(name))
    }
    for _ in range(4):
        added = {name for name, called in macros.items() if name not in allowed and called <= allowed}
        if not added:
            break
        allowed |= added
    return frozenset(allowed - unsafe)


def _table_ref(node: dict[str, Any]) -> TableRef:
    """A BASE_TABLE node's catalog.schema.name."""
    return TableRef(
        str(node.get("catalog_name") or ""),
        str(node.get("schema_name") or ""),
        str(node.get("table_name") or ""),
    )


def _cte_names(node: dict[str, Any]) -> set[str]:
    """The names a node's WITH clause defines (lower-cased)."""
    cte_map = node.get("cte_map")
    if not isinstance(cte_map, dict):
        return set()
    return {str(item.get("key", "")).lower() for item in cte_map.get("map") or []}


def _dicts(node: Any) -> Iterator[dict[str, Any]]:
    """Every object of a parse tree, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dicts(value)


def referenced_tables(tree: dict[str, Any]) -> list[TableRef]:
    """The tables a parsed statement names (a table function as one ``is_function`` ref),
    WITH names left out: what routing needs, deterministic or not."""
    refs: list[TableRef] = []
    ctes: set[str] = set()
    for node in _dicts(tree):
        ctes |= _cte_names(node)
        if node.get("type") == "BASE_TABLE":
            refs.append(_table_ref(node))
        elif node.get("type") == "TABLE_FUNCTION":
            refs.append(TableRef("", "", "", is_function=True))
    return [r for r in refs if r.catalog or r.db or r.name.lower() not in ctes]


class _Refused(Exception):
    """The statement does something a stored result cannot stand in for."""


def _plain_files(paths: Iterable[str]) -> bool:
    """True when every path is a regular file, a glob or not there (the query reports that).

    ``~`` is refused: DuckDB expands it, while the file Noctra would follow is the path as
    written, under the working directory.
    """
    for path in paths:
        if path.startswith("~"):
            return False
        location = absolute(path)  # as the kernel resolves it: link/.. is not collapsed
        if any(p.startswith(SPECIAL_PREFIXES) for p in (location, os.path.realpath(location))):
            return False
        if any(c in path for c in "*?["):
            continue  # a glob: its files are followed one by one
        try:
            mode = os.stat(location).st_mode
        except OSError:
            continue
        if not stat.S_ISREG(mode):
            return False  # a pipe, a device, a directory: nothing to identify
    return True


def _check_cte_scopes(node: Any, ctes: frozenset[str], scope: frozenset[str] = frozenset()) -> None:
    """Refuse a table named like a WITH name outside that WITH's scope.

    The read set lists WITH names once for the whole statement, and a table with one of
    those names is taken for the WITH query: ``FROM 'a.parquet' UNION ALL (WITH "a.parquet"
    AS (...) FROM "a.parquet")`` reads the file in its first half, which would then not be
    followed. A WITH name is in scope in its own statement and in the WITH queries after
    it (a recursive one also in itself); anywhere else such a table is refused.
    """
    if isinstance(node, list):
        for item in node:
            _check_cte_scopes(item, ctes, scope)
        return
    if not isinstance(node, dict):
        return
    inner = scope
    cte_map = node.get("cte_map")
    for item in (cte_map.get("map") or []) if isinstance(cte_map, dict) else []:
        name = str(item.get("key", "")).lower()
        value = item.get("value") if isinstance(item.get("value"), dict) else {}
        query = (value.get("query") or {}).get("node") or {}
        recursive = query.get("type") == "RECURSIVE_CTE_NODE"
        _check_cte_scopes(value, ctes, inner | {name} if recursive else inner)
        inner = inner | {name}
    if node.get("type") == "BASE_TABLE" and not node.get("catalog_name") and not node.get("schema_name"):
        name = str(node.get("table_name") or "").lower()
        if name in ctes and name not in scope:
            raise _Refused(f"{name} is a WITH name and, out of its scope, a table")
    for key, value in node.items():
        if key != "cte_map":
            _check_cte_scopes(value, ctes, inner)


def read_set(tree: dict[str, Any], deterministic: frozenset[str]) -> ReadSet | None:
    """The tables and files one parsed SELECT reads; None unless every part is known safe."""
    if tree.get("error") or len(tree.get("statements") or []) != 1:
        return None
    tables: list[TableRef] = []
    files: list[str] = []
    ctes: set[str] = set()

    def constant_paths(node: Any) -> list[str]:
        """A reader's first argument: one VARCHAR constant, or a list of them."""
        if isinstance(node, dict) and node.get("class") == "CONSTANT":
            value = node.get("value") or {}
            if (value.get("type") or {}).get("id") == "VARCHAR" and not value.get("is_null"):
                return [str(value.get("value"))]
        if isinstance(node, dict) and node.get("function_name") == "list_value":  # ['a.csv', 'b.csv']
            paths = [p for child in node.get("children") or [] for p in constant_paths(child)]
            if paths and len(paths) == len(node.get("children") or []):
                return paths
        raise _Refused("a reader's files are not constants")

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        if node.get("sample") is not None:
            raise _Refused("USING SAMPLE / TABLESAMPLE")
        ctes.update(_cte_names(node))
        kind, klass = node.get("type"), node.get("class")
        if kind == "BASE_TABLE":
            if node.get("at_clause") is not None:
                raise _Refused("AT (time travel)")
            tables.append(_table_ref(node))
        elif kind == "TABLE_FUNCTION":
            function = node.get("function") or {}
            name = str(function.get("function_name") or "").lower()
            children = function.get("children") or []
            if name not in FILE_READERS or not children or function.get("schema") not in ("", None):
                raise _Refused(f"table function {name}")
            files.extend(constant_paths(children[0]))
            walk(children[1:])  # named options: constants and comparisons
            return
        elif kind == "SHOW_REF" and node.get("query") is None:
            # SHOW TABLES / SHOW ALL TABLES / SHOW databases read the catalog, which changes
            # (Noctra's own tables among them); DESCRIBE and SUMMARIZE of a query are walked.
            raise _Refused("SHOW of the catalog")
        elif klass in ("FUNCTION", "WINDOW"):
            name = str(node.get("function_name") or "").lower()
            qualified = node.get("catalog") or node.get("schema") not in ("", "main", None)
            if qualified or name not in deterministic:
                raise _Refused(f"function {name}")
        elif klass == "PARAMETER":
            raise _Refused("a parameter")
        elif klass == "COLUMN_REF":
            names = node.get("column_names") or []
            if len(names) == 1 and str(names[0]).lower() in SPECIAL_COLUMNS:
                raise _Refused(f"{names[0]}")
        for value in node.values():
            walk(value)

    try:
        walk(tree["statements"][0])
        _check_cte_scopes(tree["statements"][0], frozenset(ctes))
    except _Refused:
        return None
    # Files named in FROM or given to a reader must be files that can be identified.
    named = [t.name for t in tables if not t.catalog and not t.db and ("." in t.name or "/" in t.name)]
    if not _plain_files([*files, *named]):
        return None
    return ReadSet(tables=tuple(tables), files=tuple(files), ctes=frozenset(ctes))


def known_functions(version: str) -> frozenset[str] | None:
    """The deterministic functions of this DuckDB version, as shipped; None for another version.

    Asking DuckDB's catalog costs 0.1–1 s (``duckdb_functions()`` builds ~3,000 rows with
    their descriptions), so the answer for the pinned version is kept in
    ``deterministic_functions.py``, written by ``python -m noctra.engine.duck.determinism``
    and checked against the live catalog by the tests.
    """
    from noctra.engine.duck import deterministic_functions as shipped

    return shipped.NAMES if version == shipped.DUCKDB_VERSION else None


def _quoted(text: str) -> str:
    """A Python string literal in double quotes, as ruff format writes it."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_known_functions(path: str) -> None:
    """Write ``deterministic_functions.py`` for the installed DuckDB (run when the pin moves)."""
    import duckdb

    with duckdb.connect() as connection:
        names = deterministic_functions(connection.execute(DETERMINISTIC_FUNCTIONS_SQL).fetchall())
    lines = [
        '"""Functions a stored result may call (see determinism.py). Generated: do not edit;',
        'run ``python -m noctra.engine.duck.determinism`` after moving the DuckDB pin."""',
        "",
        f"DUCKDB_VERSION = {_quoted(duckdb.__version__)}",
        "NAMES = frozenset(",
        "    {",
        *(f"        {_quoted(name)}," for name in sorted(names)),
        "    }",
        ")",
        "",
    ]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))


if __name__ == "__main__":
    import os

    write_known_functions(os.path.join(os.path.dirname(__file__), "deterministic_functions.py"))
