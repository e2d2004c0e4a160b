"""``noctra`` / ``noctra tui``: the full-screen Textual app. Imported only when it runs.

app.py lays out the screen and runs statements in workers; widgets/ holds the editor,
the results grid, the catalog sidebar and the status bar; screens.py the dialogs.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse


def run_tui(args: argparse.Namespace) -> int:
    """Open the session of the command line's options, register FILEs, show the first one's rows."""
    from noctra import cli
    from noctra.errors import UsageError

    # Textual reads keys from stdin and draws on stderr: anything else would hang or fill a file.
    if not (cli._is_terminal(sys.stdin) and cli._is_terminal(sys.stderr)):
        raise UsageError(
            "the full-screen app needs a terminal (standard input and standard error are not one)",
            hint="to print rows, run: noctra query \"SELECT * FROM 'file.csv'\" (or noctra batch SCRIPT)",
        )
    from noctra.tui.app import NoctraApp

    params = cli.params_of(args)
    with cli.open_session(args) as session:
        app = NoctraApp(session, files=list(getattr(args, "files", None) or []), params=params)
        return app.run() or 0
