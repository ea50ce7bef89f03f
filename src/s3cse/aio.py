"""The async client: client-side encryption around an aiobotocore S3 client.

``AsyncEncryptionClient`` has the sync client's operations and options, awaited::

    async with AsyncEncryptionClient.create(AsyncKmsKeyring("alias/data")) as client:
        await client.put_object(Bucket="b", Key="k", Body=b"...")
        response = await client.get_object(Bucket="b", Key="k")
        data = await response["Body"].read()

It is a thin shell: every check, key, metadata map, range plan and cipher comes from the
same pure core as the sync client's (``core.requests``, ``envelope``, ``ranges``, ``index``,
``gcm``, ``streams``); only the waiting differs. Key wrapping is awaited through the
materials manager's async entry points (``aencryption_materials``, ``adecrypt_data_key``),
so ``AsyncKmsKeyring`` calls KMS with aiobotocore; raw AES/RSA keyrings compute in place.

Nothing blocks the event loop for long: bodies of known length are encrypted as aiohttp
reads them (on its worker threads), pipes are spooled on a worker thread, and the checksum
S3 expects is computed there too. (Over plain ``http://`` botocore still hashes each
request body for SigV4 on the loop; real S3 endpoints are ``https://``.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any, cast

from .aio_streams import (
    AsyncDecryptedBody,
    adecrypt_into,
    aread_full,
    body_checksum,
    checksum_algorithm,
    is_async_reader,
    read_all,
    request_body,
    sink_writer,
)
from .aio_transfer import AsyncTransferManager
from .bodies import AsyncGuardedBody
from .core import envelope, integrity, ranges, reads, requests, sidecars
from .core.ciphers import ContentKey, content_decryptor
from .core.config import CryptoConfig, CryptoOptions
from .core.materials import Keyring, MaterialsManager
from .core.metadata import DEFAULT_INSTRUCTION_SUFFIX, ContentMetadata
from .core.multipart import TransferConfig
from .errors import ConfigurationError, ObjectNotFoundError, S3CSEError, located
from .io import botocore
from .io.botocore import translate_s3_error
from .io.files import writing_to
from .io.retries import aio_botocore_config
from .responses import (
    AsyncGetObjectResponse,
    HeadObjectResponse,
    ListObjectsResponse,
    PutObjectResponse,
)
from .streams import CHUNK, CiphertextBody, SpoolEncryptor, ciphertext_body
from .transfer import Callback

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "AsyncDecryptedBody",
    "AsyncEncryptionClient",
    "afetch_content_metadata",
    "aprobe_sidecars",
]
PROBES_AT_ONCE = 8


# ---------------------------------------------------------------------- the client


class AsyncEncryptionClient(botocore.WrapsS3Client):
    """Client-side encryption around an aiobotocore S3 client.

    Give it a keyring (``AsyncKmsKeyring``, ``AesKeyring``, ``RsaKeyring`` or a
    ``MultiKeyring``) or a materials manager, an open aiobotocore S3 client, and
    optionally a ``CryptoConfig`` or its fields as keyword arguments (``CryptoOptions``).
    Or let
    ``AsyncEncryptionClient.create(...)`` open (and close) the S3 client.
    """

    def __init__(
        self,
        keyring: Keyring | None = None,
        *,
        materials: MaterialsManager | None = None,
        s3_client: Any = None,
        config: CryptoConfig | None = None,
        **options: Unpack[CryptoOptions],
    ) -> None:
        self.materials, self.config = botocore.client_settings(keyring, materials, config, options)
        if s3_client is None:
            raise ConfigurationError(
                "AsyncEncryptionClient needs an open aiobotocore S3 client (s3_client=...)",
                hint="Or use 'async with AsyncEncryptionClient.create(keyring) as client'",
            )
        self.s3 = s3_client

    @classmethod
    @contextlib.asynccontextmanager
    async def create(
        cls,
        keyring: Keyring | None = None,
        *,
        materials: MaterialsManager | None = None,
        config: CryptoConfig | None = None,
        session: Any = None,
        s3_client_args: Mapping[str, Any] | None = None,
        **options: Unpack[CryptoOptions],
    ) -> AsyncIterator[AsyncEncryptionClient]:
        """A client with its own aiobotocore S3 client, closed on exit with any KMS
        client its keyrings opened. The endpoint comes from ``AWS_ENDPOINT_URL_S3``
        (or ``s3_client_args={"endpoint_url": ...}``), as for boto3."""
        args = dict(s3_client_args or {})
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3")
        if endpoint and "endpoint_url" not in args:
            args["endpoint_url"] = endpoint
        args.setdefault("config", aio_botocore_config())
        if session is None:
            from aiobotocore.session import get_session

            session = get_session()
        async with session.create_client("s3", **args) as s3:
            client = cls(keyring, materials=materials, s3_client=s3, config=config, **options)
            try:
                yield client
            finally:
                await client.materials.aclose()

    def __getattr__(self, name: str) -> Any:
        # Everything we do not change goes straight to the wrapped aiobotocore client.
        if name == "s3":  # not set: construction failed
            raise AttributeError(name)
        return getattr(self.s3, name)

    # ------------------------------------------------------------------ writing

    async def put_object(
        self,
        *,
        Bucket: str,
        Key: str,
        Body: Any = b"",
        EncryptionContext: Mapping[str, str] | None = None,
        InstructionFile: bool | None = None,
        IntegrityIndex: bool | None = None,
        **kwargs: Any,
    ) -> PutObjectResponse:
        """Encrypt ``Body`` (bytes, str, a binary file or an async reader) and store it;
        extra arguments go to S3's PutObject.

        ``IntegrityIndex=True`` also writes ``KEY.s3cse-index`` for authenticated ranges.
        """
        with located(Bucket, Key):
            plan = requests.plan_put(
                self.config, kwargs, EncryptionContext, InstructionFile, IntegrityIndex
            )
            source = Body if is_async_reader(Body) else requests.binary_source(Body)
            length = None if is_async_reader(source) else requests.body_length(source)
            requests.check_plaintext_limit(length, self.config.write_suite)
            stale = await self.prepare_sidecars(Bucket, Key, plan)
            materials = await self.materials.aencryption_materials(
                plan.encryption_request(self.config, length)
            )
            sealed = requests.seal_put(plan, materials, self.config)
            body = await self._ciphertext_body(source, sealed)
            try:
                checksum = await asyncio.to_thread(
                    body_checksum, body.stream, checksum_algorithm(self.s3, sealed.args)
                )
                response = await self._s3_call(
                    "put_object",
                    Bucket,
                    Key,
                    "upload",
                    Body=request_body(body.stream),
                    ContentLength=body.length,
                    **checksum,
                    **sealed.args,
                )
            finally:
                body.close()
            await self.finish_sidecars(Bucket, Key, sealed, body.length, body.macs(), stale)
            return cast("PutObjectResponse", response)

    async def prepare_sidecars(self, bucket: str, key: str, plan: requests.PutPlan) -> list[str]:
        """Before a write: refuse one whose sidecar would overwrite a user's object; the
        suffixes of the sidecars it leaves stale (see ``EncryptionClient.prepare_sidecars``)."""
        existing = await self.sidecar_kinds(bucket, key, requests.sse_c_args(plan.args), "upload")
        return sidecars.stale_after_write(bucket, key, existing, plan.sidecar_suffixes())

    async def sidecar_kinds(
        self, bucket: str, key: str, sse_c: Mapping[str, Any], action: str = "sidecar check"
    ) -> dict[str, sidecars.Kind]:
        """What is under each of the object's sidecar names (``sidecars.Kind``)."""
        found = await aprobe_sidecars(
            self.s3, bucket, [key + s for s in sidecars.SUFFIXES], sse_c, action
        )
        return {suffix: found[key + suffix] for suffix in sidecars.SUFFIXES}

    async def finish_sidecars(
        self,
        bucket: str,
        key: str,
        sealed: requests.SealedPut,
        stored_size: int,
        macs: list[bytes],
        stale: list[str],
    ) -> None:
        """Once the object is stored: its new sidecars, then the stale ones removed (in
        that order for ``EncryptionClient.finish_sidecars``'s reasons)."""
        for suffix, sidecar in sealed.sidecars(self.config, stored_size, macs):
            await self.put_sidecar(bucket, key, suffix, sidecar, sealed.args)
        await self._remove_stale(bucket, key, stale)

    async def _remove_stale(self, bucket: str, key: str, stale: Iterable[str]) -> None:
        for suffix in stale:
            with contextlib.suppress(*botocore.s3_errors()):
                await self.s3.delete_object(Bucket=bucket, Key=key + suffix)

    async def _ciphertext_body(self, source: Any, sealed: requests.SealedPut) -> CiphertextBody:
        config = self.config
        if not is_async_reader(source):
            # a pipe is read (and spooled) whole: keep that off the loop
            return await asyncio.to_thread(
                ciphertext_body,
                source,
                sealed.content_key,
                sealed.index_key,
                config.spool_threshold,
                config.spool_dir,
            )
        spooler = SpoolEncryptor(
            sealed.content_key, config.spool_threshold, config.spool_dir, sealed.index_key
        )
        try:
            while chunk := await source.read(CHUNK):
                spooler.write(chunk)
            spool, macs = spooler.finish()
        except BaseException:
            spooler.discard()
            raise
        size = spool.seek(0, os.SEEK_END)
        spool.seek(0)
        return CiphertextBody(spool, size, lambda: macs, spool.close)

    async def put_sidecar(
        self, bucket: str, key: str, suffix: str, body: bytes, put_args: Mapping[str, Any]
    ) -> None:
        """Store an instruction file or integrity index beside its object; if that fails
        the object is taken back (see ``EncryptionClient.put_sidecar``)."""
        try:
            await self._s3_call(
                "put_object",
                bucket,
                key + suffix,
                f"upload of {key + suffix}",
                Body=body,
                **requests.sidecar_args(put_args),
            )
        except S3CSEError:
            with contextlib.suppress(*botocore.s3_errors()):
                await self.s3.delete_object(Bucket=bucket, Key=key)
            raise

    async def upload_file(
        self,
        Filename: str | os.PathLike[str],
        Bucket: str,
        Key: str,
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callback | None = None,
        Config: TransferConfig | None = None,
    ) -> dict[str, Any]:
        """Upload a file; large ones as a parallel multipart upload (see ``TransferConfig``).

        ``ExtraArgs`` takes S3's PutObject arguments and ``EncryptionContext`` /
        ``InstructionFile`` / ``IntegrityIndex``. ``Callback`` gets byte counts, on the
        event loop.
        """
        extra = dict(ExtraArgs or {})
        context = extra.pop("EncryptionContext", None)
        return await AsyncTransferManager(self, Config).upload_file(
            Filename, Bucket, Key, extra, Callback, context
        )

    async def upload_fileobj(
        self,
        Fileobj: Any,
        Bucket: str,
        Key: str,
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callback | None = None,
        Config: TransferConfig | None = None,
    ) -> dict[str, Any]:
        """Upload from a binary file or an async reader; streams with bounded read-ahead."""
        extra = dict(ExtraArgs or {})
        context = extra.pop("EncryptionContext", None)
        return await AsyncTransferManager(self, Config).upload_fileobj(
            Fileobj, Bucket, Key, extra, Callback, context
        )

    # ------------------------------------------------------------------ reading

    async def get_object(
        self,
        *,
        Bucket: str,
        Key: str,
        EncryptionContext: Mapping[str, str] | None = None,
        InstructionFileSuffix: str | None = None,
        **kwargs: Any,
    ) -> AsyncGetObjectResponse:
        """Fetch and decrypt. By default the plaintext is authenticated (spooled) before
        this returns; ``delayed_authentication=True`` streams instead."""
        with located(Bucket, Key):
            requests.refuse_part_number(kwargs)
            if "Range" in kwargs:
                return cast(
                    "AsyncGetObjectResponse",
                    await self._get_range(
                        Bucket,
                        Key,
                        kwargs.pop("Range"),
                        EncryptionContext,
                        InstructionFileSuffix,
                        kwargs,
                    ),
                )
            response = await self._s3_call("get_object", Bucket, Key, "download", **kwargs)
            stream = response["Body"]
            try:
                md = await self._content_metadata(
                    Bucket, Key, response.get("Metadata", {}), InstructionFileSuffix, kwargs
                )
                decryptor = content_decryptor(await self._unwrap(md, EncryptionContext))
                if self.config.delayed_authentication:
                    size = envelope.plaintext_size(md, int(response.get("ContentLength") or 0))
                    body = AsyncDecryptedBody.streaming(stream, decryptor, size, (Bucket, Key))
                else:
                    body = await self._authenticated_body(stream, decryptor)
                    size = body.content_length
            except BaseException:
                stream.close()
                raise
            if not self.config.delayed_authentication:
                stream.close()
            return cast("AsyncGetObjectResponse", requests.decrypted_response(response, body, size))

    async def _get_range(
        self,
        bucket: str,
        key: str,
        header: str,
        context: Mapping[str, str] | None,
        suffix: str | None,
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        """A byte range: through the integrity index whenever the object has one (even
        with ``unauthenticated_ranges``), else decrypted unauthenticated from its
        enclosing cipher blocks (if allowed)."""
        requested = ranges.ByteRange.parse(header)
        verified, stale_index = await self._get_verified_range(
            bucket, key, requested, header, context, suffix, kwargs
        )
        if verified is not None:
            return verified
        response = await self._s3_call(
            "get_object",
            bucket,
            key,
            "ranged download",
            Range=requested.ciphertext_request(authenticated=False),
            **kwargs,
        )
        stream = response["Body"]
        try:
            md = await self._content_metadata(
                bucket, key, response.get("Metadata", {}), suffix, kwargs
            )
            reads.check_unindexed_range(md, self.config, stale_index)
            content_key = await self._unwrap(md, context)
            tail_range = reads.cbc_tail_range(md, reads.content_range(response)[2])
            tail = None
            if tail_range is not None:
                tail = await read_all(
                    await self._s3_call(
                        "get_object", bucket, key, "ranged download", Range=tail_range, **kwargs
                    )
                )
            decryptor, plan = reads.range_decryptor(
                requested, header, md, content_key, response, tail
            )
            body = AsyncDecryptedBody.streaming(
                stream, decryptor, plan.last - plan.first + 1, (bucket, key)
            )
        except BaseException:
            stream.close()
            raise
        return requests.ranged_response(response, body, plan.first, plan.last, plan.plaintext_size)

    async def _get_verified_range(
        self,
        bucket: str,
        key: str,
        requested: ranges.ByteRange,
        header: str,
        context: Mapping[str, str] | None,
        suffix: str | None,
        kwargs: dict[str, Any],
    ) -> tuple[dict[str, Any] | None, bool]:
        """An authenticated range through the object's integrity index; None if it has
        none, or only a stale one (then True). As the sync client's: header and HEAD
        checked first, then the index entries and the object's chunks fetched side by
        side, pinned by ETag."""
        sse_c = requests.sse_c_args(kwargs)
        found = await self._index_header(bucket, key, sse_c)
        if found is None:
            return None, False
        head = await self._s3_call("head_object", bucket, key, "head", **kwargs)
        md = await self._content_metadata(bucket, key, head.get("Metadata", {}), suffix, kwargs)
        found, stale = reads.usable_index(found, md)
        if found is None:
            return None, stale
        envelope.check_read_policy(md, self.config)
        content_key = await self._unwrap(md, context)
        stored_size = int(head["ContentLength"])
        index_key = reads.open_index(md, content_key, found, stored_size)
        plan = reads.plan_indexed_range(requested, header, stored_size)
        entries, response = await asyncio.gather(
            self._s3_call(
                "get_object",
                bucket,
                key + integrity.SUFFIX,
                "integrity index read",
                Range=plan.entries_range,
                IfMatch=found.etag,
                **sse_c,
            ),
            self._s3_call(
                "get_object",
                bucket,
                key,
                "ranged download",
                **{**kwargs, "Range": plan.object_range, "IfMatch": head["ETag"]},
            ),
        )
        stream = response["Body"]
        try:
            verifier = reads.verified_range(
                plan, index_key, content_key, await read_all(entries), response
            )
            body = AsyncDecryptedBody.streaming(
                stream, verifier, plan.last - plan.first + 1, (bucket, key)
            )
        except BaseException:
            stream.close()
            raise
        return requests.ranged_response(
            response, body, plan.first, plan.last, plan.plaintext_size
        ), False

    async def _index_header(
        self, bucket: str, key: str, sse_c: Mapping[str, Any]
    ) -> integrity.SidecarHeader | None:
        """The header of the object's integrity index, unverified; None if it has none
        (or a user's object has the index's name). Only the header's bytes are read."""
        try:
            response = await self._s3_call(
                "get_object",
                bucket,
                key + integrity.SUFFIX,
                "integrity index read",
                Range=reads.INDEX_HEADER_RANGE,
                **sse_c,
            )
        except S3CSEError as exc:
            reads.raise_unless_no_index(exc)
            return None
        body = response["Body"]
        try:
            return reads.sidecar_header(response, await body.read(integrity.HEADER_SIZE))
        finally:
            body.close()

    async def _authenticated_body(self, stream: Any, decryptor: Any) -> AsyncDecryptedBody:
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=self.config.spool_threshold, dir=self.config.spool_dir
        )
        try:
            length = await adecrypt_into(stream, decryptor, spool.write)
        except BaseException:
            spool.close()
            raise
        return AsyncDecryptedBody.authenticated(spool, length)

    async def _unwrap(self, md: ContentMetadata, context: Mapping[str, str] | None) -> ContentKey:
        """Policy checks, data key unwrap (awaited), commitment check: the content key."""
        request = envelope.decryption_request(md, self.config, context)
        return envelope.unseal(md, await self.materials.adecrypt_data_key(request))

    async def _content_metadata(
        self,
        bucket: str,
        key: str,
        object_md: Mapping[str, str],
        suffix: str | None,
        request_args: Mapping[str, Any],
    ) -> ContentMetadata:
        return await afetch_content_metadata(
            self.s3,
            bucket,
            key,
            object_md,
            suffix or self.config.instruction_suffix,
            requests.sse_c_args(request_args),
        )

    async def download_file(
        self,
        Bucket: str,
        Key: str,
        Filename: str | os.PathLike[str],
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callback | None = None,
        Config: TransferConfig | None = None,
        **kwargs: Any,
    ) -> None:
        """Decrypt into a file beside ``Filename`` that takes its place only once the
        whole object has verified (a device or FIFO is written then, from a private spool).

        Large objects are fetched as parallel ranged GETs. ``ExtraArgs`` (or keyword
        arguments) take GetObject's arguments and ``EncryptionContext`` /
        ``InstructionFileSuffix``.
        """
        extra = {**dict(ExtraArgs or {}), **kwargs}
        context = extra.pop("EncryptionContext", None)
        await AsyncTransferManager(self, Config).download_file(
            Bucket, Key, Filename, Callback, context, **extra
        )

    async def download_fileobj(
        self,
        Bucket: str,
        Key: str,
        Fileobj: Any,
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callback | None = None,
        Config: TransferConfig | None = None,
        **kwargs: Any,
    ) -> int:
        """Decrypt into ``Fileobj`` (a binary file, or anything with an async ``write``)
        once the whole object has verified: until then the plaintext waits in a private
        spool (see ``EncryptionClient.download_fileobj``). Under ``delayed_authentication``
        it is written as it arrives, and holds unauthenticated bytes if this raises."""
        extra = {**dict(ExtraArgs or {}), **kwargs}
        context = extra.pop("EncryptionContext", None)
        with writing_to(Fileobj, Bucket, Key):
            return await AsyncTransferManager(self, Config).download_fileobj(
                Bucket, Key, Fileobj, Callback, context, **extra
            )

    async def stream_download(self, Bucket: str, Key: str, Fileobj: Any, **kwargs: Any) -> int:
        """One GET, decrypted as it arrives into ``Fileobj`` (which holds unauthenticated
        bytes if this raises: discard it)."""
        context = kwargs.pop("EncryptionContext", None)
        suffix = kwargs.pop("InstructionFileSuffix", None)
        with located(Bucket, Key):
            response = await self._s3_call("get_object", Bucket, Key, "download", **kwargs)
            stream = response["Body"]
            try:
                md = await self._content_metadata(
                    Bucket, Key, response.get("Metadata", {}), suffix, kwargs
                )
                decryptor = content_decryptor(await self._unwrap(md, context))
                return await adecrypt_into(stream, decryptor, sink_writer(Fileobj))
            finally:
                stream.close()

    async def head_object(self, *, Bucket: str, Key: str, **kwargs: Any) -> HeadObjectResponse:
        """S3's HeadObject, with ``ContentLength`` the plaintext size where it is known."""
        suffix = kwargs.pop("InstructionFileSuffix", None)
        with located(Bucket, Key):
            response = await self._s3_call("head_object", Bucket, Key, "head", **kwargs)
            md = await self._content_metadata(
                Bucket, Key, response.get("Metadata", {}), suffix, kwargs
            )
            return cast("HeadObjectResponse", requests.head_response(response, md))

    # ------------------------------------------------------------------ listing
    # Sizes as the sync client reports them: see ``EncryptionClient.list_objects_v2``.

    async def list_objects_v2(self, **kwargs: Any) -> ListObjectsResponse:
        return self._listing(await self.s3.list_objects_v2(**kwargs))

    async def list_objects(self, **kwargs: Any) -> ListObjectsResponse:
        return self._listing(await self.s3.list_objects(**kwargs))

    async def list_object_versions(self, **kwargs: Any) -> ListObjectsResponse:
        return self._listing(await self.s3.list_object_versions(**kwargs))

    def _listing(self, response: dict[str, Any]) -> ListObjectsResponse:
        return cast(
            "ListObjectsResponse",
            requests.listing_response(response, requests.sidecar_suffixes(self.config)),
        )

    def get_paginator(self, operation_name: str) -> Any:
        """aiobotocore's paginator, the listings' paging through this client's."""
        paginator = self.s3.get_paginator(operation_name)
        if operation_name in requests.LISTINGS:
            paginator._method = getattr(self, operation_name)  # see EncryptionClient's
        return paginator

    async def get_object_attributes(
        self, *, Bucket: str, Key: str, **kwargs: Any
    ) -> dict[str, Any]:
        """As ``EncryptionClient.get_object_attributes``: ``ObjectSize`` is the plaintext
        size (one more HEAD), ``StoredObjectSize`` the stored one."""
        response: dict[str, Any] = await self.s3.get_object_attributes(
            Bucket=Bucket, Key=Key, **kwargs
        )
        if "ObjectSize" not in response:
            return response
        head = await self.head_object(
            Bucket=Bucket, Key=Key, **requests.attributes_head_args(kwargs)
        )
        return requests.attributes_response(response, head["ContentLength"])

    # ------------------------------------------------------------------ presigning

    async def generate_presigned_url(
        self,
        ClientMethod: str,
        Params: Mapping[str, Any] | None = None,
        ExpiresIn: int = 3600,
        HttpMethod: str | None = None,
        *,
        AllowCiphertext: bool = False,
    ) -> str:
        """As ``EncryptionClient.generate_presigned_url``: refused for the operations that
        move object content unless ``AllowCiphertext=True``."""
        requests.check_presign(ClientMethod, AllowCiphertext)
        url: str = await self.s3.generate_presigned_url(
            ClientMethod, Params=Params, ExpiresIn=ExpiresIn, HttpMethod=HttpMethod
        )
        return url

    async def generate_presigned_post(
        self, Bucket: str, Key: str, *args: Any, AllowCiphertext: bool = False, **kwargs: Any
    ) -> Any:
        """As ``EncryptionClient.generate_presigned_post``."""
        requests.check_presign("put_object", AllowCiphertext)
        return await self.s3.generate_presigned_post(Bucket, Key, *args, **kwargs)

    # ------------------------------------------------------------------ copying

    async def copy_object(
        self, *, Bucket: str, Key: str, CopySource: str | Mapping[str, str], **kwargs: Any
    ) -> dict[str, Any]:
        """Server-side copy that keeps the object readable: its encryption metadata, its
        sidecars go with it, stale ones at the target go, and a user's object named like
        a sidecar is neither copied as one nor overwritten (see
        ``EncryptionClient.copy_object``).

        ``MetadataDirective="REPLACE"`` replaces the user metadata only.
        """
        source = requests.copy_source(CopySource)
        with located(Bucket, Key):
            copied = sidecars.removable_suffixes(
                await self.sidecar_kinds(
                    source["Bucket"], source["Key"], requests.copy_source_sse_c(kwargs), "copy"
                )
            )
            stale = sidecars.stale_after_write(
                Bucket,
                Key,
                await self.sidecar_kinds(Bucket, Key, requests.sse_c_args(kwargs), "copy"),
                copied,
            )
            if kwargs.get("MetadataDirective") == "REPLACE":
                head = await self._s3_call(
                    "head_object",
                    source["Bucket"],
                    source["Key"],
                    "head of the copy source",
                    **requests.version_args(source),
                )
                kwargs["Metadata"] = requests.replaced_metadata(
                    head.get("Metadata", {}), kwargs.get("Metadata")
                )
            response = await self._s3_call(
                "copy_object", Bucket, Key, "copy", CopySource=source, **kwargs
            )
            for suffix in copied:
                args = requests.sidecar_copy_args(source, suffix, Bucket, Key, kwargs)
                if args is not None:
                    await self._s3_call("copy_object", Bucket, Key + suffix, "sidecar copy", **args)
            await self._remove_stale(Bucket, Key, stale)
            return response

    # ------------------------------------------------------------------ deleting

    async def delete_object(self, *, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """Delete the object and its sidecars (instruction file, integrity index); a
        user's object named like one of them stays."""
        with located(Bucket, Key):
            response = await self._s3_call("delete_object", Bucket, Key, "delete", **kwargs)
            if "VersionId" not in kwargs:
                for suffix, kind in (await self.sidecar_kinds(Bucket, Key, {}, "delete")).items():
                    if sidecars.removable(kind):
                        await self._s3_call(
                            "delete_object",
                            Bucket,
                            Key + suffix,
                            f"delete of {Key + suffix}",
                            **kwargs,
                        )
            return response

    async def delete_objects(self, *, Bucket: str, Delete: Mapping[str, Any], **kwargs: Any) -> Any:
        """DeleteObjects, each object with its sidecars (unless a version is named); a
        user's object named like a sidecar stays unless it is named itself."""
        candidates = requests.sidecar_candidates(Delete, requests.sidecar_suffixes(self.config))
        kinds = await aprobe_sidecars(self.s3, Bucket, candidates, action="delete")
        return await self.s3.delete_objects(
            Bucket=Bucket, Delete=requests.with_sidecars(Delete, kinds), **kwargs
        )

    # ------------------------------------------------------------------ plumbing

    async def _s3_call(
        self, operation: str, bucket: str, key: str, action: str, **kwargs: Any
    ) -> dict[str, Any]:
        try:
            response: dict[str, Any] = await getattr(self.s3, operation)(
                Bucket=bucket, Key=key, **kwargs
            )
        except botocore.s3_errors() as exc:
            raise translate_s3_error(exc, bucket, key, action) from None
        return botocore.accept_answer(operation, response, bucket, key, action, AsyncGuardedBody)


async def aprobe_sidecar(
    s3: Any,
    bucket: str,
    key: str,
    sse_c: Mapping[str, Any] | None = None,
    action: str = "sidecar check",
) -> sidecars.Kind:
    """What is under the sidecar name ``key`` (``client.probe_sidecar`` for an
    aiobotocore client)."""
    named = sidecars.split_name(key)
    assert named is not None, key
    suffix = named[1]
    try:
        response = await s3.get_object(
            Bucket=bucket, Key=key, Range=sidecars.probe_range(suffix), **dict(sse_c or {})
        )
        data = await read_all(response)
    except botocore.s3_errors() as exc:
        return botocore.probe_failure(exc, bucket, key, suffix, action)
    return sidecars.kind_of(suffix, response.get("Metadata", {}), data)


async def aprobe_sidecars(
    s3: Any,
    bucket: str,
    keys: Iterable[str],
    sse_c: Mapping[str, Any] | None = None,
    action: str = "sidecar check",
) -> dict[str, sidecars.Kind]:
    """``aprobe_sidecar`` of each key, a few at a time."""
    keys = list(dict.fromkeys(keys))
    slots = asyncio.Semaphore(PROBES_AT_ONCE)

    async def probe(key: str) -> sidecars.Kind:
        async with slots:
            return await aprobe_sidecar(s3, bucket, key, sse_c, action)

    return dict(zip(keys, await asyncio.gather(*map(probe, keys)), strict=True))


async def afetch_content_metadata(
    s3: Any,
    bucket: str,
    key: str,
    object_md: Mapping[str, str],
    suffix: str = DEFAULT_INSTRUCTION_SUFFIX,
    sse_c: Mapping[str, Any] | None = None,
) -> ContentMetadata:
    """Parse the object's metadata, fetching its instruction file when it needs one
    (``client.fetch_content_metadata`` for an aiobotocore client)."""
    object_md = reads.object_metadata(object_md)
    md = reads.parse_object_metadata(object_md)
    if md is not None:
        return md
    instruction_key = key + suffix
    try:
        response = await s3.get_object(Bucket=bucket, Key=instruction_key, **dict(sse_c or {}))
        stream = response["Body"]
        try:
            body = await aread_full(stream, reads.instruction_file_read_limit(response))
        finally:
            stream.close()
    except botocore.s3_errors() as exc:
        error = translate_s3_error(exc, bucket, instruction_key, "instruction file read")
        if not isinstance(error, ObjectNotFoundError):
            raise error from None
        raise reads.missing_instruction_file(object_md, bucket, key, instruction_key) from None
    return reads.parse_with_instruction_file(object_md, body)
