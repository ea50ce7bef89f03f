"""What rotation and migration both ask of an object: its head, whether a keyring
already opens it, and the headers and server-side encryption a rewrite keeps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.materials import (
    DecryptionRequest,
    DefaultMaterialsManager,
    Keyring,
)
from ..core.metadata import ContentMetadata
from ..errors import S3CSEError
from ..io.s3api import S3Client

KEPT_HEADERS = {
    "ContentType": "ContentType",
    "ContentEncoding": "ContentEncoding",
    "ContentDisposition": "ContentDisposition",
    "ContentLanguage": "ContentLanguage",
    "CacheControl": "CacheControl",
    "Expires": "Expires",
    "WebsiteRedirectLocation": "WebsiteRedirectLocation",
}


def head_object(s3: S3Client, bucket: str, key: str) -> dict[str, Any]:
    from ..io.botocore import s3_errors, translate_s3_error

    try:
        response: dict[str, Any] = s3.head_object(Bucket=bucket, Key=key)
    except s3_errors() as exc:
        raise translate_s3_error(exc, bucket, key, "head") from None
    return response


def opens_with(
    keyring: Keyring, md: ContentMetadata, context: Mapping[str, str], legacy: bool
) -> bool:
    try:
        DefaultMaterialsManager(keyring).decrypt_data_key(DecryptionRequest(md, context, legacy))
    except S3CSEError:
        return False
    return True


def content_headers(head: Mapping[str, Any]) -> dict[str, Any]:
    """The ``Content-*``, ``Cache-Control``, ``Expires`` and redirect of a HEAD (or GET)
    answer, as PutObject arguments: what describes the content, whatever key holds it."""
    return {arg: head[name] for name, arg in KEPT_HEADERS.items() if head.get(name)}


def kept_headers(head: Mapping[str, Any]) -> dict[str, Any]:
    kept = content_headers(head)
    if head.get("StorageClass"):
        kept["StorageClass"] = head["StorageClass"]
    return kept


def sse_args(head: Mapping[str, Any]) -> dict[str, Any]:
    sse = head.get("ServerSideEncryption")
    if sse == "aws:kms":
        args = {"ServerSideEncryption": sse}
        if head.get("SSEKMSKeyId"):
            args["SSEKMSKeyId"] = head["SSEKMSKeyId"]
        if head.get("BucketKeyEnabled"):
            args["BucketKeyEnabled"] = True
        return args
    return {"ServerSideEncryption": sse} if sse == "AES256" else {}
