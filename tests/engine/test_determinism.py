"""Which statements a stored result may stand in for (engine/duck/determinism.py)."""

from __future__ import annotations

import duckdb
import pytest

from noctra.engine.base import TableRef
from noctra.engine.duck import determinism
from noctra.engine.duck.engine import DuckEngine


def test_the_shipped_function_list_matches_the_pinned_duckdb() -> None:
    """Moving the DuckDB pin without regenerating the list fails here (run the module)."""
    with duckdb.connect() as connection:
        live = determinism.deterministic_functions(
            connection.execute(determinism.DETERMINISTIC_FUNCTIONS_SQL).fetchall()
        )
    assert determinism.known_functions(duckdb.__version__) == live
    assert determinism.known_functions("0.0.0") is None
    assert {"sum", "count_star", "strftime", "list_sort", "split_part"} <= live
    assert not {"random", "now", "uuid", "current_localtimestamp", "ago", "nextval", "today"} & live


@pytest.fixture(scope="module")
def engine() -> DuckEngine:
    return DuckEngine()


KEPT = {
    "SELECT k, sum(v) FROM t GROUP BY k": ([("", "", "t")], []),
    "SELECT * FROM read_csv('a.csv', header = true)": ([], ["a.csv"]),
    "SELECT * FROM read_parquet(['a.parquet', 'b.parquet'])": ([], ["a.parquet", "b.parquet"]),
    "SELECT * FROM 'x.parquet' JOIN memory.main.t USING (k)": (
        [("", "", "x.parquet"), ("memory", "main", "t")],
        [],
    ),
    "WITH w AS (SELECT * FROM t) SELECT count(*) FROM w": ([("", "", "t"), ("", "", "w")], []),
    "SELECT row_number() OVER (ORDER BY k), lag(k) OVER () FROM t QUALIFY k > 1": ([("", "", "t")], []),
    "SELECT nullif(a, 1), coalesce(a, 2), a::INT, a IN (1, 2), a LIKE 'x%' FROM t": ([("", "", "t")], []),
    "SELECT split_part(s, ',', 1), date_trunc('day', ts) FROM t WHERE EXISTS (SELECT 1 FROM u)": (
        [("", "", "t"), ("", "", "u")],
        [],
    ),
}


@pytest.mark.parametrize("sql", list(KEPT))
def test_deterministic_statements_are_described(engine: DuckEngine, sql: str) -> None:
    reads = engine.read_set(sql)
    assert reads is not None
    tables, files = KEPT[sql]
    assert set(reads.tables) == {TableRef(*t) for t in tables}
    assert list(reads.files) == files


REFUSED = [
    "SELECT random() FROM t",
    "SELECT now()",
    "SELECT current_date",
    "SELECT current_timestamp FROM t",
    "SELECT localtimestamp",
    "SELECT current_localtimestamp()",
    "SELECT strftime(now(), '%Y')",
    "SELECT uuid() FROM t",
    "SELECT gen_random_uuid()",
    "SELECT nextval('s')",
    "SELECT ago(INTERVAL 1 DAY)",
    "SELECT today()",
    "SELECT current_setting('TimeZone'), getvariable('x')",
    "SELECT * FROM t USING SAMPLE 10%",
    "SELECT * FROM t TABLESAMPLE 5 ROWS",
    "SELECT * FROM t AT (VERSION => 1)",
    "SELECT ? FROM t",
    "SELECT $1 FROM t",
    "SELECT * FROM glob('*.csv')",
    "SELECT * FROM range(10)",
    "SELECT * FROM read_text('a.txt')",
    "SELECT * FROM duckdb_tables()",
    "SELECT * FROM read_csv(getenv('F'))",
    "SELECT * FROM read_csv(concat('a', '.csv'))",
    "SELECT * FROM query('SELECT 1')",
    "SELECT user, current_user, session_user FROM t",
    "SELECT main.my_macro(1)",
    "SELECT version()",
    "INSERT INTO t VALUES (1)",
    "SELECT 1; SELECT 2",
    "not sql at all",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_statements_that_may_change_are_refused(engine: DuckEngine, sql: str) -> None:
    assert engine.read_set(sql) is None
