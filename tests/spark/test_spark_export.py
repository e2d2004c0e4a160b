"""EXPORT on Spark: the parts replace only an earlier export, never anything else (R4S-S1..S4).

A Spark export writes a directory of part files. On a Spark server of this machine Noctra
writes them into a hidden directory beside the target and puts them in place once they
are complete, with DuckDB's export rules (docs/RQL_EXTENSIONS.md): a folder holding files
Noctra did not write is refused, an interrupted or failed export leaves the earlier output
whole and no temp behind. One session on the shared server (tests/spark/conftest.py) for
the module; real files, read back with DuckDB.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from noctra.errors import ExportError, QueryError
from noctra.session import Session
from tests.spark.conftest import spark_missing

pytestmark = pytest.mark.skipif(spark_missing() is not None, reason=spark_missing() or "")


@pytest.fixture(scope="module")
def spark(spark_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    session = Session(config=tmp_path_factory.mktemp("config") / "none.toml")
    session.execute(f"SET engine = '{spark_endpoint}'")
    yield session
    session.close()


def export(session: Session, query: str, target: Path | str, tail: str = "") -> str:
    """EXPORT (query) TO target: the message the user sees."""
    [message] = session.execute(f"EXPORT ({query}) TO '{target}' {tail}")
    return str(message.text)


def tree(folder: Path) -> list[str]:
    """Every entry under folder, hidden ones too, relative and sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def temps(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".noctra-" in p.name]


def rows_back(target: Path, fmt: str = "parquet") -> list[tuple[object, ...]]:
    reader = {"parquet": "read_parquet", "csv": "read_csv", "json": "read_json"}[fmt]
    pattern = f"{target}/**/part-*.{fmt}"
    query = f"SELECT * FROM {reader}('{pattern}', hive_partitioning = true) ORDER BY ALL"
    return duckdb.sql(query).fetchall()


def test_an_earlier_export_is_kept_unless_overwrite_is_true(spark: Session, tmp_path: Path) -> None:
    """Files named like parts (data_2023.parquet) may be a user's own: as DuckDB's directory
    exports, replacing an earlier export needs OPTIONS (overwrite = true) (R9-S3)."""
    target = tmp_path / "out"
    export(spark, "SELECT 1 AS id", target, "FORMAT PARQUET")
    before = tree(target)
    with pytest.raises(ExportError, match=r"it holds an earlier export \(1 file"):
        export(spark, "SELECT 2 AS id", target, "FORMAT PARQUET")
    assert tree(target) == before


def test_an_earlier_spark_export_is_replaced_whole(spark: Session, tmp_path: Path) -> None:
    target = tmp_path / "out"
    export(spark, "SELECT id, id % 3 AS k FROM range(0, 9) t(id)", target, "OPTIONS (partition_by = (k))")
    first = tree(target)
    assert {"k=0", "k=1", "k=2"} <= set(first)
    second = "SELECT id, 7 AS k FROM range(0, 2) t(id)"
    message = export(spark, second, target, "OPTIONS (partition_by = (k), overwrite = true)")
    assert message.startswith(f"exported 2 rows to {target}/ ("), message
    now = tree(target)
    assert [p for p in now if "/" not in p] == ["k=7"]
    assert not set(first) & set(now)
    assert rows_back(target) == [(0, 7), (1, 7)]
    assert temps(tmp_path) == []


