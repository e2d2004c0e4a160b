"""Red team, round 4: the same scripts on Spark as on DuckDB, through the real CLI.

Each test is a bug found with real files and a real Spark Connect server (the shared one of
tests/spark/conftest.py); a test marked xfail(strict=True) is a bug not fixed yet.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import RunNoctra
from tests.spark.conftest import spark_missing

pytestmark = pytest.mark.skipif(spark_missing() is not None, reason=spark_missing() or "")

DATA_CSV = (
    "id,name,amount,day,ts,flag\n"
    "1,Ann,10.50,2024-01-02,2024-01-02 03:04:05,true\n"
    "2,,20.25,2024-02-03,2024-02-03 10:00:00,false\n"
    "3,Bo,,,,\n"
)

SCRIPT = """
USE 'd.csv' AS d;
USE 'j.ndjson' AS j;
USE 'c.db' AS c;
LET m = 15;
LET since = DATE '2024-01-31';
LET top = (SELECT max(score) FROM c.u);
SELECT * FROM d ORDER BY id;
SELECT id, amount FROM d ORDER BY amount;
SELECT id, amount FROM d ORDER BY amount DESC;
SELECT id, amount > #m AS big, day > #since AS later FROM d ORDER BY id;
SELECT sum(amount) AS s, avg(amount) AS a, count(*) AS n, count(name) AS names FROM d;
SELECT * FROM j ORDER BY k;
SELECT * FROM c.u ORDER BY score DESC;
SELECT #top AS top, :m AS m;
SELECT name, amount FROM d ORDER BY name NULLS FIRST, id;
SELECT CAST(1.10 AS DECIMAL(5,2)) AS dd, 7 / 2 AS div, 10 % 3 AS md;
DESCRIBE d;
SHOW VARS;
"""


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    (tmp_path / "d.csv").write_text(DATA_CSV, encoding="utf-8")
    (tmp_path / "j.ndjson").write_text(
        '{"k":1,"v":"a","d":1.5}\n{"k":2,"v":null,"d":null}\n', encoding="utf-8"
    )
    with sqlite3.connect(tmp_path / "c.db") as conn:
        conn.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT, score REAL)")
        conn.executemany("INSERT INTO u VALUES (?, ?, ?)", [(1, "a", 1.5), (2, None, None), (3, "c", 2.25)])
    conn.close()
    (tmp_path / "s.rql").write_text(SCRIPT, encoding="utf-8")
    return tmp_path


def test_the_same_script_gives_the_same_csv_on_duckdb_and_spark(
    spark_endpoint: str, run_noctra: RunNoctra, corpus: Path
) -> None:
    """Works: NULL ordering, decimals, dates, LET/#var/:param, SQLite, DESCRIBE, SHOW VARS agree."""
    duck = run_noctra("--fresh", "batch", "--format", "csv", "s.rql", cwd=corpus)
    spark = run_noctra("--fresh", "--engine", spark_endpoint, "batch", "--format", "csv", "s.rql", cwd=corpus)
    assert duck.returncode == 0, duck.stderr
    assert spark.returncode == 0, spark.stderr
    assert spark.stdout == duck.stdout


def test_errors_on_spark_are_one_line_each_and_the_script_goes_on(
    spark_endpoint: str, run_noctra: RunNoctra, corpus: Path
) -> None:
    """Works: missing file, bad SQL, unknown table/column/variable, DuckDB-only function."""
    script = (
        "USE 'missing.csv' AS m;\nSELEC 1;\nSELECT * FROM nope;\nUSE 'd.csv' AS d;\nSELECT nope FROM d;\n"
        "SELECT #undefined;\nSELECT * FROM read_csv('d.csv');\nSELECT count(*) AS n FROM d;\n"
    )
    (corpus / "bad.rql").write_text(script, encoding="utf-8")
    run = run_noctra(
        "--fresh",
        "--engine",
        spark_endpoint,
        "batch",
        "--continue-on-error",
        "--format",
        "csv",
        "bad.rql",
        cwd=corpus,
    )
    assert (run.returncode, run.stdout) == (1, "n\n3\n"), run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("noctra: error: ")]
    assert [e.split(":")[2].strip() for e in errors] == [
        "statement 1, line 1, column 1",
        "statement 2, line 2, column 1",
        "statement 3, line 3, column 1",
        "statement 5, line 5, column 1",
        "statement 6, line 6, column 8",
        "statement 7, line 7, column 1",
    ], run.stderr
    assert "Traceback" not in run.stderr


