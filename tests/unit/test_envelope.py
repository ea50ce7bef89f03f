"""Envelope encryption in memory: read policy, legacy objects made with cryptography,
instruction-file handling and reserved user metadata."""

from __future__ import annotations

import base64
import json
import os

import pytest
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from s3cse.core import envelope
from s3cse.core.ciphers import derive_keys
from s3cse.core.config import CryptoConfig
from s3cse.core.materials import DefaultMaterialsManager
from s3cse.core.metadata import parse
from s3cse.core.suites import GCM_HKDF_COMMIT, CommitmentPolicy
from s3cse.errors import (
    CommitmentPolicyError,
    ConfigurationError,
    InstructionFileError,
    KeyUnwrapError,
    LegacyModeDisabledError,
    MetadataError,
)
from s3cse.keyrings import AesKeyring

from ..keys import aes_key, rsa_keyring

ALLOW = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
PLAINTEXT = b"legacy objects still exist in the wild\n" * 11


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def aes_cmm(index: int = 0) -> DefaultMaterialsManager:
    return DefaultMaterialsManager(AesKeyring(aes_key(index), {"purpose": "envelope"}))


def v1_object(kek: bytes) -> tuple[bytes, dict[str, str]]:
    """A V1 object as the old AWS clients wrote it: AES-CBC content, AES/ECB key wrap."""
    data_key, iv = os.urandom(32), os.urandom(16)
    padder = sym_padding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(data_key), modes.CBC(iv)).encryptor()
    body = enc.update(padder.update(PLAINTEXT) + padder.finalize()) + enc.finalize()
    key_padder = sym_padding.PKCS7(128).padder()
    wrap = Cipher(algorithms.AES(kek), modes.ECB()).encryptor()
    edk = wrap.update(key_padder.update(data_key) + key_padder.finalize()) + wrap.finalize()
    md = {
        "x-amz-key": b64(edk),
        "x-amz-iv": b64(iv),
        "x-amz-matdesc": "{}",
        "x-amz-unencrypted-content-length": str(len(PLAINTEXT)),
    }
    return body, md


def test_v1_object_needs_legacy_and_permissive_policy() -> None:
    kek = aes_key(0)
    body, md = v1_object(kek)
    cmm = DefaultMaterialsManager(AesKeyring(kek))
    with pytest.raises(LegacyModeDisabledError):
        envelope.decrypt_bytes(body, md, cmm, CryptoConfig(commitment_policy=ALLOW))
    with pytest.raises(CommitmentPolicyError):
        envelope.decrypt_bytes(body, md, cmm, CryptoConfig(legacy=True))
    config = CryptoConfig(commitment_policy=ALLOW, legacy=True)
    assert envelope.decrypt_bytes(body, md, cmm, config) == PLAINTEXT
    assert envelope.plaintext_size(parse(md), len(body)) == len(PLAINTEXT)


def test_v2_object_made_with_cryptography() -> None:
    kek, data_key, iv, wrap_iv = aes_key(0), os.urandom(32), os.urandom(12), os.urandom(12)
    body = AESGCM(data_key).encrypt(iv, PLAINTEXT, None)
    edk = wrap_iv + AESGCM(kek).encrypt(wrap_iv, data_key, b"AES/GCM/NoPadding")
    md = {
        "x-amz-key-v2": b64(edk),
        "x-amz-iv": b64(iv),
        "x-amz-cek-alg": "AES/GCM/NoPadding",
        "x-amz-tag-len": "128",
        "x-amz-wrap-alg": "AES/GCM",
        "x-amz-matdesc": "{}",
    }
    cmm = DefaultMaterialsManager(AesKeyring(kek))
    with pytest.raises(CommitmentPolicyError):
        envelope.decrypt_bytes(body, md, cmm, CryptoConfig())
    v2_reader = CryptoConfig(format="v2")  # type: ignore[arg-type]
    assert envelope.decrypt_bytes(body, md, cmm, v2_reader) == PLAINTEXT
    assert envelope.plaintext_size(parse(md), len(body)) == len(PLAINTEXT)


