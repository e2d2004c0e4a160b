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
