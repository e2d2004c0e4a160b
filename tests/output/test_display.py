"""Table and markdown show each value as SQL shows it: the text csv output has, on every road."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import struct
from pathlib import Path

import pytest

from noctra import Session
from noctra.output.display import needs_sql_text, parse_csv
from noctra.output.model import Result
from noctra.output.render import display_value
from tests.conftest import RunNoctra

DISPLAY_FORMATS = ("table", "markdown")
# Values whose Python form loses what DuckDB shows: months, nanoseconds, infinity, FLOAT digits,
# quotes inside lists. One row, one column each; they are read as Arrow and shown as COPY writes them.
LOSSY = """
SELECT age(TIMESTAMP '2024-03-01', TIMESTAMP '2023-01-01') AS age,
 INTERVAL 1 MONTH - INTERVAL 30 DAYS AS diff, INTERVAL '1 year 2 months 3 days 04:05:06.789' AS iv,
 TIMESTAMP_NS '2024-01-01 00:00:00.123456789' AS ns, TIME_NS '12:00:00.123456789' AS tns,
 TIMESTAMP_S '2024-01-01 00:00:01' AS ts_s, TIMESTAMP_MS '2024-01-01 00:00:01.5' AS ts_ms,
 DATE 'infinity' AS di, DATE '-infinity' AS dni, DATE '9999-12-31' AS dmax, DATE '0001-01-01' AS dmin,
 TIMESTAMP 'infinity' AS ti, TIMESTAMP '-infinity' AS tni, TIMESTAMPTZ 'infinity' AS tzi,
 TIMESTAMPTZ '2024-01-01 00:00:00.5+00' AS tz, 0.1::FLOAT AS f, 1e-7::FLOAT AS fs,
 123456789::FLOAT AS fb, 'nan'::FLOAT AS fnan, [0.1::FLOAT, NULL] AS lf,
 ['a', 'b,c', 'it''s', NULL, '', 'NULL'] AS ls, {'k': INTERVAL 1 MONTH, 's': 'a b'} AS st,
 MAP {'a': DATE 'infinity'} AS mp, [[1, 2], [3]] AS ll, [1, 2]::INTEGER[2] AS arr,
 union_value(a := 1)::UNION(a INTEGER, b VARCHAR) AS un, NULL::DATE AS nd, '' AS e, 'NULL' AS sn,
 1.10::DECIMAL(5,2) AS dec, 0::DECIMAL(18,10) AS dz, 'x' AS v, true AS b, 1.5 AS d,
 '\\x00\\xFFa'::BLOB AS bl, 'a' || chr(27) || '[2Jb' AS esc
"""
# Types whose Python values are right (and Arrow's are not: UHUGEINT, BIT, TIME WITH TIME ZONE).
EXACT_IN_PYTHON = """
SELECT 340282366920938463463374607431768211455::UHUGEINT AS uh, '0101'::BIT AS bit,
 TIMETZ '12:00:00+05:30' AS ttz, TIMETZ '12:00:00.25-02' AS ttz2, 0::DECIMAL(18,10) AS dz,
 1e-10::DECIMAL(38,20) AS dsmall, -0.5::DECIMAL(4,1) AS dneg, 1e16::DOUBLE AS big, NULL AS n,
 '' AS e, 'x' AS v, 170141183460469231731687303715884105727::HUGEINT AS h, 'a'::ENUM('a', 'b') AS en,
 '11111111-2222-3333-4444-555555555555'::UUID AS u, '{"a":1}'::JSON AS js
"""


def csv_cells(text: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of csv output, each cell as table shows it (NULL for a bare empty field)."""
    [header, *rows] = parse_csv(text)
    return (
        [display_value(name) for name in header],
        [[display_value(value) for value in row] for row in rows],
    )


def _markdown_cells(line: str) -> list[str]:
    return [cell.replace("\\|", "|").replace("\\\\", "\\").strip() for cell in line.split(" | ")]


def _table_cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split(" │ ")]


