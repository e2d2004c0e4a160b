"""Command line: argument parsing, front-end choice, output and exit codes. No logic."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from noctra import __version__
from noctra.errors import NoctraError, SourceError, Span, TimeoutExpiredError, UsageError
from noctra.records import asdict, record

if TYPE_CHECKING:
    import argparse

    from _typeshed import SupportsWrite

    from noctra.config import Config
    from noctra.output.model import Outcome
    from noctra.session import Session

FORMATS = ("table", "csv", "tsv", "json", "jsonl", "markdown")
TTY_MAX_ROWS = 40
SignalHandler = Callable[[int, FrameType | None], object] | int | None
# Service managers and closed terminals stop a run with these: like Ctrl-C they cancel
# the running statement, so `finally` blocks (an export's temp file) still run.
STOP_SIGNALS = (signal.SIGTERM,) if sys.platform == "win32" else (signal.SIGTERM, signal.SIGHUP)


class _Stopped(BaseException):
    """Raised by the SIGTERM/SIGHUP handler between statements.

    A BaseException, like KeyboardInterrupt: code that handles a statement's
    NoctraError must not mistake it for one and carry on.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@record
class RunStats:
    """What --stats prints: one JSON line on stderr."""

    statements: int = 0
    rows: int = 0
    seconds: float = 0.0
    engine: str = "duckdb"
    errors: int = 0
    cache_hits: int = 0  # reads served by persistent copies of text files (SPEC 4.5)
    result_hits: int = 0  # queries answered from stored results (SPEC 4.5)


# Where a subcommand's --param values go until they join the ones given before it.
_LATER_PARAMS = "param_after_subcommand"


def _parser_type() -> type[argparse.ArgumentParser]:
    """argparse, imported only when a command line needs it (see parse_fast)."""
    import argparse

    class _Parser(argparse.ArgumentParser):
        """argparse that raises UsageError instead of printing and exiting."""

        def error(self, message: str) -> None:  # type: ignore[override]
            import re

            unknown = re.match(r"argument subcommand: invalid choice: '(.*)' \(choose from", message)
            if unknown:
                # A first word that is no command and no file (noctra qeury ...): most often a typo.
                import difflib

                word = unknown.group(1)
                close = difflib.get_close_matches(word.lower(), SUBCOMMANDS, n=1, cutoff=0.5)
                guess = f"did you mean '{close[0]}'? " if close else ""
                raise UsageError(
                    f"'{word}' is neither a command nor a file here",
                    hint=f"{guess}commands: {', '.join(SUBCOMMANDS)}; `noctra FILE` opens a file that exists",
                )
            raise UsageError(message, hint="see noctra --help")

        def parse_known_args(  # type: ignore[override]
            self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
        ) -> tuple[argparse.Namespace, list[str]]:
            """A subcommand's --param values add to those given before it (argparse replaces them)."""
            if self.prog != "noctra":
                return self._parse_intermixed(list(sys.argv[1:] if args is None else args), namespace)
            parsed, extras = super().parse_known_args(args, namespace)
            later = parsed.__dict__.pop(_LATER_PARAMS, None)
            if later:
                parsed.param = [*(parsed.param or []), *later]
            return parsed, extras

        def _parse_intermixed(
            self, args: list[str], namespace: argparse.Namespace | None
        ) -> tuple[argparse.Namespace, list[str]]:
            """A subcommand's words, its positionals (SQL, FILEs) before, between and after its
            options (``query SQL --format csv t.csv``): argparse alone takes positionals as one
            run of words and calls the rest unrecognized.

            As argparse's parse_known_intermixed_args: the options first, positionals set aside,
            then the words left as positionals. Every word after ``--`` is a positional (a file
            named ``-x.csv``), which that function gets wrong (Python 3.11 takes ``--`` for a
            positional in its first pass and the words after it for options).
            """
            tail: list[str] = []
            if "--" in args:
                at = args.index("--")
                args, tail = args[:at], ["--", *args[at + 1 :]]
            positionals = self._get_positional_actions()
            saved = [(action, action.nargs, action.default) for action in positionals]
            try:
                for action in positionals:
                    action.nargs = action.default = argparse.SUPPRESS
                namespace, rest = super().parse_known_args(args, namespace)
            finally:
                for action, nargs, default in saved:
                    action.nargs, action.default = nargs, default
            return super().parse_known_args([*rest, *tail], namespace)

        def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
            """Print --help and --version text; argparse ignores a failed write (a full disk), we do not."""
            if message:
                (file or sys.stderr).write(message)
                sys.stdout.flush()

    return _Parser


