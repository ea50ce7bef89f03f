"""The writer vectors (``tests/vectors/writer-*.json``, made by ``tests/vectors/writers/``):
loading them, and what a reader of each needs.

A vector is one object as a real writer stores it (docs/writers.md section 10). The
reference file for the official Python client is expanded here into the vectors it
names, given the same shape, so that every test runs over one list.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from s3cse import errors
from s3cse.core.config import CryptoConfig
from s3cse.core.materials import Keyring
from s3cse.core.metadata import DEFAULT_INSTRUCTION_SUFFIX
from s3cse.core.suites import CommitmentPolicy
from s3cse.keyrings import AesKeyring, AsyncKmsKeyring, KmsKeyring, RsaKeyPair, RsaKeyring

from .recorded_kms import AsyncRecordedKms, RecordedKms

VECTOR_DIR = Path(__file__).resolve().parent / "vectors"
ALLOW = "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
REQUIRE = "REQUIRE_ENCRYPT_REQUIRE_DECRYPT"

Vector = dict[str, Any]


def _read(name: str) -> Vector:
    data: Vector = json.loads((VECTOR_DIR / f"{name}.json").read_text())
    return data


def _from_reference(refs: Vector, name: str) -> Vector:
    """A format vector made by a real writer, in the writer vectors' shape."""
    made = _read(name)
    instruction = made["instruction_file"]
    return {
        **made,
        "name": f"{refs['name']}/{name}",
        "writer": refs["writer"],
        "mode": refs["mode"],
        "instruction_suffix": None if instruction is None else DEFAULT_INSTRUCTION_SUFFIX,
        "instruction_metadata": None if instruction is None else {},
        "instruction_file_body": None if instruction is None else json.dumps(instruction),
        "reader": {
            "legacy": made["legacy"],
            "commitment_policy": REQUIRE if made["format"] == "v3" else ALLOW,
        },
        "expect": "plaintext",
    }


@functools.cache
def load() -> tuple[Vector, ...]:
    vectors: list[Vector] = []
    for path in sorted(VECTOR_DIR.glob("writer-*.json")):
        data: Vector = json.loads(path.read_text())
        if "references" in data:
            vectors += [_from_reference(data, name) for name in data["references"]]
        else:
            vectors.append(data)
    return tuple(vectors)


def by_name() -> dict[str, Vector]:
    return {v["name"]: v for v in load()}


def names(*, expect: str | None = None, legacy: bool | None = None) -> list[str]:
    return [
        v["name"]
        for v in load()
        if (expect is None or v["expect"] == expect)
        and (legacy is None or v["reader"]["legacy"] == legacy)
    ]


def plaintext(vector: Vector) -> bytes:
    return bytes.fromhex(vector["plaintext_hex"])


def ciphertext(vector: Vector) -> bytes:
    return bytes.fromhex(vector["ciphertext_hex"])


def reader_options(vector: Vector) -> dict[str, Any]:
    """What a client needs to read the vector (``EncryptionClient(..., **options)``)."""
    return dict(vector["reader"])


def crypto_config(vector: Vector, *, legacy: bool | None = None) -> CryptoConfig:
    reader = vector["reader"]
    return CryptoConfig(
        commitment_policy=CommitmentPolicy[reader["commitment_policy"]],
        legacy=reader["legacy"] if legacy is None else legacy,
    )


def caller_context(vector: Vector) -> dict[str, str] | None:
    """The encryption context a reader names (KMS objects only; None: none)."""
    key = vector["master_key"]
    if key["kind"] != "kms" or not key["caller_encryption_context"]:
        return None
    return dict(key["caller_encryption_context"])


@functools.cache
def _rsa_private(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def raw_keyring(vector: Vector) -> Keyring:
    key = vector["master_key"]
    if key["kind"] == "aes":
        return AesKeyring(bytes.fromhex(key["key_hex"]), key["material_description"])
    assert key["kind"] == "rsa", key["kind"]
    pair = RsaKeyPair(private_key=_rsa_private(key["private_key_pem"]))
    return RsaKeyring(pair, key["material_description"])


def keyring(vector: Vector) -> tuple[Keyring, RecordedKms | None]:
    """The sync client's keyring, and its recorded KMS (None for raw keys)."""
    key = vector["master_key"]
    if key["kind"] != "kms":
        return raw_keyring(vector), None
    kms = RecordedKms(vector)
    return KmsKeyring(key["key_id"], kms_client=kms), kms


def async_keyring(vector: Vector) -> tuple[Keyring, AsyncRecordedKms | None]:
    """The async client's keyring, and its recorded KMS (None for raw keys)."""
    key = vector["master_key"]
    if key["kind"] != "kms":
        return raw_keyring(vector), None
    kms = AsyncRecordedKms(vector)
    return AsyncKmsKeyring(key["key_id"], kms_client=kms), kms


def refusal(vector: Vector) -> tuple[type[Exception], str]:
    """The s3cse error a refused vector raises, and a fragment of its message."""
    refused = vector["refusal"]
    error: type[Exception] = getattr(errors, refused["error"])
    return error, refused["message"]


def empty_values(vector: Vector) -> dict[str, list[str]]:
    """The metadata names with an empty value: {"object": [...], "instruction": [...]}."""
    found = {
        "object": [k for k, v in vector["metadata"].items() if v == ""],
        "instruction": [k for k, v in (vector["instruction_metadata"] or {}).items() if v == ""],
    }
    return {where: keys for where, keys in found.items() if keys}