def test_a_directory_holding_other_files_is_refused_and_kept_whole(spark: Session, tmp_path: Path) -> None:
    target = tmp_path / "out"
    export(spark, "SELECT id, id % 2 AS k FROM range(0, 4) t(id)", target, "OPTIONS (partition_by = (k))")
    (target / "k=1" / "notes.txt").write_text("mine", encoding="utf-8")
    before = tree(target)
    with pytest.raises(ExportError) as info:
        export(spark, "SELECT 1 AS id, 1 AS k", target, "OPTIONS (partition_by = (k))")
    assert info.value.message == (
        f"cannot export to '{target}': 'k=1/notes.txt' was not written by a PARQUET export, "
        "and a Spark export replaces the whole directory"
    )
    assert info.value.hint == (
        f"choose a new or empty directory, e.g. '{target}/out.parquet': "
        "Spark writes a directory of part files there"
    )
    assert tree(target) == before
    assert (target / "k=1" / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert len(rows_back(target)) == 4
    assert temps(tmp_path) == []


def test_a_part_file_of_another_format_is_not_an_earlier_export(spark: Session, tmp_path: Path) -> None:
    target = tmp_path / "out"
    export(spark, "SELECT 1 AS a", target, "FORMAT CSV")
    with pytest.raises(ExportError, match=r"'part-00000-.*\.csv' was not written by a PARQUET export"):
        export(spark, "SELECT 1 AS a", target, "FORMAT PARQUET")
    assert rows_back(target, "csv") == [(1,)]


def test_overwrite_false_refuses_an_earlier_export(spark: Session, tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    export(spark, "SELECT 1 AS a", target)
    with pytest.raises(ExportError) as info:
        export(spark, "SELECT 2 AS a", target, "OPTIONS (overwrite = false)")
    assert info.value.message == (
        f"cannot export to '{target}': it holds an earlier export and overwrite = false"
    )
    assert rows_back(target) == [(1,)]
    export(spark, "SELECT 3 AS a", target, "OPTIONS (overwrite = true)")
    assert rows_back(target) == [(3,)]


def test_a_file_at_the_target_is_replaced_by_the_parts_once_they_are_complete(
    spark: Session, tmp_path: Path
) -> None:
    target = tmp_path / "out.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS a) TO '{target}'")  # what DuckDB's export of this script made
    with pytest.raises(QueryError, match=r"'\(id < 3\)' is not true"):
        export(spark, "SELECT assert_true(id < 3) AS a FROM range(0, 10) t(id)", target)
    assert target.is_file() and duckdb.sql(f"FROM '{target}'").fetchall() == [(1,)]
    export(spark, "SELECT 2 AS a", target)
    assert target.is_dir() and rows_back(target) == [(2,)]
    assert temps(tmp_path) == []


def test_a_file_with_other_hard_links_is_refused(spark: Session, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("a\n1\n", encoding="utf-8")
    os.link(target, tmp_path / "other.csv")
    with pytest.raises(ExportError, match=r"it has 2 hard links"):
        export(spark, "SELECT 2 AS a", target)
    assert target.read_text(encoding="utf-8") == "a\n1\n"


def test_a_failed_export_keeps_the_earlier_output_and_leaves_no_temp(spark: Session, tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    export(spark, "SELECT 1 AS a", target)
    before = tree(target)
    with pytest.raises(QueryError, match=r"'\(id < 3\)' is not true"):
        export(
            spark,
            "SELECT assert_true(id < 3) AS a FROM range(0, 10) t(id)",
            target,
            "OPTIONS (overwrite = true)",
        )
    assert tree(target) == before
    assert rows_back(target, "json") == [(1,)]
    assert temps(tmp_path) == []


def test_a_missing_folder_is_an_error_and_nothing_is_made(spark: Session, tmp_path: Path) -> None:
    with pytest.raises(ExportError) as info:
        export(spark, "SELECT 1 AS a", tmp_path / "nope" / "out.parquet")
    assert info.value.message == (
        f"cannot export to '{tmp_path}/nope/out.parquet': folder '{tmp_path}/nope' does not exist"
    )
    assert info.value.hint == "create the folder first"
    assert tree(tmp_path) == []


def test_a_link_is_followed_and_stays(spark: Session, tmp_path: Path) -> None:
    real = tmp_path / "real"
    export(spark, "SELECT 1 AS a", real, "FORMAT PARQUET")
    (tmp_path / "link").symlink_to(real)
    export(spark, "SELECT 2 AS a", tmp_path / "link", "FORMAT PARQUET OPTIONS (overwrite = true)")
    assert (tmp_path / "link").is_symlink() and rows_back(real) == [(2,)]
    (tmp_path / "dangling").symlink_to(tmp_path / "made")
    export(spark, "SELECT 3 AS a", tmp_path / "dangling", "FORMAT PARQUET")
    assert (tmp_path / "dangling").is_symlink() and rows_back(tmp_path / "made") == [(3,)]
    (real / "mine.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ExportError, match=r"'mine\.txt' was not written by a PARQUET export"):
        export(spark, "SELECT 4 AS a", tmp_path / "link", "FORMAT PARQUET OPTIONS (overwrite = true)")
    assert (real / "mine.txt").exists()


def test_an_empty_directory_is_filled_where_it_is(
    spark: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    message = export(spark, "SELECT 1 AS a", ".", "FORMAT CSV")
    [part] = tree(tmp_path)
    assert re.fullmatch(r"part-00000-[0-9a-f-]{36}-c000\.csv", part), part
    assert message.startswith("exported 1 row to ./ (1 part file, 4 B, written by Spark) in "), message
    assert (tmp_path / part).read_text(encoding="utf-8") == "a\n1\n"


def test_a_named_pipe_is_refused_and_kept(spark: Session, tmp_path: Path) -> None:
    """Not /dev/null itself: an export that replaced it (the old code did) breaks the machine."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(ExportError) as info:
        export(spark, "SELECT 1 AS a", pipe, "FORMAT CSV")
    assert info.value.message == (
        f"cannot export to '{pipe}': it is not a regular file or directory, "
        "and a Spark export writes a directory of part files"
    )
    assert tree(tmp_path) == ["pipe"] and pipe.is_fifo()


def test_the_report_counts_the_rows_bytes_and_parts_written(spark: Session, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    # Two partitions (two parts, each with a header) and a value holding a newline.
    query = "SELECT id, CASE WHEN id = 1 THEN 'a' || chr(10) || 'b' END AS v FROM range(0, 5) t(id)"
    message = export(spark, query, target)
    parts = sorted(p for p in target.iterdir())
    assert len(parts) == 2 and not [p for p in parts if p.name.startswith((".", "_"))]
    size = sum(p.stat().st_size for p in parts)
    assert re.fullmatch(
        rf"exported 5 rows to {re.escape(str(target))}/ \(2 part files, {size} B, written by Spark\) "
        rf"in [\d.]+ s; USE '{re.escape(str(target))}' reads it back",
        message,
    ), message
    assert rows_back(target, "csv") == [(0, None), (1, "a\nb"), (2, None), (3, None), (4, None)]
    message = export(spark, query, target, "OPTIONS (header = false, overwrite = true)")
    assert message.startswith(f"exported 5 rows to {target}/ (2 part files,"), message
    empty = export(spark, "SELECT 1 AS a WHERE false", target, "OPTIONS (overwrite = true)")
    assert empty.startswith(f"exported 0 rows to {target}/")


def test_a_json_export_writes_null_fields(spark: Session, tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    export(spark, "SELECT 1 AS a, CAST(NULL AS INT) AS b", target)
    [part] = target.iterdir()
    assert part.read_text(encoding="utf-8") == '{"a":1,"b":null}\n'


def test_tsv_and_gz_targets_are_written_as_duckdb_writes_them(spark: Session, tmp_path: Path) -> None:
    export(spark, "SELECT 1 AS a, 2 AS b", tmp_path / "out.tsv")
    [part] = (tmp_path / "out.tsv").iterdir()
    assert part.read_text(encoding="utf-8") == "a\tb\n1\t2\n"
    export(spark, "SELECT 1 AS a, 2 AS b", tmp_path / "out.csv.gz")
    [part] = (tmp_path / "out.csv.gz").iterdir()
    assert part.name.endswith(".csv.gz") and gzip.decompress(part.read_bytes()) == b"a,b\n1,2\n"


def _dead_pid() -> int:
    code = "import os; print(os.getpid())"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(child.stdout)


def test_a_killed_exports_stale_temp_directory_is_removed_by_the_next_export(
    spark: Session, tmp_path: Path
) -> None:
    pid = _dead_pid()
    stale = tmp_path / f".out.parquet.noctra-{pid}-0123abcd.tmp"
    (stale / "_temporary" / "0").mkdir(parents=True)
    (stale / "_temporary" / "0" / "part-00000.parquet").write_bytes(b"half")
    hour_ago = time.time() - 3700
    os.utime(stale, (hour_ago, hour_ago))
    young = tmp_path / f".out.parquet.noctra-{pid}-4567abcd.tmp"  # a killed export's, not an hour old
    young.mkdir()
    other = tmp_path / f".other.parquet.noctra-{pid}-89abcdef.tmp"  # another target's
    other.mkdir()
    os.utime(other, (hour_ago, hour_ago))
    export(spark, "SELECT 1 AS a", tmp_path / "out.parquet")
    assert sorted(temps(tmp_path)) == sorted([young.name, other.name])


def test_a_path_spark_writes_itself_must_be_new(spark: Session, tmp_path: Path) -> None:
    """A URL (or a cluster's path): Noctra cannot look there, so Spark must not overwrite it."""
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "report.docx").write_text("a year of work", encoding="utf-8")
    with pytest.raises(ExportError) as info:
        export(spark, "SELECT 1 AS a", f"file://{folder}", "FORMAT PARQUET")
    assert info.value.message == (
        f"cannot export to 'file://{folder}': it exists already, and Spark writes it on the cluster, "
        "where Noctra cannot check that it holds only an earlier export"
    )
    assert tree(folder) == ["report.docx"]
    message = export(spark, "SELECT 1 AS a", f"file://{tmp_path}/new.parquet")
    assert message.startswith(
        f"exported 1 row to file://{tmp_path}/new.parquet/ (written by Spark on the cluster) in "
    ), message
    assert rows_back(tmp_path / "new.parquet") == [(1,)]


def test_without_the_writes_own_count_the_parts_are_read_back_as_written(
    spark: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that reports no observed metrics: the count reads the parts with their options."""
    from pyspark.sql.connect.observation import Observation

    monkeypatch.setattr(Observation, "get", property(lambda self: {}))
    query = "SELECT id, CASE WHEN id = 1 THEN 'a' || chr(10) || 'b' END AS v FROM range(0, 5) t(id)"
    for options in (
        "OPTIONS (delimiter = ';', overwrite = true)",
        "OPTIONS (header = false, overwrite = true)",
    ):
        message = export(spark, query, tmp_path / "out.csv", options)
        assert message.startswith(f"exported 5 rows to {tmp_path}/out.csv/ (2 part files,"), message
