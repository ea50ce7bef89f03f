"""Parallel transfers on asyncio: multipart uploads and ranged downloads.

The async twin of ``transfer``, built from the same parts: ``plan_parts`` /
``upload_part_size`` cut the object, each part is a ``PartBody`` (``gcm.PartEncryptor``
under the hood, encrypted as aiohttp reads it on a worker thread), ``tagged_tail`` ends
the stream with the tag over every part's GHASH, ``download_plan`` and
``gcm.PartDecryptor`` take it apart again. Parts go up concurrently (``asyncio.gather``
bounded by a semaphore of ``max_concurrency``); any failure cancels the rest and aborts
the multipart upload. Downloads write into a private file; nothing reaches the
destination before the tag over the whole object verifies (``destinations``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Awaitable, Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from ._async.streams import read_all
from ._async.streams import read_full as aread_full
from .core import requests
from .core.gcm import GcmLayout, PartDecryptor, PartHash
from .core.multipart import (
    BODY_STEP,
    PartBuffers,
    SentPart,
    StreamCutter,
    TransferConfig,
    buffer_reader,
    download_plan,
    plan_parts,
    pop_put_options,
    upload_part_size,
)
from .core.requests import remaining_length
from .errors import S3CSEError, located
from .io import botocore
from .io.aio import (
    body_checksum,
    checksum_algorithm,
    is_async_reader,
    is_async_writer,
    request_body,
    sink_writer,
)
from .io.files import Spool, async_destination
from .transfer import (
    Callback,
    PartBody,
    PositionalReader,
    PositionalWriter,
    Upload,
    fill_part,
    parallel_download_applies,
    raise_first_failure,
    read_full,
    tagged_tail,
)

if TYPE_CHECKING:
    from ._async.client import AsyncEncryptionClient

T = TypeVar("T")


class AsyncTransferManager:
    """Parallel uploads and downloads through an ``AsyncEncryptionClient``."""

    def __init__(self, client: AsyncEncryptionClient, config: TransferConfig | None = None) -> None:
        self.client = client
        self.config = config or TransferConfig()

    # ------------------------------------------------------------------ upload

    async def upload_file(
        self,
        filename: str | os.PathLike[str],
        bucket: str,
        key: str,
        extra_args: Mapping[str, Any] | None = None,
        callback: Callback | None = None,
        encryption_context: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        with open(filename, "rb") as source:
            return await self.upload_fileobj(
                source, bucket, key, extra_args, callback, encryption_context
            )

    async def upload_fileobj(
        self,
        fileobj: Any,
        bucket: str,
        key: str,
        extra_args: Mapping[str, Any] | None = None,
        callback: Callback | None = None,
        encryption_context: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        extra = dict(extra_args or {})
        threshold = self.config.multipart_threshold
        size = None if is_async_reader(fileobj) else remaining_length(fileobj)
        first: bytes | None = None
        if size is None:
            first = (
                await aread_full(fileobj, threshold)
                if is_async_reader(fileobj)
                else await asyncio.to_thread(read_full, fileobj, threshold)
            )
        small = len(first) if first is not None else size
        assert small is not None
        if small < threshold:
            response = await self.client.put_object(
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
            return await self._multipart(
                fileobj, size, first, bucket, key, extra, callback, encryption_context
            )

    async def _multipart(
        self,
        fileobj: Any,
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
        stale = await client.session.prepare_sidecars(bucket, key, plan)
        materials = await client.session.encryption_materials(
            plan.encryption_request(client.config, size)
        )
        sealed = requests.seal_put(plan, materials, client.config)
        created = await client.session.call(
            "create_multipart_upload", bucket, key, "multipart upload start", **sealed.args
        )
        upload = Upload(
            layout=GcmLayout(sealed.content_key),
            index_key=sealed.index_key,
            callback=_on_loop(callback),
            bucket=bucket,
            key=key,
            upload_id=created["UploadId"],
            sse_c=requests.sse_c_args(sealed.args),
        )
        try:
            if size is not None:
                bodies = await self._upload_known(upload, fileobj, size)
            else:
                assert first is not None
                bodies = await self._upload_stream(upload, fileobj, first)
            parts = [{"PartNumber": n, "ETag": body.etag} for n, body in enumerate(bodies, start=1)]
            response: dict[str, Any] = await client.session.call(
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
                await client.s3.abort_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=upload.upload_id
                )
            except Exception as abort_error:
                botocore.report_unaborted_upload(
                    failure, bucket, key, upload.upload_id, abort_error
                )
            raise
        stored = sum(body.length for body in bodies) + sealed.metadata.suite.tag_length
        macs = [mac for body in bodies for mac in body.index_macs]
        await client.session.finish_sidecars(bucket, key, sealed, stored, macs, stale)
        return response

    async def _send(self, upload: Upload, number: int, body: PartBody) -> SentPart:
        client = self.client
        checksum = await asyncio.to_thread(
            body_checksum, body, checksum_algorithm(client.s3, upload.sse_c)
        )
        response = await client.session.call(
            "upload_part",
            upload.bucket,
            upload.key,
            f"upload of part {number}",
            UploadId=upload.upload_id,
            PartNumber=number,
            Body=request_body(body),
            ContentLength=body.content_length,
            **checksum,
            **upload.sse_c,
        )
        return body.sent(response["ETag"])

    async def _upload_known(self, upload: Upload, fileobj: IO[bytes], size: int) -> list[SentPart]:
        plan = plan_parts(size, upload_part_size(size, self.config, upload.index_key is not None))
        read_at = PositionalReader(fileobj).read_at
        bodies = [PartBody(upload, read_at, offset, length) for offset, length in plan]
        slots = asyncio.Semaphore(self.config.max_concurrency)

        async def send(number: int, body: PartBody) -> SentPart:
            async with slots:
                return await self._send(upload, number, body)

        sent = await gather_or_cancel(send(n, body) for n, body in enumerate(bodies[:-1], start=1))
        tail = await asyncio.to_thread(tagged_tail, upload, sent, bodies[-1])
        sent.append(await self._send(upload, len(plan), tail))
        return sent

    async def _upload_stream(self, upload: Upload, fileobj: Any, first: bytes) -> list[SentPart]:
        """A pipe or an async reader: at most max_concurrency + 1 parts of plaintext are
        held at once, in buffers reused from part to part."""
        part_size = upload_part_size(None, self.config, upload.index_key is not None)
        cutter = StreamCutter(first, part_size, self.client.config.write_suite.max_plaintext or 0)
        buffers = PartBuffers(part_size)
        slots = asyncio.Semaphore(self.config.max_concurrency + 1)  # parts held
        sending = asyncio.Semaphore(self.config.max_concurrency)  # parts in flight

        async def send(number: int, body: PartBody, buffer: bytearray) -> SentPart:
            try:
                async with sending:
                    return await self._send(upload, number, body)
            finally:
                buffers.give(buffer)
                slots.release()

        tasks: list[asyncio.Task[SentPart]] = []
        try:
            while True:
                await slots.acquire()
                raise_first_failure(tasks, upload.stopping)
                buffer = buffers.take()
                cutter.begin(buffer)
                await afill_part(cutter, fileobj)
                offset, length, last = cutter.cut()
                body = PartBody(upload, buffer_reader(buffer, offset), offset, length)
                if last:
                    break
                tasks.append(asyncio.ensure_future(send(cutter.parts, body, buffer)))
            sent = await gather_or_cancel(tasks)
        except BaseException:
            await cancel_all(tasks)
            raise
        tail = await asyncio.to_thread(tagged_tail, upload, sent, body)
        sent.append(await self._send(upload, cutter.parts, tail))
        return sent

    # ------------------------------------------------------------------ download

    async def download_file(
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
        with located(bucket, key):
            async with async_destination(
                Path(filename),
                config.spool_threshold,
                config.spool_dir,
                release_early=config.delayed_authentication,
            ) as destination:
                await self._download_into(
                    bucket, key, destination.file, callback, encryption_context, **kwargs
                )
                await asyncio.to_thread(destination.release)

    async def download_fileobj(
        self,
        bucket: str,
        key: str,
        fileobj: Any,
        callback: Callback | None = None,
        encryption_context: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> int:
        """Decrypt into ``fileobj`` (a binary file or an async writer) once the whole
        object has verified, so that it gets nothing of an altered one; meanwhile the
        plaintext waits in a private ``Spool``. With ``delayed_authentication`` it is
        written as it arrives instead."""
        config = self.client.config
        write = sink_writer(fileobj)
        if config.delayed_authentication:
            return await self._download_into(
                bucket, key, fileobj, callback, encryption_context, **kwargs
            )
        with (
            located(bucket, key),
            contextlib.closing(Spool(config.spool_threshold, config.spool_dir)) as spool,
        ):
            with spool.filling():
                written = await self._download_into(
                    bucket, key, spool.file, callback, encryption_context, **kwargs
                )
            if is_async_writer(fileobj):
                for chunk in spool.chunks():
                    await write(chunk)
            else:  # a file or pipe may block: not on the event loop
                await asyncio.to_thread(spool.copy_to, write)
        return written

    async def _download_into(
        self,
        bucket: str,
        key: str,
        fileobj: Any,
        callback: Callback | None,
        encryption_context: Mapping[str, str] | None,
        **kwargs: Any,
    ) -> int:
        """Decrypt into ``fileobj`` (parallel ranges if it is a seekable file), which
        holds unauthenticated plaintext if this raises: only private files may be
        passed, or a caller's under delayed authentication."""
        client = self.client
        with located(bucket, key):
            head = await client.session.call("head_object", bucket, key, "head", **kwargs)
            size = int(head["ContentLength"])
            md = await client.session.content_metadata(
                bucket,
                key,
                head.get("Metadata", {}),
                kwargs.pop("InstructionFileSuffix", None),
                kwargs,
            )
            if is_async_writer(fileobj) or not parallel_download_applies(
                size, md, self.config, fileobj
            ):
                written = await client.stream_download(
                    bucket,
                    key,
                    fileobj,
                    EncryptionContext=encryption_context,
                    IfMatch=head["ETag"],
                    **kwargs,
                )
                if callback:
                    callback(written)
                return written
            content_key = await client.session.unwrap(md, encryption_context)
            return await self.download_verified(
                bucket,
                key,
                fileobj,
                GcmLayout(content_key),
                size,
                {"IfMatch": head["ETag"], **kwargs},
                callback,
            )

    async def download_verified(
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
        slots = asyncio.Semaphore(self.config.max_concurrency)

        async def part(offset: int, length: int) -> PartHash:
            async with slots:
                return await self._download_range(
                    bucket, key, layout, offset, length, writer, callback, get_args
                )

        async def tag() -> bytes:
            async with slots:
                response = await self.client.session.call(
                    "get_object",
                    bucket,
                    key,
                    "ranged download",
                    Range=f"bytes={plain_size}-{size - 1}",
                    **get_args,
                )
                return await read_all(response)

        tag_task = asyncio.ensure_future(tag())
        try:
            hashes = await gather_or_cancel(part(o, n) for o, n in plan)
            stored_tag = await tag_task
        except BaseException:
            await cancel_all([tag_task])
            raise
        layout.verify(hashes, stored_tag)
        writer.finish(plain_size)
        return plain_size

    async def _download_range(
        self,
        bucket: str,
        key: str,
        layout: GcmLayout,
        offset: int,
        length: int,
        writer: PositionalWriter,
        callback: Callback | None,
        get_args: Mapping[str, Any],
    ) -> PartHash:
        decryptor = PartDecryptor(layout, offset)
        if length == 0:
            return decryptor.finalize()
        response = await self.client.session.call(
            "get_object",
            bucket,
            key,
            "ranged download",
            Range=f"bytes={offset}-{offset + length - 1}",
            **get_args,
        )
        position = offset
        stream = response["Body"]
        try:
            while chunk := await stream.read(BODY_STEP):
                writer.write_at(position, decryptor.update(chunk))
                position += len(chunk)
                if callback:
                    callback(len(chunk))
        finally:
            stream.close()
        if position != offset + length:
            raise S3CSEError(f"ranged download returned {position - offset} of {length} bytes")
        return decryptor.finalize()


async def afill_part(cutter: StreamCutter, source: Any) -> None:
    """Read the part ``cutter`` has begun from an async reader, or from a binary file or
    pipe on a worker thread."""
    if not is_async_reader(source):
        await asyncio.to_thread(fill_part, cutter, source)
        return
    while (space := cutter.space()) is not None:
        data = await source.read(min(len(space), BODY_STEP))
        space[: len(data)] = data
        cutter.add(len(data))


async def gather_or_cancel(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """``asyncio.gather``, except that the first failure cancels the others (and waits
    for them to stop) before it is raised."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        await cancel_all(tasks)
        raise


async def cancel_all(tasks: Iterable[asyncio.Future[Any]]) -> None:
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _on_loop(callback: Callback | None) -> Callback | None:
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
