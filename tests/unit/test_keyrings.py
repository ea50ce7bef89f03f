"""Raw AES / RSA keyrings and the pure parts of the KMS keyring, checked against
wraps made with cryptography directly."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from s3cse.core.materials import (
    DecryptionRequest,
    DefaultMaterialsManager,
    EncryptionMaterials,
    EncryptionRequest,
    MultiKeyring,
)
from s3cse.core.metadata import ContentMetadata, parse
from s3cse.core.suites import (
    CBC_IV16,
    GCM_HKDF_COMMIT,
    GCM_IV12_TAG16,
    AlgorithmSuite,
    FormatVersion,
)
from s3cse.errors import (
    ConfigurationError,
    EncryptionContextMismatchError,
    KeyUnwrapError,
    KmsAccessDeniedError,
    KmsError,
    KmsKeyUnavailableError,
    LegacyModeDisabledError,
    MetadataError,
    S3CSEError,
)
from s3cse.keyrings import (
    AesKeyring,
    KmsKeyring,
    RsaKeyPair,
    RsaKeyring,
    kms_context,
    kms_errors,
    load_aes_key_file,
)
from s3cse.keyrings.rsa import load_rsa_key_file

from ..keys import aes_key, rsa_pem, rsa_private

SUITES = [GCM_IV12_TAG16, GCM_HKDF_COMMIT]
BINDINGS = {GCM_IV12_TAG16.id: b"AES/GCM/NoPadding", GCM_HKDF_COMMIT.id: b"115"}
OAEP_SHA1 = rsa_padding.OAEP(
    mgf=rsa_padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None
)
OAEP_SHA256_MGF1_SHA1 = rsa_padding.OAEP(
    mgf=rsa_padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA256(), label=None
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def content_md(
    suite: AlgorithmSuite,
    wrap_alg: str,
    edk: bytes,
    context: dict[str, str] | None = None,
) -> ContentMetadata:
    """The metadata a reader would hold for an object of ``suite`` with this wrap."""
    if suite.committing:
        return ContentMetadata(
            version=FormatVersion.V3,
            suite=suite,
            wrap_alg=wrap_alg,
            encrypted_data_key=edk,
            context=dict(context or {}),
            message_id=os.urandom(28),
            commitment=os.urandom(28),
        )
    version = FormatVersion.V2
    return ContentMetadata(
        version=version,
        suite=suite,
        wrap_alg=wrap_alg,
        encrypted_data_key=edk,
        context=dict(context or {}),
        iv=os.urandom(suite.iv_length),
    )


def request_for(
    mats: EncryptionMaterials, *, suite: AlgorithmSuite | None = None, legacy: bool = False
) -> DecryptionRequest:
    md = content_md(suite or mats.suite, mats.wrap_alg, mats.encrypted_data_key, mats.context)
    return DecryptionRequest(md, legacy=legacy)


def flip(data: bytes, index: int = 0) -> bytes:
    out = bytearray(data)
    out[index] ^= 1
    return bytes(out)


# ---------------------------------------------------------------- AES keyring


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: str(s.id))
def test_aes_round_trip_and_binding(suite: AlgorithmSuite) -> None:
    key = aes_key(0)
    keyring = AesKeyring(key, {"purpose": "unit"})
    mats = keyring.on_encrypt(EncryptionRequest(suite))
    assert mats.wrap_alg == "AES/GCM"
    assert mats.suite is suite
    assert mats.context == {"purpose": "unit"}
    assert len(mats.data_key) == 32
    edk = mats.encrypted_data_key
    assert len(edk) == 12 + 32 + 16
    # Independent check: AES-GCM under the wrapping key, with the suite's binding as AAD.
    assert AESGCM(key).decrypt(edk[:12], edk[12:], BINDINGS[suite.id]) == mats.data_key
    assert keyring.on_decrypt(request_for(mats)) == mats.data_key


def test_aes_data_keys_are_fresh() -> None:
    keyring = AesKeyring(aes_key(0))
    a = keyring.on_encrypt(EncryptionRequest(GCM_HKDF_COMMIT))
    b = keyring.on_encrypt(EncryptionRequest(GCM_HKDF_COMMIT))
    assert a.data_key != b.data_key
    assert a.encrypted_data_key[:12] != b.encrypted_data_key[:12]


@pytest.mark.parametrize(
    ("made_for", "claimed"), [(GCM_IV12_TAG16, GCM_HKDF_COMMIT), (GCM_HKDF_COMMIT, GCM_IV12_TAG16)]
)
def test_aes_wrap_bound_to_suite(made_for: AlgorithmSuite, claimed: AlgorithmSuite) -> None:
    keyring = AesKeyring(aes_key(0))
    mats = keyring.on_encrypt(EncryptionRequest(made_for))
    with pytest.raises(KeyUnwrapError):
        keyring.on_decrypt(request_for(mats, suite=claimed))


def test_aes_wrong_key() -> None:
    mats = AesKeyring(aes_key(0)).on_encrypt(EncryptionRequest(GCM_HKDF_COMMIT))
    with pytest.raises(KeyUnwrapError):
        AesKeyring(aes_key(1)).on_decrypt(request_for(mats))


@pytest.mark.parametrize("edk", [b"\x00", b"\x00" * 28, b"\x00" * 60])
def test_aes_garbage_wrapped_key(edk: bytes) -> None:
    req = DecryptionRequest(content_md(GCM_HKDF_COMMIT, "AES/GCM", edk))
    with pytest.raises(KeyUnwrapError):
        AesKeyring(aes_key(0)).on_decrypt(req)


def test_aes_tampered_wrapped_key() -> None:
    keyring = AesKeyring(aes_key(0))
    mats = keyring.on_encrypt(EncryptionRequest(GCM_HKDF_COMMIT))
    for index in (0, 11, 12, 43, 59):
        md = content_md(GCM_HKDF_COMMIT, "AES/GCM", flip(mats.encrypted_data_key, index))
        with pytest.raises(KeyUnwrapError):
            keyring.on_decrypt(DecryptionRequest(md))


def test_aes_several_keys_by_material_description() -> None:
    old_key, new_key = aes_key(1), aes_key(0)
    old = AesKeyring(old_key, {"version": "1"})
    rotated = AesKeyring(new_key, {"version": "2"}, additional_keys=[({"version": "1"}, old_key)])
    old_mats = old.on_encrypt(EncryptionRequest(GCM_HKDF_COMMIT))
    new_mats = rotated.on_encrypt(EncryptionRequest(GCM_HKDF_COMMIT))
    assert new_mats.context == {"version": "2"}
    assert (
        AESGCM(new_key).decrypt(
            new_mats.encrypted_data_key[:12], new_mats.encrypted_data_key[12:], b"115"
        )
        == new_mats.data_key
    )
    assert rotated.on_decrypt(request_for(old_mats)) == old_mats.data_key
    assert rotated.on_decrypt(request_for(new_mats)) == new_mats.data_key
    # An unrelated keyring fails on both.
    stranger = AesKeyring(os.urandom(32), {"version": "1"})
    for mats in (old_mats, new_mats):
        with pytest.raises(KeyUnwrapError):
            stranger.on_decrypt(request_for(mats))


def test_named_keyring_refuses_an_object_naming_a_key_it_does_not_hold() -> None:
    old_key = aes_key(1)
    mats = AesKeyring(old_key, {"who": "somebody else"}).on_encrypt(
        EncryptionRequest(GCM_IV12_TAG16)
    )
    keyring = AesKeyring(aes_key(0), additional_keys=[({"v": "1"}, old_key)])
    with pytest.raises(KeyUnwrapError, match="somebody else"):
        keyring.on_decrypt(request_for(mats))


def test_unnamed_object_tries_every_key_of_a_named_keyring() -> None:
    old_key = aes_key(1)
    mats = AesKeyring(old_key).on_encrypt(EncryptionRequest(GCM_IV12_TAG16))
    keyring = AesKeyring(aes_key(0), {"v": "2"}, additional_keys=[({"v": "1"}, old_key)])
    assert keyring.on_decrypt(request_for(mats)) == mats.data_key


def test_unnamed_keyring_reads_objects_whatever_they_name() -> None:
    mats = AesKeyring(aes_key(0), {"who": "the writer"}).on_encrypt(
        EncryptionRequest(GCM_IV12_TAG16)
    )
    assert AesKeyring(aes_key(0)).on_decrypt(request_for(mats)) == mats.data_key


def v1_ecb_wrap(kek: bytes, data_key: bytes) -> bytes:
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(data_key) + padder.finalize()
    enc = Cipher(algorithms.AES(kek), modes.ECB()).encryptor()
    return enc.update(padded) + enc.finalize()


def v1_metadata(edk: bytes, matdesc: str = "{}") -> ContentMetadata:
    return parse({"x-amz-key": b64(edk), "x-amz-iv": b64(os.urandom(16)), "x-amz-matdesc": matdesc})


def test_aes_legacy_v1_ecb() -> None:
    kek, data_key = aes_key(0), os.urandom(32)
    md = v1_metadata(v1_ecb_wrap(kek, data_key))
    assert md.wrap_alg == "AES"
    assert md.suite is CBC_IV16
    keyring = AesKeyring(kek)
    with pytest.raises(LegacyModeDisabledError):
        keyring.on_decrypt(DecryptionRequest(md, legacy=False))
    assert keyring.on_decrypt(DecryptionRequest(md, legacy=True)) == data_key
    with pytest.raises(KeyUnwrapError):
        AesKeyring(aes_key(1)).on_decrypt(DecryptionRequest(md, legacy=True))


def test_aes_legacy_v1_ecb_key_chosen_by_matdesc() -> None:
    old_key, data_key = aes_key(1), os.urandom(32)
    md = v1_metadata(v1_ecb_wrap(old_key, data_key), '{"version":"1"}')
    keyring = AesKeyring(
        aes_key(0), {"version": "2"}, additional_keys=[({"version": "1"}, old_key)]
    )
    assert keyring.on_decrypt(DecryptionRequest(md, legacy=True)) == data_key


def test_aes_legacy_v1_ecb_128_bit_master_key() -> None:
    old_key, data_key = os.urandom(16), os.urandom(32)
    md = v1_metadata(v1_ecb_wrap(old_key, data_key), '{"k":"old"}')
    keyring = AesKeyring(aes_key(0), additional_keys=[({"k": "old"}, old_key)])
    assert keyring.on_decrypt(DecryptionRequest(md, legacy=True)) == data_key


@pytest.mark.parametrize("suite", [CBC_IV16, GCM_IV12_TAG16], ids=lambda s: str(s.id))
def test_aes_legacy_aeswrap(suite: AlgorithmSuite) -> None:
    kek, data_key = aes_key(0), os.urandom(32)
    md = content_md(suite, "AESWrap", aes_key_wrap(kek, data_key))
    keyring = AesKeyring(kek)
    with pytest.raises(LegacyModeDisabledError):
        keyring.on_decrypt(DecryptionRequest(md))
    assert keyring.on_decrypt(DecryptionRequest(md, legacy=True)) == data_key
    with pytest.raises(KeyUnwrapError):
        AesKeyring(aes_key(1)).on_decrypt(DecryptionRequest(md, legacy=True))


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_aes_keyring_rejects_bad_current_key(length: int) -> None:
    with pytest.raises(ConfigurationError):
        AesKeyring(os.urandom(length))


def test_aes_keyring_rejects_bad_additional_key_and_non_ascii_matdesc() -> None:
    with pytest.raises(ConfigurationError):
        AesKeyring(aes_key(0), additional_keys=[({"v": "1"}, os.urandom(20))])
    with pytest.raises(ConfigurationError, match="US-ASCII"):
        AesKeyring(aes_key(0), {"owner": "Jürgen"})
    text = repr(AesKeyring(aes_key(0), {"a": "b"}))
    assert "{'a': 'b'}" in text
    assert aes_key(0).hex() not in text and repr(aes_key(0)) not in text


def test_load_aes_key_file_raw_and_base64(tmp_path: Path) -> None:
    key = os.urandom(32)
    raw = tmp_path / "raw.key"
    raw.write_bytes(key)
    text = tmp_path / "b64.key"
    text.write_text(b64(key) + "\n")
    assert load_aes_key_file(raw) == key
    assert load_aes_key_file(str(text)) == key


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00" * 31,
        b"\x00" * 33,
        b"hello",
        b"not base64 at all!!\n",
        base64.b64encode(os.urandom(10)),
        base64.b64encode(os.urandom(33)) + b"\n",
    ],
)
def test_load_aes_key_file_rejects(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError):
        load_aes_key_file(path)


def test_load_aes_key_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_aes_key_file(tmp_path / "absent.key")


# ---------------------------------------------------------------- RSA keyring


def rsa_keyring(index: int = 0, matdesc: dict[str, str] | None = None) -> RsaKeyring:
    return RsaKeyring(RsaKeyPair(private_key=rsa_private(index)), matdesc)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: str(s.id))
def test_rsa_round_trip_and_pseudo_key(suite: AlgorithmSuite) -> None:
    keyring = rsa_keyring(0, {"purpose": "unit"})
    mats = keyring.on_encrypt(EncryptionRequest(suite))
    assert mats.wrap_alg == "RSA-OAEP-SHA1"
    assert mats.context == {"purpose": "unit"}
    assert len(mats.encrypted_data_key) == 256
    pseudo = rsa_private(0).decrypt(mats.encrypted_data_key, OAEP_SHA1)
    assert pseudo == bytes([32]) + mats.data_key + BINDINGS[suite.id]
    assert keyring.on_decrypt(request_for(mats)) == mats.data_key


@pytest.mark.parametrize(
    ("made_for", "claimed"), [(GCM_IV12_TAG16, GCM_HKDF_COMMIT), (GCM_HKDF_COMMIT, GCM_IV12_TAG16)]
)
def test_rsa_wrap_bound_to_suite(made_for: AlgorithmSuite, claimed: AlgorithmSuite) -> None:
    keyring = rsa_keyring(0)
    mats = keyring.on_encrypt(EncryptionRequest(made_for))
    with pytest.raises(KeyUnwrapError):
        keyring.on_decrypt(request_for(mats, suite=claimed))


@pytest.mark.parametrize(
    "pseudo",
    [
        bytes([31]) + b"k" * 32 + b"115",  # length byte lies
        bytes([32]) + b"k" * 32 + b"116",  # wrong binding
        bytes([32]) + b"k" * 32,  # binding missing
        bytes([32]) + b"k" * 32 + b"115" + b"\x00",  # trailing byte
        b"k" * 32,  # bare key (not a pseudo key)
    ],
)
def test_rsa_malformed_pseudo_key(pseudo: bytes) -> None:
    edk = rsa_private(0).public_key().encrypt(pseudo, OAEP_SHA1)
    md = content_md(GCM_HKDF_COMMIT, "RSA-OAEP-SHA1", edk)
    with pytest.raises(KeyUnwrapError):
        rsa_keyring(0).on_decrypt(DecryptionRequest(md))


def test_rsa_wrong_key_and_tampering() -> None:
    mats = rsa_keyring(0).on_encrypt(EncryptionRequest(GCM_HKDF_COMMIT))
    with pytest.raises(KeyUnwrapError):
        rsa_keyring(1).on_decrypt(request_for(mats))
    md = content_md(GCM_HKDF_COMMIT, "RSA-OAEP-SHA1", flip(mats.encrypted_data_key, 100))
    with pytest.raises(KeyUnwrapError):
        rsa_keyring(0).on_decrypt(DecryptionRequest(md))


def test_rsa_several_keys_by_material_description() -> None:
    old = rsa_keyring(1, {"version": "1"})
    rotated = RsaKeyring(
        RsaKeyPair(private_key=rsa_private(0)),
        {"version": "2"},
        additional_keys=[({"version": "1"}, RsaKeyPair(private_key=rsa_private(1)))],
    )
    old_mats = old.on_encrypt(EncryptionRequest(GCM_HKDF_COMMIT))
    new_mats = rotated.on_encrypt(EncryptionRequest(GCM_IV12_TAG16))
    # The current key is the one that wraps.
    assert rsa_private(0).decrypt(new_mats.encrypted_data_key, OAEP_SHA1)[1:33] == new_mats.data_key
    assert rotated.on_decrypt(request_for(old_mats)) == old_mats.data_key
    assert rotated.on_decrypt(request_for(new_mats)) == new_mats.data_key
    with pytest.raises(KeyUnwrapError):
        rsa_keyring(2, {"version": "1"}).on_decrypt(request_for(old_mats))


def test_rsa_public_only_encrypts_but_cannot_decrypt() -> None:
    public_only = RsaKeyring(RsaKeyPair(public_key=rsa_private(0).public_key()))
    mats = public_only.on_encrypt(EncryptionRequest(GCM_HKDF_COMMIT))
    assert rsa_private(0).decrypt(mats.encrypted_data_key, OAEP_SHA1)[1:33] == mats.data_key
    with pytest.raises(KeyUnwrapError, match="public"):
        public_only.on_decrypt(request_for(mats))
    assert rsa_keyring(0).on_decrypt(request_for(mats)) == mats.data_key


def test_rsa_legacy_v1_pkcs1() -> None:
    data_key = os.urandom(32)
    edk = rsa_private(0).public_key().encrypt(data_key, rsa_padding.PKCS1v15())
    md = v1_metadata(edk)
    assert md.wrap_alg == "RSA"
    with pytest.raises(LegacyModeDisabledError):
        rsa_keyring(0).on_decrypt(DecryptionRequest(md))
    assert rsa_keyring(0).on_decrypt(DecryptionRequest(md, legacy=True)) == data_key


def wrong_key_pkcs1_ciphertext(data_key: bytes) -> bytes:
    """A PKCS#1 v1.5 wrap under key 0 that key 1 "decrypts" (implicit rejection) to
    something that cannot be a data key, as it is for ~99% of ciphertexts."""
    for _ in range(100):
        edk = rsa_private(0).public_key().encrypt(data_key, rsa_padding.PKCS1v15())
        try:
            synthetic = rsa_private(1).decrypt(edk, rsa_padding.PKCS1v15())
        except ValueError:
            return edk
        if len(synthetic) not in (16, 24, 32):
            return edk
    raise AssertionError("no suitable ciphertext found")


def test_rsa_legacy_v1_pkcs1_wrong_key() -> None:
    data_key = os.urandom(32)
    md = v1_metadata(wrong_key_pkcs1_ciphertext(data_key))
    with pytest.raises(KeyUnwrapError):
        rsa_keyring(1).on_decrypt(DecryptionRequest(md, legacy=True))


def test_rsa_legacy_v1_pkcs1_key_chosen_by_matdesc() -> None:
    # A wrong key does not fail PKCS#1 v1.5 reliably, so only the named key may be tried:
    # a keyring whose current key is wrong must still find the right one by its name.
    data_key = os.urandom(32)
    md = v1_metadata(wrong_key_pkcs1_ciphertext(data_key), '{"version":"1"}')
    rotated = RsaKeyring(
        RsaKeyPair(private_key=rsa_private(1)),
        {"version": "2"},
        additional_keys=[({"version": "1"}, RsaKeyPair(private_key=rsa_private(0)))],
    )
    assert rotated.on_decrypt(DecryptionRequest(md, legacy=True)) == data_key
    unnamed = v1_metadata(md.encrypted_data_key, '{"version":"0"}')
    with pytest.raises(KeyUnwrapError):
        rotated.on_decrypt(DecryptionRequest(unnamed, legacy=True))


def test_rsa_legacy_oaep_sha256() -> None:
    data_key = os.urandom(32)
    edk = rsa_private(0).public_key().encrypt(data_key, OAEP_SHA256_MGF1_SHA1)
    md = parse(
        {
            "x-amz-key-v2": b64(edk),
            "x-amz-iv": b64(os.urandom(16)),
            "x-amz-cek-alg": "AES/CBC/PKCS5Padding",
            "x-amz-wrap-alg": "RSA/ECB/OAEPWithSHA-256AndMGF1Padding",
            "x-amz-matdesc": "{}",
        }
    )
    with pytest.raises(LegacyModeDisabledError):
        rsa_keyring(0).on_decrypt(DecryptionRequest(md))
    assert rsa_keyring(0).on_decrypt(DecryptionRequest(md, legacy=True)) == data_key
    # OAEP with SHA-256 for MGF1 too is a different scheme and must not unwrap.
    full_sha256 = rsa_padding.OAEP(
        mgf=rsa_padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None
    )
    other = content_md(
        GCM_IV12_TAG16,
        "RSA/ECB/OAEPWithSHA-256AndMGF1Padding",
        rsa_private(0).public_key().encrypt(data_key, full_sha256),
    )
    with pytest.raises(KeyUnwrapError):
        rsa_keyring(0).on_decrypt(DecryptionRequest(other, legacy=True))


def test_rsa_key_pair_checks(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        RsaKeyPair()
    pem = tmp_path / "key.pem"
    pem.write_bytes(rsa_pem(0))
    loaded = load_rsa_key_file(pem)
    assert loaded.private_key is not None
    assert loaded.public_key.public_numbers() == rsa_private(0).public_key().public_numbers()
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigurationError):
        load_rsa_key_file(bad)


# ---------------------------------------------------------------- materials


def test_default_materials_manager_refuses_foreign_wrap() -> None:
    mats = rsa_keyring(0).on_encrypt(EncryptionRequest(GCM_HKDF_COMMIT))
    cmm = DefaultMaterialsManager(AesKeyring(aes_key(0)))
    with pytest.raises(KeyUnwrapError, match="RSA-OAEP-SHA1"):
        cmm.decrypt_data_key(request_for(mats))


def test_multi_keyring_finds_the_right_keyring() -> None:
    multi = MultiKeyring([AesKeyring(aes_key(0)), rsa_keyring(0)])
    rsa_mats = rsa_keyring(0).on_encrypt(EncryptionRequest(GCM_HKDF_COMMIT))
    aes_mats = AesKeyring(aes_key(0)).on_encrypt(EncryptionRequest(GCM_HKDF_COMMIT))
    assert multi.on_decrypt(request_for(rsa_mats)) == rsa_mats.data_key
    assert multi.on_decrypt(request_for(aes_mats)) == aes_mats.data_key
    assert multi.on_encrypt(EncryptionRequest(GCM_HKDF_COMMIT)).wrap_alg == "AES/GCM"
    wrong = MultiKeyring([AesKeyring(aes_key(1)), AesKeyring(os.urandom(32))])
    with pytest.raises(KeyUnwrapError):
        wrong.on_decrypt(request_for(aes_mats))
    with pytest.raises(ConfigurationError):
        MultiKeyring([])


# ---------------------------------------------------------------- KMS (pure parts)


def test_generate_request_adds_reserved_key() -> None:
    for suite, value in ((GCM_HKDF_COMMIT, "115"), (GCM_IV12_TAG16, "AES/GCM/NoPadding")):
        caller = {"team": "blue"}
        params = kms_context.generate_request("alias/k", EncryptionRequest(suite, caller))
        assert params == {
            "KeyId": "alias/k",
            "KeySpec": "AES_256",
            "EncryptionContext": {"team": "blue", "aws:x-amz-cek-alg": value},
        }
        assert caller == {"team": "blue"}  # the caller's map is not modified


@pytest.mark.parametrize(
    "context",
    [{"aws:x-amz-cek-alg": "115"}, {"team": "blü"}, {"tëam": "blue"}, {"k": 1}],
)
def test_generate_request_rejects(context: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        kms_context.generate_request("k", EncryptionRequest(GCM_HKDF_COMMIT, context))


def kms_md(
    suite: AlgorithmSuite,
    stored: dict[str, str],
    wrap: str = "kms+context",
) -> ContentMetadata:
    return content_md(suite, wrap, b"wrapped-by-kms", stored)


@pytest.mark.parametrize(
    ("suite", "stored", "expected"),
    [
        (GCM_HKDF_COMMIT, {"aws:x-amz-cek-alg": "115", "team": "blue"}, {"team": "blue"}),
        (GCM_HKDF_COMMIT, {"aws:x-amz-cek-alg": "115"}, {}),
        (GCM_IV12_TAG16, {"aws:x-amz-cek-alg": "AES/GCM/NoPadding", "a": "b"}, {"a": "b"}),
        (
            GCM_IV12_TAG16,
            {"aws:x-amz-cek-alg": "AES/GCM/NoPadding", "kms_cmk_id": "arn:x", "a": "b"},
            {"a": "b"},
        ),
        (CBC_IV16, {"aws:x-amz-cek-alg": CBC_IV16.kms_context_value, "a": "b"}, {"a": "b"}),
    ],
)
def test_decrypt_request_ok(
    suite: AlgorithmSuite, stored: dict[str, str], expected: dict[str, str]
) -> None:
    req = DecryptionRequest(kms_md(suite, stored), expected)
    params = kms_context.decrypt_request("key-1", req, legacy=False)
    assert params == {
        "KeyId": "key-1",
        "CiphertextBlob": b"wrapped-by-kms",
        "EncryptionContext": stored,
    }


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ({"aws:x-amz-cek-alg": "115", "team": "blue"}, {"team": "red"}),
        ({"aws:x-amz-cek-alg": "115", "team": "blue"}, {}),
        ({"aws:x-amz-cek-alg": "115"}, {"team": "blue"}),
        ({"aws:x-amz-cek-alg": "115", "team": "blue"}, {"team": "blue", "extra": "1"}),
        ({"aws:x-amz-cek-alg": "115", "team": "blue"}, {"Team": "blue"}),
    ],
)
def test_decrypt_request_context_mismatch(stored: dict[str, str], expected: dict[str, str]) -> None:
    req = DecryptionRequest(kms_md(GCM_HKDF_COMMIT, stored), expected)
    with pytest.raises(EncryptionContextMismatchError):
        kms_context.decrypt_request("key-1", req, legacy=False)


def test_decrypt_request_reserved_key_in_expected() -> None:
    req = DecryptionRequest(
        kms_md(GCM_HKDF_COMMIT, {"aws:x-amz-cek-alg": "115"}), {"aws:x-amz-cek-alg": "115"}
    )
    with pytest.raises(ConfigurationError):
        kms_context.decrypt_request("k", req, legacy=False)


@pytest.mark.parametrize(
    ("suite", "bound"),
    [
        (GCM_HKDF_COMMIT, "AES/GCM/NoPadding"),
        (GCM_IV12_TAG16, "115"),
        (GCM_HKDF_COMMIT, "114"),
        (CBC_IV16, "AES/GCM/NoPadding"),
    ],
)
def test_decrypt_request_cek_alg_contradicts_suite(suite: AlgorithmSuite, bound: str) -> None:
    req = DecryptionRequest(kms_md(suite, {"aws:x-amz-cek-alg": bound}), {})
    with pytest.raises(MetadataError):
        kms_context.decrypt_request("k", req, legacy=True)


@pytest.mark.parametrize("suite", [GCM_HKDF_COMMIT, GCM_IV12_TAG16, CBC_IV16])
def test_decrypt_request_kms_context_without_algorithm_key(suite: AlgorithmSuite) -> None:
    """Every kms+context writer stores the algorithm key: without it, nothing binds the
    data key to the content algorithm the metadata claims."""
    req = DecryptionRequest(kms_md(suite, {"kms_cmk_id": "arn:x", "a": "b"}), {"a": "b"})
    with pytest.raises(MetadataError, match="lacks aws:x-amz-cek-alg"):
        kms_context.decrypt_request("k", req, legacy=True)


@pytest.mark.parametrize("suite", [GCM_IV12_TAG16, CBC_IV16])
@pytest.mark.parametrize("bound", ["AES/GCM/NoPadding", "115", "AES/CBC/PKCS5Padding"])
def test_decrypt_request_relabelled_kms_context(suite: AlgorithmSuite, bound: str) -> None:
    """A kms+context key relabelled as the V1-era 'kms' wrap is refused before KMS is
    asked, whatever context the caller gives."""
    stored = {"aws:x-amz-cek-alg": bound, "dept": "finance"}
    for expected in ({}, {"dept": "finance"}):
        req = DecryptionRequest(kms_md(suite, stored, wrap="kms"), expected)
        with pytest.raises(MetadataError, match="only 'kms\\+context' writers store"):
            kms_context.decrypt_request("k", req, legacy=True)


def test_decrypt_request_kms_without_key_id() -> None:
    md = kms_md(CBC_IV16, {"dept": "finance"}, wrap="kms")
    with pytest.raises(MetadataError, match="kms_cmk_id"):
        kms_context.decrypt_request("k", DecryptionRequest(md, {"dept": "finance"}), legacy=True)


def test_decrypt_request_kms_compares_context_apart_from_key_id() -> None:
    """A V1 writer's material description is its KMS context: the caller names it (all but
    kms_cmk_id), and naming none does not skip the comparison."""
    stored = {"kms_cmk_id": "alias/old", "dept": "finance"}
    md = kms_md(GCM_IV12_TAG16, stored, wrap="kms")
    params = kms_context.decrypt_request(
        "k", DecryptionRequest(md, {"dept": "finance"}), legacy=True
    )
    assert params["EncryptionContext"] == stored
    for expected in ({}, {"dept": "sales"}, {"dept": "finance", "x": "y"}):
        with pytest.raises(EncryptionContextMismatchError):
            kms_context.decrypt_request("k", DecryptionRequest(md, expected), legacy=True)


def test_generate_request_refuses_key_id_context_key() -> None:
    with pytest.raises(ConfigurationError, match="kms_cmk_id"):
        kms_context.generate_request("k", EncryptionRequest(GCM_HKDF_COMMIT, {"kms_cmk_id": "x"}))


def test_decrypt_request_legacy_kms() -> None:
    md = kms_md(CBC_IV16, {"kms_cmk_id": "alias/old"}, wrap="kms")
    with pytest.raises(LegacyModeDisabledError):
        kms_context.decrypt_request("k", DecryptionRequest(md), legacy=False)
    params = kms_context.decrypt_request("k", DecryptionRequest(md), legacy=True)
    assert params["EncryptionContext"] == {"kms_cmk_id": "alias/old"}
    with pytest.raises(EncryptionContextMismatchError):
        kms_context.decrypt_request("k", DecryptionRequest(md, {"a": "b"}), legacy=True)


class FakeKms:
    """Records the calls a KmsKeyring makes; answers with fixed values."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.error = error

    def decrypt(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("decrypt", params))
        if self.error is not None:
            raise self.error
        return {"Plaintext": b"p" * 32, "KeyId": params["KeyId"]}

    def generate_data_key(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("generate_data_key", params))
        if self.error is not None:
            raise self.error
        return {"Plaintext": b"q" * 32, "CiphertextBlob": b"blob", "KeyId": params["KeyId"]}


