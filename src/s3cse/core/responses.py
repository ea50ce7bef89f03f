"""The shapes of the answers s3cse changes, for editors and type checkers.

S3's own fields are as boto3 returns them (any S3 adds pass through too); the fields
s3cse adds or redefines are documented where they are declared. Answers s3cse passes
through untouched keep boto3's plain ``dict``. ``get_object``'s answer, which carries a
body of the client's flavour, is declared beside that body (``_async/responses.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict


class StoredFields(TypedDict, total=False):
    """What S3 answers about the stored object on reads and writes alike."""

    ETag: str
    """The stored object's ETag (of the ciphertext)."""
    VersionId: str
    ServerSideEncryption: str
    SSEKMSKeyId: str
    SSECustomerAlgorithm: str
    SSECustomerKeyMD5: str
    BucketKeyEnabled: bool
    ResponseMetadata: dict[str, Any]


class ObjectFields(StoredFields, total=False):
    """What GetObject and HeadObject both answer about the object."""

    ContentLength: int | None
    """The plaintext size; None only for a legacy AES-CBC object that does not say."""
    Metadata: dict[str, str]
    """The user's metadata only: what ``put_object(Metadata=...)`` was given."""
    EncryptionMetadata: dict[str, str]
    """The encryption metadata stored with the object (``x-amz-3``, ``x-amz-iv``, ...),
    kept out of ``Metadata`` so that writing that back works."""
    LastModified: datetime
    ContentType: str
    ContentEncoding: str
    ContentDisposition: str
    ContentLanguage: str
    CacheControl: str
    Expires: datetime
    StorageClass: str
    TagCount: int


class HeadObjectResponse(ObjectFields, total=False):
    """``head_object``'s answer (both clients)."""

    CiphertextLength: int
    """The stored size."""
    Encryption: dict[str, Any]
    """How the object is encrypted (format, suite, wrapping, context), never key
    material: see ``s3cse.core.requests.describe``."""


class PutObjectResponse(StoredFields, total=False):
    """``put_object``'s answer: S3's PutObject answer, as boto3 gives it."""

    Expiration: str
    ChecksumCRC32: str
    ChecksumCRC32C: str
    ChecksumCRC64NVME: str
    ChecksumSHA1: str
    ChecksumSHA256: str


class ListedObject(TypedDict, total=False):
    """An entry of ``list_objects_v2`` (and ``list_objects``, ``list_object_versions``)."""

    Key: str
    Size: int
    """The plaintext size AES-GCM implies: the stored size less the 16-byte tag (see
    ``SizeSource``). Exact sizes cost a ``head_object`` each."""
    StoredSize: int
    """The size S3 stores."""
    SizeSource: str
    """``assumed-gcm``, or ``not-encrypted`` (fewer bytes than a tag, or a sidecar listed
    beside its object)."""
    ETag: str
    LastModified: datetime
    StorageClass: str
    Owner: dict[str, str]
    VersionId: str
    IsLatest: bool


class ListObjectsResponse(TypedDict, total=False):
    """A listing's answer: S3's, with each entry's sizes as in ``ListedObject``."""

    Contents: list[ListedObject]
    Versions: list[ListedObject]
    CommonPrefixes: list[dict[str, str]]
    IsTruncated: bool
    KeyCount: int
    MaxKeys: int
    Prefix: str
    Delimiter: str
    ContinuationToken: str
    NextContinuationToken: str
    StartAfter: str
    Marker: str
    NextMarker: str
    KeyMarker: str
    NextKeyMarker: str
    NextVersionIdMarker: str
    Name: str
    EncodingType: str
    ResponseMetadata: dict[str, Any]
