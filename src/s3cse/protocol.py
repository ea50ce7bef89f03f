"""What the clients say to S3 and how they read its answers, without doing any I/O.

The sync client (``client``) and the async one (``aio``) make the same requests and
interpret the same responses; only the way they wait differs. Everything they share
lives here: argument checks, the sidecar objects (instruction file, integrity index)
and the arguments they inherit, error translation, sealing a new object, planning and
checking ranged reads, and shaping the responses handed back. Each shell is then a
sequence of calls into this module around its own S3 and KMS requests.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from .core import envelope, integrity, metadata, ranges, sidecars
from .core.ciphers import ContentKey
from .core.config import CryptoConfig
from .core.gcm import BLOCK, GcmLayout
from .core.materials import (
    DefaultMaterialsManager,
    EncryptionMaterials,
    EncryptionRequest,
    Keyring,
    MaterialsManager,
)
from .core.metadata import ContentMetadata
from .core.suites import AlgorithmSuite
from .errors import (
    ConfigurationError,
    ContentTooLargeError,
    InstructionFileError,
    InvalidRangeError,
    NotEncryptedError,
    ObjectNotFoundError,
    S3CSEError,
    S3RequestError,
    S3ServiceError,
    from_s3_answer,
)
from .io.awsenv import CREDENTIAL_CODES, CREDENTIALS_HINT, unreachable
from .streams import remaining_length

# Arguments that describe the plaintext and would be wrong for the ciphertext.
REFUSED_PUT_ARGS = (
    "ContentMD5",
    "ChecksumCRC32",
    "ChecksumCRC32C",
    "ChecksumCRC64NVME",
    "ChecksumSHA1",
    "ChecksumSHA256",
    "ContentLength",
)
# Arguments a sidecar (instruction file, integrity index) shares with its object.
SIDECAR_SHARED_ARGS = (
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
SSE_C_ARGS = ("SSECustomerAlgorithm", "SSECustomerKey", "SSECustomerKeyMD5")
_NOT_FOUND = {"NoSuchKey", "404", "NotFound", "NoSuchBucket", "NoSuchVersion"}


# ---------------------------------------------------------------------- settings


def client_settings(
    keyring: Keyring | None,
    materials: MaterialsManager | None,
    config: CryptoConfig | None,
    options: Mapping[str, Any],
) -> tuple[MaterialsManager, CryptoConfig]:
    """A client's materials manager and configuration, from what its constructor got."""
    if materials is None:
        if keyring is None:
            raise ConfigurationError("give exactly one of keyring or materials")
        materials = DefaultMaterialsManager(keyring)
    elif keyring is not None:
        raise ConfigurationError("give exactly one of keyring or materials")
    config = config or CryptoConfig()
    return materials, config.with_changes(**options) if options else config


class WrapsS3Client:
    """What both clients show of the S3 client they wrap (``s3``) as a boto3 client does."""

    s3: Any

    @property
    def s3_client(self) -> Any:
        """The wrapped S3 client, which does no client-side encryption."""
        return self.s3

    @property
    def exceptions(self) -> Any:
        """The wrapped S3 client's exceptions (``client.exceptions.NoSuchKey``), as on a
        boto3 client: the errors this client raises for S3's answers are those too."""
        return self.s3.exceptions


# ---------------------------------------------------------------------- errors


