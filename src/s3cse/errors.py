"""One exception hierarchy for everything s3cse raises on purpose: the public import path.

The errors the pure core raises live in ``core.errors`` and are re-exported here (the
same classes). This module adds those about S3, KMS and local files, and binds the ones
that stand for an S3 error answer to botocore's ``ClientError``, as boto3 users expect.
The I/O shells attach the bucket and key (``located``) before an error reaches the user,
so every message says what failed, where, and what to do. Messages never carry key
material.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from typing import Any, TypeVar, cast

from botocore.exceptions import ClientError

from .core.errors import (
    AuthenticationError,
    CommitmentMismatchError,
    CommitmentPolicyError,
    ConfigurationError,
    ContentTooLargeError,
    InstructionFileError,
    KeyUnwrapError,
    LegacyModeDisabledError,
    MetadataError,
    NotEncryptedError,
    PickledClass,
    PolicyError,
    RangeNotSatisfiableError,
    S3CSEError,
    TagMismatchError,
    TooManyPartsError,
    class_from_pickle,
    excerpt,
    pickled_class,
)

__all__ = [
    "AuthenticationError",
    "CommitmentMismatchError",
    "CommitmentPolicyError",
    "ConfigurationError",
    "ContentTooLargeError",
    "DestinationError",
    "EncryptionContextMismatchError",
    "InstructionFileError",
    "InvalidRangeError",
    "KeyUnwrapError",
    "KmsAccessDeniedError",
    "KmsError",
    "KmsKeyNotAllowedError",
    "KmsKeyUnavailableError",
    "LegacyModeDisabledError",
    "LocalPathError",
    "MetadataError",
    "NotEncryptedError",
    "ObjectNotFoundError",
    "PolicyError",
    "RangeNotSatisfiableError",
    "S3CSEError",
    "S3ErrorResponse",
    "S3RequestError",
    "S3ServiceError",
    "TagMismatchError",
    "TooManyPartsError",
    "also_as",
    "combined_class",
    "excerpt",
    "from_s3_answer",
    "located",
    "public",
    "revealing_values",
]

E = TypeVar("E", bound=S3CSEError)


@contextlib.contextmanager
def located(bucket: str, key: str) -> Iterator[None]:
    """Attach bucket and key to any s3cse error raised inside, in the form the user sees
    (``public``): the boundary of the sync and async shells."""
    try:
        yield
    except S3CSEError as exc:
        error = public(exc).locate(bucket, key)
        raise error.with_traceback(exc.__traceback__) from exc.__cause__


def public(error: S3CSEError) -> S3CSEError:
    """The form a user sees of ``error``: one the pure core raised for what S3 would
    answer with an error (an unsatisfiable range) becomes that answer's error, also
    botocore's ``ClientError``; any other is itself."""
    answer = _ANSWERS.get(type(error))
    if answer is None:
        return error
    copy = answer(error.message, bucket=error.bucket, key=error.key, hint=error.hint)
    copy.__dict__.update(vars(error))
    return copy


def revealing_values() -> bool:
    """Whether messages may quote the values they leave out by default (encryption
    context values): with ``S3CSE_DEBUG=1``, which the command's ``--debug`` sets."""
    return bool(os.environ.get("S3CSE_DEBUG"))


def combined_class(error_class: type[E], other: type[BaseException]) -> type[E]:
    """``error_class`` made also an ``other``, so that one raise satisfies both the
    ``except`` clauses written for s3cse and those written for boto3 (a client's
    modeled ``NoSuchKey``) or fsspec (``FileNotFoundError``).

    Cached: the same pair gives the same class every time. It keeps the s3cse name, so
    a traceback still reads ``s3cse.errors.ObjectNotFoundError``.
    """
    if issubclass(error_class, other):
        return error_class
    with _COMBINED_LOCK:
        if len(_COMBINED) >= _COMBINED_LIMIT:  # clients come and go: do not hoard
            _COMBINED.clear()
        combined = _COMBINED.get((error_class, other))
        if combined is None:
            namespace = {
                "__module__": error_class.__module__,
                "__qualname__": error_class.__qualname__,
                "__doc__": error_class.__doc__,
                "_pickled_as": _pickled_combination(error_class, other),
            }
            combined = type(error_class.__name__, (error_class, other), namespace)
            _COMBINED[error_class, other] = combined
    return cast("type[E]", combined)


_COMBINED: dict[tuple[type[BaseException], type[BaseException]], type[BaseException]] = {}
_COMBINED_LOCK = threading.Lock()
_COMBINED_LIMIT = 512


def _pickled_combination(error_class: type[S3CSEError], other: type[BaseException]) -> PickledClass:
    """How a pickle names ``combined_class(error_class, other)``. A class combined with a
    built-in exception is made again as such; one combined with a botocore class made
    for one client (its modeled ``NoSuchKey``) cannot exist in another process and
    becomes its s3cse base."""
    base = pickled_class(error_class)
    if other.__module__ == "builtins":
        return functools.partial(_combination, base, other)
    return base


