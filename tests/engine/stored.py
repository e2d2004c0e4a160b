"""Helpers of the stored-results tests (SPEC 4.5): one 'process' per Session, a fresh answer
to compare with, and a query run until its stored result serves it."""

from __future__ import annotations

from noctra import Session
from noctra.config import Config


def config(
    *, max_rows: int = 100_000, results: bool = True, tuning: dict[str, object] | None = None
) -> Config:
    """Stored results for every query (no minimum time); no columnar copies."""
    made = Config()
    made.cache.min_size = 1 << 50  # no columnar copies: only stored results
    made.cache.result_max_rows = max_rows
    made.cache.result_min_ms = 0
    made.cache.results = results
    made.tuning = dict(tuning or {})
    return made


def run(sql: str, *, before: str = "", conf: Config | None = None) -> tuple[list[dict[str, object]], int]:
    """One 'process': run ``before`` (statements), read the query whole (Arrow)."""
    with Session(config=conf or config(), restore=False) as session:
        if before:
            session.execute(before)
        table = session.sql(sql).arrow()
        return table.to_pylist(), session.result_hits


def fresh(sql: str, *, before: str = "", tuning: dict[str, object] | None = None) -> list[dict[str, object]]:
    """What the query gives now, with stored results off."""
    rows, hits = run(sql, before=before, conf=config(results=False, tuning=tuning))
    assert hits == 0
    return rows


def served_three_times(sql: str, *, before: str = "", conf: Config | None = None) -> list[dict[str, object]]:
    """Run a query as three processes; the third is served from its stored result."""
    first, _ = run(sql, before=before, conf=conf)
    run(sql, before=before, conf=conf)
    _, hits = run(sql, before=before, conf=conf)
    assert hits == 1, "the query was expected to be stored and served"
    return first
