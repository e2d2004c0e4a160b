"""The session file: sources, current source and variables; saved atomically, merged under a lock."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from noctra.config import toml_key, toml_value
from noctra.engine.base import Column
from noctra.engine.sources import Signature, Source, SourceKind
from noctra.errors import NoctraError
from noctra.records import field, record
from noctra.redact import has_credentials
from noctra.variables import Variable, problem_with

VERSION = 1
# Seconds to wait for another process's save: each holds the lock for a read, a merge and
# one small fsynced write (milliseconds), so this is only reached when something hangs.
LOCK_TIMEOUT = 5.0
T = TypeVar("T")


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
    # Entries load() left out (a literal or alias edited by hand): one warning each.
    problems: list[str] = field(default_factory=list)
    # Entries that could not even be read ("source 'p' left out: ..."), the file not named yet.
    unreadable: list[str] = field(default_factory=list)


def snapshot(sources: list[Source], variables: list[Variable], current: str | None) -> str:
    """The session as TOML text (sources with credentials in their path are not saved)."""
    return _text(sources, variables, current, remember=True)


def _text(sources: list[Source], variables: list[Variable], current: str | None, *, remember: bool) -> str:
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
        if source.kind.is_lake and source.schema:
            # A restored lake table is read only when a statement names it: the catalog
            # shows its columns meanwhile from here.
            columns = [[c.name, c.type, c.nullable] for c in source.schema]
            lines.append(f"columns = {_value(columns)}")
        if source.signature is not None:
            files = [list(entry) for entry in source.signature.files]
            lines.append(f"signature = {_value(files)}")
    return "\n".join([*lines, *_variable_entries(variables, remember=remember)]) + "\n"


class _Entries:
    """Each variable's entry as last written, by identity: a variable is serialized once, not
    at every save (a script of N LETs saves N times: serializing all each time was O(N^2))."""

    def __init__(self) -> None:
        self.known: dict[int, tuple[Variable, str]] = {}
        # The variables of the last snapshot and their entries, for the usual LET of a new name.
        self.last: tuple[list[Variable], list[str]] = ([], [])


_entries = _Entries()


def _variable_entries(variables: list[Variable], *, remember: bool) -> list[str]:
    """The ``[[variables]]`` entries of these variables (each a few lines, after a blank one).

    With ``remember`` the table keeps these variables' entries (and only theirs, so it
    never outgrows the session); a merge's snapshot (parsed copies) leaves it alone.
    """
    last_variables, last_entries = _entries.last
    done = len(last_variables)
    if len(variables) >= done and variables[:done] == last_variables:
        # The same variables and some more: a list compare in C, where identical objects are
        # equal without calling __eq__.
        added = [_variable_entry(v) for v in variables[done:]]
        if remember and added:
            _entries.last = (list(variables), last_entries + added)
            for variable, entry in zip(variables[done:], added, strict=True):
                _entries.known[id(variable)] = (variable, entry)
        return last_entries + added
    kept: dict[int, tuple[Variable, str]] = {}
    entries = []
    for variable in variables:
        hit = _entries.known.get(id(variable))
        if hit is None or hit[0] is not variable:
            hit = (variable, _variable_entry(variable))
        # Holding the variable keeps its id from being reused while it is in the table.
        kept[id(variable)] = hit
        entries.append(hit[1])
    if remember:
        _entries.known, _entries.last = kept, (list(variables), entries)
    return entries


def _variable_entry(variable: Variable) -> str:
    lines = ["", "[[variables]]", f"name = {_value(variable.name)}", f"type = {_value(variable.type)}"]
    if variable.text is not None:
        lines.append(f"text = {_value(variable.text)}")
    lines.append(f"literal = {_value(variable.literal)}")
    return "\n".join(lines)


# Seconds between two fsyncs of one session file: a flush costs milliseconds (as much as a
# small query), which a script of thousands of LETs paid at every one of them.
SYNC_EVERY = 1.0
_synced: dict[Path, float] = {}


def save(path: Path, text: str) -> None:
    """Write atomically: a temp file beside the target, fsynced, renamed into place.

    Every write is atomic (another process, or the next start after a crash of Noctra, reads
    the old file or the new one, whole). At most one write a second is fsynced: a change
    made at a prompt, seconds after the one before, is on disk when its statement ends; a
    script's burst of LETs pays the disk's flush once a second, not at every statement.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # The writer's pid in the name: a temp of a process killed mid-write (kill -9) is found.
    import tempfile  # only when a session is saved: not at every start (~4 ms)

    handle, temp = tempfile.mkstemp(prefix=f".session-{os.getpid()}-", suffix=".toml", dir=path.parent)
    now = time.monotonic()
    last = _synced.get(path)
    sync = last is None or now - last >= SYNC_EVERY
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            if sync:
                os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    if sync:
        _synced[path] = now
        _remove_dead_temps(path.parent)


