"""Stream adapters for the async flavour (no network here).

They adapt what asyncio and aiobotocore need: sync readers as ``io.RawIOBase``
(aiohttp streams those from worker threads), checksums computed off the event loop,
async readers and writers beside sync files.
"""

from __future__ import annotations

import inspect
import io
import os
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ConfigurationError


class _RawReader(io.RawIOBase):
    """A seekable reader as ``io.RawIOBase``, the file type aiohttp streams from its
    worker threads (``EncryptingReader`` already is one; spools and parts are not)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self._inner.read(-1 if size is None else size)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        position: int = self._inner.seek(offset, whence)
        return position

    def tell(self) -> int:
        position: int = self._inner.tell()
        return position


def request_body(stream: Any) -> io.IOBase:
    """A ciphertext stream as a request body aiohttp reads on its worker threads."""
    return stream if isinstance(stream, io.IOBase) else _RawReader(stream)


_CHECKSUM_ARGS = {
    "crc32": "ChecksumCRC32",
    "crc32c": "ChecksumCRC32C",
    "crc64nvme": "ChecksumCRC64NVME",
    "sha1": "ChecksumSHA1",
    "sha256": "ChecksumSHA256",
}


def checksum_algorithm(s3: Any, args: Mapping[str, Any]) -> str | None:
    """The flexible checksum botocore would compute over a request body, if any."""
    algorithm = args.get("ChecksumAlgorithm")
    if algorithm is None:
        config = getattr(getattr(s3, "meta", None), "config", None)
        if getattr(config, "request_checksum_calculation", None) == "when_required":
            return None
        algorithm = "CRC32"
    return str(algorithm).lower()


def body_checksum(body: Any, algorithm: str | None) -> dict[str, str]:
    """The checksum argument for a ciphertext body, computed off the event loop (botocore
    would otherwise read, and so encrypt, the whole body on it). Empty when botocore
    computes none or the algorithm is unknown here (botocore then computes it itself)."""
    if algorithm is None or algorithm not in _CHECKSUM_ARGS:
        return {}
    try:
        from botocore.httpchecksum import _CHECKSUM_CLS
    except ImportError:  # pragma: no cover - a botocore without flexible checksums
        return {}
    checksum_cls = _CHECKSUM_CLS.get(algorithm)
    if checksum_cls is None:
        return {}
    return {_CHECKSUM_ARGS[algorithm]: checksum_cls().handle(body)}


def is_async_reader(body: Any) -> bool:
    """An object whose ``read`` is awaited (aiofiles, aiohttp's StreamReader, ...)."""
    return inspect.iscoroutinefunction(getattr(body, "read", None))


def sink_writer(sink: Any) -> Callable[[bytes], Any]:
    """The ``write`` of a binary file or of an async writer (aiofiles and the like)."""
    write = getattr(sink, "write", None)
    if write is None:
        raise ConfigurationError(
            f"Fileobj must be a binary file or an async writer, not {type(sink).__name__}"
        )
    return write  # type: ignore[no-any-return]


def is_async_writer(sink: Any) -> bool:
    """An object whose ``write`` is awaited (aiofiles and the like)."""
    return inspect.iscoroutinefunction(getattr(sink, "write", None))
