"""Random access to one encrypted object, for seekable files (fsspec, Parquet footers).

The reader is written once, async (``_async/reader.py``: the protection modes are
described there), and its sync twin generated from it. ``ObjectReader(client, bucket,
key)`` opens a sync one on the client's session; ``await AsyncObjectReader.open(session,
bucket, key)`` (or ``ObjectReader.open``) opens one on a session directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ._async.reader import AsyncObjectReader
from ._sync.reader import MODES, check_mode
from ._sync.reader import ObjectReader as _ObjectReader
from ._sync.session import Session

__all__ = ["MODES", "AsyncObjectReader", "ObjectReader", "WithSession", "check_mode"]


class WithSession(Protocol):
    """What a reader is opened with: an ``EncryptionClient``, or anything with its
    ``session``."""

    session: Session


class ObjectReader(_ObjectReader):
    """Positional reads of one object through ``client``'s session, opened at once."""

    def __init__(
        self,
        client: WithSession,
        bucket: str,
        key: str,
        *,
        encryption_context: Mapping[str, str] | None = None,
        instruction_suffix: str | None = None,
        extra_args: Mapping[str, Any] | None = None,
        on_fetch: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(client.session, bucket, key, extra_args=extra_args, on_fetch=on_fetch)
        self.client = client
        self._load(encryption_context, instruction_suffix)

    def __enter__(self) -> ObjectReader:
        return self
