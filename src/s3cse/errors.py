"""One exception hierarchy for everything s3cse raises on purpose.

The pure core raises these without knowing which object it works on; the I/O shells
attach the bucket and key (``locate``) before the error reaches the user, so every
message says what failed, where, and what to do. Messages never carry key material.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any, TypeVar, cast

from botocore.exceptions import ClientError

E = TypeVar("E", bound="S3CSEError")


class S3CSEError(Exception):
    """Base class: catch this to handle any s3cse failure."""

    default_hint: str | None = None

    def __init__(
        self,
        message: str,
        *,
        bucket: str | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.bucket = bucket
        self.key = key
        self.hint = hint if hint is not None else self.default_hint

    def locate(self, bucket: str | None, key: str | None) -> S3CSEError:
        """Attach the object this error is about, unless an inner layer already did."""
        if self.bucket is None and self.key is None:
            self.bucket, self.key = bucket, key
        return self

    @property
    def location(self) -> str | None:
        if self.bucket is None:
            return None
        return f"s3://{self.bucket}/{self.key or ''}"

    def __str__(self) -> str:
        text = self.message
        if self.location:
            text = f"{text} [{self.location}]"
        if self.hint:
            text = f"{text}. {self.hint}"
        return text

    def __reduce__(self) -> tuple[object, ...]:
        # Keep errors picklable (worker processes hand them back to the parent), with
        # what S3 answered (``S3ErrorResponse``) and the ``OSError`` fields, if any.
        state: dict[str, Any] = {
            name: getattr(self, name)
            for name in ("response", "operation_name")
            if name in vars(self)
        }
        if isinstance(self, OSError):
            state.update(errno=self.errno, strerror=self.strerror, filename=self.filename)
        return (
            _rebuild,
            (_class_spec(type(self)), self.message, self.bucket, self.key, self.hint),
            state,
        )


@contextlib.contextmanager
def located(bucket: str, key: str) -> Iterator[None]:
    """Attach bucket and key to any s3cse error raised inside (sync and async shells)."""
    try:
        yield
    except S3CSEError as exc:
        raise exc.locate(bucket, key) from exc.__cause__


def excerpt(value: object, limit: int = 100) -> str:
    """``repr(value)``, cut short: what a hostile object's metadata holds can be huge,
    and an error message should still fit on a screen."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def revealing_values() -> bool:
    """Whether messages may quote the values they leave out by default (encryption
    context values): with ``S3CSE_DEBUG=1``, which the command's ``--debug`` sets."""
    return bool(os.environ.get("S3CSE_DEBUG"))


ClassSpec = Any
"""A picklable stand-in for an error class: the class, or (spec, other base) for a class
made by ``combined_class``."""


def _rebuild(
    spec: ClassSpec, message: str, bucket: str | None, key: str | None, hint: str | None
) -> S3CSEError:
    cls: type[S3CSEError] = _class_from_spec(spec)
    return cls(message, bucket=bucket, key=key, hint=hint)


def _class_spec(cls: type[S3CSEError]) -> ClassSpec:
    """How to name ``cls`` in a pickle. A class combined with a built-in exception is
    rebuilt as such; one combined with a botocore class made for one client (its
    modeled ``NoSuchKey``) cannot exist in another process and becomes its s3cse base."""
    combined = cls.__dict__.get("_combined")
    if combined is None:
        return cls
    base, other = combined
    if other.__module__ == "builtins":
        return (_class_spec(base), other)
    return _class_spec(base)


def _class_from_spec(spec: ClassSpec) -> type[S3CSEError]:
    if isinstance(spec, tuple):
        base, other = spec
        return combined_class(_class_from_spec(base), other)
    cls: type[S3CSEError] = spec
    return cls


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
                "_combined": (error_class, other),
            }
            combined = type(error_class.__name__, (error_class, other), namespace)
            _COMBINED[error_class, other] = combined
    return cast("type[E]", combined)


_COMBINED: dict[tuple[type[BaseException], type[BaseException]], type[BaseException]] = {}
_COMBINED_LOCK = threading.Lock()
_COMBINED_LIMIT = 512


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


class ConfigurationError(S3CSEError, ValueError):
    """A bad argument or an impossible combination of options."""


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


class InvalidRangeError(S3ServiceError):
    """The byte range starts at or past the end of the plaintext (S3's 416 InvalidRange)."""

    error_code = "InvalidRange"
    http_status = 416


class NotEncryptedError(S3CSEError):
    """The object carries no client-side encryption metadata and has no instruction file."""

    default_hint = (
        "The object was not written by an S3 encryption client; read it with a plain S3 client"
    )


class MetadataError(S3CSEError):
    """The encryption metadata is missing a key, malformed, or self-contradictory."""

    default_hint = "The object's metadata or instruction file may have been altered"


class InstructionFileError(MetadataError):
    """The instruction file is missing, not JSON, or holds keys it must not hold."""


class PolicyError(S3CSEError):
    """The object is valid but the client's security settings forbid reading it."""


class LegacyModeDisabledError(PolicyError):
    """A legacy, unauthenticated algorithm is needed but legacy modes are off."""

    default_hint = (
        "Enable legacy modes (legacy=True, or --legacy on the command line) only if you "
        "trust where this object came from"
    )


class CommitmentPolicyError(PolicyError):
    """The commitment policy forbids this object's (non-committing) algorithm suite."""

    default_hint = (
        "To read objects written without key commitment, allow them: "
        'commitment_policy="REQUIRE_ENCRYPT_ALLOW_DECRYPT" (on the command line: '
        "--commitment-policy REQUIRE_ENCRYPT_ALLOW_DECRYPT)"
    )


class AuthenticationError(S3CSEError):
    """Decryption found the object altered: nothing of its plaintext is released."""

    default_hint = "The object was tampered with or corrupted; do not trust its content"


class CommitmentMismatchError(AuthenticationError):
    """The stored key commitment does not match the data key."""


class TagMismatchError(AuthenticationError):
    """The AES-GCM authentication tag does not verify."""


class KeyUnwrapError(S3CSEError):
    """No configured key could unwrap the object's data key."""

    default_hint = "Use the key the object was encrypted with"


class KmsError(S3CSEError):
    """AWS KMS refused or failed a request."""


class KmsKeyUnavailableError(KmsError):
    """The KMS key is disabled, pending deletion, or not found."""

    default_hint = "Enable the KMS key or use another one"


class KmsAccessDeniedError(KmsError):
    """The caller may not use the KMS key."""

    default_hint = "Grant kms:GenerateDataKey / kms:Decrypt on the key to these credentials"


class EncryptionContextMismatchError(KmsError):
    """The encryption context given does not match the one stored with the object."""

    default_hint = (
        "Pass the encryption context the object was written with (on the command line: "
        "--encryption-context KEY=VALUE, repeated); S3CSE_DEBUG=1 (or --debug) shows the "
        "values"
    )


class ContentTooLargeError(S3CSEError):
    """AES-GCM under one key and IV is limited to 2^36 - 32 bytes of plaintext."""

    default_hint = "Split the data into several objects of at most 64 GiB"
