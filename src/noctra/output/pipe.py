"""COPY into a pipe whose bytes a thread forwards to the output: rows never become Python."""

from __future__ import annotations

import codecs
import os
import threading
from collections.abc import Callable
from typing import TextIO

from noctra.output.text import JsonShaper


def copy_through_pipe(
    copy: Callable[[str, str], int], fmt: str, stream: TextIO, before_output: Callable[[], None]
) -> int:
    """Run ``copy(target, fmt)`` into a pipe and forward what it writes to stream.

    JSON comes out of the engine newline-delimited and is shaped here (one array per
    result set for ``json``, null for NaN and Infinity), chunk by chunk.
    """
    read_fd, write_fd = os.pipe()
    binary = getattr(stream, "buffer", None)
    stream.flush()
    failure: list[BaseException] = []
    shaper = JsonShaper(fmt) if fmt in ("json", "jsonl") else None
    decoder = codecs.getincrementaldecoder("utf-8")() if binary is None else None
    started = False

    def emit(data: bytes) -> None:
        nonlocal started
        if not data:
            return
        if not started:
            before_output()
            started = True
        if decoder is not None:
            stream.write(decoder.decode(data))
        elif binary is not None:
            binary.write(data)

    def forward() -> None:
        try:
            with os.fdopen(read_fd, "rb") as pipe:
                while data := pipe.read1(1 << 16):
                    emit(shaper.feed(data) if shaper is not None else data)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            failure.append(exc)

    thread = threading.Thread(target=forward, name="noctra-copy-out", daemon=True)
    thread.start()
    error: BaseException | None = None
    written = 0
    try:
        written = copy(f"/dev/fd/{write_fd}", fmt)
    except BaseException as exc:  # noqa: BLE001 - re-raised below, after the pipe is drained
        error = exc
    finally:
        os.close(write_fd)
        thread.join()
    if any(isinstance(f, BrokenPipeError) for f in failure):
        # The reader went away (`| head`): report that, not the engine's failed write.
        raise BrokenPipeError
    if failure:
        # Writing out failed (a full disk): that is the cause; the engine only saw its pipe close.
        raise failure[0]
    if error is not None:
        raise error
    if shaper is not None:
        emit(shaper.finish())
    if binary is not None:
        binary.flush()
    return written