def test_kms_keyring_does_not_call_kms_on_context_mismatch() -> None:
    fake = FakeKms()
    keyring = KmsKeyring("alias/k", kms_client=fake)
    md = kms_md(GCM_HKDF_COMMIT, {"aws:x-amz-cek-alg": "115", "team": "blue"})
    with pytest.raises(EncryptionContextMismatchError):
        keyring.on_decrypt(DecryptionRequest(md, {"team": "red"}))
    with pytest.raises(MetadataError):
        keyring.on_decrypt(
            DecryptionRequest(kms_md(GCM_HKDF_COMMIT, {"aws:x-amz-cek-alg": "AES/GCM/NoPadding"}))
        )
    with pytest.raises(LegacyModeDisabledError):
        keyring.on_decrypt(DecryptionRequest(kms_md(CBC_IV16, {}, wrap="kms")))
    assert fake.calls == []
    assert keyring.on_decrypt(DecryptionRequest(md, {"team": "blue"})) == b"p" * 32
    assert fake.calls == [
        (
            "decrypt",
            {
                "KeyId": "alias/k",
                "CiphertextBlob": b"wrapped-by-kms",
                "EncryptionContext": {"aws:x-amz-cek-alg": "115", "team": "blue"},
            },
        )
    ]


def test_kms_keyring_on_encrypt() -> None:
    fake = FakeKms()
    keyring = KmsKeyring("alias/k", kms_client=fake)
    mats = keyring.on_encrypt(EncryptionRequest(GCM_HKDF_COMMIT, {"team": "blue"}))
    assert fake.calls == [
        (
            "generate_data_key",
            {
                "KeyId": "alias/k",
                "KeySpec": "AES_256",
                "EncryptionContext": {"team": "blue", "aws:x-amz-cek-alg": "115"},
            },
        )
    ]
    assert mats.data_key == b"q" * 32
    assert mats.encrypted_data_key == b"blob"
    assert mats.wrap_alg == "kms+context"
    assert mats.context == {"team": "blue", "aws:x-amz-cek-alg": "115"}


