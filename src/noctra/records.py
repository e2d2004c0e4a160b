"""A small stand-in for ``dataclasses`` on the start-up path.

``import dataclasses`` (with ``inspect``) and decorating a few dozen classes cost
~20 ms per ``noctra`` run, a fifth of DuckDB's own start-up; this builds the same
``__init__``/``__eq__``/``__repr__`` in well under a millisecond.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from typing import dataclass_transform
else:

    def dataclass_transform(**_: object) -> Callable[[Any], Any]:
        return lambda decorated: decorated


T = TypeVar("T")


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], object]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A default made fresh for each instance (like ``dataclasses.field``)."""
    return _Factory(default_factory)  # type: ignore[return-value]


def _fields(cls: type) -> list[str]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        # Not inspect.get_annotations: importing inspect is what this module avoids.
        for name, kind in klass.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
            if "ClassVar" in str(kind) or name in names:
                continue
            names.append(name)
    return names


@dataclass_transform(field_specifiers=(field,))
def record(cls: type[T] | None = None, *, frozen: bool = False) -> Any:
    """Make a class a record: ``__init__`` from its annotations, ``__eq__``, ``__repr__``."""

    def wrap(klass: type[T]) -> type[T]:
        names = _fields(klass)
        defaults: dict[str, object] = {}
        for name in names:
            for base in klass.__mro__:
                if name in base.__dict__:
                    defaults[name] = base.__dict__[name]
                    break

        _put(klass, "__init__", _binding_init(klass, names, defaults))
        _put(klass, "__match_args__", tuple(names))
        _put(klass, "__record_fields__", tuple(names))

        def __eq__(self: object, other: object) -> bool:
            if other.__class__ is not self.__class__:
                return NotImplemented
            return all(getattr(self, n) == getattr(other, n) for n in names)

        def __repr__(self: object) -> str:
            inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
            return f"{type(self).__name__}({inner})"

        _put(klass, "__eq__", __eq__)
        _put(klass, "__repr__", __repr__)
        if frozen:

            def __setattr__(self: object, name: str, value: object) -> None:
                raise AttributeError(f"{type(self).__name__} is frozen: cannot set {name}")

            def __hash__(self: object) -> int:
                return hash(tuple(getattr(self, n) for n in names))

            _put(klass, "__setattr__", __setattr__)
            _put(klass, "__hash__", __hash__)
        else:
            _put(klass, "__hash__", None)
        for name, value in defaults.items():
            if isinstance(value, _Factory):
                delattr(klass, name)
        return klass

    if cls is not None:
        return wrap(cls)
    return wrap


# An ``__init__`` is first a generic one that binds its arguments by name, and is compiled
# from source (as dataclasses does) once this many instances were made. Compiling one costs
# ~0.75 M instructions and a generic call ~9 K more than a compiled one (callgrind, six
# fields), so they break even near 100 instances; a short run makes a handful of most
# records (``noctra query "select 1"`` compiled 17 of them: 14 M instructions).
COMPILE_AFTER = 100


def _binding_init(klass: type, names: list[str], defaults: dict[str, object]) -> Callable[..., None]:
    count = len(names)
    known = frozenset(names)
    made = 0

    def __init__(self: object, *args: object, **kwargs: object) -> None:
        nonlocal made
        made += 1
        if made == COMPILE_AFTER:
            _put(klass, "__init__", _make_init(klass, names, defaults))
        if len(args) > count:
            takes = f"from {count - len(defaults) + 1} to {count + 1}" if defaults else str(count + 1)
            raise TypeError(
                f"{klass.__qualname__}.__init__() takes {takes} positional arguments"
                f" but {len(args) + 1} were given"
            )
        values = dict(zip(names, args, strict=False))
        for name, value in kwargs.items():
            if name in values or name not in known:
                problem = (
                    "got multiple values for argument"
                    if name in known
                    else "got an unexpected keyword argument"
                )
                raise TypeError(f"{klass.__qualname__}.__init__() {problem} {name!r}")
            values[name] = value
        if len(values) < count:
            for name in names:
                if name in values:
                    continue
                if name not in defaults:
                    raise TypeError(f"{klass.__qualname__}.__init__() missing required argument: {name!r}")
                default = defaults[name]
                values[name] = default.make() if isinstance(default, _Factory) else default
        # What object.__setattr__ does for each field (records have no slots or descriptors).
        self.__dict__.update(values)

    __init__.__qualname__ = f"{klass.__qualname__}.__init__"
    return __init__


def _make_init(klass: type, names: list[str], defaults: dict[str, object]) -> Callable[..., None]:
    params = []
    body = []
    env: dict[str, object] = {"_set": object.__setattr__}
    for name in names:
        if name in defaults:
            value = defaults[name]
            env[f"_d_{name}"] = value
            params.append(f"{name}=_d_{name}")
            if isinstance(value, _Factory):
                body.append(f" if {name} is _d_{name}: {name} = _d_{name}.make()")
        else:
            params.append(name)
        body.append(f" _set(self, {name!r}, {name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or " pass")
    exec(source, env)
    init = env["__init__"]
    init.__qualname__ = f"{klass.__qualname__}.__init__"  # type: ignore[attr-defined]
    return init  # type: ignore[return-value]


def _put(klass: type, name: str, value: object) -> None:
    setattr(klass, name, value)


def replace(obj: T, **changes: object) -> T:
    """A copy of a record with some fields changed; TypeError names a field it does not have."""
    names: tuple[str, ...] = type(obj).__record_fields__  # type: ignore[attr-defined]
    unknown = [name for name in changes if name not in names]
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {', '.join(map(repr, unknown))}")
    values = {n: changes.get(n, getattr(obj, n)) for n in names}
    return type(obj)(**values)


def asdict(obj: object) -> dict[str, object]:
    """The fields of a record as a dict (one level)."""
    names: tuple[str, ...] = type(obj).__record_fields__  # type: ignore[attr-defined]
    return {n: getattr(obj, n) for n in names}