def s3_errors() -> tuple[type[Exception], ...]:
    """What botocore (and aiobotocore, which raises botocore's) fails with."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def translate_s3_error(exc: Exception, bucket: str, key: str, action: str) -> S3CSEError:
    """Name what failed in terms of the object, not of botocore's internals.

    When S3 answered, the error is also the exception boto3 raised for that answer (the
    client's modeled ``NoSuchKey``, or ``ClientError``), with its ``response``: code
    written for boto3 catches it unchanged. HEAD answers a bare 404 (code ``"404"``) for
    a missing key or bucket, and so does this, as boto3 does.
    """
    from botocore.exceptions import ClientError

    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    message = response.get("Error", {}).get("Message", "") or str(exc)
    if not code:
        reason = unreachable(exc, "s3")
        if reason is not None:
            return S3RequestError(
                f"{action} failed: {reason[0]}", bucket=bucket, key=key, hint=reason[1]
            )
        return S3RequestError(
            f"{action} failed: {exc}",
            bucket=bucket,
            key=key,
            hint="Check the S3 endpoint and network",
        )
    error_class: type[S3CSEError]
    hint = None
    if code in _NOT_FOUND:
        # HEAD answers a bare 404 for a missing bucket as for a missing key
        what = {
            "NoSuchBucket": "bucket",
            "NoSuchVersion": "version",
            "404": "object or bucket",
            "NotFound": "object or bucket",
        }.get(code, "object")
        error_class, text = ObjectNotFoundError, f"{action}: no such {what}"
    else:
        error_class = InvalidRangeError if code == "InvalidRange" else S3ServiceError
        text = f"{action} failed ({code}: {message})"
        hint = CREDENTIALS_HINT if code in CREDENTIAL_CODES else None
    if not isinstance(exc, ClientError):
        return error_class(text, bucket=bucket, key=key, hint=hint)
    return from_s3_answer(error_class, exc, text, bucket=bucket, key=key, hint=hint)


# What S3 always answers each call with; botocore hands back an answer cut short in its
# headers as a success without them.
_REQUIRED_FIELDS = {
    "get_object": ("ContentLength", "ETag"),
    "head_object": ("ContentLength", "ETag"),
    "put_object": ("ETag",),
    "upload_part": ("ETag",),
    "create_multipart_upload": ("UploadId",),
}


def accept_answer(
    operation: str,
    response: dict[str, Any],
    bucket: str,
    key: str,
    action: str,
    guard: Callable[[Any, str, str, str], Any],
) -> dict[str, Any]:
    """Refuse an S3 answer that lacks what S3 always sends (it was cut short); wrap its
    body, if any, in ``guard`` (``bodies``) so that a broken read names the object."""
    missing = [f for f in _REQUIRED_FIELDS.get(operation, ()) if response.get(f) is None]
    if missing:
        if "Body" in response:
            response["Body"].close()
        raise S3RequestError(
            f"{action}: S3's answer came without {', '.join(missing)} (cut short?)",
            bucket=bucket,
            key=key,
            hint="Retry; if it persists, check what sits between s3cse and the S3 endpoint",
        )
    if "Body" in response:
        response["Body"] = guard(response["Body"], bucket, key, action)
    return response


def report_unaborted_upload(
    failure: BaseException, bucket: str, key: str, upload_id: str, abort_error: Exception
) -> None:
    """A failed multipart upload whose abort failed too leaves stored parts behind (never
    a visible object): say so on the error the caller is about to re-raise."""
    advice = (
        f"multipart upload {upload_id} could not be aborted ({abort_error}); remove its "
        f"parts with: aws s3api abort-multipart-upload --bucket {bucket} --key {key} "
        f"--upload-id {upload_id}, or an AbortIncompleteMultipartUpload lifecycle rule"
    )
    if isinstance(failure, S3CSEError):
        failure.hint = f"{failure.hint}. {advice}" if failure.hint else advice
    elif hasattr(failure, "add_note"):  # Python 3.11+
        failure.add_note(advice)


# ---------------------------------------------------------------------- arguments


def sse_c_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """The SSE-C arguments of a request: every read of the object or its sidecars needs them."""
    return {a: args[a] for a in SSE_C_ARGS if a in args}


def sidecar_args(put_args: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of an object's write that its sidecars are written (or copied) with."""
    return {a: put_args[a] for a in SIDECAR_SHARED_ARGS if a in put_args}


def sidecar_suffixes(config: CryptoConfig) -> tuple[str, ...]:
    """The objects that live beside an encrypted one: instruction file, integrity index."""
    return sidecars.SUFFIXES


def copy_source_sse_c(copy_args: Mapping[str, Any]) -> dict[str, Any]:
    """A copy's ``CopySourceSSECustomer*`` arguments, as a read of the source takes them."""
    prefix = "CopySource"
    return {
        a[len(prefix) :]: copy_args[a] for a in (prefix + b for b in SSE_C_ARGS) if a in copy_args
    }


def refuse_part_number(args: Mapping[str, Any]) -> None:
    if "PartNumber" in args:
        raise ConfigurationError(
            "PartNumber reads return ciphertext slices that cannot be decrypted alone; use Range"
        )


def body_length(body: Any) -> int | None:
    """The plaintext size of a put body when it is known without reading it."""
    if isinstance(body, str):
        return len(body.encode("utf-8"))
    if isinstance(body, (bytes, bytearray, memoryview)):
        return len(body)
    return remaining_length(body) if hasattr(body, "read") else None


def binary_source(body: Any) -> IO[bytes]:
    """A put body as a binary file: bytes and str are wrapped, file objects pass."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(body))
    if hasattr(body, "read"):
        return body  # type: ignore[no-any-return]
    raise ConfigurationError(
        f"Body must be bytes, str or a binary file object, not {type(body).__name__}"
    )


def check_plaintext_limit(length: int | None, suite: AlgorithmSuite) -> None:
    limit = suite.max_plaintext
    if length is not None and limit is not None and length > limit:
        raise ContentTooLargeError(
            f"the body has {length} bytes; AES-GCM encrypts at most {limit} bytes "
            "under one data key"
        )


PRESIGN_REFUSED = {
    "get_object": "whoever opens it downloads the ciphertext",
    "put_object": "whoever uses it stores an object without client-side encryption",
    "upload_part": "whoever uses it stores a part without client-side encryption",
    "upload_part_copy": "it copies ciphertext into an upload that has no key for it",
    "create_multipart_upload": "it starts an upload without client-side encryption",
}
"""The operations a presigned URL would carry object content through, unencrypted, and
what would happen."""


def check_presign(operation: str, allow_ciphertext: bool) -> None:
    """Refuse to sign a URL for an operation that moves object content: S3 serves and
    stores the bytes as they are, so the URL would bypass the encryption this client
    promises. ``AllowCiphertext=True`` signs it anyway."""
    consequence = PRESIGN_REFUSED.get(operation)
    if consequence is None or allow_ciphertext:
        return
    raise ConfigurationError(
        f"a presigned {operation} URL bypasses client-side encryption: {consequence}",
        hint="Pass AllowCiphertext=True if moving the stored bytes as they are is what "
        "you want (or sign with the plain S3 client, client.s3_client)",
    )


# ---------------------------------------------------------------------- writing


@dataclass
class PutPlan:
    """A write before its data key exists: the S3 arguments checked, the options resolved."""

    args: dict[str, Any] = field(repr=False)  # may hold an SSE-C key
    context: dict[str, str]
    instruction_file: bool
    integrity_index: bool

    def sidecar_suffixes(self) -> tuple[str, ...]:
        """The sidecars this write stores beside its object."""
        return tuple(
            suffix
            for suffix, wanted in (
                (sidecars.INSTRUCTION_SUFFIX, self.instruction_file),
                (sidecars.INDEX_SUFFIX, self.integrity_index),
            )
            if wanted
        )

    def encryption_request(self, config: CryptoConfig, length: int | None) -> EncryptionRequest:
        return EncryptionRequest(config.write_suite, dict(self.context), plaintext_length=length)


def plan_put(
    config: CryptoConfig,
    args: Mapping[str, Any],
    context: Mapping[str, str] | None,
    instruction_file: bool | None,
    integrity_index: bool | None,
) -> PutPlan:
    """Check a write's arguments before anything is asked of KMS or S3."""
    args = dict(args)
    refused = [a for a in REFUSED_PUT_ARGS if a in args]
    if refused:
        raise ConfigurationError(
            f"{refused} describe the plaintext and cannot apply to the stored "
            "ciphertext; leave them out (S3 checksums the ciphertext itself)"
        )
    args["Metadata"] = envelope.check_user_metadata(args.get("Metadata"))
    return PutPlan(
        args=args,
        context=dict(context or {}),
        instruction_file=config.instruction_file
        if instruction_file is None
        else bool(instruction_file),
        integrity_index=config.integrity_index
        if integrity_index is None
        else bool(integrity_index),
    )


@dataclass(frozen=True)
class SealedPut:
    """A new object's key and metadata: what to encrypt with and what to store."""

    metadata: ContentMetadata
    content_key: ContentKey
    args: dict[str, Any] = field(repr=False)  # may hold an SSE-C key
    """The S3 arguments of the write, the encryption metadata merged into ``Metadata``."""
    instruction: bytes | None
    """The instruction file's body, when the metadata goes there."""
    index_key: integrity.IndexKey | None

    def sidecars(
        self, config: CryptoConfig, stored_size: int, macs: list[bytes]
    ) -> list[tuple[str, bytes]]:
        """(suffix, body) of each sidecar to write once the object is stored."""
        out = []
        if self.instruction is not None:
            out.append((config.instruction_suffix, self.instruction))
        if self.index_key is not None:
            out.append((integrity.SUFFIX, self.index_key.build(stored_size, macs)))
        return out


def seal_put(plan: PutPlan, materials: EncryptionMaterials, config: CryptoConfig) -> SealedPut:
    md, content_key = envelope.seal(
        materials, config.format, instruction_file=plan.instruction_file
    )
    object_md, instruction = metadata.serialize(md)
    args = {**plan.args, "Metadata": {**plan.args["Metadata"], **object_md}}
    return SealedPut(
        metadata=md,
        content_key=content_key,
        args=args,
        instruction=metadata.instruction_file_body(instruction)
        if instruction is not None
        else None,
        index_key=integrity.IndexKey.for_object(content_key, md) if plan.integrity_index else None,
    )


# ---------------------------------------------------------------------- metadata


def object_metadata(response_metadata: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in response_metadata.items()}


def parse_object_metadata(object_md: Mapping[str, str]) -> ContentMetadata | None:
    """The object's encryption metadata; None when it lives in an instruction file."""
    if metadata.needs_instruction_file(object_md):
        return None
    return metadata.parse(object_md)


def instruction_file_read_limit(response: Mapping[str, Any]) -> int:
    """How many bytes of an instruction file's GET to read: refused outright when S3
    announces more than an instruction file can hold, else one byte over the cap (so a
    body longer than announced is caught by the parser, not read whole)."""
    length = response.get("ContentLength")
    if length is not None and int(length) > metadata.MAX_INSTRUCTION_FILE_SIZE:
        raise metadata.instruction_file_too_large(int(length))
    return metadata.MAX_INSTRUCTION_FILE_SIZE + 1


def parse_with_instruction_file(object_md: Mapping[str, str], body: bytes) -> ContentMetadata:
    merged = metadata.merge_instruction_file(object_md, metadata.parse_instruction_file(body))
    return metadata.parse(merged, instruction_file=True)


def missing_instruction_file(
    object_md: Mapping[str, str], bucket: str, key: str, instruction_key: str
) -> S3CSEError:
    """Why an object whose instruction file does not exist cannot be read."""
    if metadata.is_encrypted(object_md):
        return InstructionFileError(
            f"the object's metadata points to instruction file {instruction_key!r}, "
            "which does not exist",
            bucket=bucket,
            key=key,
        )
    return NotEncryptedError(
        "the object has no encryption metadata and no instruction file",
        bucket=bucket,
        key=key,
    )


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


# ---------------------------------------------------------------------- responses


def split_metadata(stored: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """An object's S3 metadata as (the user's, the encryption's): the envelope keys are
    s3cse's business, and a user who writes back the ``Metadata`` read must not meet them."""
    user = {k: v for k, v in stored.items() if k.lower() not in metadata.ALL_KEYS}
    envelope_md = {k: v for k, v in stored.items() if k.lower() in metadata.ALL_KEYS}
    return user, envelope_md


def user_metadata_view(response: dict[str, Any]) -> dict[str, Any]:
    """``Metadata`` reduced to the user's; the envelope keys in ``EncryptionMetadata``."""
    response["Metadata"], response["EncryptionMetadata"] = split_metadata(
        response.get("Metadata", {})
    )
    return response


def decrypted_response(response: dict[str, Any], body: Any, size: int | None) -> dict[str, Any]:
    """S3's GetObject answer with the plaintext body in place of the ciphertext."""
    response["Body"] = body
    response["ContentLength"] = size
    response.pop("ContentMD5", None)
    return user_metadata_view(response)


def ranged_response(
    response: dict[str, Any], body: Any, first: int, last: int, size: int
) -> dict[str, Any]:
    response["Body"] = body
    response["ContentLength"] = last - first + 1
    response["ContentRange"] = f"bytes {first}-{last}/{size}"
    return user_metadata_view(response)


def head_response(response: dict[str, Any], md: ContentMetadata) -> dict[str, Any]:
    """HeadObject with ``ContentLength`` the plaintext size where it is known."""
    ciphertext_size = int(response.get("ContentLength") or 0)
    response["CiphertextLength"] = ciphertext_size
    response["ContentLength"] = envelope.plaintext_size(md, ciphertext_size)
    response["Encryption"] = describe(md)
    return user_metadata_view(response)


GCM_TAG = 16


def assumed_plaintext_size(stored: int) -> tuple[int, str]:
    """A listed object's plaintext size, without a request per object: the stored size
    less the AES-GCM tag (as Hadoop S3A assumes), and how it was found. Fewer bytes than a
    tag cannot be an encrypted object."""
    if stored >= GCM_TAG:
        return stored - GCM_TAG, "assumed-gcm"
    return stored, "not-encrypted"


LISTINGS = ("list_objects_v2", "list_objects", "list_object_versions")
"""The listing calls whose sizes the clients report as plaintext sizes."""


def listing_response(response: dict[str, Any], suffixes: tuple[str, ...]) -> dict[str, Any]:
    """A listing with each entry's ``Size`` the plaintext size GCM implies
    (``assumed_plaintext_size``), the stored one in ``StoredSize`` and how the size was
    found in ``SizeSource``. A sidecar listed beside its object keeps its stored size."""
    for field_name in ("Contents", "Versions"):
        entries = response.get(field_name, [])
        keys = {entry["Key"] for entry in entries}
        for entry in entries:
            stored = int(entry.get("Size") or 0)
            if is_listed_sidecar(entry["Key"], keys, suffixes):
                size, source = stored, "not-encrypted"
            else:
                size, source = assumed_plaintext_size(stored)
            entry.update(Size=size, StoredSize=stored, SizeSource=source)
    return response


def is_listed_sidecar(key: str, listed: set[str], suffixes: tuple[str, ...]) -> bool:
    return any(key.endswith(suffix) and key[: -len(suffix)] in listed for suffix in suffixes)


ATTRIBUTES_HEAD_ARGS = ("VersionId", *SSE_C_ARGS, "RequestPayer", "ExpectedBucketOwner")


def attributes_head_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of a GetObjectAttributes that its HEAD (for the size) needs too."""
    return {a: args[a] for a in ATTRIBUTES_HEAD_ARGS if a in args}


def attributes_response(response: dict[str, Any], plaintext_size: int | None) -> dict[str, Any]:
    """GetObjectAttributes with ``ObjectSize`` the plaintext size (as HeadObject's
    ``ContentLength``), the stored one in ``StoredObjectSize``."""
    response["StoredObjectSize"] = response["ObjectSize"]
    response["ObjectSize"] = plaintext_size
    return response


def content_range(response: Mapping[str, Any]) -> tuple[int, int, int]:
    """First byte, last byte and total size from S3's ``Content-Range`` header."""
    text = str(response.get("ContentRange", ""))
    try:
        span, total = text.split(" ", 1)[1].split("/")
        first, last = span.split("-")
        return int(first), int(last), int(total)
    except (IndexError, ValueError):
        length = int(response.get("ContentLength") or 0)
        return 0, length - 1, length


# ---------------------------------------------------------------------- ranges


def check_unindexed_range(
    md: ContentMetadata, config: CryptoConfig, stale_index: bool = False
) -> None:
    """A plain range of a GCM object cannot be authenticated: refused unless allowed.
    ``stale_index``: the object has an index, but of an earlier version of it."""
    envelope.check_read_policy(md, config)
    if md.suite.authenticated and not config.unauthenticated_ranges:
        if stale_index:
            raise integrity.StaleIndexError(
                "the integrity index belongs to an earlier version of the object (stale): "
                "it was not written for this object, and a byte range of an AES-GCM "
                "object cannot be authenticated without one"
            )
        raise ConfigurationError(
            "a byte range of an AES-GCM object cannot be authenticated (the tag "
            "covers the whole object) and this object has no integrity index",
            hint="Read the whole object, upload it with IntegrityIndex=True, or set "
            "unauthenticated_ranges=True if you accept unauthenticated bytes",
        )


def cbc_tail_range(md: ContentMetadata, stored_size: int) -> str | None:
    """Legacy CBC: the Range of the blocks that tell its size (from their padding).

    ``x-amz-unencrypted-content-length`` is not used for this: it is unauthenticated,
    and a lying one would cut a range short or stretch it past the real end.
    """
    if md.suite.authenticated:
        return None
    return f"bytes=-{min(stored_size, 2 * BLOCK)}"


def range_decryptor(
    requested: ranges.ByteRange,
    header: str,
    md: ContentMetadata,
    content_key: ContentKey,
    response: Mapping[str, Any],
    cbc_tail: bytes | None = None,
) -> tuple[ranges.RangeDecryptor, ranges.RangePlan]:
    """Decrypts the ciphertext S3 returned for ``requested`` (unauthenticated)."""
    first, last, total = content_range(response)
    cbc_size = None
    if cbc_tail is not None:
        cbc_size = ranges.cbc_plaintext_size(content_key, total, cbc_tail, md.iv or b"")
    plan = ranges.plan(requested, content_key, first, last, total, header, cbc_size)
    return ranges.RangeDecryptor(content_key, plan, md.iv or b""), plan


INDEX_HEADER_RANGE = f"bytes=0-{integrity.HEADER_SIZE - 1}"


def raise_unless_no_index(error: S3CSEError) -> None:
    """After a failed fetch of an index header: returns when the object has no index,
    else raises. An empty sidecar answers the header's Range with 416: that is a damaged
    index, not a bad range."""
    if isinstance(error, ObjectNotFoundError):
        return
    if isinstance(error, InvalidRangeError):
        raise integrity.IndexMismatchError(
            "the integrity index is empty: it was altered", bucket=error.bucket, key=error.key
        ) from None
    raise error


def sidecar_header(response: Mapping[str, Any], data: bytes) -> integrity.SidecarHeader | None:
    """The index header S3 returned for ``INDEX_HEADER_RANGE``, with the sidecar's size;
    None when the object under the index's name is a user's own (``sidecars``)."""
    if (
        sidecars.kind_of(sidecars.INDEX_SUFFIX, response.get("Metadata", {}), data)
        is sidecars.Kind.USER_OBJECT
    ):
        return None
    return integrity.SidecarHeader(data, content_range(response)[2], str(response["ETag"]))


def usable_index(
    found: integrity.SidecarHeader | None, md: ContentMetadata
) -> tuple[integrity.SidecarHeader | None, bool]:
    """The index a ranged read goes through, and whether a stale one was set aside
    (see ``SidecarHeader.is_stale_for``: stale means no index, never a weaker check)."""
    if found is not None and found.is_stale_for(md):
        return None, True
    return found, False


def open_index(
    md: ContentMetadata, content_key: ContentKey, found: integrity.SidecarHeader, stored_size: int
) -> integrity.IndexKey:
    """The key of an object's index, once its header verifies and the object's and the
    sidecar's sizes agree with it; before that nothing the sidecar says is used."""
    if not md.suite.authenticated:
        raise integrity.IndexMismatchError("an integrity index beside a non-GCM object")
    index_key = integrity.IndexKey.for_object(content_key, md)
    index_key.check_sizes(found, stored_size, md.suite.tag_length)
    return index_key


@dataclass(frozen=True)
class IndexedRange:
    """A range read through an integrity index: which chunks, entries and bytes to fetch."""

    first: int
    last: int
    plaintext_size: int
    chunk_first: int
    chunk_last: int

    @property
    def stored_size(self) -> int:
        return self.plaintext_size + BLOCK  # GCM only: the tag

    @property
    def object_range(self) -> str:
        start = self.chunk_first * integrity.CHUNK_SIZE
        end = min((self.chunk_last + 1) * integrity.CHUNK_SIZE, self.plaintext_size) - 1
        return f"bytes={start}-{end}"

    @property
    def entries_range(self) -> str:
        return integrity.entries_range(self.chunk_first, self.chunk_last)


def plan_indexed_range(requested: ranges.ByteRange, header: str, stored_size: int) -> IndexedRange:
    """Plan a range from the stored size an authenticated index header vouched for."""
    plain_size = stored_size - BLOCK  # GCM only
    first, last = ranges.resolve(requested, plain_size, header)
    return IndexedRange(
        first, last, plain_size, first // integrity.CHUNK_SIZE, last // integrity.CHUNK_SIZE
    )


def verified_range(
    plan: IndexedRange,
    index_key: integrity.IndexKey,
    content_key: ContentKey,
    entries: bytes,
    response: Mapping[str, Any],
) -> integrity.VerifiedRange:
    """Checks each fetched chunk against its index entry before releasing its plaintext."""
    if content_range(response)[2] != plan.stored_size:
        raise integrity.IndexMismatchError(
            "the object's size differs from the size its integrity index vouches for"
        )
    macs = integrity.split_entries(entries, plan.chunk_first, plan.chunk_last)
    return integrity.VerifiedRange(
        index_key,
        macs,
        plan.chunk_first,
        GcmLayout(content_key).ctr(plan.chunk_first * integrity.CHUNK_SIZE),
        plan.first,
        plan.last,
        plan.plaintext_size,
    )


# ---------------------------------------------------------------------- copy, delete


def copy_source(source: str | Mapping[str, str]) -> dict[str, str]:
    if isinstance(source, str):
        path, _, version = source.partition("?versionId=")
        bucket, _, key = path.lstrip("/").partition("/")
        parsed = {"Bucket": bucket, "Key": key}
        if version:
            parsed["VersionId"] = version
        return parsed
    return dict(source)


def version_args(source: Mapping[str, str]) -> dict[str, str]:
    return {"VersionId": source["VersionId"]} if "VersionId" in source else {}


def replaced_metadata(
    source_metadata: Mapping[str, str], user_metadata: dict[str, str] | None
) -> dict[str, str]:
    """``MetadataDirective=REPLACE`` replaces the user metadata, never the encryption's."""
    crypto = {k: v for k, v in source_metadata.items() if k.lower() in metadata.ALL_KEYS}
    return {**envelope.check_user_metadata(user_metadata), **crypto}


def sidecar_copy_args(
    source: Mapping[str, str], suffix: str, bucket: str, key: str, copy_args: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The CopyObject arguments of one sidecar; None when a copy onto itself leaves it
    as it is (S3 refuses a copy that changes nothing)."""
    shared = sidecar_args(copy_args)
    if (
        (source["Bucket"], source["Key"]) == (bucket, key)
        and "VersionId" not in source
        and not shared
    ):
        return None
    sse_c = {"CopySource" + a: v for a, v in copy_source_sse_c(copy_args).items()}
    return {
        "CopySource": {"Bucket": source["Bucket"], "Key": source["Key"] + suffix},
        **shared,
        **sse_c,
    }


def sidecar_candidates(delete: Mapping[str, Any], suffixes: tuple[str, ...]) -> list[str]:
    """The sidecar names of the objects a DeleteObjects request deletes (not those named
    by version, nor those it deletes itself): each is looked at before it goes."""
    objects = list(delete.get("Objects", []))
    named = {o["Key"] for o in objects}
    return [
        o["Key"] + suffix
        for o in objects
        for suffix in suffixes
        if "VersionId" not in o and o["Key"] + suffix not in named
    ]


def with_sidecars(delete: Mapping[str, Any], kinds: Mapping[str, sidecars.Kind]) -> dict[str, Any]:
    """A DeleteObjects request that also removes each object's sidecars (what
    ``sidecar_candidates`` found to be sidecars, never a user's object of that name)."""
    extra = [{"Key": key} for key, kind in kinds.items() if sidecars.removable(kind)]
    return {**delete, "Objects": list(delete.get("Objects", [])) + extra}


def probe_failure(
    exc: Exception, bucket: str, key: str, suffix: str, action: str = "sidecar check"
) -> sidecars.Kind:
    """What a failed probe (a GET of ``sidecars.probe_range``) says: no such object, an
    empty one (S3 answers its Range with 416), or one S3 would not let us read (SSE-C
    under another key, no permission). Raises when S3 gave no answer at all, as
    ``action`` failing."""
    error = translate_s3_error(exc, bucket, key, action)
    if not getattr(exc, "response", None):
        raise error from None
    if isinstance(error, ObjectNotFoundError):
        return sidecars.Kind.ABSENT
    if isinstance(error, InvalidRangeError):
        return sidecars.kind_of(suffix, {}, b"")
    return sidecars.Kind.UNREADABLE
