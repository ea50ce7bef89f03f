"""The caching materials manager: reuse within limits, never across contexts or policies."""

from __future__ import annotations

from typing import Any

import pytest

from s3cse import CryptoConfig
from s3cse import errors as e
from s3cse.core.envelope import decrypt_bytes, encrypt_bytes
from s3cse.core.materials import DefaultMaterialsManager, EncryptionRequest
from s3cse.core.suites import GCM_HKDF_COMMIT, GCM_IV12_TAG16
from s3cse.keyrings import CachingMaterialsManager

from ..keys import aes_keyring


class CountingKeyring:
    """Wraps a real keyring and counts how often it is asked."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.encrypts, self.decrypts = inner, 0, 0

    def wrap_algorithms(self) -> frozenset[str]:
        return frozenset(self.inner.wrap_algorithms())

    def on_encrypt(self, request: Any) -> Any:
        self.encrypts += 1
        return self.inner.on_encrypt(request)

    def on_decrypt(self, request: Any) -> bytes:
        self.decrypts += 1
        data_key: bytes = self.inner.on_decrypt(request)
        return data_key


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def manager(**kwargs: Any) -> tuple[CachingMaterialsManager, CountingKeyring, Clock]:
    ring = CountingKeyring(aes_keyring(0))
    clock = Clock()
    return (
        CachingMaterialsManager(
            DefaultMaterialsManager(ring),
            clock=clock,  # type: ignore[arg-type]
            **kwargs,
        ),
        ring,
        clock,
    )


def test_one_data_key_serves_many_objects_each_with_its_own_content_key() -> None:
    cmm, ring, _ = manager(max_objects=100)
    config = CryptoConfig()
    sealed = [encrypt_bytes(b"same plaintext", cmm, config) for _ in range(100)]
    assert ring.encrypts == 1
    assert len({md["x-amz-3"] for _, md, _ in sealed}) == 1  # the same wrapped key
    assert len({md["x-amz-i"] for _, md, _ in sealed}) == 100  # a fresh message id each
    assert len({ct for ct, _, _ in sealed}) == 100  # so different ciphertexts
    for ciphertext, md, _ in sealed:
        assert decrypt_bytes(ciphertext, md, cmm, config) == b"same plaintext"
    assert ring.decrypts == 1 and cmm.stats.decrypt_hits == 99


def test_limits_on_objects_age_and_bytes() -> None:
    cmm, ring, clock = manager(max_objects=3, max_age=10, max_bytes=100)
    request = EncryptionRequest(GCM_HKDF_COMMIT, plaintext_length=40)
    for _ in range(3):
        cmm.encryption_materials(request)
    assert ring.encrypts == 2  # 40 + 40 fit in 100 bytes, the third 40 does not
    cmm.encryption_materials(EncryptionRequest(GCM_HKDF_COMMIT, plaintext_length=1))
    cmm.encryption_materials(EncryptionRequest(GCM_HKDF_COMMIT, plaintext_length=1))
    assert ring.encrypts == 2
    cmm.encryption_materials(EncryptionRequest(GCM_HKDF_COMMIT, plaintext_length=1))
    assert ring.encrypts == 3  # max_objects reached
    clock.now = 11
    cmm.encryption_materials(EncryptionRequest(GCM_HKDF_COMMIT, plaintext_length=1))
    assert ring.encrypts == 4  # max_age passed
    cmm.encryption_materials(EncryptionRequest(GCM_HKDF_COMMIT))  # unknown size, max_bytes set
    assert ring.encrypts == 5


def test_different_contexts_never_share_a_key() -> None:
    cmm, ring, _ = manager()
    a = cmm.encryption_materials(EncryptionRequest(GCM_HKDF_COMMIT, {"tenant": "a"}))
    b = cmm.encryption_materials(EncryptionRequest(GCM_HKDF_COMMIT, {"tenant": "b"}))
    assert ring.encrypts == 2 and a.data_key != b.data_key


def test_non_committing_suite_is_refused_unless_forced() -> None:
    cmm, _, _ = manager()
    with pytest.raises(e.ConfigurationError, match="no key commitment"):
        cmm.encryption_materials(EncryptionRequest(GCM_IV12_TAG16))
    forced, ring, _ = manager(allow_non_committing=True)
    forced.encryption_materials(EncryptionRequest(GCM_IV12_TAG16))
    forced.encryption_materials(EncryptionRequest(GCM_IV12_TAG16))
    assert ring.encrypts == 1


def test_decrypt_cache_keys_on_the_whole_request() -> None:
    """A cached data key is never handed to a request that would have been refused."""
    cmm, ring, _ = manager()
    ciphertext, md, _ = encrypt_bytes(b"x", cmm, CryptoConfig())
    decrypt_bytes(ciphertext, md, cmm, CryptoConfig())
    renamed = dict(md, **{"x-amz-m": '{"key":"other"}'})
    assert decrypt_bytes(ciphertext, renamed, cmm, CryptoConfig()) == b"x"
    assert ring.decrypts == 2  # not served from the cache: the keyring decided again
    legacy = CryptoConfig(legacy=True)
    decrypt_bytes(ciphertext, md, cmm, legacy)
    assert ring.decrypts == 3  # another policy is another request


def test_decrypt_cache_is_bounded_and_clearable() -> None:
    cmm, ring, _ = manager(decrypt_entries=2)
    sealed = [
        encrypt_bytes(b"x", DefaultMaterialsManager(aes_keyring(0)), CryptoConfig())
        for _ in range(3)
    ]
    for ciphertext, md, _ in sealed + sealed[-1:]:
        decrypt_bytes(ciphertext, md, cmm, CryptoConfig())
    assert ring.decrypts == 3
    decrypt_bytes(sealed[0][0], sealed[0][1], cmm, CryptoConfig())
    assert ring.decrypts == 4  # the oldest was evicted
    cmm.clear()
    decrypt_bytes(sealed[0][0], sealed[0][1], cmm, CryptoConfig())
    assert ring.decrypts == 5


def test_bad_settings() -> None:
    with pytest.raises(e.ConfigurationError):
        CachingMaterialsManager(aes_keyring(0), max_objects=0)