def client_error(code: str, operation: str = "Decrypt") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} happened"}}, operation)


def test_kms_keyring_translates_client_errors() -> None:
    fake = FakeKms(client_error("DisabledException"))
    keyring = KmsKeyring("alias/k", kms_client=fake)
    md = kms_md(GCM_HKDF_COMMIT, {"aws:x-amz-cek-alg": "115"})
    with pytest.raises(KmsKeyUnavailableError, match="alias/k"):
        keyring.on_decrypt(DecryptionRequest(md))
    assert len(fake.calls) == 1


def test_kms_keyring_needs_key_id() -> None:
    with pytest.raises(ConfigurationError):
        KmsKeyring("")


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        ("DisabledException", KmsKeyUnavailableError),
        ("KMSInvalidStateException", KmsKeyUnavailableError),
        ("NotFoundException", KmsKeyUnavailableError),
        ("AccessDeniedException", KmsAccessDeniedError),
        ("InvalidCiphertextException", KeyUnwrapError),
        ("IncorrectKeyException", KeyUnwrapError),
        ("ThrottlingException", KmsError),
    ],
)
def test_translate_kms_error(code: str, error_class: type[S3CSEError]) -> None:
    err = kms_errors.translate_kms_error(client_error(code), "key-9", "decrypt")
    assert type(err) is error_class
    assert isinstance(err, S3CSEError)
    if error_class is not KeyUnwrapError:
        assert "key-9" in str(err)


def test_translate_kms_error_network() -> None:
    exc = EndpointConnectionError(endpoint_url="https://kms.example")
    err = kms_errors.translate_kms_error(exc, "key-9", "decrypt")
    assert type(err) is KmsError
    assert "endpoint" in str(err).lower()
