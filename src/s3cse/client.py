"""The synchronous client: a boto3 S3 client that encrypts on the way up and decrypts on
the way down.

It mirrors the boto3 calls users know (``put_object``, ``get_object``, ``head_object``,
``delete_object``, ``upload_file``, ``download_file``) and passes any other attribute
through to the wrapped client. What it asks of S3 and how it reads the answers is in
``core.requests`` and ``core.reads``, shared with the async client (``aio``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, TYPE_CHECKING, Any, cast

from .bodies import GuardedBody
from .core import envelope, integrity, ranges, reads, requests, sidecars
from .core.ciphers import content_decryptor
from .core.config import CryptoConfig, CryptoOptions
from .core.materials import Keyring, MaterialsManager
from .core.metadata import DEFAULT_INSTRUCTION_SUFFIX, ContentMetadata
from .core.multipart import TransferConfig
from .core.requests import describe
from .errors import ObjectNotFoundError, S3CSEError, located
from .io import botocore
from .io.botocore import translate_s3_error
from .io.files import atomic_destination, writing_to
from .io.retries import botocore_config
from .responses import GetObjectResponse, HeadObjectResponse, ListObjectsResponse, PutObjectResponse
from .streams import DecryptedBody, ciphertext_body, decrypt_into
from .transfer import Callback, TransferManager, read_full

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "EncryptionClient",
    "atomic_destination",
    "describe",
    "fetch_content_metadata",
    "listing_with_sidecars",
    "located",
    "probe_sidecars",
    "translate_s3_error",
]


PROBES_AT_ONCE = 8


def _s3_errors() -> tuple[type[Exception], ...]:
    return botocore.s3_errors()


class EncryptionClient(botocore.WrapsS3Client):
    """Client-side encryption around a boto3 S3 client.

    Give it a keyring (``KmsKeyring``, ``AesKeyring``, ``RsaKeyring`` or a
    ``MultiKeyring``) or a materials manager, and optionally a ``CryptoConfig`` or its
    fields as keyword arguments (``CryptoOptions``: a misspelt one is a ``TypeError``).
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
            import boto3

            s3_client = boto3.client("s3", config=botocore_config())
        self.s3 = s3_client

    def __getattr__(self, name: str) -> Any:
        # Everything we do not change goes straight to the wrapped boto3 client.
        return getattr(self.s3, name)

    # ------------------------------------------------------------------ writing

    def put_object(
        self,
        *,
        Bucket: str,
        Key: str,
        Body: bytes | str | IO[bytes] = b"",
        EncryptionContext: Mapping[str, str] | None = None,
        InstructionFile: bool | None = None,
        IntegrityIndex: bool | None = None,
        **kwargs: Any,
    ) -> PutObjectResponse:
        """Encrypt ``Body`` and store it; extra arguments go to S3's PutObject.

        ``IntegrityIndex=True`` also writes ``KEY.s3cse-index`` for authenticated ranges.
        """
        with located(Bucket, Key):
            plan = requests.plan_put(
                self.config, kwargs, EncryptionContext, InstructionFile, IntegrityIndex
            )
            source = requests.binary_source(Body)
            length = requests.body_length(source)
            requests.check_plaintext_limit(length, self.config.write_suite)
            stale = self.prepare_sidecars(Bucket, Key, plan)
            materials = self.materials.encryption_materials(
                plan.encryption_request(self.config, length)
            )
            sealed = requests.seal_put(plan, materials, self.config)
            body = ciphertext_body(
                source,
                sealed.content_key,
                sealed.index_key,
                self.config.spool_threshold,
                self.config.spool_dir,
            )
            try:
                response = self._s3_call(
                    "put_object",
                    Bucket,
                    Key,
                    "upload",
                    Body=body.stream,
                    ContentLength=body.length,
                    **sealed.args,
                )
            finally:
                body.close()
            self.finish_sidecars(Bucket, Key, sealed, body.length, body.macs(), stale)
            return cast("PutObjectResponse", response)

    def prepare_sidecars(self, bucket: str, key: str, plan: requests.PutPlan) -> list[str]:
        """Before a write: what is under the object's sidecar names. Refuses a write whose
        sidecar would overwrite a user's object; returns the suffixes of the sidecars the
        write leaves stale (of the version it replaces), for ``finish_sidecars``."""
        existing = self.sidecar_kinds(bucket, key, requests.sse_c_args(plan.args), "upload")
        return sidecars.stale_after_write(bucket, key, existing, plan.sidecar_suffixes())

    def sidecar_kinds(
        self, bucket: str, key: str, sse_c: Mapping[str, Any], action: str = "sidecar check"
    ) -> dict[str, sidecars.Kind]:
        """What is under each of the object's sidecar names (``sidecars.Kind``)."""
        found = probe_sidecars(self.s3, bucket, [key + s for s in sidecars.SUFFIXES], sse_c, action)
        return {suffix: found[key + suffix] for suffix in sidecars.SUFFIXES}

    def finish_sidecars(
        self,
        bucket: str,
        key: str,
        sealed: requests.SealedPut,
        stored_size: int,
        macs: list[bytes],
        stale: list[str],
    ) -> None:
        """Once the object is stored: its new sidecars, then the stale ones removed.

        What a crash between these writes can leave, and how it reads:

        * the new object beside the index of the version it replaced: stale
          (``index.SidecarHeader.is_stale_for``), set aside, never read as tampering;
        * the new object, keyed in its metadata, beside an old instruction file: the
          metadata wins, the file is never read;
        * the new object written for an instruction file that is not stored yet: it
          reads with the old version's file, or none. The AWS format binds nothing of
          an instruction file to its object, so this one fails as tampering would (V3:
          key commitment mismatch; V2: tag mismatch) until the object is written again.
          Writing the file first instead would break the old object on any failed
          upload, which is far likelier than a crash in between.

        Removing a stale sidecar is best effort: what remains reads as what it is.
        """
        for suffix, sidecar in sealed.sidecars(self.config, stored_size, macs):
            self.put_sidecar(bucket, key, suffix, sidecar, sealed.args)
        self._remove_stale(bucket, key, stale)

    def _remove_stale(self, bucket: str, key: str, stale: Iterable[str]) -> None:
        for suffix in stale:
            with contextlib.suppress(*_s3_errors()):
                self.s3.delete_object(Bucket=bucket, Key=key + suffix)

    def put_sidecar(
        self, bucket: str, key: str, suffix: str, body: bytes, put_args: Mapping[str, Any]
    ) -> None:
        """Store an instruction file or integrity index beside its object.

        If that fails the object is taken back: an object without its instruction file
        cannot be read, and one without the index it was promised misleads.
        """
        try:
            self._s3_call(
                "put_object",
                bucket,
                key + suffix,
                f"upload of {key + suffix}",
                Body=body,
                **requests.sidecar_args(put_args),
            )
        except S3CSEError:
            with contextlib.suppress(*_s3_errors()):
                self.s3.delete_object(Bucket=bucket, Key=key)
            raise

    def upload_file(
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
        ``InstructionFile``.
        """
        extra = dict(ExtraArgs or {})
        context = extra.pop("EncryptionContext", None)
        return TransferManager(self, Config).upload_file(
            Filename, Bucket, Key, extra, Callback, context
        )

    def upload_fileobj(
        self,
        Fileobj: IO[bytes] | DecryptedBody,
        Bucket: str,
        Key: str,
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callback | None = None,
        Config: TransferConfig | None = None,
    ) -> dict[str, Any]:
        """Upload from a binary file object (or another object's ``get_object`` Body);
        pipes stream with bounded read-ahead."""
        extra = dict(ExtraArgs or {})
        context = extra.pop("EncryptionContext", None)
        return TransferManager(self, Config).upload_fileobj(
            cast(IO[bytes], Fileobj), Bucket, Key, extra, Callback, context
        )

    # ------------------------------------------------------------------ reading

    def get_object(
        self,
        *,
        Bucket: str,
        Key: str,
        EncryptionContext: Mapping[str, str] | None = None,
        InstructionFileSuffix: str | None = None,
        **kwargs: Any,
    ) -> GetObjectResponse:
        """Fetch and decrypt. By default the plaintext is authenticated before returning."""
        with located(Bucket, Key):
            requests.refuse_part_number(kwargs)
            if "Range" in kwargs:
                return cast(
                    "GetObjectResponse",
                    self._get_range(
                        Bucket,
                        Key,
                        kwargs.pop("Range"),
                        EncryptionContext,
                        InstructionFileSuffix,
                        kwargs,
                    ),
                )
            response = self._s3_call("get_object", Bucket, Key, "download", **kwargs)
            stream = response["Body"]
            try:
                md = self._content_metadata(
                    Bucket, Key, response.get("Metadata", {}), InstructionFileSuffix, kwargs
                )
                decryptor = self._open(md, EncryptionContext)
                if self.config.delayed_authentication:
                    ciphertext_size = int(response.get("ContentLength") or 0)
                    size = envelope.plaintext_size(md, ciphertext_size)
                    body = DecryptedBody.streaming(stream, decryptor, size, (Bucket, Key))
                else:
                    body = self._authenticated_body(stream, decryptor)
                    size = body.content_length
            except BaseException:
                stream.close()
                raise
            if not self.config.delayed_authentication:
                stream.close()
            return cast("GetObjectResponse", requests.decrypted_response(response, body, size))

    def _get_range(
        self,
        bucket: str,
        key: str,
        header: str,
        context: Mapping[str, str] | None,
        suffix: str | None,
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        """A byte range: through the integrity index whenever the object has one (even
        with ``unauthenticated_ranges``), else fetched from its enclosing cipher blocks and
        decrypted with CTR (GCM) or from the previous block (CBC), unauthenticated: see
        ``ranges``."""
        requested = ranges.ByteRange.parse(header)
        verified, stale_index = self._get_verified_range(
            bucket, key, requested, header, context, suffix, kwargs
        )
        if verified is not None:
            return verified
        response = self._s3_call(
            "get_object",
            bucket,
            key,
            "ranged download",
            Range=requested.ciphertext_request(authenticated=False),
            **kwargs,
        )
        stream = response["Body"]
        try:
            md = self._content_metadata(bucket, key, response.get("Metadata", {}), suffix, kwargs)
            reads.check_unindexed_range(md, self.config, stale_index)
            content_key = envelope.unwrap_content_key(md, self.materials, self.config, context)
            tail_range = reads.cbc_tail_range(md, reads.content_range(response)[2])
            tail = (
                None
                if tail_range is None
                else self._s3_call(
                    "get_object", bucket, key, "ranged download", Range=tail_range, **kwargs
                )["Body"].read()
            )
            decryptor, plan = reads.range_decryptor(
                requested, header, md, content_key, response, tail
            )
            body = DecryptedBody.streaming(
                stream, decryptor, plan.last - plan.first + 1, (bucket, key)
            )
        except BaseException:
            stream.close()
            raise
        return requests.ranged_response(response, body, plan.first, plan.last, plan.plaintext_size)

    def _get_verified_range(
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
        none, or only one of an earlier version of the object (then True: stale).

        The index header, then the object's HEAD (its metadata and size), are checked
        before anything the index says is used; then the touched chunks and their index
        entries are fetched side by side, both pinned by ETag to what was checked.
        """
        sse_c = requests.sse_c_args(kwargs)
        found = self._index_header(bucket, key, sse_c)
        if found is None:
            return None, False
        head = self._s3_call("head_object", bucket, key, "head", **kwargs)
        md = self._content_metadata(bucket, key, head.get("Metadata", {}), suffix, kwargs)
        found, stale = reads.usable_index(found, md)
        if found is None:
            return None, stale
        envelope.check_read_policy(md, self.config)
        content_key = envelope.unwrap_content_key(md, self.materials, self.config, context)
        stored_size = int(head["ContentLength"])
        index_key = reads.open_index(md, content_key, found, stored_size)
        plan = reads.plan_indexed_range(requested, header, stored_size)
        with ThreadPoolExecutor(2) as pool:
            entries = pool.submit(
                self._read_body,
                bucket,
                key + integrity.SUFFIX,
                "integrity index read",
                Range=plan.entries_range,
                IfMatch=found.etag,
                **sse_c,
            )
            response = self._s3_call(
                "get_object",
                bucket,
                key,
                "ranged download",
                **{**kwargs, "Range": plan.object_range, "IfMatch": head["ETag"]},
            )
            stream = response["Body"]
            try:
                verifier = reads.verified_range(
                    plan, index_key, content_key, entries.result(), response
                )
                body = DecryptedBody.streaming(
                    stream, verifier, plan.last - plan.first + 1, (bucket, key)
                )
            except BaseException:
                stream.close()
                raise
        return requests.ranged_response(
            response, body, plan.first, plan.last, plan.plaintext_size
        ), False

    def _index_header(
        self, bucket: str, key: str, sse_c: Mapping[str, Any]
    ) -> integrity.SidecarHeader | None:
        """The header of the object's integrity index, unverified; None if it has none
        (or a user's object has the index's name). Only the header's bytes are read,
        whatever the sidecar's size."""
        try:
            response = self._s3_call(
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
        with contextlib.closing(response["Body"]) as body:
            return reads.sidecar_header(response, body.read(integrity.HEADER_SIZE))

    def _read_body(self, bucket: str, key: str, action: str, **kwargs: Any) -> bytes:
        with contextlib.closing(
            self._s3_call("get_object", bucket, key, action, **kwargs)["Body"]
        ) as body:
            data: bytes = body.read()
        return data

    def _authenticated_body(self, stream: Any, decryptor: Any) -> DecryptedBody:
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=self.config.spool_threshold, dir=self.config.spool_dir
        )
        try:
            length = decrypt_into(stream, decryptor, spool)
        except BaseException:
            spool.close()
            raise
        return DecryptedBody.authenticated(spool, length)

    def _open(self, md: ContentMetadata, context: Mapping[str, str] | None) -> Any:
        """Policy checks, data key unwrap, commitment check: a ready content decryptor."""
        return content_decryptor(
            envelope.unwrap_content_key(md, self.materials, self.config, context)
        )

    def _content_metadata(
        self,
        bucket: str,
        key: str,
        object_md: Mapping[str, str],
        suffix: str | None,
        request_args: Mapping[str, Any],
    ) -> ContentMetadata:
        return fetch_content_metadata(
            self.s3,
            bucket,
            key,
            object_md,
            suffix or self.config.instruction_suffix,
            requests.sse_c_args(request_args),
        )

    def download_file(
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
        TransferManager(self, Config).download_file(
            Bucket, Key, Filename, Callback, context, **extra
        )

    def download_fileobj(
        self,
        Bucket: str,
        Key: str,
        Fileobj: IO[bytes],
        ExtraArgs: Mapping[str, Any] | None = None,
        Callback: Callback | None = None,
        Config: TransferConfig | None = None,
        **kwargs: Any,
    ) -> int:
        """Decrypt into ``Fileobj`` once the whole object has verified: until then the
        plaintext waits in a private spool (memory up to ``spool_threshold``, then an
        unnamed temporary file in ``spool_dir``). Under ``delayed_authentication`` it is
        written as it arrives, and holds unauthenticated bytes if this raises."""
        extra = {**dict(ExtraArgs or {}), **kwargs}
        context = extra.pop("EncryptionContext", None)
        with writing_to(Fileobj, Bucket, Key):
            return TransferManager(self, Config).download_fileobj(
                Bucket, Key, Fileobj, Callback, context, **extra
            )

    def stream_download(self, Bucket: str, Key: str, Fileobj: IO[bytes], **kwargs: Any) -> int:
        """One GET, decrypted as it arrives into ``Fileobj`` (which holds unauthenticated
        bytes if this raises: discard it)."""
        context = kwargs.pop("EncryptionContext", None)
        suffix = kwargs.pop("InstructionFileSuffix", None)
        with located(Bucket, Key):
            response = self._s3_call("get_object", Bucket, Key, "download", **kwargs)
            stream = response["Body"]
            try:
                md = self._content_metadata(
                    Bucket, Key, response.get("Metadata", {}), suffix, kwargs
                )
                return decrypt_into(stream, self._open(md, context), Fileobj)
            finally:
                stream.close()

    def head_object(self, *, Bucket: str, Key: str, **kwargs: Any) -> HeadObjectResponse:
        """S3's HeadObject, with ``ContentLength`` the plaintext size where it is known."""
        suffix = kwargs.pop("InstructionFileSuffix", None)
        with located(Bucket, Key):
            response = self._s3_call("head_object", Bucket, Key, "head", **kwargs)
            md = self._content_metadata(Bucket, Key, response.get("Metadata", {}), suffix, kwargs)
            return cast("HeadObjectResponse", requests.head_response(response, md))

    # ------------------------------------------------------------------ listing

    def list_objects_v2(self, **kwargs: Any) -> ListObjectsResponse:
        """S3's ListObjectsV2, each ``Size`` the plaintext size AES-GCM implies (stored
        less 16; see ``requests.listing_response``), ``StoredSize`` the stored one.
        ``list_objects`` and ``list_object_versions`` report sizes the same way."""
        return self._listing(self.s3.list_objects_v2(**kwargs))

    def list_objects(self, **kwargs: Any) -> ListObjectsResponse:
        return self._listing(self.s3.list_objects(**kwargs))

    def list_object_versions(self, **kwargs: Any) -> ListObjectsResponse:
        return self._listing(self.s3.list_object_versions(**kwargs))

    def _listing(self, response: dict[str, Any]) -> ListObjectsResponse:
        return cast(
            "ListObjectsResponse",
            requests.listing_response(response, requests.sidecar_suffixes(self.config)),
        )

    def get_paginator(self, operation_name: str) -> Any:
        """S3's paginator; those of the listings page through this client's listings, so
        their pages report sizes as ``list_objects_v2`` does."""
        paginator = self.s3.get_paginator(operation_name)
        if operation_name in requests.LISTINGS:
            # botocore builds a fresh paginator per call around the method it pages with
            paginator._method = getattr(self, operation_name)
        return paginator

    def get_object_attributes(self, *, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """S3's GetObjectAttributes; ``ObjectSize`` is the plaintext size, exactly as
        ``head_object`` gives it (one more HEAD), ``StoredObjectSize`` the stored one."""
        response: dict[str, Any] = self.s3.get_object_attributes(Bucket=Bucket, Key=Key, **kwargs)
        if "ObjectSize" not in response:
            return response
        head = self.head_object(Bucket=Bucket, Key=Key, **requests.attributes_head_args(kwargs))
        return requests.attributes_response(response, head["ContentLength"])

    # ------------------------------------------------------------------ presigning

    def generate_presigned_url(
        self,
        ClientMethod: str,
        Params: Mapping[str, Any] | None = None,
        ExpiresIn: int = 3600,
        HttpMethod: str | None = None,
        *,
        AllowCiphertext: bool = False,
    ) -> str:
        """boto3's ``generate_presigned_url``, refused for the operations that move object
        content (``get_object``, ``put_object``, ``upload_part``, ...): S3 would serve
        ciphertext or store plaintext, bypassing the encryption. ``AllowCiphertext=True``
        signs such a URL anyway, knowing it moves the stored bytes as they are."""
        requests.check_presign(ClientMethod, AllowCiphertext)
        url: str = self.s3.generate_presigned_url(
            ClientMethod, Params=Params, ExpiresIn=ExpiresIn, HttpMethod=HttpMethod
        )
        return url

    def generate_presigned_post(
        self, Bucket: str, Key: str, *args: Any, AllowCiphertext: bool = False, **kwargs: Any
    ) -> Any:
        """boto3's ``generate_presigned_post``, refused as a presigned ``put_object``
        is (see ``generate_presigned_url``)."""
        requests.check_presign("put_object", AllowCiphertext)
        return self.s3.generate_presigned_post(Bucket, Key, *args, **kwargs)

    # ------------------------------------------------------------------ copying

    def copy_object(
        self, *, Bucket: str, Key: str, CopySource: str | Mapping[str, str], **kwargs: Any
    ) -> dict[str, Any]:
        """Server-side copy that keeps the object readable: its encryption metadata, its
        instruction file and its integrity index go with it (same ciphertext, same key).
        Sidecars the target had and the source has not are removed; a user's object
        named like a sidecar is neither copied as one nor overwritten (the copy is
        refused before anything is written).

        ``MetadataDirective="REPLACE"`` replaces the user metadata only.
        """
        source = requests.copy_source(CopySource)
        with located(Bucket, Key):
            copied = sidecars.removable_suffixes(
                self.sidecar_kinds(
                    source["Bucket"], source["Key"], requests.copy_source_sse_c(kwargs), "copy"
                )
            )
            stale = sidecars.stale_after_write(
                Bucket,
                Key,
                self.sidecar_kinds(Bucket, Key, requests.sse_c_args(kwargs), "copy"),
                copied,
            )
            if kwargs.get("MetadataDirective") == "REPLACE":
                head = self._s3_call(
                    "head_object",
                    source["Bucket"],
                    source["Key"],
                    "head of the copy source",
                    **requests.version_args(source),
                )
                kwargs["Metadata"] = requests.replaced_metadata(
                    head.get("Metadata", {}), kwargs.get("Metadata")
                )
            response = self._s3_call(
                "copy_object", Bucket, Key, "copy", CopySource=source, **kwargs
            )
            for suffix in copied:
                args = requests.sidecar_copy_args(source, suffix, Bucket, Key, kwargs)
                if args is not None:
                    self._s3_call("copy_object", Bucket, Key + suffix, "sidecar copy", **args)
            self._remove_stale(Bucket, Key, stale)
            return response

    # ------------------------------------------------------------------ deleting

    def delete_object(self, *, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """Delete the object and its sidecars (instruction file, integrity index); a
        user's object named like one of them stays."""
        with located(Bucket, Key):
            response = self._s3_call("delete_object", Bucket, Key, "delete", **kwargs)
            if "VersionId" not in kwargs:
                for suffix, kind in self.sidecar_kinds(Bucket, Key, {}, "delete").items():
                    if sidecars.removable(kind):
                        self._s3_call(
                            "delete_object",
                            Bucket,
                            Key + suffix,
                            f"delete of {Key + suffix}",
                            **kwargs,
                        )
            return response

    def delete_objects(self, *, Bucket: str, Delete: Mapping[str, Any], **kwargs: Any) -> Any:
        """DeleteObjects, each object with its sidecars (unless a version is named); a
        user's object named like a sidecar stays unless it is named itself."""
        candidates = requests.sidecar_candidates(Delete, requests.sidecar_suffixes(self.config))
        kinds = probe_sidecars(self.s3, Bucket, candidates, action="delete")
        return self.s3.delete_objects(
            Bucket=Bucket, Delete=requests.with_sidecars(Delete, kinds), **kwargs
        )

    # ------------------------------------------------------------------ plumbing

    def _s3_call(
        self, operation: str, bucket: str, key: str, action: str, **kwargs: Any
    ) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self.s3, operation)(Bucket=bucket, Key=key, **kwargs)
        except _s3_errors() as exc:
            raise translate_s3_error(exc, bucket, key, action) from None
        return botocore.accept_answer(operation, response, bucket, key, action, GuardedBody)


def probe_sidecar(
    s3: Any,
    bucket: str,
    key: str,
    sse_c: Mapping[str, Any] | None = None,
    action: str = "sidecar check",
) -> sidecars.Kind:
    """What is under the sidecar name ``key``: one small ranged GET (``sidecars``); when S3
    cannot be reached, ``action`` failed."""
    named = sidecars.split_name(key)
    assert named is not None, key
    suffix = named[1]
    try:
        response = s3.get_object(
            Bucket=bucket, Key=key, Range=sidecars.probe_range(suffix), **dict(sse_c or {})
        )
    except _s3_errors() as exc:
        return botocore.probe_failure(exc, bucket, key, suffix, action)
    with contextlib.closing(response["Body"]) as body:
        data: bytes = body.read()
    return sidecars.kind_of(suffix, response.get("Metadata", {}), data)


def probe_sidecars(
    s3: Any,
    bucket: str,
    keys: Iterable[str],
    sse_c: Mapping[str, Any] | None = None,
    action: str = "sidecar check",
) -> dict[str, sidecars.Kind]:
    """``probe_sidecar`` of each key, a few at a time."""
    keys = list(dict.fromkeys(keys))

    def probe(key: str) -> sidecars.Kind:
        return probe_sidecar(s3, bucket, key, sse_c, action)

    if len(keys) <= 1:
        return {key: probe(key) for key in keys}
    with ThreadPoolExecutor(min(len(keys), PROBES_AT_ONCE)) as pool:
        return dict(zip(keys, pool.map(probe, keys), strict=True))


def listing_with_sidecars(
    s3: Any,
    bucket: str,
    pages: Iterable[Mapping[str, Any]],
    sse_c: Mapping[str, Any] | None = None,
) -> Iterator[tuple[dict[str, Any], bool]]:
    """Each entry of ListObjectsV2 ``pages`` (an object, or a common prefix as
    ``{"Prefix": ...}``) with whether it is a sidecar of a listed object. Names and
    sizes decide, and a small GET only for what they leave open (``sidecars``): a user's
    object named like a sidecar is not one."""
    seen: dict[str, int] = {}
    for page in pages:
        for common in page.get("CommonPrefixes", []):
            yield {"Prefix": common["Prefix"]}, False
        items = page.get("Contents", [])
        kinds, undecided = sidecars.listing_kinds(
            [(item["Key"], int(item.get("Size") or 0)) for item in items], seen
        )
        kinds.update(probe_sidecars(s3, bucket, undecided, sse_c, "list"))
        hidden = sidecars.hidden_in_listing(kinds)
        for item in items:
            yield item, item["Key"] in hidden


def fetch_content_metadata(
    s3: Any,
    bucket: str,
    key: str,
    object_md: Mapping[str, str],
    suffix: str = DEFAULT_INSTRUCTION_SUFFIX,
    sse_c: Mapping[str, Any] | None = None,
) -> ContentMetadata:
    """Parse the object's metadata, fetching its instruction file when it needs one."""
    object_md = reads.object_metadata(object_md)
    md = reads.parse_object_metadata(object_md)
    if md is not None:
        return md
    instruction_key = key + suffix
    try:
        response = s3.get_object(Bucket=bucket, Key=instruction_key, **dict(sse_c or {}))
        with contextlib.closing(response["Body"]) as stream:
            body = read_full(stream, reads.instruction_file_read_limit(response))
    except _s3_errors() as exc:
        error = translate_s3_error(exc, bucket, instruction_key, "instruction file read")
        if not isinstance(error, ObjectNotFoundError):
            raise error from None
        raise reads.missing_instruction_file(object_md, bucket, key, instruction_key) from None
    return reads.parse_with_instruction_file(object_md, body)