# Options every subcommand takes, for parse_fast: flags, and options with a value and
# how the value is read. tests/cli/test_args.py checks they are what argparse knows.
FLAG_OPTIONS = ("--fresh", "--read-only", "--debug", "--stats", "--continue-on-error", "--no-cache")
VALUE_OPTIONS: dict[str, Callable[[str], object]] = {
    "--format": str,
    "--max-rows": int,
    "--param": str,
    "--config": str,
    "--db": str,
    "--timeout": float,
    "--engine": str,
}


def parse_fast(argv: Sequence[str]) -> argparse.Namespace | None:
    """The common command lines (``-c SQL``, ``query SQL [FILE...]``, ``batch SCRIPT``), parsed
    without argparse, whose import and set-up cost ~5 ms of every run; None for anything else
    (help, other subcommands, abbreviations, odd values), which argparse then parses.

    As argparse does (a subcommand's words are intermixed, see _Parser._parse_intermixed), the
    positionals may come before, between and after the options, and every word after a ``--``
    that follows the subcommand is a positional (``query SQL -- -x.csv``).
    """
    from types import SimpleNamespace

    found: dict[str, object] = {"command": None, "subcommand": None, "param": []}
    positional: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            rest = list(tokens)
            if not positional or "--" in rest:  # before the subcommand; a second one: argparse's
                return None
            positional.extend(rest)
        elif token.startswith("-") and token != "-":
            if token in FLAG_OPTIONS:
                found[token[2:].replace("-", "_")] = True
                continue
            if token not in VALUE_OPTIONS and token != "-c":
                return None
            value = next(tokens, None)
            if value is None or (value.startswith("-") and value != "-"):
                return None
            if token == "-c":
                if positional:
                    return None
                found["command"] = value
            elif token == "--param":
                found["param"] = [*found["param"], value]  # type: ignore[misc]
            elif token == "--format" and value not in FORMATS:
                return None
            else:
                try:
                    found[token[2:].replace("-", "_")] = VALUE_OPTIONS[token](value)
                except ValueError:
                    return None
        else:
            positional.append(token)
    if positional:
        name, *rest = positional
        if name == "query" and rest:
            found.update(subcommand=name, sql=rest[0], files=rest[1:])
        elif name == "batch" and rest:
            found.update(subcommand=name, script=rest[0], files=rest[1:])
        else:
            return None
    for flag in FLAG_OPTIONS:
        found.setdefault(flag[2:].replace("-", "_"), False)
    for option in VALUE_OPTIONS:
        found.setdefault(option[2:].replace("-", "_"), None)
    return SimpleNamespace(**found)  # type: ignore[return-value]


def _add_common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    import argparse

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("common options")
    group.add_argument("--format", choices=FORMATS, default=default(None), help="output format")
    group.add_argument(
        "--max-rows", type=int, default=default(None), metavar="N", help="rows shown in table output (0: all)"
    )
    group.add_argument(
        "--param",
        action="append",
        default=default([]),
        dest=_LATER_PARAMS if suppress else "param",
        metavar="K=V",
        help="bind :K to V",
    )
    group.add_argument("--config", default=default(None), metavar="PATH", help="config file")
    group.add_argument("--db", default=default(None), metavar="PATH", help="persistent workspace database")
    group.add_argument(
        "--fresh", action="store_true", default=default(False), help="ignore the saved session"
    )
    group.add_argument("--read-only", action="store_true", default=default(False), help="open --db read-only")
    group.add_argument("--debug", action="store_true", default=default(False), help="show tracebacks")
    group.add_argument(
        "--timeout", type=float, default=default(None), metavar="SECONDS", help="cancel the run past this"
    )
    group.add_argument(
        "--stats", action="store_true", default=default(False), help="one-line JSON summary on stderr"
    )
    group.add_argument(
        "--engine",
        default=default(None),
        metavar="ENGINE",
        help="duckdb, sqlite, auto, spark (a local Spark server) or sc://HOST:PORT (a Spark cluster)",
    )
    group.add_argument(
        "--no-cache",
        action="store_true",
        default=default(False),
        help="read text files, never their persistent copies ([cache] persistent = false)",
    )
    group.add_argument(
        "--continue-on-error",
        action="store_true",
        default=default(False),
        help="keep going after a failed statement",
    )


