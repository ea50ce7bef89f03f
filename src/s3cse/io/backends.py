"""The only hand-written differences between the async flavour of s3cse and the sync one
generated from it (``scripts/unasync.py``): each ``AsyncX`` here has an ``X`` twin, and
the generator renames one to the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any, TypeVar

from ..core.config import CryptoConfig
from ..core.multipart import BODY_STEP, Callback, StreamCutter
from ..core.pumps import CHUNK
from ..core.requests import SealedPut, binary_source, body_length, remaining_length
from ..errors import ConfigurationError
from .aio import (
    body_checksum,
    checksum_algorithm,
    is_async_reader,
    is_async_writer,
    request_body,
    sink_writer,
)
from .encrypting import CiphertextBody, SpoolEncryptor, ciphertext_body
from .files import Spool
from .retries import botocore_config
from .stopping import StopCheckingSink, cancel_all, gather_futures, raise_first_failure, running

T = TypeVar("T")
U = TypeVar("U")

AsyncPutBody = Any
"""What ``put_object`` encrypts: bytes, str, a binary file or an async reader."""
PutBody = bytes | str | IO[bytes]
AsyncSink = Any
"""Where a download goes: a binary file or an async writer."""
Sink = IO[bytes]


class AsyncBody:
    """What an async body of plaintext shares with aiobotocore's: ``closed``, ``close``,
    ``aclose`` and ``async with``. Closing gives back what it reads from (``_release``),
    and so does an abandoned body, as ``io.IOBase`` does."""

    _on_close: Callable[[], None] | None = None
    _closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self._release()

    def _release(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    def __del__(self) -> None:
        self._release()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class Body(io.RawIOBase):
    """A sync body of plaintext is a read-only binary file (``io.RawIOBase``), so that it
    can be handed wherever one is read: ``shutil.copyfileobj``, ``upload_fileobj``..."""

    _on_close: Callable[[], None] | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._release()
        super().close()

    def _release(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()


AsyncUploadSource = Any
UploadSource = IO[bytes] | Body
"""What ``upload_fileobj`` reads: a binary file, or another object's plaintext body."""
AsyncPlainSource = Any
PlainSource = IO[bytes]
"""What a transfer reads plaintext from (``UploadSource``, seen as a file)."""

# ---------------------------------------------------------------------- the S3 client


def async_default_s3_client() -> Any:
    """The async client is handed an open aiobotocore client (or opens one in ``create``)."""
    raise ConfigurationError(
        "AsyncEncryptionClient needs an open aiobotocore S3 client (s3_client=...)",
        hint="Or use 'async with AsyncEncryptionClient.create(keyring) as client'",
    )


def default_s3_client() -> Any:
    """The sync client builds a boto3 client from the environment when it is given none."""
    import boto3

    return boto3.client("s3", config=botocore_config())


# ---------------------------------------------------------------------- waiting


async def async_run_blocking(func: Callable[..., T], *args: Any) -> T:
    """Blocking work (reading a pipe, hashing a body) kept off the event loop."""
    return await asyncio.to_thread(func, *args)


def run_blocking(func: Callable[..., T], *args: Any) -> T:
    return func(*args)


async def async_map_bounded(
    func: Callable[[T], Awaitable[U]], items: Iterable[T], limit: int
) -> list[U]:
    """``func`` of each item, at most ``limit`` at once, results in order."""
    slots = asyncio.Semaphore(limit)

    async def one(item: T) -> U:
        async with slots:
            return await func(item)

    return list(await asyncio.gather(*map(one, items)))


def map_bounded(func: Callable[[T], U], items: Iterable[T], limit: int) -> list[U]:
    items = list(items)
    if len(items) <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(min(len(items), limit)) as pool:
        return list(pool.map(func, items))


async def async_both(
    first: Callable[[], Awaitable[T]], second: Callable[[], Awaitable[U]]
) -> tuple[T, U]:
    """Two requests side by side."""
    a, b = await asyncio.gather(first(), second())
    return a, b


def both(first: Callable[[], T], second: Callable[[], U]) -> tuple[T, U]:
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(first)
        b = second()
        return pending.result(), b


# ---------------------------------------------------------------------- bodies


async def async_write_to(write: Callable[[bytes], Any], data: bytes) -> None:
    """Write to a binary file or to an async writer (aiofiles and the like)."""
    result = write(data)
    if inspect.isawaitable(result):
        await result


def write_to(write: Callable[[bytes], Any], data: bytes) -> None:
    write(data)


def async_sink_write(sink: AsyncSink) -> Callable[[bytes], Any]:
    return sink_writer(sink)


def sink_write(sink: Sink) -> Callable[[bytes], Any]:
    return sink.write


def async_put_source(body: AsyncPutBody) -> tuple[Any, int | None]:
    """A put body as something to encrypt, and its length when known up front."""
    if is_async_reader(body):
        return body, None
    source = binary_source(body)
    return source, body_length(source)


def put_source(body: PutBody) -> tuple[IO[bytes], int | None]:
    source = binary_source(body)
    return source, body_length(source)


async def async_encrypt_body(
    source: Any, sealed: SealedPut, config: CryptoConfig
) -> CiphertextBody:
    """The ciphertext of a put, with its length: a pipe is spooled (off the loop), an
    async reader read into the spool as it comes."""
    if not is_async_reader(source):
        return await async_run_blocking(encrypt_body, source, sealed, config)
    spooler = SpoolEncryptor(
        sealed.content_key, config.spool_threshold, config.spool_dir, sealed.index_key
    )
    try:
        while chunk := await source.read(CHUNK):
            spooler.write(chunk)
        spool, macs = spooler.finish()
    except BaseException:
        spooler.discard()
        raise
    size = spool.seek(0, io.SEEK_END)
    spool.seek(0)
    return CiphertextBody(spool, size, lambda: macs, spool.close)


def encrypt_body(source: IO[bytes], sealed: SealedPut, config: CryptoConfig) -> CiphertextBody:
    return ciphertext_body(
        source, sealed.content_key, sealed.index_key, config.spool_threshold, config.spool_dir
    )


async def async_upload_args(s3: Any, stream: Any, args: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a put or a part as aiohttp streams it, and the checksum S3 expects,
    computed off the loop (botocore would read, and so encrypt, the body on it)."""
    checksum = await async_run_blocking(body_checksum, stream, checksum_algorithm(s3, args))
    return {"Body": request_body(stream), **checksum}


def upload_args(s3: Any, stream: Any, args: Mapping[str, Any]) -> dict[str, Any]:
    return {"Body": stream}


# ---------------------------------------------------------------------- transfers

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


async def async_read_some(source: Any, size: int) -> bytes:
    """One read of an async reader, or of a binary file or pipe on a worker thread."""
    if is_async_reader(source):
        data: bytes = await source.read(size)
        return data
    return await async_run_blocking(source.read, size)


def read_some(source: Any, size: int) -> bytes:
    data: bytes = source.read(size)
    return data


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
    space = space[:BODY_STEP]
    readinto = getattr(fileobj, "readinto", None)
    if readinto is not None:
        return int(readinto(space) or 0)
    data = fileobj.read(len(space))
    space[: len(data)] = data
    return len(data)


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
