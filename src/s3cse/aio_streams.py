"""Async bodies and stream adapters for the async client (no network here).

``AsyncDecryptedBody`` is what ``AsyncEncryptionClient.get_object`` hands back, read like
aiobotocore's ``StreamingBody``. The rest adapts what asyncio and aiobotocore need: sync
readers as ``io.RawIOBase`` (aiohttp streams those from worker threads), checksums
computed off the event loop, async readers and writers beside sync files. The ciphers
are the core's (``streams``, ``ciphers``, ``ranges``, ``index``); only the pumping is here.
"""

from __future__ import annotations

import inspect
import io
import os
from collections.abc import AsyncIterator, Callable, Mapping
from typing import IO, Any

from .errors import ConfigurationError
from .streams import CHUNK, DecryptionPump, Decryptor, LineSplitter, Location


class _SpoolSource:
    """Authenticated plaintext waiting in a spooled temp file (memory, then disk)."""

    def __init__(self, spool: IO[bytes]) -> None:
        self.spool = spool

    async def read(self, size: int) -> bytes:
        return self.spool.read(size)


class _StreamingDecryption:
    """Pulls ciphertext from an aiobotocore body and releases plaintext at once."""

    def __init__(self, source: Any, pump: DecryptionPump) -> None:
        self._source = source
        self._pump = pump

    async def read(self, size: int) -> bytes:
        while not self._pump.done:
            out = self._pump.feed(await self._source.read(max(size, CHUNK)))
            if out:
                return out
        return b""