SUBCOMMANDS = ("query", "batch", "repl", "tui", "info", "config", "cache")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; given argv, only the subcommand it names gets its options.

    Options of the other subcommands are never parsed in that run, and building them
    is a good part of argparse's cost at every start (issue 10: start-up).
    """
    import argparse

    # argparse looks each of its messages up in gettext catalogs (a dozen file checks per
    # message, ~1.3 ms a run); Noctra's interface is English, so its messages are too.
    argparse._ = str  # type: ignore[attr-defined]
    parser_type = _parser_type()
    wanted = set(SUBCOMMANDS) if argv is None or "-h" in argv or "--help" in argv else set(argv)
    parser = parser_type(
        prog="noctra",
        description="Query CSV, Parquet, JSON and SQLite files where they lie. "
        "On a terminal, `noctra [FILE ...]` opens the full-screen app with the files as sources.",
        epilog="Run `noctra query --help` or `noctra batch --help` for details.",
    )
    parser.add_argument("--version", action="version", version=f"noctra {__version__}")
    parser.add_argument(
        "-c", dest="command", metavar="SQL", help="run statements and exit (as `noctra query`)"
    )
    _add_common(parser, suppress=False)
    sub = parser.add_subparsers(dest="subcommand", parser_class=parser_type)
    if "query" in wanted:
        query = sub.add_parser("query", help="run statements, print results, exit")
        query.add_argument("sql", help="one or more statements separated by ';'")
        query.add_argument("files", nargs="*", help="files registered as sources first (USE)")
        _add_common(query, suppress=True)
    if "batch" in wanted:
        batch = sub.add_parser("batch", help="run a script file ('-' reads stdin)")
        batch.add_argument("script", help="path of an .rql script, or - for stdin")
        batch.add_argument("files", nargs="*", help="files registered as sources first (USE)")
        _add_common(batch, suppress=True)
    if "repl" in wanted:
        repl = sub.add_parser("repl", help="line REPL: a noctra> prompt with completion and history")
        repl.add_argument("files", nargs="*", help="files registered as sources first (USE)")
        _add_common(repl, suppress=True)
    if "tui" in wanted:
        tui = sub.add_parser("tui", help="full-screen app (also `noctra [FILE ...]` on a terminal)")
        tui.add_argument("files", nargs="*", help="files registered as sources first (USE)")
        _add_common(tui, suppress=True)
    if "info" in wanted:
        info = sub.add_parser("info", help="versions, extensions, settings in force")
        _add_common(info, suppress=True)
    if "config" in wanted:
        config = sub.add_parser(
            "config",
            help="print the effective config, its path, or write a commented default file",
            description="show: the settings in force as TOML, each with its origin; "
            "path: the config file in use and whether it exists; "
            "init: write a commented default config file there (--force overwrites).",
        )
        config.add_argument("action", choices=("show", "path", "init"), help="what to do")
        config.add_argument("--force", action="store_true", help="init: overwrite an existing file")
        _add_common(config, suppress=True)
    if "cache" in wanted:
        cache = sub.add_parser(
            "cache",
            help="list or delete the persistent Parquet copies of CSV/JSON files",
            description="show: each copy's source file, size, hits and last use, most recent first; "
            "clear: delete them all (files are then read as text until copied again).",
        )
        cache.add_argument("action", choices=("show", "clear"), help="what to do")
        _add_common(cache, suppress=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code.

    0 ok, 1 failed, 2 usage, 4 timeout, 130 interrupted, 128 + N stopped by signal N
    (143 SIGTERM, 129 SIGHUP).
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    if sys.stderr is None:  # started with 2>&-: messages go nowhere, the work is done as asked
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    if sys.stdout is None:  # started with >&-: results would be lost without a word
        _report(
            NoctraError(
                "standard output is closed: the results have nowhere to go",
                hint="redirect it to a file or to /dev/null (> /dev/null)",
            ),
            debug,
        )
        return 1
    args_list = _dash_c_as_query(args_list)
    try:
        args = parse_fast(args_list)
        if args is None:
            args_list = _with_implicit_tui(args_list)
            try:
                args = build_parser(args_list).parse_args(args_list)
            except UsageError:
                # The full parser's message names every subcommand a typo could have meant.
                args = build_parser().parse_args(args_list)
        return _run(args)
    except NoctraError as exc:
        _report(exc, debug)
        return exc.exit_code
    except KeyboardInterrupt:
        print("noctra: interrupted", file=sys.stderr)
        return 130
    except _Stopped as stop:
        error = _stopped_error(stop.signum, None)
        _report(error, debug)
        return error.exit_code
    except BrokenPipeError:
        # The reader went away (`| head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        # Output that cannot be written (`> /dev/full`, a vanished disk): one line, not a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        target = exc.filename or "the output"
        _report(NoctraError(f"cannot write {target}: {exc.strerror or exc}"), debug)
        return 1


def _dash_c_as_query(argv: list[str]) -> list[str]:
    """``noctra [OPTIONS] -c "SQL" [FILE ...]`` is ``noctra [OPTIONS] query "SQL" [FILE ...]``."""
    tokens = iter(enumerate(argv))
    for index, token in tokens:
        if token == "--":
            return argv  # every word after it is a file: `noctra -- -c` opens a file named -c
        if token == "-c":
            return [*argv[:index], "query", *argv[index + 1 :]] if index + 1 < len(argv) else argv
        if token in VALUE_OPTIONS:
            next(tokens, None)
        elif not token.startswith("-") or token == "-":
            return argv  # a subcommand (or a file) comes first: -c is not the run's SQL
    return argv


def _with_implicit_tui(argv: list[str]) -> list[str]:
    """``noctra FILE ...``: the same as ``noctra tui FILE ...`` (a first word that is no subcommand);
    so is ``noctra -- FILE ...``, where every word after ``--`` is a file (``-x.csv``, ``--format``)."""
    options = argv[: argv.index("--")] if "--" in argv else argv
    if "-c" in options or "-h" in options or "--help" in options or "--version" in options:
        return argv
    tokens = iter(enumerate(argv))
    for index, token in tokens:
        if token == "--":
            return [*argv[:index], "tui", *argv[index:]] if index + 1 < len(argv) else argv[:index]
        if token in VALUE_OPTIONS:
            next(tokens, None)
        elif not token.startswith("-") or token == "-":
            if token in SUBCOMMANDS:
                return argv
            if not _names_a_file(token):
                return argv  # a mistyped command (noctra qeury ...): argparse names the choices
            return [*argv[:index], "tui", *argv[index:]]
    return argv


def _names_a_file(word: str) -> bool:
    """True for a first word that is a path, a glob or a URL, or something that exists here."""
    return any(mark in word for mark in "/\\.*?[:") or os.path.lexists(word)


def _safe(text: str) -> str:
    """Text for stderr with the control characters it quotes from data shown, not acted on."""
    from noctra.output.render import terminal_text

    return terminal_text(text)


def _report(exc: NoctraError, debug: bool, secrets: Sequence[str] = ()) -> None:
    """Print an error (and with --debug its traceback), URLs and known credentials redacted."""
    from noctra.redact import redact_text

    if debug:
        import traceback

        sys.stderr.write(redact_text("".join(traceback.format_exception(exc)), secrets))
    print(_safe(redact_text(f"noctra: error: {exc}", secrets)), file=sys.stderr)
    if exc.hint:
        print(_safe(redact_text(f"hint: {exc.hint}", secrets)), file=sys.stderr)


def _load_config(args: argparse.Namespace) -> Config:
    """The config of --config, $NOCTRA_CONFIG or the XDG path, its warnings printed."""
    from noctra.config import load_config

    config = load_config(args.config)
    engine = getattr(args, "engine", None)
    if engine is not None:
        from noctra.config import choose_engine

        choose_engine(config, engine)
    if getattr(args, "no_cache", False):
        config.cache.persistent = False
        config.origins["cache.persistent"] = "--no-cache"
    for warning in config.warnings:
        print(f"noctra: warning: {_safe(warning)}", file=sys.stderr)
    return config


def open_session(args: argparse.Namespace) -> Session:
    """The session of the command line's options: config, --db, --read-only, --fresh.

    Every front end (one-shot runs, the REPL, the TUI) opens its session here.
    """
    from noctra.session import Session
    from noctra.state import default_state_path

    return Session(
        config=_load_config(args),
        db=args.db,
        read_only=args.read_only,
        state_path=default_state_path(args.db),
        restore=not args.fresh,
    )


def _config_command(args: argparse.Namespace) -> int:
    """`noctra config show|path|init`."""
    from noctra.config import config_path, effective_toml, write_default_config

    if args.action == "init":
        location, _ = config_path(args.config)
        write_default_config(location, force=args.force)
        print(f"wrote {location}", file=sys.stderr)
        return 0
    if args.action == "path":
        location, chosen_by = config_path(args.config)
        if location.is_file():
            exists = "exists"
        elif location.exists() or location.is_symlink():
            exists = "not a file: every other command refuses it"  # a directory, a dangling link
        else:
            exists = "does not exist; defaults in use"
        origin = {"--config": "from --config", "NOCTRA_CONFIG": "from $NOCTRA_CONFIG"}.get(chosen_by)
        print(f"{location} ({exists}{'; ' + origin if origin else ''})")
        return 0
    sys.stdout.write(effective_toml(_load_config(args)))
    return 0


def _cache_command(args: argparse.Namespace) -> int:
    """`noctra cache show|clear`."""
    from noctra.session import cached_copies, clear_cached_copies

    config = _load_config(args)
    if args.action == "clear":
        copies, results, directory = clear_cached_copies(config)
        print(
            f"deleted {copies} cached {'copy' if copies == 1 else 'copies'} and {results} stored "
            f"{'result' if results == 1 else 'results'} from {directory}",
            file=sys.stderr,
        )
        return 0
    header = ["kind", "of", "size", "hits", "last use"]
    if args.format is not None:
        # --format csv/json/...: the same rows as any query's, for jq or a CSV reader.
        from noctra.catalog import Column
        from noctra.output.model import Result

        types = ["VARCHAR", "VARCHAR", "VARCHAR", "BIGINT", "VARCHAR"]
        columns = [Column(name, kind) for name, kind in zip(header, types, strict=True)]
        result = Result.of_rows(columns, cached_copies(config))
        is_tty = sys.stdout.isatty()
        result.write(
            sys.stdout,
            args.format,
            max_rows=args.max_rows or None,  # 0: every row, as in a query
            width=_terminal_width() if is_tty else 0,
        )
        sys.stdout.flush()
        return 0
    from noctra.output.render import cell_width, display_value, pad

    # A stored query or a path may hold control characters: shown as symbols (␛), like data.
    rows = [[display_value(value) for value in row] for row in cached_copies(config)]
    widths = [max(cell_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        line = "  ".join(pad(text, width, right=False) for text, width in zip(row, widths, strict=True))
        print(line.rstrip())
    return 0


# A timer cannot wait longer than the platform allows (threading.TIMEOUT_MAX): a year is plenty.
_TIMEOUT_MAX = 366 * 24 * 3600.0


def _run(args: argparse.Namespace) -> int:
    if args.max_rows is not None and args.max_rows < 0:
        raise UsageError("--max-rows must be 0 or more", hint="e.g. --max-rows 100")
    if args.timeout is not None and not 0 < args.timeout <= _TIMEOUT_MAX:  # also refuses nan
        raise UsageError(
            "--timeout must be a positive number of seconds",
            hint=f"e.g. --timeout 30 (at most {_TIMEOUT_MAX:,.0f}); leave it out for no limit",
        )
    if args.subcommand == "info":
        return _info(args)
    if args.subcommand == "config":
        return _config_command(args)
    if args.subcommand == "cache":
        return _cache_command(args)
    if args.subcommand == "repl":
        from noctra.repl import run_repl

        return run_repl(args)
    if args.subcommand == "tui" or (
        args.subcommand is None
        and args.command is None
        and _is_terminal(sys.stdin)
        and _is_terminal(sys.stdout)
    ):
        from noctra.tui import run_tui

        return run_tui(args)
    files: list[str] = list(getattr(args, "files", []) or [])
    if args.subcommand == "query":
        script = args.sql
    elif args.subcommand == "batch":
        script = _read_script(args.script)
    elif args.command is not None:
        script = args.command
    elif not sys.stdin.isatty():
        script = _read_stdin()
    else:
        build_parser().print_help()
        return 0
    _check_text(script, "the statements")
    return _run_script(args, script, files)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # a closed stream
        return False


def _read_stdin() -> str:
    """A script on stdin, as UTF-8 whatever the locale says."""
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(
            f"the script on stdin is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line}",
            hint="save the script as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
        ) from None


def _check_text(script: str, what: str) -> None:
    """Bytes that were not UTF-8 in argv arrive as surrogates: refuse them by name."""
    for index, char in enumerate(script):
        if "\udc80" <= char <= "\udcff":
            line = script.count("\n", 0, index) + 1
            raise UsageError(
                f"{what} are not UTF-8 text: byte 0x{ord(char) - 0xDC00:02x} on line {line}",
                hint="write the SQL as UTF-8",
            )


def _read_script(path: str) -> str:
    if path == "-":
        return _read_stdin()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise UsageError(f"script not found: {path!r}", hint="check the path") from None
    except IsADirectoryError:
        raise UsageError(f"{path!r} is a directory, not a script") from None
    except UnicodeDecodeError:
        raise UsageError(f"script {path!r} is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"cannot read script {path!r}: {exc.strerror}") from None


def params_of(args: argparse.Namespace) -> dict[str, object] | None:
    """The --param values, typed like literals."""
    params: dict[str, object] = {}
    for item in args.param:
        _check_text(item, "--param values")
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param {item!r} is not KEY=VALUE", hint="e.g. --param country=AR")
        params[key] = typed_param(value)
    return params or None


def typed_param(text: str) -> object:
    """A --param value typed as a literal would be: 42, 1.5, true, 2024-01-31, NULL; 'quoted' is text."""
    import datetime as dt
    import decimal
    import re

    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
        return stripped[1:-1]
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    # A leading zero (a zip code 01234, an id 007) keeps the value text, as DuckDB's CSV
    # sniffer reads such a column: as a number the zero would be lost and '1234' match too.
    if re.fullmatch(r"[+-]?(0|[1-9]\d{0,17})", stripped):
        return int(stripped)
    if re.fullmatch(r"[+-]?((0|[1-9]\d*)\.\d*|\.\d+)", stripped):
        return decimal.Decimal(stripped)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", stripped):
        try:
            return dt.date.fromisoformat(stripped)
        except ValueError:
            return text
    return text


def use_files(
    session: Session, files: list[str], on_error: Callable[[NoctraError], None] | None = None
) -> None:
    """FILE arguments: each registered as a source, its message on stderr.

    Two files with the same stem (a/sales.csv b/sales.csv) both stay: the second is sales_2.
    ``on_error`` (the REPL) gets a file's error and the next files are still opened;
    without it the first error stops (a one-shot command runs nothing then).
    """
    from noctra.lifecycle import default_alias

    for path in files:
        if any("\udc80" <= char <= "\udcff" for char in path):
            shown = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            raise SourceError(
                f"file name {shown!r} is not UTF-8 text",
                hint="rename the file: DuckDB opens only paths that are UTF-8",
            )
    taken: set[str] = set()
    for path in files:
        alias = default_alias(path)
        if alias.lower() in taken:
            alias = session.sources.free_alias(alias)
        taken.add(alias.lower())
        try:
            _use_file(session, path, alias)
        except NoctraError as exc:
            if on_error is None:
                raise
            on_error(exc)


def _use_file(session: Session, path: str, alias: str) -> None:
    message = session.use(path, alias)
    for note in message.notes:
        print(f"note: {_safe(note)}", file=sys.stderr)
    print(_safe(message.text), file=sys.stderr)


def _run_script(args: argparse.Namespace, script: str, files: list[str]) -> int:

    params = params_of(args)
    fmt = args.format or "table"
    out = sys.stdout
    is_tty = out.isatty()
    # --max-rows 0 shows every row, as the REPL's .maxrows 0.
    max_rows = (
        (args.max_rows or None)
        if args.max_rows is not None
        else (TTY_MAX_ROWS if is_tty and fmt in ("table", "markdown") else None)
    )
    width = _terminal_width() if is_tty else 0
    started = time.perf_counter()
    stats = RunStats()
    session = open_session(args)
    warned = _print_warnings(session.warnings, 0)
    timed_out = threading.Event()
    finished = threading.Event()
    _start_timer(session, args.timeout, timed_out, finished)
    previous_handler = _install_interrupt(session)
    stop_signals: list[int] = []
    previous_stop_handlers = _install_stop(session, stop_signals)
    exit_code = 0
    printed_result = False

    def failed(exc: NoctraError) -> None:
        """--continue-on-error: report a statement's error and go on with the next one."""
        nonlocal exit_code
        if exc.exit_code != 1 or timed_out.is_set() or stop_signals:
            raise exc
        _report(exc, args.debug, session.secrets())
        stats.errors += 1
        exit_code = 1

    try:
        use_files(session, files)
        outcomes = session.iterate(script, params, on_error=failed if args.continue_on_error else None)
        while True:
            if stop_signals:
                # The signal came as a statement finished: nothing was left to cancel.
                raise _Stopped(stop_signals[0])
            if timed_out.is_set():
                # The time ran out between two statements: the next one does not start.
                raise TimeoutExpiredError(
                    f"timed out after {args.timeout:g} s", hint="raise --timeout or narrow the query"
                )
            with Progress(session) as progress:
                try:
                    outcome = next(outcomes)
                except StopIteration:
                    break
                try:
                    rows = _emit(
                        outcome,
                        out,
                        fmt,
                        max_rows=max_rows,
                        width=width,
                        separate=printed_result,
                        before_output=progress.stop,
                    )
                except NoctraError as exc:
                    # Errors while rows are read (after the statement started) point at it too.
                    _locate(exc, session, script, outcome.statement)
                    if not args.continue_on_error:
                        raise
                    failed(exc)
                    continue
            if args.debug:
                print(
                    f"debug: statement {outcome.statement} ran in {outcome.engine} "
                    f"({_duration(outcome.elapsed)})",
                    file=sys.stderr,
                )
            # Warnings of the statement (a session file that could not be saved) follow it.
            warned = _print_warnings(session.warnings, warned)
            printed_result = printed_result or rows is not None
            stats.statements += 1
            stats.rows += rows or 0
            stats.engine = outcome.engine
    except (NoctraError, _Stopped) as caught:
        error: NoctraError
        if isinstance(caught, _Stopped):
            error = _stopped_error(caught.signum, None)
        elif stop_signals:
            error = _stopped_error(stop_signals[0], caught.span)
        elif timed_out.is_set() and not isinstance(caught, TimeoutExpiredError):
            error = TimeoutExpiredError(
                f"timed out after {args.timeout:g} s",
                hint="raise --timeout or narrow the query",
                span=caught.span,
            )
        else:
            error = caught
        _report(error, args.debug, session.secrets())
        stats.errors += 1
        exit_code = error.exit_code
    finally:
        finished.set()
        signal.signal(signal.SIGINT, previous_handler)
        for signum, previous in previous_stop_handlers.items():
            signal.signal(signum, previous)
        if args.stats:
            stats.seconds = round(time.perf_counter() - started, 6)
            stats.cache_hits = session.cache_hits
            stats.result_hits = session.result_hits
            import json

            summary = asdict(stats)
            endpoint = session.status().endpoint
            if endpoint is not None:
                summary["endpoint"] = endpoint
            print(json.dumps(summary), file=sys.stderr)
        session.close()
        _print_warnings(session.warnings, warned)
    return exit_code


