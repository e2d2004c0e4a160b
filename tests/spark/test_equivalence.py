"""One corpus of statements in DuckDB's dialect, run on DuckDB and on Spark: the same rows (issue 14).

The corpus reads the example sources (a CSV, a Parquet file, NDJSON and a SQLite
database) and covers joins across them, GROUP BY / HAVING, windows, CTEs, date and
string functions as DuckDB writes them, LET / #var / :param, DESCRIBE and EXPORT
read back. Known gaps (docs/SPARK.md) are tested for their one clear error.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from noctra.errors import QueryError, SourceError
from noctra.output.model import Result
from noctra.session import Session

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SETUP = """
USE 'sales.csv' AS sales;
USE 'products.parquet' AS products;
USE 'events.ndjson' AS events;
USE 'customers.db' AS crm;
LET min_amount = 10;
LET prod = 'Widget';
LET since = DATE '2024-02-01';
"""
CORPUS: list[tuple[str, str]] = [
    ("whole csv", "SELECT * FROM sales ORDER BY id"),
    ("count", "SELECT count(*) AS n, count(note) AS notes FROM sales"),
    ("parquet", "SELECT * FROM products ORDER BY list_price DESC"),
    ("json", "SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY kind"),
    ("json timestamps", "SELECT customer_id, ts, ts + INTERVAL 1 HOUR AS later FROM events ORDER BY ts"),
    (
        "csv x parquet",
        "SELECT s.id, p.category, p.list_price FROM sales s JOIN products p USING (product) ORDER BY s.id",
    ),
    (
        "sqlite in a join",
        "SELECT c.name, c.country, sum(s.amount) AS spent FROM sales s "
        "JOIN crm.customers c ON c.id = s.customer_id GROUP BY c.name, c.country ORDER BY spent DESC",
    ),
    ("sqlite alone", "SELECT * FROM crm.customers WHERE country IS NOT NULL ORDER BY id"),
    (
        "left join with nulls",
        "SELECT c.id, count(e.kind) AS events FROM crm.customers c "
        "LEFT JOIN events e ON e.customer_id = c.id AND e.kind = 'purchase' GROUP BY c.id ORDER BY c.id",
    ),
    (
        "group by having",
        "SELECT product, count(*) AS n, round(avg(amount), 2) AS avg_amount FROM sales "
        "GROUP BY product HAVING count(*) > 1 ORDER BY product",
    ),
    ("group by all", "SELECT customer_id, max(sold_on) AS last FROM sales GROUP BY ALL ORDER BY 1"),
    (
        "running sum window",
        "SELECT id, sum(amount) OVER (PARTITION BY customer_id ORDER BY id) AS running "
        "FROM sales ORDER BY id",
    ),
    (
        "rank and lag",
        "SELECT id, rank() OVER (ORDER BY amount DESC) AS r, "
        "lag(amount) OVER (ORDER BY id) AS previous FROM sales ORDER BY id",
    ),
    (
        "qualify",
        "SELECT customer_id, id FROM sales "
        "QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY id DESC) = 1 ORDER BY customer_id",
    ),
    (
        "cte",
        "WITH totals AS (SELECT customer_id, sum(amount) AS total FROM sales GROUP BY customer_id) "
        "SELECT t.customer_id, t.total FROM totals t WHERE t.total > 20 ORDER BY t.customer_id",
    ),
    (
        "two ctes and a subquery",
        "WITH w AS (SELECT * FROM sales WHERE product = 'Widget'), "
        "ids AS (SELECT DISTINCT customer_id FROM w) "
        "SELECT name FROM crm.customers WHERE id IN (SELECT customer_id FROM ids) ORDER BY name",
    ),
    (
        "strftime",
        "SELECT strftime(sold_on, '%Y-%m') AS month, count(*) AS n FROM sales GROUP BY 1 ORDER BY 1",
    ),
    (
        "date_trunc",
        "SELECT date_trunc('month', sold_on) AS month, sum(amount) AS total FROM sales GROUP BY 1 ORDER BY 1",
    ),
    (
        "date arithmetic",
        "SELECT id, sold_on + INTERVAL 1 DAY AS next_day, "
        "datediff('day', DATE '2024-01-01', sold_on) AS days "
        "FROM sales ORDER BY id",
    ),
    (
        "extract",
        "SELECT id, year(sold_on) AS y, month(sold_on) AS m, dayofweek(sold_on) AS d FROM sales ORDER BY id",
    ),
    ("regexp_matches", "SELECT id FROM sales WHERE regexp_matches(product, '^G') ORDER BY id"),
    (
        "string functions",
        "SELECT upper(product) AS u, lower(product) AS l, length(product) AS n, substr(product, 1, 3) AS s, "
        "concat(product, '-', id) AS c, replace(product, 'g', 'G') AS r FROM sales ORDER BY id",
    ),
    (
        "ilike and coalesce",
        "SELECT id, coalesce(note, '-') AS note FROM sales WHERE product ILIKE 'w%' ORDER BY id",
    ),
    (
        "case and count distinct",
        "SELECT CASE WHEN amount >= 19.99 THEN 'big' ELSE 'small' END AS size, "
        "count(DISTINCT product) AS kinds "
        "FROM sales GROUP BY 1 ORDER BY 1",
    ),
    (
        "list functions",
        "SELECT product, array_length(list(id)) AS n, list_sort(list(id)) AS ids FROM sales "
        "GROUP BY product ORDER BY product",
    ),
    (
        "string_agg",
        "SELECT customer_id, string_agg(product, ',') AS products FROM sales "
        "WHERE customer_id = 2 GROUP BY 1",
    ),
    (
        "union all",
        "SELECT 'sale' AS what, customer_id FROM sales "
        "UNION ALL SELECT 'event', customer_id FROM events ORDER BY 1, 2",
    ),
    ("quoted file", "SELECT count(*) AS n, sum(amount) AS total FROM 'sales.csv'"),
    ("range", "SELECT sum(range) AS s FROM range(0, 100)"),
    ("#var", "SELECT count(*) AS n FROM sales WHERE amount > #min_amount"),
    (":param from LET", "SELECT id FROM sales WHERE product = :prod ORDER BY id"),
    ("date :param", "SELECT id FROM sales WHERE sold_on >= :since ORDER BY id"),
    ("DESCRIBE csv", "DESCRIBE sales"),
    ("DESCRIBE parquet", "DESCRIBE products"),
    ("DESCRIBE query", "DESCRIBE (SELECT id, amount * 2 AS double_amount, note FROM sales)"),
    ("SHOW TABLES", "SHOW TABLES FROM crm"),
]


def normal(value: object) -> object:
    """A value as both engines must agree on it: numbers as rounded floats, midnight as a date."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | decimal.Decimal):
        return round(float(value), 6)
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=None)
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return tuple(normal(v) for v in value)
    return str(value)


