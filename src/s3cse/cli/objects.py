"""Naming objects (``s3://BUCKET/KEY``) and looking at them without a key: listings
without sidecars, HEADs with plaintext sizes, prefixes mistaken for objects."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..client import (
    describe,
    fetch_content_metadata,
    listing_with_sidecars,
    probe_sidecar,
    translate_s3_error,
)
from ..core import sidecars
from ..core.metadata import ContentMetadata
from ..core.sidecars import INDEX_SUFFIX
from ..errors import ConfigurationError, NotEncryptedError, ObjectNotFoundError, located


@dataclass(frozen=True)
class S3Url:
    bucket: str
    key: str

    @classmethod
    def parse(cls, text: str) -> S3Url | None:
        if not text.startswith("s3://"):
            return None
        bucket, _, key = text[5:].partition("/")
        if not bucket:
            raise ConfigurationError(f"{text!r} names no bucket: use s3://BUCKET/KEY")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def s3_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def refuse_prefix(url: S3Url, verb: str) -> None:
    """A key ending in ``/`` (or none) names a prefix, or a folder marker: no file."""
    if not url.key or url.key.endswith("/"):
        raise ConfigurationError(
            f"{url} names a prefix (or a folder marker), not an object: pass --recursive to "
            f"{verb} everything under it"
        )


@contextlib.contextmanager
def prefix_hint(s3: Any, url: S3Url, verb: str) -> Iterator[None]:
    """ "No such object" for a key that is a prefix of others: say so, as ``aws s3``
    users expect, and offer ``--recursive``."""
    try:
        yield
    except ObjectNotFoundError:
        if _is_prefix(s3, url):
            raise ConfigurationError(
                f"{url} is a prefix, not an object: pass --recursive to {verb} everything under it"
            ) from None
        raise


def _is_prefix(s3: Any, url: S3Url) -> bool:
    try:
        page = s3.list_objects_v2(Bucket=url.bucket, Prefix=url.key + "/", MaxKeys=1)
    except s3_errors():
        return False
    return bool(page.get("Contents"))


def s3_target(target: S3Url, source_name: str) -> S3Url:
    """Where a copy of ``source_name`` goes: under ``target`` when that is a "directory"."""
    if not target.key or target.key.endswith("/"):
        if source_name == "-":
            raise ConfigurationError("uploading stdin needs a full s3://BUCKET/KEY")
        return S3Url(target.bucket, target.key + Path(source_name).name)
    return target


def with_sidecars(
    s3: Any,
    bucket: str,
    prefix: str,
    *,
    delimiter: bool = False,
    sse_c: dict[str, Any] | None = None,
) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every entry under the prefix (objects: ``Key``, ``Size``, ``LastModified``; with
    ``delimiter`` common prefixes: ``Prefix``) in S3's order, with whether it is the
    instruction file or integrity index of a listed object (``sidecars``: a user's
    object only named like one is not, nor is a sidecar whose object is absent)."""
    args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if delimiter:
        args["Delimiter"] = "/"
    try:
        yield from listing_with_sidecars(
            s3, bucket, s3.get_paginator("list_objects_v2").paginate(**args), sse_c
        )
    except s3_errors() as exc:
        raise translate_s3_error(exc, bucket, prefix, "list") from None


def head(s3: Any, bucket: str, key: str, sse_c: dict[str, Any]) -> dict[str, Any]:
    try:
        response: dict[str, Any] = s3.head_object(Bucket=bucket, Key=key, **sse_c)
    except s3_errors() as exc:
        raise translate_s3_error(exc, bucket, key, "head") from None
    return response


def exact_info(
    s3: Any,
    bucket: str,
    key: str,
    sse_c: dict[str, Any],
    unwrap: Callable[[ContentMetadata], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A HEAD (and the instruction file if the object has one): the exact plaintext size
    and how the object is encrypted. Needs no key; given ``unwrap`` (``keyused``), what
    it says of the data key (the key that unwraps it) too."""
    return describe_head(s3, bucket, key, head(s3, bucket, key, sse_c), sse_c, unwrap)


def describe_head(
    s3: Any,
    bucket: str,
    key: str,
    response: dict[str, Any],
    sse_c: dict[str, Any],
    unwrap: Callable[[ContentMetadata], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``exact_info`` from a HEAD response already had."""
    from ..core.envelope import plaintext_size

    stored = int(response.get("ContentLength") or 0)
    try:
        md = fetch_content_metadata(s3, bucket, key, response.get("Metadata", {}), sse_c=sse_c)
    except NotEncryptedError:
        return {
            "size": stored,
            "stored_size": stored,
            "size_source": "not-encrypted",
            "format": "plain",
        }
    size = plaintext_size(md, stored)
    info: dict[str, Any] = {
        "size": stored if size is None else size,
        "stored_size": stored,
        "size_source": "cbc-upper-bound" if size is None else "exact",
    }
    info.update(describe(md))
    if unwrap is not None:
        info.update(unwrap(md))
    return info


def has_integrity_index(s3: Any, url: S3Url, sse_c: dict[str, Any] | None = None) -> bool:
    """Whether the object has an index of its own (not a user's object of that name)."""
    with located(url.bucket, url.key):
        kind = probe_sidecar(s3, url.bucket, url.key + INDEX_SUFFIX, sse_c)
    return kind is sidecars.Kind.SIDECAR
