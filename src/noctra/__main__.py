"""python -m noctra, and the `noctra` command."""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading


def run() -> int:
    """Start the CLI; Ctrl-C while it is still loading is a quiet exit 130, not a traceback.

    When the command is done the process ends here (see ``exit_without_teardown``): call
    ``cli.main`` to run Noctra inside another program.
    """
    # Start-up makes tens of thousands of objects that live as long as the process (modules,
    # classes, DuckDB's Python API): at the default threshold (700) the collector went over
    # them 34 times for nothing, ~11 M instructions of `noctra query "select 1"` (callgrind).
    gc.set_threshold(50_000)
    try:
        from noctra.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("noctra: interrupted\n")
        return 130
    code = main()
    exit_without_teardown(code)
    return code


def exit_without_teardown(code: int) -> None:
    """End the process now, unless something is still waiting for the interpreter's exit.

    The command has closed its session and files by now; freeing every module and object
    afterwards costs ~35 M instructions (~8 ms, callgrind: more than a third of what
    ``noctra query "select 1"`` adds to DuckDB's own start-up) and changes nothing the user
    can see. An atexit handler (the REPL and the TUI register some), a non-daemon thread or
    output that cannot be flushed keep the usual exit, which runs and reports them as before.
    """
    main_thread = threading.main_thread()
    if atexit._ncallbacks() or any(not t.daemon for t in threading.enumerate() if t is not main_thread):
        return
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # a reader gone (`| head`) or a closed stream
        return
    os._exit(code)


if __name__ == "__main__":
    raise SystemExit(run())