def _remove_dead_temps(directory: Path) -> None:
    """Delete the temps of session writes whose process is gone (killed between write and rename)."""
    try:
        names = [n for n in os.listdir(directory) if n.startswith(".session-") and n.endswith(".toml")]
    except OSError:
        return
    for name in names:
        pid = name.split("-")[1]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            (directory / name).unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process: alive, not ours to judge
    return True


def save_merged(path: Path, base: str | None, mine: str, *, timeout: float = LOCK_TIMEOUT) -> str:
    """Apply this process's changes (``base`` -> ``mine``) to the file as it is now; the text written.

    ``base`` is this process's snapshot when it last loaded or saved (None: nothing),
    ``mine`` its snapshot now. Other processes' sources and variables are kept. Raises
    OSError when the file cannot be written, and StateLockError (an OSError) after
    writing without the lock when it could not be taken within ``timeout`` seconds.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path, timeout) as trouble:
        try:
            raw = _read_text(path)
        except _UnusableFileError as exc:
            if not exc.can_set_aside:
                raise exc.error from None
            # A broken file is kept (renamed) before a good one takes its place.
            _set_aside(path, exc.label)
            raw = None
        if raw == base or (raw is None and (base is None or base == snapshot([], [], None))):
            # Nobody else wrote since this process did: its snapshot is the merge (no parsing).
            text = mine
        else:
            try:
                disk = SavedState() if raw is None else _parsed(raw)
            except ValueError:
                _set_aside(path, "corrupt")
                disk, raw = SavedState(), None
            merged = merge(disk, _parsed(base) if base is not None else SavedState(), _parsed(mine))
            text = _text(merged.sources, merged.variables, merged.current, remember=False)
            # Read again as the next save's disk: merged is what parsing text gives.
            _remember_parsed(text, merged)
        if text != raw:
            save(path, text)
    if trouble is not None:
        raise StateLockError(path, trouble, text)
    return text


# The last texts save_merged parsed (or wrote) and their states: a save after a merge parses
# only its own new snapshot, not again the file it wrote last and its previous snapshot.
_PARSED_KEPT = 4
_parsed_texts: dict[str, SavedState] = {}


def _parsed(text: str) -> SavedState:
    """parse(text), remembered for the next saves (merge never changes the states it is given)."""
    found = _parsed_texts.get(text)
    if found is None:
        found = parse(text)
        _remember_parsed(text, found)
    return found


def _remember_parsed(text: str, saved: SavedState) -> None:
    _parsed_texts.pop(text, None)
    _parsed_texts[text] = saved
    while len(_parsed_texts) > _PARSED_KEPT:
        _parsed_texts.pop(next(iter(_parsed_texts)), None)


def merge(disk: SavedState, base: SavedState, mine: SavedState) -> SavedState:
    """``disk`` with the changes from ``base`` to ``mine`` applied: added, changed, removed, current.

    Sources are matched by alias and variables by name, both ignoring case (as the
    session does); what this process did not touch stays as another process left it.
    """
    sources, removed = _merge_items(disk.sources, base.sources, mine.sources, lambda s: s.alias.lower())
    variables, _ = _merge_items(disk.variables, base.variables, mine.variables, lambda v: v.name.lower())
    current = disk.current
    if mine.current != base.current:
        current = mine.current
    elif current is not None and current.lower() in removed:
        current = None
    return SavedState(sources=sources, variables=variables, current=current)


def _merge_items(
    disk: list[T], base: list[T], mine: list[T], key: Callable[[T], str]
) -> tuple[list[T], set[str]]:
    """Items of disk with mine's changes since base; and the keys mine removed."""
    before = {key(item): item for item in base}
    after = {key(item): item for item in mine}
    removed = before.keys() - after.keys()
    changed = {k: item for k, item in after.items() if before.get(k) != item}
    merged: list[T] = []
    seen: set[str] = set()
    for item in disk:
        k = key(item)
        if k in removed or k in seen:
            continue
        seen.add(k)
        merged.append(changed.get(k, item))
    merged += [item for k, item in changed.items() if k not in seen]
    return merged, removed


class CorruptStateError(NoctraError):
    """A session file that cannot be read: set aside as ``moved_to``, or left in place if that failed.

    When it is left in place (a directory, a read-only directory), ``moved_to`` is its
    own path and ``is_set_aside`` is False; ``str()`` is the whole warning either way.
    """

    def __init__(self, path: Path, reason: str, moved_to: Path | None = None) -> None:
        where = f"set aside as {moved_to.name}" if moved_to is not None else "left where it is"
        super().__init__(f"session file {path} could not be read ({reason}); {where}")
        self.moved_to = moved_to if moved_to is not None else path
        self.is_set_aside = moved_to is not None
        self.reason = reason


