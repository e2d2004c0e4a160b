"""records: the small dataclass stand-in."""

from __future__ import annotations

import pytest

from noctra.records import record, replace


@record(frozen=True)
class Point:
    x: int
    y: int = 0


def test_replace_changes_the_named_fields() -> None:
    assert replace(Point(1, 2), y=5) == Point(1, 5)
    assert replace(Point(1, 2)) == Point(1, 2)


def test_replace_refuses_a_field_the_record_does_not_have() -> None:
    with pytest.raises(TypeError, match=r"Point has no field 'z', 'text'"):
        replace(Point(1), z=3, text="x")
