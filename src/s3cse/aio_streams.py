"""The async client's body of plaintext and stream adapters, where they always were."""

from ._async.streams import AsyncDecryptedBody, read_all
from ._async.streams import read_full as aread_full
from .io.aio import (
    adecrypt_into,
    body_checksum,
    checksum_algorithm,
    is_async_reader,
    is_async_writer,
    request_body,
    sink_writer,
)

__all__ = [
    "AsyncDecryptedBody",
    "adecrypt_into",
    "aread_full",
    "body_checksum",
    "checksum_algorithm",
    "is_async_reader",
    "is_async_writer",
    "read_all",
    "request_body",
    "sink_writer",
]
