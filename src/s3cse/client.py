"""The synchronous client: a boto3 S3 client that encrypts on the way up and decrypts on
the way down.

It mirrors the boto3 calls users know (``put_object``, ``get_object``, ``head_object``,
``delete_object``, ``upload_file``, ``download_file``) and passes any other attribute
through to the wrapped client.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from . import envelope, metadata, ranges
from . import index as integrity
from .ciphers import content_decryptor
from .config import CryptoConfig
from .errors import (
    ConfigurationError,
    ContentTooLargeError,
    InstructionFileError,
    NotEncryptedError,
    ObjectNotFoundError,
    S3CSEError,
    S3RequestError,
)
from .gcm import BLOCK, GcmLayout
from .materials import (
    DefaultMaterialsManager,
    EncryptionRequest,
    Keyring,
    MaterialsManager,
)
from .metadata import ContentMetadata
from .streams import (
    DecryptedBody,
    EncryptingReader,
    decrypt_into,
    encrypt_to_spool,
    remaining_length,
)
from .transfer import Callback, TransferConfig, TransferManager

# Arguments that describe the plaintext and would be wrong for the ciphertext.
_REFUSED_PUT_ARGS = (
    "ContentMD5",
    "ChecksumCRC32",
    "ChecksumCRC32C",
    "ChecksumCRC64NVME",
    "ChecksumSHA1",
    "ChecksumSHA256",
    "ContentLength",
)
# Arguments an instruction file shares with its object.
_INSTRUCTION_SHARED_ARGS = (
    "SSECustomerAlgorithm",
    "SSECustomerKey",
    "SSECustomerKeyMD5",
    "ServerSideEncryption",
    "SSEKMSKeyId",
    "SSEKMSEncryptionContext",
    "BucketKeyEnabled",
    "ExpectedBucketOwner",
    "RequestPayer",
    "StorageClass",
    "ACL",
)
_SSE_C_ARGS = ("SSECustomerAlgorithm", "SSECustomerKey", "SSECustomerKeyMD5")
_NOT_FOUND = {"NoSuchKey", "404", "NotFound", "NoSuchBucket", "NoSuchVersion"}


def translate_s3_error(exc: Exception, bucket: str, key: str, action: str) -> S3CSEError:
    """Name what failed in terms of the object, not of botocore's internals."""
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    message = response.get("Error", {}).get("Message", "") or str(exc)
    if code in _NOT_FOUND:
        # HEAD answers a bare 404 for a missing bucket as for a missing key
        what = {"NoSuchBucket": "bucket", "NoSuchVersion": "version",
                "404": "object or bucket", "NotFound": "object or bucket"}.get(code, "object")
        return ObjectNotFoundError(f"{action}: no such {what}", bucket=bucket, key=key)
    if code:
        return S3RequestError(f"{action} failed ({code}: {message})", bucket=bucket, key=key)
    return S3RequestError(f"{action} failed: {exc}", bucket=bucket, key=key,
                          hint="Check the S3 endpoint and network")


@contextlib.contextmanager
def located(bucket: str, key: str) -> Any:
    """Attach bucket and key to any s3cse error raised inside."""
    try:
        yield
    except S3CSEError as exc:
        raise exc.locate(bucket, key) from exc.__cause__


def _s3_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


