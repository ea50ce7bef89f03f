"""File-like adapters from plaintext to ciphertext for uploads (no network here).

``EncryptingReader`` turns a plaintext file into a ciphertext file that an S3 upload
can read, seek back to its start (retries, checksums) and measure; a pipe, whose length
S3 needs up front, is encrypted into a bounded spool first.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from ..core.ciphers import ContentKey, GcmEncryptor
from ..core.integrity import ChunkMacer, IndexKey
from ..core.pumps import CHUNK, Readable
from ..core.requests import remaining_length
from ..errors import S3CSEError


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
    """Encrypt once into memory what fits the spool threshold; encrypt a larger file as
    the upload reads it; a pipe through a bounded spool first, because S3 needs the
    length up front."""
    length = remaining_length(source)
    if length is not None and length <= spool_threshold:
        return encrypted_in_memory(source, content_key, length, index_key)
    if length is not None:
        reader = EncryptingReader(source, content_key, length, index_key)
        return CiphertextBody(
            reader, reader.ciphertext_length, lambda: reader.index_macs, lambda: None
        )
    spool, macs = encrypt_to_spool(source, content_key, spool_threshold, spool_dir, index_key)
    size = spool.seek(0, os.SEEK_END)
    spool.seek(0)
    return CiphertextBody(spool, size, lambda: macs, spool.close)


def encrypted_in_memory(
    source: IO[bytes], content_key: ContentKey, length: int, index_key: IndexKey | None
) -> CiphertextBody:
    """The ciphertext of ``length`` bytes of ``source``, encrypted once: botocore reads a
    body several times (a flexible checksum, the SigV4 payload hash over http://, the
    send, retries) and an ``EncryptingReader`` would encrypt it each time."""
    plaintext = bytearray(length)
    view = memoryview(plaintext)
    done = 0
    while done < length:
        count = read_once(source, view[done:])
        if not count:
            raise S3CSEError(
                f"the source ended after {done} of {length} bytes",
                hint="Do not change a file while it is being uploaded",
            )
        done += count
    encryptor = GcmEncryptor(content_key)
    ciphertext = encryptor.update(plaintext)
    macs: list[bytes] | None = None
    if index_key is not None:
        macer = ChunkMacer(index_key, 0)
        macer.update(ciphertext)
        macs = macer.finalize()
    stream = io.BytesIO(ciphertext + encryptor.finalize())
    return CiphertextBody(stream, length + content_key.suite.tag_length, lambda: macs, stream.close)


def read_once(source: IO[bytes], view: memoryview) -> int:
    """One read of ``source`` into ``view``, without a copy where the file can."""
    readinto = getattr(source, "readinto", None)
    if readinto is not None:
        return int(readinto(view) or 0)
    data = source.read(len(view))
    view[: len(data)] = data
    return len(data)
