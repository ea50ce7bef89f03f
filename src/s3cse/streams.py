"""File-like adapters between plaintext and ciphertext streams (no network here).

``EncryptingReader`` turns a plaintext file into a ciphertext file that an S3 upload
can read, seek back to its start (retries, checksums) and measure. ``DecryptedBody``
is what ``get_object`` hands back: a read-only stream of plaintext.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol

from .core.ciphers import ContentDecryptor, ContentKey, GcmEncryptor
from .core.integrity import ChunkMacer, IndexKey
from .core.requests import remaining_length
from .errors import AuthenticationError, S3CSEError, located

CHUNK = 1024 * 1024


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class Decryptor(Protocol):
    """Anything that turns ciphertext into plaintext incrementally."""

    def update(self, data: bytes) -> bytes: ...

    def finalize(self) -> bytes: ...


class EncryptingReader(io.RawIOBase):
    """Reads ``length`` plaintext bytes from ``source`` and yields ciphertext + tag."""

    def __init__(
        self,
        source: IO[bytes],
        content_key: ContentKey,
        length: int,
        index_key: IndexKey | None = None,
    ) -> None:
        self._index_key = index_key
        self.index_macs: list[bytes] | None = None
        self._source = source
        self._key = content_key
        self._length = length
        self._start = source.tell()
        self.ciphertext_length = length + content_key.suite.tag_length
        self._reset()

    def _reset(self) -> None:
        self._encryptor = GcmEncryptor(self._key)
        self._macer = ChunkMacer(self._index_key, 0) if self._index_key else None
        self._buffer = bytearray()
        self._consumed = 0
        self._position = 0
        self._finished = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_END and offset == 0:
            # Only used to measure the stream; reading resumes after seek(0).
            self._source.seek(self._start)
            self._reset()
            self._position = self.ciphertext_length
            self._finished = True
            return self._position
        target = offset if whence == os.SEEK_SET else self._position + offset
        if target == self._position and not self._finished:
            return target
        if target != 0:
            raise io.UnsupportedOperation("an encrypting stream can only rewind to its start")
        self._source.seek(self._start)
        self._reset()
        return 0

    def __len__(self) -> int:
        return self.ciphertext_length

    def _fill(self, wanted: int) -> None:
        while len(self._buffer) < wanted and not self._finished:
            todo = self._length - self._consumed
            if todo:
                chunk = self._source.read(min(max(wanted, CHUNK), todo))
                if not chunk:
                    raise S3CSEError(
                        f"the source ended after {self._consumed} of {self._length} bytes",
                        hint="Do not change a file while it is being uploaded",
                    )
                self._consumed += len(chunk)
                ciphertext = self._encryptor.update(chunk)
                if self._macer is not None:
                    self._macer.update(ciphertext)
                self._buffer += ciphertext
            else:
                self._buffer += self._encryptor.finalize()
                if self._macer is not None:
                    self.index_macs = self._macer.finalize()
                self._finished = True

    def read(self, size: int | None = -1) -> bytes:
        if self._position >= self.ciphertext_length and self._finished and not self._buffer:
            return b""
        wanted = self.ciphertext_length if size is None or size < 0 else size
        self._fill(wanted)
        out = bytes(self._buffer[:wanted])
        del self._buffer[:wanted]
        self._position += len(out)
        return out

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class SpoolEncryptor:
    """Encrypts a stream of unknown length, chunk by chunk, into a spooled temp file
    (bounded memory); also the integrity-index MACs of its chunks when asked.

    Fed by a sync loop (``encrypt_to_spool``) or an async one (the async client).
    """

    def __init__(
        self,
        content_key: ContentKey,
        spool_threshold: int,
        spool_dir: str | None,
        index_key: IndexKey | None = None,
    ) -> None:
        self.spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=spool_threshold, dir=spool_dir
        )
        self._encryptor = GcmEncryptor(content_key)
        self._macer = ChunkMacer(index_key, 0) if index_key else None

    def write(self, plaintext: bytes) -> None:
        ciphertext = self._encryptor.update(plaintext)
        if self._macer is not None:
            self._macer.update(ciphertext)
        self.spool.write(ciphertext)

    def finish(self) -> tuple[IO[bytes], list[bytes] | None]:
        """The spool rewound to its start, and the index MACs (None without an index)."""
        self.spool.write(self._encryptor.finalize())
        self.spool.seek(0)
        return self.spool, (self._macer.finalize() if self._macer is not None else None)

    def discard(self) -> None:
        self.spool.close()


def encrypt_to_spool(
    source: Readable,
    content_key: ContentKey,
    spool_threshold: int,
    spool_dir: str | None,
    index_key: IndexKey | None = None,
) -> tuple[IO[bytes], list[bytes] | None]:
    """Encrypt a stream of unknown length into a spooled temp file (bounded memory);
    also the integrity-index MACs of its chunks when ``index_key`` is given."""
    spooler = SpoolEncryptor(content_key, spool_threshold, spool_dir, index_key)
    try:
        while chunk := source.read(CHUNK):
            spooler.write(chunk)
        return spooler.finish()
    except BaseException:
        spooler.discard()
        raise


@dataclass
class CiphertextBody:
    """What a PutObject sends: the ciphertext as a file, its length, and afterwards the
    integrity-index MACs of its chunks."""

    stream: IO[bytes] | EncryptingReader
    length: int
    _macs: Callable[[], list[bytes] | None]
    close: Callable[[], None]

    def macs(self) -> list[bytes]:
        return self._macs() or []


def ciphertext_body(
    source: IO[bytes],
    content_key: ContentKey,
    index_key: IndexKey | None,
    spool_threshold: int,
    spool_dir: str | None,
) -> CiphertextBody:
    """Encrypt as the upload reads when the length is known; otherwise (pipes) through
    a bounded spool first, because S3 needs the length up front."""
    length = remaining_length(source)
    if length is not None:
        reader = EncryptingReader(source, content_key, length, index_key)
        return CiphertextBody(
            reader, reader.ciphertext_length, lambda: reader.index_macs, lambda: None
        )
    spool, macs = encrypt_to_spool(source, content_key, spool_threshold, spool_dir, index_key)
    size = spool.seek(0, os.SEEK_END)
    spool.seek(0)
    return CiphertextBody(spool, size, lambda: macs, spool.close)


def decrypt_into(source: Readable, decryptor: ContentDecryptor, sink: IO[bytes]) -> int:
    """Decrypt a whole ciphertext stream into ``sink``; raises if authentication fails.

    The sink holds unauthenticated plaintext until this returns: callers discard it on
    any error.
    """
    written = 0
    while chunk := source.read(CHUNK):
        out = decryptor.update(chunk)
        sink.write(out)
        written += len(out)
    out = decryptor.finalize()
    sink.write(out)
    return written + len(out)


class LengthCheck:
    """Counts the plaintext a stream releases; at its end, it must be what was announced
    (``ContentLength``), or the reader would get a silently short or long body."""

    def __init__(self, expected: int | None) -> None:
        self.expected = expected
        self.released = 0

    def count(self, data: bytes) -> bytes:
        self.released += len(data)
        return data

    def finish(self) -> None:
        if self.expected is not None and self.released != self.expected:
            raise AuthenticationError(
                f"the object decrypted to {self.released} bytes, not the {self.expected} "
                "announced: its metadata or content was altered"
            )


Location = tuple[str, str]
"""The bucket and key a streamed body comes from, named by every error it raises."""


class DecryptionPump:
    """What a streaming body does with each ciphertext chunk it pulls, sync or async:
    decrypt it, count the plaintext released, and at the end (an empty chunk) finalize
    and check the length. Errors raised long after ``get_object`` returned still name
    the object."""

    def __init__(
        self, decryptor: Decryptor, length: int | None, location: Location | None = None
    ) -> None:
        self._decryptor = decryptor
        self._length = LengthCheck(length)
        self._location = location
        self.done = False

    def feed(self, chunk: bytes) -> bytes:
        if self._location is None:
            return self._step(chunk)
        with located(*self._location):
            return self._step(chunk)

    def _step(self, chunk: bytes) -> bytes:
        if chunk:
            return self._length.count(self._decryptor.update(chunk))
        self.done = True
        out = self._length.count(self._decryptor.finalize())
        self._length.finish()
        return out


class _StreamingDecryption:
    """Pulls ciphertext and releases plaintext at once (delayed authentication)."""

    def __init__(self, source: Readable, pump: DecryptionPump) -> None:
        self._source = source
        self._pump = pump

    def read(self, size: int = CHUNK) -> bytes:
        while not self._pump.done:
            out = self._pump.feed(self._source.read(max(size, CHUNK)))
            if out:
                return out
        return b""


class LineSplitter:
    """Cuts a stream of chunks into lines (botocore's ``iter_lines``), sync or async."""

    def __init__(self, keepends: bool = False) -> None:
        self._keepends = keepends
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = (self._pending + chunk).splitlines(True)
        self._pending = lines.pop() if lines else b""
        return [self._shape(line) for line in lines]

    def end(self) -> list[bytes]:
        pending, self._pending = self._pending, b""
        return [self._shape(pending)] if pending else []

    def _shape(self, line: bytes) -> bytes:
        return line if self._keepends else line.splitlines()[0]


class DecryptedBody(io.RawIOBase):
    """The plaintext of an object, read like botocore's ``StreamingBody``."""

    def __init__(
        self,
        source: Readable,
        content_length: int | None,
        *,
        on_close: Any = None,
    ) -> None:
        self._source = source
        self._pending = b""
        self._read = 0
        self.content_length = content_length
        self._on_close = on_close

    @classmethod
    def authenticated(cls, spool: IO[bytes], length: int) -> DecryptedBody:
        spool.seek(0)
        return cls(spool, length, on_close=spool.close)

    @classmethod
    def streaming(
        cls,
        ciphertext: Any,
        decryptor: Decryptor,
        length: int | None,
        location: Location | None = None,
    ) -> DecryptedBody:
        pump = DecryptionPump(decryptor, length, location)
        return cls(
            _StreamingDecryption(ciphertext, pump),
            length,
            on_close=getattr(ciphertext, "close", None),
        )

    def readable(self) -> bool:
        return True

    @property
    def spooled_to_disk(self) -> bool:
        """Whether the authenticated plaintext outgrew memory (``spool_threshold``)."""
        return bool(getattr(self._source, "_rolled", False))

    def tell(self) -> int:
        return self._read

    def read(self, amt: int | None = None) -> bytes:
        if self.closed:
            raise ValueError("read from a closed body")
        if amt is None or amt < 0:
            parts = [self._pending]
            self._pending = b""
            while chunk := self._source.read(CHUNK):
                parts.append(chunk)
            data = b"".join(parts)
        else:
            while len(self._pending) < amt:
                chunk = self._source.read(max(amt - len(self._pending), 1))
                if not chunk:
                    break
                self._pending += chunk
            data, self._pending = self._pending[:amt], self._pending[amt:]
        self._read += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def iter_chunks(self, chunk_size: int = CHUNK) -> Iterator[bytes]:
        while chunk := self.read(chunk_size):
            yield chunk

    def iter_lines(self, chunk_size: int = CHUNK, keepends: bool = False) -> Iterator[bytes]:
        lines = LineSplitter(keepends)
        for chunk in self.iter_chunks(chunk_size):
            yield from lines.feed(chunk)
        yield from lines.end()

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_chunks(1024)

    def close(self) -> None:
        if not self.closed and self._on_close is not None:
            self._on_close()
        super().close()
