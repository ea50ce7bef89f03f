"""The S3 client as s3cse sees it: the calls it makes, and nothing else.

Written once for both flavours: ``S3Client`` is a boto3 client, ``AsyncS3Client`` an
aiobotocore one (the same calls, awaited). Typed loosely, as ``keyrings.kms.KmsClient``
is, so that clients typed by stubs fit while an object lacking one of the calls is
caught by a type checker; an untyped boto3 client fits as it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

Call = TypeVar("Call", covariant=True)


class S3Calls(Protocol[Call]):
    """The S3 operations s3cse calls, each a ``Call`` (awaited or not, by flavour)."""

    @property
    def abort_multipart_upload(self) -> Call: ...

    @property
    def complete_multipart_upload(self) -> Call: ...

    @property
    def copy_object(self) -> Call: ...

    @property
    def create_multipart_upload(self) -> Call: ...

    @property
    def delete_object(self) -> Call: ...

    @property
    def delete_objects(self) -> Call: ...

    @property
    def generate_presigned_post(self) -> Call: ...

    @property
    def generate_presigned_url(self) -> Call: ...

    @property
    def get_object(self) -> Call: ...

    @property
    def get_object_attributes(self) -> Call: ...

    @property
    def head_object(self) -> Call: ...

    @property
    def list_object_versions(self) -> Call: ...

    @property
    def list_objects(self) -> Call: ...

    @property
    def list_objects_v2(self) -> Call: ...

    @property
    def put_object(self) -> Call: ...

    @property
    def upload_part(self) -> Call: ...

    @property
    def get_paginator(self) -> Callable[..., Any]:
        """Never awaited, in either flavour."""

    @property
    def exceptions(self) -> Any: ...

    @property
    def meta(self) -> Any: ...


S3Client = S3Calls[Callable[..., Any]]
AsyncS3Client = S3Calls[Callable[..., Awaitable[Any]]]
