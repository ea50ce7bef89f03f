"""The only hand-written differences between the async flavour of s3cse and the sync one
generated from it (``scripts/unasync.py``): each ``AsyncX`` here has an ``X`` twin, and
the generator renames one to the other.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any


class AsyncBody:
    """What an async body of plaintext shares with aiobotocore's: ``closed``, ``close``,
    ``aclose`` and ``async with``. Closing gives back what it reads from (``_release``),
    and so does an abandoned body, as ``io.IOBase`` does."""

    _on_close: Callable[[], None] | None = None
    _closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self._release()

    def _release(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    def __del__(self) -> None:
        self._release()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class Body(io.RawIOBase):
    """A sync body of plaintext is a read-only binary file (``io.RawIOBase``), so that it
    can be handed wherever one is read: ``shutil.copyfileobj``, ``upload_fileobj``..."""

    _on_close: Callable[[], None] | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._release()
        super().close()

    def _release(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()
