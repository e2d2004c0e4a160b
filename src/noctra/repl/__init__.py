"""``noctra repl``: the line REPL (prompt_toolkit). Imported only when it runs.

app.py is the prompt loop, shell.py what an input does, completer.py what Tab offers,
dotcommands.py the ``.help``-style commands.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from noctra import __version__

if TYPE_CHECKING:
    import argparse


def run_repl(args: argparse.Namespace) -> int:
    """Open the session of the command line's options, register FILEs, then prompt until Ctrl-D."""
    from noctra import cli
    from noctra.errors import NoctraError
    from noctra.repl.app import Repl, ask_line, history_path, is_terminal, run_lines
    from noctra.repl.shell import Shell, Terminal

    params = cli.params_of(args)
    with cli.open_session(args) as session:
        terminal = Terminal.of_process()
        interactive = is_terminal()
        shell = Shell(session, terminal, ask=ask_line(sys.stdin), params=params)
        shell.debug = bool(getattr(args, "debug", False))
        if args.format is not None:
            shell.mode = args.format
        if args.max_rows is not None:
            shell.max_rows = args.max_rows
        try:
            cli.use_files(session, list(args.files), on_error=shell.report)
        except NoctraError as exc:
            shell.report(exc)
        shell.show_warnings()
        if not interactive:
            return run_lines(shell, sys.stdin)
        repl = Repl(shell, history=history_path())
        print(f"noctra {__version__} · .help for help · Ctrl-D quits", file=sys.stderr)
        try:
            return repl.run()
        finally:
            shell.close()
