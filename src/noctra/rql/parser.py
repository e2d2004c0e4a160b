"""RQL text -> ast. Noctra's own commands are parsed here; anything else is ``Sql``."""

from __future__ import annotations

from noctra.errors import RqlSyntaxError, Span
from noctra.rql import ast
from noctra.rql.lexer import Kind, Token, is_variable_name, line_starts_of, significant, tokenize
from noctra.rql.splitter import Statement

_RESERVED_AFTER_USE = {"AS", "OPTIONS"}


class _Cursor:
    """Walks the significant tokens of one statement."""

    def __init__(self, statement: Statement, tokens: list[Token] | None = None) -> None:
        self.statement = statement
        if tokens is None:
            tokens = tokenize(statement.text, statement=statement.number)
        self.tokens = significant(tokens)
        self.pos = 0

    def span_of(self, token: Token | None) -> Span:
        if token is None:
            # The end of the statement: its ``;`` (where the missing part belongs), else just
            # past its last word.
            if self.statement.end is not None:
                return Span(self.statement.number, *self.statement.end)
            end = self.tokens[-1] if self.tokens else None
            if end is None:
                return self.statement.span
            return self.statement.span_at(*_after(end))
        return self.statement.span_at(token.line, token.column)

    def peek(self, ahead: int = 0) -> Token | None:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def next(self) -> Token | None:
        token = self.peek()
        if token is not None:
            self.pos += 1
        return token

    def at_end(self) -> bool:
        return self.pos >= len(self.tokens)

    def accept_word(self, *words: str) -> Token | None:
        token = self.peek()
        if token is not None and token.is_word(*words):
            self.pos += 1
            return token
        return None

    def accept_op(self, op: str) -> Token | None:
        token = self.peek()
        if token is not None and token.kind is Kind.OP and token.text == op:
            self.pos += 1
            return token
        return None

    def error(self, message: str, token: Token | None, hint: str | None = None) -> RqlSyntaxError:
        return RqlSyntaxError(message, hint=hint, span=self.span_of(token))

    def expect_op(self, op: str, what: str) -> Token:
        token = self.accept_op(op)
        if token is None:
            found = self.peek()
            raise self.error(f"expected {op!r} {what}, found {_describe(found)}", found)
        return token

    def identifier(self, what: str) -> str:
        token = self.next()
        if token is None or token.kind not in (Kind.WORD, Kind.QIDENT):
            raise self.error(f"expected {what}, found {_describe(token)}", token)
        return identifier_text(token)

    def string(self, what: str, hint: str | None = None) -> str:
        token = self.next()
        if token is None or token.kind is not Kind.STRING:
            raise self.error(f"expected {what}, found {_describe(token)}", token, hint)
        return string_value(token.text)

    def expect_end(self, what: str) -> None:
        token = self.peek()
        if token is not None:
            raise self.error(f"unexpected {_describe(token)} after {what}", token)

    def rest_text(self) -> str:
        token = self.peek()
        if token is None:
            return ""
        return self.statement.text[token.start :].strip()


def _after(token: Token) -> tuple[int, int]:
    """The line and column just past a token (which may span lines: a string, a comment)."""
    starts = line_starts_of(token.text)
    if len(starts) == 1:
        return token.line, token.column + len(token.text)
    return token.line + len(starts) - 1, len(token.text) - starts[-1] + 1


def _describe(token: Token | None) -> str:
    return "end of statement" if token is None else repr(token.text)


def identifier_text(token: Token) -> str:
    """The name a WORD or quoted identifier token stands for."""
    if token.kind is Kind.QIDENT:
        return token.text[1:-1].replace('""', '"')
    return token.text


