"""Ruby: Aws::S3::Encryption::Client and Aws::S3::EncryptionV2::Client
(docs/writers.md section 8)."""

from __future__ import annotations

from typing import Any

import spellings
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from layouts import (
    CBC,
    GCM,
    KMS_KEY_ID,
    RESERVED,
    RsaMaterial,
    Vector,
    b64,
    ecb_wrap,
    plaintext_for,
)

from .base import (
    DOT_INSTRUCTION,
    Draws,
    Stored,
    aes_master,
    kms_master,
    length,
    make,
    raw_wrap,
    rsa_master,
    rsa_wrap,
    v2_content,
)

ROW_RUBY = "Ruby V1, V2, metadata and instruction file"

RUBY_V1 = (
    "aws/aws-sdk-ruby (gems/aws-sdk-s3/lib/aws-sdk-s3/encryption/encrypt_handler.rb, "
    "default_cipher_provider.rb, kms_cipher_provider.rb, utils.rb)"
)
RUBY_V2 = (
    "aws/aws-sdk-ruby (gems/aws-sdk-s3/lib/aws-sdk-s3/encryptionV2/encrypt_handler.rb, "
    "default_cipher_provider.rb, kms_cipher_provider.rb, utils.rb)"
)


def vectors(rsa_material: RsaMaterial) -> list[Vector]:
    made: list[Vector] = []
    not_strings = (
        "MetadataError",
        "must be a JSON object of strings",
        "the caller's description is stored verbatim and a number in it has no string "
        "form that every reader agrees on",
    )
    cases = [
        # (name, client, key kind, size, instruction file, stored description)
        ("writer-ruby-v1-aes-17", "v1", "aes", 17, False, "{}"),
        ("writer-ruby-v1-rsa-100", "v1", "rsa", 100, False, "{}"),
        ("writer-ruby-v1-kms-1", "v1", "kms", 1, False, None),
        ("writer-ruby-v1-aes-if-17", "v1", "aes", 17, True, '{"purpose":"vectors"}'),
        ("writer-ruby-v1-aes-number-matdesc-17", "v1", "aes", 17, False, '{"n":1}'),
        ("writer-ruby-v2-aes-gcm-17", "v2", "aes", 17, False, "{}"),
        ("writer-ruby-v2-rsa-oaep-sha1-1", "v2", "rsa", 1, False, "{}"),
        ("writer-ruby-v2-kms-context-100", "v2", "kms", 100, False, None),
        ("writer-ruby-v2-aes-gcm-if-17", "v2", "aes", 17, True, "{}"),
        ("writer-ruby-v2-aes-gcm-number-matdesc-if-1", "v2", "aes", 1, True, '{"n":1}'),
    ]
    for name, client, kind, size, instruction, description in cases:
        draws, plaintext = Draws(name), plaintext_for(name, size)
        cipher = CBC if client == "v1" else GCM
        content = v2_content(draws, plaintext, cipher, kms=kind == "kms")
        readable = description is None or description in ("{}", '{"purpose":"vectors"}')
        keyring_description = (
            {"purpose": "vectors"} if description == '{"purpose":"vectors"}' else {}
        )
        envelope: dict[str, Any]
        if kind == "kms" and client == "v1":
            context = {"kms_cmk_id": KMS_KEY_ID}
            blob, master = kms_master(name, content, context, {})
            wrap = "kms"
            envelope = {
                "x-amz-key-v2": b64(blob),
                "x-amz-iv": b64(content.iv or b""),
                "x-amz-cek-alg": CBC,
                "x-amz-wrap-alg": "kms",
                "x-amz-matdesc": spellings.ruby(context),
            }
        elif kind == "kms":  # the reserved key first, then the caller's context
            caller = {"department": "finance"}
            context = {RESERVED: GCM, **caller}
            blob, master = kms_master(name, content, context, caller)
            wrap = "kms+context"
            envelope = {
                "x-amz-key-v2": b64(blob),
                "x-amz-iv": b64(content.iv or b""),
                "x-amz-cek-alg": GCM,
                "x-amz-tag-len": "128",
                "x-amz-wrap-alg": "kms+context",
                "x-amz-matdesc": spellings.ruby(context),
            }
        elif client == "v1":  # DefaultCipherProvider: x-amz-key, the description verbatim
            assert description is not None
            if kind == "aes":
                kek, master = aes_master(name, keyring_description)
                edk, wrap = ecb_wrap(kek, content.data_key), "AES/ECB (V1)"
            else:
                master = rsa_master(rsa_material, keyring_description)
                edk = rsa_wrap(rsa_material, name, content.data_key, rsa_padding.PKCS1v15())
                wrap = "RSA/ECB/PKCS1 (V1)"
            envelope = {
                "x-amz-key": b64(edk),
                "x-amz-iv": b64(content.iv or b""),
                "x-amz-matdesc": description,
            }
        else:  # EncryptionV2 DefaultCipherProvider: x-amz-tag-len is the Integer 16 * 8
            assert description is not None
            edk, wrap, master = raw_wrap(
                kind, name, draws, content, rsa_material, keyring_description
            )
            envelope = {
                "x-amz-key-v2": b64(edk),
                "x-amz-cek-alg": GCM,
                "x-amz-tag-len": 128,
                "x-amz-wrap-alg": wrap,
                "x-amz-iv": b64(content.iv or b""),
                "x-amz-matdesc": description,
            }
        if instruction:  # no marker; the length is set on the object in both modes
            stored = Stored(length(plaintext), DOT_INSTRUCTION, {}, spellings.ruby(envelope))
            how = "instruction file (Json.dump, no marker)"
        else:
            stored = Stored({**{k: str(v) for k, v in envelope.items()}, **length(plaintext)})
            how = "object metadata"
        label = "Aws::S3::Encryption::Client" if client == "v1" else "Aws::S3::EncryptionV2::Client"
        made.append(
            make(
                name,
                ROW_RUBY,
                f"{label}, {kind.upper()} key, wrap {wrap}, {how}"
                + ("" if readable else f", material description {description}"),
                RUBY_V1 if client == "v1" else RUBY_V2,
                "section 8",
                draws=draws,
                plaintext=plaintext,
                content=content,
                wrap_alg=wrap,
                master_key=master,
                stored=stored,
                refused=None if readable else not_strings,
            )
        )
    return made