class AsyncDecryptedBody:
    """The plaintext of an object, read like aiobotocore's ``StreamingBody``:
    ``await body.read(n)``, ``async for chunk in body.iter_chunks()``, ``async with body``.
    """

    def __init__(
        self, source: Any, content_length: int | None, *, on_close: Callable[[], None] | None = None
    ) -> None:
        self._source = source
        self._pending = b""
        self._read = 0
        self._closed = False
        self._exhausted = False
        self._on_close = on_close
        self.content_length = content_length

    @classmethod
    def authenticated(cls, spool: IO[bytes], length: int) -> AsyncDecryptedBody:
        spool.seek(0)
        return cls(_SpoolSource(spool), length, on_close=spool.close)

    @classmethod
    def streaming(
        cls,
        ciphertext: Any,
        decryptor: Decryptor,
        length: int | None,
        location: Location | None = None,
    ) -> AsyncDecryptedBody:
        pump = DecryptionPump(decryptor, length, location)
        return cls(
            _StreamingDecryption(ciphertext, pump),
            length,
            on_close=getattr(ciphertext, "close", None),
        )

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def spooled_to_disk(self) -> bool:
        """Whether the authenticated plaintext outgrew memory (``spool_threshold``)."""
        spool = getattr(self._source, "spool", None)
        return bool(getattr(spool, "_rolled", False))

    def tell(self) -> int:
        return self._read

    async def read(self, amt: int | None = None) -> bytes:
        if self._closed:
            raise ValueError("read from a closed body")
        if amt is None or amt < 0:
            parts = [self._pending]
            self._pending = b""
            while chunk := await self._pull(CHUNK):
                parts.append(chunk)
            data = b"".join(parts)
        else:
            while len(self._pending) < amt:
                chunk = await self._pull(max(amt - len(self._pending), 1))
                if not chunk:
                    break
                self._pending += chunk
            data, self._pending = self._pending[:amt], self._pending[amt:]
        self._read += len(data)
        return data

    async def _pull(self, size: int) -> bytes:
        if self._exhausted:
            return b""
        chunk: bytes = await self._source.read(size)
        if not chunk:
            self._exhausted = True
            self._release()  # the spool or the connection, as soon as it is done
        return chunk

    async def iter_chunks(self, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        while chunk := await self.read(chunk_size):
            yield chunk

    async def iter_lines(
        self, chunk_size: int = CHUNK, keepends: bool = False
    ) -> AsyncIterator[bytes]:
        lines = LineSplitter(keepends)
        async for chunk in self.iter_chunks(chunk_size):
            for line in lines.feed(chunk):
                yield line
        for line in lines.end():
            yield line

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.iter_chunks(1024)

    def close(self) -> None:
        self._closed = True
        self._release()

    def _release(self) -> None:
        on_close, self._on_close = getattr(self, "_on_close", None), None
        if on_close is not None:
            on_close()

    def __del__(self) -> None:
        # like io.IOBase: an abandoned body gives back its spool or connection
        self._release()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> AsyncDecryptedBody:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class _RawReader(io.RawIOBase):
    """A seekable reader as ``io.RawIOBase``, the file type aiohttp streams from its
    worker threads (``EncryptingReader`` already is one; spools and parts are not)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self._inner.read(-1 if size is None else size)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        position: int = self._inner.seek(offset, whence)
        return position

    def tell(self) -> int:
        position: int = self._inner.tell()
        return position


def request_body(stream: Any) -> io.IOBase:
    """A ciphertext stream as a request body aiohttp reads on its worker threads."""
    return stream if isinstance(stream, io.IOBase) else _RawReader(stream)


_CHECKSUM_ARGS = {
    "crc32": "ChecksumCRC32",
    "crc32c": "ChecksumCRC32C",
    "crc64nvme": "ChecksumCRC64NVME",
    "sha1": "ChecksumSHA1",
    "sha256": "ChecksumSHA256",
}


def checksum_algorithm(s3: Any, args: Mapping[str, Any]) -> str | None:
    """The flexible checksum botocore would compute over a request body, if any."""
    algorithm = args.get("ChecksumAlgorithm")
    if algorithm is None:
        config = getattr(getattr(s3, "meta", None), "config", None)
        if getattr(config, "request_checksum_calculation", None) == "when_required":
            return None
        algorithm = "CRC32"
    return str(algorithm).lower()


def body_checksum(body: Any, algorithm: str | None) -> dict[str, str]:
    """The checksum argument for a ciphertext body, computed off the event loop (botocore
    would otherwise read, and so encrypt, the whole body on it). Empty when botocore
    computes none or the algorithm is unknown here (botocore then computes it itself)."""
    if algorithm is None or algorithm not in _CHECKSUM_ARGS:
        return {}
    try:
        from botocore.httpchecksum import _CHECKSUM_CLS
    except ImportError:  # pragma: no cover - a botocore without flexible checksums
        return {}
    checksum_cls = _CHECKSUM_CLS.get(algorithm)
    if checksum_cls is None:
        return {}
    return {_CHECKSUM_ARGS[algorithm]: checksum_cls().handle(body)}


def is_async_reader(body: Any) -> bool:
    """An object whose ``read`` is awaited (aiofiles, aiohttp's StreamReader, ...)."""
    return inspect.iscoroutinefunction(getattr(body, "read", None))


async def aread_full(source: Any, size: int) -> bytes:
    """Read exactly ``size`` bytes from an async reader unless it ends first."""
    parts, missing = [], size
    while missing > 0:
        chunk = await source.read(missing)
        if not chunk:
            break
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)


async def read_all(response: Mapping[str, Any]) -> bytes:
    """The whole body of an aiobotocore response, its connection released."""
    stream = response["Body"]
    try:
        data: bytes = await stream.read()
        return data
    finally:
        stream.close()


async def adecrypt_into(source: Any, decryptor: Any, write: Callable[[bytes], Any]) -> int:
    """Decrypt a whole ciphertext stream into ``write``; raises if authentication fails
    (``streams.decrypt_into`` for async readers and writers)."""
    written = 0
    while chunk := await source.read(CHUNK):
        out = decryptor.update(chunk)
        await _maybe_await(write(out))
        written += len(out)
    out = decryptor.finalize()
    await _maybe_await(write(out))
    return written + len(out)


def sink_writer(sink: Any) -> Callable[[bytes], Any]:
    """The ``write`` of a binary file or of an async writer (aiofiles and the like)."""
    write = getattr(sink, "write", None)
    if write is None:
        raise ConfigurationError(
            f"Fileobj must be a binary file or an async writer, not {type(sink).__name__}"
        )
    return write  # type: ignore[no-any-return]


async def _maybe_await(value: Any) -> None:
    if inspect.isawaitable(value):
        await value


def is_async_writer(sink: Any) -> bool:
    """An object whose ``write`` is awaited (aiofiles and the like)."""
    return inspect.iscoroutinefunction(getattr(sink, "write", None))