def _locate(exc: NoctraError, session: Session, script: str, number: int) -> None:
    """Give an error met while a statement's rows were read that statement's position."""
    if exc.span is not None:
        return
    from noctra.rql.positions import locate

    found = next((s for s in session.split(script.removeprefix("\ufeff")) if s.number == number), None)
    if found is None:
        exc.span = Span(number, 1, 1)
    else:
        locate(exc, found)


def _print_warnings(warnings: list[str], shown: int) -> int:
    """Print the warnings after the first ``shown``; returns how many there are now."""
    for warning in warnings[shown:]:
        print(f"noctra: warning: {_safe(warning)}", file=sys.stderr)
    return len(warnings)


def _emit(
    outcome: Outcome,
    out: TextIO,
    fmt: str,
    *,
    max_rows: int | None,
    width: int,
    separate: bool,
    before_output: Callable[[], None],
) -> int | None:
    """Print one outcome: rows to stdout, messages and notes to stderr. Rows shown, or None."""
    from noctra.output.model import Message

    if isinstance(outcome, Message):
        before_output()
        for note in outcome.notes:
            print(f"note: {_safe(note)}", file=sys.stderr)
        print(_safe(outcome.text), file=sys.stderr)
        return None

    def before() -> None:
        before_output()
        for note in outcome.notes:
            print(f"note: {_safe(note)}", file=sys.stderr)
        if separate and fmt in ("table", "markdown"):
            out.write("\n")

    shown = outcome.write(out, fmt, max_rows=max_rows, width=width, before_output=before)
    out.flush()
    if fmt in ("table", "markdown"):
        total = outcome.row_count if outcome.row_count is not None else shown
        plural = "row" if total == 1 else "rows"
        stored = " · stored result" if outcome.stored else ""  # as the REPL and TUI say (SPEC 4.5)
        print(f"{total:,} {plural} · {_duration(outcome.elapsed)}{stored}", file=sys.stderr)
    return outcome.row_count if outcome.row_count is not None else shown


