"""What every writer module builds a vector with: fixed inputs, content, key wraps,
the V1/V2 and V3 field sets, and the fixture itself (``make``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from layouts import (
    CBC,
    GCM,
    KMS_KEY_ID,
    OAEP_SHA1,
    SUITE_115,
    V2_BINDING,
    V3_BINDING,
    RsaMaterial,
    Vector,
    aes_gcm_wrap,
    b64,
    cbc_encrypt,
    fixed,
    pseudo_data_key,
    v3_derive,
    v3_encrypt,
)

PRODUCER = "writers/ (cryptography, published layout of the named writer)"
NOTE = (
    "built from the published byte layout with cryptography (the writer itself does not "
    "run here): {what}, laid out as {source} writes it (docs/writers.md {section})"
)
MARKER = "x-amz-crypto-instr-file"
DOT_INSTRUCTION = ".instruction"
ALLOW = "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
REQUIRE = "REQUIRE_ENCRYPT_REQUIRE_DECRYPT"
LEGACY_WRAPS = frozenset(
    {
        "kms",
        "AESWrap",
        "AES/ECB (V1)",
        "RSA/ECB/PKCS1 (V1)",
        "RSA/ECB/OAEPWithSHA-256AndMGF1Padding",
        "RSA/ECB/PKCS1Padding, no x-amz-wrap-alg",
    }
)


# ------------------------------------------------------------------ one vector


@dataclass
class Draws:
    """The fixed inputs of one vector, recorded under their existing field names."""

    name: str
    recorded: dict[str, str] = field(default_factory=dict)

    def draw(self, purpose: str, length: int, *, record: bool = True) -> bytes:
        value = fixed(self.name, purpose, length)
        if record:
            self.recorded[purpose.replace(" ", "_") + "_hex"] = value.hex()
        return value


@dataclass
class Stored:
    """What the writer puts in S3: object metadata and, maybe, an instruction object."""

    metadata: dict[str, str]
    suffix: str | None = None
    instruction_metadata: dict[str, str] | None = None
    body: str | None = None


@dataclass
class Content:
    """An encrypted body and how it was made."""

    fmt: str
    cipher: str
    data_key: bytes
    ciphertext: bytes
    iv: bytes | None = None
    message_id: bytes | None = None
    commitment: bytes | None = None


def v2_content(
    draws: Draws, plaintext: bytes, cipher: str, *, key_length: int = 32, kms: bool = False
) -> Content:
    data_key = draws.draw("data key", key_length, record=not kms)
    if cipher == CBC:
        iv = draws.draw("content iv", 16)
        return Content("v2", CBC, data_key, cbc_encrypt(data_key, iv, plaintext), iv=iv)
    iv = draws.draw("content iv", 12)
    return Content("v2", GCM, data_key, AESGCM(data_key).encrypt(iv, plaintext, None), iv=iv)


def v3_content(
    draws: Draws, plaintext: bytes, *, kms: bool = False, zero_iv: bool = False
) -> Content:
    """Suite 115; ``zero_iv`` encrypts with twelve zero bytes, as PHP's V3 client does."""
    data_key = draws.draw("data key", 32, record=not kms)
    message_id = draws.draw("message id", 28)
    if zero_iv:
        content_key, commitment = v3_derive(data_key, message_id)
        ciphertext = AESGCM(content_key).encrypt(b"\x00" * 12, plaintext, SUITE_115)
    else:
        ciphertext, commitment = v3_encrypt(data_key, message_id, plaintext)
    return Content("v3", "115", data_key, ciphertext, message_id=message_id, commitment=commitment)


def aes_master(name: str, description: dict[str, str]) -> tuple[bytes, dict[str, Any]]:
    kek = fixed(name, "aes master key", 32)
    return kek, {"kind": "aes", "key_hex": kek.hex(), "material_description": description}


def rsa_master(rsa_material: RsaMaterial, description: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": "rsa",
        "private_key_pem": rsa_material.pem,
        "material_description": description,
    }


def kms_master(
    name: str, content: Content, sent: dict[str, str], caller: dict[str, str]
) -> tuple[bytes, dict[str, Any]]:
    """A recorded KMS exchange: the blob KMS answered and the context the writer sent."""
    blob = fixed(name, "kms ciphertext blob", 184)
    return blob, {
        "kind": "kms",
        "key_id": KMS_KEY_ID,
        "data_key_hex": content.data_key.hex(),
        "ciphertext_blob_hex": blob.hex(),
        "encryption_context": sent,
        "caller_encryption_context": caller,
    }


def rsa_wrap(rsa_material: RsaMaterial, name: str, message: bytes, pad: Any) -> bytes:
    return rsa_material.wrap(name, message, pad, lambda w: rsa_material.private.decrypt(w, pad))


