"""The results grid shows each value as the table output does: DuckDB's own text.

The grid holds Arrow; Python's values of some types read otherwise (INTERVAL 14 MONTH as
MonthDayNano(...), date 'infinity' past Python's range, a FLOAT as 0.10000000149011612).
"""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.table import Table
from textual.pilot import Pilot
from textual.widgets import Static

from noctra.output.model import Result
from noctra.session import Session
from noctra.tui.app import NoctraApp
from noctra.tui.screens import ProfileScreen
from noctra.tui.widgets.grid import ResultsGrid

SIZE = (160, 45)

# Each expression and the text DuckDB shows for it (SELECT x::VARCHAR), in Asia/Kolkata.
SHOWN = {
    "INTERVAL 14 MONTH": "1 year 2 months",
    "INTERVAL '1 month 2 days 03:04:05.5'": "1 month 2 days 03:04:05.5",
    "'infinity'::DATE": "infinity",
    "'-infinity'::DATE": "-infinity",
    "'-infinity'::TIMESTAMP": "-infinity",
    "'infinity'::TIMESTAMPTZ": "infinity",
    "0.1::FLOAT": "0.1",
    "0.1::DOUBLE": "0.1",
    "1e300::DOUBLE": "1e+300",
    "'2024-01-01 00:00:00.123456789'::TIMESTAMP_NS": "2024-01-01 00:00:00.123456789",
    "'2024-01-01 00:00:00.123'::TIMESTAMP_MS": "2024-01-01 00:00:00.123",
    "'2024-01-01 12:00:00+00'::TIMESTAMPTZ": "2024-01-01 17:30:00+05:30",
    "TIME '01:02:03.5'": "01:02:03.5",
    "1.10::DECIMAL(5,2)": "1.10",
    "0::DECIMAL(38,10)": "0.0000000000",
    "170141183460469231731687303715884105727::HUGEINT": "170141183460469231731687303715884105727",
    "340282366920938463463374607431768211455::UHUGEINT": "340282366920938463463374607431768211455",
    "170141183460469231731687303715884105728::UHUGEINT": "170141183460469231731687303715884105728",
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "'\\x00ab\\xFF'::BLOB": "\\x00ab\\xFF",
    "['a', 'b c', NULL]": "[a, b c, NULL]",
    "[[1, 2], [3]]": "[[1, 2], [3]]",
    "[1.5::FLOAT, 0.1::FLOAT]": "[1.5, 0.1]",
    "[INTERVAL 1 MONTH]": "[1 month]",
    "{'a': 1, 'b': 'x'}": "{'a': 1, 'b': x}",
    "MAP {'k': 1}": "{k=1}",
    "'0101'::BIT": "0101",
    "'10101010101'::BIT": "10101010101",
    "'happy'::mood": "happy",
    "-5::BIGNUM": "-5",
    "union_value(num := 2)::UNION(num INT, str VARCHAR)": "2",
}
SETUP = "SET TimeZone = 'Asia/Kolkata';\nCREATE TYPE mood AS ENUM ('sad', 'happy');\n"
QUERY = "SELECT " + ", ".join(f"{expr} AS c{i}" for i, expr in enumerate(SHOWN))


async def run(app: NoctraApp, pilot: Pilot[int], text: str) -> None:
    """Run every statement of text (F6) and wait for the worker."""
    app.editor.text = text
    app.editor.move_cursor(app.editor.document.end)
    await pilot.press("f6")
    await app.workers.wait_for_complete()
    await pilot.pause()


def screen_row(grid: ResultsGrid, row: int) -> str:
    """The text of a row of the grid as drawn (the first two lines are the header)."""
    return grid.render_line(row - grid.scroll_offset.y + 2).text


async def test_every_type_shows_duckdbs_text(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, SETUP + QUERY)
        grid = app.grid
        assert "error" not in app.messages
        shown = {expr: grid.value(0, i) for i, expr in enumerate(SHOWN)}
        assert shown == SHOWN
        # The whole text (what copying takes) is the same for these short values.
        assert {expr: grid.text(0, i) for i, expr in enumerate(SHOWN)} == SHOWN
        assert "1 year 2 months" in screen_row(grid, 0)
        assert "infinity" in screen_row(grid, 0)


def table_output_row(session: Session, query: str) -> list[str]:
    """The cells of the one row `noctra query` prints for query (table format)."""
    result = session.execute(query)[-1]
    assert isinstance(result, Result)
    out = io.StringIO()
    result.write(out, "table")
    line = out.getvalue().splitlines()[3]
    return [cell.strip() for cell in line.strip("│").split("│")]


async def test_the_grid_shows_what_the_table_output_shows(app: NoctraApp, session: Session) -> None:
    # Types the table output reads as the engine's text (SELECT COLUMNS(*)::VARCHAR).
    exprs = [e for e in SHOWN if "UHUGEINT" not in e and "BIT" not in e and "mood" not in e]
    query = "SELECT " + ", ".join(f"{expr} AS c{i}" for i, expr in enumerate(exprs))
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "SET TimeZone = 'Asia/Kolkata';\n" + query)
        grid = app.grid
        assert [grid.value(0, i) for i in range(len(exprs))] == table_output_row(session, query)


