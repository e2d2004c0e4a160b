"""Session variables: a name, its SQL type and a literal that recreates the value."""

from __future__ import annotations

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
        """The value as SQLite reads it: numbers bare, everything else as text."""
        if self.text is None:
            return "NULL"
        if self.type == "BOOLEAN":
            return "1" if self.text == "true" else "0"
        if is_numeric(self.type):
            return self.text
        return text_literal(self.text, nul="char(0)")

    @property
    def sqlite_value(self) -> object:
        """The value bound as a SQLite parameter: numbers as numbers, booleans as 1/0, NULL as None."""
        if self.text is None:
            return None
        if self.type == "BOOLEAN":
            return 1 if self.text == "true" else 0
        if is_numeric(self.type):
            try:
                return int(self.text)
            except ValueError:
                try:
                    return float(self.text)
                except ValueError:
                    return self.text
        return self.text


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
