"""Rebuild the bundled example data: python examples/make_data.py (uses DuckDB and sqlite3)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent

SALES_CSV = "\n".join(
    [
        "id,customer_id,product,amount,sold_on,note",
        "1,1,Widget,19.99,2024-01-05,first order",
        '2,2,Gadget,5.50,2024-01-06,"gift, wrapped"',
        "3,1,Widget,19.99,2024-02-10,",
        '4,3,Gizmo,120.00,2024-02-11,"said ""thanks"""',
        "5,2,Widget,19.99,2024-03-01,",
        "6,4,Gadget,5.50,2024-03-15,repeat",
        "",
    ]
)

CUSTOMERS = [
    (1, "Ana Pérez", "AR"),
    (2, "Bo Chen", "US"),
    (3, "Chloé Martin", "FR"),
    (4, "Dmitri Ivanov", None),
]

EVENTS_NDJSON = """\
{"ts": "2024-01-05T10:00:00", "customer_id": 1, "kind": "login"}
{"ts": "2024-01-05T10:02:13", "customer_id": 1, "kind": "purchase"}
{"ts": "2024-01-06T08:30:00", "customer_id": 2, "kind": "login"}
{"ts": "2024-02-11T19:45:00", "customer_id": 3, "kind": "purchase"}
{"ts": "2024-03-15T12:00:00", "customer_id": 4, "kind": "login"}
"""


def main() -> None:
    (HERE / "sales.csv").write_text(SALES_CSV, encoding="utf-8")
    (HERE / "events.ndjson").write_text(EVENTS_NDJSON, encoding="utf-8")
    database = HERE / "customers.db"
    database.unlink(missing_ok=True)
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT)")
        conn.executemany("INSERT INTO customers VALUES (?, ?, ?)", CUSTOMERS)
    conn.close()
    products = HERE / "products.parquet"
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT * FROM (VALUES ('Widget', 'tools', 19.99), ('Gadget', 'toys', 5.50),"
            " ('Gizmo', 'tools', 120.00)) AS p(product, category, list_price))"
            " TO ? (FORMAT parquet)",
            [str(products)],
        )
    print(f"wrote example data to {HERE}")


if __name__ == "__main__":
    main()