async def test_null_the_text_null_empty_text_control_characters_and_a_long_value(app: NoctraApp) -> None:
    query = (
        "SELECT NULL::VARCHAR AS n, 'NULL' AS t, '' AS e, 'a' || chr(9) || 'b' || chr(10) || 'c' || chr(27)"
        " || '[31m' AS ctl, repeat('x', 100000) || 'END' AS long, NULL::INTERVAL AS ni, 'a\"b' AS q"
    )
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, query)
        grid = app.grid
        assert [grid.value(0, i) for i in range(4)] == [None, "NULL", "", "a b↵c␛[31m"]
        long = grid.value(0, 4)
        assert long is not None and long.endswith("…") and len(long) < 1000
        assert grid.value(0, 5) is None

        line = grid.render_line(2)
        assert "\x1b" not in line.text and "\t" not in line.text and "\n" not in line.text
        assert "x…" in line.text  # the long value is cut to its column
        # NULL is drawn as NULL in the null style (dim, italic); the text 'NULL' is not.
        nulls = [seg for seg in line if seg.text.strip() == "NULL"]
        assert len(nulls) == 3
        assert [bool(seg.style and seg.style.italic) for seg in nulls] == [True, False, True]

        # Copying gives the whole text DuckDB shows: its own characters, not cut.
        assert grid.text(0, 3) == "a\tb\nc\x1b[31m"
        assert grid.text(0, 4) == "x" * 100000 + "END"
        grid.focus()
        await pilot.press("right", "right", "right", "c")
        assert app.clipboard == "a\tb\nc\x1b[31m"
        await pilot.press("right", "c")
        assert app.clipboard == "x" * 100000 + "END"
        await pilot.press("home", "r")
        # A row as `--format tsv` writes it: NULL empty, the empty text "", quotes where needed.
        assert app.clipboard == '\tNULL\t""\t"a\tb\nc\x1b[31m"\t' + "x" * 100000 + 'END\t\t"a""b"'


async def test_copy_gives_the_shown_text(app: NoctraApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        query = "SELECT INTERVAL 14 MONTH AS i, 0.1::FLOAT AS f, '2024-01-01 00:00:00.5'::TIMESTAMP_NS AS t"
        await run(app, pilot, query)
        app.grid.focus()
        await pilot.press("c")
        assert app.clipboard == "1 year 2 months"
        await pilot.press("r")
        assert app.clipboard == "1 year 2 months\t0.1\t2024-01-01 00:00:00.5"


async def test_a_million_rows_of_types_the_engine_casts_open_and_scroll(app: NoctraApp) -> None:
    query = (
        "SELECT range AS i, to_months((range % 24)::INT) AS iv, (range % 10)::FLOAT / 10 AS f,"
        " CASE WHEN range = 999999 THEN 'infinity'::DATE ELSE DATE '2000-01-01' END AS d"
        " FROM range(1000000)"
    )
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, query)
        grid = app.grid
        assert grid.row_count == 1_000_000
        assert [grid.value(1, i) for i in range(4)] == ["1", "1 month", "0.1", "2000-01-01"]
        grid.focus()
        await pilot.press("end")
        await pilot.pause()
        assert grid.cursor_row == 999_999
        assert [grid.value(999_999, i) for i in range(4)] == ["999999", "1 year 3 months", "0.9", "infinity"]
        assert "infinity" in screen_row(grid, 999_999)
        # Only the chunks drawn became text: the first and the last.
        assert grid.chunks_read <= 3


def profile_text(screen: ProfileScreen) -> str:
    """The profile's table as plain text, spaces squeezed."""
    (table,) = [w.content for w in screen.query(Static) if isinstance(w.content, Table)]
    console = Console(record=True, width=100, file=io.StringIO())
    console.print(table)
    return " ".join(console.export_text().split())


@pytest.mark.parametrize(
    ("values", "facts"),
    [
        # Counted on the values, not their text ('10.25' < '9.5' as text); shown as DuckDB does.
        ("9.5::FLOAT), (10.25::FLOAT), (0.1::FLOAT", ["distinct 3 min 0.1 max 10.25 top"]),
        ("DATE '2024-01-01'), ('infinity'::DATE), (DATE '2024-01-01'", ["max  infinity", "2024-01-01  ██"]),
        # Arrow holds a UHUGEINT as a signed decimal128: 2**127 and up read as negative numbers.
        (
            "340282366920938463463374607431768211455::UHUGEINT), (5::UHUGEINT), "
            "(170141183460469231731687303715884105728::UHUGEINT",
            ["min 5 max 340282366920938463463374607431768211455"],
        ),
        ("7::UHUGEINT), (5::UHUGEINT), (NULL::UHUGEINT", ["min 5 max 7"]),
        ("340282366920938463463374607431768211455::UHUGEINT), (NULL::UHUGEINT", ["min 3402823669"]),
    ],
)
async def test_the_profile_counts_arrow_values_and_shows_them_as_the_grid(
    app: NoctraApp, values: str, facts: list[str]
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, f"SELECT * FROM (VALUES ({values})) v(x)")
        app.grid.focus()
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ProfileScreen)
        text = profile_text(app.screen)
        for fact in facts:
            assert " ".join(fact.split()) in text


@pytest.mark.parametrize("engine", ["auto", "duckdb"])
async def test_sqlite_text_that_is_not_utf8_shows_the_replacement_character(
    app: NoctraApp, tmp_path_factory: pytest.TempPathFactory, engine: str
) -> None:
    import sqlite3

    db = tmp_path_factory.mktemp("latin1") / "legacy.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (id INTEGER, name TEXT)")
    conn.execute("INSERT INTO t VALUES (1, 'ok'), (2, CAST(x'636166e9' AS TEXT))")  # 'café' in Latin-1
    conn.commit()
    conn.close()
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, f"SET engine = {engine};\nUSE '{db}' AS l;\nSELECT * FROM l.t ORDER BY id")
        assert "caf\ufffd" in screen_row(app.grid, 1), app.grid.render_line(3).text
        assert "ok" in screen_row(app.grid, 0)