def aes_gcm(draws: Draws, kek: bytes, content: Content) -> bytes:
    binding = V3_BINDING if content.fmt == "v3" else V2_BINDING
    return aes_gcm_wrap(kek, draws.draw("wrap iv", 12), content.data_key, binding)


def oaep_sha1(rsa_material: RsaMaterial, name: str, content: Content) -> bytes:
    binding = V3_BINDING if content.fmt == "v3" else V2_BINDING
    return rsa_wrap(rsa_material, name, pseudo_data_key(content.data_key, binding), OAEP_SHA1)


def raw_wrap(
    kind: str,
    name: str,
    draws: Draws,
    content: Content,
    rsa_material: RsaMaterial,
    description: dict[str, str],
) -> tuple[bytes, str, dict[str, Any]]:
    """A raw-key wrap as the V2/V3 writers make it: (wrapped key, wrap name, master key
    record); ``kind`` "aes" is AES/GCM, "rsa" RSA-OAEP-SHA1."""
    if kind == "aes":
        kek, master = aes_master(name, description)
        return aes_gcm(draws, kek, content), "AES/GCM", master
    master = rsa_master(rsa_material, description)
    return oaep_sha1(rsa_material, name, content), "RSA-OAEP-SHA1", master


def make(
    name: str,
    row: str,
    what: str,
    source: str,
    section: str,
    *,
    draws: Draws,
    plaintext: bytes,
    content: Content,
    wrap_alg: str,
    master_key: dict[str, Any],
    stored: Stored,
    refused: tuple[str, str, str] | None = None,
) -> Vector:
    """The fixture: ``refused`` is (error class, message fragment, why) for a row s3cse
    does not read."""
    legacy = content.cipher == CBC or wrap_alg in LEGACY_WRAPS
    vector: Vector = {
        "name": name,
        "writer": row,
        "mode": what,
        "note": NOTE.format(what=what, source=source, section=section),
        "producer": PRODUCER,
        "format": content.fmt,
        "wrap_alg": wrap_alg,
        "content_cipher": content.cipher,
        "placement": "object-metadata" if stored.body is None else "instruction-file",
        "master_key": master_key,
        "fixed_random": draws.recorded,
        "plaintext_hex": plaintext.hex(),
        "ciphertext_hex": content.ciphertext.hex(),
        "metadata": stored.metadata,
        "instruction_suffix": stored.suffix,
        "instruction_metadata": stored.instruction_metadata,
        "instruction_file_body": stored.body,
        "reader": {
            "legacy": legacy,
            "commitment_policy": REQUIRE if content.fmt == "v3" else ALLOW,
        },
        "expect": "plaintext" if refused is None else "refused",
    }
    if refused is not None:
        error, message, why = refused
        vector["refusal"] = {"error": error, "message": message, "why": why}
    return vector


# ------------------------------------------------------------------ metadata layouts


def v2_fields(
    content: Content,
    edk: bytes,
    wrap_alg: str | None,
    matdesc: str,
    *,
    key_name: str = "x-amz-key-v2",
    tag_len: str | None = None,
) -> dict[str, str]:
    """The V1/V2 fields every writer stores, in the usual order; ``tag_len`` defaults to
    "128" for AES-GCM and nothing for AES-CBC."""
    fields = {key_name: b64(edk), "x-amz-iv": b64(content.iv or b"")}
    if key_name == "x-amz-key-v2":
        fields["x-amz-cek-alg"] = content.cipher
    if wrap_alg is not None:
        fields["x-amz-wrap-alg"] = wrap_alg
    if tag_len is None and content.cipher == GCM:
        tag_len = "128"
    if tag_len is not None:
        fields["x-amz-tag-len"] = tag_len
    fields["x-amz-matdesc"] = matdesc
    return fields


def v3_fields(
    content: Content, edk: bytes, code: str, context: tuple[str, str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """(object-only keys x-amz-c/d/i, key keys x-amz-3/w and x-amz-t or x-amz-m)."""
    assert content.commitment is not None and content.message_id is not None
    object_only = {
        "x-amz-c": "115",
        "x-amz-d": b64(content.commitment),
        "x-amz-i": b64(content.message_id),
    }
    key = {"x-amz-3": b64(edk), "x-amz-w": code}
    if context is not None:
        key[context[0]] = context[1]
    return object_only, key


def canonical(name: str) -> str:
    """Go's ``http.CanonicalHeaderKey``: ``x-amz-key-v2`` -> ``X-Amz-Key-V2``."""
    return "-".join(part.capitalize() for part in name.split("-"))


def length(plaintext: bytes) -> dict[str, str]:
    return {"x-amz-unencrypted-content-length": str(len(plaintext))}
