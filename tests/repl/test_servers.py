"""The REPL and the TUI's shared history with a PostgreSQL server: completion, and no password kept."""

from __future__ import annotations

from pathlib import Path

from noctra.tui import history
from tests.db_servers import PASSWORD, DbServer
from tests.repl.conftest import ENTER, TAB, drive


def test_completion_and_history_with_a_server(repl_dir: Path, postgres_server: DbServer) -> None:
    postgres_server.execute(
        "shop",
        "DROP TABLE IF EXISTS repl_people",
        "CREATE TABLE repl_people (id int, name text)",
        "INSERT INTO repl_people VALUES (1, 'Zoë')",
    )
    url = postgres_server.url("shop", password=PASSWORD)
    run = drive(
        [f"USE '{url}' AS pg;", ENTER, "SELECT name FROM pg.repl_p", TAB, ";", ENTER],
        home=repl_dir,
        pause=0.6,
    )
    assert "Zoë" in run.out, run.err
    kept = (repl_dir / "state" / "noctra" / "history").read_text(encoding="utf-8")
    assert "postgresql://noctra:****@127.0.0.1" in kept
    for text in (kept, run.out, run.err):  # (the screen echoes what was typed)
        assert PASSWORD not in text


def test_tui_history_masks_passwords(tmp_path: Path) -> None:
    path = tmp_path / "history"
    history.append(path, f"USE 'mysql://ana:{PASSWORD}@db:3306/shop' AS my;")
    assert history.load(path) == ["USE 'mysql://ana:****@db:3306/shop' AS my;"]