def rows_of(result: Result) -> list[tuple[object, ...]]:
    return [tuple(normal(v) for v in row) for row in result.rows(10_000)]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("equivalence")
    for name in ("sales.csv", "products.parquet", "events.ndjson", "customers.db"):
        shutil.copy(EXAMPLES / name, folder / name)
    before = os.getcwd()
    os.chdir(folder)
    yield folder
    os.chdir(before)


@pytest.fixture(scope="module")
def sessions(data: Path, spark_endpoint: str) -> Iterator[tuple[Session, Session]]:
    duck = Session(config=data / "none.toml")
    spark = Session(config=data / "none.toml")
    spark.execute(f"SET engine = '{spark_endpoint}'")
    for session in (duck, spark):
        session.execute(SETUP)
    yield duck, spark
    duck.close()
    spark.close()


@pytest.mark.parametrize(("name", "sql"), CORPUS, ids=[name for name, _ in CORPUS])
def test_same_rows_on_duckdb_and_spark(sessions: tuple[Session, Session], name: str, sql: str) -> None:
    duck, spark = sessions
    expected = duck.sql(sql)
    got = spark.sql(sql)
    assert got.engine in ("spark", "noctra") and expected.engine in ("duckdb", "sqlite", "noctra")
    assert [c.name for c in got.columns] == [c.name for c in expected.columns]
    if name.startswith("DESCRIBE"):
        assert rows_of(got) == rows_of(expected)
        return
    ordered = re.search(r"ORDER BY [^)]*$", sql) is not None
    got_rows, expected_rows = rows_of(got), rows_of(expected)
    if not ordered:
        got_rows, expected_rows = sorted(got_rows, key=repr), sorted(expected_rows, key=repr)
    assert got_rows == expected_rows


