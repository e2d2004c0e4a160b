"""What the session and the splitter tell front ends: when input is complete, which :names lack a value."""

from __future__ import annotations

import pytest

from noctra.rql.splitter import is_complete
from noctra.session import Session


@pytest.mark.parametrize(
    ("text", "complete"),
    [
        ("SELECT 1;", True),
        ("SELECT 1", False),
        ("SELECT ';'", False),
        ("SELECT 'a;\nb';", True),
        ("SELECT 1; -- done", True),
        ("SELECT 1 /* ; */", False),
        ("SELECT $$ ; $$", False),
        ("SELECT 'open;", False),
        ("", True),
        ("-- only a comment", True),
    ],
)
def test_is_complete(text: str, complete: bool) -> None:
    assert is_complete(text) is complete


def test_unbound_parameters() -> None:
    with Session() as session:
        session.let("known", "1")
        text = "SELECT :Known, :given, :missing, ':quoted', :missing, x::INT, lambda_x -> 1"
        assert session.unbound_parameters(text, {"given": 1}) == ["missing"]
        assert session.unbound_parameters(text, [1]) == []
        assert session.unbound_parameters("SELECT 'open") == []


def test_every_arrow_road_names_duplicate_columns_as_the_cli_does() -> None:
    sql = "SELECT 1 AS id, 'a' AS name, 2 AS id, 'b' AS name"
    expected = ["id", "name", "id_1", "name_1"]
    with Session(restore=False) as s:
        assert [c.name for c in s.sql(sql).columns] == expected
        assert s.sql(sql).arrow().schema.names == expected
        reader = s.sql(sql).reader()
        assert reader.schema.names == expected
        assert reader.read_all().to_pylist() == [{"id": 1, "name": "a", "id_1": 2, "name_1": "b"}]
        head, complete = s.sql(sql).arrow_head(10, 1 << 20)
        assert complete and head.schema.names == expected
        kept = s.execute(sql)[0]  # detached: kept as Arrow for later reads
        assert [c.name for c in kept.columns] == expected and kept.arrow().schema.names == expected
