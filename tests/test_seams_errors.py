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