def test_params_given_by_the_caller(sessions: tuple[Session, Session]) -> None:
    duck, spark = sessions
    sql = "SELECT id FROM sales WHERE product = :p AND amount > :a ORDER BY id"
    assert (
        rows_of(spark.sql(sql, p="Gadget", a=1))
        == rows_of(duck.sql(sql, p="Gadget", a=1))
        == [(2.0,), (6.0,)]
    )
    positional = "SELECT id FROM sales WHERE id > $1 AND product = $2 ORDER BY id"
    assert rows_of(spark.sql(positional, [1, "Widget"])) == rows_of(duck.sql(positional, [1, "Widget"]))


def test_let_keeps_the_type_on_both(sessions: tuple[Session, Session]) -> None:
    duck, spark = sessions
    for session in (duck, spark):
        session.execute(
            "LET top = (SELECT max(amount) FROM sales); LET first_day = (SELECT min(sold_on) FROM sales)"
        )
    assert [(v.type, v.text) for v in (spark.variables["top"], spark.variables["first_day"])] == [
        ("DOUBLE", "120.0"),
        ("DATE", "2024-01-05"),
    ]
    assert rows_of(spark.sql("SELECT id FROM sales WHERE amount = #top AND sold_on > #first_day")) == [(4.0,)]


def test_export_reads_back_the_same_rows(sessions: tuple[Session, Session], data: Path) -> None:
    duck, spark = sessions
    query = "SELECT s.id, s.amount, p.category FROM sales s JOIN products p USING (product)"
    duck.execute(f"EXPORT ({query}) TO 'duck_out.parquet'")
    [message] = spark.execute(f"EXPORT ({query}) TO 'spark_out.parquet'")
    assert re.fullmatch(
        r"exported 6 rows to spark_out\.parquet/ \(\d+ part files?, [\d.]+ [KM]?B, written by Spark\) "
        r"in [\d.]+ s; USE 'spark_out\.parquet' reads it back",
        str(message.text),
    ), message.text
    assert (data / "spark_out.parquet").is_dir()
    spark.execute("EXPORT (SELECT * FROM sales ORDER BY id) TO 'spark_out.csv'")
    for session in (duck, spark):
        session.execute("USE 'duck_out.parquet' AS a; USE 'spark_out.parquet' AS b; USE 'spark_out.csv' AS c")
    for session in (duck, spark):
        back = "SELECT * FROM b ORDER BY id"
        assert rows_of(session.sql(back)) == rows_of(session.sql("SELECT * FROM a ORDER BY id"))
        assert rows_of(session.sql("SELECT id, product FROM c")) == rows_of(
            duck.sql("SELECT id, product FROM sales ORDER BY id")
        )


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM read_csv('sales.csv')", "read_csv() is DuckDB's and has no Spark translation"),
        ("SELECT COLUMNS('a.*') FROM sales", "columns() is DuckDB's and has no Spark translation"),
        ("SELECT strlen(product) FROM sales", "Spark does not know this function"),
    ],
)
def test_what_does_not_translate_is_one_clear_error(
    sessions: tuple[Session, Session], sql: str, message: str
) -> None:
    _, spark = sessions
    with pytest.raises(QueryError, match=re.escape(message)) as info:
        spark.sql(sql).rows(1)
    assert info.value.hint


def test_globs_and_directories_are_read_as_spark_reads_them(
    sessions: tuple[Session, Session], data: Path
) -> None:
    duck, spark = sessions
    parts = data / "parts"
    parts.mkdir()
    (parts / "a.csv").write_text("id,v\n1,x\n2,y\n")
    (parts / "b.csv").write_text("id,v\n3,z\n")
    for session in (duck, spark):
        session.execute("USE 'parts/*.csv' AS glob_parts; USE 'parts' AS dir_parts")
    for sql in ("SELECT * FROM glob_parts ORDER BY id", "SELECT sum(id) AS s FROM dir_parts"):
        assert rows_of(spark.sql(sql)) == rows_of(duck.sql(sql))


def test_a_sqlite_table_past_the_row_limit_is_one_clear_error(data: Path, spark_endpoint: str) -> None:
    config = data / "limit.toml"
    config.write_text(f'[spark]\nremote = "{spark_endpoint}"\nsqlite_max_rows = 3\n')
    with Session(config=config) as session:
        session.execute("USE 'customers.db' AS crm")
        assert session.engine.name == "spark"
        with pytest.raises(
            SourceError, match=r"crm.customers has more than 3 rows: too many to ship to Spark"
        ):
            session.sql("SELECT count(*) FROM crm.customers").rows(1)
