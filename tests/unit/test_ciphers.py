"""Content ciphers against cryptography's one-shot primitives, and suite 115's HKDF."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from s3cse.core import ciphers
from s3cse.core.ciphers import (
    CbcDecryptor,
    ContentKey,
    GcmDecryptor,
    GcmEncryptor,
    content_key_for_decrypt,
    derive_keys,
    new_content_key,
)
from s3cse.core.suites import CBC_IV16, GCM_HKDF_COMMIT, GCM_IV12_TAG16, GCM_MAX_PLAINTEXT
from s3cse.errors import (
    AuthenticationError,
    CommitmentMismatchError,
    ContentTooLargeError,
    MetadataError,
    TagMismatchError,
)

PLAINTEXT = b"The quick brown fox jumps over the lazy dog. " * 37  # not a block multiple


def hkdf_sha512_rfc5869(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA512 written out with hmac, independent of cryptography's HKDF."""
    prk = hmac.new(salt, ikm, hashlib.sha512).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha512).digest()
        out += block
        counter += 1
    return out[:length]


def encrypt_all(key: ContentKey, data: bytes, chunk: int) -> bytes:
    enc = GcmEncryptor(key)
    out = b"".join(enc.update(data[i : i + chunk]) for i in range(0, len(data), chunk))
    return out + enc.finalize()


def decrypt_all(key: ContentKey, data: bytes, chunk: int) -> bytes:
    dec = GcmDecryptor(key)
    out = b"".join(dec.update(data[i : i + chunk]) for i in range(0, len(data), chunk))
    return out + dec.finalize()


# ---------------------------------------------------------------- key derivation


def test_derive_keys_matches_independent_hkdf() -> None:
    data_key = os.urandom(32)
    message_id = os.urandom(28)
    content, commitment = derive_keys(GCM_HKDF_COMMIT, data_key, message_id)
    assert len(content) == 32 and len(commitment) == 28
    assert content == hkdf_sha512_rfc5869(data_key, message_id, b"\x00\x73DERIVEKEY", 32)
    assert commitment == hkdf_sha512_rfc5869(data_key, message_id, b"\x00\x73COMMITKEY", 28)
    expected = HKDF(hashes.SHA512(), 32, salt=message_id, info=b"\x00\x73DERIVEKEY")
    assert content == expected.derive(data_key)
    assert content != data_key


def test_derive_keys_pinned_vector() -> None:
    # Pinned outputs (computed once with the hmac construction above) guard against drift.
    data_key = bytes(range(32))
    message_id = bytes(range(100, 128))
    content, commitment = derive_keys(GCM_HKDF_COMMIT, data_key, message_id)
    assert content.hex() == "95e0b2ff3f50200a0e3015f67f680fa0e4bce4c2e63c817f1ff465eb4b974f85"
    assert commitment.hex() == "2d59a480d136f5982791c93a93d760ceade5011ccf465dbfc303c597"


def test_derive_keys_depend_on_message_id() -> None:
    data_key = os.urandom(32)
    a = derive_keys(GCM_HKDF_COMMIT, data_key, b"\x01" * 28)
    b = derive_keys(GCM_HKDF_COMMIT, data_key, b"\x02" * 28)
    assert a[0] != b[0] and a[1] != b[1]


def test_new_content_key_115() -> None:
    data_key = os.urandom(32)
    new = new_content_key(GCM_HKDF_COMMIT, data_key)
    assert new.iv is None
    assert new.message_id is not None and len(new.message_id) == 28
    assert new.commitment is not None
    key, commitment = derive_keys(GCM_HKDF_COMMIT, data_key, new.message_id)
    assert new.content_key.key == key
    assert new.commitment == commitment
    assert new.content_key.iv == b"\x01" * 12
    assert new.content_key.aad == b"\x00\x73"
    assert "key=" not in repr(new.content_key)


