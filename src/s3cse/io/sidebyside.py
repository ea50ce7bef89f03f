"""Two blocking calls at once, for the sync flavour's ``both``: one on a helper thread,
one on the caller's. Helper threads are kept for reuse, because starting a thread costs
about as much as the small request it would overlap (a 4 KiB PUT's sidecar listing)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")

HELPERS = 32
"""Helper threads at most, shared by every client of the process."""

_local = threading.local()
_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _mark_helper() -> None:
    _local.helper = True


def _helpers() -> ThreadPoolExecutor:
    """The process's helper pool; a new one in a forked child (the parent's threads are
    not there)."""
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            pool = ThreadPoolExecutor(HELPERS, "s3cse-side", initializer=_mark_helper)
            _pool = (os.getpid(), pool)
        return _pool[1]


def side_by_side(first: Callable[[], T], second: Callable[[], U]) -> tuple[T, U]:
    """``first()`` on a helper thread while ``second()`` runs here. Both have finished
    when this returns or raises; the second's failure is raised before the first's.

    On a helper thread itself (a nested call) both run here, one after the other, so a
    full pool never waits on itself."""
    if getattr(_local, "helper", False):
        return first(), second()
    try:
        pending: Future[T] = _helpers().submit(first)
    except RuntimeError:  # the interpreter is shutting down: no new threads
        return first(), second()
    try:
        b = second()
    except BaseException:
        wait([pending])
        raise
    return pending.result(), b
