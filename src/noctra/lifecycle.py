"""The life of a source: checked, registered in the engine, made current, followed, restored, dropped."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from noctra.engine.base import Engine, Registration
from noctra.engine.hybrid import Hybrid
from noctra.engine.sources import (
    Signature,
    Source,
    SourceKind,
    SourceRegistry,
    check_options,
    check_sqlite_file,
    detect,
    file_version,
    is_glob,
    is_remote,
    kind_from_name,
    lake_kind,
    refuse_lying_extension,
    refuse_ragged_tail,
    refuse_unreadable_format,
    resolve_location,
    server_kind,
    signature_of,
    unchanged,
)
from noctra.errors import NoctraError, SourceError, UsageError
from noctra.quoting import CATALOG_NAMES, identifier_from_stem, quote_ident, quote_string

# Names in a statement, as DuckEngine.ready finds them: "quoted" or bare identifiers.
_NAMES = re.compile(r'"((?:[^"]|"")*)"|([^\W\d][\w$]*)')
# A URL's Last-Modified has whole seconds: a rewrite within the same second keeps it (and
# often the size); read this long after it, the header is sniffed again to be sure.
REMOTE_RACY_NS = 2_000_000_000


def _names_in(statement: str) -> set[str]:
    return {
        (quoted.replace('""', '"') if quoted else word).lower() for quoted, word in _NAMES.findall(statement)
    }


def default_alias(path: str) -> str:
    """The file stem made into an identifier: 'data/ventas-2024.csv.gz' -> 'ventas_2024'.

    A server URL is known by its database's name: 'postgresql://u@h/sales' -> 'sales'.
    """
    if server_kind(path) is not None:
        from noctra.engine.servers import default_alias as server_alias

        return identifier_from_stem(server_alias(path))
    name = path.rstrip("/").split("?", 1)[0]
    base = os.path.basename(name) or name
    for _ in range(2):
        stem, ext = os.path.splitext(base)
        if ext and stem:
            base = stem
    if not re.sub(r"[*?\[\]]", "", base).strip("._-"):
        # 'logs/*.csv' is the logs: the folder names it, not the pattern.
        folder = os.path.basename(os.path.dirname(name).rstrip("/").replace("**", "").rstrip("/"))
        base = folder or base
    return identifier_from_stem(re.sub(r"[*?\[\]]", "", base))


def catalog_alias_error(source: Source) -> SourceError:
    """A database under one of DuckDB's catalog names (main, memory...) cannot be attached."""
    return SourceError(
        f"alias {source.alias!r} is one of DuckDB's own catalog names, a database cannot have it",
        hint=f"choose another alias, e.g. USE {quote_string(source.path)} AS {source.alias.lower()}_",
    )


def build_source(path: str, alias: str, options: dict[str, object]) -> Source:
    """Check a path and its options and make a Source (not registered yet).

    A server URL is kept without its password (see url_password): a Source is shown and saved.
    """
    if server_kind(path) is not None:
        from noctra.engine.servers import parse_url

        path = parse_url(path).public
    location = resolve_location(path, Path.cwd())
    kind, pattern = detect(path, location, options)
    check_options(kind, options)
    return Source(
        alias=alias,
        path=path,
        location=location,
        kind=kind,
        options=dict(options),
        signature=signature_of(location),
        read_pattern=pattern,
    )


def apply(source: Source, registration: Registration) -> None:
    """Keep what the engine learned about a source on it (shown by USE, SHOW, the catalog)."""
    if source.kind.is_database:
        if registration.tables is not None:
            source.columns = registration.tables
        return
    source.schema = registration.columns
    source.columns = len(registration.columns)
    source.reader = registration.reader
    source.dialect = dict(registration.dialect)