def test_spark_export_never_deletes_a_directory_of_the_users_files(
    spark_endpoint: str, run_noctra: RunNoctra, corpus: Path
) -> None:
    """R4S-S1: Spark's export removed the target directory (shutil.rmtree) with the user's files."""
    folder = corpus / "reports"
    (folder / "keep").mkdir(parents=True)
    (folder / "report.docx").write_text("a year of work", encoding="utf-8")
    (folder / "keep" / "notes.txt").write_text("notes", encoding="utf-8")
    duck = run_noctra("--fresh", "query", "EXPORT (SELECT 1 AS a) TO 'reports' FORMAT PARQUET", cwd=corpus)
    assert duck.returncode == 1 and (folder / "report.docx").exists(), duck.stderr  # DuckDB refuses
    run = run_noctra(
        "--fresh",
        "--engine",
        spark_endpoint,
        "query",
        "EXPORT (SELECT 1 AS a) TO 'reports' FORMAT PARQUET",
        cwd=corpus,
    )
    assert (folder / "report.docx").read_text(encoding="utf-8") == "a year of work", run.stderr
    assert (folder / "keep" / "notes.txt").exists()
    assert run.returncode == 1, run.stderr


def test_spark_export_to_the_current_directory_keeps_its_files(
    spark_endpoint: str, run_noctra: RunNoctra, corpus: Path
) -> None:
    """R4S-S1: EXPORT ... TO '.' on Spark removed the current directory with all its files."""
    work = corpus / "work"
    work.mkdir()
    (work / "precious.txt").write_text("keep me", encoding="utf-8")
    run = run_noctra(
        "--fresh", "--engine", spark_endpoint, "query", "EXPORT (SELECT 1 AS a) TO '.' FORMAT CSV", cwd=work
    )
    assert (work / "precious.txt").exists(), run.stderr
    assert run.returncode == 1, run.stderr


def test_spark_csv_export_reports_the_rows_it_wrote(
    spark_endpoint: str, run_noctra: RunNoctra, corpus: Path
) -> None:
    """R4S-S2: the count read the parts back without header=true: each part's header counted as a row."""
    run = run_noctra(
        "--fresh",
        "--engine",
        spark_endpoint,
        "query",
        "USE 'd.csv' AS d; EXPORT (SELECT id, name FROM d) TO 'out.csv'",
        cwd=corpus,
    )
    assert run.returncode == 0, run.stderr
    assert "exported 3 rows to out.csv/" in run.stderr, run.stderr


def test_spark_json_export_keeps_a_column_of_nulls(
    spark_endpoint: str, run_noctra: RunNoctra, corpus: Path
) -> None:
    """R4S-S3: Spark's JSON writer dropped null fields (ignoreNullFields): a column of NULLs vanished."""
    query = "EXPORT (SELECT 1 AS a, CAST(NULL AS INT) AS b) TO '{}'"
    duck = run_noctra("--fresh", "query", query.format("duck.json"), cwd=corpus)
    spark = run_noctra("--fresh", "--engine", spark_endpoint, "query", query.format("spark.json"), cwd=corpus)
    assert duck.returncode == 0 and spark.returncode == 0, spark.stderr
    back = run_noctra(
        "--fresh",
        "query",
        "--format",
        "csv",
        "USE 'duck.json' AS x; SELECT * FROM x; USE 'spark.json' AS y; SELECT * FROM y",
        cwd=corpus,
    )
    assert back.stdout == "a,b\n1,\na,b\n1,\n", back.stderr


def test_spark_export_cut_by_timeout_leaves_no_temp_directory(
    spark_endpoint: str, run_noctra: RunNoctra, corpus: Path
) -> None:
    """R4S-S4: an export cut by --timeout left its 'target.noctra-PID.tmp' directory behind."""
    (corpus / "big.parquet").write_text("old", encoding="utf-8")
    run = run_noctra(
        "--fresh",
        "--engine",
        spark_endpoint,
        "--timeout",
        "10",
        "query",
        "EXPORT (SELECT a, md5(CAST(a AS VARCHAR)) AS h FROM range(0, 4000000000) t(a)) TO 'big.parquet'",
        cwd=corpus,
    )
    assert run.returncode == 4, run.stderr
    assert (corpus / "big.parquet").read_text(encoding="utf-8") == "old"
    leftovers = [p.name for p in corpus.iterdir() if ".noctra-" in p.name]
    assert leftovers == []
