"""The session file: sources, the current source and variables, saved atomically, restored at start."""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from pathlib import Path

from noctra.engine.sources import Signature, Source, SourceKind
from noctra.records import field, record
from noctra.redact import has_credentials
from noctra.variables import Variable

VERSION = 1


def default_state_path(db: str | os.PathLike[str] | None = None) -> Path:
    """``.noctra/session.toml`` beside a --db workspace, else ``$XDG_STATE_HOME/noctra/session.toml``."""
    if db is not None:
        return Path(db).absolute().parent / ".noctra" / "session.toml"
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "noctra" / "session.toml"


@record
class SavedState:
    """What a session file holds."""

    sources: list[Source] = field(default_factory=list)
    variables: list[Variable] = field(default_factory=list)
    current: str | None = None


def snapshot(sources: list[Source], variables: list[Variable], current: str | None) -> str:
    """The session as TOML text (sources with credentials in their path are not saved)."""
    lines = [
        "# Noctra session: written by noctra after each change; read at the next start.",
        f"version = {VERSION}",
    ]
    if current is not None:
        lines.append(f"current = {_value(current)}")
    for source in sources:
        if has_credentials(source.path):
            continue
        lines += ["", "[[sources]]"]
        lines.append(f"alias = {_value(source.alias)}")
        lines.append(f"path = {_value(source.path)}")
        lines.append(f"location = {_value(source.location)}")
        lines.append(f"kind = {_value(source.kind.name)}")
        lines.append(f"read_pattern = {_value(source.read_pattern)}")
        if source.reader:
            lines.append(f"reader = {_value(source.reader)}")
        if source.options:
            lines.append(f"options = {_value(source.options)}")
        if source.dialect:
            lines.append(f"dialect = {_value(source.dialect)}")
        if source.signature is not None:
            files = [[path, size, mtime] for path, size, mtime in source.signature.files]
            lines.append(f"signature = {_value(files)}")
    for variable in variables:
        lines += ["", "[[variables]]"]
        lines.append(f"name = {_value(variable.name)}")
        lines.append(f"type = {_value(variable.type)}")
        if variable.text is not None:
            lines.append(f"text = {_value(variable.text)}")
        lines.append(f"literal = {_value(variable.literal)}")
    return "\n".join(lines) + "\n"


def save(path: Path, text: str) -> None:
    """Write atomically: a temp file beside the target, fsynced, renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=".session-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class CorruptStateError(Exception):
    """A session file that cannot be read; it has been set aside."""

    def __init__(self, moved_to: Path, reason: str) -> None:
        super().__init__(reason)
        self.moved_to = moved_to
        self.reason = reason


def load(path: Path) -> SavedState | None:
    """Read a session file; None if there is none. A broken file is renamed aside."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    import tomllib

    try:
        data = tomllib.loads(raw.decode("utf-8"))
        return _state_of(data)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        moved = path.with_name(f"{path.name}.corrupt-{stamp}")
        os.replace(path, moved)
        raise CorruptStateError(moved, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc


def _state_of(data: dict[str, object]) -> SavedState:
    if data.get("version") != VERSION:
        raise ValueError(f"unknown session file version {data.get('version')!r}")
    state = SavedState()
    current = data.get("current")
    state.current = str(current) if current is not None else None
    for item in _tables(data.get("sources", [])):
        files = item.get("signature")
        signature = None
        if isinstance(files, list):
            signature = Signature(tuple((str(f[0]), int(f[1]), int(f[2])) for f in files))
        options = item.get("options", {})
        dialect = item.get("dialect", {})
        if not isinstance(options, dict) or not isinstance(dialect, dict):
            raise TypeError("options and dialect must be tables")
        state.sources.append(
            Source(
                alias=str(item["alias"]),
                path=str(item["path"]),
                location=str(item["location"]),
                kind=SourceKind[str(item["kind"])],
                options=dict(options),
                signature=signature,
                read_pattern=str(item.get("read_pattern", item["location"])),
                dialect={str(k): str(v) for k, v in dialect.items()},
                reader=str(item.get("reader", "")),
            )
        )
    for item in _tables(data.get("variables", [])):
        text = item.get("text")
        state.variables.append(
            Variable(
                str(item["name"]),
                str(item["type"]),
                None if text is None else str(text),
                str(item["literal"]),
            )
        )
    return state


def _tables(value: object) -> list[dict[str, object]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise TypeError("expected an array of tables")
    return value


def _value(value: object) -> str:
    """A TOML value: strings, numbers, booleans, arrays and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        escaped = (
            value.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            .replace("\t", "\\t")
        )
        escaped = "".join(c if c >= " " or c in "\\" else f"\\u{ord(c):04x}" for c in escaped)
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = [(k, v) for k, v in value.items() if v is not None]
        return "{" + ", ".join(f"{_value(str(k))} = {_value(v)}" for k, v in items) + "}"
    if value is None:
        raise TypeError("TOML has no null")
    return _value(str(value))
