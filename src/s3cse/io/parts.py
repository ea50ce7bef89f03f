"""The parts of a parallel transfer, whichever way it waits: a multipart upload's part
bodies (each encrypted once, in its buffer), the tagged last part, and positional reads
and writes of the files on either end.

Memory stays bounded: a part is held in one of a few part-sized buffers reused from
part to part (``core.multipart.PartBuffers``). Of a part S3 holds, only its ETag and
GHASH are kept (``SentPart``).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import IO, Any

from ..core.gcm import GcmLayout, PartEncryptor, PartHash
from ..core.integrity import CHUNK_SIZE, ChunkMacer, IndexKey
from ..core.metadata import ContentMetadata
from ..core.multipart import BODY_STEP, Callback, SentPart, TransferConfig
from ..errors import S3CSEError
from .encrypting import read_once


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
    """One part's ciphertext, encrypted once, in place, in the buffer that held its
    plaintext; then read by botocore as often as it likes: a flexible checksum, the
    SigV4 payload hash over http://, the send itself and every retry each read the
    body, and none of them encrypts it again.

    ``encrypt`` leaves the part's GHASH contribution (and integrity-index MACs); the
    last part gets the object's tag after its ciphertext (``add_tag``).
    """

    def __init__(self, upload: Upload, buffer: bytearray, offset: int, length: int) -> None:
        self.upload = upload
        self.offset, self.length = offset, length
        self._view = memoryview(buffer)[:length]
        self._tag = b""
        self.part_hash: PartHash | None = None
        self.index_macs: list[bytes] = []
        self._position = 0
        self._reported = 0

    @property
    def content_length(self) -> int:
        return self.length + len(self._tag)

    def encrypt(self) -> PartBody:
        """Turn the buffer's plaintext into ciphertext, a step at a time (a stopped
        transfer notices within one step)."""
        encryptor = PartEncryptor(self.upload.layout, self.offset)
        index_key = self.upload.index_key
        macer = ChunkMacer(index_key, self.offset // CHUNK_SIZE) if index_key else None
        for start in range(0, self.length, BODY_STEP):
            if self.upload.stopping.is_set():
                raise TransferStopped
            step = self._view[start : start + BODY_STEP]
            step[:] = encryptor.update(step)
            if macer is not None:
                macer.update(step)
        self.part_hash = encryptor.finalize()
        self.index_macs = macer.finalize() if macer is not None else []
        return self

    def add_tag(self, tag: bytes) -> None:
        self._tag = tag

    def sent(self, etag: str) -> SentPart:
        """What is kept once S3 holds the part; its buffer can take the next part."""
        if self.part_hash is None:
            raise S3CSEError("a part was sent without being encrypted")
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
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self.content_length}
        target = base[whence] + offset
        if not 0 <= target <= self.content_length:
            raise OSError("seek outside a part body")
        self._position = target
        return target

    def read(self, size: int | None = -1) -> bytes:
        if self.upload.stopping.is_set():
            raise TransferStopped
        start = self._position
        wanted = self.content_length - start
        if size is not None and size >= 0:
            wanted = min(wanted, size, BODY_STEP)  # a short read is a valid read
        end = start + wanted
        out = bytes(self._view[start:end])
        if end > self.length:
            out += self._tag[max(start - self.length, 0) : end - self.length]
        self._position = end
        self._report(min(end, self.length))
        return out

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _report(self, done: int) -> None:
        """Progress is the plaintext read the first time over (botocore reads again)."""
        callback = self.upload.callback
        if callback is not None and done > self._reported:
            callback(done - self._reported)
            self._reported = done


def file_part(
    upload: Upload, source: PositionalReader, buffer: bytearray, offset: int, length: int
) -> PartBody:
    """A part of a file read into ``buffer``, to be encrypted there."""
    view = memoryview(buffer)[:length]
    if source.read_into(offset, view) != length:
        raise S3CSEError(
            "the source changed size during the upload",
            hint="Do not change a file while it is being uploaded",
        )
    return PartBody(upload, buffer, offset, length)


def tagged_tail(upload: Upload, sent: list[SentPart], tail: PartBody) -> PartBody:
    """The last part, encrypted, then the tag over every part's hash after it."""
    tail.encrypt()
    assert tail.part_hash is not None
    tail.add_tag(upload.layout.tag([*(part.part_hash for part in sent), tail.part_hash]))
    return tail


class PositionalReader:
    """Reads at absolute offsets of a seekable file, safely from several threads."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._base = source.tell()
        self._lock = threading.Lock()
        try:
            self._fd: int | None = source.fileno()
            os.preadv(self._fd, [bytearray(0)], self._base)
        except (AttributeError, OSError, ValueError):
            self._fd = None

    def read_into(self, offset: int, view: memoryview) -> int:
        """Fill ``view`` from ``offset``; fewer bytes only where the file ends."""
        done = 0
        while done < len(view):
            count = self._read_some(offset + done, view[done:])
            if not count:
                break
            done += count
        return done

    def _read_some(self, offset: int, view: memoryview) -> int:
        if self._fd is not None:
            return os.preadv(self._fd, [view], self._base + offset)
        with self._lock:
            self._source.seek(self._base + offset)
            return read_once(self._source, view)


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
