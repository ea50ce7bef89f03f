"""Python: the official client (docs/writers.md 9.1), whose own vectors are referenced,
and aioboto3's S3CSE (9.2)."""

from __future__ import annotations

import spellings
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from layouts import (
    CBC,
    GCM,
    KMS_KEY_ID,
    RsaMaterial,
    Vector,
    ecb_wrap,
    plaintext_for,
)

from .base import (
    PRODUCER,
    Draws,
    Stored,
    aes_master,
    kms_master,
    length,
    make,
    rsa_master,
    rsa_wrap,
    v2_content,
    v2_fields,
)

ROW_PYTHON = "Python official, aioboto3"

AIOBOTO3 = "terricain/aioboto3 (aioboto3/s3/cse.py)"
OFFICIAL_PEER_VECTORS = [f"{fmt}-kms-{size}" for fmt in ("v2", "v3") for size in (0, 1, 17, 100)]


def aioboto3(rsa_material: RsaMaterial) -> list[Vector]:
    made: list[Vector] = []
    for kind, size in (("kms-gcm", 17), ("kms-cbc", 100), ("aes", 1), ("rsa", 17)):
        name = f"writer-aioboto3-{kind}-{size}"
        draws, plaintext = Draws(name), plaintext_for(name, size)
        cipher = GCM if kind == "kms-gcm" else CBC
        content = v2_content(draws, plaintext, cipher, kms=kind.startswith("kms"))
        if kind.startswith("kms"):
            context = {"kms_cmk_id": KMS_KEY_ID}
            blob, master = kms_master(name, content, context, {})
            wrap = "kms"
            md = v2_fields(content, blob, "kms", spellings.python(context))
            how = (
                "KMS, authenticated_encryption=True (AES-GCM, wrap kms)"
                if cipher == GCM
                else "KMS, default (AES-CBC)"
            )
        elif kind == "aes":
            kek, master = aes_master(name, {})
            md = v2_fields(
                content, ecb_wrap(kek, content.data_key), None, "{}", key_name="x-amz-key"
            )
            wrap, how = "AES/ECB (V1)", "symmetric key"
        else:
            master = rsa_master(rsa_material, {})
            edk = rsa_wrap(rsa_material, name, content.data_key, rsa_padding.PKCS1v15())
            md = v2_fields(content, edk, None, "{}", key_name="x-amz-key")
            wrap, how = "RSA/ECB/PKCS1 (V1)", "asymmetric key"
        made.append(
            make(
                name,
                ROW_PYTHON,
                f"aioboto3 S3CSE, {how}, object metadata",
                AIOBOTO3,
                "9.2",
                draws=draws,
                plaintext=plaintext,
                content=content,
                wrap_alg=wrap,
                master_key=master,
                stored=Stored({**md, **length(plaintext)}),
            )
        )
    return made


def official_references() -> Vector:
    """The official client's objects: its own vectors, made by running it."""
    return {
        "name": "writer-python-official-refs",
        "writer": ROW_PYTHON,
        "mode": "amazon-s3-encryption-client-python, KMS keyring, suites 114 and 115, "
        "object metadata",
        "note": "the official client's objects are the vectors it produced itself (see their "
        "notes); this file points to them instead of repeating them (docs/writers.md 9.1)",
        "producer": PRODUCER,
        "references": OFFICIAL_PEER_VECTORS,
    }
