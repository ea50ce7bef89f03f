"""The published byte layouts the vectors are built from, with ``cryptography`` only.

Shared by ``generate.py`` (the format vectors) and ``writers/`` (one vector per real
writer and mode): fixed inputs (SHAKE-256 of a seed, the vector's name and a purpose),
the content ciphers and key wraps, and the one RSA key pair, kept stable across runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEED = b"s3cse known-answer vectors/1"
KMS_KEY_ID = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
RESERVED = "aws:x-amz-cek-alg"

GCM = "AES/GCM/NoPadding"
CBC = "AES/CBC/PKCS5Padding"
SUITE_115 = b"\x00\x73"
COMMIT_IV = b"\x01" * 12
V2_BINDING = GCM.encode()  # raw-keyring binding (AES-GCM AAD / RSA suffix), V2
V3_BINDING = b"115"  # the same for V3 (suite 115)
V3_WRAP_CODES = {"AES/GCM": "02", "kms+context": "12", "RSA-OAEP-SHA1": "22"}
OAEP_SHA1 = rsa_padding.OAEP(
    mgf=rsa_padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None
)
# Java's "RSA/ECB/OAEPWithSHA-256AndMGF1Padding": SHA-256 digest, MGF1 over SHA-1.
OAEP_SHA256_JAVA = rsa_padding.OAEP(
    mgf=rsa_padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA256(), label=None
)

Vector = dict[str, Any]


# ------------------------------------------------------------------ fixed inputs


def fixed(name: str, label: str, length: int) -> bytes:
    """Deterministic 'random' bytes for one vector and purpose."""
    return hashlib.shake_256(SEED + b"|" + name.encode() + b"|" + label.encode()).digest(length)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def compact(values: dict[str, str]) -> str:
    """A JSON map as the Java client writes it: no spaces (keys sorted, for stable files)."""
    return json.dumps(dict(sorted(values.items())), separators=(",", ":"))


# ------------------------------------------------------------------ published layouts


def cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def ecb_wrap(key: bytes, data_key: bytes) -> bytes:
    """V1 raw AES: AES/ECB/PKCS5Padding of the bare data key."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data_key) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def aes_gcm_wrap(key: bytes, iv: bytes, data_key: bytes, binding: bytes) -> bytes:
    """AES/GCM wrap: 12-byte IV || AES-GCM(key, data key, AAD=binding) || 16-byte tag."""
    return iv + AESGCM(key).encrypt(iv, data_key, binding)


def pseudo_data_key(data_key: bytes, binding: bytes) -> bytes:
    """RSA-OAEP-SHA1 plaintext: 1 length byte || data key || binding."""
    return bytes([len(data_key)]) + data_key + binding


def v3_derive(data_key: bytes, message_id: bytes) -> tuple[bytes, bytes]:
    """Suite 115: HKDF-SHA512(salt=message id) -> (content key, 28-byte commitment)."""

    def expand(label: bytes, length: int) -> bytes:
        hkdf = HKDF(hashes.SHA512(), length=length, salt=message_id, info=SUITE_115 + label)
        return hkdf.derive(data_key)

    return expand(b"DERIVEKEY", 32), expand(b"COMMITKEY", 28)


def v3_encrypt(data_key: bytes, message_id: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
    content_key, commitment = v3_derive(data_key, message_id)
    return AESGCM(content_key).encrypt(COMMIT_IV, plaintext, SUITE_115), commitment


def plaintext_for(name: str, size: int) -> bytes:
    return fixed(name, "plaintext", size)


# ------------------------------------------------------------------ RSA, kept stable


class RsaMaterial:
    """One RSA-2048 key pair for all RSA vectors, and the wrapped keys already stored."""

    def __init__(self, existing: dict[str, Vector]) -> None:
        self.existing = existing
        pem = next(
            (
                v["master_key"]["private_key_pem"]
                for v in existing.values()
                if v.get("master_key", {}).get("kind") == "rsa"
            ),
            None,
        )
        if pem is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode("ascii")
        private = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        self.pem = pem
        self.private = private

    def wrap(self, name: str, message: bytes, pad: Any, decrypt: Callable[[bytes], bytes]) -> bytes:
        """The stored wrapped key if it still unwraps to ``message``, else a fresh one."""
        old = self.existing.get(name)
        if old and old.get("master_key", {}).get("private_key_pem") == self.pem:
            for field, value in stored_fields(old).items():
                if field in WRAPPED_KEY_FIELDS:
                    wrapped = base64.b64decode(value)
                    try:
                        if decrypt(wrapped) == message:
                            return wrapped
                    except ValueError:
                        pass
        return self.private.public_key().encrypt(message, pad)


WRAPPED_KEY_FIELDS = ("x-amz-key", "x-amz-key-v2", "x-amz-3", "encryptedenvelopekey")


def stored_fields(vector: Vector) -> dict[str, Any]:
    """Every field a stored vector holds, names in lower case: its object metadata, its
    instruction file's map and, for a writer vector, its instruction file's raw body."""
    fields = {**vector["metadata"], **(vector.get("instruction_file") or {})}
    body = vector.get("instruction_file_body")
    if body is not None:
        fields.update(json.loads(body))
    return {k.lower(): v for k, v in fields.items()}
