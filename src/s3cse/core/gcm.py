"""AES-GCM split into independent parts, for parallel uploads, downloads and ranges.

GCM is CTR-mode encryption plus a GHASH over the ciphertext. Both split cleanly:

* CTR: the ciphertext of the bytes starting at block ``i`` is AES-CTR with counter
  ``J0 + 1 + i``, so any block-aligned part can be encrypted or decrypted on its own.
* GHASH is linear in GF(2^128): the hash of the whole stream is the sum of each part's
  hash multiplied by ``H`` to the power of the number of blocks that follow it.

Each part's hash is computed by OpenSSL at full speed: a GCM encryption under the
same key with the part's ciphertext given as associated data yields
``GHASH(part || lengths) xor E(J0')``, from which the part's contribution follows with
one block of arithmetic. Only the combination (a few multiplications per part) runs
in Python. The result is byte-identical to a one-shot AES-GCM encryption.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import constant_time
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .ciphers import ContentKey
from .errors import ContentTooLargeError, TagMismatchError
from .suites import GCM_MAX_PLAINTEXT

BLOCK = 16
_R = 0xE1 << 120
_MASK32 = 0xFFFFFFFF
_PROBE_IV = b"\x00" * 11 + b"\x01"
"""IV of the internal GCM runs that only compute hashes; their output never leaves."""


def gf_mult(x: int, y: int) -> int:
    """Multiplication in GF(2^128) with GCM's bit order (NIST SP 800-38D, algorithm 1)."""
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ _R if v & 1 else v >> 1
    return z


def gf_pow(h: int, n: int) -> int:
    result, base = 1 << 127, h  # 1 << 127 is the field's one in GCM's bit order
    while n:
        if n & 1:
            result = gf_mult(result, base)
        base = gf_mult(base, base)
        n >>= 1
    return result