def test_new_content_key_114() -> None:
    data_key = os.urandom(32)
    new = new_content_key(GCM_IV12_TAG16, data_key)
    assert new.iv is not None and len(new.iv) == 12
    assert new.message_id is None and new.commitment is None
    assert new.content_key.key == data_key
    assert new.content_key.iv == new.iv
    assert new.content_key.aad == b""
    assert new_content_key(GCM_IV12_TAG16, data_key).iv != new.iv


def test_random_nonzero_redraws_zero() -> None:
    draws = iter([bytes(12), bytes(12), b"\x05" * 12])
    assert ciphers.random_nonzero(12, lambda n: next(draws)) == b"\x05" * 12


def test_random_nonzero_gives_up_on_a_broken_source() -> None:
    with pytest.raises(RuntimeError, match="zeros"):
        ciphers.random_nonzero(12, bytes)


# ---------------------------------------------------------------- content key for decrypt


def test_content_key_for_decrypt_115_ok() -> None:
    data_key = os.urandom(32)
    new = new_content_key(GCM_HKDF_COMMIT, data_key)
    key = content_key_for_decrypt(
        GCM_HKDF_COMMIT, data_key, message_id=new.message_id, commitment=new.commitment
    )
    assert key == new.content_key


def test_content_key_for_decrypt_wrong_commitment() -> None:
    data_key = os.urandom(32)
    new = new_content_key(GCM_HKDF_COMMIT, data_key)
    assert new.commitment is not None
    bad = bytes([new.commitment[0] ^ 1]) + new.commitment[1:]
    with pytest.raises(CommitmentMismatchError):
        content_key_for_decrypt(
            GCM_HKDF_COMMIT, data_key, message_id=new.message_id, commitment=bad
        )
    with pytest.raises(CommitmentMismatchError):
        content_key_for_decrypt(
            GCM_HKDF_COMMIT, os.urandom(32), message_id=new.message_id, commitment=new.commitment
        )


@pytest.mark.parametrize(
    ("message_id", "commitment"),
    [
        (None, b"c" * 28),
        (b"m" * 27, b"c" * 28),
        (b"m" * 28, None),
        (b"m" * 28, b"c" * 29),
        (b"m" * 29, b"c" * 28),
        (b"m" * 28, b""),
    ],
)
def test_content_key_for_decrypt_115_lengths(
    message_id: bytes | None, commitment: bytes | None
) -> None:
    with pytest.raises(MetadataError):
        content_key_for_decrypt(
            GCM_HKDF_COMMIT, os.urandom(32), message_id=message_id, commitment=commitment
        )


@pytest.mark.parametrize(
    ("suite", "iv"),
    [(GCM_IV12_TAG16, None), (GCM_IV12_TAG16, b"i" * 16), (CBC_IV16, b"i" * 12), (CBC_IV16, None)],
)
def test_content_key_for_decrypt_iv_lengths(suite: object, iv: bytes | None) -> None:
    with pytest.raises(MetadataError):
        content_key_for_decrypt(suite, os.urandom(32), iv=iv)  # type: ignore[arg-type]


@pytest.mark.parametrize("length", [0, 15, 31, 33])
def test_content_key_for_decrypt_data_key_length(length: int) -> None:
    with pytest.raises(AuthenticationError):
        content_key_for_decrypt(GCM_IV12_TAG16, os.urandom(length), iv=b"i" * 12)


@pytest.mark.parametrize("length", [16, 24])
def test_v3_takes_only_256_bit_data_keys(length: int) -> None:
    new = new_content_key(GCM_HKDF_COMMIT, os.urandom(32))
    with pytest.raises(AuthenticationError, match="expected 32"):
        content_key_for_decrypt(
            GCM_HKDF_COMMIT,
            os.urandom(length),
            message_id=new.message_id,
            commitment=bytes(GCM_HKDF_COMMIT.commitment_length),
        )


