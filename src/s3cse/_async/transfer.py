"""Parallel transfers of encrypted objects through a session: multipart uploads and
ranged downloads.

AES-GCM is one stream, which is why the AWS clients upload the parts of an encrypted
object one after another. ``gcm`` splits it: every part is encrypted on its own at its
counter offset and its GHASH contribution is combined at the end, so parts are encrypted
and uploaded concurrently and the tag goes at the end of the last part. Downloads run
the same way backwards (``ranged``): ranged GETs decrypted in parallel into a private
file, the tag checked over the whole object before anything reaches the destination
(``io.files``).

Each byte is encrypted once: a part is read into a buffer, encrypted there, and only
then handed to botocore, which reads it several times (``io.parts``). Memory stays
bounded: parts are held in at most ``max_concurrency`` (+1 for a pipe) buffers reused
from part to part, fewer when parts are large (``core.multipart.parts_at_once``). Any
failure stops the other parts and aborts the multipart upload.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from ..core import requests
from ..core.gcm import GcmLayout
from ..core.integrity import SidecarHeader
from ..core.multipart import (
    Callback,
    PartBuffers,
    SentPart,
    StreamCutter,
    TransferConfig,
    parts_at_once,
    plan_parts,
    pop_put_options,
    upload_part_size,
)
from ..errors import located
from ..io.aio import is_async_writer
from ..io.backends import (
    AsyncPlainSource,
    AsyncSink,
    async_run_blocking,
    async_sink_write,
    async_upload_args,
    async_write_to,
)
from ..io.botocore import report_unaborted_upload
from ..io.files import Spool, async_destination, writes_in_place
from ..io.parts import (
    PartBody,
    PositionalReader,
    Upload,
    file_part,
    parallel_download_applies,
    tagged_tail,
)
from ..io.running import (
    AsyncRunner,
    AsyncSemaphore,
    async_copy_spool,
    async_fill_part,
    async_known_length,
    async_stoppable_sink,
    async_thread_callback,
)
from . import ranged, reading, writing
from .session import AsyncSession
from .streams import read_full


class AsyncTransferManager:
    """Parallel uploads and downloads through a session (as s3transfer's through the
    client it is given)."""

    def __init__(self, session: AsyncSession, config: TransferConfig | None = None) -> None:
        self.session = session
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
        fileobj: AsyncPlainSource,
        bucket: str,
        key: str,
        extra_args: Mapping[str, Any] | None = None,
        callback: Callback | None = None,
        encryption_context: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        extra = dict(extra_args or {})
        threshold = self.config.multipart_threshold
        size = async_known_length(fileobj)
        first: bytes | None = None
        if size is None:
            first = await read_full(fileobj, threshold)
        small = len(first) if first is not None else size
        assert small is not None
        if small < threshold:
            instruction_file, integrity_index = pop_put_options(extra)
            with located(bucket, key):
                response = await writing.put_object(
                    self.session,
                    bucket,
                    key,
                    fileobj if first is None else first,
                    encryption_context,
                    instruction_file,
                    integrity_index,
                    extra,
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
        fileobj: AsyncPlainSource,
        size: int | None,
        first: bytes | None,
        bucket: str,
        key: str,
        extra: dict[str, Any],
        callback: Callback | None,
        encryption_context: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        session, config = self.session, self.session.config
        requests.check_plaintext_limit(size, config.write_suite)
        instruction_file, integrity_index = pop_put_options(extra)
        plan = requests.plan_put(
            config, extra, encryption_context, instruction_file, integrity_index
        )
        stale = await session.prepare_sidecars(bucket, key, plan)
        materials = await session.encryption_materials(plan.encryption_request(config, size))
        sealed = requests.seal_put(plan, materials, config)
        created = await session.call(
            "create_multipart_upload", bucket, key, "multipart upload start", **sealed.args
        )
        upload = Upload(
            layout=GcmLayout(sealed.content_key),
            index_key=sealed.index_key,
            callback=async_thread_callback(callback),
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
            response = await session.call(
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
                await session.abort_multipart_upload(bucket, key, upload.upload_id)
            except Exception as abort_error:
                report_unaborted_upload(failure, bucket, key, upload.upload_id, abort_error)
            raise
        stored = sum(body.length for body in bodies) + sealed.metadata.suite.tag_length
        macs = [mac for body in bodies for mac in body.index_macs]
        await session.finish_sidecars(bucket, key, sealed, stored, macs, stale)
        return response

    async def _send(self, upload: Upload, number: int, body: PartBody) -> SentPart:
        response = await self.session.call(
            "upload_part",
            upload.bucket,
            upload.key,
            f"upload of part {number}",
            UploadId=upload.upload_id,
            PartNumber=number,
            ContentLength=body.content_length,
            **await async_upload_args(self.session.s3, body, upload.sse_c),
            **upload.sse_c,
        )
        return body.sent(response["ETag"])

    async def _upload_known(self, upload: Upload, fileobj: IO[bytes], size: int) -> list[SentPart]:
        """A file: each part read into a free buffer, encrypted there and sent."""
        part_size = upload_part_size(size, self.config, upload.index_key is not None)
        plan = plan_parts(size, part_size)
        source = PositionalReader(fileobj)
        buffers = PartBuffers(part_size)

        async def send(number: int, offset: int, length: int) -> SentPart:
            buffer = buffers.take()
            try:
                body = await async_run_blocking(file_part, upload, source, buffer, offset, length)
                await async_run_blocking(body.encrypt)
                return await self._send(upload, number, body)
            finally:
                buffers.give(buffer)

        async with AsyncRunner(parts_at_once(self.config, part_size), upload.stopping) as runner:
            futures = [
                runner.submit(send, number, offset, length)
                for number, (offset, length) in enumerate(plan[:-1], start=1)
            ]
            sent = await runner.gather(futures)
            offset, length = plan[-1]
            tail = await async_run_blocking(
                file_part, upload, source, buffers.take(), offset, length
            )
            sent.append(await self._send_tail(upload, sent, tail))
        return sent

    async def _send_tail(self, upload: Upload, sent: list[SentPart], tail: PartBody) -> SentPart:
        """The last part, once every other part's hash is known: its tag follows it."""
        tail = await async_run_blocking(tagged_tail, upload, sent, tail)
        return await self._send(upload, len(sent) + 1, tail)

    async def _upload_stream(
        self, upload: Upload, fileobj: AsyncPlainSource, first: bytes
    ) -> list[SentPart]:
        """A pipe (or an async reader): at most ``parts_at_once`` + 1 parts are held at
        once, in buffers reused from part to part."""
        part_size = upload_part_size(None, self.config, upload.index_key is not None)
        limit = self.session.config.write_suite.max_plaintext or 0
        cutter = StreamCutter(first, part_size, limit)
        buffers = PartBuffers(part_size)
        at_once = parts_at_once(self.config, part_size)
        slots = AsyncSemaphore(at_once + 1)  # parts held

        async def send(number: int, body: PartBody, buffer: bytearray) -> SentPart:
            try:
                await async_run_blocking(body.encrypt)
                return await self._send(upload, number, body)
            finally:
                buffers.give(buffer)
                slots.release()

        async with AsyncRunner(at_once, upload.stopping) as runner:
            futures = []
            while True:
                await slots.acquire()
                runner.raise_first_failure()
                buffer = buffers.take()
                cutter.begin(buffer)
                await async_fill_part(cutter, fileobj)
                offset, length, last = cutter.cut()
                body = PartBody(upload, buffer, offset, length)
                if last:
                    break
                futures.append(runner.submit(send, cutter.parts, body, buffer))
            sent = await runner.gather(futures)
            sent.append(await self._send_tail(upload, sent, body))
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
        once the whole object has verified (see ``io.files``). A FIFO, a device or a
        descriptor name gets an object with an integrity index chunk by chunk, each chunk
        once it verifies."""
        config = self.session.config
        target = Path(filename)
        with located(bucket, key):
            found = None
            if not config.delayed_authentication and writes_in_place(target):
                found = await reading.streaming_index(self.session, bucket, key, kwargs)
            async with async_destination(
                target,
                config.spool_threshold,
                config.spool_dir,
                release_early=config.delayed_authentication or found is not None,
            ) as destination:
                if found is not None:
                    await self._stream_indexed(
                        found, bucket, key, destination.file, callback, encryption_context, kwargs
                    )
                else:
                    await self._download_into(
                        bucket, key, destination.file, callback, encryption_context, **kwargs
                    )
                await async_run_blocking(destination.release)

    async def download_fileobj(
        self,
        bucket: str,
        key: str,
        fileobj: AsyncSink,
        callback: Callback | None = None,
        encryption_context: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> int:
        """Decrypt into ``fileobj`` once the whole object has verified, so that it gets
        nothing of an altered one; meanwhile the plaintext waits in a private ``Spool``.
        An object with an integrity index is written chunk by chunk instead, each chunk
        once it verifies. With ``delayed_authentication`` it is written as it arrives."""
        config = self.session.config
        async_sink_write(fileobj)  # a destination that cannot be written is refused first
        if config.delayed_authentication:
            return await self._download_into(
                bucket, key, fileobj, callback, encryption_context, **kwargs
            )
        with located(bucket, key):
            found = await reading.streaming_index(self.session, bucket, key, kwargs)
            if found is not None:
                return await self._stream_indexed(
                    found, bucket, key, fileobj, callback, encryption_context, kwargs
                )
        with (
            located(bucket, key),
            contextlib.closing(Spool(config.spool_threshold, config.spool_dir)) as spool,
        ):
            with spool.filling():
                written = await self._download_into(
                    bucket, key, spool.file, callback, encryption_context, **kwargs
                )
            await async_copy_spool(spool, fileobj)
        return written

    async def _stream_indexed(
        self,
        found: SidecarHeader,
        bucket: str,
        key: str,
        fileobj: AsyncSink,
        callback: Callback | None,
        encryption_context: Mapping[str, str] | None,
        kwargs: dict[str, Any],
    ) -> int:
        """One GET, written into ``fileobj`` chunk by chunk as each chunk verifies against
        the index ``found``; if that index does not vouch for the object, the whole
        object is authenticated first (``reading.decrypted_get``). If this raises,
        ``fileobj`` holds exactly the chunks that verified before the failure."""
        session = self.session
        args = dict(kwargs)
        suffix = args.pop("InstructionFileSuffix", None)
        response = await session.call("get_object", bucket, key, "download", **args)
        answer = await reading.decrypted_get(
            session, bucket, key, encryption_context, suffix, args, response, found
        )
        write = async_sink_write(fileobj)
        written = 0
        async with answer["Body"] as body:
            while piece := await body.read1():
                await async_write_to(write, piece)
                written += len(piece)
                if callback:
                    callback(len(piece))
        return written

    async def _download_into(
        self,
        bucket: str,
        key: str,
        fileobj: AsyncSink,
        callback: Callback | None,
        encryption_context: Mapping[str, str] | None,
        **kwargs: Any,
    ) -> int:
        """Decrypt into ``fileobj`` (parallel ranges if it is a seekable file), which
        holds unauthenticated plaintext if this raises: only private files may be
        passed, or a caller's under delayed authentication."""
        session = self.session
        with located(bucket, key):
            head = await session.call("head_object", bucket, key, "head", **kwargs)
            size = int(head["ContentLength"])
            suffix = kwargs.pop("InstructionFileSuffix", None)
            md = await session.content_metadata(
                bucket, key, head.get("Metadata", {}), suffix, kwargs
            )
            if is_async_writer(fileobj) or not parallel_download_applies(
                size, md, self.config, fileobj
            ):
                async with async_stoppable_sink(fileobj) as sink:
                    args = {"EncryptionContext": encryption_context, "IfMatch": head["ETag"]}
                    written = await reading.stream_download(
                        session, bucket, key, sink, {**args, **kwargs}
                    )
                if callback:
                    callback(written)
                return written
            content_key = await session.unwrap(md, encryption_context)
            return await ranged.download_verified(
                session,
                self.config,
                bucket,
                key,
                fileobj,
                GcmLayout(content_key),
                size,
                {"IfMatch": head["ETag"], **kwargs},
                callback,
            )
