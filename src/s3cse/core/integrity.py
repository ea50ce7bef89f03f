"""The integrity index: authenticated random access to AES-GCM objects.

A GCM tag covers the whole object, so no client can authenticate a byte range. When
asked at upload, s3cse also writes a small sidecar object, ``KEY.s3cse-index``, that
every other client ignores (the object itself stays byte-identical to the AWS format):

    header   magic "S3CSEIX1" | chunk size u32 | MAC length u32 | stored size u64 |
             binding (32) | header MAC (16)                                   72 bytes
    entries  one 16-byte MAC per 256 KiB chunk of ciphertext (the tag excluded)
    trailer  MAC over everything before it                                  32 bytes

Keys: HKDF-SHA256 of the object's content key, salted with a SHA-256 of its message id
(V3) or IV (V2), so only holders of the data key can write or check an index, and an
index cannot be moved to another object. Each entry is HMAC-SHA256(binding | chunk
number | chunk) truncated to 16 bytes; the header MAC fixes the object's size (no
truncation or extension) and the trailer fixes the whole index.

A ranged read trusts nothing of the sidecar before the header MAC verifies: it checks
the 72-byte header's MAC, then the object's stored size and the sidecar's length against
the size the header vouches for, and only then plans which entries and chunks it uses.
(It requests the header, entries and chunks at once, from the Range alone, and takes
the plan's out of what arrived: ``prefetch``.) Memory and traffic are thus bounded by
the range asked for, never by what a forged sidecar claims: the entries of a range are
1/16384 of its size, at most 4 MiB for the largest object GCM allows under one key
(64 GiB).

A ranged read never reads the trailer, which would mean reading the whole index. It
does not need to: the header MAC fixes the size, hence every chunk's position and length
(the last one is short); each entry is a MAC, under a key bound to this object, over the
chunk's number and its whole ciphertext; so a chunk whose entry verifies is exactly the
chunk written at that position, and an entry moved, copied from another object or forged
fails. The trailer adds only the integrity of the index as a file (``check_whole``).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .ciphers import ContentKey
from .errors import AuthenticationError, ConfigurationError, MetadataError
from .metadata import ContentMetadata

SUFFIX = ".s3cse-index"
MAGIC = b"S3CSEIX1"
CHUNK_SIZE = 256 * 1024
MAC_LENGTH = 16
_FIELDS = struct.Struct(">8sIIQ32s")
HEADER_SIZE = _FIELDS.size + MAC_LENGTH
TRAILER_SIZE = 32
_INFO = b"s3cse integrity index v1"


class IndexMismatchError(AuthenticationError):
    """The integrity index or a chunk it covers does not verify."""


class StaleIndexError(ConfigurationError):
    """A byte range of an AES-GCM object whose integrity index belongs to an earlier
    version of the object: no usable index, and unauthenticated ranges not allowed."""

    default_hint = (
        "Delete the stale KEY.s3cse-index or rewrite the object (with IntegrityIndex=True "
        "for verified ranges); or read the whole object, or set unauthenticated_ranges=True "
        "if you accept unauthenticated bytes"
    )


def binding(metadata: ContentMetadata) -> bytes:
    nonce = metadata.message_id if metadata.message_id is not None else metadata.iv
    if nonce is None:
        raise MetadataError("an integrity index needs a message id or IV")
    return hashlib.sha256(nonce).digest()


def mac_key(content_key: ContentKey, object_binding: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=object_binding, info=_INFO).derive(
        content_key.key
    )


def entry_count(stored_size: int, tag_length: int) -> int:
    return -(-(stored_size - tag_length) // CHUNK_SIZE)


def index_length(stored_size: int, tag_length: int) -> int:
    """The byte length of the index of an object of ``stored_size`` bytes."""
    return HEADER_SIZE + entry_count(stored_size, tag_length) * MAC_LENGTH + TRAILER_SIZE


@dataclass(frozen=True)
class SidecarHeader:
    """An index header as fetched, not yet verified, and what S3 said of the sidecar:
    its whole size (checked against the header before any more of it is read) and its
    ETag (so later reads of entries see this very sidecar)."""

    data: bytes
    sidecar_size: int
    etag: str

    def is_stale_for(self, metadata: ContentMetadata) -> bool:
        """Whether this index was written for another version of the object: it names,
        in its (not yet authenticated) header, a message id or IV other than the
        object's.

        Trusting an unverified field is safe here because the answer only ever turns
        the index *off*: a stale index is treated as no index, which anyone who can
        write it could also get by deleting it (reads then verify the whole object or
        refuse, as for any object without an index). An index naming the object's own
        binding is never stale: it must verify, or the read fails as tampering, so no
        one can plant a stale-looking index to skip a real one's checks.
        """
        if len(self.data) < _FIELDS.size:
            return False
        magic, _, _, _, bound = _FIELDS.unpack(self.data[: _FIELDS.size])
        return bool(magic == MAGIC and bound != binding(metadata))


@dataclass(frozen=True)
class IndexKey:
    """The MAC key and binding of one object's index."""

    key: bytes = field(repr=False)
    binding: bytes

    @classmethod
    def for_object(cls, content_key: ContentKey, metadata: ContentMetadata) -> IndexKey:
        bound = binding(metadata)
        return cls(mac_key(content_key, bound), bound)

    def chunk_mac(self, number: int, chunk: bytes | memoryview) -> bytes:
        mac = self.chunk_hmac(number)
        mac.update(chunk)  # not concatenated: a chunk is 256 KiB
        return mac.digest()[:MAC_LENGTH]

    def chunk_hmac(self, number: int) -> hmac.HMAC:
        """The MAC of chunk ``number`` before its bytes are fed (a whole chunk, or the
        last one), so that a chunk is hashed where it lies, without being copied."""
        return hmac.new(self.key, self.binding + number.to_bytes(8, "big"), hashlib.sha256)

    def header(self, stored_size: int) -> bytes:
        fields = _FIELDS.pack(MAGIC, CHUNK_SIZE, MAC_LENGTH, stored_size, self.binding)
        return fields + hmac.new(self.key, fields, hashlib.sha256).digest()[:MAC_LENGTH]

    def build(self, stored_size: int, macs: Sequence[bytes]) -> bytes:
        body = self.header(stored_size) + b"".join(macs)
        return body + hmac.new(self.key, body, hashlib.sha256).digest()

    def check_header(self, data: bytes) -> int:
        """Verify a header's MAC, then read it; return the stored size it vouches for."""
        if len(data) < HEADER_SIZE:
            raise IndexMismatchError("integrity index header is truncated")
        fields, mac = data[: _FIELDS.size], data[_FIELDS.size : HEADER_SIZE]
        expected = hmac.new(self.key, fields, hashlib.sha256).digest()[:MAC_LENGTH]
        if not hmac.compare_digest(expected, mac):
            raise IndexMismatchError("integrity index header does not belong to this object")
        magic, chunk, mac_len, size, bound = _FIELDS.unpack(fields)
        if magic != MAGIC or chunk != CHUNK_SIZE or mac_len != MAC_LENGTH:
            raise IndexMismatchError("integrity index has an unknown layout")
        if bound != self.binding:
            raise IndexMismatchError("integrity index header does not belong to this object")
        return int(size)

    def check_sizes(self, header: SidecarHeader, stored_size: int, tag_length: int) -> None:
        """Verify a header, then hold the object and the sidecar to the size it vouches
        for: an object truncated, emptied or extended, or an index grown or cut, fails
        here, before anything else of either is read."""
        vouched = self.check_header(header.data)
        if vouched != stored_size:
            raise IndexMismatchError(
                f"the object's size ({stored_size} bytes) differs from the size its "
                f"integrity index vouches for ({vouched} bytes): it was truncated, "
                "extended or replaced"
            )
        expected = index_length(vouched, tag_length)
        if header.sidecar_size != expected:
            raise IndexMismatchError(
                f"the integrity index has {header.sidecar_size} bytes, not the {expected} "
                "its header implies: it was altered"
            )

    def check_chunk(self, number: int, chunk: bytes | memoryview, mac: bytes) -> None:
        if not hmac.compare_digest(self.chunk_mac(number, chunk), mac):
            raise IndexMismatchError(
                f"chunk {number} of the object does not match its integrity index: the "
                "content was altered"
            )

    def check_whole(self, data: bytes, stored_size: int, tag_length: int) -> list[bytes]:
        """Verify a whole index; return its entries."""
        if len(data) != index_length(stored_size, tag_length):
            raise IndexMismatchError("integrity index has the wrong length for this object")
        if self.check_header(data) != stored_size:
            raise IndexMismatchError("integrity index describes an object of another size")
        body, trailer = data[:-TRAILER_SIZE], data[-TRAILER_SIZE:]
        if not hmac.compare_digest(hmac.new(self.key, body, hashlib.sha256).digest(), trailer):
            raise IndexMismatchError("integrity index was altered")
        entries = body[HEADER_SIZE:]
        return [entries[i : i + MAC_LENGTH] for i in range(0, len(entries), MAC_LENGTH)]


