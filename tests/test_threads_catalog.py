"""A Session shared by threads: the catalog, the status and a cancelled statement.

A long statement runs in one thread while another thread asks the catalog or the status,
as the TUI (queries in a worker, the sidebar and status bar in the UI thread) and any
threaded Python program do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from noctra import Session
from noctra.errors import BusyError, CancelledQueryError

# Long enough to be running when the other thread asks (seconds on this machine), and
# cancelled by every test before it ends.
LONG = "SELECT count(*) FROM range(20000000000) t(a) WHERE a % 7 = 3"
SHORT = "SELECT count(*) FROM range(30000000) t(a) WHERE a % 7 = 3"


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    with Session(restore=False) as made:
        made.execute("CREATE TABLE own AS SELECT 1 AS a, 'x' AS b")
        yield made


def in_thread(work: Callable[[], object]) -> tuple[threading.Thread, dict[str, object]]:
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["value"] = work()
        except Exception as exc:  # noqa: BLE001 - what the thread met is the test's to check
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def wait_until_busy(session: Session) -> None:
    deadline = time.monotonic() + 10
    while not session.busy:
        assert time.monotonic() < deadline, "the statement never started"
        time.sleep(0.01)


def test_catalog_asked_while_another_thread_queries_gives_both_their_own_answer(session: Session) -> None:
    thread, out = in_thread(lambda: session.sql(SHORT).rows(5))
    wait_until_busy(session)
    columns = session.catalog().own_columns("own")  # waits its turn
    thread.join()
    assert [c.name for c in columns] == ["a", "b"]
    assert out == {"value": [(30000000 // 7,)]}  # (7k+3 below 30M: 4,285,714)


def test_catalog_without_waiting_says_a_statement_is_running_and_leaves_it_alone(session: Session) -> None:
    thread, out = in_thread(lambda: session.sql(LONG).rows(5))
    wait_until_busy(session)
    with pytest.raises(BusyError, match="a statement is running"):
        session.catalog(wait=False).own_columns("own")
    assert session.status().running  # still running: not ended by the catalog
    session.cancel()
    thread.join()
    assert isinstance(out.get("error"), CancelledQueryError)
    assert [c.name for c in session.catalog(wait=False).own_columns("own")] == ["a", "b"]


def test_status_asked_during_another_threads_statement_says_running_every_time(session: Session) -> None:
    thread, _ = in_thread(lambda: session.sql(LONG).rows(5))
    wait_until_busy(session)
    seen = [session.status().running for _ in range(5)]
    assert session.busy
    session.cancel()
    thread.join()
    assert seen == [True] * 5
    assert not session.busy and not session.status().running


def test_status_line_says_the_last_statement_was_cancelled_then_forgets_it(session: Session) -> None:
    session.sql("SELECT 1").rows(1)
    thread, out = in_thread(lambda: session.sql(LONG).rows(5))
    wait_until_busy(session)
    time.sleep(0.2)
    session.cancel()
    thread.join()
    assert isinstance(out.get("error"), CancelledQueryError)
    line = session.status().line()
    assert "cancelled after" in line, line
    with pytest.raises(Exception, match="no_such"):
        session.sql("SELECT no_such FROM own").rows(1)
    assert "failed after" in session.status().line()
    session.sql("SELECT 2").rows(1)
    line = session.status().line()
    assert "cancelled" not in line and "failed" not in line and " ms" in line, line


def test_completion_in_the_tui_thread_offers_nothing_while_busy_then_the_columns(session: Session) -> None:
    from noctra.repl.completer import CatalogCache

    cache = CatalogCache(session, wait=False)
    thread, _ = in_thread(lambda: session.sql(LONG).rows(5))
    wait_until_busy(session)
    assert cache.own_columns("own") == []  # not waited for, and not remembered as empty
    session.cancel()
    thread.join()
    assert [c.name for c in cache.own_columns("own")] == ["a", "b"]