class Progress:
    """A progress line on a terminal for statements that run past 0.5 s: DuckDB's progress,
    the elapsed time and an estimate of what is left (the CLI and the REPL draw the same).

    ``stop()`` clears it; output calls it before writing, so the bar never mixes with it.
    """

    def __init__(self, session: Session, err: TextIO | None = None, *, draw: bool | None = None) -> None:
        self._session = session
        self._err = err or sys.stderr
        self._done = threading.Event()
        self._started = time.monotonic()
        self._thread: threading.Thread | None = None
        if self._err.isatty() if draw is None else draw:
            session.enable_progress()
            self._thread = threading.Thread(target=self._show, name="noctra-progress", daemon=True)
            self._thread.start()

    def _show(self) -> None:
        if self._done.wait(0.5):
            return
        drawn = False
        while not self._done.wait(0.1):
            line = progress_line(self._session.progress(), time.monotonic() - self._started)
            self._err.write(f"\r{line}\033[K")
            self._err.flush()
            drawn = True
        if drawn:
            self._err.write("\r\033[K")
            self._err.flush()

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def progress_line(fraction: float | None, elapsed: float) -> str:
    """``███░░ 42.0%  3.1 s, ~4 s left  Ctrl-C cancels``; without a fraction, the time only."""
    if fraction is None or fraction <= 0:
        return f"running… {elapsed:5.1f} s  Ctrl-C cancels"
    filled = int(fraction * 30)
    left = elapsed * (1 - fraction) / fraction
    bar = "█" * filled + "░" * (30 - filled)
    return f"{bar} {fraction * 100:5.1f}%  {elapsed:5.1f} s, ~{left:.0f} s left  Ctrl-C cancels"


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        return 100


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


