"""The async entry points of the materials layer and the async body, without a network:
each must give the very answers of its sync twin, from the same code."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from s3cse import MultiKeyring
from s3cse import errors as e
from s3cse.aio import AsyncDecryptedBody
from s3cse.client import DecryptedBody
from s3cse.core import reads, requests
from s3cse.core.ciphers import GcmEncryptor, content_decryptor
from s3cse.core.config import CryptoConfig
from s3cse.core.envelope import encrypt_bytes, seal
from s3cse.core.materials import DecryptionRequest, DefaultMaterialsManager, EncryptionRequest
from s3cse.core.metadata import parse
from s3cse.core.sidecars import Kind
from s3cse.core.suites import GCM_HKDF_COMMIT, FormatVersion
from s3cse.keyrings import AsyncKmsKeyring, CachingMaterialsManager, KmsKeyring

from ..keys import aes_keyring, rsa_keyring
from .test_keyrings import FakeKms, client_error, kms_md

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class AsyncFakeKms:
    """FakeKms with coroutine methods, as an aiobotocore client has."""

    def __init__(self, error: Exception | None = None) -> None:
        self.sync = FakeKms(error)
        self.calls = self.sync.calls

    async def decrypt(self, **params: Any) -> dict[str, Any]:
        return self.sync.decrypt(**params)

    async def generate_data_key(self, **params: Any) -> dict[str, Any]:
        return self.sync.generate_data_key(**params)


# ---------------------------------------------------------------- keyrings


def test_async_kms_keyring_makes_the_sync_keyrings_calls() -> None:
    sync_fake, async_fake = FakeKms(), AsyncFakeKms()
    sync_ring = KmsKeyring("alias/k", kms_client=sync_fake)
    async_ring = AsyncKmsKeyring("alias/k", kms_client=async_fake)
    request = EncryptionRequest(GCM_HKDF_COMMIT, {"team": "blue"})
    assert run(async_ring.aon_encrypt(request)) == sync_ring.on_encrypt(request)
    md = kms_md(GCM_HKDF_COMMIT, {"aws:x-amz-cek-alg": "115", "team": "blue"})
    decrypt = DecryptionRequest(md, {"team": "blue"})
    assert run(async_ring.aon_decrypt(decrypt)) == sync_ring.on_decrypt(decrypt)
    assert async_fake.calls == sync_fake.calls
    # the pure checks run before KMS is called, as in the sync keyring
    with pytest.raises(e.EncryptionContextMismatchError):
        run(async_ring.aon_decrypt(DecryptionRequest(md, {"team": "red"})))
    assert len(async_fake.calls) == 2


def test_async_kms_keyring_translates_errors_and_refuses_sync_use() -> None:
    keyring = AsyncKmsKeyring("alias/k", kms_client=AsyncFakeKms(client_error("DisabledException")))
    md = kms_md(GCM_HKDF_COMMIT, {"aws:x-amz-cek-alg": "115"})
    with pytest.raises(e.KmsKeyUnavailableError, match="alias/k"):
        run(keyring.aon_decrypt(DecryptionRequest(md)))
    with pytest.raises(e.ConfigurationError, match="AsyncEncryptionClient"):
        keyring.on_decrypt(DecryptionRequest(md))


def test_sync_kms_keyring_awaited_runs_on_a_worker_thread() -> None:
    seen: list[int] = []

    class Recording(FakeKms):
        def generate_data_key(self, **params: Any) -> dict[str, Any]:
            seen.append(threading.get_ident())
            return super().generate_data_key(**params)

    keyring = KmsKeyring("alias/k", kms_client=Recording())

    async def scenario() -> int:
        await keyring.aon_encrypt(EncryptionRequest(GCM_HKDF_COMMIT))
        return threading.get_ident()

    loop_thread = run(scenario())
    assert seen and seen[0] != loop_thread


def test_multi_keyring_async_unwrap_matches_sync() -> None:
    config = CryptoConfig()
    writer = DefaultMaterialsManager(aes_keyring(1, {"k": "1"}))
    _, object_md, _ = encrypt_bytes(b"x", writer, config)
    md = parse(object_md)
    request = DecryptionRequest(md)
    found = MultiKeyring([rsa_keyring(0), aes_keyring(0, {"k": "0"}), aes_keyring(1, {"k": "1"})])
    assert run(found.aon_decrypt(request)) == found.on_decrypt(request)
    missing = MultiKeyring([aes_keyring(0, {"k": "0"}), aes_keyring(2, {"k": "2"})])
    with pytest.raises(e.KeyUnwrapError) as sync_error:
        missing.on_decrypt(request)
    with pytest.raises(e.KeyUnwrapError) as async_error:
        run(missing.aon_decrypt(request))
    assert str(async_error.value) == str(sync_error.value)
    assert run(DefaultMaterialsManager(found).adecrypt_data_key(request)) == found.on_decrypt(
        request
    )
    with pytest.raises(e.KeyUnwrapError, match="cannot unwrap"):
        run(DefaultMaterialsManager(KmsKeyring("k")).adecrypt_data_key(request))


def test_caching_manager_shares_one_cache_between_sync_and_async_callers() -> None:
    cache = CachingMaterialsManager(aes_keyring(0), max_objects=10)
    request = EncryptionRequest(GCM_HKDF_COMMIT, plaintext_length=1)
    first = cache.encryption_materials(request)

    async def scenario() -> list[Any]:
        return list(await asyncio.gather(*(cache.aencryption_materials(request) for _ in range(9))))

    assert all(m is first for m in run(scenario()))
    assert (cache.stats.encrypt_misses, cache.stats.encrypt_hits) == (1, 9)
    fresh = run(cache.aencryption_materials(request))  # the 11th object: a new key
    assert fresh is not first and cache.stats.encrypt_misses == 2
    md, _ = seal(first, FormatVersion.V3, instruction_file=False)
    decrypt = DecryptionRequest(md)
    key = run(cache.adecrypt_data_key(decrypt))
    assert cache.decrypt_data_key(decrypt) == key == first.data_key
    assert (cache.stats.decrypt_misses, cache.stats.decrypt_hits) == (1, 1)
    with pytest.raises(e.ConfigurationError, match="caching data keys"):
        run(cache.aencryption_materials(EncryptionRequest(CryptoConfig(format="v2").write_suite)))


# ---------------------------------------------------------------- bodies


class Trickle:
    """An async ciphertext source that returns at most ``step`` bytes per read."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.closed = data, step, False

    async def read(self, size: int = -1) -> bytes:
        chunk, self.data = self.data[: self.step], self.data[self.step :]
        return chunk

    def close(self) -> None:
        self.closed = True


