"""The client: an S3 client that encrypts on the way up and decrypts on the way down.

It has the calls users know from boto3 (``put_object``, ``get_object``, ``head_object``,
``copy_object``, ``delete_object``, ``upload_file``, ``download_file``...) and passes any
other attribute through to the S3 client it wraps. Every request goes through its
``session``; the checks, plans and answers are the core's (``core.requests``,
``core.reads``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from ..core import listing, requests, sidecars
from ..core.config import CryptoConfig, CryptoOptions
from ..core.materials import Keyring, MaterialsManager
from ..core.multipart import Callback, TransferConfig
from ..core.responses import HeadObjectResponse, ListObjectsResponse, PutObjectResponse
from ..errors import located
from ..io.backends import (
    AsyncPutBody,
    AsyncSink,
    AsyncUploadSource,
    async_default_s3_client,
)
from ..io.botocore import WrapsS3Client, client_settings
from ..io.files import writing_to
from ..io.s3api import AsyncS3Client
from . import reading, writing
from .responses import AsyncGetObjectResponse
from .session import AsyncSession, probe_sidecars
from .transfer import AsyncTransferManager

if TYPE_CHECKING:
    from typing_extensions import Unpack


class AsyncEncryptionClient(WrapsS3Client):
    """Client-side encryption around an S3 client.

    Give it a keyring (``KmsKeyring``, ``AesKeyring``, ``RsaKeyring`` or a
    ``MultiKeyring``) or a materials manager, and optionally a ``CryptoConfig`` or its
    fields as keyword arguments (``CryptoOptions``: a misspelt one is a ``TypeError``).
    """

    def __init__(
        self,
        keyring: Keyring | None = None,
        *,
        materials: MaterialsManager | None = None,
        s3_client: AsyncS3Client | None = None,
        config: CryptoConfig | None = None,
        **options: Unpack[CryptoOptions],
    ) -> None:
        self.materials, self.config = client_settings(keyring, materials, config, options)
        self.s3: AsyncS3Client = async_default_s3_client() if s3_client is None else s3_client
        self.session = AsyncSession(self.s3, self.materials, self.config)

    def __getattr__(self, name: str) -> Any:
        # Everything we do not change goes straight to the wrapped S3 client.
        if name in ("s3", "session"):  # not set: construction failed
            raise AttributeError(name)
        return getattr(self.s3, name)

    # ------------------------------------------------------------------ writing

    async def put_object(
        self,
        *,
        Bucket: str,
        Key: str,
        Body: AsyncPutBody = b"",
        EncryptionContext: Mapping[str, str] | None = None,
        InstructionFile: bool | None = None,
        IntegrityIndex: bool | None = None,
        **kwargs: Any,
    ) -> PutObjectResponse:
        """Encrypt ``Body`` (bytes, str, a binary file, or for the async client an async
        reader) and store it; extra arguments go to S3's PutObject.

        ``IntegrityIndex=True`` also writes ``KEY.s3cse-index`` for authenticated ranges.
        """
        with located(Bucket, Key):
            response = await writing.put_object(
                self.session,
                Bucket,
                Key,
                Body,
                EncryptionContext,
                InstructionFile,
                IntegrityIndex,
                kwargs,
            )
            return cast("PutObjectResponse", response)

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
        ``InstructionFile`` / ``IntegrityIndex``.
        """
        extra, context = transfer_args(ExtraArgs)
        return await AsyncTransferManager(self.session, Config).upload_file(
            Filename, Bucket, Key, extra, Callback, context
        )

    async def upload_fileobj(
        self,
        Fileobj: AsyncUploadSource,
        Bucket: str,
        Key: str,
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callback | None = None,
        Config: TransferConfig | None = None,
    ) -> dict[str, Any]:
        """Upload from a binary file object (or another object's ``get_object`` Body, or
        for the async client an async reader); pipes stream with bounded read-ahead."""
        extra, context = transfer_args(ExtraArgs)
        return await AsyncTransferManager(self.session, Config).upload_fileobj(
            cast(Any, Fileobj), Bucket, Key, extra, Callback, context
        )

    # ------------------------------------------------------------------ reading

    async def get_object(
        self,
        *,
        Bucket: str,
        Key: str,
        EncryptionContext: Mapping[str, str] | None = None,
        InstructionFileSuffix: str | None = None,
        IndexedStreaming: bool | None = None,
        **kwargs: Any,
    ) -> AsyncGetObjectResponse:
        """Fetch and decrypt. By default the plaintext is authenticated (spooled) before
        this returns; ``delayed_authentication=True`` streams instead, unauthenticated.

        ``IndexedStreaming=True`` (default: the ``indexed_streaming`` setting) streams an
        object that has an integrity index, releasing each chunk once its index entry
        verifies (``Body.read1`` hands each out as it does); an object without a usable
        index is authenticated whole first, as by default.
        """
        if IndexedStreaming is None:
            IndexedStreaming = self.config.indexed_streaming
        with located(Bucket, Key):
            response = await reading.get_object(
                self.session,
                Bucket,
                Key,
                EncryptionContext,
                InstructionFileSuffix,
                kwargs,
                IndexedStreaming,
            )
            return cast("AsyncGetObjectResponse", response)

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
        whole object has verified (a device or FIFO is written then, from a private spool;
        or, for an object with an integrity index, chunk by chunk as each verifies).

        Large objects are fetched as parallel ranged GETs. ``ExtraArgs`` (or keyword
        arguments) take GetObject's arguments and ``EncryptionContext`` /
        ``InstructionFileSuffix``.
        """
        extra, context = transfer_args(ExtraArgs, kwargs)
        await AsyncTransferManager(self.session, Config).download_file(
            Bucket, Key, Filename, Callback, context, **extra
        )

    async def download_fileobj(
        self,
        Bucket: str,
        Key: str,
        Fileobj: AsyncSink,
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callback | None = None,
        Config: TransferConfig | None = None,
        **kwargs: Any,
    ) -> int:
        """Decrypt into ``Fileobj`` (a binary file, or for the async client anything with
        an async ``write``) once the whole object has verified: until then the plaintext
        waits in a private spool (memory up to ``spool_threshold``, then an unnamed
        temporary file in ``spool_dir``). An object with an integrity index is written
        chunk by chunk instead, each chunk once it verifies (if this raises, ``Fileobj``
        holds exactly the chunks that did). Under ``delayed_authentication`` it is written
        as it arrives, and holds unauthenticated bytes if this raises."""
        extra, context = transfer_args(ExtraArgs, kwargs)
        with writing_to(Fileobj, Bucket, Key):
            return await AsyncTransferManager(self.session, Config).download_fileobj(
                Bucket, Key, Fileobj, Callback, context, **extra
            )

    async def stream_download(
        self, Bucket: str, Key: str, Fileobj: AsyncSink, **kwargs: Any
    ) -> int:
        """One GET, decrypted as it arrives into ``Fileobj`` (which holds unauthenticated
        bytes if this raises: discard it)."""
        with located(Bucket, Key):
            return await reading.stream_download(self.session, Bucket, Key, Fileobj, kwargs)

    async def head_object(self, *, Bucket: str, Key: str, **kwargs: Any) -> HeadObjectResponse:
        """S3's HeadObject, with ``ContentLength`` the plaintext size where it is known."""
        with located(Bucket, Key):
            response = await reading.head_object(self.session, Bucket, Key, kwargs)
            return cast("HeadObjectResponse", response)

    # ------------------------------------------------------------------ listing

    async def list_objects_v2(self, **kwargs: Any) -> ListObjectsResponse:
        """S3's ListObjectsV2, each ``Size`` the plaintext size AES-GCM implies (stored
        less 16; see ``listing.listing_response``), ``StoredSize`` the stored one.
        ``list_objects`` and ``list_object_versions`` report sizes the same way."""
        return self._listing(await self.s3.list_objects_v2(**kwargs))

    async def list_objects(self, **kwargs: Any) -> ListObjectsResponse:
        return self._listing(await self.s3.list_objects(**kwargs))

    async def list_object_versions(self, **kwargs: Any) -> ListObjectsResponse:
        return self._listing(await self.s3.list_object_versions(**kwargs))

    def _listing(self, response: dict[str, Any]) -> ListObjectsResponse:
        return cast(
            "ListObjectsResponse",
            listing.listing_response(response, requests.sidecar_suffixes(self.config)),
        )

    def get_paginator(self, operation_name: str) -> Any:
        """S3's paginator; those of the listings page through this client's listings, so
        their pages report sizes as ``list_objects_v2`` does."""
        paginator = self.s3.get_paginator(operation_name)
        if operation_name in listing.LISTINGS:
            # botocore builds a fresh paginator per call around the method it pages with
            paginator._method = getattr(self, operation_name)
        return paginator

    async def get_object_attributes(
        self, *, Bucket: str, Key: str, **kwargs: Any
    ) -> dict[str, Any]:
        """S3's GetObjectAttributes; ``ObjectSize`` is the plaintext size, exactly as
        ``head_object`` gives it (one more HEAD), ``StoredObjectSize`` the stored one."""
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
        """The S3 client's ``generate_presigned_url``, refused for the operations that
        move object content (``get_object``, ``put_object``, ``upload_part``, ...): S3
        would serve ciphertext or store plaintext, bypassing the encryption.
        ``AllowCiphertext=True`` signs such a URL anyway, knowing it moves the stored
        bytes as they are."""
        requests.check_presign(ClientMethod, AllowCiphertext)
        url: str = await self.s3.generate_presigned_url(
            ClientMethod, Params=Params, ExpiresIn=ExpiresIn, HttpMethod=HttpMethod
        )
        return url

    async def generate_presigned_post(
        self, Bucket: str, Key: str, *args: Any, AllowCiphertext: bool = False, **kwargs: Any
    ) -> Any:
        """The S3 client's ``generate_presigned_post``, refused as a presigned
        ``put_object`` is (see ``generate_presigned_url``)."""
        requests.check_presign("put_object", AllowCiphertext)
        return await self.s3.generate_presigned_post(Bucket, Key, *args, **kwargs)

    # ------------------------------------------------------------------ copying

    async def copy_object(
        self, *, Bucket: str, Key: str, CopySource: str | Mapping[str, str], **kwargs: Any
    ) -> dict[str, Any]:
        """Server-side copy that keeps the object readable: its encryption metadata, its
        instruction file and its integrity index go with it (same ciphertext, same key).
        Sidecars the target had and the source has not are removed; a user's object
        named like a sidecar is neither copied as one nor overwritten (the copy is
        refused before anything is written).

        ``MetadataDirective="REPLACE"`` replaces the user metadata only.
        """
        session = self.session
        source = requests.copy_source(CopySource)
        with located(Bucket, Key):
            copied = sidecars.removable_suffixes(
                await session.sidecar_kinds(
                    source["Bucket"], source["Key"], requests.copy_source_sse_c(kwargs), "copy"
                )
            )
            stale = sidecars.stale_after_write(
                Bucket,
                Key,
                await session.sidecar_kinds(Bucket, Key, requests.sse_c_args(kwargs), "copy"),
                copied,
            )
            if kwargs.get("MetadataDirective") == "REPLACE":
                head = await session.call(
                    "head_object",
                    source["Bucket"],
                    source["Key"],
                    "head of the copy source",
                    **requests.version_args(source),
                )
                kwargs["Metadata"] = requests.replaced_metadata(
                    head.get("Metadata", {}), kwargs.get("Metadata")
                )
            response = await session.call(
                "copy_object", Bucket, Key, "copy", CopySource=source, **kwargs
            )
            for suffix in copied:
                args = requests.sidecar_copy_args(source, suffix, Bucket, Key, kwargs)
                if args is not None:
                    await session.call("copy_object", Bucket, Key + suffix, "sidecar copy", **args)
            await session.remove_stale(Bucket, Key, stale)
            return response

    # ------------------------------------------------------------------ deleting

    async def delete_object(self, *, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """Delete the object and its sidecars (instruction file, integrity index); a
        user's object named like one of them stays."""
        session = self.session
        with located(Bucket, Key):
            response = await session.call("delete_object", Bucket, Key, "delete", **kwargs)
            if "VersionId" not in kwargs:
                kinds = await session.sidecar_kinds(Bucket, Key, {}, "delete")
                for suffix, kind in kinds.items():
                    if sidecars.removable(kind):
                        await session.call(
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
        kinds = await probe_sidecars(self.s3, Bucket, candidates, action="delete")
        return await self.s3.delete_objects(
            Bucket=Bucket, Delete=requests.with_sidecars(Delete, kinds), **kwargs
        )


def transfer_args(
    extra_args: Mapping[str, Any] | None, kwargs: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], Mapping[str, str] | None]:
    """A transfer's ``ExtraArgs`` (and keyword arguments) for S3, and apart from them the
    encryption context, which s3cse takes and S3 never sees."""
    extra = {**dict(extra_args or {}), **dict(kwargs or {})}
    return extra, extra.pop("EncryptionContext", None)
