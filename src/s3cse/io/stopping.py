"""Stopping parallel transfers: each has a stop flag that its parts check between steps,
set when it fails or is given up, and ``stop_all_transfers`` sets those of every
transfer of the process, whatever thread it runs on.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from typing import IO, Any, Protocol

from .parts import TransferStopped


class _RunningTransfers:
    """The stop flags of the transfers under way in this process, whatever their thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags: set[threading.Event] = set()
        self._stopped = False

    def add(self, flag: threading.Event) -> None:
        with self._lock:
            self._flags.add(flag)
            if self._stopped:
                flag.set()

    def discard(self, flag: threading.Event) -> None:
        with self._lock:
            self._flags.discard(flag)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for flag in self._flags:
                flag.set()


_RUNNING = _RunningTransfers()


def stop_all_transfers() -> None:
    """Stop every parallel transfer of this process, on whatever thread it runs, and
    any started afterwards: for a program that is exiting on Ctrl-C or SIGTERM while
    transfers run on other threads (``cp --recursive``), which the interrupt, raised on
    the main thread only, would otherwise let run to their end. Uploads stopped so are
    aborted, downloads leave nothing."""
    _RUNNING.stop()


@contextlib.contextmanager
def running(stopping: threading.Event | None = None) -> Iterator[threading.Event]:
    """A transfer's stop flag, which ``stop_all_transfers`` sets while it runs."""
    flag = stopping if stopping is not None else threading.Event()
    _RUNNING.add(flag)
    try:
        yield flag
    finally:
        _RUNNING.discard(flag)


class StopCheckingSink:
    """A destination that gives up the transfer writing into it once that is stopped
    (a streamed download has no parts to check the flag between)."""

    def __init__(self, sink: IO[bytes], stopping: threading.Event) -> None:
        self._sink, self._stopping = sink, stopping

    def write(self, data: bytes) -> int:
        if self._stopping.is_set():
            raise TransferStopped
        return self._sink.write(data)


class Outcome(Protocol):
    """A thread's ``Future`` or an asyncio task."""

    def done(self) -> bool: ...

    def exception(self) -> BaseException | None: ...

    def result(self) -> Any: ...


def raise_first_failure(futures: Iterable[Outcome], stopping: threading.Event) -> None:
    """Between parts of a stream: stop reading it once a part has failed or the upload
    is being given up."""
    if stopping.is_set():
        raise TransferStopped
    for future in futures:
        if future.done() and future.exception() is not None:
            future.result()


def gather_futures(futures: list[Future[Any]]) -> list[Any]:
    """Results in order; on the first failure, cancel what has not started and re-raise."""
    done, _ = wait(futures, return_when=FIRST_EXCEPTION)
    for future in done:
        if future.exception() is not None:
            for other in futures:
                other.cancel()
            raise future.exception()  # type: ignore[misc]
    return [f.result() for f in futures]


async def cancel_all(tasks: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel the tasks not done yet and wait until they have stopped."""
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
