"""Issue 11: errors and hints at the seams (CSV types and values, misleading hints), as users met them."""

from __future__ import annotations

from pathlib import Path

import pytest

from noctra import Session
from noctra.errors import NoctraError
from tests.conftest import RunNoctra

# DuckDB types CSV columns from a sample of 20,480 rows: a bad value past it is met mid-query.
SAMPLED_ROWS = 30_000


def late_bad_value(path: Path, value: str = "abc") -> None:
    """A CSV whose `amount` looks numeric for the whole sample, then holds `value`."""
    lines = ["id,amount", *(f"{i},{i}" for i in range(SAMPLED_ROWS)), f"{SAMPLED_ROWS},{value}"]
    path.write_text("\n".join(lines) + "\n")


def one_line_error(session: Session, sql: str) -> NoctraError:
    with pytest.raises(NoctraError) as info:
        session.execute(sql)
    assert "\n" not in info.value.message and "\n" not in (info.value.hint or "")
    return info.value


# --- 11.11: CSV conversion errors keep the value, the column, the file and the hint ---------


@pytest.mark.parametrize(
    "statements",
    ["USE 'late.csv' AS l; SELECT sum(amount) FROM l", "SELECT sum(amount) FROM 'late.csv'"],
)
def test_csv_conversion_error_names_value_column_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statements: str
) -> None:
    monkeypatch.chdir(tmp_path)
    late_bad_value(tmp_path / "late.csv")
    with Session() as s:
        error = one_line_error(s, statements)
    assert error.message == (
        f'CSV error in late.csv on line {SAMPLED_ROWS + 2}: cannot convert "abc" in column "amount" to BIGINT'
    )
    assert error.hint is not None
    assert "types = {'amount': 'VARCHAR'}" in error.hint and "all_varchar = true" in error.hint


def test_csv_conversion_error_of_a_set_type_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sibling: a type the user set (a date with its format) that a value does not fit."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("id,when it's\n1,03/02/2024\n2,soon\n")
    with Session() as s:
        s.execute("USE 'd.csv' AS d OPTIONS (dateformat = '%d/%m/%Y', types = {'when it''s': 'DATE'})")
        error = one_line_error(s, "SELECT * FROM d")
    assert (
        error.message == 'CSV error in d.csv on line 3: cannot convert "soon" in column "when it\'s" to DATE'
    )
    assert error.hint is not None and "types = {'when it''s': 'VARCHAR'}" in error.hint


def test_glob_read_in_from_names_both_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB types `FROM 'glob'` from its first files; a later file that disagrees is named."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "many").mkdir()
    for n in range(1, 13):
        (tmp_path / "many" / f"f{n:02}.csv").write_text(f"id,v\n{n},{n}\n")
    (tmp_path / "many" / "f12.csv").write_text("id,v\n12,twelve\n")
    with Session() as s:
        error = one_line_error(s, "SELECT max(v) FROM 'many/*.csv'")
        assert error.message == (
            'the files of a glob disagree: column "v" is VARCHAR in many/f12.csv, BIGINT in many/f01.csv'
        )
        assert error.hint is not None and "files_to_sniff = -1" in error.hint
        assert s.sql("SELECT max(v) FROM read_csv('many/*.csv', files_to_sniff = -1)").rows(1) == [
            ("twelve",)
        ]


def test_csv_conversion_error_on_the_command_line(tmp_path: Path, run_noctra: RunNoctra) -> None:
    late_bad_value(tmp_path / "late.csv", value="n/a")
    proc = run_noctra("-c", "SELECT sum(amount) FROM 'late.csv'", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "noctra: error: statement 1, line 1, column 1: CSV error in late.csv on line "
        f'{SAMPLED_ROWS + 2}: cannot convert "n/a" in column "amount" to BIGINT',
        "hint: DuckDB types CSV columns from a sample of rows: set types = {'amount': 'VARCHAR'} "
        "or all_varchar = true (USE ... OPTIONS (...), or read_csv arguments)",
    ]


# --- 11.5: a registered glob or directory is typed across its files, as DuckDB reads it ------


def twelve_files(folder: Path, last: str) -> None:
    """f01..f12.csv with a numeric `v`, except `last` in f12 (past DuckDB's 10 files sniffed)."""
    folder.mkdir()
    for n in range(1, 13):
        (folder / f"f{n:02}.csv").write_text(f"id,v\n{n},{n if n < 12 else last}\n")


@pytest.mark.parametrize("path", ["glb/*.csv", "glb", "glb/**/*.csv"])
def test_registered_glob_types_columns_across_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "glb").mkdir()
    (tmp_path / "glb" / "a.csv").write_text("id,v\n1,2\n")
    (tmp_path / "glb" / "b.csv").write_text("id,v\n2,x\n")
    with Session() as s:
        s.execute(f"USE '{path}' AS g")
        assert s.sql("SELECT id, v FROM g ORDER BY id").rows(5) == [(1, "2"), (2, "x")]
        assert s.sql("SELECT typeof(id), typeof(v) FROM g LIMIT 1").rows(1) == [("BIGINT", "VARCHAR")]


def test_registered_hive_directory_keeps_its_partition_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sibling: partition folders of CSVs, whose files disagree on a column's type."""
    monkeypatch.chdir(tmp_path)
    for year, value in (("2023", "2"), ("2024", "late")):
        (tmp_path / "sales" / f"year={year}").mkdir(parents=True)
        (tmp_path / "sales" / f"year={year}" / "part.csv").write_text(f"id,v\n{year},{value}\n")
    with Session() as s:
        s.execute("USE 'sales' AS s")
        assert s.sql("SELECT year, v FROM s ORDER BY year").rows(5) == [(2023, "2"), (2024, "late")]


def test_a_glob_file_past_the_sniffed_ones_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB types a glob from its first 10 files: the 12th that does not fit gets one clear error."""
    monkeypatch.chdir(tmp_path)
    twelve_files(tmp_path / "many", "twelve")
    with Session() as s:
        s.execute("USE 'many/*.csv' AS m")
        error = one_line_error(s, "SELECT max(v) FROM m")
        assert (
            error.message
            == 'CSV error in many/f12.csv on line 2: cannot convert "twelve" in column "v" to BIGINT'
        )
        assert error.hint is not None and "types = {'v': 'VARCHAR'}" in error.hint
        s.execute("USE 'many/*.csv' AS m OPTIONS (files_to_sniff = -1)")
        assert s.sql("SELECT max(v) FROM m").rows(1) == [("twelve",)]


def test_a_file_added_to_a_registered_glob_is_typed_in_the_next_run(
    tmp_path: Path, run_noctra: RunNoctra
) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.csv").write_text("id,v\n1,2\n")
    first = run_noctra("-c", "USE 'logs/*.csv' AS g; SELECT sum(v) FROM g", "--format", "csv", cwd=tmp_path)
    assert (first.returncode, first.stdout) == (0, "sum(v)\n2\n")
    (tmp_path / "logs" / "b.csv").write_text("id,v\n2,x\n")
    second = run_noctra("-c", "SELECT v FROM g ORDER BY id", "--format", "csv", cwd=tmp_path)
    assert (second.returncode, second.stdout, second.stderr) == (0, "v\n2\nx\n", "")
