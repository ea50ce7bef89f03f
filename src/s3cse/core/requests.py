"""What the clients ask of S3 and how they read its answers, without doing any I/O.

Both flavours of client make the same requests and interpret the same responses; only
the way they wait differs. Everything they share that needs no network lives here:
argument checks, the sidecar objects (instruction file, integrity index) and the
arguments they inherit, sealing a new object, planning and checking ranged reads, and
shaping the responses handed back. botocore's side of it (its errors, its answers) is in
``s3cse.io.botocore``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from . import envelope, integrity, metadata, sidecars
from .ciphers import ContentKey
from .config import CryptoConfig
from .errors import (
    ConfigurationError,
    ContentTooLargeError,
)
from .materials import EncryptionMaterials, EncryptionRequest
from .metadata import ContentMetadata
from .suites import AlgorithmSuite

REFUSED_PUT_ARGS = (
    "ContentMD5",
    "ChecksumCRC32",
    "ChecksumCRC32C",
    "ChecksumCRC64NVME",
    "ChecksumSHA1",
    "ChecksumSHA256",
    "ContentLength",
)


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
    "ACL",
    "Tagging",
    "TaggingDirective",
)
"""What a sidecar (instruction file, integrity index) shares with its object: the
server-side encryption, so that it is as protected; the ACL, so that whoever may read the
object may read what reading it needs; the tags, so that lifecycle rules and policies by
tag treat them together (a rule that expires the object expires its sidecars). Not the
user metadata, ``Content-*``, ``Expires`` or the storage class: they describe the
object's content, and a sidecar must stay readable at once (no restore from an archive
class) for the object to be read when it is."""


SSE_C_ARGS = ("SSECustomerAlgorithm", "SSECustomerKey", "SSECustomerKeyMD5")


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


def remaining_length(source: IO[bytes]) -> int | None:
    """Bytes left in a seekable file, without moving it; None for pipes and sockets."""
    try:
        if not source.seekable():
            return None
        here = source.tell()
        end = source.seek(0, os.SEEK_END)
        source.seek(here)
        return end - here
    except (AttributeError, OSError, ValueError):
        return None


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


def read_encryption(md: ContentMetadata, content_key: ContentKey) -> dict[str, Any]:
    """``describe`` of an object being read, with the master key that unwrapped its data
    key where the keyring named it (``key_used``: for KMS, the ARN KMS answered with)."""
    info = describe(md)
    if content_key.key_used is not None:
        info["key_used"] = content_key.key_used
    return info


def decrypted_response(
    response: dict[str, Any], body: Any, size: int | None, encryption: dict[str, Any]
) -> dict[str, Any]:
    """S3's GetObject answer with the plaintext body in place of the ciphertext, and how
    it was encrypted (``read_encryption``) in ``Encryption``."""
    response["Body"] = body
    response["ContentLength"] = size
    response["Encryption"] = encryption
    response.pop("ContentMD5", None)
    return user_metadata_view(response)


class PlannedRange(Protocol):
    """Which plaintext bytes a ranged read answers with, out of how many."""

    @property
    def first(self) -> int: ...
    @property
    def last(self) -> int: ...
    @property
    def plaintext_size(self) -> int: ...


def ranged_response(
    response: dict[str, Any],
    body: Any,
    plan: PlannedRange,
    md: ContentMetadata,
    content_key: ContentKey,
) -> dict[str, Any]:
    """S3's answer to a ranged GetObject, with the plaintext range in place of the
    ciphertext one and how the object was encrypted (``read_encryption``)."""
    response["Body"] = body
    response["ContentLength"] = plan.last - plan.first + 1
    response["ContentRange"] = f"bytes {plan.first}-{plan.last}/{plan.plaintext_size}"
    response["Encryption"] = read_encryption(md, content_key)
    return user_metadata_view(response)


def head_response(response: dict[str, Any], md: ContentMetadata) -> dict[str, Any]:
    """HeadObject with ``ContentLength`` the plaintext size where it is known."""
    ciphertext_size = int(response.get("ContentLength") or 0)
    response["CiphertextLength"] = ciphertext_size
    response["ContentLength"] = envelope.plaintext_size(md, ciphertext_size)
    response["Encryption"] = describe(md)
    return user_metadata_view(response)


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