class StateLockError(OSError):
    """The session file was written without its lock (busy or unusable): a concurrent change may be lost."""

    def __init__(self, path: Path, reason: str, written: str) -> None:
        super().__init__(errno.ENOLCK, f"{reason}; saved without the lock")
        self.path = path
        self.written = written

    def __str__(self) -> str:
        return f"session file {self.path}: {self.strerror}"


def load(path: Path) -> SavedState | None:
    """Read a session file; None if there is none. Raises CorruptStateError, nothing else.

    A file that cannot be read or parsed is renamed aside (to a new name each time)
    so that the next save does not replace it; a directory is left where it is.
    """
    try:
        found = _read(path)
    except _UnusableFileError:
        pass
    else:
        return None if found is None else _checked(found[0], path)
    # A writer may replace the file meanwhile: look again under the lock before moving it.
    with _locked(path, LOCK_TIMEOUT):
        try:
            found = _read(path)
        except _UnusableFileError as exc:
            problem = exc
        else:
            return None if found is None else _checked(found[0], path)
        if not problem.can_set_aside:
            raise CorruptStateError(path, problem.reason) from problem.error
        try:
            moved = _set_aside(path, problem.label)
        except OSError as exc:
            reason = f"{problem.reason}; it cannot be renamed: {exc.strerror or type(exc).__name__}"
            raise CorruptStateError(path, reason) from problem.error
        raise CorruptStateError(path, problem.reason, moved) from problem.error


def _checked(saved: SavedState, path: Path) -> SavedState:
    """saved less the entries Noctra would never write (edited by hand): one problem each.

    A variable's literal is pasted into statements, so it must be the one LET writes for
    its type and value; an alias must be a name USE takes. The rest of the file is kept.
    """
    saved.problems.extend(f"session file {path}: {entry}" for entry in saved.unreadable)
    sources = []
    for source in saved.sources:
        reason = _alias_problem(source.alias)
        if reason is None:
            sources.append(source)
        else:
            saved.problems.append(f"session file {path}: source {source.alias!r} left out: {reason}")
    variables = []
    for variable in saved.variables:
        reason = problem_with(variable)
        if reason is None:
            variables.append(variable)
        else:
            saved.problems.append(
                f"session file {path}: variable {variable.name!r} left out: {reason} "
                f"(LET {variable.name} = ... replaces it)"
            )
    saved.sources, saved.variables = sources, variables
    return saved


def _alias_problem(alias: str) -> str | None:
    """Why a saved alias is not one USE registers: it takes any identifier, quoted or not
    (``"t; x"`` is one: reached as ``SELECT * FROM "t; x"``), never an empty one or NUL."""
    if not alias:
        return "an alias cannot be empty"
    if "\x00" in alias:
        return "an alias cannot hold a NUL character"
    return None


def parse(text: str) -> SavedState:
    """The SavedState a session file's text holds; ValueError (with a one-line reason) if none."""
    import tomllib

    try:
        return _state_of(tomllib.loads(text))
    except KeyError as exc:
        raise ValueError(f"missing key {exc.args[0]!r}") from exc
    except (ValueError, TypeError, IndexError, RecursionError) as exc:
        raise ValueError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc


class _UnusableFileError(Exception):
    """A session file that is there but cannot be used (private to this module)."""

    def __init__(self, reason: str, label: str, error: Exception, *, can_set_aside: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.label = label
        self.error = error
        self.can_set_aside = can_set_aside


def _read(path: Path) -> tuple[SavedState, str] | None:
    """The state in the file at path and its text; None if there is none; _UnusableFileError if broken."""
    text = _read_text(path)
    if text is None:
        return None
    try:
        return parse(text), text
    except ValueError as exc:
        raise _UnusableFileError(str(exc), "corrupt", exc) from exc


def _read_text(path: Path) -> str | None:
    """The text of the file at path; None if there is none; _UnusableFileError if it cannot be read."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError as exc:
        # Not a session file someone can lose, and renaming a user's directory would surprise.
        raise _UnusableFileError("it is a directory", "", exc, can_set_aside=False) from exc
    except OSError as exc:
        raise _UnusableFileError(exc.strerror or type(exc).__name__, "unreadable", exc) from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _UnusableFileError(str(exc).splitlines()[0], "corrupt", exc) from exc


def _set_aside(path: Path, label: str) -> Path:
    """Rename path to ``<name>.<label>-<time>[-n]``, never over an earlier one; the new path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    n = 1
    while True:
        moved = path.with_name(f"{path.name}.{label}-{stamp}" + (f"-{n}" if n > 1 else ""))
        try:
            # O_EXCL claims the name: two failures in one second, or two processes, never share it.
            os.close(os.open(moved, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            n += 1
            continue
        try:
            os.replace(path, moved)
        except BaseException:
            moved.unlink(missing_ok=True)
            raise
        return moved


@contextmanager
def _locked(path: Path, timeout: float) -> Iterator[str | None]:
    """Hold the exclusive lock on ``<path>.lock``; yields None, or why it could not be taken.

    flock locks die with their process, so only a live process can hold one; the
    timeout is for one that hangs, or a file system where flock blocks.
    """
    if sys.platform == "win32":
        yield "file locks are not used on Windows"
        return
    import fcntl

    lock = path.with_name(f"{path.name}.lock")
    try:
        # Read-only is enough for flock, and opens a lock file another user created.
        handle = os.open(lock, os.O_RDONLY | os.O_CREAT, 0o600)
    except OSError as exc:
        yield f"cannot open {lock.name}: {exc.strerror or type(exc).__name__}"
        return
    trouble = None
    try:
        deadline = time.monotonic() + timeout
        pause = 0.001
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    trouble = f"{lock.name} was busy for {timeout:g} s"
                    break
            except OSError as exc:
                trouble = f"cannot lock {lock.name}: {exc.strerror or type(exc).__name__}"
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        yield trouble
    finally:
        os.close(handle)  # which releases the lock


def _state_of(data: dict[str, object]) -> SavedState:
    if data.get("version") != VERSION:
        raise ValueError(f"unknown session file version {data.get('version')!r}")
    state = SavedState()
    current = data.get("current")
    state.current = str(current) if current is not None else None
    for item in _tables(data.get("sources", [])):
        try:
            state.sources.append(_source_of(item))
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            # One entry edited into something Noctra never writes: it alone is left out.
            name = item.get("alias")
            what = f"source {str(name)!r}" if name is not None else "a source"
            state.unreadable.append(f"{what} left out: {_entry_reason(exc)}")
    for item in _tables(data.get("variables", [])):
        text = item.get("text")
        try:
            state.variables.append(
                Variable(
                    str(item["name"]),
                    str(item["type"]),
                    None if text is None else str(text),
                    str(item["literal"]),
                )
            )
        except KeyError as exc:
            name = item.get("name")
            what = f"variable {str(name)!r}" if name is not None else "a variable"
            state.unreadable.append(f"{what} left out: {_entry_reason(exc)}")
    return state


def _entry_reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"it has no {exc.args[0]!r}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _source_of(item: dict[str, object]) -> Source:
    """One saved source; KeyError, ValueError or TypeError when it is not one Noctra writes."""
    files = item.get("signature")
    signature = None
    if isinstance(files, list):
        # [path, size, mtime_ns, inode, ctime_ns, fingerprint]; an older session file's
        # [path, size, mtime_ns] reads as changed once (its CSV is sniffed again).
        signature = Signature(
            tuple(
                (str(f[0]), int(f[1]), int(f[2]), int(f[3]), int(f[4]), str(f[5]))
                if len(f) >= 6
                else (str(f[0]), int(f[1]), int(f[2]), 0, 0, "")
                for f in files
            )
        )
    options = item.get("options", {})
    dialect = item.get("dialect", {})
    if not isinstance(options, dict) or not isinstance(dialect, dict):
        raise TypeError("options and dialect must be tables")
    kind = SourceKind.__members__.get(str(item["kind"]))
    if kind is None:
        raise ValueError(f"kind {str(item['kind'])!r} is not one of {', '.join(SourceKind.__members__)}")
    return Source(
        alias=str(item["alias"]),
        path=str(item["path"]),
        location=str(item["location"]),
        kind=kind,
        options=dict(options),
        signature=signature,
        read_pattern=str(item.get("read_pattern", item["location"])),
        dialect={str(k): str(v) for k, v in dialect.items()},
        reader=str(item.get("reader", "")),
        schema=_columns(item.get("columns", [])),
    )


def _columns(value: object) -> tuple[Column, ...]:
    """Saved columns: [name, type, nullable] each."""
    if not isinstance(value, list) or not all(isinstance(v, list) and len(v) == 3 for v in value):
        raise TypeError("columns must be a list of [name, type, nullable]")
    return tuple(Column(str(name), str(kind), bool(nullable)) for name, kind, nullable in value)


def _tables(value: object) -> list[dict[str, object]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise TypeError("expected an array of tables")
    return value


def _value(value: object) -> str:
    """A TOML value; table entries whose value is None are left out (TOML has no null)."""
    if value is None:
        raise TypeError("TOML has no null")
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = [(str(k), v) for k, v in value.items() if v is not None]
        return "{" + ", ".join(f"{toml_key(k)} = {_value(v)}" for k, v in items) + "}"
    return toml_value(value)
