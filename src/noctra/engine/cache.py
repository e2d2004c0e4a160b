"""Persistent columnar copies of text sources under $XDG_CACHE_HOME/noctra (SPEC 4.5).

The store knows files, keys and entries only; the engine writes and reads the copies.
An entry is ``<key>.parquet`` (the copy) beside ``<key>.meta`` (what it is a copy of,
its hits and last use; plain lines, so a cache hit needs neither json nor OpenSSL). The
key hashes the file's absolute path, size, mtime_ns and the reader call (dialect, types,
OPTIONS), so a changed file never finds an old entry; a content fingerprint (first and
last 64 KB) catches a same-size rewrite within the file system's mtime resolution. A copy
whose values depend on the session (text read as TIMESTAMPTZ takes the TimeZone) is keyed
by those settings too (``reading``): one made under another TimeZone is never served.
Writes go to a temporary name and ``os.replace``: a reader only ever opens a complete
file, and two processes building one entry at once both leave a whole one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from noctra.config import CacheConfig
from noctra.records import record

FINGERPRINT_BYTES = 64 * 1024
COPY_SUFFIX = ".parquet"
# Markers of files read once (the second read builds the copy), forgotten after 30 days.
SEEN_SUFFIX = ".seen"
# Markers of files whose copy would not give the text's column types: never copied.
UNFIT_SUFFIX = ".unfit"
SEEN_DAYS = 30
META_SUFFIX = ".meta"
META_VERSION = "noctra-cache 2"
# A copy without its description this old is a leftover (a crash between the two writes).
ORPHAN_SECONDS = 600


def _blake2b(data: bytes = b"") -> Any:
    """BLAKE2b, 32 bytes: from CPython's own module, without hashlib's OpenSSL set-up (~10 M
    instructions at every start)."""
    try:
        from _blake2 import blake2b
    except ImportError:  # another Python: hashlib has it too
        from hashlib import blake2b
    return blake2b(data, digest_size=32)


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/noctra``, by default ``~/.cache/noctra``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "noctra"


# A per-user cache: copies of private files must stay private (XDG: the user's own data).
PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600


def private_directory(directory: Path) -> None:
    """Make directory, and every folder of Noctra's cache above it, only its owner's (0700)."""
    root = cache_dir()
    chain = [directory, *(p for p in directory.parents if p == root or root in p.parents)]
    chain.reverse()
    for index, folder in enumerate(chain):
        try:
            folder.mkdir(mode=PRIVATE_DIRECTORY, parents=index == 0, exist_ok=True)
            info = folder.stat()
            if info.st_mode & 0o077 and info.st_uid == os.geteuid():
                os.chmod(folder, PRIVATE_DIRECTORY)
        except PermissionError:
            continue  # a folder of another user's (a shared cache set up on purpose): left alone


def write_private(path: Path, text: str) -> None:
    """Write a text file readable by its owner only."""
    data = text.encode("utf-8", "surrogateescape")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def cache_store(config: CacheConfig) -> CacheStore | None:
    """The store ``[cache]`` asks for; None when ``persistent = false`` (or --no-cache)."""
    if not config.persistent:
        return None
    return CacheStore(cache_dir(), max_size=config.max_size, min_size=config.min_size, remote=config.remote)


@record(frozen=True)
class FileIdentity:
    """What a file is now: its size, mtime and a fingerprint of its inode, ctime, first and last bytes."""

    path: str
    size: int
    mtime_ns: int
    fingerprint: str


# Where a "file" is a stream or the kernel's view of the system: identifying it would read
# a pipe's bytes before the query does (``read_csv('/dev/stdin')``), and its rows change
# while its size and mtime stay the same.
SPECIAL_PREFIXES = ("/dev/", "/proc/", "/sys/")


def absolute(path: str) -> str:
    """path under the working directory, as the kernel and DuckDB resolve it.

    Not normalised: ``link/../x.csv`` through a symlinked folder is another file than the
    ``x.csv`` that os.path.abspath makes of it as text.
    """
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), path)


def identify(path: str) -> FileIdentity:
    """The identity of a regular file (OSError when it cannot be read)."""
    location = absolute(path)
    with open(location, "rb") as handle:
        stat = os.fstat(handle.fileno())
        # The inode and ctime too: a same-size edit in the middle with its mtime put back
        # (cp -p, rsync -t, os.utime) changes ctime, which no user can set.
        digest = _blake2b(f"{stat.st_size}:{stat.st_ino}:{stat.st_ctime_ns}".encode())
        digest.update(handle.read(FINGERPRINT_BYTES))
        if stat.st_size > FINGERPRINT_BYTES:
            handle.seek(max(FINGERPRINT_BYTES, stat.st_size - FINGERPRINT_BYTES))
            digest.update(handle.read(FINGERPRINT_BYTES))
    return FileIdentity(location, stat.st_size, stat.st_mtime_ns, digest.hexdigest())


def identify_local(location: str) -> FileIdentity:
    """A local file's or glob's identity now (OSError when it cannot be read).

    A file named with ``*?[`` (``x[1].csv``) is read as itself by a source (its pattern
    escaped), but DuckDB reads what the name matches as a pattern when it matches anything
    (``FROM 'x[1].csv'`` reads ``x1.csv``): both are followed, so neither is served stale.
    """
    from noctra.engine.sources import is_glob

    if not is_glob(location):
        return identify(location)
    if not os.path.isfile(location):
        return identify_glob(location)
    literal = identify(location)
    try:
        matches = identify_glob(location)
    except FileNotFoundError:
        return literal  # the pattern matches nothing else: DuckDB reads the file itself
    digest = _blake2b(f"{literal.fingerprint}\0{matches.fingerprint}".encode())
    return FileIdentity(location, literal.size, max(literal.mtime_ns, matches.mtime_ns), digest.hexdigest())


# A file changed this recently may still change within its mtime's resolution.
RACY_NS = 2_000_000_000
# Up to this many files a glob's identity holds every file's fingerprint (~13 MB read at
# most); past it, only files changed in the last RACY_NS.
FINGERPRINTED_FILES = 100


def _glob_matches(pattern: str) -> list[str]:
    """The paths a glob matches, hidden ones too, as DuckDB expands it: ``**`` does not go
    into symlinked folders (glob.glob's recursion does, forever round a link to ``..``)."""
    import glob

    parts = pattern.split(os.sep)
    if "**" not in parts:
        return glob.glob(pattern, include_hidden=True)
    if parts.count("**") > 1:
        raise OSError(f"{pattern}: more than one '**'")  # DuckDB refuses it too
    at = parts.index("**")
    head, tail = os.sep.join(parts[:at]), os.sep.join(parts[at + 1 :])
    if at == 0:
        bases = [os.curdir]
    elif glob.has_magic(head):
        bases = [b for b in glob.glob(head or os.sep, include_hidden=True) if os.path.isdir(b)]
    else:
        bases = [head or os.sep]
    found: list[str] = []
    for base in bases:
        for walked, folders, files in os.walk(base):  # followlinks=False: as DuckDB's '**'
            root = walked
            if at == 0:  # '**/x.csv': paths as glob.glob gives them, without './'
                root = "" if walked == os.curdir else walked.removeprefix(os.curdir + os.sep)
            if tail:
                found += glob.glob(os.path.join(glob.escape(root), tail), include_hidden=True)
            else:
                found += [os.path.join(root, name) for name in files + folders]
    return sorted(set(found))


def identify_glob(pattern: str) -> FileIdentity:
    """The identity of every file a glob matches now: their paths, sizes and mtimes.

    Up to FINGERPRINTED_FILES files each also gives its content fingerprint (a same-size
    rewrite within one mtime tick); past that, only files modified in the last two seconds.
    OSError when nothing matches, or when a match is a pipe, a device or a kernel file
    (/proc, /sys, /dev): DuckDB reads those too, and no identity can follow them.
    """
    import stat as kinds

    found = []
    for path in _glob_matches(pattern):
        stat = os.stat(path)
        if kinds.S_ISDIR(stat.st_mode):
            continue
        if not kinds.S_ISREG(stat.st_mode) or (
            os.path.islink(path) and os.path.realpath(path).startswith(SPECIAL_PREFIXES)
        ):
            raise OSError(f"{path} is not a regular file")
        found.append((path, stat))
    if not found:
        raise FileNotFoundError(pattern)
    found.sort()
    digest = _blake2b()
    total = newest = 0
    now = time.time_ns()
    for path, stat in found:
        # inode and ctime for every file, fingerprinted or not: a same-size edit with its
        # mtime put back, or a symlink pointed at a same-size same-mtime file, changes them.
        line = f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ino}\0{stat.st_ctime_ns}\n"
        digest.update(line.encode())
        total += stat.st_size
        newest = max(newest, stat.st_mtime_ns)
        if len(found) <= FINGERPRINTED_FILES or now - max(stat.st_mtime_ns, stat.st_ctime_ns) < RACY_NS:
            digest.update(identify(path).fingerprint.encode())
    return FileIdentity(pattern, total, newest, digest.hexdigest())


class _Entry(Protocol):
    key: str
    hits: int
    last_use: float


E = TypeVar("E", bound=_Entry)


class EntryStore(Generic[E]):
    """A directory of entries: ``<key><suffix>`` described by ``<key>.meta``, plus marker
    files; least recently used entries go first past ``max_size``. Subclasses read and
    write the description and say what an entry weighs."""

    suffix = ""
    markers: tuple[str, ...] = ()  # marker suffixes, forgotten after SEEN_DAYS
    meta_suffix = META_SUFFIX

    def __init__(self, directory: Path, max_size: int) -> None:
        self.directory = directory
        self.max_size = max_size

    def _read_meta(self, key: str) -> E | None:
        raise NotImplementedError

    def _write_meta(self, entry: E) -> None:
        raise NotImplementedError

    def weight(self, entry: E) -> int:
        raise NotImplementedError

    def _meta(self, key: str) -> Path:
        return self.directory / f"{key}{self.meta_suffix}"

    def path_of(self, key: str) -> Path:
        return self.directory / f"{key}{self.suffix}"

    def temporary(self, key: str, suffix: str | None = None) -> Path:
        """A fresh temporary name in the store, unique to this process and call."""
        private_directory(self.directory)
        return self.directory / f".{key}.{os.getpid()}.{os.urandom(4).hex()}{suffix or self.suffix}.tmp"

    def publish(self, key: str, temporary: Path, unchanged: Callable[[], bool]) -> int | None:
        """Move a finished temporary file into place if what it was made from is unchanged;
        its size, or None (and the temporary file deleted)."""
        try:
            if not unchanged():
                temporary.unlink(missing_ok=True)
                return None
            size = temporary.stat().st_size
            os.chmod(temporary, PRIVATE_FILE)  # the engine made it with the umask's bits
            os.replace(temporary, self.path_of(key))
        except OSError:
            temporary.unlink(missing_ok=True)
            return None
        return size

    def hit(self, entry: E) -> None:
        """A query read the entry: count it and make it the most recently used."""
        entry.hits += 1
        entry.last_use = time.time()
        try:
            self._write_meta(entry)
        except OSError:
            return  # a read-only or full cache directory: the entry still served the query

    def drop(self, key: str) -> None:
        """Forget an entry (stale, corrupt or evicted) and its markers."""
        for path in (
            self._meta(key),
            self.path_of(key),
            *(self.directory / f"{key}{m}" for m in self.markers),
        ):
            path.unlink(missing_ok=True)

    def entries(self) -> list[E]:
        """Every complete entry, most recently used first."""
        if not self.directory.is_dir():
            return []
        entries = []
        for path in self.directory.glob(f"*{self.suffix}"):
            entry = self._read_meta(path.name[: -len(self.suffix)])
            if entry is not None and not _plausible(entry):
                self.drop(entry.key)  # a damaged description (a last use of NaN): not to be trusted
                continue
            if entry is not None:
                entries.append(entry)
                continue
            try:  # an entry nobody describes (older format, or a crash between the two writes)
                if time.time() - path.stat().st_mtime > ORPHAN_SECONDS:
                    path.unlink()
            except OSError:
                continue
        return sorted(entries, key=lambda e: e.last_use, reverse=True)

    def clear(self) -> int:
        """Delete every entry, marker and leftover temporary file; the number of entries deleted."""
        if not self.directory.is_dir():
            return 0
        count = 0
        for path in self.directory.iterdir():
            if path.name.endswith(self.suffix):
                count += 1
            if path.is_file():
                path.unlink(missing_ok=True)
        return count

    def evict(self) -> None:
        """Delete the least recently used entries until they fit in max_size; old markers too."""
        entries = self.entries()
        total = sum(self.weight(e) for e in entries)
        for entry in reversed(entries):
            if total <= self.max_size:
                break
            self.drop(entry.key)
            total -= self.weight(entry)
        stale = time.time() - SEEN_DAYS * 86400
        for marker in [p for m in self.markers for p in self.directory.glob(f"*{m}")]:
            try:
                if marker.stat().st_mtime < stale:
                    marker.unlink()
            except OSError:
                continue
        self._sweep_temporaries()

    def _sweep_temporaries(self) -> None:
        """Delete temporary files a process left when it was killed mid-write (``kill -9``,
        out of memory, power loss): nothing else ever would, and max_size does not count them.
        Only those untouched for ORPHAN_SECONDS whose process is gone."""
        if not self.directory.is_dir():
            return
        old = time.time() - ORPHAN_SECONDS
        for path in self.directory.glob(".*.tmp*"):
            parts = path.name.split(".")
            try:
                pid = int(parts[2])
                if path.stat().st_mtime >= old or _running(pid):
                    continue
                path.unlink()
            except (IndexError, ValueError, OSError):
                continue


def _plausible(entry: _Entry) -> bool:
    """A description whose numbers could be true: a last use that is a time (NaN, infinity or
    1e300 would fail `noctra cache show` and the LRU order), no negative counts or sizes."""
    weight = getattr(entry, "copy_size", getattr(entry, "size", 0))
    return 0 <= entry.last_use < 1e11 and entry.hits >= 0 and isinstance(weight, int) and weight >= 0


def _running(pid: int) -> bool:
    """True when a process with this id runs (or may: one of another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


@record
class CacheEntry:
    """One copy in the store and what it is a copy of."""

    key: str
    copy: Path
    source: str
    size: int
    mtime_ns: int
    fingerprint: str
    copy_size: int = 0
    hits: int = 0
    last_use: float = 0.0
    reading: str = ""  # the session settings its values were read under ("" when none matter)


class CacheStore(EntryStore[CacheEntry]):
    """The directory of persistent copies: lookup, build bookkeeping, hits, LRU bound."""

    suffix = COPY_SUFFIX
    markers = (SEEN_SUFFIX, UNFIT_SUFFIX)

    def __init__(self, directory: Path, *, max_size: int, min_size: int, remote: bool = False) -> None:
        super().__init__(directory, max_size)
        self.min_size = min_size
        self.remote = remote  # copies of http(s)/S3 files too ([cache] remote = true)

    @staticmethod
    def key_of(identity: FileIdentity, reader: str, reading: str = "") -> str:
        """The entry name of a file in this state read by this reader (under these settings)."""
        parts = [identity.path, str(identity.size), str(identity.mtime_ns), reader]
        if reading:
            parts.append(reading)
        return str(_blake2b("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest())

    def copy_path(self, key: str) -> Path:
        return self.path_of(key)

    def weight(self, entry: CacheEntry) -> int:
        return entry.copy_size

    def lookup(self, identity: FileIdentity, reader: str, reading: str = "") -> CacheEntry | None:
        """The entry for this file state and reader, if complete and made from the same bytes.

        ``reading``: the session settings a copy whose values depend on them was made under
        ("" finds the copies whose values depend on none).
        """
        key = self.key_of(identity, reader, reading)
        entry = self._read_meta(key)
        if entry is None:
            return None
        if (entry.source, entry.size, entry.mtime_ns, entry.fingerprint, entry.reading) != (
            identity.path,
            identity.size,
            identity.mtime_ns,
            identity.fingerprint,
            reading,
        ) or not entry.copy.is_file():
            self.drop(key)
            return None
        return entry

    def _read_meta(self, key: str) -> CacheEntry | None:
        try:
            text = self._meta(key).read_text(encoding="utf-8", errors="surrogateescape")
            version, size, mtime_ns, fingerprint, copy_size, hits, last_use, rest = text.split("\n", 7)
            if version != META_VERSION:
                raise ValueError(version)
            reading, source = rest.split("\0", 1)
            return CacheEntry(
                key=key,
                copy=self.copy_path(key),
                source=source,
                size=int(size),
                mtime_ns=int(mtime_ns),
                fingerprint=fingerprint,
                copy_size=int(copy_size),
                hits=int(hits),
                last_use=float(last_use),
                reading=reading,
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            self.drop(key)  # an unreadable description: the entry cannot be trusted
            return None

    def _write_meta(self, entry: CacheEntry) -> None:
        fields = [META_VERSION, entry.size, entry.mtime_ns, entry.fingerprint, entry.copy_size]
        # The settings (no NUL in them), then the source last: any text.
        fields += [entry.hits, repr(entry.last_use), f"{entry.reading}\0{entry.source}"]
        temporary = self.temporary(entry.key, META_SUFFIX)
        write_private(temporary, "\n".join(map(str, fields)))
        os.replace(temporary, self._meta(entry.key))

    def is_due(self, identity: FileIdentity, reader: str) -> bool:
        """Count a text read of a file: True from the second (in any process), when big enough."""
        if identity.size < self.min_size:
            return False
        key = self.key_of(identity, reader)
        if (self.directory / f"{key}{UNFIT_SUFFIX}").exists():
            return False
        marker = self.directory / f"{key}{SEEN_SUFFIX}"
        if marker.exists():
            return True
        private_directory(self.directory)
        marker.touch(mode=PRIVATE_FILE)
        return False

    def refuse(self, identity: FileIdentity, reader: str) -> None:
        """Never copy this file state with this reader (its copy would change its types)."""
        key = self.key_of(identity, reader)
        private_directory(self.directory)
        (self.directory / f"{key}{UNFIT_SUFFIX}").touch(mode=PRIVATE_FILE)
        (self.directory / f"{key}{SEEN_SUFFIX}").unlink(missing_ok=True)

    def commit(
        self,
        identity: FileIdentity,
        reader: str,
        temporary: Path,
        *,
        reading: str = "",
        now: Callable[[str], FileIdentity | None] = identify,
    ) -> CacheEntry | None:
        """Publish a copy written to ``temporary`` from a file that had ``identity``.

        None (and nothing kept) when the file changed while it was copied (``now`` says
        what a path is now). ``reading``: the session settings its values depend on.
        """
        key = self.key_of(identity, reader, reading)
        copy_size = self.publish(key, temporary, lambda: now(identity.path) == identity)
        if copy_size is None:
            return None
        entry = CacheEntry(
            key=key,
            copy=self.copy_path(key),
            source=identity.path,
            size=identity.size,
            mtime_ns=identity.mtime_ns,
            fingerprint=identity.fingerprint,
            copy_size=copy_size,
            last_use=time.time(),
            reading=reading,
        )
        self._write_meta(entry)
        (self.directory / f"{self.key_of(identity, reader)}{SEEN_SUFFIX}").unlink(missing_ok=True)
        state = (identity.size, identity.mtime_ns, identity.fingerprint)
        for other in self.entries():
            if other.source == identity.path and (other.size, other.mtime_ns, other.fingerprint) != state:
                self.drop(other.key)  # a copy of an earlier state of this file: never served again
        self.evict()
        return entry