def encrypted(plaintext: bytes) -> tuple[bytes, Any]:
    manager = DefaultMaterialsManager(aes_keyring(0))
    mats = manager.encryption_materials(EncryptionRequest(GCM_HKDF_COMMIT))
    _, key = seal(mats, FormatVersion.V3, instruction_file=False)
    encryptor = GcmEncryptor(key)
    return encryptor.update(plaintext) + encryptor.finalize(), key


@pytest.mark.parametrize("step", [1, 7, 4096, 1 << 20])
def test_async_body_reads_like_the_sync_body(step: int) -> None:
    plaintext = b"".join(b"row %d\r\n" % i if i % 3 else b"row %d\n" % i for i in range(3000))
    ciphertext, key = encrypted(plaintext)
    sync_lines = list(
        DecryptedBody.streaming(
            io.BytesIO(ciphertext), content_decryptor(key), len(plaintext)
        ).iter_lines(100, keepends=True)
    )

    async def scenario() -> None:
        source = Trickle(ciphertext, step)
        body = AsyncDecryptedBody.streaming(source, content_decryptor(key), len(plaintext))
        assert await body.read(3) == plaintext[:3]
        assert await body.read(0) == b""
        assert await body.read() == plaintext[3:]
        assert source.closed  # released at the end of the stream
        lines = AsyncDecryptedBody.streaming(
            Trickle(ciphertext, step), content_decryptor(key), len(plaintext)
        )
        assert [x async for x in lines.iter_lines(100, keepends=True)] == sync_lines

    run(scenario())


def test_async_body_raises_on_tampering_at_the_end() -> None:
    ciphertext, key = encrypted(b"secret" * 1000)
    tampered = ciphertext[:-1] + bytes([ciphertext[-1] ^ 1])

    async def scenario() -> None:
        body = AsyncDecryptedBody.streaming(Trickle(tampered, 1000), content_decryptor(key), 6000)
        with pytest.raises(e.TagMismatchError):
            await body.read()

    run(scenario())


# ---------------------------------------------------------------- protocol


def test_protocol_helpers() -> None:
    assert requests.copy_source("/b/k/x?versionId=v1") == {
        "Bucket": "b",
        "Key": "k/x",
        "VersionId": "v1",
    }
    delete = {"Objects": [{"Key": "a"}, {"Key": "a.instruction"}, {"Key": "v", "VersionId": "1"}]}
    candidates = requests.sidecar_candidates(delete, (".instruction", ".s3cse-index"))
    assert candidates == ["a.s3cse-index", "a.instruction.instruction", "a.instruction.s3cse-index"]
    kinds = dict(zip(candidates, (Kind.SIDECAR, Kind.ABSENT, Kind.USER_OBJECT), strict=True))
    assert requests.with_sidecars(delete, kinds)["Objects"] == [
        {"Key": "a"},
        {"Key": "a.instruction"},
        {"Key": "v", "VersionId": "1"},
        {"Key": "a.s3cse-index"},
    ]
    assert reads.content_range({"ContentRange": "bytes 5-9/100"}) == (5, 9, 100)
    assert reads.content_range({"ContentLength": 7}) == (0, 6, 7)
    with pytest.raises(e.ConfigurationError, match="ContentMD5"):
        requests.plan_put(CryptoConfig(), {"ContentMD5": "x"}, None, None, None)
    with pytest.raises(e.ConfigurationError, match="reserved"):
        requests.plan_put(CryptoConfig(), {"Metadata": {"x-amz-key": "x"}}, None, None, None)
    plan = requests.plan_put(
        CryptoConfig(integrity_index=True), {"ACL": "private"}, {"a": "b"}, True, None
    )
    assert (plan.instruction_file, plan.integrity_index, plan.context) == (True, True, {"a": "b"})
    assert requests.sidecar_args({"ACL": "private", "ContentType": "x"}) == {"ACL": "private"}
    with pytest.raises(e.ConfigurationError, match="PartNumber"):
        requests.refuse_part_number({"PartNumber": 1})
