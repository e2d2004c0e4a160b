"""The time a result's footer shows: running the statement is counted once, on every road."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from noctra.engine.base import Column
from noctra.output import model
from noctra.output.model import ListRows, Result


class Clock:
    """perf_counter that moves only when the statement runs (5 s) or a row is fetched (1 s)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class SlowRows(ListRows):
    def __init__(self, clock: Clock, rows: int) -> None:
        super().__init__([Column("n", "INTEGER")], [(i,) for i in range(rows)])
        self.clock = clock

    def fetch(self, n: int) -> list[tuple[object, ...]]:
        self.clock.now += 1.0
        return super().fetch(n)


def result(clock: Clock, rows: int = 3) -> Result:
    def run() -> SlowRows:
        clock.now += 5.0  # the statement runs
        return SlowRows(clock, rows)

    return Result(statement=1, engine="duckdb", run=run)


ROADS = {
    "table": lambda r: r.write(io.StringIO(), "table"),
    "table, max rows": lambda r: r.write(io.StringIO(), "table", max_rows=2),
    "markdown": lambda r: r.write(io.StringIO(), "markdown"),
    "csv": lambda r: r.write(io.StringIO(), "csv"),
    "json": lambda r: r.write(io.StringIO(), "json"),
    "arrow": lambda r: r.arrow(),
    "arrow head": lambda r: r.arrow_head(2, 1 << 30, batch_rows=1),  # the TUI's grid
}


@pytest.mark.parametrize("road", list(ROADS))
def test_running_the_statement_is_counted_once(road: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(model.time, "perf_counter", clock)
    made = result(clock)
    ROADS[road](made)
    # 5 s running it, plus the fetches the road made (1 s each): never the 5 s twice.
    assert 5.0 <= made.elapsed < 10.0
    assert made.elapsed == pytest.approx(clock.now - 100.0)


def test_a_statement_run_before_it_is_read_keeps_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """ensure_run (a later statement came first), then the read: both counted, once each."""
    clock = Clock()
    monkeypatch.setattr(model.time, "perf_counter", clock)
    made = result(clock)
    made.ensure_run()
    assert made.elapsed == 5.0
    made.write(io.StringIO(), "table")
    assert made.elapsed == pytest.approx(clock.now - 100.0)


def test_the_one_shot_footer_is_not_longer_than_the_whole_run(tmp_path: Path) -> None:
    """The footer's time is the statement's; the whole run (--stats seconds) contains it."""
    # Big enough (~17 MB) that running the query, not starting Noctra, is most of the run.
    duckdb.sql(f"COPY (SELECT i % 5 AS k, i AS v FROM range(2000000) t(i)) TO '{tmp_path / 'd.csv'}'")
    done = subprocess.run(
        [sys.executable, "-m", "noctra", "query", "SELECT k, sum(v) FROM 'd.csv' GROUP BY k", "--stats"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "c")},
    )
    lines = done.stderr.splitlines()
    footer = next(line for line in lines if " rows · " in line)
    shown = re.search(r"· (\d+) ms", footer)
    assert shown is not None, footer
    whole = json.loads(lines[-1])["seconds"]
    assert int(shown.group(1)) <= whole * 1000 + 1


@pytest.mark.parametrize(("max_rows", "complete"), [(2, False), (3, True), (10, True)])
def test_a_head_says_whether_it_holds_every_row(max_rows: int, complete: bool) -> None:
    made = Result(
        statement=1, engine="duckdb", run=lambda: ListRows([Column("n", "INTEGER")], [(1,), (2,), (3,)])
    )
    table, whole = made.arrow_head(max_rows, 1 << 30, batch_rows=2)
    assert (table.column("n").to_pylist(), whole) == ([1, 2, 3][:max_rows], complete)
    assert made.row_count == min(max_rows, 3)