@pytest.mark.parametrize("length", [16, 24])
def test_legacy_suites_read_aes_128_and_192_content_keys(length: int) -> None:
    """PHP writes 128- and 192-bit content keys (``KeySize``), as did Java v1 under a
    limited crypto policy: AES-GCM and AES-CBC objects of either read byte for byte."""
    data_key, iv12, iv16 = os.urandom(length), os.urandom(12), os.urandom(16)
    gcm = content_key_for_decrypt(GCM_IV12_TAG16, data_key, iv=iv12)
    assert decrypt_all(gcm, AESGCM(data_key).encrypt(iv12, PLAINTEXT, None), 1000) == PLAINTEXT
    assert cbc_decrypt(data_key, iv16, cbc_encrypt(data_key, iv16, PLAINTEXT), 999) == PLAINTEXT


def test_content_key_for_decrypt_114() -> None:
    data_key, iv = os.urandom(32), os.urandom(12)
    key = content_key_for_decrypt(GCM_IV12_TAG16, data_key, iv=iv)
    assert (key.key, key.iv, key.aad) == (data_key, iv, b"")


# ---------------------------------------------------------------- AES-GCM


@pytest.mark.parametrize("chunk", [1, 7, 16, 1000, 10**6])
def test_gcm_114_matches_one_shot(chunk: int) -> None:
    data_key, iv = os.urandom(32), os.urandom(12)
    key = content_key_for_decrypt(GCM_IV12_TAG16, data_key, iv=iv)
    expected = AESGCM(data_key).encrypt(iv, PLAINTEXT, None)
    assert encrypt_all(key, PLAINTEXT, chunk) == expected
    assert len(expected) == len(PLAINTEXT) + 16
    assert decrypt_all(key, expected, chunk) == PLAINTEXT


@pytest.mark.parametrize("chunk", [1, 13, 4096])
def test_gcm_115_matches_one_shot(chunk: int) -> None:
    data_key = os.urandom(32)
    new = new_content_key(GCM_HKDF_COMMIT, data_key)
    assert new.message_id is not None
    derived, _ = derive_keys(GCM_HKDF_COMMIT, data_key, new.message_id)
    expected = AESGCM(derived).encrypt(b"\x01" * 12, PLAINTEXT, b"\x00\x73")
    assert encrypt_all(new.content_key, PLAINTEXT, chunk) == expected
    # Without the AAD the tag differs: the AAD really is bound.
    assert AESGCM(derived).encrypt(b"\x01" * 12, PLAINTEXT, None) != expected
    assert decrypt_all(new.content_key, expected, chunk) == PLAINTEXT


def test_gcm_empty_plaintext_is_just_the_tag() -> None:
    data_key, iv = os.urandom(32), os.urandom(12)
    key = content_key_for_decrypt(GCM_IV12_TAG16, data_key, iv=iv)
    enc = GcmEncryptor(key)
    out = enc.finalize()
    assert out == AESGCM(data_key).encrypt(iv, b"", None)
    assert len(out) == 16
    assert decrypt_all(key, out, 5) == b""


def gcm_sample() -> tuple[ContentKey, bytes]:
    data_key, iv = os.urandom(32), os.urandom(12)
    key = content_key_for_decrypt(GCM_IV12_TAG16, data_key, iv=iv)
    return key, AESGCM(data_key).encrypt(iv, PLAINTEXT, None)


@pytest.mark.parametrize("position", [0, 100, -16, -1])
def test_gcm_decrypt_flipped_byte(position: int) -> None:
    key, blob = gcm_sample()
    data = bytearray(blob)
    data[position] ^= 0x80
    with pytest.raises(TagMismatchError):
        decrypt_all(key, bytes(data), 64)


@pytest.mark.parametrize("keep", [0, 1, 15, 16, len(PLAINTEXT), len(PLAINTEXT) + 15])
def test_gcm_decrypt_truncated(keep: int) -> None:
    key, blob = gcm_sample()
    with pytest.raises(TagMismatchError):
        decrypt_all(key, blob[:keep], 64)


def test_gcm_decrypt_extra_byte() -> None:
    key, blob = gcm_sample()
    with pytest.raises(TagMismatchError):
        decrypt_all(key, blob + b"\x00", 64)


