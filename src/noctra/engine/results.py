"""Stored results of repeated deterministic queries over files (SPEC 4.5).

A query that reads only local files (registered sources or files named in FROM), calls
only functions DuckDB knows to be deterministic, and runs with the same settings and
session gives the same rows while those files stay the same. When such a query is run
again (in any process) and its earlier run returned few rows but took a while, its
result is kept in a small DuckDB database file under ``$XDG_CACHE_HOME/noctra/results``;
later runs read that file instead, after checking that every input file still has the
identity it had (size, mtime, content fingerprint: the columnar copies' check).

An entry is ``<key>.duckdb`` (one table, ``result``: DuckDB keeps every type exactly,
HUGEINT sums included, which Parquet would turn into DOUBLE) beside ``<key>.meta``
(the input files' identities, hits, last use, the query). The key hashes the query
text, the working directory, every registered source's definition, the session's
settings and every DuckDB setting that can change rows, and both versions. A first run
leaves ``<key>.seen`` (its row count and time); the second builds the entry; every
later one is served from it. Entries take at most a tenth of ``[cache] max_size``
(least recently used go first).
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable
from pathlib import Path

from noctra.config import CacheConfig
from noctra.engine.base import STORED_RESULTS, Engine, ReadSet
from noctra.engine.cache import (
    EntryStore,
    FileIdentity,
    _blake2b,
    cache_dir,
    identify_local,
    private_directory,
    write_private,
)
from noctra.errors import QueryError
from noctra.quoting import quote_ident, quote_string
from noctra.records import record

RESULT_SUFFIX = ".duckdb"
SEEN_SUFFIX = ".seen"
META_VERSION = "noctra-result 3"
# Stored results may take this fraction of [cache] max_size (1/10: 200 MiB by default).
RESULT_SHARE = 10
# Where served results are read into (the file is detached again at once).
SCHEMA = "memory.__noctra_results"


@record
class ResultEntry:
    """One stored result and the files it was computed from."""

    key: str
    path: Path
    inputs: list[FileIdentity]
    size: int = 0
    hits: int = 0
    last_use: float = 0.0
    query: str = ""
    settings: str = ""  # hash of the DuckDB settings it was computed under


@record
class StoredLookup:
    """What the planner learnt about a query: served from a stored result, or to be noted."""

    sql: str  # what to run: the query, or a read of its stored result
    key: str = ""
    served: bool = False  # ``sql`` reads a stored (or just stored) result, not the files
    hit: bool = False  # the result was stored by an earlier run: the query did not run now
    # Told the row count and time once the result was read whole: notes the query for its
    # next run if it is worth storing (only then is the statement analysed).
    note: Callable[[int, float], None] | None = None


class ResultStore(EntryStore[ResultEntry]):
    """The directory of stored results: lookup, notes of first runs, builds, hits, LRU bound."""

    suffix = RESULT_SUFFIX
    markers = (SEEN_SUFFIX,)

    def __init__(self, directory: Path, *, max_size: int, max_rows: int, min_seconds: float) -> None:
        super().__init__(directory, max_size)
        self.max_rows = max_rows
        self.min_seconds = min_seconds

    @staticmethod
    def key_of(context: str, sql: str) -> str:
        text = f"{META_VERSION}\0{context}\0{sql}"
        return str(_blake2b(text.encode("utf-8", "surrogateescape")).hexdigest())

    def weight(self, entry: ResultEntry) -> int:
        return entry.size

    def lookup(self, key: str, now: Callable[[str], FileIdentity] = identify_local) -> ResultEntry | None:
        """The entry for this key if every input file is still what it was."""
        entry = self._read_meta(key)
        if entry is None:
            return None
        try:
            unchanged = all(now(i.path) == i for i in entry.inputs) and entry.path.is_file()
        except OSError:
            unchanged = False  # an input went away: the query reports it
        if not unchanged:
            self.drop(key)
            return None
        return entry

    def _read_meta(self, key: str) -> ResultEntry | None:
        try:
            text = self._meta(key).read_text(encoding="utf-8", errors="surrogateescape")
            version, size, hits, last_use, settings, count, rest = text.split("\n", 6)
            if version != META_VERSION:
                raise ValueError(version)
            lines = rest.split("\n", int(count))
            inputs = []
            for line in lines[: int(count)]:
                file_size, mtime_ns, fingerprint, path = line.split(" ")
                location = bytes.fromhex(path).decode("utf-8", "surrogateescape")
                inputs.append(FileIdentity(location, int(file_size), int(mtime_ns), fingerprint))
            return ResultEntry(
                key=key,
                path=self.path_of(key),
                inputs=inputs,
                size=int(size),
                hits=int(hits),
                last_use=float(last_use),
                query=lines[int(count)] if len(lines) > int(count) else "",
                settings=settings,
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            self.drop(key)  # an unreadable description: the entry cannot be trusted
            return None

    def _write_meta(self, entry: ResultEntry) -> None:
        lines = [META_VERSION, str(entry.size), str(entry.hits), repr(entry.last_use), entry.settings]
        lines.append(str(len(entry.inputs)))
        for i in entry.inputs:
            path = i.path.encode("utf-8", "surrogateescape").hex()
            lines.append(f"{i.size} {i.mtime_ns} {i.fingerprint or '-'} {path}")
        lines.append(entry.query)  # last: any text
        temporary = self.temporary(entry.key, self.meta_suffix)
        write_private(temporary, "\n".join(lines))
        os.replace(temporary, self._meta(entry.key))

    @staticmethod
    def state_of(inputs: list[FileIdentity]) -> str:
        """One word for the state of a query's input files."""
        text = "\n".join(f"{i.path}\0{i.size}\0{i.mtime_ns}\0{i.fingerprint}" for i in inputs)
        return str(_blake2b(text.encode("utf-8", "surrogateescape")).hexdigest())

    def note(self, key: str, rows: int, seconds: float, inputs: list[FileIdentity]) -> None:
        """A run's row count and time over these files: the next run over the same files
        stores the result if it is worth it."""
        try:
            private_directory(self.directory)
            text = f"{rows} {seconds!r} {self.state_of(inputs)}"
            write_private(self.directory / f"{key}{SEEN_SUFFIX}", text)
        except OSError:
            return  # a read-only cache directory: nothing is stored, nothing is lost

    def noted(self, key: str) -> bool:
        return (self.directory / f"{key}{SEEN_SUFFIX}").is_file()

    def is_due(self, key: str, inputs: list[FileIdentity]) -> bool:
        """True when an earlier run over the same files returned few enough rows and took
        long enough (a result is never stored from files it was not measured on)."""
        try:
            rows, seconds, state = (
                (self.directory / f"{key}{SEEN_SUFFIX}").read_text(encoding="ascii").split()
            )
            return (
                int(rows) <= self.max_rows
                and float(seconds) >= self.min_seconds
                and state == self.state_of(inputs)
            )
        except (OSError, ValueError):
            return False

    def commit(
        self,
        key: str,
        temporary: Path,
        inputs: list[FileIdentity],
        query: str,
        *,
        settings: str,
        now: Callable[[str], FileIdentity] = identify_local,
    ) -> ResultEntry | None:
        """Publish a result written to ``temporary`` from inputs that had these identities.

        None (nothing kept) when an input changed while the query ran.
        """
        size = self.publish(key, temporary, lambda: all(now(i.path) == i for i in inputs))
        if size is None:
            return None
        entry = ResultEntry(
            key=key,
            path=self.path_of(key),
            inputs=inputs,
            size=size,
            last_use=time.time(),
            query=query,
            settings=settings,
        )
        try:
            self._write_meta(entry)
        except OSError:
            self.drop(key)
            return None
        (self.directory / f"{key}{SEEN_SUFFIX}").unlink(missing_ok=True)
        return entry


