"""S3 response bodies whose read failures name the object instead of the socket.

botocore raises ``ResponseStreamingError``, ``IncompleteReadError`` or
``ReadTimeoutError`` when a connection breaks in the middle of a body, long after the
request that ``translate_s3_error`` guards has returned. This wrapper turns such a
failure into an ``S3RequestError`` that says which object, what was being done, and
how far it got. aiobotocore translates most of its HTTP library's failures into the
same botocore exceptions, but lets some through (aiohttp's ``ClientPayloadError`` for a
body cut short): ``async_body_errors`` names those too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ..io.botocore import async_body_errors, broken_read


class AsyncGuardedBody:
    """A botocore ``StreamingBody`` whose ``read`` raises ``S3RequestError``."""

    def __init__(self, body: Any, bucket: str, key: str, action: str) -> None:
        self._body = body
        self._where = (bucket, key, action)
        self.received = 0

    async def read(self, amt: int | None = None) -> bytes:
        try:
            data: bytes = await self._body.read(amt)
        except async_body_errors() as exc:
            raise broken_read(exc, *self._where, self.received) from None
        self.received += len(data)
        return data

    async def iter_chunks(self, chunk_size: int = 1024) -> AsyncIterator[bytes]:
        while chunk := await self.read(chunk_size):
            yield chunk

    def close(self) -> None:
        self._body.close()

    async def __aenter__(self) -> AsyncGuardedBody:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._body, name)
