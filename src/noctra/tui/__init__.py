"""``noctra`` / ``noctra tui``: the full-screen Textual app. Imported only when it runs.

app.py lays out the screen and runs statements in workers; widgets/ holds the editor,
the results grid, the catalog sidebar and the status bar; screens.py the dialogs.
"""

from __future__ import annotations

import argparse


def run_tui(args: argparse.Namespace) -> int:
    """Open the session of the command line's options, register FILEs, show the first one's rows."""
    from noctra import cli
    from noctra.errors import NoctraError
    from noctra.quoting import quote_ident
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
        notices: list[str] = []
        files = list(getattr(args, "files", None) or [])
        first: str | None = None
        try:
            for path in files:
                notices.append(session.use(path).text)
                first = first or session.sources.current
        except NoctraError as exc:
            notices.append(f"error: {exc}" + (f" (hint: {exc.hint})" if exc.hint else ""))
        text = f"SELECT * FROM {quote_ident(first)};\n" if first else ""
        app = NoctraApp(session, text=text, run_at_start=bool(text), params=params, notices=notices)
        return app.run() or 0
