"""Session variables: a name, its SQL type and a literal that recreates the value."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from noctra.errors import QueryError
from noctra.output.render import is_numeric
from noctra.quoting import text_literal
from noctra.records import record

if TYPE_CHECKING:
    import pyarrow as pa


@record(frozen=True)
class Variable:
    """A value made by LET, kept as the engine's text form plus its type."""

    name: str
    type: str
    text: str | None  # the value CAST to VARCHAR; None for NULL
    literal: str  # SQL that evaluates to exactly the value, with its type

    @property
    def display(self) -> str:
        return "NULL" if self.text is None else self.text

    @property
    def sqlite_literal(self) -> str:
        """The value as SQLite reads it: numbers bare (infinity as 9e999), a BLOB as X'hex',
        everything else as text. A value SQLite cannot hold (see sqlite_problem) never gets here:
        its statement runs in DuckDB."""
        if self.text is None:
            return "NULL"
        if self.type == "BOOLEAN":
            return "1" if self.text == "true" else "0"
        if _is_number(self.type):
            infinite = _INFINITE.get(self.text.lower())
            return self.text if infinite is None else ("-9e999" if infinite < 0 else "9e999")
        if self.type == "BLOB" and (data := blob_bytes(self.text)) is not None:
            return f"X'{data.hex().upper()}'"
        return text_literal(self.text, nul="char(0)")

    @property
    def sqlite_problem(self) -> str | None:
        """Why SQLite cannot hold this value as DuckDB has it; None when it can.

        SQLite has no NaN (it stores NULL), its INTEGER ends at 2^63-1 and its REAL is a
        double: a DECIMAL with more digits than a double shows would come back rounded.
        """
        text = self.text
        if text is None or not _is_number(self.type):
            return None
        kind = self.type.upper().split("(")[0]
        if text.lower().lstrip("+-") == "nan":
            return "NaN, which SQLite has no value for"
        if text.lstrip("-").isdigit() and kind not in ("FLOAT", "DOUBLE", "REAL"):
            if not -(2**63) <= int(text) < 2**63:
                return f"{self.type} {text}, past SQLite's INTEGER range (64-bit signed)"
            return None
        if kind in ("DECIMAL", "NUMERIC"):
            import decimal

            try:
                exact = decimal.Decimal(text)
                shown = decimal.Decimal(repr(float(text)))
            except (decimal.InvalidOperation, ValueError):
                return None
            if exact != shown:
                return f"{self.type} {text}, more digits than SQLite's REAL keeps"
        return None

    @property
    def sqlite_value(self) -> object:
        """The value bound as a SQLite parameter: numbers as numbers, booleans as 1/0, NULL as None."""
        if self.text is None:
            return None
        if self.type == "BOOLEAN":
            return 1 if self.text == "true" else 0
        if self.type == "BLOB" and (data := blob_bytes(self.text)) is not None:
            return data
        if _is_number(self.type):
            try:
                return int(self.text)
            except ValueError:
                try:
                    return float(self.text)
                except ValueError:
                    return self.text
        return self.text


def _is_number(type_name: str) -> bool:
    """True for a numeric type; a list or array of numbers (DECIMAL(18,3)[]) is not one."""
    return is_numeric(type_name) and not type_name.endswith("]")


# How DuckDB writes an infinite number as text; NaN is refused (Variable.sqlite_problem).
_INFINITE = {"inf": 1, "+inf": 1, "infinity": 1, "+infinity": 1, "-inf": -1, "-infinity": -1}
# DuckDB's text of a BLOB: printable ASCII but the backslash as is, any other byte as \\xHH.
_BLOB_TEXT = re.compile(r"(?:\\x[0-9A-Fa-f]{2}|[ -\[\]-~])*")
_BLOB_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})")


def blob_bytes(text: str) -> bytes | None:
    """The bytes of a BLOB from DuckDB's text of it; None for text that is not such."""
    if not _BLOB_TEXT.fullmatch(text):
        return None
    return _BLOB_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text).encode("latin-1")


def literal_for(type_name: str, text: str | None, *, via_json: bool = False) -> str:
    """SQL literal text for a value of a type, given its VARCHAR (or JSON) form."""
    if text is None:
        return f"CAST(NULL AS {type_name})"
    if type_name == "VARCHAR":
        return text_literal(text)
    if type_name == "BOOLEAN":
        return "true" if text == "true" else "false"
    if type_name in ("INTEGER", "BIGINT") and text.lstrip("-").isdigit():
        return text if type_name == "INTEGER" else f"CAST({text} AS BIGINT)"
    if via_json:
        return f"CAST(CAST({text_literal(text)} AS JSON) AS {type_name})"
    return f"CAST({text_literal(text)} AS {type_name})"


def problem_with(variable: Variable) -> str | None:
    """Why a variable read back from a session file is not one LET makes; None when it is.

    Its literal is pasted into statements (``#name``), so only the literal Noctra itself
    writes for the variable's type and value is taken: one edited by hand (a quote too
    many, a subquery) is refused here rather than run as SQL (SPEC 2.3).
    """
    name, type_name, text, literal = variable.name, variable.type, variable.text, variable.literal
    if not name or "\x00" in name:
        return "its name is not an identifier"
    if type_name == "NULL":
        return None if text is None and literal == "NULL" else "a NULL variable has the literal NULL"
    if type_name == '"NULL"':
        return "a NULL variable has the type NULL"  # LET writes NULL itself as type NULL
    if not is_type_name(type_name):
        return f"{type_name!r} is not an SQL type"
    if text is not None:
        if type_name == "BOOLEAN" and text not in ("true", "false"):
            return f"{text!r} is not a BOOLEAN"
        # SQLite takes a number as it is written (Variable.sqlite_literal): digits, never SQL.
        if _is_number(type_name) and not _NUMBER_TEXT.fullmatch(text):
            return f"{text!r} is not a number"
    if literal == literal_for(type_name, text):
        return None
    # A value DuckDB cannot cast back from its text (a nested type) is kept via its JSON text.
    prefix, suffix = "CAST(CAST(", f" AS JSON) AS {type_name})"
    if (
        text is not None
        and literal.startswith(prefix)
        and literal.endswith(suffix)
        and _string_of(literal[len(prefix) : -len(suffix)]) is not None
    ):
        return None
    return f"its literal {literal!r} is not the one Noctra writes for {type_name} {text!r}"


