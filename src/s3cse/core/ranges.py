"""Byte ranges of encrypted objects, pure: which ciphertext to fetch, how to decrypt it.

A plaintext byte at offset ``p`` of an AES-GCM object is ciphertext byte ``p`` (CTR
mode), so a range is fetched from the enclosing 16-byte block and decrypted with the
counter of that block. AES-CBC needs the block before as its IV, and the padding of the
last block. Ranges past the end, suffix ranges and open ranges behave as S3 behaves
for plain objects. Neither kind of range can check the GCM tag (it covers the whole
object): such reads are unauthenticated unless an integrity index vouches for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .ciphers import ContentKey
from .errors import AuthenticationError, ConfigurationError, RangeNotSatisfiableError
from .gcm import BLOCK, GcmLayout

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# extra ciphertext a suffix request asks for: alignment, the tag, CBC's previous block
_SUFFIX_SLACK = BLOCK - 1 + BLOCK + BLOCK


@dataclass(frozen=True)
class ByteRange:
    """An HTTP byte range: ``first``-``last`` (last may be open), or the last ``suffix``."""

    first: int | None
    last: int | None
    suffix: int | None = None

    @classmethod
    def parse(cls, header: str) -> ByteRange:
        match = _RANGE.match(header.replace(" ", ""))
        if not match or match.groups() == ("", ""):
            raise ConfigurationError(
                f"unsupported Range {header!r}: use bytes=FIRST-LAST, bytes=FIRST- or bytes=-N"
            )
        first, last = match.groups()
        if first == "":
            return cls(None, None, int(last))
        if last and int(last) < int(first):
            raise ConfigurationError(f"Range {header!r} ends before it starts")
        return cls(int(first), int(last) if last else None)

    def ciphertext_request(self, authenticated: bool) -> str:
        """The Range header for the ciphertext that certainly covers this range."""
        if self.suffix is not None:
            return f"bytes=-{self.suffix + _SUFFIX_SLACK}"
        assert self.first is not None
        start = self.first - self.first % BLOCK
        if not authenticated:  # CBC: the block before is the IV
            start = max(start - BLOCK, 0)
        if self.last is None:
            return f"bytes={start}-"
        last = self.last if authenticated else self.last - self.last % BLOCK + BLOCK - 1
        return f"bytes={start}-{last}"


def invalid_range(requested: str, size: int | None) -> RangeNotSatisfiableError:
    return RangeNotSatisfiableError(
        f"InvalidRange: {requested} is not satisfiable for an object of "
        f"{size if size is not None else 'unknown'} plaintext bytes",
    )


@dataclass(frozen=True)
class RangePlan:
    """What arrived, and which plaintext bytes of it the caller asked for."""

    first: int
    """First plaintext byte returned."""
    last: int
    """Last plaintext byte returned."""
    fetched_from: int
    """Ciphertext offset of the first byte received."""
    reaches_end: bool
    """The fetched ciphertext includes the object's last byte."""
    plaintext_size: int


def plan(
    requested: ByteRange,
    content_key: ContentKey,
    received_first: int,
    received_last: int,
    stored_size: int,
    header: str,
    cbc_plaintext_size: int | None = None,
) -> RangePlan:
    """Map the ciphertext S3 returned onto the plaintext range the caller asked for.

    AES-CBC objects need ``cbc_plaintext_size`` (from the metadata, or from decrypting
    the last block): the padding hides it.
    """
    suite = content_key.suite
    reaches_end = received_last == stored_size - 1
    if suite.authenticated:
        size = stored_size - suite.tag_length
    elif cbc_plaintext_size is not None:
        size = cbc_plaintext_size
    else:
        raise ValueError("an AES-CBC range needs the plaintext size")
    first, last = resolve(requested, size, header)
    return RangePlan(first, last, received_first, reaches_end, size)


def resolve(requested: ByteRange, size: int, header: str) -> tuple[int, int]:
    """First and last plaintext byte of ``requested`` in an object of ``size`` bytes."""
    if requested.suffix is not None:
        first, last = max(size - requested.suffix, 0), size - 1
    else:
        assert requested.first is not None
        first = requested.first
        last = size - 1 if requested.last is None else min(requested.last, size - 1)
    if first >= size or requested.suffix == 0:
        raise invalid_range(header, size)
    return first, last