# Seconds between the cancels a timed-out run sends until it stops.
_CANCEL_AGAIN = 0.05


def _start_timer(
    session: Session, timeout: float | None, flag: threading.Event, finished: threading.Event
) -> None:
    """Past ``timeout`` seconds set ``flag`` and cancel what runs, again and again until ``finished``.

    An interrupt reaches only a statement the engine runs at that moment: one sent while Noctra
    plans the next statement, or between two engine calls of one, would be lost.
    """
    if timeout is None:
        return

    def expire() -> None:
        if finished.wait(timeout):
            return
        flag.set()
        while True:
            session.cancel()
            if finished.wait(_CANCEL_AGAIN):
                return

    threading.Thread(target=expire, name="noctra-timeout", daemon=True).start()


def _install_interrupt(session: Session) -> SignalHandler:
    """Ctrl-C cancels the running query (the session stays usable); otherwise it stops the run."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if session.busy:
            session.cancel()
        else:
            raise KeyboardInterrupt

    return signal.signal(signal.SIGINT, handler)


def _install_stop(session: Session, received: list[int]) -> dict[signal.Signals, SignalHandler]:
    """SIGTERM/SIGHUP cancel the running query, then the run stops with 128 + the signal number.

    Appends each signal to received; returns the handlers it replaced.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) > 1:
            # Already stopping: a second signal must not cut the clean-up short.
            return
        if session.busy:
            session.cancel()
        else:
            raise _Stopped(signum)

    return {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}


