"""The errors the pure core raises, and their base ``S3CSEError``.

The core raises them without knowing which object it works on; the I/O shells attach
the bucket and key (``S3CSEError.locate``) before an error reaches the user, and turn
those that stand for an S3 answer into that answer's botocore-compatible form
(``s3cse.errors``, the public import path of every error). Nothing here knows botocore.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


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
        # what S3 answered (``response``) and the ``OSError`` fields, if any.
        state: dict[str, Any] = {
            name: getattr(self, name)
            for name in ("response", "operation_name")
            if name in vars(self)
        }
        if isinstance(self, OSError):
            state.update(errno=self.errno, strerror=self.strerror, filename=self.filename)
        return (
            _rebuild,
            (pickled_class(type(self)), self.message, self.bucket, self.key, self.hint),
            state,
        )


PickledClass = Any
"""A picklable stand-in for an error class: the class, or a picklable callable that
makes it again (for a class made at run time, which a pickle cannot name)."""


def pickled_class(cls: type[S3CSEError]) -> PickledClass:
    """How a pickle names ``cls``: the class itself unless the class says otherwise
    (``_pickled_as``, set by whoever made it at run time)."""
    return cls.__dict__.get("_pickled_as", cls)


def class_from_pickle(spec: PickledClass) -> type[S3CSEError]:
    cls: type[S3CSEError] = spec if isinstance(spec, type) else spec()
    return cls


def _rebuild(
    spec: PickledClass, message: str, bucket: str | None, key: str | None, hint: str | None
) -> S3CSEError:
    return class_from_pickle(spec)(message, bucket=bucket, key=key, hint=hint)


def excerpt(value: object, limit: int = 100) -> str:
    """``repr(value)``, cut short: what a hostile object's metadata holds can be huge,
    and an error message should still fit on a screen."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


class ConfigurationError(S3CSEError, ValueError):
    """A bad argument or an impossible combination of options."""


class TooManyPartsError(ConfigurationError):
    """A stream of unknown length outgrew the 10,000 parts of a multipart upload (which
    was aborted): its parts were too small for it."""


class RangeNotSatisfiableError(S3CSEError):
    """The byte range starts at or past the end of the plaintext. The shells raise it as
    ``InvalidRangeError``, S3's 416 answer (also botocore's ``ClientError``)."""


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


class ContentTooLargeError(S3CSEError):
    """AES-GCM under one key and IV is limited to 2^36 - 32 bytes of plaintext."""

    default_hint = "Split the data into several objects of at most 64 GiB"


# Users import these from s3cse.errors: tracebacks and pickles name them there too.
for _public in (
    S3CSEError,
    ConfigurationError,
    TooManyPartsError,
    RangeNotSatisfiableError,
    MetadataError,
    InstructionFileError,
    PolicyError,
    LegacyModeDisabledError,
    CommitmentPolicyError,
    AuthenticationError,
    CommitmentMismatchError,
    TagMismatchError,
    KeyUnwrapError,
    ContentTooLargeError,
):
    _public.__module__ = "s3cse.errors"


class NotEncryptedError(S3CSEError):
    """The object carries no client-side encryption metadata and has no instruction file."""

    default_hint = (
        "The object was not written by an S3 encryption client; read it with a plain S3 client"
    )


@contextlib.contextmanager
def naming(bucket: str, key: str) -> Iterator[None]:
    """Attach bucket and key to any s3cse error raised inside: for core code that knows
    its object (a streaming body) and raises only errors whose form is already public."""
    try:
        yield
    except S3CSEError as exc:
        raise exc.locate(bucket, key) from exc.__cause__