def entries_range(first_chunk: int, last_chunk: int) -> str:
    """The Range header for the index entries of chunks ``first..last``."""
    start = HEADER_SIZE + first_chunk * MAC_LENGTH
    return f"bytes={start}-{start + (last_chunk - first_chunk + 1) * MAC_LENGTH - 1}"


def split_entries(blob: bytes, first_chunk: int, last_chunk: int) -> list[bytes]:
    """The entries of chunks ``first..last`` from what S3 returned for ``entries_range``."""
    expected = (last_chunk - first_chunk + 1) * MAC_LENGTH
    if len(blob) != expected:
        raise IndexMismatchError(
            f"the integrity index returned {len(blob)} bytes of entries, not {expected}"
        )
    return [blob[i : i + MAC_LENGTH] for i in range(0, expected, MAC_LENGTH)]


class ChunkMacer:
    """MACs of consecutive ciphertext chunks, fed in any chunking, starting at a chunk."""

    def __init__(self, key: IndexKey, first_chunk: int) -> None:
        self._key = key
        self._next = first_chunk
        self._mac: hmac.HMAC | None = None
        self._filled = 0  # bytes of the chunk being MACed
        self.macs: list[bytes] = []

    def update(self, ciphertext: bytes | memoryview) -> None:
        view = memoryview(ciphertext)
        while view:
            if self._mac is None:
                self._mac = self._key.chunk_hmac(self._next)
            take = min(len(view), CHUNK_SIZE - self._filled)
            self._mac.update(view[:take])
            self._filled += take
            view = view[take:]
            if self._filled == CHUNK_SIZE:
                self._close_chunk()

    def _close_chunk(self) -> None:
        assert self._mac is not None
        self.macs.append(self._mac.digest()[:MAC_LENGTH])
        self._mac, self._filled = None, 0
        self._next += 1

    def finalize(self) -> list[bytes]:
        if self._filled:
            self._close_chunk()
        return self.macs