def string_value(literal: str) -> str:
    """The text of a SQL string literal token."""
    if literal[0] in "eE":
        return literal[2:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    return literal[1:-1].replace("''", "'")


def parse(
    statement: Statement, *, current_source: str | None = None, tokens: list[Token] | None = None
) -> ast.Command:
    """Parse one statement; SQL that is not a Noctra command comes back as ``ast.Sql``.

    current_source only makes the replacement shown for retired commands concrete;
    ``tokens`` are the statement's tokens when the caller has them already.
    """
    cursor = _Cursor(statement, tokens)
    first = cursor.peek()
    span = statement.span
    if first is None or first.kind is not Kind.WORD:
        return ast.Sql(statement.text, span)
    keyword = first.upper
    second = cursor.peek(1)
    if keyword in ("USE", "IMPORT") and second is not None:
        if second.kind is Kind.STRING:
            cursor.next()
            return _parse_use(cursor, span, deprecated_import=keyword == "IMPORT")
        if keyword == "USE" and second.kind in (Kind.WORD, Kind.QIDENT):
            cursor.next()
            alias = cursor.identifier("a source alias")
            if cursor.accept_op("."):
                # DuckDB's own ``USE catalog.schema``.
                return ast.Sql(statement.text, span)
            cursor.expect_end("USE alias")
            return ast.UseAlias(alias, span)
        if keyword == "IMPORT":
            raise cursor.error(
                "IMPORT takes a quoted path",
                second,
                "write USE 'file.csv' AS name (IMPORT is retired)",
            )
    if keyword in ("DETACH", "UNUSE"):
        return _parse_detach(cursor, span)
    if keyword == "SHOW" and second is not None and second.kind is Kind.WORD:
        which = second.upper
        if which in ("SOURCES", "VARS", "VARIABLES", "CONFIG"):
            cursor.pos = 2
            cursor.expect_end(f"SHOW {which}")
            if which == "SOURCES":
                return ast.ShowSources(span)
            if which == "CONFIG":
                return ast.ShowConfig(span)
            return ast.ShowVars(span)
        if which == "TABLES":
            cursor.pos = 2
            tables_of = None
            if cursor.accept_word("FROM", "IN"):
                tables_of = cursor.identifier("a source alias after FROM")
            cursor.expect_end("SHOW TABLES")
            return ast.ShowTables(tables_of, span)
    if keyword in ("DESCRIBE", "DESC"):
        return _parse_describe(cursor, span, statement)
    if keyword == "LET":
        cursor.next()
        token = cursor.peek()
        name = cursor.identifier("a variable name after LET")
        if not is_variable_name(name):
            # "a b" is an identifier, but no #name or :name could ever use it.
            raise cursor.error(
                f"{name!r} cannot be a variable name: #{name} could not use it",
                token,
                "a variable name is a letter or _, then letters, digits or _ (LET total_2024 = ...)",
            )
        if cursor.accept_op("=") is None and cursor.accept_op(":=") is None:
            found = cursor.peek()
            raise cursor.error(f"expected '=' after LET {name}, found {_describe(found)}", found)
        expression = cursor.rest_text()
        if not expression:
            raise cursor.error(f"LET {name} needs a value", None, f"write LET {name} = 42")
        return ast.Let(name, expression, span)
    if keyword == "UNSET":
        cursor.next()
        names = [cursor.identifier("a variable name after UNSET")]
        while cursor.accept_op(","):
            names.append(cursor.identifier("a variable name after ','"))
        cursor.expect_end("UNSET")
        return ast.Unset(tuple(names), span)
    if keyword == "SET" and second is not None:
        return _parse_set(cursor, statement, span)
    if keyword == "RESET" and second is not None and second.kind in (Kind.WORD, Kind.QIDENT):
        cursor.next()
        cursor.accept_word("SESSION", "GLOBAL", "LOCAL")
        key = cursor.identifier("a setting name")
        return ast.ResetOption(key.lower(), statement.text, span)
    if keyword == "EXPORT" and second is not None and not second.is_word("DATABASE"):
        return _parse_export(cursor, span)
    if keyword in ("MAP", "FILTER") and second is not None:
        _retired_map_filter(cursor, keyword, current_source)
    if keyword == "OUTPUT" and second is not None and second.is_word("TO"):
        _retired_output(cursor, current_source)
    return ast.Sql(statement.text, span)


def parse_options(cursor: _Cursor) -> dict[str, ast.OptionValue]:
    """``OPTIONS (key = value, ...)`` after the OPTIONS keyword."""
    cursor.expect_op("(", "after OPTIONS")
    options: dict[str, ast.OptionValue] = {}
    if cursor.accept_op(")"):
        return options
    while True:
        key_token = cursor.peek()
        key = cursor.identifier("an option name").lower()
        if key in options:
            raise cursor.error(f"option {key!r} is given twice", key_token)
        opening = cursor.peek()
        if opening is not None and opening.kind is Kind.OP and opening.text == "(":
            # ``partition_by (year, month)``: a list needs no '=' (as in DuckDB's COPY options).
            options[key] = _option_value(cursor, key)
        elif cursor.accept_op("=") is None and cursor.accept_op(":") is None:
            found = cursor.peek()
            raise cursor.error(
                f"expected '=' after option {key!r}, found {_describe(found)}",
                found,
                f"write OPTIONS ({key} = value)",
            )
        else:
            options[key] = _option_value(cursor, key)
        if cursor.accept_op(")"):
            return options
        cursor.expect_op(",", "or ')' between options")


def _option_value(cursor: _Cursor, key: str) -> ast.OptionValue:
    token = cursor.next()
    if token is None:
        raise cursor.error(f"option {key!r} has no value", None)
    if token.kind is Kind.STRING:
        return string_value(token.text)
    if token.kind is Kind.NUMBER:
        return _number(token.text)
    if token.kind is Kind.OP and token.text == "-":
        number = cursor.next()
        if number is not None and number.kind is Kind.NUMBER:
            return -_number(number.text)
        raise cursor.error(f"option {key!r}: expected a number after '-'", number)
    if token.kind is Kind.WORD:
        word = token.upper
        if word in ("TRUE", "ON", "YES"):
            return True
        if word in ("FALSE", "OFF", "NO"):
            return False
        if word == "NULL":
            return None
        return token.text
    if token.kind is Kind.QIDENT:
        return identifier_text(token)
    if token.kind is Kind.OP and token.text in ("(", "["):
        closing = ")" if token.text == "(" else "]"
        items: list[ast.OptionValue] = []
        if cursor.accept_op(closing):
            return items
        while True:
            items.append(_option_value(cursor, key))
            if cursor.accept_op(closing):
                return items
            cursor.expect_op(",", f"or {closing!r} in the list for {key!r}")
    if token.kind is Kind.OP and token.text == "{":
        mapping: dict[str, ast.OptionValue] = {}
        if cursor.accept_op("}"):
            return mapping
        while True:
            name_token = cursor.next()
            if name_token is None or name_token.kind not in (Kind.STRING, Kind.WORD, Kind.QIDENT):
                raise cursor.error(
                    f"option {key!r}: expected a key in the map, found {_describe(name_token)}",
                    name_token,
                    f"write {key} = {{'column': 'INTEGER'}}",
                )
            name = (
                string_value(name_token.text)
                if name_token.kind is Kind.STRING
                else identifier_text(name_token)
            )
            cursor.expect_op(":", f"after {name!r} in the map for {key!r}")
            mapping[name] = _option_value(cursor, key)
            if cursor.accept_op("}"):
                return mapping
            cursor.expect_op(",", f"or '}}' in the map for {key!r}")
    raise cursor.error(f"option {key!r} has a value Noctra cannot read: {token.text!r}", token)


def _number(text: str) -> int | float:
    cleaned = text.replace("_", "")
    if any(c in cleaned for c in ".eE"):
        return float(cleaned)
    return int(cleaned)


def _parse_use(cursor: _Cursor, span: Span, *, deprecated_import: bool) -> ast.Use:
    path = cursor.string("a quoted path")
    alias = None
    if cursor.accept_word("AS"):
        alias = cursor.identifier("an alias after AS")
    options: dict[str, ast.OptionValue] = {}
    if cursor.accept_word("OPTIONS", "WITH"):
        options = parse_options(cursor)
    cursor.expect_end("USE")
    return ast.Use(path, alias, options, span, deprecated_import=deprecated_import)


def _parse_detach(cursor: _Cursor, span: Span) -> ast.Command:
    cursor.next()
    cursor.accept_word("DATABASE")
    if_exists = False
    if cursor.accept_word("IF"):
        if cursor.accept_word("EXISTS") is None:
            raise cursor.error("expected EXISTS after IF", cursor.peek())
        if_exists = True
    alias = cursor.identifier("a source alias")
    cursor.expect_end("DETACH")
    return ast.Detach(alias, span, if_exists=if_exists)


def _parse_describe(cursor: _Cursor, span: Span, statement: Statement) -> ast.Command:
    cursor.next()
    token = cursor.peek()
    if token is None:
        return ast.Describe(span)
    if token.kind is Kind.STRING:
        cursor.next()
        cursor.expect_end("DESCRIBE 'path'")
        return ast.Describe(span, path=string_value(token.text))
    if token.kind is Kind.OP and token.text == "(":
        last = cursor.tokens[-1]
        if not (last.kind is Kind.OP and last.text == ")"):
            raise cursor.error("DESCRIBE (query) is missing its closing ')'", None)
        inner = statement.text[token.end : last.start].strip()
        if not inner:
            raise cursor.error("DESCRIBE () needs a query inside the parentheses", token)
        return ast.Describe(span, query=inner)
    if token.kind in (Kind.WORD, Kind.QIDENT) and not token.is_word(
        "SELECT", "WITH", "FROM", "VALUES", "TABLE", "SHOW", "PIVOT", "UNPIVOT", "SUMMARIZE"
    ):
        cursor.next()
        alias = identifier_text(token)
        table = None
        if cursor.accept_op("."):
            table = cursor.identifier("a table name after '.'")
            if cursor.accept_op("."):
                # catalog.schema.table: DuckDB's own DESCRIBE.
                return ast.Sql(statement.text, span)
        if not cursor.at_end():
            return ast.Sql(statement.text, span)
        return ast.Describe(span, alias=alias, table=table)
    return ast.Sql(statement.text, span)


def _parse_set(cursor: _Cursor, statement: Statement, span: Span) -> ast.Command:
    cursor.next()
    cursor.accept_word("SESSION", "GLOBAL", "LOCAL")
    token = cursor.peek()
    if token is None or token.kind not in (Kind.WORD, Kind.QIDENT):
        return ast.Sql(statement.text, span)
    if token.is_word("VARIABLE"):
        return ast.Sql(statement.text, span)
    key = cursor.identifier("a setting name").lower()
    if cursor.accept_op("=") is None and cursor.accept_word("TO") is None:
        found = cursor.peek()
        raise cursor.error(
            f"expected '=' after SET {key}, found {_describe(found)}",
            found,
            f"write SET {key} = value",
        )
    value = cursor.rest_text()
    if not value:
        raise cursor.error(f"SET {key} needs a value", None, f"write SET {key} = value")
    return ast.SetOption(key, value, statement.text, span)


def _parse_export(cursor: _Cursor, span: Span) -> ast.Export:
    cursor.next()
    token = cursor.peek()
    query: str | None = None
    alias: str | None = None
    table: str | None = None
    if token is not None and token.kind is Kind.OP and token.text == "(":
        depth = 0
        start = token
        while True:
            current = cursor.next()
            if current is None:
                raise cursor.error("EXPORT (query is missing its closing ')'", None)
            if current.kind is Kind.OP and current.text == "(":
                depth += 1
            elif current.kind is Kind.OP and current.text == ")":
                depth -= 1
                if depth == 0:
                    query = cursor.statement.text[start.end : current.start].strip()
                    break
        if not query:
            raise cursor.error("EXPORT () needs a query inside the parentheses", start)
    elif token is not None and token.kind in (Kind.WORD, Kind.QIDENT):
        alias = cursor.identifier("a source alias")
        if cursor.accept_op("."):
            table = cursor.identifier("a table name after '.'")
    else:
        raise cursor.error(
            f"EXPORT needs (query), alias or alias.table, found {_describe(token)}",
            token,
            "write EXPORT (SELECT ...) TO 'out.parquet'",
        )
    if cursor.accept_word("TO") is None:
        found = cursor.peek()
        raise cursor.error(
            f"expected TO 'path' in EXPORT, found {_describe(found)}",
            found,
            "write EXPORT (SELECT ...) TO 'out.parquet'",
        )
    path = cursor.string("a quoted output path after TO")
    export_format = None
    if cursor.accept_word("FORMAT"):
        export_format = cursor.identifier("a format after FORMAT").lower()
    options: dict[str, ast.OptionValue] = {}
    if cursor.accept_word("OPTIONS", "WITH"):
        options = parse_options(cursor)
    cursor.expect_end("EXPORT")
    return ast.Export(
        path,
        span,
        query=query,
        alias=alias,
        table=table,
        format=export_format,
        options=options,
    )


def _retired_map_filter(cursor: _Cursor, keyword: str, current: str | None) -> None:
    cursor.next()
    rest = cursor.rest_text()
    source = current or "<source>"
    if keyword == "MAP":
        replacement = f"SELECT {rest}, * FROM {source}"
    else:
        replacement = f"SELECT * FROM {source} WHERE {rest}"
    hint = (
        "replace <source> with your source alias (SHOW SOURCES lists them)"
        if current is None
        else f"{current} is the current source"
    )
    raise RqlSyntaxError(f"{keyword} is retired: use {replacement}", hint=hint, span=cursor.statement.span)


def _retired_output(cursor: _Cursor, current: str | None) -> None:
    cursor.pos = 2
    token = cursor.peek()
    target = token.text if token is not None and token.kind is Kind.STRING else "'file'"
    cursor.next()
    rest = cursor.rest_text()
    if rest.upper().startswith("FORMAT "):
        suffix = " " + rest
    elif rest:
        suffix = f" OPTIONS ({rest})" if not rest.upper().startswith("OPTIONS") else " " + rest
    else:
        suffix = ""
    query = f"SELECT * FROM {current}" if current else "SELECT ..."
    raise RqlSyntaxError(
        f"OUTPUT TO is retired: use EXPORT ({query}) TO {target}{suffix}",
        hint="put the query whose rows you want in the parentheses",
        span=cursor.statement.span,
    )
