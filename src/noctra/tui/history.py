"""Query history shared with the REPL: the same file, in prompt_toolkit's FileHistory format."""

from __future__ import annotations

import datetime as dt
from pathlib import Path


def history_path() -> Path:
    """``$XDG_STATE_HOME/noctra/history``: the REPL's file (it is written the same way)."""
    from noctra.state import default_state_path

    return default_state_path().parent / "history"


def load(path: Path) -> list[str]:
    """Every entry, newest first ('+'-prefixed lines, entries apart by a '# date' line)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    entries: list[str] = []
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("+"):
            lines.append(line[1:])
        elif lines:
            entries.append("\n".join(lines))
            lines = []
    if lines:
        entries.append("\n".join(lines))
    return entries[::-1]


def append(path: Path, text: str) -> None:
    """Add one entry (what prompt_toolkit's FileHistory.store_string writes); a failure is quiet.

    Passwords and tokens in URLs (USE 'postgresql://u:pw@...') are masked: the file is kept.
    """
    from noctra.redact import redact_text

    body = "".join(f"+{line}\n" for line in redact_text(text).split("\n"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"\n# {dt.datetime.now()}\n{body}")
    except OSError:
        return