def _stopped_error(signum: int, span: Span | None) -> NoctraError:
    """The one error line of a run stopped by a signal, with its exit code."""
    error = NoctraError(f"stopped by {signal.Signals(signum).name}", span=span)
    error.exit_code = 128 + signum
    return error


def _info(args: argparse.Namespace) -> int:
    from noctra.session import Session

    config = _load_config(args)
    with Session(db=args.db, read_only=args.read_only, config=config) as session:
        lines = [f"noctra {__version__}", session.engine_version(), f"python {sys.version.split()[0]}"]
        for name, location, package in session.extensions():
            if location is None:
                lines.append(f"extension {name}: not installed (pip install {package})")
            else:
                lines.append(f"extension {name} {package.rpartition('==')[2]}: {location}")
        status = session.status()
    if config.loaded:
        lines.append(f"config file: {config.path}")
    else:
        lines.append(f"config file: none ({config.path} does not exist; defaults in use)")
    performance = config.performance
    lines.append(
        f"io_type: {performance.io_type.value} (base_threads {performance.base_threads}, "
        f"remote_multiplier {performance.remote_multiplier:g})"
    )
    lines.append(f"database: {args.db or ':memory:'}")
    from noctra.state import default_state_path

    state_file = default_state_path(args.db)
    restore = "restored at start" if config.session.restore else "not restored ([session] restore = false)"
    shown = state_file if state_file.exists() else f"{state_file} (not written yet)"
    lines.append(f"session file: {shown}; {restore}")
    lines.append(f"threads: {status.threads}")
    lines.append(f"memory_limit: {status.memory_limit_text}")
    print("\n".join(lines))
    return 0
