"""How a large transfer is cut up, without doing any I/O: the configuration, part sizes
within S3's rules, the ranges a download fetches, and the buffers and cuts of a stream
of unknown length. Both flavours of transfer manager plan with these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError, ContentTooLargeError, TagMismatchError, TooManyPartsError
from .gcm import BLOCK, GcmLayout, PartHash
from .integrity import CHUNK_SIZE

MiB = 1024 * 1024


MIN_PART_SIZE = 5 * MiB


MAX_PARTS = 10_000
Callback = Callable[[int], None]
"""Called with each count of bytes transferred."""


BODY_STEP = 64 * 1024
"""How much of a part is encrypted or handed to botocore (or fetched and decrypted) at a
time. Blocks this small are reused by the allocator; larger ones, freed on many
threads, stay in their heaps and memory grows with the parts in flight. A stopped
transfer notices within one step."""


@dataclass(frozen=True)
class TransferConfig:
    """How large transfers are cut up, in the spirit of s3transfer's ``TransferConfig``."""

    multipart_threshold: int = 8 * MiB
    multipart_chunksize: int = 8 * MiB
    max_concurrency: int = 10

    def __post_init__(self) -> None:
        if self.multipart_chunksize < MIN_PART_SIZE:
            raise ConfigurationError("multipart_chunksize must be at least 5 MiB")
        if self.multipart_chunksize % BLOCK:
            raise ConfigurationError("multipart_chunksize must be a multiple of 16 bytes")
        if self.max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be at least 1")
        if self.multipart_threshold < 0:
            raise ConfigurationError("multipart_threshold must be >= 0")


def part_size_for(size: int | None, config: TransferConfig) -> int:
    """The configured part size, grown (in MiB steps) so that no upload needs >10,000 parts."""
    part = config.multipart_chunksize
    if size is not None and -(-size // part) > MAX_PARTS:
        part = -(-size // MAX_PARTS)
        part = -(-part // MiB) * MiB
    return part


def upload_part_size(size: int | None, config: TransferConfig, indexed: bool) -> int:
    """The part size of an upload: ``part_size_for``, and whole index chunks per part."""
    part = part_size_for(size, config)
    if indexed and part % CHUNK_SIZE:
        part += CHUNK_SIZE - part % CHUNK_SIZE  # index chunks must not straddle parts
    return part


def pop_put_options(extra: dict[str, Any]) -> tuple[bool | None, bool | None]:
    """``InstructionFile`` and ``IntegrityIndex`` from ``ExtraArgs`` (None: the config's)."""
    return extra.pop("InstructionFile", None), extra.pop("IntegrityIndex", None)


def download_plan(
    layout: GcmLayout, stored_size: int, config: TransferConfig
) -> tuple[int, list[tuple[int, int]]]:
    """The plaintext size of an AES-GCM object and the ranges to fetch it in."""
    tag_length = layout.content_key.suite.tag_length
    if stored_size < tag_length:
        raise TagMismatchError("ciphertext is shorter than its authentication tag")
    plain_size = stored_size - tag_length
    return plain_size, plan_parts(plain_size, part_size_for(plain_size, config))


def plan_parts(size: int, part_size: int) -> list[tuple[int, int]]:
    """(offset, length) of each part; the last one may be short (or empty for size 0)."""
    if size == 0:
        return [(0, 0)]
    return [(offset, min(part_size, size - offset)) for offset in range(0, size, part_size)]


@dataclass(frozen=True)
class SentPart:
    """A part S3 holds: its ETag and what the tag and the integrity index need of it,
    but not its plaintext, so that a stream of any length goes up in bounded memory."""

    etag: str
    length: int
    part_hash: PartHash
    index_macs: list[bytes]


PARTS_MEMORY = 160 * MiB
"""How much plaintext-then-ciphertext an upload holds in its part buffers at most (the
default 10 parts of 8 MiB fit; larger parts are sent fewer at a time)."""


def parts_at_once(config: TransferConfig, part_size: int) -> int:
    """How many parts an upload encrypts and sends at once: ``max_concurrency``, fewer
    when that many parts would not fit ``PARTS_MEMORY``, never none."""
    return max(1, min(config.max_concurrency, PARTS_MEMORY // max(part_size, 1)))


class PartBuffers:
    """Memory for the parts of a stream, reused from part to part, so that a stream of
    any length is held in the same few buffers (allocating and freeing a part-sized
    block per part lets the allocator's heap grow with the stream). How many are in use
    at once is bounded by the caller's semaphore. Safe across threads without a lock:
    ``list.pop`` and ``list.append`` are atomic."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free: list[bytearray] = []

    def take(self) -> bytearray:
        try:
            return self._free.pop()
        except IndexError:
            return bytearray(self.size)

    def give(self, buffer: bytearray) -> None:
        self._free.append(buffer)


class StreamCutter:
    """Cuts a stream of unknown length into parts, in buffers the caller fills through
    ``space`` / ``add`` (the same steps, sync or async). Once a part is full, one more
    byte is read: only a stream's last part carries the tag, so a part must be known to
    be the last before it is sent. Checks that the stream still fits the upload."""

    def __init__(self, first: bytes, part_size: int, limit: int) -> None:
        self.part_size, self.limit = part_size, limit
        self.offset = 0  # where the part being filled starts in the stream
        self.parts = 0  # parts cut before it
        self._carry = memoryview(first)  # read from the stream, not yet in a part
        self._probe = bytearray(1)
        self._view = memoryview(bytearray())
        self._filled = 0
        self._ended = self._probed = False

    def begin(self, buffer: bytearray) -> None:
        """Start the next part in ``buffer``, with what was read ahead."""
        self._view = memoryview(buffer)[: self.part_size]
        self._filled = min(len(self._carry), self.part_size)
        self._view[: self._filled] = self._carry[: self._filled]
        self._carry = self._carry[self._filled :]
        self._probed = bool(self._carry)

    def space(self) -> memoryview | None:
        """Where the next bytes of the stream go; None once the part is cut."""
        if self._ended or self._probed:
            return None
        if self._filled < self.part_size:
            return self._view[self._filled :]
        return memoryview(self._probe)

    def add(self, count: int) -> None:
        """``count`` bytes were read into ``space()``; 0 means the stream ended."""
        if count == 0:
            self._ended = True
        elif self._filled < self.part_size:
            self._filled += count
        else:
            self._carry, self._probed = memoryview(bytes(self._probe[:count])), True

    def cut(self) -> tuple[int, int, bool]:
        """The part's offset and length, and whether it is the stream's last."""
        offset, length, last = self.offset, self._filled, self._ended and not self._carry
        self._check(length, last)
        self.offset += length
        self.parts += 1
        return offset, length, last

    def _check(self, length: int, last: bool) -> None:
        if not last and self.parts + 2 > MAX_PARTS:
            raise TooManyPartsError(
                f"the stream needs more than {MAX_PARTS} parts of {self.part_size} bytes; "
                "raise multipart_chunksize"
            )
        if self.offset + length + (0 if last else 1) > self.limit:
            raise ContentTooLargeError(
                f"the stream passed {self.limit} bytes, AES-GCM's limit for one data key"
            )
