"""Content algorithm suites and commitment policies, as plain data.

The suite decides the content cipher, the lengths of IV, tag and message id, and
whether the suite commits to its key. Everything else in s3cse looks these up here
instead of repeating constants.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

GCM_MAX_PLAINTEXT = 2**36 - 32
"""AES-GCM's limit for one key and IV (NIST SP 800-38D), in bytes."""


@dataclass(frozen=True)
class AlgorithmSuite:
    id: int
    name: str
    cipher_name: str
    """The value of V2's ``x-amz-cek-alg``."""
    iv_length: int
    tag_length: int
    committing: bool
    legacy: bool
    message_id_length: int = 0
    commitment_length: int = 0

    @property
    def id_bytes(self) -> bytes:
        return self.id.to_bytes(2, "big")

    @property
    def id_string(self) -> str:
        return str(self.id)

    @property
    def authenticated(self) -> bool:
        return self.tag_length > 0

    @property
    def wrap_binding(self) -> bytes:
        """What raw keyrings bind a wrapped key to (AES-GCM AAD, RSA pseudo-key suffix)."""
        return (self.id_string if self.committing else GCM_IV12_TAG16.cipher_name).encode()

    @property
    def kms_context_value(self) -> str:
        """The reserved ``aws:x-amz-cek-alg`` value stored in the KMS encryption context."""
        return self.id_string if self.committing else self.cipher_name

    @property
    def max_plaintext(self) -> int | None:
        return GCM_MAX_PLAINTEXT if self.authenticated else None


CBC_IV16 = AlgorithmSuite(
    id=0x0070,
    name="ALG_AES_256_CBC_IV16_NO_KDF",
    cipher_name="AES/CBC/PKCS5Padding",
    iv_length=16,
    tag_length=0,
    committing=False,
    legacy=True,
)
GCM_IV12_TAG16 = AlgorithmSuite(
    id=0x0072,
    name="ALG_AES_256_GCM_IV12_TAG16_NO_KDF",
    cipher_name="AES/GCM/NoPadding",
    iv_length=12,
    tag_length=16,
    committing=False,
    legacy=False,
)
GCM_HKDF_COMMIT = AlgorithmSuite(
    id=0x0073,
    name="ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
    cipher_name="115",
    iv_length=12,
    tag_length=16,
    committing=True,
    legacy=False,
    message_id_length=28,
    commitment_length=28,
)

ALL_SUITES = (CBC_IV16, GCM_IV12_TAG16, GCM_HKDF_COMMIT)
COMMIT_IV = b"\x01" * 12
"""Suite 115 uses a fixed IV: the per-object message id makes the derived key unique."""

DATA_KEY_LENGTH = 32
LEGACY_DATA_KEY_LENGTHS = (16, 24, 32)
"""Content keys the V1/V2 suites are read with: AES-128 and AES-192 keys come from real
writers (PHP's ``KeySize``, Java under a limited crypto policy). Suite 115 derives its
key from a 256-bit data key and takes nothing else; s3cse writes 256-bit keys only."""


def suite_for_v2_cipher(cek_alg: str) -> AlgorithmSuite | None:
    for suite in (CBC_IV16, GCM_IV12_TAG16):
        if suite.cipher_name == cek_alg:
            return suite
    return None


class CommitmentPolicy(str, enum.Enum):
    FORBID_ENCRYPT_ALLOW_DECRYPT = "FORBID_ENCRYPT_ALLOW_DECRYPT"
    REQUIRE_ENCRYPT_ALLOW_DECRYPT = "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
    REQUIRE_ENCRYPT_REQUIRE_DECRYPT = "REQUIRE_ENCRYPT_REQUIRE_DECRYPT"

    @property
    def encrypt_requires_commitment(self) -> bool:
        return self is not CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT

    @property
    def decrypt_requires_commitment(self) -> bool:
        return self is CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT


class FormatVersion(enum.IntEnum):
    V1 = 1
    V2 = 2
    V3 = 3

    @classmethod
    def parse(cls, text: str | int) -> FormatVersion:
        value = str(text).lower().lstrip("v")
        try:
            return cls(int(value))
        except ValueError:
            raise ValueError(f"unknown format {text!r}: choose v3 or v2") from None


def write_suite(fmt: FormatVersion) -> AlgorithmSuite:
    """The content suite s3cse writes for a format (V1/CBC is never written)."""
    if fmt is FormatVersion.V3:
        return GCM_HKDF_COMMIT
    if fmt is FormatVersion.V2:
        return GCM_IV12_TAG16
    raise ValueError("s3cse writes formats v3 and v2 only; v1 (AES-CBC) is read-only")
