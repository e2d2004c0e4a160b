"""A table on a terminal fits its width: too many columns leave the middle ones out, and say so."""

from __future__ import annotations

import io
from pathlib import Path

from noctra import Session
from noctra.engine.base import Column
from noctra.output import render
from noctra.output.render import cell_width, render_table
from tests.conftest import RunNoctra

WIDE = "SELECT " + ", ".join(f"repeat('x', {i}) AS col{i}" for i in range(1, 30)) + " FROM range(2)"


def _columns(count: int, kind: str = "VARCHAR") -> list[Column]:
    return [Column(f"col{i}", kind) for i in range(1, count + 1)]


def _box(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("┌", "│", "├", "└"))]


def _header(text: str) -> list[str]:
    return [cell.strip() for cell in _box(text)[1].strip("│").split("│")]


def test_many_columns_show_the_first_and_last_ones_and_name_those_left_out() -> None:
    rows = [tuple("x" * i for i in range(1, 30))] * 2
    text = render_table(_columns(29), rows, width=120)
    box = _box(text)
    assert max(cell_width(line) for line in box) <= 120
    header = _header(text)
    gap = header.index("…")
    assert header[:gap] == [f"col{i}" for i in range(1, gap + 1)]
    assert header[gap + 1 :] == [f"col{i}" for i in range(30 - len(header) + gap + 1, 30)]
    hidden = 29 - (len(header) - 1)
    assert hidden > 0
    first, last = gap + 1, gap + hidden
    note = text.splitlines()[-1]
    assert note == f"… {hidden} more columns (col{first} … col{last}): | less -S shows every column"
    # Every shown column keeps a readable width: its own, or at least 8 cells.
    widths = [len(cell) for cell in box[0][1:-1].split("┬")]
    assert min(w - 2 for i, w in enumerate(widths) if i != gap) >= 4  # col1..col4 are 4 wide
    assert all(line.split("│")[gap + 1].strip() == "…" for line in box[1:] if line.startswith("│"))


def test_one_column_left_out_is_named_alone() -> None:
    columns = _columns(10)
    rows = [tuple("v" * 8 for _ in columns)]
    # Nine columns of 8 cells and the … column: 9 * 11 + 4 + 1 = 104 cells.
    text = render_table(columns, rows, width=104)
    assert text.splitlines()[-1] == "… 1 more column (col6): | less -S shows every column"
    assert max(cell_width(line) for line in _box(text)) <= 104


def test_columns_that_fit_narrowed_are_all_shown_as_before() -> None:
    columns = [Column("a", "VARCHAR"), Column("b", "INTEGER"), Column("c", "VARCHAR")]
    rows = [("x" * 300, 5, "y" * 300)]
    text = render_table(columns, rows, width=60)
    assert _header(text) == ["a", "b", "c"]
    assert max(cell_width(line) for line in _box(text)) == 60
    assert "more column" not in text


def test_without_a_width_every_column_is_shown_whole() -> None:
    rows = [tuple("x" * i for i in range(1, 30))]
    text = render_table(_columns(29), rows, width=0)
    assert _header(text) == [f"col{i}" for i in range(1, 30)]
    assert "…" not in text


def test_a_terminal_narrower_than_two_columns_still_shows_the_first() -> None:
    text = render_table(_columns(5), [("aaaaaaaaaa",) * 5], width=20)
    assert _header(text) == ["col1", "…"]
    assert text.splitlines()[-1].startswith("… 4 more columns (col2 … col5): ")


def test_wide_characters_are_counted_in_cells() -> None:
    rows = [tuple("日本語テキスト" for _ in range(20))]
    text = render_table(_columns(20), rows, width=100)
    assert max(cell_width(line) for line in _box(text)) <= 100
    assert "more columns" in text.splitlines()[-1]


def test_the_hint_is_the_one_the_front_end_gives() -> None:
    token = render.WIDE_TABLE_HINT.set(".mode line shows every column")
    try:
        text = render_table(_columns(29), [tuple("x" * 9 for _ in range(29))], width=80)
    finally:
        render.WIDE_TABLE_HINT.reset(token)
    assert text.splitlines()[-1].endswith("): .mode line shows every column")


def test_a_streamed_table_fits_the_width_when_later_rows_are_wider(sample_files: Path) -> None:
    """No row limit: rows stream in chunks, and a box is redrawn when later rows are wider."""
    value = "repeat('x', CASE WHEN i < 1000 THEN 2 ELSE 12 END)"
    sql = "SELECT " + ", ".join(f"{value} AS c{n}" for n in range(20)) + " FROM range(1500) t(i)"
    with Session() as session:
        out = io.StringIO()
        session.sql(sql).write(out, "table", max_rows=None, width=100)
    text = out.getvalue()
    assert max(cell_width(line) for line in _box(text)) <= 100
    assert text.count("┌") == 2  # the wider rows opened a second box
    assert text.count("│ xx ") > 0 and "c0" in text and "c19" in text
    # Each box is closed as it was drawn, and says which of its own columns are left out.
    lines = text.splitlines()
    tops = [i for i, line in enumerate(lines) if line.startswith("┌")]
    notes = [i for i, line in enumerate(lines) if line.startswith("… ")]
    assert len(notes) == 2
    for top, note in zip(tops, notes, strict=True):
        assert lines[note - 1] == lines[top].translate(str.maketrans("┌┬┐", "└┴┘"))
        header = [cell.strip() for cell in lines[top + 1].strip("│").split("│")]
        gap = header.index("…")
        first, last = int(header[gap - 1][1:]) + 1, int(header[gap + 1][1:]) - 1
        assert lines[note].startswith(f"… {last - first + 1} more columns (c{first} … c{last}): ")
    assert lines[notes[0]] != lines[notes[1]]  # the wider rows leave more columns out


def test_piped_table_output_keeps_every_column(tmp_path: Path, run_noctra: RunNoctra) -> None:
    run = run_noctra("query", "--fresh", WIDE, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert _header(run.stdout) == [f"col{i}" for i in range(1, 30)]
    assert "more column" not in run.stdout
