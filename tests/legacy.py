"""Build objects in the legacy formats that old AWS clients wrote, from the published
byte layouts, with ``cryptography`` directly (no s3cse code involved)."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def ecb_wrap(key: bytes, data_key: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data_key) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def v1_aes_cbc(wrapping_key: bytes, plaintext: bytes) -> tuple[bytes, dict[str, str]]:
    """V1 'EncryptionOnly': AES/ECB-wrapped key in x-amz-key, AES-CBC content."""
    data_key, iv = os.urandom(32), os.urandom(16)
    return cbc_encrypt(data_key, iv, plaintext), {
        "x-amz-key": b64(ecb_wrap(wrapping_key, data_key)),
        "x-amz-iv": b64(iv),
        "x-amz-matdesc": "{}",
        "x-amz-unencrypted-content-length": str(len(plaintext)),
    }


def v1_rsa_cbc(public_key: rsa.RSAPublicKey, plaintext: bytes) -> tuple[bytes, dict[str, str]]:
    data_key, iv = os.urandom(32), os.urandom(16)
    wrapped = public_key.encrypt(data_key, rsa_padding.PKCS1v15())
    return cbc_encrypt(data_key, iv, plaintext), {
        "x-amz-key": b64(wrapped),
        "x-amz-iv": b64(iv),
        "x-amz-matdesc": "{}",
    }


def v2_aeswrap_cbc(wrapping_key: bytes, plaintext: bytes) -> tuple[bytes, dict[str, str]]:
    data_key, iv = os.urandom(32), os.urandom(16)
    return cbc_encrypt(data_key, iv, plaintext), {
        "x-amz-key-v2": b64(aes_key_wrap(wrapping_key, data_key)),
        "x-amz-iv": b64(iv),
        "x-amz-cek-alg": "AES/CBC/PKCS5Padding",
        "x-amz-wrap-alg": "AESWrap",
        "x-amz-matdesc": "{}",
    }


def v2_aeswrap_gcm(wrapping_key: bytes, plaintext: bytes) -> tuple[bytes, dict[str, str]]:
    data_key, iv = os.urandom(32), os.urandom(12)
    return AESGCM(data_key).encrypt(iv, plaintext, None), {
        "x-amz-key-v2": b64(aes_key_wrap(wrapping_key, data_key)),
        "x-amz-iv": b64(iv),
        "x-amz-cek-alg": "AES/GCM/NoPadding",
        "x-amz-tag-len": "128",
        "x-amz-wrap-alg": "AESWrap",
        "x-amz-matdesc": "{}",
    }


def v2_kms_legacy_gcm(
    kms: Any, key_id: str, plaintext: bytes, description: dict[str, str] | None = None
) -> tuple[bytes, dict[str, str]]:
    """The V1-era 'kms' wrap: the KMS context is {"kms_cmk_id": key id} plus the writer's
    material description, if it gave one (the old Java client's KMS materials did)."""
    context = {**(description or {}), "kms_cmk_id": key_id}
    generated = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=context)
    iv = os.urandom(12)
    return AESGCM(generated["Plaintext"]).encrypt(iv, plaintext, None), {
        "x-amz-key-v2": b64(generated["CiphertextBlob"]),
        "x-amz-iv": b64(iv),
        "x-amz-cek-alg": "AES/GCM/NoPadding",
        "x-amz-tag-len": "128",
        "x-amz-wrap-alg": "kms",
        "x-amz-matdesc": json.dumps(context),
    }


# ---------------------------------------------------------------- real writers' quirks
# Each builder returns (ciphertext, object metadata, instruction file name suffix or None,
# instruction file body or None), laid out as docs/writers.md describes that writer.

Written = tuple[bytes, dict[str, str], str | None, bytes | None]


def cpp_encryption_only(wrapping_key: bytes, plaintext: bytes) -> Written:
    """C++ EncryptionOnly with an AES key: AESWrap, AES-CBC, ``x-amz-tag-len: "0"``."""
    ciphertext, md = v2_aeswrap_cbc(wrapping_key, plaintext)
    return ciphertext, {**md, "x-amz-tag-len": "0"}, None, None


def go_v1_kms_cbc_instruction_file(kms: Any, key_id: str, plaintext: bytes) -> Written:
    """Go SDK v1 s3crypto V1 client (KMS, AES-CBC) with an instruction file: every field
    written, ``x-amz-tag-len`` empty, the plaintext length in the file."""
    context = {"kms_cmk_id": key_id}
    generated = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=context)
    iv = os.urandom(16)
    fields = {
        "x-amz-key-v2": b64(generated["CiphertextBlob"]),
        "x-amz-iv": b64(iv),
        "x-amz-matdesc": json.dumps(context, separators=(",", ":")),
        "x-amz-wrap-alg": "kms",
        "x-amz-cek-alg": "AES/CBC/PKCS5Padding",
        "x-amz-tag-len": "",
        "x-amz-unencrypted-content-length": str(len(plaintext)),
    }
    ciphertext = cbc_encrypt(generated["Plaintext"], iv, plaintext)
    return ciphertext, {}, ".instruction", json.dumps(fields).encode()


def php_v2_aes128_instruction_file(
    kms: Any, key_id: str, plaintext: bytes, context: dict[str, str]
) -> Written:
    """PHP ``S3EncryptionClientV2`` with ``'KeySize' => 128`` and the instruction-file
    strategy: an AES-128 content key, tag length and plaintext length as JSON numbers,
    ``/`` escaped in the context as ``json_encode`` does."""
    full = {**context, "aws:x-amz-cek-alg": "AES/GCM/NoPadding"}
    generated = kms.generate_data_key(KeyId=key_id, KeySpec="AES_128", EncryptionContext=full)
    iv = os.urandom(12)
    matdesc = json.dumps(full, separators=(",", ":")).replace("/", "\\/")
    body = (
        "{"
        + f'"x-amz-key-v2":"{b64(generated["CiphertextBlob"])}",'
        + f'"x-amz-iv":"{b64(iv)}",'
        + '"x-amz-cek-alg":"AES\\/GCM\\/NoPadding",'
        + f'"x-amz-tag-len":128,"x-amz-unencrypted-content-length":{len(plaintext)},'
        + '"x-amz-wrap-alg":"kms+context",'
        + f'"x-amz-matdesc":{json.dumps(matdesc)}'
        + "}"
    )
    ciphertext = AESGCM(generated["Plaintext"]).encrypt(iv, plaintext, None)
    return ciphertext, {}, ".instruction", body.encode()


def dotnet_legacy_instruction_file(wrapping_key: bytes, plaintext: bytes) -> Written:
    """The .NET SDK's first encryption client, PutObject with an instruction file: the
    file named KEY + ``INSTRUCTION_SUFFIX``, holding only the AES/ECB-wrapped key and
    the IV (LitJson, ``EncryptedEnvelopeKey`` and ``IV``); AES-CBC content."""
    data_key, iv = os.urandom(32), os.urandom(16)
    body = json.dumps(
        {"EncryptedEnvelopeKey": b64(ecb_wrap(wrapping_key, data_key)), "IV": b64(iv)}
    )
    md = {"x-amz-unencrypted-content-length": str(len(plaintext))}
    return cbc_encrypt(data_key, iv, plaintext), md, "INSTRUCTION_SUFFIX", body.encode()
