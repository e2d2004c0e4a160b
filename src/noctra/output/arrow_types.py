"""SQL type names (DuckDB's spelling, as Noctra shows them) for Arrow types of any engine's results."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def sql_type_of(arrow_type: pa.DataType) -> str:
    """INTEGER, VARCHAR, DECIMAL(10,2)...: the name DuckDB gives the values of an Arrow type."""
    import pyarrow as pa

    t = pa.types
    simple = (
        (t.is_null, "NULL"),
        (t.is_boolean, "BOOLEAN"),
        (t.is_int8, "TINYINT"),
        (t.is_int16, "SMALLINT"),
        (t.is_int32, "INTEGER"),
        (t.is_int64, "BIGINT"),
        (t.is_uint8, "UTINYINT"),
        (t.is_uint16, "USMALLINT"),
        (t.is_uint32, "UINTEGER"),
        (t.is_uint64, "UBIGINT"),
        (t.is_float32, "FLOAT"),
        (t.is_float64, "DOUBLE"),
        (t.is_date, "DATE"),
        (t.is_time, "TIME"),
        (t.is_duration, "INTERVAL"),
        (t.is_string, "VARCHAR"),
        (t.is_large_string, "VARCHAR"),
        (t.is_binary, "BLOB"),
        (t.is_large_binary, "BLOB"),
    )
    for check, name in simple:
        if check(arrow_type):
            return name
    if t.is_timestamp(arrow_type):
        return "TIMESTAMP WITH TIME ZONE" if arrow_type.tz else "TIMESTAMP"
    if t.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision},{arrow_type.scale})"
    if t.is_list(arrow_type) or t.is_large_list(arrow_type):
        return f"{sql_type_of(arrow_type.value_type)}[]"
    if t.is_struct(arrow_type):
        fields = ", ".join(f"{f.name} {sql_type_of(f.type)}" for f in arrow_type)
        return f"STRUCT({fields})"
    if t.is_map(arrow_type):
        return f"MAP({sql_type_of(arrow_type.key_type)}, {sql_type_of(arrow_type.item_type)})"
    return str(arrow_type).upper()
