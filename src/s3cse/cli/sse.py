"""Server-side encryption on top of client-side (SSE-S3, SSE-KMS, SSE-C): what the
options ask for, as the request arguments S3 takes, and hints for S3's bare answers to
a read of an SSE-C object without its key."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, S3CSEError, S3RequestError
from ..keyrings import read_aes_key


@dataclass(frozen=True)
class Sse:
    mode: str | None = None
    kms_key_id: str | None = None
    customer_key: bytes | None = field(default=None, repr=False)
    source_customer_key: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_options(cls, kwargs: dict[str, Any]) -> Sse:
        mode, kms_key_id = kwargs.pop("sse", None), kwargs.pop("sse_kms_key_id", None)
        key_file = kwargs.pop("sse_c_key_file", None)
        source_file = kwargs.pop("sse_c_copy_source_key_file", None)
        if kms_key_id and mode != "aws:kms":
            raise ConfigurationError("--sse-kms-key-id goes with --sse aws:kms")
        if mode and key_file:
            raise ConfigurationError(
                "--sse and --sse-c-key-file exclude each other: an object has one kind of "
                "server-side encryption"
            )
        return cls(
            mode,
            kms_key_id,
            _load_sse_c_key(key_file) if key_file else None,
            _load_sse_c_key(source_file) if source_file else None,
        )

    def put_args(self) -> dict[str, Any]:
        """For objects written: PutObject / CreateMultipartUpload arguments."""
        args: dict[str, Any] = {}
        if self.mode:
            args["ServerSideEncryption"] = self.mode
        if self.kms_key_id:
            args["SSEKMSKeyId"] = self.kms_key_id
        return {**args, **_customer_key_args(self.customer_key)}

    def get_args(self) -> dict[str, Any]:
        """For the objects a command reads (HEAD, GET, instruction files, indexes)."""
        return _customer_key_args(self.customer_key)

    def source_args(self) -> dict[str, Any]:
        """For the sources of an s3:// to s3:// copy."""
        return _customer_key_args(self.source_customer_key)


def _customer_key_args(key: bytes | None) -> dict[str, Any]:
    # botocore adds SSECustomerKeyMD5 and base64-encodes the key itself
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key} if key else {}


def _load_sse_c_key(path: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read SSE-C key file {path}: {exc.strerror}") from None
    try:
        key = read_aes_key(data)
    except ConfigurationError:
        key = b""
    if len(key) != 32:
        raise ConfigurationError(
            f"SSE-C key file {path} must hold a 256-bit key: 32 raw bytes or their base64 "
            "(make one with: s3cse keygen aes FILE)"
        )
    return key


@contextlib.contextmanager
def sse_c_hints(sse: Sse | None) -> Iterator[None]:
    """S3 answers a read of an SSE-C object without (or with the wrong) key with a bare
    400 or 403: say what to do about it."""
    try:
        yield
    except S3RequestError as exc:
        _add_sse_c_hint(exc, sse)
        raise


def _add_sse_c_hint(exc: S3CSEError, sse: Sse | None) -> None:
    if not isinstance(exc, S3RequestError) or exc.hint is not None:
        return
    text = exc.message
    with_key = sse is not None and (sse.customer_key or sse.source_customer_key)
    if not with_key and any(s in text for s in ("(400", "InvalidArgument", "customer key")):
        exc.hint = "If the object is stored with SSE-C, pass its key with --sse-c-key-file"
    elif with_key and any(s in text for s in ("(403", "AccessDenied", "(400")):
        exc.hint = "Check that the SSE-C key file holds the key the object was stored with"
