"""How each flavour runs a transfer's parts: the hand-written ``AsyncX`` / ``X`` pairs
that ``_async/transfer.py`` and its generated twin use (see ``backends``), from the
pool the parts run on to the destination verified plaintext is copied to.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any, TypeVar

from ..core.multipart import BODY_STEP, Callback, StreamCutter
from ..core.requests import remaining_length
from .aio import is_async_reader, is_async_writer, sink_writer
from .backends import AsyncPlainSource, AsyncSink, PlainSource, Sink, async_run_blocking
from .encrypting import read_once
from .files import Spool
from .stopping import StopCheckingSink, cancel_all, gather_futures, raise_first_failure, running

T = TypeVar("T")

AsyncSemaphore = asyncio.Semaphore
Semaphore = threading.BoundedSemaphore


class AsyncRunner:
    """Runs calls as tasks, at most ``limit`` at once. ``gather`` raises the first
    failure once the other tasks are cancelled; so does leaving the block on an error.
    ``stopping`` is the flag the parts' bodies check (read on aiohttp's threads)."""

    def __init__(self, limit: int, stopping: threading.Event | None = None) -> None:
        self.stopping = stopping if stopping is not None else threading.Event()
        self._slots = asyncio.Semaphore(limit)
        self._tasks: list[asyncio.Future[Any]] = []

    async def __aenter__(self) -> AsyncRunner:
        return self

    async def __aexit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None:
            await cancel_all(self._tasks)

    def submit(self, func: Callable[..., Awaitable[T]], *args: Any) -> asyncio.Future[T]:
        async def bounded() -> T:
            async with self._slots:
                return await func(*args)

        task = asyncio.ensure_future(bounded())
        self._tasks.append(task)
        return task

    async def gather(self, futures: list[asyncio.Future[T]]) -> list[T]:
        try:
            return list(await asyncio.gather(*futures))
        except BaseException:
            await cancel_all(self._tasks)
            raise

    def raise_first_failure(self) -> None:
        raise_first_failure(self._tasks, self.stopping)


class Runner:
    """Runs calls on a thread pool of ``limit`` threads. When the block fails or is
    interrupted (Ctrl-C, SIGTERM; ``stop_all_transfers`` from another thread), work not
    started is dropped and running work is asked to stop (``stopping``), so the
    failure takes effect at once instead of after every part has been sent."""

    def __init__(self, limit: int, stopping: threading.Event | None = None) -> None:
        self._pool = ThreadPoolExecutor(limit)
        self._running = running(stopping)
        self._futures: list[Future[Any]] = []
        self.stopping = threading.Event()

    def __enter__(self) -> Runner:
        self.stopping = self._running.__enter__()
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            if exc is not None:
                self.stopping.set()
            self._pool.shutdown(wait=True, cancel_futures=exc is not None)
        finally:
            self._running.__exit__(kind, exc, tb)

    def submit(self, func: Callable[..., T], *args: Any) -> Future[T]:
        future = self._pool.submit(func, *args)
        self._futures.append(future)
        return future

    def gather(self, futures: list[Future[T]]) -> list[T]:
        return gather_futures(futures)

    def raise_first_failure(self) -> None:
        raise_first_failure(self._futures, self.stopping)


@contextlib.asynccontextmanager
async def async_stoppable_sink(sink: AsyncSink) -> AsyncIterator[AsyncSink]:
    """A streamed download's destination (an async one stops when its task is cancelled)."""
    yield sink


@contextlib.contextmanager
def stoppable_sink(sink: Sink) -> Iterator[Sink]:
    """A destination that gives up the download writing into it once it is stopped."""
    with running() as stopping:
        yield StopCheckingSink(sink, stopping)  # type: ignore[misc]


def async_known_length(source: AsyncPlainSource) -> int | None:
    """The bytes left in an upload's source when it can tell without being read."""
    return None if is_async_reader(source) else remaining_length(source)


def known_length(source: PlainSource) -> int | None:
    return remaining_length(source)


async def async_fill_part(cutter: StreamCutter, source: Any) -> None:
    """Read the part ``cutter`` has begun from an async reader, or from a binary file or
    pipe on a worker thread."""
    if not is_async_reader(source):
        await async_run_blocking(fill_part, cutter, source)
        return
    while (space := cutter.space()) is not None:
        data = await source.read(min(len(space), BODY_STEP))
        space[: len(data)] = data
        cutter.add(len(data))


def fill_part(cutter: StreamCutter, fileobj: IO[bytes]) -> None:
    """Read the part ``cutter`` has begun from a (blocking) binary file or pipe."""
    while (space := cutter.space()) is not None:
        cutter.add(read_into(fileobj, space))


def read_into(fileobj: IO[bytes], space: memoryview) -> int:
    """Read at most ``BODY_STEP`` bytes into ``space``, without allocating if the file can."""
    return read_once(fileobj, space[:BODY_STEP])


def async_thread_callback(callback: Callback | None) -> Callback | None:
    """Progress callbacks run on the event loop, though parts are read on worker threads."""
    if callback is None:
        return None
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()

    def call(count: int) -> None:
        if threading.get_ident() == loop_thread:
            callback(count)
        else:
            loop.call_soon_threadsafe(callback, count)

    return call


def thread_callback(callback: Callback | None) -> Callback | None:
    return callback


async def async_copy_spool(spool: Spool, sink: AsyncSink) -> None:
    """Hand verified plaintext to the caller's destination: an async writer on the
    loop, a file or pipe (which may block) on a worker thread."""
    write = sink_writer(sink)
    if is_async_writer(sink):
        for chunk in spool.chunks():
            await write(chunk)
    else:
        await async_run_blocking(spool.copy_to, write)


def copy_spool(spool: Spool, sink: Sink) -> None:
    spool.copy_to(sink.write)
