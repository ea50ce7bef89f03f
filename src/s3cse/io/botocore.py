"""botocore's side of a request: what it fails with, how its errors read in terms of
the object, what a complete answer holds, and how a client is set up around it.

aiobotocore raises botocore's exceptions and answers with the same dictionaries, so
both flavours of client use this module unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from ..core import sidecars
from ..core.config import CryptoConfig
from ..core.integrity import IndexMismatchError
from ..core.materials import DefaultMaterialsManager, Keyring, MaterialsManager
from ..errors import (
    ConfigurationError,
    InvalidRangeError,
    ObjectNotFoundError,
    S3CSEError,
    S3ErrorResponse,
    S3RequestError,
    S3ServiceError,
    from_s3_answer,
)
from .awsenv import CREDENTIAL_CODES, CREDENTIALS_HINT, unreachable

_NOT_FOUND = {"NoSuchKey", "404", "NotFound", "NoSuchBucket", "NoSuchVersion"}


def s3_errors() -> tuple[type[Exception], ...]:
    """What botocore (and aiobotocore, which raises botocore's) fails with."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def async_body_errors() -> tuple[type[Exception], ...]:
    """What reading an aiobotocore body fails with: botocore's errors and, for the ones
    it does not translate, the HTTP library's (aiohttp, or httpx when installed)."""
    errors: list[type[Exception]] = [*s3_errors()]
    with contextlib.suppress(ImportError):
        import aiohttp

        errors.append(aiohttp.ClientError)
    with contextlib.suppress(ImportError):
        import httpx

        errors.append(httpx.HTTPError)
    return tuple(errors)


def broken_read(exc: Exception, bucket: str, key: str, action: str, received: int) -> S3CSEError:
    """A body's read that failed after its request succeeded, named by its object."""
    return S3RequestError(
        f"{action} failed after {received} bytes of the body: {exc}",
        bucket=bucket,
        key=key,
        hint="The connection to S3 broke mid-transfer; retry the read",
    )


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
    body, if any, in ``guard`` (``_async.bodies``) so that a broken read names the object."""
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


def raise_unless_no_index(error: S3CSEError) -> None:
    """After a failed fetch of an index header: returns when the object has no index,
    else raises. An empty sidecar answers the header's Range with 416: that is a damaged
    index, not a bad range."""
    if isinstance(error, ObjectNotFoundError):
        return
    if isinstance(error, InvalidRangeError):
        raise IndexMismatchError(
            "the integrity index is empty: it was altered", bucket=error.bucket, key=error.key
        ) from None
    raise error


def object_changed(error: BaseException) -> bool:
    """Whether S3 refused a read because the object is no longer the version it names
    (``IfMatch``: overwritten, or its index rewritten, since the reader opened)."""
    if not isinstance(error, S3ErrorResponse):
        return False
    answer = error.response
    return bool(
        answer.get("Error", {}).get("Code") == "PreconditionFailed"
        or answer.get("ResponseMetadata", {}).get("HTTPStatusCode") == 412
    )
