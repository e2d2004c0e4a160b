"""``noctra`` / ``noctra tui``: the full-screen Textual app. Imported only when it runs.

app.py lays out the screen and runs statements in workers; widgets/ holds the editor,
the results grid, the catalog sidebar and the status bar; screens.py the dialogs.
"""

from __future__ import annotations

import argparse


def run_tui(args: argparse.Namespace) -> int:
    """Open the session of the command line's options, register FILEs, show the first one's rows."""
    from noctra import cli
    from noctra.session import Session
    from noctra.state import default_state_path
    from noctra.tui.app import NoctraApp

    params = cli._params(args.param)
    session = Session(
        config=cli._load_config(args),
        db=args.db,
        read_only=args.read_only,
        state_path=default_state_path(args.db),
        restore=not args.fresh,
    )
    with session:
        app = NoctraApp(session, files=list(getattr(args, "files", None) or []), params=params)
        return app.run() or 0
