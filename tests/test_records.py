"""records: the small dataclass stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from noctra.records import COMPILE_AFTER, field, record, replace


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


def _make_record_class() -> type[Any]:
    """A fresh record class: its __init__ starts generic and is compiled after COMPILE_AFTER uses."""

    @record(frozen=True)
    class Row:
        kind: str
        text: str
        line: int = 1
        tags: list[str] = field(default_factory=list)

    return Row


def _warm(klass: type[Any], compiled: bool) -> None:
    for _ in range(COMPILE_AFTER if compiled else 0):
        klass("k", "t")


@pytest.mark.parametrize("compiled", [False, True], ids=["generic", "compiled"])
def test_init_binds_positional_keyword_and_default_arguments(compiled: bool) -> None:
    row_class = _make_record_class()
    _warm(row_class, compiled)
    row = row_class("k", text="t")
    assert (row.kind, row.text, row.line, row.tags) == ("k", "t", 1, [])
    assert row_class("k", "t", 3, ["a"]) == row_class(tags=["a"], line=3, text="t", kind="k")
    assert row_class("k", "t").tags is not row_class("k", "t").tags
    assert repr(row_class("k", "t", 2)) == "Row(kind='k', text='t', line=2, tags=[])"


@pytest.mark.parametrize("compiled", [False, True], ids=["generic", "compiled"])
@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("k", "t", 1, [], 5), {}, "takes from 3 to 5 positional arguments but 6 were given"),
        (("k",), {}, "missing .*'text'"),
        (("k", "t"), {"colour": 1}, "unexpected keyword argument 'colour'"),
        (("k", "t"), {"kind": "x"}, "multiple values for argument 'kind'"),
    ],
)
def test_init_refuses_what_a_compiled_init_refuses(
    compiled: bool, args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    row_class = _make_record_class()
    _warm(row_class, compiled)
    with pytest.raises(TypeError, match=message):
        row_class(*args, **kwargs)


def test_frozen_record_refuses_assignment_after_either_init() -> None:
    row_class = _make_record_class()
    generic = row_class("k", "t")
    _warm(row_class, compiled=True)
    for row in (generic, row_class("k", "t")):
        with pytest.raises(AttributeError, match="frozen"):
            row.kind = "x"
