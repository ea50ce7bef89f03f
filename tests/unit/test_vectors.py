"""Known-answer vectors (tests/vectors/*.json, made by tests/vectors/generate.py).

Pure tests: no S3, no KMS, no network. For every vector:

* s3cse decrypts it to the expected plaintext with ``envelope.decrypt_bytes``. KMS
  vectors use ``RecordedKms`` (``tests/recorded_kms.py``), a stand-in KMS client that
  accepts exactly the recorded Decrypt request (KeyId, CiphertextBlob,
  EncryptionContext) once: this checks the request s3cse builds, not a network round
  trip.
* s3cse's encryptor, given the same fixed inputs (``encrypt_bytes(rng=...)`` replays the
  vector's data key, AES-GCM wrap IV and content IV / message id; ``RecordedKms`` returns
  the recorded data key and blob and checks the EncryptionContext equals the one the
  peer sent to KMS), writes the same ciphertext and the same metadata. JSON-valued
  metadata (``x-amz-matdesc``, ``x-amz-t``, ``x-amz-m``) is compared as parsed JSON: the
  official client writes ``json.dumps`` text with spaces in insertion order, s3cse writes
  compact JSON with sorted keys; both are the same map. RSA-OAEP is randomized, so for
  RSA vectors everything but the wrapped key must be equal and s3cse's wrapped key must
  unwrap, with the private key, to the vector's data key. Legacy modes are read only.
* Flipping one ciphertext byte makes decryption fail (GCM: TagMismatchError); for the
  unauthenticated legacy AES-CBC it either fails or yields a different plaintext.
"""

from __future__ import annotations

import base64
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from s3cse.core import envelope
from s3cse.core.config import CryptoConfig
from s3cse.core.materials import DefaultMaterialsManager, Keyring
from s3cse.core.suites import CommitmentPolicy
from s3cse.errors import AuthenticationError, LegacyModeDisabledError, TagMismatchError
from s3cse.keyrings import AesKeyring, KmsKeyring, RsaKeyPair, RsaKeyring

from ..recorded_kms import RecordedKms

VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors"
# writer-*.json (one per real writer, docs/writers.md) have tests of their own
VECTORS: list[dict[str, Any]] = [
    json.loads(path.read_text())
    for path in sorted(VECTOR_DIR.glob("*.json"))
    if not path.name.startswith("writer-")
]
BY_NAME = {v["name"]: v for v in VECTORS}
WRITABLE = [v["name"] for v in VECTORS if not v["legacy"]]
LEGACY = [v["name"] for v in VECTORS if v["legacy"]]
JSON_VALUED = {"x-amz-matdesc", "x-amz-t", "x-amz-m"}
WRAPPED_KEY_NAMES = ("x-amz-key", "x-amz-key-v2", "x-amz-3")
OAEP_SHA1 = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
PEER = "amazon-s3-encryption-client-python"


# ------------------------------------------------------------------ stand-ins


class Replay:
    """A random source that hands out the vector's fixed values, in order, by length."""

    def __init__(self, draws: list[bytes]) -> None:
        self.draws = list(draws)

    def __call__(self, length: int) -> bytes:
        assert self.draws, f"s3cse drew {length} random bytes beyond the vector's fixed ones"
        value = self.draws.pop(0)
        assert len(value) == length, f"s3cse drew {length} bytes where the vector has {len(value)}"
        return value


# ------------------------------------------------------------------ helpers