class SourceLifecycle:
    """Registers, replaces, follows and restores the sources of one session."""

    def __init__(self, engine: Engine, hybrid: Hybrid, sources: SourceRegistry, warnings: list[str]) -> None:
        self.engine = engine
        self.hybrid = hybrid
        self.sources = sources
        self.warnings = warnings
        # Sources whose files are there but would not register, with the files' signature
        # then: tried again only once the files change, and reported once.
        self._failed: dict[str, Signature | None] = {}
        # Why each of those would not register: a statement reading one says that, not "missing".
        self.unreadable: dict[str, NoctraError] = {}
        self.workspace: Source | None = None  # the --db database, once open_workspace ran
        self._hidden: set[str] = set()  # aliases already warned about by shadowed_sources
        # While False, quoted files are read as text and their persistent copies are not
        # looked up (a stored result may answer the query: no copy is touched then);
        # ``copy_wanted`` keeps, per path, the checked file that may have one, so the second
        # rewrite looks its copy up without checking the file again.
        self.quoted_copies = True
        self.copy_wanted: dict[str, tuple[str, SourceKind, str | None]] = {}
        # Signatures of Parquet files whose decimals DuckDB reads right (see _refuse_wide_decimals).
        self._decimals_checked: set[tuple[str, int, int, int, int]] = set()

    # --- registering ----------------------------------------------------------------

    def register(self, source: Source, *, replacing: Source | None, count_tables: bool = True) -> None:
        """Register a source; SQLite databases are checked now and attached when DuckDB needs them."""
        if source.kind is SourceKind.SQLITE:
            check_sqlite_file(source)
            if source.options.get("create") and not os.path.exists(source.location):
                # A new database: SQLite creates the file when it is first opened.
                self.hybrid.open_new(source)
            if count_tables:
                # Opens it with sqlite3, which also catches a locked or broken database early.
                source.columns = len(self.hybrid.tables_of(source, fresh=True))
        if source.kind is SourceKind.PARQUET and not source.is_remote:
            self._refuse_wide_decimals(source.path, source.location)
        apply(source, self.engine.register(source, replacing=replacing))

    def _refuse_wide_decimals(self, path: str, location: str) -> None:
        """A Parquet file with a DECIMAL wider than 38 digits (pyarrow's decimal256): an error.

        DuckDB reads such a column as a DOUBLE of wrong numbers (2.50 as 1.8e17), without a
        word. Its footer says so (parquet_schema, about 1 ms); a file is asked once per version.
        """
        try:
            info = os.stat(location)
        except OSError:
            return  # a glob, a folder or no file: the read says why
        signature = file_version(location, info)
        if signature in self._decimals_checked or not os.path.isfile(location):
            return
        try:
            found = self.hybrid.duck.run(
                f"SELECT name, precision, scale FROM parquet_schema({quote_string(location)}) "
                "WHERE converted_type = 'DECIMAL' AND precision > 38 LIMIT 1"
            ).fetch(1)
        except NoctraError:
            return  # not Parquet after all: the read says why
        if found:
            name, precision, scale = found[0]
            raise SourceError(
                f"cannot read {path!r}: column {name!r} is DECIMAL({precision},{scale}), wider than "
                "DuckDB's 38 digits (it would read as wrong numbers)",
                hint=f"write it with at most 38 digits, or as text; the other columns: SELECT * "
                f"EXCLUDE ({quote_ident(str(name))}) FROM read_parquet({quote_string(path)})",
            )
        self._decimals_checked.add(signature)

    def use(self, path: str, alias: str | None, options: dict[str, object]) -> tuple[Source, Source | None]:
        """Register a source and make it current; a failure leaves every source as it was."""
        source = build_source(path, alias or default_alias(path), self._lake_format(path, options))
        if source.kind.is_database and source.alias.lower() in CATALOG_NAMES:
            raise catalog_alias_error(source)
        if source.kind.is_server:
            from noctra.engine.servers import parse_url, url_password

            password = url_password(parse_url(path))
            if password is not None:
                # Given to the engine only (a DuckDB secret), never kept on the Source.
                self.engine.set_credentials("url", {source.location: password})
        self._refuse_shadowed(source)
        if self._follows_remote(source):
            # Taken before the sniff: a change between the two is seen at the next statement.
            source.signature = self._remote_signature(source)
        replaced = self.sources.peek(source.alias)
        self.register(source, replacing=replaced)
        if replaced is not None:
            self.hybrid.forget(replaced)
        self.sources.add(source)
        self.make_current(source.alias)
        return source, replaced

    def _lake_format(self, path: str, options: dict[str, object]) -> dict[str, object]:
        """Options, with the format of an object-store folder that holds a Delta or Iceberg log.

        A prefix such as s3://bucket/tables/events has no extension to tell its kind by: two
        listings (glob) look for ``_delta_log/`` and ``metadata/*.metadata.json`` in it.
        """
        listed = path.lower().startswith(("s3://", "s3a://", "gs://", "gcs://", "r2://"))
        if not listed or "format" in options or kind_from_name(path) is not None or is_glob(path):
            return dict(options)
        base = path.rstrip("/")
        for fmt, log in (("delta", "/_delta_log/*.json"), ("iceberg", "/metadata/*.metadata.json")):
            try:
                listing = self.hybrid.duck.run(f"SELECT file FROM glob({quote_string(base + log)}) LIMIT 1")
                found = listing.fetch(1)
            except NoctraError as exc:
                raise SourceError(f"cannot list {path!r}: {exc.message}", hint=exc.hint) from exc
            if found:
                return {**options, "format": fmt}
        return dict(options)

    def _workspace_table(self, alias: str) -> str | None:
        """The --db workspace's table (or view) a bare ``alias`` would find first, if any."""
        workspace = self.workspace
        if workspace is None or workspace.status != "ok":
            return None
        if workspace.kind is SourceKind.SQLITE:
            names = {name: name for name in self.hybrid.tables_of(workspace)}
        else:
            names = {
                t.name.lower(): t.name for t in self.engine.tables(workspace.alias) if t.schema == "main"
            }
        return names.get(alias.lower())

    def _refuse_shadowed(self, source: Source) -> None:
        """A file source named like a workspace table would be hidden by it: refused (issue 11.17).

        Bare names look in the workspace first (it is where new tables go), so the
        source would be reachable only as memory.main.<alias>, and a script would
        silently read the table instead.
        """
        if source.kind.is_database:
            return
        table = self._workspace_table(source.alias)
        if table is None or self.workspace is None:
            return
        free, n = source.alias, 1
        while free.lower() in self.sources or self._workspace_table(free) is not None:
            n += 1
            free = f"{source.alias}_{n}"
        raise SourceError(
            f"alias {source.alias!r} is taken by table {table!r} of the --db workspace "
            f"{self.workspace.alias!r}",
            hint=f"choose another alias, e.g. USE {quote_string(source.path)} AS {free}; "
            f"the table stays {table} (or {self.workspace.alias}.{table})",
        )

    def shadowed_sources(self) -> list[str]:
        """Warnings (once per session each) for file sources a workspace table now hides.

        A table created under a source's alias, in this run or before a restore, wins
        over the source for bare names.
        """
        warnings = []
        for source in self.sources:
            if source.kind.is_database or source.status != "ok" or source.alias.lower() in self._hidden:
                continue
            table = self._workspace_table(source.alias)
            if table is not None and self.workspace is not None:
                self._hidden.add(source.alias.lower())
                warnings.append(
                    f"source {source.alias!r} is hidden by table {table!r} of the --db workspace: "
                    f"{source.alias} reads the table; the source is memory.main.{source.alias} "
                    "(or USE it again under another alias)"
                )
        return warnings

    def detach(self, source: Source) -> None:
        """Forget a source everywhere."""
        if self.sources.current is not None and self.sources.current.lower() == source.alias.lower():
            self.make_current(None)
        self.engine.unregister(source)
        self.hybrid.forget(source)
        self.sources.remove(source.alias)

    def make_current(self, alias: str | None) -> None:
        """Make a source current; a database becomes where new tables go."""
        self.sources.current = alias
        source = self.sources.peek(alias) if alias else None
        self.engine.use_catalog(source.alias if source and source.kind.is_database else None)

    def open_workspace(self, path: str, *, read_only: bool) -> Source:
        """``--db``: a database that is where new tables go for the whole session."""
        kind = kind_from_name(path)
        if kind is None or not kind.is_database:
            raise UsageError(
                f"--db {path!r} is not a database file",
                hint="use a .duckdb file, or .db / .sqlite / .sqlite3 for SQLite",
            )
        if read_only and not is_remote(path) and not os.path.exists(resolve_location(path, Path.cwd())):
            raise UsageError(
                f"--db {path!r} does not exist, and --read-only does not create it",
                hint="check the path; without --read-only, --db starts a new database there",
            )
        options: dict[str, object] = {"readonly": True} if read_only else {"create": True}
        try:
            source = build_source(path, default_alias(path), options)
            self.register(source, replacing=None, count_tables=False)
        except SourceError as exc:
            # Its hints are USE's (OPTIONS (format = ...)): --db takes a path alone (R9-I8).
            other = "DuckDB" if kind is SourceKind.SQLITE else "SQLite"
            hint = (
                "--db takes a DuckDB file named .duckdb or a SQLite file named .db, .sqlite or "
                f".sqlite3: if it is a {other} database, give it that extension"
            )
            raise UsageError(f"--db {path!r}: {exc.message}", hint=hint) from exc
        self.sources.add(source)
        self.engine.set_home(source.alias)
        self.make_current(source.alias)
        self.workspace = source
        return source

    # --- shorthands in statements ---------------------------------------------------

    def attach_on_the_fly(self, path: str, table: str) -> str | None:
        """``x.db::t``: the alias of x.db, registering it (not as current) if needed.

        A database that cannot be opened or has no table ``t`` is refused before it is
        registered: the failed statement leaves no source behind (SPEC 6).
        """
        kind = kind_from_name(path)
        if kind is None:
            return None
        if not kind.is_database:
            raise SourceError(
                f"{path!r} is not a database: path::{table} reads a table of a SQLite or DuckDB file",
                hint=f"FROM {quote_string(path)} reads the {kind.value} file itself",
            )
        location = resolve_location(path, Path.cwd())
        known = self.sources.by_location(location)
        if known is not None:
            return known.alias
        alias = self.sources.free_alias(default_alias(path))
        source = build_source(path, alias, {})
        self.register(source, replacing=None, count_tables=False)
        try:
            self._require_table(source, table)
        except BaseException:
            self.engine.unregister(source)
            self.hybrid.forget(source)
            raise
        self.sources.add(source)
        return alias

    def _require_table(self, source: Source, table: str) -> None:
        """SourceError unless a just-registered database has the table (or view) ``table``.

        A SQLite file is read with sqlite3 (which also finds a file that is not a database).
        """
        if source.kind is SourceKind.SQLITE:
            names = self.hybrid.tables_of(source, fresh=True)
        else:
            names = {t.name.lower() for t in self.engine.tables(source.alias)}
        if table.lower() in names:
            return
        shown = ", ".join(sorted(names)[:20]) + (", ..." if len(names) > 20 else "")
        raise SourceError(
            f"{source.path!r} has no table {table!r}",
            hint=f"its tables: {shown}" if names else "it has no tables",
        )

    @staticmethod
    def is_local_file(path: str) -> bool:
        kind = kind_from_name(path)
        return kind is not None and not kind.is_database and os.path.isfile(path)

    def _quoted_lake(self, path: str) -> str | None:
        """``FROM 'warehouse/events'``: a Delta or Iceberg folder quoted in FROM reads as that table."""
        location = resolve_location(path, Path.cwd())
        if not os.path.isdir(location) or lake_kind(path, location) is None:
            return None
        return self.engine.inspect(build_source(path, "__noctra_quoted", {})).reader

    def check_queried_file(self, path: str) -> str | None:
        """``FROM 'x.csv'``: a clear error for a missing or empty local file before it is read.

        Returns what the engine reads the file with instead of the bare path, if anything.
        """
        checked = self.copy_wanted.get(path) if self.quoted_copies else None
        if checked is not None:
            return self._cached_quoted(path, *checked)
        refuse_unreadable_format(path)
        kind = kind_from_name(path)
        if kind is None and not is_remote(path) and not is_glob(path):
            return self._quoted_lake(path)
        if kind is None or kind.is_database:
            return None
        reader = self.engine.quoted_file_reader(path, kind)
        if is_remote(path):
            return reader if is_glob(path) else self._cached_quoted(path, path, kind, reader)
        if is_glob(path):
            return self._cached_quoted(path, resolve_location(path, Path.cwd()), kind, reader)
        location = resolve_location(path, Path.cwd())
        if not os.path.exists(location):
            raise SourceError(f"file not found: {path!r}", hint=f"no such file at {location}")
        if os.path.isdir(location):
            return None
        if os.path.getsize(location) == 0:
            raise SourceError(
                f"{path!r} is empty (0 bytes)", hint="a file needs at least a header line or a record"
            )
        refuse_lying_extension(path, location, kind)
        if kind is SourceKind.PARQUET:
            self._refuse_wide_decimals(path, location)
        if kind is SourceKind.CSV:
            # DuckDB's sniffer would read a ragged last row alone, the lines before skipped (R4-3).
            refuse_ragged_tail(path, location)
        return self._cached_quoted(path, location, kind, reader)

    def _cached_quoted(self, path: str, location: str, kind: SourceKind, reader: str | None) -> str | None:
        """A quoted file read again (in any process) is served by its persistent copy (SPEC 4.5)."""
        if self.engine is not self.hybrid.duck or self.hybrid.store is None:
            return reader
        if kind not in (SourceKind.CSV, SourceKind.JSON):
            return reader
        absolute = self.engine.quoted_file_reader(location, kind)
        if absolute is None and kind is SourceKind.JSON:
            absolute = f"read_json_auto({quote_string(location)})"
        if absolute is None:
            return reader
        if not self.quoted_copies:
            self.copy_wanted[path] = (location, kind, reader)
            return reader
        read_from = self.hybrid.quoted_file(location, kind, absolute)
        return reader if read_from == absolute else read_from

    # --- following files ------------------------------------------------------------

    def refresh(self, statement: str | None = None) -> None:
        """Follow files that changed: CSVs are sniffed again, DuckDB copies are dropped.

        A source restored as missing becomes usable again when its file is back. A remote
        CSV is looked at (one HEAD) only when ``statement`` names it (always when None).
        """
        named: set[str] | None = None
        for source in self.sources:
            if source.status == "missing":
                self.register_saved(source)
                if source.status == "ok" and source.alias == self.sources.current:
                    self.make_current(source.alias)  # back: a database is where new tables go again
                continue
            if source.kind.is_database:
                continue
            if source.is_remote:
                if not self._follows_remote(source):
                    continue
                if statement is not None and named is None:
                    named = _names_in(statement)
                if named is None or source.alias.lower() in named:
                    self._refresh_remote(source)
                continue
            # A workbook's sheets may come and go: its catalog of sheets is made again.
            followed = source.kind in (SourceKind.CSV, SourceKind.EXCEL) or source.kind.is_lake
            if not followed and not self.hybrid.has_copy(source):
                continue  # Parquet/JSON views read the files as they are: nothing to redo
            now = signature_of(source.location)
            if now is None:
                continue
            if unchanged(source.signature, now):
                # A fingerprint taken while a file had just changed is not needed once it settled.
                source.signature = now
                continue
            # CSV dialects are sniffed again; other views only lose their DuckDB copy. A lake
            # table's new commit may change its columns (and Iceberg's newest metadata file).
            again = source.kind in (SourceKind.CSV, SourceKind.ICEBERG, SourceKind.EXCEL)
            self._check_changed_file(source)
            apply(source, self.engine.register(source, reuse_reader=not again))

            self.hybrid.invalidate(source)
            source.signature = now

    @staticmethod
    def _check_changed_file(source: Source) -> None:
        """A CSV file that changed and is now empty or another kind of file (gzip, Parquet):
        the error USE gives, not what sniffing it as CSV text says."""
        if source.kind is SourceKind.CSV and os.path.isfile(source.location):
            detect(source.path, source.location, dict(source.options))

    @staticmethod
    def _follows_remote(source: Source) -> bool:
        """A remote CSV's view pins the header and types sniffed from the file: it follows the file."""
        return source.is_remote and source.kind is SourceKind.CSV

    def _remote_signature(self, source: Source) -> Signature | None:
        """Size and Last-Modified of a URL (one HEAD) or of each file of a remote glob (a
        listing), and when they were read; None when they cannot be read now."""
        try:
            pattern = quote_string(source.read_pattern)
            found = self.hybrid.duck.run(
                f"SELECT filename, size, epoch_ns(last_modified) FROM read_blob({pattern}) ORDER BY filename"
            ).fetch(100_000)
        except NoctraError:
            return None  # unreachable now: the query itself says so
        now = time.time_ns()
        return Signature(
            tuple(
                (str(name), int(str(size or 0)), int(str(mtime or 0)), 0, now, "")
                for name, size, mtime in found
            )
        )

    def _refresh_remote(self, source: Source) -> None:
        """Sniff a remote CSV again when its size or Last-Modified changed (R4-4).

        Last-Modified has whole seconds: while the last look came within REMOTE_RACY_NS of it
        (or the server sends none), a same-size rewrite would look unchanged, so the file is
        sniffed again then too.
        """
        now = self._remote_signature(source)
        if now is None or not now.files:
            return
        known = source.signature
        same = known is not None and [f[:3] for f in known.files] == [f[:3] for f in now.files]
        if same and known is not None and all(f[2] and f[4] - f[2] >= REMOTE_RACY_NS for f in known.files):
            return
        try:
            apply(source, self.engine.register(source))
        except NoctraError:
            return  # unreadable now: the statement reading it says why
        self.hybrid.invalidate(source)
        source.signature = now

    # --- restoring ------------------------------------------------------------------

    def restore(self, saved: list[Source], workspace: Source | None) -> None:
        """Re-register saved sources; missing files stay listed, as missing."""
        for source in saved:
            if workspace is not None and source.location == workspace.location:
                continue
            self.sources.add(source)
            if not self.register_saved(source):
                self.warnings.append(
                    f"source {source.alias!r} is missing: {source.path} (kept; it returns with the file)"
                )
        if workspace is not None:
            # A table made in the workspace after the source was registered hides it.
            self.warnings.extend(self.shadowed_sources())

    def register_saved(self, source: Source) -> bool:
        """Register a restored source; False (status missing) when its file is not there."""
        now = signature_of(source.location)
        if now is None and not source.is_remote:
            source.status = "missing"
            self.unreadable.pop(source.alias.lower(), None)
            return False
        key = source.alias.lower()
        if key in self._failed and self._failed[key] == now:
            return True
        if source.is_remote:
            # Not looked at now (start-up waits on no network): at the first statement naming it.
            now = source.signature
        try:
            if source.kind.is_database and key in CATALOG_NAMES:  # saved before USE refused it
                raise catalog_alias_error(source)
            if source.kind is SourceKind.SQLITE:
                check_sqlite_file(source)
            reuse = source.is_remote or unchanged(source.signature, now)
            if not reuse:
                self._check_changed_file(source)
                if source.kind is SourceKind.PARQUET:
                    self._refuse_wide_decimals(source.path, source.location)
            apply(source, self.engine.register(source, reuse_reader=reuse))
        except NoctraError as exc:
            source.status = "missing"
            self._failed[key] = now
            self.unreadable[key] = exc
            self.warnings.append(f"source {source.alias!r} could not be restored: {exc.message}")
            return True
        self._failed.pop(key, None)
        self.unreadable.pop(key, None)
        source.status = "ok"
        source.signature = now
        return True
