"""The plaintext body ``get_object`` hands back, read like botocore's ``StreamingBody``:
``await body.read(n)``, ``async for chunk in body.iter_chunks()``, ``async with body``.

It reads either authenticated plaintext waiting in a spool (memory, then disk); or the
ciphertext of an object with an integrity index, each chunk released once its MAC
verifies (``core.indexed``); or, under delayed authentication, ciphertext it decrypts as
it is pulled. The ciphers and
the length check are the core's (``core.pumps``); only the pulling is here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import IO, Any

from ..core.errors import naming
from ..core.indexed import IndexedStream
from ..core.integrity import CHUNK_SIZE
from ..core.pumps import CHUNK, DecryptionPump, Decryptor, LineSplitter, Location
from ..io.backends import AsyncBody, async_read_some, async_write_to


class _SpoolSource:
    """Authenticated plaintext waiting in a spooled temp file (memory, then disk)."""

    def __init__(self, spool: IO[bytes]) -> None:
        self.spool = spool

    async def read(self, size: int) -> bytes:
        return self.spool.read(size)


class _StreamingDecryption:
    """Pulls ciphertext from a response body and releases plaintext at once."""

    def __init__(self, source: Any, pump: DecryptionPump) -> None:
        self._source = source
        self._pump = pump

    async def read(self, size: int) -> bytes:
        while not self._pump.done:
            out = self._pump.feed(await self._source.read(max(size, CHUNK)))
            if out:
                return out
        return b""


class _IndexedDecryption(_StreamingDecryption):
    """Pulls about a chunk of ciphertext at a time and releases each chunk once its MAC
    verifies, fetching the index entries (``fetch_entries(range)``) as the stream nears
    them."""

    def __init__(
        self,
        source: Any,
        pump: DecryptionPump,
        stream: IndexedStream,
        fetch_entries: Callable[[str], Any],
        location: Location,
    ) -> None:
        super().__init__(source, pump)
        self._stream = stream
        self._fetch_entries = fetch_entries
        self._location = location

    async def read(self, size: int) -> bytes:
        while not self._pump.done:
            wanted = self._stream.entries_wanted()
            if wanted is not None:
                blob = await self._fetch_entries(wanted)
                with naming(*self._location):
                    self._stream.add_entries(blob)
                continue
            out = self._pump.feed(await self._source.read(CHUNK_SIZE))
            if out:
                return out
        return b""


class AsyncDecryptedBody(AsyncBody):
    """The plaintext of an object, read like a botocore ``StreamingBody``."""

    def __init__(self, source: Any, content_length: int | None, *, on_close: Any = None) -> None:
        super().__init__()
        self._source = source
        self._pending = b""
        self._read = 0
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

    @classmethod
    def indexed(
        cls,
        ciphertext: Any,
        stream: IndexedStream,
        fetch_entries: Callable[[str], Any],
        location: Location,
    ) -> AsyncDecryptedBody:
        """The plaintext of a whole object released chunk by chunk, each chunk once its
        integrity index entry verifies (``fetch_entries(range)`` reads the index)."""
        pump = DecryptionPump(stream, stream.plaintext_size, location)
        return cls(
            _IndexedDecryption(ciphertext, pump, stream, fetch_entries, location),
            stream.plaintext_size,
            on_close=getattr(ciphertext, "close", None),
        )

    @property
    def spooled_to_disk(self) -> bool:
        """Whether the authenticated plaintext outgrew memory (``spool_threshold``)."""
        spool = getattr(self._source, "spool", None)
        return bool(getattr(spool, "_rolled", False))

    def tell(self) -> int:
        return self._read

    async def read(self, amt: int | None = None) -> bytes:
        if self.closed:
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

    async def read1(self, amt: int = CHUNK) -> bytes:
        """Up to ``amt`` bytes as soon as any are ready, without waiting for ``amt``
        (empty at the end). From an indexed object that is each chunk as it verifies, so
        a failure further on costs nothing of what verified before it."""
        if self.closed:
            raise ValueError("read from a closed body")
        if not self._pending:
            self._pending = await self._pull(amt)
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


async def decrypt_to(source: Any, decryptor: Decryptor, write: Callable[[bytes], Any]) -> int:
    """Decrypt a whole ciphertext stream into ``write``; raises if authentication fails.

    What was written is unauthenticated until this returns: callers discard it on any
    error.
    """
    written = 0
    while chunk := await source.read(CHUNK):
        out = decryptor.update(chunk)
        await async_write_to(write, out)
        written += len(out)
    out = decryptor.finalize()
    await async_write_to(write, out)
    return written + len(out)


async def read_full(source: Any, size: int) -> bytes:
    """Read exactly ``size`` bytes unless the stream ends first (pipes return short reads):
    from an async reader, or from a file or pipe, off the loop if there is one."""
    parts, missing = [], size
    while missing > 0:
        chunk = await async_read_some(source, missing)
        if not chunk:
            break
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)


async def read_all(response: Mapping[str, Any]) -> bytes:
    """The whole body of an S3 answer, its connection given back."""
    stream = response["Body"]
    try:
        data: bytes = await stream.read()
        return data
    finally:
        stream.close()