def result_store(config: CacheConfig) -> ResultStore | None:
    """The store ``[cache]`` asks for; None when persistent or results are off."""
    if not config.persistent or not config.results:
        return None
    return ResultStore(
        cache_dir() / "results",
        max_size=config.max_size // RESULT_SHARE,
        max_rows=config.result_max_rows,
        min_seconds=config.result_min_ms / 1000,
    )


def stored_results(config: CacheConfig, duck: Engine) -> StoredResults | None:
    """Stored results over ``duck`` as ``[cache]`` asks; None when off or the engine cannot vouch."""
    store = result_store(config)
    if store is None or STORED_RESULTS not in duck.capabilities:
        return None
    return StoredResults(store, duck)


class StoredResults:
    """Serves, notes and builds stored results for one DuckDB engine."""

    def __init__(self, store: ResultStore, duck: Engine) -> None:
        self.store = store
        self.duck = duck
        self.hits = 0
        # Key -> which stored result (files' state, settings) this process read into SCHEMA:
        # another process may store the same key again over changed files.
        self._loaded: dict[str, str] = {}

    def lookup(
        self,
        sql: str,
        context: str,
        resolve: Callable[[ReadSet], list[str] | None],
        *,
        runs: Callable[[], str] | None = None,
        shown: str | None = None,
    ) -> StoredLookup:
        """What runs for ``sql``: its stored result, or the query itself (noted or built).

        ``sql`` reads the files themselves: the key and the inputs come from it. ``runs``
        gives what runs the query when no stored result answers (the same query reading
        persistent copies of its files), asked only then; ``shown`` is the statement as
        the user wrote it, for ``noctra cache show``. ``resolve`` maps what it
        reads to the input locations to identify (files and globs); None when something
        it reads is not a file Noctra tracks. A query seen for the first time costs a hash
        and two file lookups here: it is analysed only after it ran, if it is worth storing.
        """
        key = self.store.key_of(context, sql)
        noter = self._noter(key, sql, resolve)
        run = functools.cache((lambda: sql) if runs is None else runs)  # asked at most once
        settings: str | None = None
        try:
            entry = self.store.lookup(key)
            if entry is None:
                self._loaded.pop(key, None)  # never the rows of an earlier state of the files
            else:
                settings = self._settings()
                served = self._serve(entry) if settings == entry.settings else None
                if served is not None:
                    self.store.hit(entry)
                    self.hits += 1
                    return StoredLookup(served, key=key, served=True, hit=True)
            if not self.store.noted(key):
                return StoredLookup(run(), key=key, note=noter)
            settings = settings or self._settings()
            inputs = self._inputs(sql, resolve)
        except OSError:
            return StoredLookup(run())  # an unreadable input or cache directory: run the query
        if not settings or inputs is None:
            return StoredLookup(run())
        if not self.store.is_due(key, inputs):
            return StoredLookup(run(), key=key, note=noter)
        built = self._build(key, run(), sql, inputs, settings, shown=sql if shown is None else shown)
        if built is None:
            return StoredLookup(run(), key=key, note=noter)
        return StoredLookup(built, key=key, served=True)

    def _settings(self) -> str:
        """A hash of every DuckDB setting that can change rows; "" when results must not be
        stored now (with preserve_insertion_order off, ORDER BY's order would not be kept)."""
        digest = self.duck.settings_digest()
        if "\npreserve_insertion_order=false\n" in f"\n{digest}\n":
            return ""
        return str(_blake2b(digest.encode("utf-8", "surrogateescape")).hexdigest())

    def _inputs(
        self, keyed: str, resolve: Callable[[ReadSet], list[str] | None]
    ) -> list[FileIdentity] | None:
        """The identities of the files a deterministic query reads; None when it is not one
        (OSError when a file cannot be read)."""
        reads = self.duck.read_set(keyed)
        locations = None if reads is None else resolve(reads)
        if locations is None:
            return None
        return [identify_local(location) for location in sorted(set(locations))]

    def _noter(
        self, key: str, keyed: str, resolve: Callable[[ReadSet], list[str] | None]
    ) -> Callable[[int, float], None]:
        def note(rows: int, seconds: float) -> None:
            """The query was read whole: note it for its next run if it is worth storing."""
            store = self.store
            if rows > store.max_rows or seconds < store.min_seconds:
                return  # nothing to gain: not even analysed
            try:
                inputs = self._inputs(keyed, resolve)
            except (OSError, QueryError):
                return
            if inputs is not None:
                # Identities after the run: a note only says "worth storing"; the storing run
                # takes them (and the settings) again before it runs and checks them after.
                store.note(key, rows, seconds, inputs)

        return note

    def _table(self, key: str) -> str:
        return f"{SCHEMA}.{quote_ident('r_' + key[:24])}"

    def _serve(self, entry: ResultEntry) -> str | None:
        """Read a stored result into memory; None (entry dropped) when the file is unreadable."""
        table = self._table(entry.key)
        version = f"{self.store.state_of(entry.inputs)}:{entry.settings}"
        if self._loaded.get(entry.key) == version:
            return f"SELECT * FROM {table}"
        attached = f"__noctra_result_{entry.key[:12]}"
        name = quote_ident(attached)
        try:
            self.duck.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            self.duck.execute(f"ATTACH {quote_string(str(entry.path))} AS {name} (READ_ONLY)")
            try:
                # The file says which files' state it was computed from: two processes storing
                # the query at once over a file that changed between them cannot leave one's
                # rows beside the other's description.
                made_from = self.duck.run(
                    "SELECT comment FROM duckdb_tables() "
                    f"WHERE database_name = {quote_string(attached)} AND table_name = 'result'"
                ).fetch(2)
                if made_from != [(version,)]:
                    raise QueryError("a stored result made from other files than its description's")
                self.duck.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {name}.main.result")
            finally:
                self.duck.execute(f"DETACH {name}")
        except QueryError:
            self.store.drop(entry.key)  # corrupt, mismatched or from another DuckDB: the query runs
            return None
        self._loaded[entry.key] = version
        return f"SELECT * FROM {table}"

    def _build(
        self, key: str, sql: str, keyed: str, inputs: list[FileIdentity], settings: str, *, shown: str
    ) -> str | None:
        """Run the query into memory and store it; what reads it, or None (the query runs as is)."""
        table = self._table(key)
        temporary = self.store.temporary(key)
        name = quote_ident(f"__noctra_build_{key[:12]}")
        attached = False
        try:
            names = [c.name.lower() for c in self.duck.describe(f"({sql}\n)")]
            if len(set(names)) != len(names):
                return None  # a table would rename duplicate columns (a, a -> a, a_1): run the query
            self.duck.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            self.duck.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}\n")
            # 16 KB blocks: a few rows take ~45 KB, not DuckDB's 256 KB per column; reading
            # 100,000 rows back takes the same time (measured), the file is ~1.5x larger.
            self.duck.execute(f"ATTACH {quote_string(str(temporary))} AS {name} (BLOCK_SIZE 16384)")
            attached = True
            self.duck.execute(f"CREATE TABLE {name}.main.result AS SELECT * FROM {table}")
            # As the table's comment: a table of its own would add a block (~260 KB) to the file.
            made_from = quote_string(f"{self.store.state_of(inputs)}:{settings}")
            self.duck.execute(f"COMMENT ON TABLE {name}.main.result IS {made_from}")
            self.duck.execute(f"CHECKPOINT {name}")
            self.duck.execute(f"DETACH {name}")
            attached = False
        except QueryError:
            self._discard(name if attached else None, temporary)
            self.duck.execute(f"DROP TABLE IF EXISTS {table}")
            return None  # the query itself reports its error when it runs
        except BaseException:
            self._discard(name if attached else None, temporary)  # cancelled: no half file is left
            raise
        entry = self.store.commit(key, temporary, inputs, shown.strip()[:500], settings=settings)
        if entry is None:
            self.duck.execute(f"DROP TABLE IF EXISTS {table}")
            return None  # an input changed while the query ran: run it again on what is there now
        self._loaded[key] = f"{self.store.state_of(inputs)}:{settings}"
        self.store.evict()
        return f"SELECT * FROM {table}"

    def _discard(self, attached: str | None, temporary: Path) -> None:
        if attached is not None:
            with contextlib.suppress(QueryError):
                self.duck.execute(f"DETACH {attached}")
        temporary.unlink(missing_ok=True)
        Path(f"{temporary}.wal").unlink(missing_ok=True)
