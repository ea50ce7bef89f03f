"""The parts of a parallel transfer, whichever way it waits: a multipart upload's part
bodies (encrypted as botocore reads them, rewound for retries), the tagged last part,
and positional reads and writes of the files on either end.

Memory stays bounded: file parts are read and encrypted as botocore sends them, a small
step at a time. Of a part S3 holds, only its ETag and GHASH are kept (``SentPart``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from ..core.gcm import GcmLayout, PartEncryptor, PartHash
from ..core.integrity import CHUNK_SIZE, ChunkMacer, IndexKey
from ..core.metadata import ContentMetadata
from ..core.multipart import BODY_STEP, Callback, SentPart, TransferConfig
from ..errors import S3CSEError


class TransferStopped(BaseException):
    """Raised in the parts of a transfer that is being given up. Not an ``Exception``:
    botocore would take one raised while a body is sent for a network error and retry
    it, with backoff, before the transfer could stop."""


@dataclass
class Upload:
    """What every part of one multipart upload shares."""

    layout: GcmLayout
    index_key: IndexKey | None
    callback: Callback | None
    bucket: str
    key: str
    upload_id: str
    sse_c: dict[str, Any] = field(repr=False)
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set when the upload is given up: parts still being sent stop at their next read."""


class PartBody:
    """One part's ciphertext, produced as botocore reads it; rewinds for retries.

    A complete read leaves the part's GHASH contribution (and integrity-index MACs).
    """

    def __init__(
        self,
        upload: Upload,
        read_at: Callable[[int, int], bytes],
        offset: int,
        length: int,
        tag: bytes = b"",
    ) -> None:
        self.upload, self.read_at = upload, read_at
        self.offset, self.length, self._tag = offset, length, tag
        self.content_length = length + len(tag)
        self.part_hash: PartHash | None = None
        self.index_macs: list[bytes] = []
        self._reported = 0
        self._rewind()

    def _rewind(self) -> None:
        self._encryptor = PartEncryptor(self.upload.layout, self.offset)
        index_key = self.upload.index_key
        self._macer = ChunkMacer(index_key, self.offset // CHUNK_SIZE) if index_key else None
        self._done = 0
        self._pending = bytearray()  # consumed from the front: O(1) per read
        self._position = 0
        self._exhausted = False
        self._finalized = False

    def with_tag(self, tag: bytes) -> PartBody:
        return PartBody(self.upload, self.read_at, self.offset, self.length, tag)

    def sent(self, etag: str) -> SentPart:
        """What is kept once S3 holds the part; the body (and its plaintext) can go."""
        if self.part_hash is None:
            raise S3CSEError("a part was sent without being read whole")
        return SentPart(etag, self.length, self.part_hash, self.index_macs)

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def __len__(self) -> int:
        return self.content_length

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_END:  # only ever used to measure
            self._rewind()
            self._position, self._exhausted = self.content_length, True
            return self._position
        target = offset if whence == os.SEEK_SET else self._position + offset
        if target == self._position and not self._exhausted:
            return target
        if target != 0:
            raise OSError("a part body can only rewind to its start")
        self._rewind()
        return 0

    def read(self, size: int | None = -1) -> bytes:
        if self.upload.stopping.is_set():
            raise TransferStopped
        if self._exhausted:
            return b""
        wanted = (
            self.content_length - self._position
            if size is None or size < 0
            else min(size, BODY_STEP)
        )  # a short read is a valid read
        while len(self._pending) < wanted and not self._finalized:
            step = min(BODY_STEP, self.length - self._done)
            plain = self.read_at(self.offset + self._done, step) if step else b""
            if len(plain) != step:
                raise S3CSEError(
                    "the source changed size during the upload",
                    hint="Do not change a file while it is being uploaded",
                )
            self._done += step
            ciphertext = self._encryptor.update(plain)
            if self._macer is not None:
                self._macer.update(ciphertext)
            self._pending += ciphertext
            if self._done == self.length:
                self._finalized = True
                self.part_hash = self._encryptor.finalize()
                if self._macer is not None:
                    self.index_macs = self._macer.finalize()
                self._pending += self._tag
            callback = self.upload.callback
            if callback is not None and self._done > self._reported:
                callback(self._done - self._reported)
                self._reported = self._done
        out = bytes(self._pending[:wanted])
        del self._pending[:wanted]
        self._position += len(out)
        return out


def tagged_tail(upload: Upload, sent: list[SentPart], tail: PartBody) -> PartBody:
    """The last part: its ciphertext, then the tag over every part's hash (those of
    ``sent`` and the tail's own, computed here)."""
    hasher = PartEncryptor(upload.layout, tail.offset)
    end = tail.offset + tail.length
    for offset in range(tail.offset, end, BODY_STEP):
        hasher.update(tail.read_at(offset, min(BODY_STEP, end - offset)))
    return tail.with_tag(upload.layout.tag([*(part.part_hash for part in sent), hasher.finalize()]))


class PositionalReader:
    """Reads at absolute offsets of a seekable file, safely from several threads."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._base = source.tell()
        self._lock = threading.Lock()
        try:
            self._fd: int | None = source.fileno()
            os.pread(self._fd, 0, self._base)
        except (AttributeError, OSError, ValueError):
            self._fd = None

    def read_at(self, offset: int, size: int) -> bytes:
        if self._fd is not None:
            return os.pread(self._fd, size, self._base + offset)
        with self._lock:
            self._source.seek(self._base + offset)
            return self._source.read(size)


class PositionalWriter:
    def __init__(self, sink: IO[bytes]) -> None:
        self._sink = sink
        self._lock = threading.Lock()
        try:
            self._fd: int | None = sink.fileno()
            sink.flush()
        except (AttributeError, OSError, ValueError):
            self._fd = None
        self._base = sink.tell()

    def write_at(self, offset: int, data: bytes) -> None:
        if self._fd is not None:
            view = memoryview(data)
            while view:
                written = os.pwrite(self._fd, view, self._base + offset)
                view, offset = view[written:], offset + written
            return
        with self._lock:
            self._sink.seek(self._base + offset)
            self._sink.write(data)

    def finish(self, size: int) -> None:
        """Leave the file positioned after the plaintext, as a sequential write would."""
        with self._lock:
            self._sink.seek(self._base + size)


def is_seekable(fileobj: IO[bytes]) -> bool:
    try:
        return bool(fileobj.seekable())
    except (AttributeError, ValueError):
        return False


def parallel_download_applies(
    size: int, md: ContentMetadata, config: TransferConfig, fileobj: IO[bytes]
) -> bool:
    """Ranged GETs in parallel need a large AES-GCM object and a seekable destination;
    anything else is one streamed GET."""
    return size >= config.multipart_threshold and md.suite.authenticated and is_seekable(fileobj)