def _combination(base: PickledClass, other: type[BaseException]) -> type[S3CSEError]:
    return combined_class(class_from_pickle(base), other)


def also_as(error: E, other: type[BaseException]) -> E:
    """A copy of ``error`` that is also an ``other`` (see ``combined_class``)."""
    copy = combined_class(type(error), other)(
        error.message, bucket=error.bucket, key=error.key, hint=error.hint
    )
    copy.__dict__.update(vars(error))
    return copy


class S3ErrorResponse(ClientError):  # type: ignore[misc]
    """Mixed into the s3cse errors that stand for an S3 error answer, which makes them
    botocore's ``ClientError`` too: code written for boto3 (``except ClientError``,
    ``error.response["Error"]["Code"]``, ``error.operation_name``) handles them as it
    handles boto3's. Errors translated from S3's answer carry that very answer; those s3cse
    raises itself carry the answer S3 would have given (``error_code``, ``http_status``)."""

    error_code = "InternalError"
    http_status = 500
    response: dict[str, Any]
    operation_name: str

    def __init__(self, message: str) -> None:
        # Reached from S3CSEError.__init__: the text stays s3cse's (its ``__str__``).
        Exception.__init__(self, message)
        self.response = {
            "Error": {"Code": self.error_code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": self.http_status},
        }
        self.operation_name = "GetObject"


def from_s3_answer(
    error_class: type[E],
    answer: ClientError,
    message: str,
    *,
    bucket: str | None,
    key: str | None,
    hint: str | None = None,
) -> E:
    """An s3cse error for S3's error answer that is also the very botocore class the
    client raised (its modeled ``NoSuchKey``, say), with the same ``response`` and
    ``operation_name``."""
    error = combined_class(error_class, type(answer))(message, bucket=bucket, key=key, hint=hint)
    error.__dict__.update(response=answer.response, operation_name=answer.operation_name)
    return error


class ObjectNotFoundError(S3CSEError, S3ErrorResponse):
    """The object (or its instruction file) does not exist. Also botocore's
    ``ClientError``, and when S3 said so the client's modeled exception too
    (``client.exceptions.NoSuchKey`` / ``NoSuchBucket``), as boto3 raises."""

    default_hint = "Check the bucket and key"
    error_code = "NoSuchKey"
    http_status = 404


class S3RequestError(S3CSEError):
    """S3 refused or failed a request that s3cse cannot interpret more precisely."""


class S3ServiceError(S3RequestError, S3ErrorResponse):
    """S3 answered a request with an error (access denied, precondition failed, ...):
    also botocore's ``ClientError`` (or the client's modeled subclass of it) with S3's
    ``response``. Failures that never got an answer (network) stay ``S3RequestError``."""


class DestinationError(S3CSEError, OSError):
    """A download could not be written where it was asked to go (disk full, permission
    denied, read-only file system). Also an ``OSError`` carrying the original ``errno``."""

    default_hint = "Check the free space and permissions at the destination"

    @classmethod
    def writing(cls, target: object, cause: OSError) -> DestinationError:
        error = cls(f"cannot write the download to {target}: {cause.strerror or cause}")
        error.errno, error.strerror = cause.errno, cause.strerror
        return error


class LocalPathError(DestinationError):
    """An object's key cannot become a file under the download's destination: it would
    leave it, alias another object's file, or go through a symbolic link out of it."""

    default_hint = (
        "Nothing was written for this object; to keep it, download it alone and name "
        "the local file: s3cse cp s3://BUCKET/KEY FILE"
    )


class InvalidRangeError(S3ServiceError, RangeNotSatisfiableError):
    """The byte range starts at or past the end of the plaintext (S3's 416 InvalidRange),
    as S3 answered it or as the core found it (``RangeNotSatisfiableError``)."""

    error_code = "InvalidRange"
    http_status = 416


class KmsError(S3CSEError):
    """AWS KMS refused or failed a request."""


class KmsKeyUnavailableError(KmsError):
    """The KMS key is disabled, pending deletion, or not found."""

    default_hint = "Enable the KMS key or use another one"


class KmsAccessDeniedError(KmsError):
    """The caller may not use the KMS key."""

    default_hint = "Grant kms:GenerateDataKey / kms:Decrypt on the key to these credentials"


class KmsKeyNotAllowedError(KmsError):
    """Under KMS discovery, the key that wrapped the data key is not on the allow-list."""

    default_hint = "Allow the key if you trust it (--kms-allow ARN or account:ACCOUNT_ID)"


class EncryptionContextMismatchError(KmsError):
    """The encryption context given does not match the one stored with the object."""

    default_hint = (
        "Pass the encryption context the object was written with (on the command line: "
        "--encryption-context KEY=VALUE, repeated); S3CSE_DEBUG=1 (or --debug) shows the "
        "values"
    )


_ANSWERS: dict[type[S3CSEError], type[S3CSEError]] = {
    RangeNotSatisfiableError: InvalidRangeError,
}
"""The core's errors that stand for an S3 error answer, and the error of that answer."""
