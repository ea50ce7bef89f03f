"""The file objects of ``s3cse://``: a seekable plaintext view of one encrypted object
(ranged reads through its ``AsyncObjectReader``), or a streaming upload into one.

fsspec calls a file from the caller's thread; each request runs on the filesystem's
event loop (``fsspec.asyn.sync``), as s3fs's own files do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any, Protocol

from fsspec.asyn import sync
from fsspec.spec import AbstractBufferedFile

from .._async.client import AsyncEncryptionClient
from .._async.reader import AsyncObjectReader
from ..errors import S3CSEError
from ..io.botocore import object_changed
from .errors import filesystem_errors
from .readahead import ReadAhead


class FileSystem(Protocol):
    """What a file needs of its filesystem (``S3CSEFileSystem``)."""

    loop: asyncio.AbstractEventLoop
    encryption_context: Mapping[str, str]

    def split_path(self, path: str) -> tuple[str, str, str | None]: ...

    def invalidate_cache(self, path: str | None = None) -> None: ...

    async def encryption_client(self, bucket: str | None = None) -> AsyncEncryptionClient: ...

    async def open_file_reader(self, path: str) -> tuple[AsyncObjectReader, int, bytes]: ...


class _Pipe:
    """Blocks written by the file, read by its upload as an async reader: a bounded
    hand-over on the filesystem's loop. A block that is an exception fails the read."""

    def __init__(self, depth: int = 2) -> None:
        self._blocks: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(depth)
        self._pending = b""
        self._done = False

    async def put(self, block: bytes | BaseException | None) -> None:
        await self._blocks.put(block)

    async def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._pending) < size):
            block = await self._blocks.get()
            if isinstance(block, BaseException):
                raise block
            if block is None:
                self._done = True
                break
            self._pending += block
        cut = len(self._pending) if size < 0 else size
        out, self._pending = self._pending[:cut], self._pending[cut:]
        return out


class _Aborted(S3CSEError):
    """The writer raised: the upload is abandoned, nothing is stored."""


class _Upload:
    """``upload_fileobj`` of a ``_Pipe``, running as a task on the filesystem's loop."""

    def __init__(self, client: AsyncEncryptionClient, bucket: str, key: str, extra: Any) -> None:
        self.pipe = _Pipe()
        self.task = asyncio.ensure_future(
            client.upload_fileobj(self.pipe, bucket, key, ExtraArgs=extra)
        )

    async def send(self, block: bytes | BaseException | None) -> None:
        """Hand ``block`` to the upload; raises what the upload raised if it has stopped
        (a full pipe then never blocks the writer for good)."""
        put = asyncio.ensure_future(self.pipe.put(block))
        await asyncio.wait({put, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():
            put.cancel()
        if self.task.done():
            self.task.result()

    async def finish(self) -> None:
        await self.send(None)
        await self.task

    async def abort(self) -> None:
        """Fail the upload from inside (aborting any multipart upload) and wait for it;
        the writer's own exception is the one that matters, so the upload's is dropped."""
        with contextlib.suppress(Exception):
            await self.send(_Aborted("the writer discarded the file"))
            await self.task


class S3CSEFile(AbstractBufferedFile):  # type: ignore[misc]
    """A seekable plaintext view of one encrypted object, or a streaming upload into one."""

    def __init__(self, fs: FileSystem, path: str, mode: str = "rb", **kwargs: Any) -> None:
        self._reader: AsyncObjectReader | None = None
        tail_start, tail = 0, b""
        if mode == "rb":
            with filesystem_errors(path):
                self._reader, tail_start, tail = sync(fs.loop, fs.open_file_reader, path)
            kwargs["size"] = self._reader.size
        super().__init__(fs, path, mode, **kwargs)
        if tail and isinstance(self.cache, ReadAhead):
            self.cache.seed_tail(tail_start, tail)
        self._upload: _Upload | None = None

    @property
    def protection(self) -> str:
        """How reads are protected: ``indexed``, ``whole`` or ``unauthenticated``."""
        return self._reader.mode if self._reader is not None else "write"

    def _fetch_range(self, start: int, end: int) -> bytes:
        assert self._reader is not None
        with filesystem_errors(self.path):
            try:
                data: bytes = sync(self.fs.loop, self._reader.read, start, end - 1)
            except S3CSEError as exc:
                if object_changed(exc):  # overwritten while open: never mixed versions
                    self.fs.invalidate_cache(self.path)
                raise
            return data

    def _initiate_upload(self) -> None:
        self._upload = sync(self.fs.loop, self._start_upload)

    async def _start_upload(self) -> _Upload:
        bucket, key, _ = self.fs.split_path(self.path)
        client = await self.fs.encryption_client(bucket)
        return _Upload(client, bucket, key, {"EncryptionContext": self.fs.encryption_context})

    def _upload_chunk(self, final: bool = False) -> bool:
        upload = self._upload
        assert upload is not None
        with filesystem_errors(self.path):
            sync(self.fs.loop, upload.send, self.buffer.getvalue())
            if final:
                sync(self.fs.loop, upload.finish)
                self.fs.invalidate_cache(self.path)
        return True

    def discard(self) -> None:
        """Abandon a write: the upload fails, aborting any multipart upload."""
        if self._upload is not None:
            sync(self.fs.loop, self._upload.abort)
        self.closed = True

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc_type is not None and self.mode == "wb":
            if self._upload is None and not self.closed:
                self.closed = True  # nothing was sent: simply never upload
                return
            self.discard()
            return
        self.close()

    def close(self) -> None:
        super().close()
        if self._reader is not None:
            self._reader.close()
