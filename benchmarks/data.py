"""Benchmark data: CSV and Parquet of a given size (DuckDB COPY) and SQLite tables (sqlite3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def select_rows(n: int) -> str:
    """id BIGINT, category VARCHAR (20 values), amount DOUBLE, day DATE, note VARCHAR."""
    return (
        "SELECT i::BIGINT AS id,"
        " 'cat_' || lpad((hash(i) % 20)::VARCHAR, 2, '0') AS category,"
        " round((hash(i * 31) % 1000000) / 100.0, 2)::DOUBLE AS amount,"
        " DATE '2020-01-01' + (hash(i * 7) % 1826)::INTEGER AS day,"
        " 'note ' || md5(i::VARCHAR)[1:16] AS note"
        f" FROM range({n}) t(i)"
    )


def write_sized(path: Path, target_bytes: int, copy_options: str, guess_bytes_per_row: float) -> int:
    """Write ~target_bytes: a 5% sample fixes bytes per row, then the full file. Returns rows."""
    import duckdb

    con = duckdb.connect()
    sample_rows = max(1000, int(target_bytes / guess_bytes_per_row * 0.05))
    con.execute(f"COPY ({select_rows(sample_rows)}) TO '{path}' ({copy_options})")
    rows = int(target_bytes / (path.stat().st_size / sample_rows))
    con.execute(f"COPY ({select_rows(rows)}) TO '{path}' ({copy_options})")
    con.close()
    return rows


COUNTRIES = {
    "FR": "Europe",
    "DE": "Europe",
    "US": "Americas",
    "JP": "Asia",
    "BR": "Americas",
    "IN": "Asia",
    "GB": "Europe",
    "ES": "Europe",
    "IT": "Europe",
    "CA": "Americas",
}


def write_sqlite(path: Path, rows: int) -> None:
    """users(id INTEGER PRIMARY KEY, name TEXT, amount REAL, country TEXT), written by sqlite3."""
    import sqlite3

    codes = "".join(COUNTRIES)
    con = sqlite3.connect(path)
    try:
        con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, amount REAL, country TEXT)")
        con.execute(
            "WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < ?) "
            "INSERT INTO users SELECT i, 'user_' || i, ((i * 37) % 100000) / 100.0, "
            f"substr('{codes}', (i % {len(COUNTRIES)}) * 2 + 1, 2) FROM r",
            (rows - 1,),
        )
        con.commit()
    finally:
        con.close()


def write_orders(path: Path, rows: int, users: int) -> None:
    """order_id BIGINT, user_id BIGINT (a users.id), total DOUBLE, as CSV."""
    import duckdb

    con = duckdb.connect()
    con.execute(
        "COPY (SELECT i::BIGINT AS order_id, (hash(i) % "
        f"{users})::BIGINT AS user_id, round((hash(i * 3) % 100000) / 100.0, 2)::DOUBLE AS total "
        f"FROM range({rows}) t(i)) TO '{path}' (HEADER)"
    )
    con.close()


def write_countries(path: Path) -> None:
    lines = ["code,region", *(f"{code},{region}" for code, region in COUNTRIES.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def sqlite_extension_path() -> str:
    """The sqlite_scanner file from its PyPI wheel: what Noctra loads, and raw DuckDB here too
    (DuckDB's own ``INSTALL sqlite`` would download it, and this machine has no network)."""
    import importlib.util

    import duckdb

    spec = importlib.util.find_spec("duckdb_extension_sqlite_scanner")
    for location in list(spec.submodule_search_locations or []) if spec else []:
        found = Path(location, "extensions", f"v{duckdb.__version__}", "sqlite_scanner.duckdb_extension")
        if found.exists():
            return str(found)
    raise RuntimeError(
        "sqlite_scanner extension not found: "
        f"pip install duckdb-extension-sqlite-scanner=={duckdb.__version__}"
    )


@dataclass(frozen=True)
class SqliteData:
    users_db: Path  # SQLITE_ROWS rows
    lookup_db: Path  # LOOKUP_ROWS rows
    orders_csv: Path  # ORDERS_ROWS rows, user_id in users_db
    countries_csv: Path  # 10 rows
    extension: str  # sqlite_scanner file for raw DuckDB

    @property
    def load(self) -> str:
        return f"LOAD '{self.extension}'"


SQLITE_ROWS = 100_000
LOOKUP_ROWS = 1_000_000
ORDERS_ROWS = 100_000


def write_sqlite_data(tmp: Path) -> SqliteData:
    data = SqliteData(
        tmp / "crm.db", tmp / "lookup.db", tmp / "orders.csv", tmp / "countries.csv", sqlite_extension_path()
    )
    write_sqlite(data.users_db, SQLITE_ROWS)
    write_sqlite(data.lookup_db, LOOKUP_ROWS)
    write_orders(data.orders_csv, ORDERS_ROWS, SQLITE_ROWS)
    write_countries(data.countries_csv)
    return data


def cached_sized(
    data_dir: Path, name: str, target_bytes: int, copy_options: str, guess: float
) -> tuple[Path, int]:
    """A file of ~target_bytes (write_sized) kept in data_dir between runs; rows in it.

    The name holds the target size and a digest of what makes the rows (the generating
    SQL, the COPY options, DuckDB's version: its hash() may change): a missing or
    different file is written again, to a temporary name renamed when complete.
    """
    import hashlib
    import json

    import duckdb

    recipe = f"{select_rows(0)}|{copy_options}|{duckdb.__version__}|{target_bytes}"
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:10]
    suffix = ".parquet" if "parquet" in copy_options.lower() else ".csv"
    path = data_dir / f"{name}_{target_bytes // 1_000_000}mb_{digest}{suffix}"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        known = json.loads(meta.read_text(encoding="utf-8"))
        if known.get("bytes") == path.stat().st_size:
            return path, int(known["rows"])
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    rows = write_sized(partial, target_bytes, copy_options, guess)
    partial.replace(path)
    meta.write_text(json.dumps({"rows": rows, "bytes": path.stat().st_size}), encoding="utf-8")
    return path, rows