class RangeDecryptor:
    """Decrypts fetched ciphertext and yields only the requested plaintext bytes.

    The output is unauthenticated (see the module docstring).
    """

    def __init__(self, content_key: ContentKey, plan: RangePlan, object_iv: bytes) -> None:
        self._plan = plan
        self._cbc = not content_key.suite.authenticated
        self._received = plan.fetched_from
        self._buffer = bytearray()
        if self._cbc:
            # a suffix request may start mid-block: skip to the next block, the IV
            self._skip = -plan.fetched_from % BLOCK
            aligned = plan.fetched_from + self._skip
            self._key = content_key.key
            self._iv = object_iv if aligned == 0 else None
            self._ctx: object | None = None
            self._plain_at = 0 if aligned == 0 else aligned + BLOCK
        else:
            self._stream = GcmLayout(content_key).ctr(plan.fetched_from)
            self._plain_at = plan.fetched_from
            self._ciphertext_end = plan.plaintext_size

    def update(self, data: bytes) -> bytes:
        if not self._cbc:
            end = self._ciphertext_end
            usable = data[: max(end - self._received, 0)]
            self._received += len(data)
            plain = self._stream.update(usable)
            return self._window(plain)
        self._received += len(data)
        if self._skip:
            dropped = min(self._skip, len(data))
            data, self._skip = data[dropped:], self._skip - dropped
        self._buffer += data
        if self._ctx is None:
            if self._iv is None:
                if len(self._buffer) < BLOCK:
                    return b""
                self._iv = bytes(self._buffer[:BLOCK])
                del self._buffer[:BLOCK]
            self._ctx = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        # hold back the last block: it may carry the padding
        keep = BLOCK if self._plan.reaches_end else 0
        whole = (len(self._buffer) - keep) // BLOCK * BLOCK
        if whole <= 0:
            return b""
        chunk = bytes(self._buffer[:whole])
        del self._buffer[:whole]
        return self._window(self._ctx.update(chunk))  # type: ignore[attr-defined]

    def finalize(self) -> bytes:
        if not self._cbc:
            return b""
        tail = b""
        if self._ctx is not None and self._buffer:
            if len(self._buffer) % BLOCK:
                raise AuthenticationError("AES-CBC ciphertext is not a whole number of blocks")
            tail = self._ctx.update(bytes(self._buffer))  # type: ignore[attr-defined]
            self._buffer.clear()
            if self._plan.reaches_end:
                tail = unpad(tail)
        return self._window(tail)

    def _window(self, plain: bytes) -> bytes:
        start = self._plain_at
        self._plain_at += len(plain)
        lo = max(self._plan.first - start, 0)
        hi = max(min(self._plan.last + 1 - start, len(plain)), 0)
        return plain[lo:hi] if lo < hi else b""


def cbc_plaintext_size(
    content_key: ContentKey, stored_size: int, last_blocks: bytes, object_iv: bytes
) -> int:
    """The plaintext size of an AES-CBC object, from its last one or two cipher blocks."""
    if stored_size < BLOCK or stored_size % BLOCK or len(last_blocks) not in (BLOCK, 2 * BLOCK):
        raise AuthenticationError("AES-CBC ciphertext is not a whole number of blocks")
    iv = object_iv if len(last_blocks) == BLOCK else last_blocks[:BLOCK]
    decryptor = Cipher(algorithms.AES(content_key.key), modes.CBC(iv)).decryptor()
    block = decryptor.update(last_blocks[-BLOCK:]) + decryptor.finalize()
    return stored_size - BLOCK + len(unpad(block))


def unpad(plain: bytes) -> bytes:
    """The last block(s) of an AES-CBC object without their PKCS#7 padding; a padding
    that does not check out means a wrong key or altered content."""
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(plain) + unpadder.finalize()
    except ValueError:
        raise AuthenticationError(
            "AES-CBC padding is invalid: wrong key or altered content"
        ) from None