class EncryptionClient:
    """Client-side encryption around a boto3 S3 client.

    Give it a keyring (``KmsKeyring``, ``AesKeyring``, ``RsaKeyring`` or a
    ``MultiKeyring``) or a materials manager, and optionally a ``CryptoConfig`` or its
    fields as keyword arguments.
    """

    def __init__(
        self,
        keyring: Keyring | None = None,
        *,
        materials: MaterialsManager | None = None,
        s3_client: Any = None,
        config: CryptoConfig | None = None,
        **options: Any,
    ) -> None:
        if (keyring is None) == (materials is None):
            raise ConfigurationError("give exactly one of keyring or materials")
        self.materials = materials or DefaultMaterialsManager(keyring)  # type: ignore[arg-type]
        self.config = (config or CryptoConfig()).with_changes(**options) if options else (
            config or CryptoConfig()
        )
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
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
    ) -> dict[str, Any]:
        """Encrypt ``Body`` and store it; extra arguments go to S3's PutObject.

        ``IntegrityIndex=True`` also writes ``KEY.s3cse-index`` for authenticated ranges.
        """
        with located(Bucket, Key):
            refused = [a for a in _REFUSED_PUT_ARGS if a in kwargs]
            if refused:
                raise ConfigurationError(
                    f"{refused} describe the plaintext and cannot apply to the stored "
                    "ciphertext; leave them out (S3 checksums the ciphertext itself)"
                )
            use_instruction = (
                self.config.instruction_file if InstructionFile is None else InstructionFile
            )
            kwargs["Metadata"] = envelope.check_user_metadata(kwargs.get("Metadata"))
            materials = self.materials.encryption_materials(EncryptionRequest(
                self.config.write_suite, dict(EncryptionContext or {}),
                plaintext_length=_body_length(Body),
            ))
            md, content_key = envelope.seal(
                materials, self.config.format, instruction_file=use_instruction
            )
            object_md, instruction = metadata.serialize(md)
            kwargs["Metadata"].update(object_md)
            use_index = self.config.integrity_index if IntegrityIndex is None else IntegrityIndex
            index_key = integrity.IndexKey.for_object(content_key, md) if use_index else None
            body, length, macs, cleanup = self._ciphertext_body(Body, content_key, index_key)
            try:
                response = self._s3_call(
                    "put_object", Bucket, Key, "upload",
                    Body=body, ContentLength=length, **kwargs,
                )
            finally:
                cleanup()
            if instruction is not None:
                self.put_sidecar(Bucket, Key, self.config.instruction_suffix,
                                 metadata.instruction_file_body(instruction), kwargs)
            if index_key is not None:
                self.put_sidecar(Bucket, Key, integrity.SUFFIX,
                                 index_key.build(length, macs()), kwargs)
            return response

    def _ciphertext_body(
        self, body: bytes | str | IO[bytes], content_key: Any,
        index_key: integrity.IndexKey | None,
    ) -> tuple[Any, int, Callable[[], list[bytes]], Callable[[], None]]:
        if isinstance(body, str):
            body = body.encode("utf-8")
        if isinstance(body, (bytes, bytearray, memoryview)):
            source: IO[bytes] = io.BytesIO(bytes(body))
        elif hasattr(body, "read"):
            source = body
        else:
            raise ConfigurationError(
                f"Body must be bytes, str or a binary file object, not {type(body).__name__}"
            )
        length = remaining_length(source)
        limit = content_key.suite.max_plaintext
        if length is not None and limit is not None and length > limit:
            raise ContentTooLargeError(
                f"the body has {length} bytes; AES-GCM encrypts at most {limit} bytes "
                "under one data key"
            )
        if length is not None:
            reader = EncryptingReader(source, content_key, length, index_key)
            return (reader, reader.ciphertext_length, lambda: reader.index_macs or [],
                    lambda: None)
        spool, spooled_macs = encrypt_to_spool(
            source, content_key, self.config.spool_threshold, self.config.spool_dir, index_key
        )
        size = spool.seek(0, os.SEEK_END)
        spool.seek(0)
        return spool, size, lambda: spooled_macs or [], spool.close

    def put_sidecar(
        self, bucket: str, key: str, suffix: str, body: bytes, put_args: Mapping[str, Any]
    ) -> None:
        """Store an instruction file or integrity index beside its object.

        If that fails the object is taken back: an object without its instruction file
        cannot be read, and one without the index it was promised misleads.
        """
        extra = {a: put_args[a] for a in _INSTRUCTION_SHARED_ARGS if a in put_args}
        try:
            self._s3_call("put_object", bucket, key + suffix, f"upload of {key + suffix}",
                          Body=body, **extra)
        except S3CSEError:
            with contextlib.suppress(*_s3_errors()):
                self.s3.delete_object(Bucket=bucket, Key=key)
            raise

    def upload_file(
        self, Filename: str | os.PathLike[str], Bucket: str, Key: str,
        ExtraArgs: Mapping[str, Any] | None = None, Callback: Callback | None = None,
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
        self, Fileobj: IO[bytes], Bucket: str, Key: str,
        ExtraArgs: Mapping[str, Any] | None = None, Callback: Callback | None = None,
        Config: TransferConfig | None = None,
    ) -> dict[str, Any]:
        """Upload from a binary file object; pipes stream with bounded read-ahead."""
        extra = dict(ExtraArgs or {})
        context = extra.pop("EncryptionContext", None)
        return TransferManager(self, Config).upload_fileobj(
            Fileobj, Bucket, Key, extra, Callback, context
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
    ) -> dict[str, Any]:
        """Fetch and decrypt. By default the plaintext is authenticated before returning."""
        with located(Bucket, Key):
            if "PartNumber" in kwargs:
                raise ConfigurationError(
                    "PartNumber reads return ciphertext slices that cannot be decrypted "
                    "alone; use Range"
                )
            if "Range" in kwargs:
                return self._get_range(
                    Bucket, Key, kwargs.pop("Range"), EncryptionContext,
                    InstructionFileSuffix, kwargs,
                )
            response = self._s3_call("get_object", Bucket, Key, "download", **kwargs)
            stream = response["Body"]
            try:
                md = self._content_metadata(
                    Bucket, Key, response.get("Metadata", {}), InstructionFileSuffix, kwargs
                )
                decryptor = self._open(md, EncryptionContext)
                ciphertext_size = int(response.get("ContentLength") or 0)
                size = envelope.plaintext_size(md, ciphertext_size)
                if self.config.delayed_authentication:
                    body = DecryptedBody.streaming(stream, decryptor, size)
                else:
                    body = self._authenticated_body(stream, decryptor)
                    size = body.content_length
            except BaseException:
                stream.close()
                raise
            if not self.config.delayed_authentication:
                stream.close()
            response["Body"] = body
            response["ContentLength"] = size
            response.pop("ContentMD5", None)
            return response

    def _get_range(
        self, bucket: str, key: str, header: str, context: Mapping[str, str] | None,
        suffix: str | None, kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        """A byte range, fetched from its enclosing cipher blocks and decrypted with CTR
        (GCM) or from the previous block (CBC). Unauthenticated: see ``ranges``."""
        requested = ranges.ByteRange.parse(header)
        if not self.config.unauthenticated_ranges:
            verified = self._get_verified_range(bucket, key, requested, header, context,
                                                suffix, kwargs)
            if verified is not None:
                return verified
        response = self._s3_call(
            "get_object", bucket, key, "ranged download",
            Range=requested.ciphertext_request(authenticated=False), **kwargs,
        )
        stream = response["Body"]
        try:
            md = self._content_metadata(bucket, key, response.get("Metadata", {}), suffix,
                                        kwargs)
            envelope.check_read_policy(md, self.config)
            if md.suite.authenticated and not self.config.unauthenticated_ranges:
                raise ConfigurationError(
                    "a byte range of an AES-GCM object cannot be authenticated (the tag "
                    "covers the whole object) and this object has no integrity index",
                    hint="Read the whole object, upload it with IntegrityIndex=True, or set "
                    "unauthenticated_ranges=True if you accept unauthenticated bytes",
                )
            first, last, total = _content_range(response)
            content_key = envelope.unwrap_content_key(md, self.materials, self.config, context)
            cbc_size = md.unencrypted_length
            if not md.suite.authenticated and cbc_size is None:
                # legacy CBC without a stored length: its last block tells the size
                tail = self._s3_call(
                    "get_object", bucket, key, "ranged download",
                    Range=f"bytes=-{min(total, 2 * BLOCK)}", **kwargs)["Body"].read()
                cbc_size = ranges.cbc_plaintext_size(content_key, total, tail, md.iv or b"")
            plan = ranges.plan(requested, content_key, first, last, total, header, cbc_size)
            decryptor = ranges.RangeDecryptor(content_key, plan, md.iv or b"")
            body = DecryptedBody.streaming(stream, decryptor, plan.last - plan.first + 1)
            lo, hi, size = plan.first, plan.last, plan.plaintext_size
        except BaseException:
            stream.close()
            raise
        response["Body"] = body
        response["ContentLength"] = body.content_length
        response["ContentRange"] = f"bytes {lo}-{hi}/{size}"
        return response

    def _get_verified_range(
        self, bucket: str, key: str, requested: ranges.ByteRange, header: str,
        context: Mapping[str, str] | None, suffix: str | None, kwargs: dict[str, Any],
    ) -> dict[str, Any] | None:
        """An authenticated range through the object's integrity index; None if it has none.

        Two round trips: the index header (it gives the size), then the touched chunks
        and their index entries side by side.
        """
        sse_c = {a: kwargs[a] for a in _SSE_C_ARGS if a in kwargs}
        index_name = key + integrity.SUFFIX
        try:
            head = self.s3.get_object(Bucket=bucket, Key=index_name,
                                      Range=f"bytes=0-{integrity.HEADER_SIZE - 1}", **sse_c)
            index_header = head["Body"].read()
        except _s3_errors() as exc:
            error = translate_s3_error(exc, bucket, index_name, "integrity index read")
            if isinstance(error, ObjectNotFoundError):
                return None
            raise error from None
        stored = integrity.stored_size_unverified(index_header)
        plain_size = stored - BLOCK  # only GCM objects carry an index
        first, last = ranges.resolve(requested, plain_size, header)
        chunk_first, chunk_last = first // integrity.CHUNK_SIZE, last // integrity.CHUNK_SIZE
        span = (f"bytes={chunk_first * integrity.CHUNK_SIZE}-"
                f"{min((chunk_last + 1) * integrity.CHUNK_SIZE, plain_size) - 1}")
        with ThreadPoolExecutor(2) as pool:
            entries = pool.submit(
                self._s3_call, "get_object", bucket, index_name, "integrity index read",
                Range=integrity.entries_range(chunk_first, chunk_last), **sse_c)
            response = self._s3_call("get_object", bucket, key, "ranged download",
                                     Range=span, **kwargs)
            macs_blob = entries.result()["Body"].read()
        stream = response["Body"]
        try:
            md = self._content_metadata(bucket, key, response.get("Metadata", {}), suffix,
                                        kwargs)
            envelope.check_read_policy(md, self.config)
            if not md.suite.authenticated:
                raise integrity.IndexMismatchError("an integrity index beside a non-GCM object")
            content_key = envelope.unwrap_content_key(md, self.materials, self.config, context)
            index_key = integrity.IndexKey.for_object(content_key, md)
            if index_key.check_header(index_header) != _content_range(response)[2]:
                raise integrity.IndexMismatchError(
                    "the object's size differs from the size its integrity index vouches for")
            macs = [macs_blob[i : i + integrity.MAC_LENGTH]
                    for i in range(0, len(macs_blob), integrity.MAC_LENGTH)]
            verifier = integrity.VerifiedRange(
                index_key, macs, chunk_first,
                GcmLayout(content_key).ctr(chunk_first * integrity.CHUNK_SIZE),
                first, last, plain_size)
            body = DecryptedBody.streaming(stream, verifier, last - first + 1)
        except BaseException:
            stream.close()
            raise
        response["Body"] = body
        response["ContentLength"] = last - first + 1
        response["ContentRange"] = f"bytes {first}-{last}/{plain_size}"
        return response

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
        sse_c = {a: request_args[a] for a in _SSE_C_ARGS if a in request_args}
        return fetch_content_metadata(
            self.s3, bucket, key, object_md, suffix or self.config.instruction_suffix, sse_c
        )

    def download_file(
        self, Bucket: str, Key: str, Filename: str | os.PathLike[str],
        ExtraArgs: Mapping[str, Any] | None = None, Callback: Callback | None = None,
        Config: TransferConfig | None = None, **kwargs: Any,
    ) -> None:
        """Decrypt into a temp file beside ``Filename``, renamed only once authenticated.

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
        self, Bucket: str, Key: str, Fileobj: IO[bytes],
        ExtraArgs: Mapping[str, Any] | None = None, Callback: Callback | None = None,
        Config: TransferConfig | None = None, **kwargs: Any,
    ) -> int:
        """Decrypt into ``Fileobj``. On failure it holds unauthenticated bytes: discard it."""
        extra = {**dict(ExtraArgs or {}), **kwargs}
        context = extra.pop("EncryptionContext", None)
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

    def head_object(self, *, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """S3's HeadObject, with ``ContentLength`` the plaintext size where it is known."""
        suffix = kwargs.pop("InstructionFileSuffix", None)
        with located(Bucket, Key):
            response = self._s3_call("head_object", Bucket, Key, "head", **kwargs)
            md = self._content_metadata(
                Bucket, Key, response.get("Metadata", {}), suffix, kwargs
            )
            ciphertext_size = int(response.get("ContentLength") or 0)
            response["CiphertextLength"] = ciphertext_size
            response["ContentLength"] = envelope.plaintext_size(md, ciphertext_size)
            response["Encryption"] = describe(md)
            return response

    # ------------------------------------------------------------------ copying

    def copy_object(
        self, *, Bucket: str, Key: str, CopySource: str | Mapping[str, str], **kwargs: Any
    ) -> dict[str, Any]:
        """Server-side copy that keeps the object readable: its encryption metadata, its
        instruction file and its integrity index go with it (same ciphertext, same key).

        ``MetadataDirective="REPLACE"`` replaces the user metadata only.
        """
        source = _copy_source(CopySource)
        with located(Bucket, Key):
            if kwargs.get("MetadataDirective") == "REPLACE":
                head = self._s3_call("head_object", source["Bucket"], source["Key"],
                                     "head of the copy source",
                                     **({"VersionId": source["VersionId"]}
                                        if "VersionId" in source else {}))
                crypto = {k: v for k, v in head.get("Metadata", {}).items()
                          if k.lower() in metadata.ALL_KEYS}
                user = envelope.check_user_metadata(kwargs.get("Metadata"))
                kwargs["Metadata"] = {**user, **crypto}
            response = self._s3_call("copy_object", Bucket, Key, "copy", CopySource=source,
                                     **kwargs)
            shared = {a: kwargs[a] for a in _INSTRUCTION_SHARED_ARGS if a in kwargs}
            for suffix in (self.config.instruction_suffix, integrity.SUFFIX):
                sidecar = {"Bucket": source["Bucket"], "Key": source["Key"] + suffix}
                try:
                    self.s3.copy_object(Bucket=Bucket, Key=Key + suffix, CopySource=sidecar,
                                        **shared)
                except _s3_errors() as exc:
                    error = translate_s3_error(exc, Bucket, Key + suffix, "sidecar copy")
                    if not isinstance(error, ObjectNotFoundError):
                        raise error from None
                    # the source has none: a stale one at the target would mislead
                    self._s3_call("delete_object", Bucket, Key + suffix,
                                  f"delete of {Key + suffix}")
            return response

    # ------------------------------------------------------------------ deleting

    def delete_object(self, *, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """Delete the object and its instruction file, if any."""
        with located(Bucket, Key):
            response = self._s3_call("delete_object", Bucket, Key, "delete", **kwargs)
            if "VersionId" not in kwargs:
                for suffix in (self.config.instruction_suffix, integrity.SUFFIX):
                    self._s3_call("delete_object", Bucket, Key + suffix,
                                  f"delete of {Key + suffix}", **kwargs)
            return response

    def delete_objects(self, *, Bucket: str, Delete: Mapping[str, Any], **kwargs: Any) -> Any:
        objects = list(Delete.get("Objects", []))
        suffixes = (self.config.instruction_suffix, integrity.SUFFIX)
        extra = [{"Key": o["Key"] + suffix} for o in objects for suffix in suffixes
                 if not o["Key"].endswith(suffixes) and "VersionId" not in o]
        return self.s3.delete_objects(
            Bucket=Bucket, Delete={**Delete, "Objects": objects + extra}, **kwargs
        )

    # ------------------------------------------------------------------ plumbing

    def _s3_call(
        self, operation: str, bucket: str, key: str, action: str, **kwargs: Any
    ) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self.s3, operation)(
                Bucket=bucket, Key=key, **kwargs
            )
            return response
        except _s3_errors() as exc:
            raise translate_s3_error(exc, bucket, key, action) from None


def _body_length(body: Any) -> int | None:
    if isinstance(body, str):
        return len(body.encode("utf-8"))
    if isinstance(body, (bytes, bytearray, memoryview)):
        return len(body)
    return remaining_length(body) if hasattr(body, "read") else None


def _copy_source(source: str | Mapping[str, str]) -> dict[str, str]:
    if isinstance(source, str):
        path, _, version = source.partition("?versionId=")
        bucket, _, key = path.lstrip("/").partition("/")
        parsed = {"Bucket": bucket, "Key": key}
        if version:
            parsed["VersionId"] = version
        return parsed
    return dict(source)


def _content_range(response: Mapping[str, Any]) -> tuple[int, int, int]:
    """First byte, last byte and total size from S3's ``Content-Range`` header."""
    text = str(response.get("ContentRange", ""))
    try:
        span, total = text.split(" ", 1)[1].split("/")
        first, last = span.split("-")
        return int(first), int(last), int(total)
    except (IndexError, ValueError):
        length = int(response.get("ContentLength") or 0)
        return 0, length - 1, length


def fetch_content_metadata(
    s3: Any,
    bucket: str,
    key: str,
    object_md: Mapping[str, str],
    suffix: str = metadata.DEFAULT_INSTRUCTION_SUFFIX,
    sse_c: Mapping[str, Any] | None = None,
) -> ContentMetadata:
    """Parse the object's metadata, fetching its instruction file when it needs one."""
    object_md = {k.lower(): v for k, v in object_md.items()}
    if not metadata.needs_instruction_file(object_md):
        return metadata.parse(object_md)
    instruction_key = key + suffix
    try:
        response = s3.get_object(Bucket=bucket, Key=instruction_key, **dict(sse_c or {}))
        body = response["Body"].read()
    except _s3_errors() as exc:
        error = translate_s3_error(exc, bucket, instruction_key, "instruction file read")
        if not isinstance(error, ObjectNotFoundError):
            raise error from None
        if metadata.is_encrypted(object_md):
            raise InstructionFileError(
                f"the object's metadata points to instruction file {instruction_key!r}, "
                "which does not exist",
                bucket=bucket, key=key,
            ) from None
        raise NotEncryptedError(
            "the object has no encryption metadata and no instruction file",
            bucket=bucket, key=key,
        ) from None
    merged = metadata.merge_instruction_file(object_md, metadata.parse_instruction_file(body))
    return metadata.parse(merged, instruction_file=True)


def describe(md: ContentMetadata) -> dict[str, Any]:
    """What is safe to show about an object's encryption (never key material)."""
    info: dict[str, Any] = {
        "format": f"V{int(md.version)}",
        "suite": md.suite.name,
        "suite_id": md.suite.id,
        "wrapping": md.wrap_alg,
        "key_commitment": md.commitment is not None,
        "instruction_file": md.instruction_file,
    }
    info["encryption_context" if md.is_kms else "material_description"] = dict(md.context)
    return info


@contextlib.contextmanager
def atomic_destination(target: Path) -> Any:
    """A temp file beside ``target``, renamed onto it on success, removed on failure."""
    directory = target.parent if str(target.parent) else Path(".")
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".s3cse-part",
                                     dir=directory)
    try:
        with os.fdopen(fd, "wb") as sink:
            yield sink
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