def blocks(length: int) -> int:
    return -(-length // BLOCK)


def _int(block: bytes) -> int:
    return int.from_bytes(block, "big")


@dataclass(frozen=True)
class PartHash:
    """One part's GHASH contribution before shifting: ``sum X_i H^(n-i+2)``."""

    value: int
    length: int
    """The part's byte length (all parts but the last are whole blocks)."""


class GcmLayout:
    """The arithmetic of one GCM stream: counters, hash key, tag mask."""

    def __init__(self, content_key: ContentKey) -> None:
        if len(content_key.iv) != 12:
            raise ValueError("parallel GCM needs a 12-byte IV")
        self.content_key = content_key
        ecb = Cipher(algorithms.AES(content_key.key), modes.ECB()).encryptor()
        self._j0 = content_key.iv + b"\x00\x00\x00\x01"
        masks = ecb.update(b"\x00" * BLOCK + self._j0 + _PROBE_IV + b"\x00\x00\x00\x01")
        self.h = _int(masks[:16])
        self._tag_mask = _int(masks[16:32])
        self._probe_mask = _int(masks[32:48])
        self._powers: dict[int, int] = {}
        self._inverse: int | None = None

    def counter_block(self, block_index: int) -> bytes:
        """The CTR counter block of plaintext block ``block_index`` (0-based)."""
        low = (1 + 1 + block_index) & _MASK32
        if block_index < 0 or block_index > (GCM_MAX_PLAINTEXT // BLOCK):
            raise ContentTooLargeError("offset beyond AES-GCM's limit for one key and IV")
        return self.content_key.iv + low.to_bytes(4, "big")

    def part_iv(self, block_index: int) -> tuple[bytes, bytes]:
        """A 16-byte IV under which AES-GCM encrypts from plaintext block ``block_index``
        with this stream's own counters, and its pre-counter block ``J0'``.

        A GCM IV that is not 12 bytes long is hashed: ``J0' = ((IV' H) xor L) H`` for a
        one-block IV (``L``, its length block, is 128). That is linear, so the IV whose
        ``J0'`` is the counter before the part's first one follows from ``H``'s inverse.
        (``H`` is zero with probability 2^-128, and then has none.)
        """
        self.counter_block(block_index)  # within AES-GCM's limit
        j0 = self.content_key.iv + ((1 + block_index) & _MASK32).to_bytes(4, "big")
        if self._inverse is None:
            self._inverse = gf_pow(self.h, (1 << 128) - 2)
        iv = gf_mult(gf_mult(_int(j0), self._inverse) ^ (BLOCK * 8), self._inverse)
        return iv.to_bytes(BLOCK, "big"), j0

    def encrypt_block(self, block: bytes) -> bytes:
        ecb = Cipher(algorithms.AES(self.content_key.key), modes.ECB()).encryptor()
        return ecb.update(block)

    def ctr(self, byte_offset: int) -> CtrStream:
        """A keystream positioned at ``byte_offset`` of the plaintext (any offset)."""
        return CtrStream(self, byte_offset)

    def hasher(self) -> PartHasher:
        return PartHasher(self)

    def _power(self, n: int) -> int:
        if n not in self._powers:
            if len(self._powers) > 64:
                self._powers.clear()
            self._powers[n] = gf_pow(self.h, n)
        return self._powers[n]

    def aad_hash(self, aad: bytes) -> PartHash:
        y = 0
        padded = aad + b"\x00" * (-len(aad) % BLOCK)
        for i in range(0, len(padded), BLOCK):
            y = gf_mult(y ^ _int(padded[i : i + BLOCK]), self.h)
        # y = sum a_i H^(n-i+1); a part hash carries one more factor of H
        return PartHash(gf_mult(y, self.h), len(aad))

    def tag(self, parts: Sequence[PartHash]) -> bytes:
        """The GCM tag of a stream whose ciphertext is ``parts`` in order."""
        aad = self.content_key.aad
        segments = [self.aad_hash(aad), *parts] if aad else list(parts)
        total = sum(p.length for p in parts)
        for part in parts[:-1]:
            if part.length % BLOCK:
                raise ValueError("every part but the last must be a whole number of blocks")
        length_block = ((len(aad) * 8) << 64) | (total * 8)
        acc = gf_mult(length_block, self.h)
        power = 1 << 127
        for segment in reversed(segments):
            acc ^= gf_mult(segment.value, power)
            power = gf_mult(power, self._power(blocks(segment.length)))
        return (acc ^ self._tag_mask).to_bytes(16, "big")

    def verify(self, parts: Sequence[PartHash], stored_tag: bytes) -> None:
        if not constant_time.bytes_eq(self.tag(parts), stored_tag):
            raise TagMismatchError("authentication tag does not match: the content was altered")


class CtrStream:
    """AES-CTR keystream from any byte offset: GCM's encryption, and its decryption."""

    def __init__(self, layout: GcmLayout, byte_offset: int) -> None:
        block, skip = divmod(byte_offset, BLOCK)
        cipher = Cipher(
            algorithms.AES(layout.content_key.key), modes.CTR(layout.counter_block(block))
        )
        self._ctx = cipher.encryptor()
        if skip:
            self._ctx.update(b"\x00" * skip)

    def update(self, data: bytes | memoryview) -> bytes:
        return self._ctx.update(data)


class PartHasher:
    """GHASH contribution of a run of ciphertext, fed in any chunking, computed by OpenSSL."""

    def __init__(self, layout: GcmLayout) -> None:
        self._layout = layout
        self._ctx = Cipher(algorithms.AES(layout.content_key.key), modes.GCM(_PROBE_IV)).encryptor()
        self.length = 0

    def update(self, ciphertext: bytes | memoryview) -> None:
        self._ctx.authenticate_additional_data(ciphertext)
        self.length += len(ciphertext)

    def finalize(self) -> PartHash:
        self._ctx.finalize()
        probe = _int(self._ctx.tag) ^ self._layout._probe_mask
        length_block = (self.length * 8) << 64
        return PartHash(probe ^ gf_mult(length_block, self._layout.h), self.length)


class PartEncryptor:
    """Encrypts one block-aligned part of the plaintext and hashes its ciphertext, in
    one pass of OpenSSL's AES-GCM (``GcmLayout.part_iv``): about twice as fast as
    AES-CTR followed by a separate GHASH."""

    def __init__(self, layout: GcmLayout, byte_offset: int) -> None:
        if byte_offset % BLOCK:
            raise ValueError("parts must start on a 16-byte boundary")
        self._layout = layout
        iv, self._j0 = layout.part_iv(byte_offset // BLOCK)
        self._ctx = Cipher(algorithms.AES(layout.content_key.key), modes.GCM(iv)).encryptor()
        self._length = 0

    def update(self, plaintext: bytes | memoryview) -> bytes:
        self._length += len(plaintext)
        return self._ctx.update(plaintext)

    def finalize(self) -> PartHash:
        """The part's hash, from the run's tag: ``E(J0') xor GHASH(C || lengths)``."""
        self._ctx.finalize()
        layout = self._layout
        masked = _int(self._ctx.tag) ^ _int(layout.encrypt_block(self._j0))
        return PartHash(masked ^ gf_mult(self._length * 8, layout.h), self._length)


class PartDecryptor:
    """Decrypts one block-aligned run of ciphertext and hashes it for the final check."""

    def __init__(self, layout: GcmLayout, byte_offset: int) -> None:
        if byte_offset % BLOCK:
            raise ValueError("parts must start on a 16-byte boundary")
        self._ctr = layout.ctr(byte_offset)
        self._hasher = layout.hasher()

    def update(self, ciphertext: bytes) -> bytes:
        self._hasher.update(ciphertext)
        return self._ctr.update(ciphertext)

    def finalize(self) -> PartHash:
        return self._hasher.finalize()
