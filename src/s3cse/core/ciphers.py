"""Content ciphers as incremental objects, and suite 115's key derivation.

``update`` takes any chunking and returns the same bytes; ``finalize`` ends the
stream. Decryptors return plaintext from ``update`` *before* the tag is checked, so
the shells hold it back (memory or spool file) until ``finalize`` succeeds, unless the
caller chose delayed authentication.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import constant_time, hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import (
    AuthenticationError,
    CommitmentMismatchError,
    ContentTooLargeError,
    MetadataError,
    TagMismatchError,
)
from .suites import (
    COMMIT_IV,
    DATA_KEY_LENGTH,
    GCM_MAX_PLAINTEXT,
    LEGACY_DATA_KEY_LENGTHS,
    AlgorithmSuite,
)

_DERIVE_KEY_LABEL = b"DERIVEKEY"
_COMMIT_KEY_LABEL = b"COMMITKEY"


Random = Callable[[int], bytes]
"""A source of random bytes; ``os.urandom`` unless a test fixes it for known answers."""


def random_nonzero(length: int, rng: Random = os.urandom) -> bytes:
    """Fresh random bytes; an all-zero result means a broken RNG, so draw again."""
    for _ in range(8):
        value = rng(length)
        if any(value):
            return value
    raise RuntimeError("the random source keeps returning zeros")


def derive_keys(suite: AlgorithmSuite, data_key: bytes, message_id: bytes) -> tuple[bytes, bytes]:
    """HKDF-SHA512 (salt = message id): the content key and the key commitment."""

    def expand(label: bytes, length: int) -> bytes:
        hkdf = HKDF(
            algorithm=hashes.SHA512(), length=length, salt=message_id, info=suite.id_bytes + label
        )
        return hkdf.derive(data_key)

    return expand(_DERIVE_KEY_LABEL, DATA_KEY_LENGTH), expand(
        _COMMIT_KEY_LABEL, suite.commitment_length
    )


@dataclass(frozen=True)
class ContentKey:
    """Everything the content cipher needs: key, IV and AAD, already derived."""

    suite: AlgorithmSuite
    key: bytes
    iv: bytes
    aad: bytes = b""
    key_used: str | None = None
    """The master key that unwrapped the data key, where the keyring named it (KMS)."""

    def __repr__(self) -> str:  # never print the key
        return f"ContentKey(suite={self.suite.name})"


@dataclass(frozen=True)
class NewContent:
    """A content key for a new object and the values to store in its metadata."""

    content_key: ContentKey
    iv: bytes | None
    message_id: bytes | None
    commitment: bytes | None


def new_content_key(suite: AlgorithmSuite, data_key: bytes, rng: Random = os.urandom) -> NewContent:
    """Draw the per-object randomness (IV or message id) and derive the content key."""
    if suite.committing:
        message_id = random_nonzero(suite.message_id_length, rng)
        key, commitment = derive_keys(suite, data_key, message_id)
        return NewContent(
            ContentKey(suite, key, COMMIT_IV, suite.id_bytes), None, message_id, commitment
        )
    iv = random_nonzero(suite.iv_length, rng)
    return NewContent(ContentKey(suite, data_key, iv), iv, None, None)


def content_key_for_decrypt(
    suite: AlgorithmSuite,
    data_key: bytes,
    *,
    iv: bytes | None = None,
    message_id: bytes | None = None,
    commitment: bytes | None = None,
) -> ContentKey:
    """Rebuild the content key of a stored object, checking key commitment first."""
    lengths = (DATA_KEY_LENGTH,) if suite.committing else LEGACY_DATA_KEY_LENGTHS
    if len(data_key) not in lengths:
        allowed = " or ".join(map(str, lengths))
        raise AuthenticationError(
            f"unwrapped data key has {len(data_key)} bytes, expected {allowed} for {suite.name}"
        )
    if suite.committing:
        if message_id is None or len(message_id) != suite.message_id_length:
            raise MetadataError(f"message id must be {suite.message_id_length} bytes")
        if commitment is None or len(commitment) != suite.commitment_length:
            raise MetadataError(f"key commitment must be {suite.commitment_length} bytes")
        key, expected = derive_keys(suite, data_key, message_id)
        if not constant_time.bytes_eq(expected, commitment):
            raise CommitmentMismatchError(
                "key commitment does not match the data key: the object or its metadata was altered"
            )
        return ContentKey(suite, key, COMMIT_IV, suite.id_bytes)
    if iv is None or len(iv) != suite.iv_length:
        raise MetadataError(f"content IV must be {suite.iv_length} bytes for {suite.name}")
    return ContentKey(suite, data_key, iv)


class GcmEncryptor:
    """AES-GCM encryption; ``finalize`` returns the 16-byte tag to append."""

    def __init__(self, content_key: ContentKey) -> None:
        self._ctx = Cipher(algorithms.AES(content_key.key), modes.GCM(content_key.iv)).encryptor()
        if content_key.aad:
            self._ctx.authenticate_additional_data(content_key.aad)
        self.processed = 0

    def update(self, data: bytes | bytearray | memoryview) -> bytes:
        self.processed += len(data)
        if self.processed > GCM_MAX_PLAINTEXT:
            raise ContentTooLargeError(
                f"AES-GCM can encrypt at most {GCM_MAX_PLAINTEXT} bytes under one data key"
            )
        return self._ctx.update(data)

    def finalize(self) -> bytes:
        return self._ctx.finalize() + self._ctx.tag


class GcmDecryptor:
    """AES-GCM decryption of a stream whose last 16 bytes are the tag.

    Plaintext from ``update`` is unauthenticated until ``finalize`` returns.
    """

    def __init__(self, content_key: ContentKey) -> None:
        self._ctx = Cipher(algorithms.AES(content_key.key), modes.GCM(content_key.iv)).decryptor()
        if content_key.aad:
            self._ctx.authenticate_additional_data(content_key.aad)
        self._tag_length = content_key.suite.tag_length
        self._held = b""

    def update(self, data: bytes) -> bytes:
        data = self._held + data
        if len(data) <= self._tag_length:
            self._held = data
            return b""
        cut = len(data) - self._tag_length
        self._held = data[cut:]
        return self._ctx.update(data[:cut])

    def decrypt(self, data: bytes) -> bytes:
        """Decrypt ciphertext known to hold none of the tag (its caller knows where the
        tag starts), holding nothing back; unauthenticated until ``verify``."""
        return self._ctx.update(data)

    def finalize(self) -> bytes:
        if len(self._held) != self._tag_length:
            raise TagMismatchError("ciphertext is shorter than its authentication tag")
        return self.verify(self._held)

    def verify(self, tag: bytes) -> bytes:
        """Check the tag over everything decrypted."""
        try:
            return self._ctx.finalize_with_tag(tag)
        except InvalidTag:
            raise TagMismatchError(
                "authentication tag does not match: the content was altered"
            ) from None


class CbcDecryptor:
    """AES-CBC with PKCS#7 padding: legacy, unauthenticated."""

    def __init__(self, content_key: ContentKey) -> None:
        self._ctx = Cipher(algorithms.AES(content_key.key), modes.CBC(content_key.iv)).decryptor()
        self._unpadder = padding.PKCS7(128).unpadder()
        self._seen = 0

    def update(self, data: bytes) -> bytes:
        self._seen += len(data)
        return self._unpadder.update(self._ctx.update(data))

    def finalize(self) -> bytes:
        if self._seen == 0 or self._seen % 16:
            raise AuthenticationError("AES-CBC ciphertext is not a whole number of blocks")
        try:
            return self._unpadder.update(self._ctx.finalize()) + self._unpadder.finalize()
        except ValueError:
            raise AuthenticationError(
                "AES-CBC padding is invalid: wrong key or altered content"
            ) from None


ContentDecryptor = GcmDecryptor | CbcDecryptor


def content_decryptor(content_key: ContentKey) -> ContentDecryptor:
    if content_key.suite.authenticated:
        return GcmDecryptor(content_key)
    return CbcDecryptor(content_key)


def ciphertext_length(suite: AlgorithmSuite, plaintext_length: int) -> int:
    return plaintext_length + suite.tag_length


def plaintext_length(suite: AlgorithmSuite, ciphertext_len: int) -> int | None:
    """Plaintext size from the stored size; unknown for CBC (padding is inside)."""
    if suite.authenticated:
        return max(ciphertext_len - suite.tag_length, 0)
    return None