class VerifiedRange:
    """Checks each ciphertext chunk against its index entry before decrypting it.

    Fed the ciphertext of chunks ``first_chunk`` onward; yields only the plaintext bytes
    ``first..last``. Nothing of a chunk is released unless its MAC verifies.
    """

    def __init__(
        self,
        key: IndexKey,
        macs: Sequence[bytes],
        first_chunk: int,
        stream: _Keystream,
        first: int,
        last: int,
        plaintext_size: int,
    ) -> None:
        self._key, self._macs, self._chunk = key, list(macs), first_chunk
        self._stream = stream
        self._first, self._last, self._size = first, last, plaintext_size
        self._pending = bytearray()
        self._released = 0

    def update(self, ciphertext: bytes) -> bytes:
        # whole chunks are checked in place (views), only a partial one is kept
        data = memoryview(bytes(self._pending + ciphertext) if self._pending else ciphertext)
        out, at = [], 0
        while at < len(data):
            length = min(CHUNK_SIZE, self._size - self._chunk * CHUNK_SIZE)
            if length <= 0 or len(data) - at < length:
                break
            out.append(self._release(data[at : at + length]))
            at += length
        self._pending = bytearray(data[at:])
        return b"".join(out)

    def finalize(self) -> bytes:
        if self._pending or self._released != len(self._macs):
            raise IndexMismatchError("the object returned fewer bytes than its index covers")
        return b""

    def _release(self, chunk: memoryview) -> bytes:
        if self._released >= len(self._macs):
            raise IndexMismatchError("the object returned more bytes than its index covers")
        self._key.check_chunk(self._chunk, chunk, self._macs[self._released])
        self._released += 1
        start = self._chunk * CHUNK_SIZE
        self._chunk += 1
        plain = self._stream.update(bytes(chunk))
        lo = max(self._first - start, 0)
        hi = max(min(self._last + 1 - start, len(plain)), 0)
        return plain[lo:hi] if lo < hi else b""


class _Keystream(Protocol):
    def update(self, data: bytes) -> bytes: ...