def test_gcm_decrypt_wrong_aad() -> None:
    data_key = os.urandom(32)
    new = new_content_key(GCM_HKDF_COMMIT, data_key)
    blob = encrypt_all(new.content_key, PLAINTEXT, 100)
    no_aad = ContentKey(GCM_HKDF_COMMIT, new.content_key.key, new.content_key.iv, b"")
    with pytest.raises(TagMismatchError):
        decrypt_all(no_aad, blob, 100)


def test_gcm_encryptor_limit() -> None:
    key = content_key_for_decrypt(GCM_IV12_TAG16, os.urandom(32), iv=os.urandom(12))
    enc = GcmEncryptor(key)
    enc.processed = GCM_MAX_PLAINTEXT - 10
    assert len(enc.update(b"x" * 10)) == 10  # exactly at the limit is allowed
    assert enc.processed == 2**36 - 32
    with pytest.raises(ContentTooLargeError):
        enc.update(b"x")


def test_gcm_encryptor_limit_in_one_update() -> None:
    key = content_key_for_decrypt(GCM_IV12_TAG16, os.urandom(32), iv=os.urandom(12))
    enc = GcmEncryptor(key)
    enc.processed = 2**36 - 32 - 100
    with pytest.raises(ContentTooLargeError):
        enc.update(b"y" * 101)


# ---------------------------------------------------------------- AES-CBC (legacy)


def cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(padded) + enc.finalize()


def cbc_raw(key: bytes, iv: bytes, blocks: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(blocks) + enc.finalize()


def cbc_decrypt(key: bytes, iv: bytes, data: bytes, chunk: int) -> bytes:
    dec = CbcDecryptor(content_key_for_decrypt(CBC_IV16, key, iv=iv))
    out = b"".join(dec.update(data[i : i + chunk]) for i in range(0, len(data), chunk))
    return out + dec.finalize()


@pytest.mark.parametrize("plaintext", [b"", b"a", b"x" * 16, PLAINTEXT])
@pytest.mark.parametrize("chunk", [1, 5, 16, 4096])
def test_cbc_decrypts_cryptography_output(plaintext: bytes, chunk: int) -> None:
    key, iv = os.urandom(32), os.urandom(16)
    blob = cbc_encrypt(key, iv, plaintext)
    assert cbc_decrypt(key, iv, blob, chunk) == plaintext


@pytest.mark.parametrize(
    "last_block",
    [
        b"A" * 15 + b"\x00",
        b"A" * 15 + b"\x11",
        b"A" * 14 + b"\x01\x02",
        b"A" * 13 + b"\x02\x03\x03",
    ],
)
def test_cbc_bad_padding(last_block: bytes) -> None:
    key, iv = os.urandom(32), os.urandom(16)
    blob = cbc_raw(key, iv, b"B" * 16 + last_block)
    with pytest.raises(AuthenticationError, match="padding"):
        cbc_decrypt(key, iv, blob, 7)


@pytest.mark.parametrize("length", [0, 15, 17])
def test_cbc_not_whole_blocks(length: int) -> None:
    key, iv = os.urandom(32), os.urandom(16)
    blob = cbc_encrypt(key, iv, PLAINTEXT)[:length]
    with pytest.raises(AuthenticationError):
        cbc_decrypt(key, iv, blob, 4)


def test_content_decryptor_dispatch_and_lengths() -> None:
    gcm = content_key_for_decrypt(GCM_IV12_TAG16, os.urandom(32), iv=os.urandom(12))
    cbc = content_key_for_decrypt(CBC_IV16, os.urandom(32), iv=os.urandom(16))
    assert isinstance(ciphers.content_decryptor(gcm), GcmDecryptor)
    assert isinstance(ciphers.content_decryptor(cbc), CbcDecryptor)
    assert ciphers.ciphertext_length(GCM_HKDF_COMMIT, 100) == 116
    assert ciphers.plaintext_length(GCM_IV12_TAG16, 116) == 100
    assert ciphers.plaintext_length(GCM_IV12_TAG16, 3) == 0
    assert ciphers.plaintext_length(CBC_IV16, 112) is None
