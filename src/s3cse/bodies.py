"""S3 response bodies whose read failures name the object instead of the socket.

botocore raises ``ResponseStreamingError``, ``IncompleteReadError`` or
``ReadTimeoutError`` when a connection breaks in the middle of a body, long after the
request that ``translate_s3_error`` guards has returned. These wrappers turn such a
failure into an ``S3RequestError`` that says which object, what was being done, and
how far it got. aiobotocore translates most of its HTTP library's failures into the
same botocore exceptions, but lets some through (aiohttp's ``ClientPayloadError`` for a
body cut short): the async wrapper catches those too.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

from .errors import S3CSEError, S3RequestError
from .io.botocore import s3_errors


def broken_read(exc: Exception, bucket: str, key: str, action: str, received: int) -> S3CSEError:
    return S3RequestError(
        f"{action} failed after {received} bytes of the body: {exc}",
        bucket=bucket,
        key=key,
        hint="The connection to S3 broke mid-transfer; retry the read",
    )


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


class AsyncGuardedBody:
    """An aiobotocore ``StreamingBody`` whose ``read`` raises ``S3RequestError``."""

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

    async def __aexit__(self, *exc: Any) -> None:
        await self._body.__aexit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._body, name)