@functools.cache
def rsa_private(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def keyring_for(vector: dict[str, Any], kms: RecordedKms | None) -> Keyring:
    key = vector["master_key"]
    if key["kind"] == "kms":
        return KmsKeyring(key["key_id"], kms_client=kms)
    if key["kind"] == "aes":
        return AesKeyring(bytes.fromhex(key["key_hex"]), key["material_description"])
    pair = RsaKeyPair(private_key=rsa_private(key["private_key_pem"]))
    return RsaKeyring(pair, key["material_description"])


def read_config(vector: dict[str, Any], *, legacy: bool | None = None) -> CryptoConfig:
    legacy = vector["legacy"] if legacy is None else legacy
    if vector["format"] == "v3":
        return CryptoConfig(legacy=legacy)
    # V1/V2 do not commit to their key: reading them needs a policy that allows it.
    return CryptoConfig(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT, legacy=legacy
    )


def caller_context(vector: dict[str, Any]) -> dict[str, str]:
    key = vector["master_key"]
    return dict(key["caller_encryption_context"]) if key["kind"] == "kms" else {}


def instruction_body(vector: dict[str, Any]) -> bytes | None:
    instruction = vector["instruction_file"]
    return None if instruction is None else json.dumps(instruction).encode("utf-8")


def decrypt(
    vector: dict[str, Any], ciphertext: bytes, *, legacy: bool | None = None
) -> tuple[bytes, RecordedKms | None]:
    kms = RecordedKms(vector) if vector["master_key"]["kind"] == "kms" else None
    materials = DefaultMaterialsManager(keyring_for(vector, kms))
    plaintext = envelope.decrypt_bytes(
        ciphertext,
        vector["metadata"],
        materials,
        read_config(vector, legacy=legacy),
        instruction_file=instruction_body(vector),
        encryption_context=caller_context(vector),
    )
    return plaintext, kms


def comparable(values: dict[str, str] | None, drop: tuple[str, ...] = ()) -> Any:
    """Metadata with JSON-valued entries parsed (equal as JSON, not as text)."""
    if values is None:
        return None
    return {k: json.loads(v) if k in JSON_VALUED else v for k, v in values.items() if k not in drop}


def wrapped_key(*maps: dict[str, str] | None) -> bytes:
    merged: dict[str, str] = {}
    for m in maps:
        merged.update(m or {})
    (name,) = [n for n in WRAPPED_KEY_NAMES if n in merged]
    return base64.b64decode(merged[name])


def flip_one_byte(data: bytes) -> bytes:
    index = len(data) // 2
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


# ------------------------------------------------------------------ the vector set


def test_vector_set_covers_every_mode() -> None:
    modes = {(v["format"], v["wrap_alg"], v["content_cipher"], v["placement"]) for v in VECTORS}
    gcm, cbc = "AES/GCM/NoPadding", "AES/CBC/PKCS5Padding"
    obj, instr = "object-metadata", "instruction-file"
    required = {
        ("v1", "AES/ECB (V1)", cbc, obj),
        ("v1", "RSA/ECB/PKCS1 (V1)", cbc, obj),
        ("v2", "kms+context", gcm, obj),
        ("v2", "AES/GCM", gcm, obj),
        ("v2", "RSA-OAEP-SHA1", gcm, obj),
        ("v3", "kms+context", "115", obj),
        ("v3", "AES/GCM", "115", obj),
        ("v3", "RSA-OAEP-SHA1", "115", obj),
        ("v2", "AESWrap", gcm, obj),
        ("v2", "AESWrap", cbc, obj),
        ("v2", "kms", gcm, obj),
        ("v2", "RSA/ECB/OAEPWithSHA-256AndMGF1Padding", gcm, obj),
        ("v2", "AES/GCM", gcm, instr),
        ("v2", "kms+context", gcm, instr),
        ("v3", "AES/GCM", "115", instr),
        ("v3", "kms+context", "115", instr),
    }
    assert required <= modes, sorted(required - modes)
    for v in VECTORS:
        assert v["note"].startswith(
            ("produced by ", "built from the published byte layout with cryptography")
        ), v["name"]
    # The KMS kms+context vectors in object metadata come from the official peer.
    peer_made = {v["name"] for v in VECTORS if v["producer"].startswith(PEER)}
    assert peer_made == {
        v["name"]
        for v in VECTORS
        if v["wrap_alg"] == "kms+context" and v["placement"] == "object-metadata"
    }
    assert len(peer_made) >= 8


# ------------------------------------------------------------------ decrypt


@pytest.mark.parametrize("name", list(BY_NAME))
def test_s3cse_decrypts_vector(name: str) -> None:
    vector = BY_NAME[name]
    plaintext, kms = decrypt(vector, bytes.fromhex(vector["ciphertext_hex"]))
    assert plaintext == bytes.fromhex(vector["plaintext_hex"])
    if kms is not None:
        assert kms.decrypt_calls == 1


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_vector_needs_legacy_mode(name: str) -> None:
    vector = BY_NAME[name]
    with pytest.raises(LegacyModeDisabledError):
        decrypt(vector, bytes.fromhex(vector["ciphertext_hex"]), legacy=False)


@pytest.mark.parametrize("name", list(BY_NAME))
def test_flipped_ciphertext_byte_fails(name: str) -> None:
    vector = BY_NAME[name]
    tampered = flip_one_byte(bytes.fromhex(vector["ciphertext_hex"]))
    expected = bytes.fromhex(vector["plaintext_hex"])
    if vector["content_cipher"] == "AES/CBC/PKCS5Padding":
        # Unauthenticated: a bad padding is detected, anything else decrypts to garbage.
        try:
            plaintext, _ = decrypt(vector, tampered)
        except AuthenticationError:
            return
        assert plaintext != expected
        return
    with pytest.raises(TagMismatchError):
        decrypt(vector, tampered)


# ------------------------------------------------------------------ encrypt


def fixed_draws(vector: dict[str, Any]) -> list[bytes]:
    """What s3cse's encryptor draws, in order: data key and wrap IV (raw keyrings), then
    the content IV (V2) or message id (V3)."""
    rand = vector["fixed_random"]
    kind = vector["master_key"]["kind"]
    names = {"aes": ["data_key_hex", "wrap_iv_hex"], "rsa": ["data_key_hex"], "kms": []}[kind]
    names.append("message_id_hex" if vector["format"] == "v3" else "content_iv_hex")
    return [bytes.fromhex(rand[n]) for n in names]


def write_config(vector: dict[str, Any]) -> CryptoConfig:
    return CryptoConfig(
        format=vector["format"], instruction_file=vector["placement"] == "instruction-file"
    )


@pytest.mark.parametrize("name", WRITABLE)
def test_s3cse_encrypts_to_the_same_bytes(name: str) -> None:
    vector = BY_NAME[name]
    kind = vector["master_key"]["kind"]
    kms = RecordedKms(vector) if kind == "kms" else None
    replay = Replay(fixed_draws(vector))
    ciphertext, metadata, instruction = envelope.encrypt_bytes(
        bytes.fromhex(vector["plaintext_hex"]),
        DefaultMaterialsManager(keyring_for(vector, kms)),
        write_config(vector),
        caller_context(vector),
        rng=replay,
    )
    assert replay.draws == [], "s3cse did not use every fixed random value"
    if kms is not None:
        assert kms.generate_calls == 1
    assert ciphertext.hex() == vector["ciphertext_hex"]
    expected_md, expected_instr = vector["metadata"], vector["instruction_file"]
    if kind != "rsa":
        assert comparable(metadata) == comparable(expected_md)
        assert comparable(instruction) == comparable(expected_instr)
        return
    # RSA-OAEP is randomized: all but the wrapped key is equal; the wrapped key unwraps.
    assert comparable(metadata, WRAPPED_KEY_NAMES) == comparable(expected_md, WRAPPED_KEY_NAMES)
    assert comparable(instruction, WRAPPED_KEY_NAMES) == comparable(
        expected_instr, WRAPPED_KEY_NAMES
    )
    assert set(metadata) | set(instruction or {}) == set(expected_md) | set(expected_instr or {})
    pseudo = rsa_private(vector["master_key"]["private_key_pem"]).decrypt(
        wrapped_key(metadata, instruction), OAEP_SHA1
    )
    binding = b"115" if vector["format"] == "v3" else b"AES/GCM/NoPadding"
    data_key = bytes.fromhex(vector["fixed_random"]["data_key_hex"])
    assert pseudo == bytes([len(data_key)]) + data_key + binding