def test_v3_object_made_with_cryptography() -> None:
    kek, data_key = aes_key(0), os.urandom(32)
    message_id, wrap_iv = os.urandom(28), os.urandom(12)
    key, commitment = derive_keys(GCM_HKDF_COMMIT, data_key, message_id)
    body = AESGCM(key).encrypt(b"\x01" * 12, PLAINTEXT, b"\x00\x73")
    edk = wrap_iv + AESGCM(kek).encrypt(wrap_iv, data_key, b"115")
    md = {
        "x-amz-c": "115",
        "x-amz-3": b64(edk),
        "x-amz-w": "02",
        "x-amz-d": b64(commitment),
        "x-amz-i": b64(message_id),
    }
    assert (
        envelope.decrypt_bytes(body, md, DefaultMaterialsManager(AesKeyring(kek)), CryptoConfig())
        == PLAINTEXT
    )


def test_encrypt_bytes_v3_metadata() -> None:
    ciphertext, obj, instr = envelope.encrypt_bytes(PLAINTEXT, aes_cmm(), CryptoConfig())
    assert instr is None
    assert obj["x-amz-c"] == "115" and obj["x-amz-w"] == "02"
    assert json.loads(obj["x-amz-m"]) == {"purpose": "envelope"}
    assert len(ciphertext) == len(PLAINTEXT) + 16
    assert envelope.decrypt_bytes(ciphertext, obj, aes_cmm(), CryptoConfig()) == PLAINTEXT
    with pytest.raises(KeyUnwrapError):
        envelope.decrypt_bytes(ciphertext, obj, aes_cmm(1), CryptoConfig())
    # A keyring of another kind is refused before anything is tried.
    with pytest.raises(KeyUnwrapError, match="AES/GCM"):
        envelope.decrypt_bytes(
            ciphertext, obj, DefaultMaterialsManager(rsa_keyring(0)), CryptoConfig()
        )


def test_instruction_file_required_and_checked() -> None:
    config = CryptoConfig(instruction_file=True)
    ciphertext, obj, instr = envelope.encrypt_bytes(PLAINTEXT, aes_cmm(), config)
    assert instr is not None
    with pytest.raises(InstructionFileError):
        envelope.decrypt_bytes(ciphertext, obj, aes_cmm(), config)
    with pytest.raises(InstructionFileError):
        envelope.decrypt_bytes(ciphertext, obj, aes_cmm(), config, instruction_file=b"nope")
    spoofed = dict(instr, **{"x-amz-c": obj["x-amz-c"]})
    with pytest.raises(InstructionFileError):
        envelope.decrypt_bytes(
            ciphertext, obj, aes_cmm(), config, instruction_file=json.dumps(spoofed).encode()
        )
    body = json.dumps(instr).encode()
    assert (
        envelope.decrypt_bytes(ciphertext, obj, aes_cmm(), config, instruction_file=body)
        == PLAINTEXT
    )


def test_object_metadata_wins_over_instruction_file_lookup() -> None:
    # With the data key in the object metadata, an instruction file is not consulted.
    ciphertext, obj, _ = envelope.encrypt_bytes(PLAINTEXT, aes_cmm(), CryptoConfig())
    assert (
        envelope.decrypt_bytes(
            ciphertext, obj, aes_cmm(), CryptoConfig(), instruction_file=b"garbage"
        )
        == PLAINTEXT
    )


def test_bad_metadata_surfaces_as_metadata_error() -> None:
    ciphertext, obj, _ = envelope.encrypt_bytes(PLAINTEXT, aes_cmm(), CryptoConfig())
    obj["x-amz-iv"] = b64(os.urandom(12))
    with pytest.raises(MetadataError, match="mixes"):
        envelope.decrypt_bytes(ciphertext, obj, aes_cmm(), CryptoConfig())


@pytest.mark.parametrize("name", ["x-amz-key-v2", "X-Amz-Iv", "x-amz-anything", "x-amz-3"])
def test_check_user_metadata_reserved(name: str) -> None:
    with pytest.raises(ConfigurationError):
        envelope.check_user_metadata({name: "1"})


def test_check_user_metadata_ok() -> None:
    assert envelope.check_user_metadata({"color": "red"}) == {"color": "red"}
    assert envelope.check_user_metadata(None) == {}


def test_descriptions_that_look_like_rfc2047_survive_a_round_trip() -> None:
    # Only a value S3 encoded as a whole is RFC 2047; this ASCII description is not.
    matdesc = {"note": "=?utf-8?q?=7B=7D?="}
    cmm = DefaultMaterialsManager(AesKeyring(aes_key(0), matdesc))
    ciphertext, obj, _ = envelope.encrypt_bytes(PLAINTEXT, cmm, CryptoConfig())
    assert parse(obj).context == matdesc
    assert envelope.decrypt_bytes(ciphertext, obj, cmm, CryptoConfig()) == PLAINTEXT
