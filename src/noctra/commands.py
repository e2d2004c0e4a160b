"""One handler per RQL statement: USE, DETACH, SHOW, DESCRIBE..."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from noctra.engine.base import Column, Params
from noctra.engine.hybrid import ENGINE_MODES
from noctra.engine.sources import (
    Signature,
    Source,
    check_options,
    detect,
    resolve_location,
    signature_of,
)
from noctra.errors import OptionError, SourceError, VariableError
from noctra.quoting import identifier_from_stem, quote_ident, quote_string
from noctra.redact import MASK, is_secret_setting, redact_url
from noctra.results import Message, Outcome, Result, format_size
from noctra.rql import ast
from noctra.rql.splitter import Statement
from noctra.tuning import SHOW_CONFIG_COLUMNS
from noctra.variables import Variable

if TYPE_CHECKING:
    from noctra.session import Session

_DESCRIBE_COLUMNS = [Column("column", "VARCHAR"), Column("type", "VARCHAR"), Column("nullable", "BOOLEAN")]


def default_alias(path: str) -> str:
    """The file stem made into an identifier: 'data/ventas-2024.csv.gz' -> 'ventas_2024'."""
    name = path.rstrip("/").split("?", 1)[0]
    base = os.path.basename(name) or name
    for _ in range(2):
        stem, ext = os.path.splitext(base)
        if ext and stem:
            base = stem
    return identifier_from_stem(base.replace("*", ""))


def build_source(session: Session, path: str, alias: str, options: dict[str, object]) -> Source:
    """Check a path and its options and make a Source (not registered yet)."""
    location = resolve_location(path, Path.cwd())
    kind, pattern = detect(path, location, options)
    check_options(kind, options)
    return Source(
        alias=alias,
        path=path,
        location=location,
        kind=kind,
        options=dict(options),
        signature=signature_of(location),
        read_pattern=pattern,
    )


def use(session: Session, command: ast.Use) -> Message:
    """Register a source and make it current; a failure leaves every source as it was."""
    alias = command.alias or default_alias(command.path)
    source = build_source(session, command.path, alias, dict(command.options))
    replaced = session.sources.peek(alias)
    session.engine_register(source, replacing=replaced)
    if replaced is not None:
        session.hybrid.forget(replaced)
    session.sources.add(source)
    session.make_current(source.alias)
    notes = []
    if command.deprecated_import:
        notes.append(f"IMPORT is deprecated: write USE {quote_string(command.path)} AS {source.alias}")
    if replaced is not None:
        notes.append(f"source {alias!r} replaced (was {redact_url(replaced.path)})")
    return Message(describe_source(source), notes=notes)


def describe_source(source: Source) -> str:
    """The one-line summary USE prints: 'sales: CSV, 12 columns, 10.2 MB'."""
    what = "tables" if source.kind.is_database else "columns"
    count = f"{source.columns} {what[:-1] if source.columns == 1 else what}"
    size = format_size(source.size)
    return f"{source.alias}: {source.kind.value}, {count}" + (f", {size}" if size else "")


def use_alias(session: Session, command: ast.UseAlias) -> Message:
    source = session.sources.require(command.alias)
    session.make_current(source.alias)
    return Message(f"current source: {source.alias}")


def detach(session: Session, command: ast.Detach) -> Message:
    if command.if_exists and command.alias not in session.sources:
        return Message(f"no source {command.alias!r}; nothing to detach")
    source = session.sources.require(command.alias)
    if session.sources.current == source.alias:
        session.make_current(None)
    session.engine.unregister(source)
    session.hybrid.forget(source)
    session.sources.remove(source.alias)
    return Message(f"detached {source.alias}")


def show_sources(session: Session) -> Result:
    rows = []
    for source in session.sources:
        now = None if source.is_remote else signature_of(source.location)
        rows.append(
            (
                source.alias,
                source.kind.value,
                redact_url(source.path),
                format_size(now.size) if now is not None else None,
                source_status(source, now),
                "*" if session.sources.current == source.alias else "",
            )
        )
    columns = [
        Column("alias", "VARCHAR"),
        Column("kind", "VARCHAR"),
        Column("path", "VARCHAR"),
        Column("size", "VARCHAR"),
        Column("status", "VARCHAR"),
        Column("current", "VARCHAR"),
    ]
    return Result.of_rows(columns, rows)


def source_status(source: Source, now: Signature | None) -> str:
    """ok, missing (the file is gone) or changed (it differs from when it was read)."""
    if source.is_remote:
        return "ok"
    if now is None:
        return "missing"
    if source.signature is not None and now != source.signature:
        return "changed"
    return "ok"


def show_tables(session: Session, command: ast.ShowTables) -> Result:
    columns = [Column("name", "VARCHAR"), Column("type", "VARCHAR"), Column("columns", "BIGINT")]
    alias = command.alias or session.sources.current
    if alias is not None:
        source = session.sources.require(alias)
        if source.kind.is_database:
            return Result.of_rows(columns, session.database_tables(source.alias))
        return Result.of_rows(columns, [(source.alias, source.kind.value, source.columns)])
    rows: list[tuple[object, ...]] = []
    for source in session.sources:
        if source.kind.is_database:
            rows.extend(
                (f"{source.alias}.{name}", kind, count)
                for name, kind, count in session.database_tables(source.alias)
            )
        else:
            rows.append((source.alias, source.kind.value, source.columns))
    rows.extend(session.database_tables("memory", skip_views=True))
    return Result.of_rows(columns, rows)


def describe(session: Session, command: ast.Describe) -> Outcome:
    engine = session.engine
    if command.query is not None:
        text = session.prepare_sql(command.query)
        return _columns_result(engine.describe(f"({text}\n)"))
    if command.path is not None:
        file_source = build_source(session, command.path, "__noctra_describe", {})
        if file_source.kind.is_database:
            raise SourceError(
                f"{command.path!r} is a database: DESCRIBE one of its tables",
                hint=f"USE {quote_string(command.path)} AS db; SHOW TABLES FROM db",
            )
        reader = engine.reader_sql(file_source)
        result = _columns_result(engine.describe(f"SELECT * FROM {reader}"))
        result.notes.extend(_dialect_notes(file_source))
        return result
    target = command.alias or session.sources.current
    if target is None:
        raise SourceError(
            "DESCRIBE needs a source: there is no current source",
            hint="write DESCRIBE alias, DESCRIBE 'file.csv' or DESCRIBE (SELECT ...)",
        )
    source = session.sources.get(target)
    if source is None:
        name = (
            quote_ident(target)
            if command.table is None
            else f"{quote_ident(target)}.{quote_ident(command.table)}"
        )
        return _columns_result(engine.describe(name))
    if command.table is not None:
        if not source.kind.is_database:
            raise SourceError(
                f"{source.alias!r} is a {source.kind.value} file, it has no table {command.table!r}",
                hint=f"write DESCRIBE {source.alias}",
            )
        return _columns_result(engine.describe(f"{quote_ident(source.alias)}.{quote_ident(command.table)}"))
    session.refresh_sources()
    if source.kind.is_database:
        rows: list[tuple[object, ...]] = []
        for table, _, _ in session.database_tables(source.alias):
            for column in engine.describe(f"{quote_ident(source.alias)}.{quote_ident(str(table))}"):
                rows.append((table, column.name, column.type, column.nullable))
        table_columns = [Column("table", "VARCHAR"), *_DESCRIBE_COLUMNS]
        return Result.of_rows(table_columns, rows)
    result = _columns_result(engine.describe(quote_ident(source.alias)))
    result.notes.extend(_dialect_notes(source))
    return result


def _columns_result(columns: list[Column]) -> Result:
    return Result.of_rows(_DESCRIBE_COLUMNS, [(c.name, c.type, c.nullable) for c in columns])


def _dialect_notes(source: Source) -> list[str]:
    if not source.dialect:
        return []
    parts = ", ".join(f"{key}={value!r}" for key, value in source.dialect.items())
    return [f"{redact_url(source.path)}: {source.kind.value} dialect: {parts}"]


def let(session: Session, command: ast.Let, params: Params) -> Message:
    """LET name = expr: evaluated once; a failure leaves the old value in place."""
    statement = Statement(command.expression, command.span.statement, command.span.line, 1, 0)
    value = session.evaluate(command.expression, params, statement)
    variable = Variable(command.name, value.type, value.text, value.literal)
    session.variables[command.name.lower()] = variable
    return Message(f"{command.name} = {_short(variable.display)} ({variable.type})")


def unset(session: Session, command: ast.Unset) -> Message:
    missing = [name for name in command.names if name.lower() not in session.variables]
    if missing:
        defined = ", ".join(v.name for v in session.variables.values()) or "none defined"
        raise VariableError(
            f"unknown variable {missing[0]!r}",
            hint=f"defined variables: {defined}",
        )
    for name in command.names:
        del session.variables[name.lower()]
    return Message(f"unset {', '.join(command.names)}")


def show_vars(session: Session) -> Result:
    columns = [Column("name", "VARCHAR"), Column("type", "VARCHAR"), Column("value", "VARCHAR")]
    rows = [(v.name, v.type, v.display) for v in session.variables.values()]
    return Result.of_rows(columns, rows)


def set_option(session: Session, command: ast.SetOption) -> Message:
    """SET passes to the engine; Noctra remembers it for SHOW CONFIG (and the status bar)."""
    if command.key == "engine":
        mode = command.value.strip().strip("'\"").lower()
        if mode not in ENGINE_MODES:
            raise OptionError(
                f"engine must be one of {', '.join(ENGINE_MODES)}, not {command.value!r}",
                hint="SET engine = auto lets Noctra route each statement",
            )
        session.engine_mode = mode
        session.settings["engine"] = mode
        return Message(f"engine = {mode}")
    if session.tuner.handles(command.key):
        return Message(session.tuner.set(command.key, command.value))
    session.tuner.prepare_set(command.key)
    session.engine.execute_quietly(command.sql)
    value = session.tuner.current_setting(command.key, written=command.value)
    session.settings[command.key] = str(value)
    return Message(f"{command.key} = {MASK if is_secret_setting(command.key) else value}")


def reset_option(session: Session, command: ast.ResetOption) -> Message:
    if command.key == "engine":
        session.engine_mode = session.config.engine.mode
        session.settings.pop("engine", None)
        return Message(f"engine reset to {session.engine_mode}")
    if session.tuner.handles(command.key):
        return Message(session.tuner.reset(command.key))
    session.engine.execute_quietly(command.sql)
    session.settings.pop(command.key, None)
    session.tuner.after_reset(command.key)
    value = session.tuner.current_setting(command.key, written="its default")
    return Message(f"{command.key} reset to {MASK if is_secret_setting(command.key) else value}")


def show_config(session: Session) -> Result:
    """The settings in force and where each came from (default / file / env / SET)."""
    return Result.of_rows(SHOW_CONFIG_COLUMNS, session.tuner.show_config(session.settings))


def _short(text: str, limit: int = 60) -> str:
    flat = text.replace("\n", "↵")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def export(session: Session, command: ast.Export, params: Params, statement: Statement) -> Message:
    """EXPORT (query) | alias | alias.table TO 'path': DuckDB COPY, atomic for one file."""
    from noctra.engine.export import export as run_export
    from noctra.engine.export import format_for

    if command.query is not None:
        query, bound = session.bind(session.prepare_sql(command.query), params, statement)
    else:
        assert command.alias is not None
        source = session.sources.get(command.alias)
        if source is not None and source.kind.is_database and command.table is None:
            tables = ", ".join(str(t[0]) for t in session.database_tables(source.alias)) or "none"
            raise SourceError(
                f"{source.alias!r} is a database: EXPORT one of its tables",
                hint=f"write EXPORT {source.alias}.<table> TO ...; its tables: {tables}",
            )
        if source is None and command.table is None:
            session.sources.require(command.alias)
        session.refresh_sources()
        name = quote_ident(command.alias)
        if command.table is not None:
            name += "." + quote_ident(command.table)
        query, bound = f"SELECT * FROM {name}", None
    options: dict[str, object] = dict(command.options)
    directory = bool(options.get("per_thread_output")) or "partition_by" in options
    fmt = format_for(command.path, command.format, directory=directory)
    if command.format is not None and command.format.lower() == "tsv":
        options.setdefault("delimiter", "\t")
    report = run_export(
        session.engine,
        query,
        bound,
        target=command.path,
        fmt=fmt,
        options=options,
        ordered=has_top_level_order_by(query),
    )
    return Message(report.describe())


def has_top_level_order_by(sql: str) -> bool:
    """True when the outermost query has ORDER BY (its order must be kept)."""
    from noctra.rql.lexer import Kind, significant, tokenize

    depth = 0
    tokens = significant(tokenize(sql))
    for index, token in enumerate(tokens):
        if token.kind is Kind.OP and token.text == "(":
            depth += 1
        elif token.kind is Kind.OP and token.text == ")":
            depth -= 1
        elif (
            depth == 0
            and token.is_word("ORDER")
            and index + 1 < len(tokens)
            and tokens[index + 1].is_word("BY")
        ):
            return True
    return False


def check_queried_file(path: str) -> str | None:
    """``FROM 'x.csv'``: a clear error for a missing or empty local file before DuckDB reads it.

    A CSV is read with the same small read buffer as registered sources (DuckDB's
    default buffer took a 1 GB CSV aggregation to 199 MiB peak instead of 112 MiB).
    """
    from noctra.engine.duck import CSV_BUFFER_SIZE
    from noctra.engine.sources import SourceKind, is_glob, is_remote, kind_from_name

    kind = kind_from_name(path)
    if kind is None or kind.is_database:
        return None
    reader = (
        f"read_csv({quote_string(path)}, buffer_size = {CSV_BUFFER_SIZE})" if kind is SourceKind.CSV else None
    )
    if is_remote(path) or is_glob(path):
        return reader
    location = resolve_location(path, Path.cwd())
    if not os.path.exists(location):
        raise SourceError(f"file not found: {path!r}", hint=f"no such file at {location}")
    if os.path.isdir(location):
        return None
    if os.path.getsize(location) == 0:
        raise SourceError(
            f"{path!r} is empty (0 bytes)", hint="a file needs at least a header line or a record"
        )
    return reader
