"""The hand-written differences between the async flavour of s3cse and the sync one
generated from it (``scripts/unasync.py``): each ``AsyncX`` here has an ``X`` twin, and
the generator renames one to the other. Those of running a transfer's parts are in
``running``.
"""

from __future__ import annotations

import asyncio
import inspect
import io
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, TypeVar

from ..core.config import CryptoConfig
from ..core.pumps import CHUNK
from ..core.requests import SealedPut, binary_source, body_length
from ..errors import ConfigurationError
from .aio import (
    body_checksum,
    checksum_algorithm,
    is_async_reader,
    request_body,
    sink_writer,
)
from .encrypting import CiphertextBody, SpoolEncryptor, ciphertext_body
from .retries import botocore_config
from .sidebyside import side_by_side

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
    """Two requests side by side. Both have finished when this returns or raises (as in
    ``both``): a failure of one never leaves the other running unobserved."""
    tasks = (asyncio.ensure_future(first()), asyncio.ensure_future(second()))
    try:
        await asyncio.wait(tasks)
    finally:
        for task in tasks:
            task.cancel()  # only when this wait itself was cancelled
    for task in reversed(tasks):  # ``both`` raises the second's failure first
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return tasks[0].result(), tasks[1].result()


def both(first: Callable[[], T], second: Callable[[], U]) -> tuple[T, U]:
    return side_by_side(first, second)


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


async def async_read_some(source: Any, size: int) -> bytes:
    """One read of an async reader, or of a binary file or pipe on a worker thread."""
    if is_async_reader(source):
        data: bytes = await source.read(size)
        return data
    return await async_run_blocking(source.read, size)


def read_some(source: Any, size: int) -> bytes:
    data: bytes = source.read(size)
    return data