def shown_cells(text: str, fmt: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a table or markdown output."""
    if fmt == "markdown":
        lines = [line[2:-2] for line in text.splitlines() if line.startswith("| ")]
        return _markdown_cells(lines[0]), [_markdown_cells(line) for line in lines[2:]]
    lines = [line[2:-2] for line in text.splitlines() if line.startswith("│ ")]
    return _table_cells(lines[0]), [_table_cells(line) for line in lines[1:]]


def written(result: Result, fmt: str, **kwargs: int) -> str:
    out = io.StringIO()
    result.write(out, fmt, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("fmt", DISPLAY_FORMATS)
def test_every_road_shows_what_csv_writes(fmt: str) -> None:
    sql = LOSSY
    with Session() as s:
        # (A session time zone of its own is checked through the command line, below.)
        expected = csv_cells(written(s.sql(sql), "csv"))
        roads = {
            "plain": written(s.sql(sql), fmt),
            "max-rows": written(s.sql(sql), fmt, max_rows=5),
            "limited-width": written(s.sql(sql), fmt, width=10_000),
        }
        first, _ = s.execute(f"{sql}; SELECT 1")  # kept as Arrow by a later statement
        assert isinstance(first, Result)
        roads["arrow"] = written(first, fmt)
        (returned,) = s.execute(f"CREATE TABLE t AS {sql}; DELETE FROM t RETURNING *")[1:]
        assert isinstance(returned, Result)
        roads["returning"] = written(returned, fmt)
        for road, text in roads.items():
            assert shown_cells(text, fmt) == expected, road


def test_lossy_values_show_their_sql_text() -> None:
    with Session() as s:
        s.execute("SET TimeZone = 'Asia/Kolkata'")
        header, [row] = shown_cells(written(s.sql(LOSSY), "table"), "table")
    cells = dict(zip(header, row, strict=True))
    assert (cells["age"], cells["diff"]) == ("1 year 2 months", "1 month -30 days")
    assert (cells["ns"], cells["tns"]) == ("2024-01-01 00:00:00.123456789", "12:00:00.123456789")
    assert (cells["di"], cells["dni"], cells["dmax"]) == ("infinity", "-infinity", "9999-12-31")
    assert (cells["ti"], cells["tni"], cells["tzi"]) == ("infinity", "-infinity", "infinity")
    assert cells["tz"] == "2024-01-01 05:30:00.5+05:30"
    assert (cells["f"], cells["fs"], cells["fb"]) == ("0.1", "1e-07", "123456790.0")
    assert cells["lf"] == "[0.1, NULL]" and cells["ls"] == "[a, 'b,c', 'it\\'s', NULL, '', 'NULL']"
    assert (cells["st"], cells["mp"]) == ("{'k': 1 month, 's': a b}", "{a=infinity}")
    assert (cells["nd"], cells["e"], cells["sn"]) == ("NULL", "", "NULL")
    assert cells["esc"] == "a␛[2Jb" and cells["dz"] == "0.0000000000"


@pytest.mark.parametrize("fmt", DISPLAY_FORMATS)
def test_exact_types_show_what_csv_writes(fmt: str, tmp_path: Path, run_noctra: RunNoctra) -> None:
    # csv of a plain query is DuckDB's COPY of it: no Arrow on the way (which loses these types).
    expected = csv_cells(run_noctra("query", "--format", "csv", EXACT_IN_PYTHON, cwd=tmp_path).stdout)
    for flags in ((), ("--max-rows", "5")):
        run = run_noctra("query", "--format", fmt, *flags, EXACT_IN_PYTHON, cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        assert shown_cells(run.stdout, fmt) == expected, flags


def test_exact_types_show_their_sql_text_from_python_values() -> None:
    with Session() as s:
        header, [row] = shown_cells(written(s.sql(EXACT_IN_PYTHON), "table"), "table")
    cells = dict(zip(header, row, strict=True))
    assert cells["uh"] == "340282366920938463463374607431768211455" and cells["bit"] == "0101"
    assert (cells["ttz"], cells["ttz2"]) == ("12:00:00+05:30", "12:00:00.25-02")
    assert (cells["dz"], cells["dsmall"]) == ("0.0000000000", "0.00000000010000000000")


def test_null_is_dimmed_but_the_text_null_is_not() -> None:
    with Session() as s:
        out = io.StringIO()
        out.isatty = lambda: True  # type: ignore[method-assign]
        s.sql("SELECT NULL::DATE AS a, 'NULL' AS b, NULL::INTERVAL AS c").write(
            out, "table", max_rows=5, width=80
        )
    row = out.getvalue().splitlines()[3]
    assert row.count("\033[2mNULL\033[0m") == 2 and "│ NULL " in row


def test_a_long_result_of_lossy_values_streams_and_counts() -> None:
    sql = "SELECT i, INTERVAL (i) MONTH AS m FROM range(25000) t(i)"
    with Session() as s:
        streamed = written(s.sql(sql), "table")
        limited = written(s.sql(sql), "markdown", max_rows=3)
    assert re.search(r"│ 24999 │ 2083 years 3 months +│", streamed)
    assert limited.splitlines()[-1] == "… 24,997 more rows"
    assert "| 2 | 2 months |" in limited


def test_which_types_are_read_as_arrow() -> None:
    assert not needs_sql_text(["INTEGER", "VARCHAR", "DOUBLE", "DECIMAL(5,2)", "ENUM('a', 'b')", "BLOB"])
    for lossy in ("DATE", "INTERVAL", "FLOAT", "TIMESTAMP_NS", "INTEGER[]", "STRUCT(a INTEGER)", "MAP(a, b)"):
        assert needs_sql_text(["INTEGER", lossy]), lossy
    assert not needs_sql_text(["INTERVAL", "UHUGEINT"])  # Arrow would get the UHUGEINT wrong


def test_parse_csv_tells_null_from_the_empty_string() -> None:
    text = 'a,"b,c"\n,""\n"x""y","l\ni"\n\n'
    assert parse_csv(text) == [("a", "b,c"), (None, ""), ('x"y', "l\ni"), (None,)]


# --- column names: unique as in csv/json, control characters as symbols -------------------------

NAMES_SQL = 'SELECT 1 AS a, 2 AS a, 3 AS "A", 4 AS "x\ty", 5 AS "n\nl", 6 AS "e\x1b[31m", 7 AS "b\x07"'


@pytest.mark.parametrize("fmt", DISPLAY_FORMATS)
@pytest.mark.parametrize("lossy", [False, True], ids=["python", "arrow"])
def test_column_names_are_those_of_csv_shown_as_symbols(fmt: str, lossy: bool) -> None:
    sql = NAMES_SQL + (", DATE 'infinity' AS d" if lossy else "")
    with Session() as s:
        header, _ = csv_cells(written(s.sql(sql), "csv"))
        text = written(s.sql(sql), fmt)
        as_json = json.loads(written(s.sql(sql), "json"))
    assert header[:3] == ["a", "a_1", "A_2"] and list(as_json[0])[:3] == ["a", "a_1", "A_2"]
    assert all(c.isprintable() or c == "\n" for c in text)
    assert shown_cells(text, fmt)[0] == header
    assert header[3:7] == ["x y", "n↵l", "e␛[31m", "b␇"]
    lines = text.splitlines()
    if fmt == "table":
        # The box stays a box: every line is as wide as the top border (BEL and tabs counted right).
        assert len({len(line) for line in lines[:-1] if line[0] in "┌│├└"}) == 1
    else:
        assert lines[1].startswith("| ---")


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "tsv", "json", "jsonl"])
def test_duplicate_names_are_numbered_in_every_format(
    fmt: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    run = run_noctra("query", "--format", fmt, "SELECT 1 AS id, 2 AS id, 3 AS ID", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert all(name in run.stdout for name in ("id", "id_1", "ID_2")), run.stdout


# --- through the command line: every format agrees -----------------------------------------------


def test_the_command_line_shows_lossy_values_as_csv_does(tmp_path: Path, run_noctra: RunNoctra) -> None:
    sql = "SET TimeZone = 'Asia/Kolkata'; " + LOSSY
    csv_run = run_noctra("query", "--format", "csv", sql, cwd=tmp_path)
    expected = csv_cells(csv_run.stdout)
    for fmt in DISPLAY_FORMATS:
        run = run_noctra("query", "--format", fmt, sql, cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        assert shown_cells(run.stdout, fmt) == expected, fmt
    tsv = list(
        csv.reader(io.StringIO(run_noctra("query", "--format", "tsv", sql, cwd=tmp_path).stdout), "excel-tab")
    )
    assert tsv[1][tsv[0].index("diff")] == "1 month -30 days"
    [obj] = json.loads(run_noctra("query", "--format", "json", sql, cwd=tmp_path).stdout)
    assert (obj["diff"], obj["di"]) == ("1 month -30 days", "infinity")
    # DuckDB's JSON writer gives a FLOAT's double digits (0.10000000149011612): the same float.
    assert struct.unpack("f", struct.pack("f", obj["f"]))[0] == struct.unpack("f", struct.pack("f", 0.1))[0]
    line = json.loads(run_noctra("query", "--format", "jsonl", sql, cwd=tmp_path).stdout)
    assert line == obj


# --- text that is not UTF-8 (a SQLite TEXT column in Latin-1, read by DuckDB) --------------------


@pytest.fixture
def latin1_db(tmp_path: Path) -> Path:
    db = sqlite3.connect(tmp_path / "legacy.db")
    db.execute("CREATE TABLE t (s TEXT)")
    db.execute("INSERT INTO t VALUES ('ok'), (CAST(x'6361666520e9' AS TEXT)), ('fine')")
    db.commit()
    db.close()
    (tmp_path / "k.csv").write_text("k\nx\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_of_text_that_is_not_utf8_is_one_error_naming_the_row(
    fmt: str, latin1_db: Path, run_noctra: RunNoctra
) -> None:
    sql = "USE 'legacy.db' AS b; SELECT s, k FROM b.t, 'k.csv'"
    run = run_noctra("query", "--format", fmt, sql, cwd=latin1_db)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("noctra: error: ")]
    assert len(errors) == 1 and "row 2 holds text that is not valid UTF-8" in errors[0], run.stderr
    assert "hint: encode(column)" in run.stderr
    fixed = run_noctra(
        "query", "--format", fmt, sql.replace("SELECT s,", "SELECT encode(s) AS s,"), cwd=latin1_db
    )
    assert fixed.returncode == 0, fixed.stderr
    assert "cafe \\\\xE9" in fixed.stdout


@pytest.mark.parametrize("fmt", DISPLAY_FORMATS)
def test_table_of_text_that_is_not_utf8_is_never_silent(
    fmt: str, latin1_db: Path, run_noctra: RunNoctra
) -> None:
    for extra in ("", ", 1.5::FLOAT AS f"):  # read as Python values, and as Arrow
        sql = f"USE 'legacy.db' AS b; SELECT s, k{extra} FROM b.t, 'k.csv'"
        run = run_noctra("query", "--format", fmt, sql, cwd=latin1_db)
        assert "Traceback" not in run.stderr
        if run.returncode == 0:
            assert "cafe \ufffd" in run.stdout and "fine" in run.stdout, run.stdout
        else:
            assert "hint: a text value is not valid UTF-8" in run.stderr, run.stderr


def test_cache_show_prints_a_stored_query_safely(
    tmp_path: Path, run_noctra: RunNoctra, isolated_env: dict[str, str]
) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n2\n", encoding="utf-8")
    isolated_env["NOCTRA_CACHE_RESULT_MIN_MS"] = "0"
    sql = "SELECT count(*) AS n, chr(27) || '[2J' AS \"\x1b[31mred\x07\" FROM 'd.csv'"
    for _ in range(2):
        assert run_noctra("--fresh", "query", "--format", "csv", sql, cwd=tmp_path).returncode == 0
    shown = run_noctra("cache", "show", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert '"␛[31mred␇"' in shown.stdout, shown.stdout
    header, *rows = shown.stdout.splitlines()
    for title in ("size", "hits"):  # columns line up: the symbols take one cell each
        at = header.index(title)
        assert rows[-1][at - 2 : at] == "  " and rows[-1][at] != " ", shown.stdout


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_lossy_and_arrow_damaged_types_together_show_their_sql_text(
    fmt: str, tmp_path: Path, run_noctra: RunNoctra
) -> None:
    """A BIT, UHUGEINT or TIME WITH TIME ZONE column next to an INTERVAL or a FLOAT: the
    query's own text cast is exact for all of them (before, the whole row fell back to
    Python's values: 420 days, 0.10000000149011612)."""
    sql = (
        "SELECT INTERVAL 14 MONTH AS i, '0101'::BIT AS b, 0.1::FLOAT AS f, "
        "'12:00:00+05:30'::TIMETZ AS tz, 340282366920938463463374607431768211455::UHUGEINT AS u"
    )
    run = run_noctra("query", "--format", fmt, sql, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    header, [row] = shown_cells(run.stdout, fmt)
    assert dict(zip(header, row, strict=True)) == {
        "i": "1 year 2 months",
        "b": "0101",
        "f": "0.1",
        "tz": "12:00:00+05:30",
        "u": "340282366920938463463374607431768211455",
    }


@pytest.mark.parametrize("control", ["\u202e", "\u202a", "\u202d", "\u2066", "\u2067", "\u2069"])
def test_bidi_controls_in_a_cell_are_shown_not_obeyed(control: str) -> None:
    # U+202E (right-to-left override) would show 'report.exe' for 'report\u202eexe.txt', and
    # reorder the cells after it on the same line of the table.
    from noctra.output.render import terminal_text

    shown = display_value(f"report{control}exe.txt")
    assert shown == "report\ufffdexe.txt"
    assert terminal_text(f"no such file: a{control}b.csv") == "no such file: a\ufffdb.csv"


def test_right_to_left_text_itself_is_kept() -> None:
    assert display_value("שלום עולם") == "שלום עולם"
    assert display_value("مرحبا\u200f!") == "مرحبا\u200f!"  # a right-to-left mark is ordinary text
