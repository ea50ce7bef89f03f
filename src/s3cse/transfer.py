"""Parallel transfers of encrypted objects: multipart uploads and ranged downloads.

AES-GCM is one stream, which is why the AWS clients upload the parts of an encrypted
object one after another. ``gcm`` splits it: every part is encrypted on its own at its
counter offset and its GHASH contribution is combined at the end, so parts are encrypted
and uploaded concurrently and the tag goes at the end of the last part. Downloads run
the same way backwards: ranged GETs decrypted in parallel into a private file, the tag
checked over the whole object before anything reaches the destination (``destinations``).

Memory stays bounded: file parts are read and encrypted as botocore sends them, a small
step at a time; only pipes are buffered, in ``max_concurrency + 1`` part buffers reused
from part to part. Of a part S3 holds, only its ETag and GHASH are kept (``SentPart``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, cast

from ._sync.streams import read_full
from .core import requests
from .core.gcm import GcmLayout, PartDecryptor, PartEncryptor, PartHash
from .core.integrity import CHUNK_SIZE, ChunkMacer, IndexKey
from .core.metadata import ContentMetadata
from .core.multipart import (
    BODY_STEP,
    MAX_PARTS,
    MIN_PART_SIZE,
    Callback,
    MiB,
    PartBuffers,
    SentPart,
    StreamCutter,
    TransferConfig,
    buffer_reader,
    download_plan,
    part_size_for,
    plan_parts,
    pop_put_options,
    upload_part_size,
)
from .core.requests import remaining_length
from .errors import (
    S3CSEError,
    located,
)
from .io import botocore
from .io.files import Spool, atomic_destination

if TYPE_CHECKING:
    from .client import EncryptionClient

__all__ = [
    "MAX_PARTS",
    "MIN_PART_SIZE",
    "Callback",
    "MiB",
    "PartBuffers",
    "SentPart",
    "StreamCutter",
    "TransferConfig",
    "TransferManager",
    "part_size_for",
    "plan_parts",
    "read_full",
    "stop_all_transfers",
]


def parallel_download_applies(
    size: int, md: ContentMetadata, config: TransferConfig, fileobj: IO[bytes]
) -> bool:
    """Ranged GETs in parallel need a large AES-GCM object and a seekable destination;
    anything else is one streamed GET."""
    return size >= config.multipart_threshold and md.suite.authenticated and is_seekable(fileobj)


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


class TransferManager:
    """Parallel uploads and downloads through an ``EncryptionClient``."""

    def __init__(self, client: EncryptionClient, config: TransferConfig | None = None) -> None:
        self.client = client
        self.config = config or TransferConfig()

    # ------------------------------------------------------------------ upload

    def upload_file(
        self,
        filename: str | os.PathLike[str],
        bucket: str,
        key: str,
        extra_args: Mapping[str, Any] | None = None,
        callback: Callback | None = None,
        encryption_context: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        with open(filename, "rb") as source:
            return self.upload_fileobj(
                source, bucket, key, extra_args, callback, encryption_context
            )

    def upload_fileobj(
        self,
        fileobj: IO[bytes],
        bucket: str,
        key: str,
        extra_args: Mapping[str, Any] | None = None,
        callback: Callback | None = None,
        encryption_context: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        extra = dict(extra_args or {})
        size = remaining_length(fileobj)
        first: bytes | None = None
        if size is None:
            first = read_full(fileobj, self.config.multipart_threshold)
        small = len(first) if first is not None else size
        assert small is not None
        if small < self.config.multipart_threshold:
            response = self.client.put_object(
                Bucket=bucket,
                Key=key,
                Body=fileobj if first is None else first,
                EncryptionContext=encryption_context,
                **extra,
            )
            if callback:
                callback(small)
            return dict(response)
        with located(bucket, key):
            return self._multipart(
                fileobj, size, first, bucket, key, extra, callback, encryption_context
            )

    def _multipart(
        self,
        fileobj: IO[bytes],
        size: int | None,
        first: bytes | None,
        bucket: str,
        key: str,
        extra: dict[str, Any],
        callback: Callback | None,
        encryption_context: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        client = self.client
        requests.check_plaintext_limit(size, client.config.write_suite)
        instruction_file, integrity_index = pop_put_options(extra)
        plan = requests.plan_put(
            client.config, extra, encryption_context, instruction_file, integrity_index
        )
        stale = client.session.prepare_sidecars(bucket, key, plan)
        materials = client.session.encryption_materials(
            plan.encryption_request(client.config, size)
        )
        sealed = requests.seal_put(plan, materials, client.config)
        created = client.session.call(
            "create_multipart_upload", bucket, key, "multipart upload start", **sealed.args
        )
        upload = Upload(
            layout=GcmLayout(sealed.content_key),
            index_key=sealed.index_key,
            callback=callback,
            bucket=bucket,
            key=key,
            upload_id=created["UploadId"],
            sse_c=requests.sse_c_args(sealed.args),
        )
        try:
            if size is not None:
                bodies = self._upload_known(upload, fileobj, size)
            else:
                assert first is not None
                bodies = self._upload_stream(upload, fileobj, first)
            parts = [{"PartNumber": n, "ETag": body.etag} for n, body in enumerate(bodies, start=1)]
            response: dict[str, Any] = client.session.call(
                "complete_multipart_upload",
                bucket,
                key,
                "multipart upload completion",
                UploadId=upload.upload_id,
                MultipartUpload={"Parts": parts},
                **upload.sse_c,
            )
        except BaseException as failure:
            try:
                client.s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload.upload_id)
            except Exception as abort_error:
                botocore.report_unaborted_upload(
                    failure, bucket, key, upload.upload_id, abort_error
                )
            raise
        stored = sum(body.length for body in bodies) + sealed.metadata.suite.tag_length
        macs = [mac for body in bodies for mac in body.index_macs]
        client.session.finish_sidecars(bucket, key, sealed, stored, macs, stale)
        return response

    def _send(self, upload: Upload, number: int, body: PartBody) -> SentPart:
        response = self.client.session.call(
            "upload_part",
            upload.bucket,
            upload.key,
            f"upload of part {number}",
            UploadId=upload.upload_id,
            PartNumber=number,
            Body=body,
            ContentLength=body.content_length,
            **upload.sse_c,
        )
        return body.sent(response["ETag"])

    def _upload_known(self, upload: Upload, fileobj: IO[bytes], size: int) -> list[SentPart]:
        plan = plan_parts(size, upload_part_size(size, self.config, upload.index_key is not None))
        read_at = PositionalReader(fileobj).read_at
        bodies = [PartBody(upload, read_at, offset, length) for offset, length in plan]
        with worker_pool(self.config.max_concurrency, upload.stopping) as (pool, _):
            futures = [
                pool.submit(self._send, upload, n, body)
                for n, body in enumerate(bodies[:-1], start=1)
            ]
            sent = _gather(futures)
            sent.append(self._send(upload, len(plan), tagged_tail(upload, sent, bodies[-1])))
        return sent

    def _upload_stream(self, upload: Upload, fileobj: IO[bytes], first: bytes) -> list[SentPart]:
        """A pipe: at most max_concurrency + 1 parts of plaintext are held at once, in
        buffers reused from part to part."""
        part_size = upload_part_size(None, self.config, upload.index_key is not None)
        cutter = StreamCutter(first, part_size, self.client.config.write_suite.max_plaintext or 0)
        buffers = PartBuffers(part_size)
        slots = threading.BoundedSemaphore(self.config.max_concurrency + 1)

        def send(number: int, body: PartBody, buffer: bytearray) -> SentPart:
            try:
                return self._send(upload, number, body)
            finally:
                buffers.give(buffer)
                slots.release()

        futures: list[Future[SentPart]] = []
        with worker_pool(self.config.max_concurrency, upload.stopping) as (pool, stopping):
            while True:
                slots.acquire()
                raise_first_failure(futures, stopping)
                buffer = buffers.take()
                cutter.begin(buffer)
                fill_part(cutter, fileobj)
                offset, length, last = cutter.cut()
                body = PartBody(upload, buffer_reader(buffer, offset), offset, length)
                if last:
                    break
                futures.append(pool.submit(send, cutter.parts, body, buffer))
            sent = _gather(futures)
            sent.append(self._send(upload, cutter.parts, tagged_tail(upload, sent, body)))
        return sent

    # ------------------------------------------------------------------ download

    def download_file(
        self,
        bucket: str,
        key: str,
        filename: str | os.PathLike[str],
        callback: Callback | None = None,
        encryption_context: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Parallel ranged GETs into a file beside ``filename`` that takes its place only
        once the whole object has verified (see ``destinations``)."""
        config = self.client.config
        with (
            located(bucket, key),
            atomic_destination(
                Path(filename),
                config.spool_threshold,
                config.spool_dir,
                release_early=config.delayed_authentication,
            ) as destination,
        ):
            self._download_into(
                bucket, key, destination.file, callback, encryption_context, **kwargs
            )
            destination.release()

    def download_fileobj(
        self,
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        callback: Callback | None = None,
        encryption_context: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> int:
        """Decrypt into ``fileobj`` once the whole object has verified, so that it gets
        nothing of an altered one; meanwhile the plaintext waits in a private ``Spool``.
        With ``delayed_authentication`` it is written as it arrives instead."""
        config = self.client.config
        if config.delayed_authentication:
            return self._download_into(bucket, key, fileobj, callback, encryption_context, **kwargs)
        with (
            located(bucket, key),
            contextlib.closing(Spool(config.spool_threshold, config.spool_dir)) as spool,
        ):
            with spool.filling():
                written = self._download_into(
                    bucket, key, spool.file, callback, encryption_context, **kwargs
                )
            spool.copy_to(fileobj.write)
        return written

    def _download_into(
        self,
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        callback: Callback | None,
        encryption_context: Mapping[str, str] | None,
        **kwargs: Any,
    ) -> int:
        """Decrypt into ``fileobj`` (parallel ranges if it is seekable), which holds
        unauthenticated plaintext if this raises: only private files may be passed, or a
        caller's under delayed authentication."""
        client = self.client
        with located(bucket, key):
            head = client.session.call("head_object", bucket, key, "head", **kwargs)
            size = int(head["ContentLength"])
            md = client.session.content_metadata(
                bucket,
                key,
                head.get("Metadata", {}),
                kwargs.pop("InstructionFileSuffix", None),
                kwargs,
            )
            if not parallel_download_applies(size, md, self.config, fileobj):
                with running() as stopping:
                    written = client.stream_download(
                        bucket,
                        key,
                        cast(IO[bytes], StopCheckingSink(fileobj, stopping)),
                        EncryptionContext=encryption_context,
                        IfMatch=head["ETag"],
                        **kwargs,
                    )
                if callback:
                    callback(written)
                return written
            content_key = client.session.unwrap(md, encryption_context)
            return self.download_verified(
                bucket,
                key,
                fileobj,
                GcmLayout(content_key),
                size,
                {"IfMatch": head["ETag"], **kwargs},
                callback,
            )

    def download_verified(
        self,
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        layout: GcmLayout,
        size: int,
        get_args: Mapping[str, Any],
        callback: Callback | None = None,
    ) -> int:
        """Parallel ranged GETs of an AES-GCM object whose key is known, tag verified."""
        plain_size, plan = download_plan(layout, size, self.config)
        writer = PositionalWriter(fileobj)
        with worker_pool(self.config.max_concurrency) as (pool, stopping):
            futures = [
                pool.submit(
                    self._download_range,
                    bucket,
                    key,
                    layout,
                    offset,
                    length,
                    writer,
                    callback,
                    get_args,
                    stopping,
                )
                for offset, length in plan
            ]
            tag_future = pool.submit(self._read_range, bucket, key, plain_size, size - 1, get_args)
            hashes = _gather(futures)
            tag = tag_future.result()
        layout.verify(hashes, tag)
        writer.finish(plain_size)
        return plain_size

    def _read_range(
        self, bucket: str, key: str, first: int, last: int, get_args: Mapping[str, Any]
    ) -> bytes:
        response = self.client.session.call(
            "get_object", bucket, key, "ranged download", Range=f"bytes={first}-{last}", **get_args
        )
        with contextlib.closing(response["Body"]) as stream:
            data: bytes = stream.read()
            return data

    def _download_range(
        self,
        bucket: str,
        key: str,
        layout: GcmLayout,
        offset: int,
        length: int,
        writer: PositionalWriter,
        callback: Callback | None,
        get_args: Mapping[str, Any],
        stopping: threading.Event,
    ) -> PartHash:
        decryptor = PartDecryptor(layout, offset)
        if length == 0:
            return decryptor.finalize()
        response = self.client.session.call(
            "get_object",
            bucket,
            key,
            "ranged download",
            Range=f"bytes={offset}-{offset + length - 1}",
            **get_args,
        )
        position = offset
        with contextlib.closing(response["Body"]) as stream:
            for chunk in iter(lambda: stream.read(BODY_STEP), b""):
                if stopping.is_set():
                    raise TransferStopped
                writer.write_at(position, decryptor.update(chunk))
                position += len(chunk)
                if callback:
                    callback(len(chunk))
        if position != offset + length:
            raise S3CSEError(f"ranged download returned {position - offset} of {length} bytes")
        return decryptor.finalize()


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


class TransferStopped(BaseException):
    """Raised in the parts of a transfer that is being given up. Not an ``Exception``:
    botocore would take one raised while a body is sent for a network error and retry
    it, with backoff, before the transfer could stop."""


class _RunningTransfers:
    """The stop flags of the transfers under way in this process, whatever their thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags: set[threading.Event] = set()
        self._stopped = False

    def add(self, flag: threading.Event) -> None:
        with self._lock:
            self._flags.add(flag)
            if self._stopped:
                flag.set()

    def discard(self, flag: threading.Event) -> None:
        with self._lock:
            self._flags.discard(flag)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for flag in self._flags:
                flag.set()


_RUNNING = _RunningTransfers()


def stop_all_transfers() -> None:
    """Stop every parallel transfer of this process, on whatever thread it runs, and
    any started afterwards: for a program that is exiting on Ctrl-C or SIGTERM while
    transfers run on other threads (``cp --recursive``), which the interrupt, raised on
    the main thread only, would otherwise let run to their end. Uploads stopped so are
    aborted, downloads leave nothing."""
    _RUNNING.stop()


@contextlib.contextmanager
def worker_pool(
    workers: int,
    stopping: threading.Event | None = None,
) -> Iterator[tuple[ThreadPoolExecutor, threading.Event]]:
    """A thread pool and its ``stopping`` flag. When the caller fails or is interrupted
    (Ctrl-C, SIGTERM; ``stop_all_transfers`` from another thread), work not started is
    dropped and running work is asked to stop, so the failure takes effect at once
    instead of after every part has been sent."""
    pool = ThreadPoolExecutor(workers)
    with running(stopping) as flag:
        try:
            yield pool, flag
        except BaseException:
            flag.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


@contextlib.contextmanager
def running(stopping: threading.Event | None = None) -> Iterator[threading.Event]:
    """A transfer's stop flag, which ``stop_all_transfers`` sets while it runs."""
    flag = stopping if stopping is not None else threading.Event()
    _RUNNING.add(flag)
    try:
        yield flag
    finally:
        _RUNNING.discard(flag)


class StopCheckingSink:
    """A destination that gives up the transfer writing into it once that is stopped
    (a streamed download has no parts to check the flag between)."""

    def __init__(self, sink: IO[bytes], stopping: threading.Event) -> None:
        self._sink, self._stopping = sink, stopping

    def write(self, data: bytes) -> int:
        if self._stopping.is_set():
            raise TransferStopped
        return self._sink.write(data)


class Outcome(Protocol):
    """A thread's ``Future`` or an asyncio task."""

    def done(self) -> bool: ...

    def exception(self) -> BaseException | None: ...

    def result(self) -> Any: ...


def raise_first_failure(futures: Iterable[Outcome], stopping: threading.Event) -> None:
    """Between parts of a stream: stop reading it once a part has failed or the upload
    is being given up."""
    if stopping.is_set():
        raise TransferStopped
    for future in futures:
        if future.done() and future.exception() is not None:
            future.result()


def _gather(futures: list[Future[Any]]) -> list[Any]:
    """Results in order; on the first failure, cancel what has not started and re-raise."""
    done, _ = wait(futures, return_when=FIRST_EXCEPTION)
    for future in done:
        if future.exception() is not None:
            for other in futures:
                other.cancel()
            raise future.exception()  # type: ignore[misc]
    return [f.result() for f in futures]
