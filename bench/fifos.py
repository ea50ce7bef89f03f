"""The benchmark's end of a named pipe, for transfers from and to pipes.

A worker given a FIFO sees what ``cat big | s3cse cp - s3://...`` or ``s3cse cp s3://...
- | consumer`` give a client: a stream it can neither seek nor size. A thread of the
benchmark feeds the FIFO from the source file (uploads) or drains it into a SHA-256
(downloads, so the bytes are still checked).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1024 * 1024


@contextlib.contextmanager
def fifo(path: Path, upload: bool, source: Path | None = None) -> Iterator[dict[str, str]]:
    """A FIFO at ``path`` with a thread at the other end, for the time of the block. Once
    the block is over the dict holds ``sha256`` of what was drained (downloads) or
    ``error`` if the worker left early."""
    os.mkfifo(path)
    outcome: dict[str, str] = {}

    def feed() -> None:
        assert source is not None
        try:
            with path.open("wb") as sink, source.open("rb") as data:
                shutil.copyfileobj(data, sink, CHUNK)
        except BrokenPipeError:
            outcome["error"] = "the worker closed the pipe before the end"

    def drain() -> None:
        digest = hashlib.sha256()
        with path.open("rb") as data:
            for chunk in iter(lambda: data.read(CHUNK), b""):
                digest.update(chunk)
        outcome["sha256"] = digest.hexdigest()

    thread = threading.Thread(target=feed if upload else drain, daemon=True, name="fifo")
    thread.start()
    try:
        yield outcome
    finally:
        if thread.is_alive():
            # a worker that never opened its end leaves our open() blocked: open the
            # worker's end for a moment, so that ours sees EOF or a broken pipe
            flags = (os.O_RDONLY if upload else os.O_WRONLY) | os.O_NONBLOCK
            with contextlib.suppress(OSError):
                os.close(os.open(path, flags))
        thread.join(60)
        path.unlink(missing_ok=True)
