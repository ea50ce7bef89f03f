# Generated from s3cse/_async/bodies.py by scripts/unasync.py: edit that file instead.
"""S3 response bodies whose read failures name the object instead of the socket.

botocore raises ``ResponseStreamingError``, ``IncompleteReadError`` or
``ReadTimeoutError`` when a connection breaks in the middle of a body, long after the
request that ``translate_s3_error`` guards has returned. This wrapper turns such a
failure into an ``S3RequestError`` that says which object, what was being done, and
how far it got. aiobotocore translates most of its HTTP library's failures into the
same botocore exceptions, but lets some through (aiohttp's ``ClientPayloadError`` for a
body cut short): ``s3_errors`` names those too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..io.botocore import broken_read, s3_errors


class GuardedBody:
    """A botocore ``StreamingBody`` whose ``read`` raises ``S3RequestError``."""

    def __init__(self, body: Any, bucket: str, key: str, action: str) -> None:
        self._body = body
        self._where = (bucket, key, action)
        self.received = 0

    def read(self, amt: int | None = None) -> bytes:
        try:
            data: bytes = self._body.read(amt)
        except s3_errors() as exc:
            raise broken_read(exc, *self._where, self.received) from None
        self.received += len(data)
        return data

    def iter_chunks(self, chunk_size: int = 1024) -> Iterator[bytes]:
        while chunk := self.read(chunk_size):
            yield chunk

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> GuardedBody:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._body, name)
