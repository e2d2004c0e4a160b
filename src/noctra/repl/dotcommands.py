"""Dot-commands for DuckDB CLI users: one registry, each with its usage and help text."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

from noctra.errors import UsageError
from noctra.records import record

if TYPE_CHECKING:
    from noctra.repl.completer import Candidate, CatalogCache
    from noctra.repl.shell import Shell

MODES = ("table", "csv", "tsv", "json", "jsonl", "markdown", "line")


@record(frozen=True)
class DotCommand:
    """A REPL command that starts with a dot; ``run`` returns False to leave the REPL."""

    name: str
    usage: str
    help: str
    run: Callable[[Shell, list[str]], bool]


def run_dot_command(shell: Shell, line: str) -> bool:
    """Run one dot-command line; False means quit."""
    try:
        words = shlex.split(line.strip())
    except ValueError as exc:
        raise UsageError(f"cannot read {line.strip()!r}: {exc}") from None
    name, args = words[0].lower(), words[1:]
    command = COMMANDS.get(name)
    if command is None:
        close = [c for c in COMMANDS if c.startswith(name[:3])]
        raise UsageError(
            f"unknown command {name}",
            hint=f"did you mean {', '.join(close)}?" if close else "type .help for the list",
        )
    return command.run(shell, args)


def _on_off(name: str, args: list[str]) -> bool:
    if len(args) != 1 or args[0].lower() not in ("on", "off"):
        raise UsageError(f"{name} takes on or off", hint=f"e.g. {name} on")
    return args[0].lower() == "on"


def _no_args(name: str, args: list[str]) -> None:
    if args:
        raise UsageError(f"{name} takes no arguments")


def _help(shell: Shell, args: list[str]) -> bool:
    width = max(len(c.usage) for c in COMMANDS.values())
    lines = [f"{c.usage:<{width}}  {c.help}" for c in COMMANDS.values()]
    lines += [
        "",
        "Statements end with ;  (Enter before it continues the statement on a new line).",
        "Keys: Tab completes · Ctrl-R searches history · Up/Down walk statements · "
        "Ctrl-C cancels a running statement or clears the line · Ctrl-D on an empty line quits.",
        "Every RQL statement works: USE, DETACH, SHOW SOURCES|TABLES|VARS|CONFIG, DESCRIBE, LET, "
        "EXPORT ... (docs/RQL_EXTENSIONS.md).",
    ]
    shell.say("\n".join(lines))
    return True


def _tables(shell: Shell, args: list[str]) -> bool:
    if len(args) > 1:
        raise UsageError(".tables takes at most a source alias")
    shell.show(shell.session.show_tables(args[0] if args else None))
    return True


def _schema(shell: Shell, args: list[str]) -> bool:
    if len(args) > 1:
        raise UsageError(".schema takes at most one name", hint="e.g. .schema sales or .schema crm.customers")
    if args:
        alias, _, table = args[0].partition(".")
        shell.show(shell.session.describe(alias, table=table or None))
        return True
    entries = shell.session.catalog().sources()
    if not entries:
        shell.say("no sources yet: USE 'file.csv' registers one")
    for entry in entries:
        shell.say(f"-- {entry.alias} ({entry.kind}, {entry.path})")
        shell.show(shell.session.describe(entry.alias))
    return True


def _mode(shell: Shell, args: list[str]) -> bool:
    if len(args) != 1 or args[0].lower() not in MODES:
        raise UsageError(f".mode takes one of {', '.join(MODES)}", hint=f"now: .mode {shell.mode}")
    shell.mode = args[0].lower()
    return True


def _timer(shell: Shell, args: list[str]) -> bool:
    shell.timer = _on_off(".timer", args)
    return True


def _pager(shell: Shell, args: list[str]) -> bool:
    shell.pager = _on_off(".pager", args)
    return True


def _maxrows(shell: Shell, args: list[str]) -> bool:
    if len(args) != 1 or not args[0].isdigit():
        raise UsageError(
            ".maxrows takes a whole number (0: no limit)", hint=f"now: .maxrows {shell.max_rows}"
        )
    shell.max_rows = int(args[0])
    return True


def _read(shell: Shell, args: list[str]) -> bool:
    if len(args) != 1:
        raise UsageError(".read takes one file", hint="e.g. .read script.rql")
    try:
        with open(args[0], encoding="utf-8") as handle:
            script = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"cannot read {args[0]!r}: {reason}") from None
    shell.run_statements(script)
    return True


def _output(shell: Shell, args: list[str]) -> bool:
    if len(args) > 1:
        raise UsageError(
            ".output takes at most one file", hint=".output FILE, or .output alone for the screen"
        )
    shell.redirect(args[0] if args else None, once=False)
    return True


def _once(shell: Shell, args: list[str]) -> bool:
    if len(args) != 1:
        raise UsageError(".once takes one file", hint="e.g. .once result.csv")
    shell.redirect(args[0], once=True)
    return True


def _history(shell: Shell, args: list[str]) -> bool:
    _no_args(".history", args)
    entries = shell.history()
    shell.say("\n".join(f"{n:>4}  {text}" for n, text in enumerate(entries, 1)) or "no history yet")
    return True


def _status(shell: Shell, args: list[str]) -> bool:
    _no_args(".status", args)
    shell.say(shell.session.status().line())
    return True


def _sources(shell: Shell, args: list[str]) -> bool:
    _no_args(".sources", args)
    shell.show(shell.session.show_sources())
    return True


def _quit(shell: Shell, args: list[str]) -> bool:
    return False


_ALL = (
    DotCommand(".help", ".help", "this list", _help),
    DotCommand(".tables", ".tables [ALIAS]", "tables of the current source, or of every source", _tables),
    DotCommand(".schema", ".schema [NAME]", "columns of a source or alias.table (alone: all)", _schema),
    DotCommand(".sources", ".sources", "registered sources (SHOW SOURCES)", _sources),
    DotCommand(".mode", ".mode MODE", f"result format: {'|'.join(MODES)}", _mode),
    DotCommand(".maxrows", ".maxrows N", "rows shown by table, markdown and line modes (0: all)", _maxrows),
    DotCommand(".timer", ".timer on|off", "show how long each statement took", _timer),
    DotCommand(".pager", ".pager on|off", "results taller than the screen go through $PAGER (less)", _pager),
    DotCommand(".read", ".read FILE", "run the statements of a script", _read),
    DotCommand(".output", ".output [FILE]", "results to FILE from now on; alone: the screen", _output),
    DotCommand(".once", ".once FILE", "the next result to FILE", _once),
    DotCommand(".history", ".history", "statements entered, oldest first", _history),
    DotCommand(".status", ".status", "engine, threads, current source, memory, last run", _status),
    DotCommand(".quit", ".quit", "leave (also .exit, Ctrl-D)", _quit),
    DotCommand(".exit", ".exit", "leave", _quit),
)
COMMANDS = {c.name: c for c in _ALL}
# Typed without the dot by people coming from psql, sqlite3 or litecli; never valid SQL alone.
_BARE_WORDS = {"help": ".help", "quit": ".quit", "exit": ".exit", "\\q": ".quit", "\\?": ".help"}


def bare_command(text: str) -> str | None:
    """The dot-command an input of one bare word means (``help``, ``quit;``, ``exit``), else None."""
    word = text.strip().rstrip(";").strip().lower()
    return _BARE_WORDS.get(word)


_FILE_ARGUMENT = {".read", ".output", ".once"}


def complete_dot_command(line: str, cache: CatalogCache) -> list[Candidate]:
    """Completion on a dot-command line: its name, then modes, on/off, files or sources."""
    from noctra.repl.completer import Candidate, path_candidates

    name, space, rest = line.partition(" ")
    if not space:
        return [
            Candidate(c.name, -len(name), c.help)
            for c in COMMANDS.values()
            if c.name.startswith(name.lower())
        ]
    name = name.lower()
    typed = rest.rsplit(" ", 1)[-1]
    if name in _FILE_ARGUMENT:
        return path_candidates(typed, cache)
    choices: list[tuple[str, str]] = []
    if name == ".mode":
        choices = [(m, "mode") for m in MODES]
    elif name in (".timer", ".pager"):
        choices = [("on", name[1:]), ("off", name[1:])]
    elif name in (".schema", ".tables"):
        choices = [(s.alias, f"source {s.kind}") for s in cache.sources()]
    return [Candidate(text, -len(typed), kind) for text, kind in choices if text.startswith(typed.lower())]
