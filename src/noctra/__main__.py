"""python -m noctra, and the `noctra` command."""

from __future__ import annotations

import sys


def run() -> int:
    """Start the CLI; Ctrl-C while it is still loading is a quiet exit 130, not a traceback."""
    try:
        from noctra.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("noctra: interrupted\n")
        return 130
    return main()


if __name__ == "__main__":
    raise SystemExit(run())