# A number as DuckDB writes it (12, -1.5, 1e+20, inf, nan): no space, quote or bracket.
_NUMBER_TEXT = re.compile(r"[-+]?[\w.]+(?:[eE][-+]?\d+)?")
_STRING = re.compile(r"'(?:[^']|'')*'")


def _string_of(literal: str) -> str | None:
    """The text a literal written by quoting.text_literal stands for; None for anything else."""
    if _STRING.fullmatch(literal):
        value = literal[1:-1].replace("''", "'")
    elif literal.startswith("(") and literal.endswith(")"):
        # Text with NUL characters: 'a' || chr(0) || 'b'.
        pieces = literal[1:-1].split(" || ")
        if not all(p == "chr(0)" or _STRING.fullmatch(p) for p in pieces):
            return None  # (a quote inside a piece that held ' || ' fails the check below)
        value = "".join("\x00" if p == "chr(0)" else p[1:-1].replace("''", "'") for p in pieces)
    else:
        return None
    return value if text_literal(value) == literal else None


_TYPE_TOKEN = re.compile(
    r"""\s*(?:(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<number>\d+)|(?P<ident>"(?:[^"]|"")*")"""
    r"""|(?P<string>'(?:[^']|'')*')|(?P<punct>[(),\[\]]))"""
)


def is_type_name(text: str) -> bool:
    """True for a type as DuckDB names it (typeof): INTEGER, TIMESTAMP WITH TIME ZONE,
    DECIMAL(18,3), INTEGER[], STRUCT("a b" INTEGER, c VARCHAR[]), MAP(VARCHAR, INTEGER),
    UNION(n INTEGER), ENUM('a', 'b'), and the type of NULL at any depth ("NULL"[] for [],
    STRUCT(b "NULL"), MAP("NULL", "NULL") for MAP {}); nothing that could be an expression."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while match := _TYPE_TOKEN.match(text, pos):
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return not text[pos:].strip() and _TypeReader(tokens).whole()


class _TypeReader:
    """Recursive descent over the tokens of a type name."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def whole(self) -> bool:
        return self.type() and self.pos == len(self.tokens)

    def peek(self, kind: str, text: str | None = None) -> bool:
        if self.pos >= len(self.tokens):
            return False
        found_kind, found = self.tokens[self.pos]
        return found_kind == kind and (text is None or found == text)

    def take(self, kind: str, text: str | None = None) -> str | None:
        if not self.peek(kind, text):
            return None
        self.pos += 1
        return self.tokens[self.pos - 1][1]

    def type(self) -> bool:
        if self.take("ident", '"NULL"'):
            # The type of NULL, which DuckDB quotes (a keyword): [] is "NULL"[], {'b': NULL}
            # STRUCT(b "NULL"). It takes no arguments, only array suffixes.
            return self.suffixes()
        words = []
        while (word := self.take("word")) is not None:
            words.append(word.upper())
        if not words:
            return False
        if self.take("punct", "(") and (
            len(words) != 1 or not self.arguments(words[0]) or not self.take("punct", ")")
        ):
            return False
        return self.suffixes()

    def suffixes(self) -> bool:
        """Any number of list ([]) or fixed-size array ([3]) suffixes."""
        while self.take("punct", "["):
            self.take("number")
            if not self.take("punct", "]"):
                return False
        return True

    def arguments(self, head: str) -> bool:
        if head in ("DECIMAL", "NUMERIC"):
            one = self.take("number") is not None
            return one and (not self.take("punct", ",") or self.take("number") is not None)
        if head == "MAP":
            return self.type() and self.take("punct", ",") is not None and self.type()
        each = {
            "ENUM": lambda: self.take("string") is not None,
            "STRUCT": self.field,
            "UNION": self.field,
        }.get(head)
        if each is None or not each():
            return False
        while self.take("punct", ","):
            if not each():
                return False
        return True

    def field(self) -> bool:
        """A STRUCT or UNION member: a name, then its type."""
        return (self.take("word") is not None or self.take("ident") is not None) and self.type()


def variable_from_arrow(table: pa.Table) -> Variable:
    """The value of a one-row, one-column Arrow result (another engine's LET) as a Variable."""
    import datetime as dt

    from noctra.output.arrow_types import sql_type_of

    if table.num_rows != 1 or table.num_columns != 1:
        raise QueryError(f"LET needs one value, the expression gave {table.num_rows} rows")
    type_name = sql_type_of(table.schema.field(0).type)
    value = table.column(0)[0].as_py()
    if value is None:
        return Variable("", "NULL", None, "NULL")
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, int | float | str | dt.date | dt.time) or type_name.startswith("DECIMAL"):
        text = str(value)
    else:
        raise QueryError(
            f"a value of type {type_name} cannot be kept as a variable",
            hint="LET a simpler value (e.g. CAST it to VARCHAR)",
        )
    return Variable("", type_name, text, literal_for(type_name, text))
