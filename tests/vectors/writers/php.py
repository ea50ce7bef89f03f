"""PHP: the S3EncryptionClient V1, V2 and V3 (docs/writers.md section 7)."""

from __future__ import annotations

import hashlib
from typing import Any

import spellings
from layouts import (
    CBC,
    GCM,
    KMS_KEY_ID,
    RESERVED,
    Vector,
    b64,
    plaintext_for,
)

from .base import (
    DOT_INSTRUCTION,
    Content,
    Draws,
    Stored,
    kms_master,
    make,
    v2_content,
    v3_content,
)

ROW_PHP = "PHP V1/V2/V3, metadata, KeySize 256"
ROW_PHP_KEYSIZE = "PHP V1 KeySize 128/192, V2 KeySize 128"
ROW_PHP_IF = "PHP V1/V2 instruction file; PHP V3 client, suite 114, instruction file"
ROW_PHP_V3_115 = "PHP V3 client, suite 115"

PHP_V1 = (
    "aws/aws-sdk-php (src/Crypto/EncryptionTrait.php, src/Crypto/KmsMaterialsProvider.php, "
    "src/S3/Crypto/HeadersMetadataStrategy.php, src/S3/Crypto/"
    "InstructionFileMetadataStrategy.php)"
)
PHP_V2 = (
    "aws/aws-sdk-php (src/Crypto/EncryptionTraitV2.php, src/Crypto/KmsMaterialsProviderV2.php "
    "returning UpdatedContext, src/S3/Crypto/HeadersMetadataStrategy.php, "
    "src/S3/Crypto/InstructionFileMetadataStrategy.php)"
)
PHP_V3 = (
    "aws/aws-sdk-php (src/Crypto/EncryptionTraitV3.php, src/S3/Crypto/"
    "HeadersMetadataStrategy.php, src/S3/Crypto/InstructionFileMetadataStrategy.php)"
)


def php_envelope(
    client: str, content: Content, blob: bytes, plaintext: bytes, context: dict[str, str]
) -> dict[str, Any]:
    """The MetadataEnvelope in PHP's insertion order, integers where PHP has integers."""
    if client == "v3-115":
        assert content.commitment is not None and content.message_id is not None
        return {
            "x-amz-3": b64(blob),
            "x-amz-c": 115,
            "x-amz-t": spellings.php(context),
            "x-amz-w": "12",
            "x-amz-d": b64(content.commitment),
            "x-amz-i": b64(content.message_id),
        }
    envelope: dict[str, Any] = {
        "x-amz-key-v2": b64(blob),
        "x-amz-iv": b64(content.iv or b""),
        "x-amz-wrap-alg": "kms" if client == "v1" else "kms+context",
        "x-amz-cek-alg": content.cipher,
        # V3 casts the length to a string; V1 and V2 keep the integer
        "x-amz-unencrypted-content-length": str(len(plaintext))
        if client == "v3"
        else len(plaintext),
    }
    if client == "v1":  # base64 of the hex MD5 text
        envelope["x-amz-unencrypted-content-md5"] = b64(hashlib.md5(plaintext).hexdigest().encode())
    envelope["x-amz-matdesc"] = spellings.php(context)
    if content.cipher == GCM:
        envelope["x-amz-tag-len"] = 128  # an integer in every client (V3: "16" * 8)
    return envelope


def vectors() -> list[Vector]:
    made: list[Vector] = []
    cases = [
        # (name, row, client, cipher, key bits, size, instruction file)
        ("writer-php-v1-kms-gcm-17", ROW_PHP, "v1", GCM, 256, 17, False),
        ("writer-php-v1-kms-cbc-100", ROW_PHP, "v1", CBC, 256, 100, False),
        ("writer-php-v2-kms-context-1", ROW_PHP, "v2", GCM, 256, 1, False),
        ("writer-php-v3-v2-kms-context-17", ROW_PHP, "v3", GCM, 256, 17, False),
        ("writer-php-v1-kms-gcm-aes128-17", ROW_PHP_KEYSIZE, "v1", GCM, 128, 17, False),
        ("writer-php-v1-kms-cbc-aes192-100", ROW_PHP_KEYSIZE, "v1", CBC, 192, 100, False),
        ("writer-php-v2-kms-context-aes128-1", ROW_PHP_KEYSIZE, "v2", GCM, 128, 1, False),
        ("writer-php-v1-kms-gcm-if-17", ROW_PHP_IF, "v1", GCM, 256, 17, True),
        ("writer-php-v1-kms-cbc-aes128-if-1", ROW_PHP_IF, "v1", CBC, 128, 1, True),
        ("writer-php-v2-kms-context-if-100", ROW_PHP_IF, "v2", GCM, 256, 100, True),
        ("writer-php-v3-v2-kms-context-if-1", ROW_PHP_IF, "v3", GCM, 256, 1, True),
        ("writer-php-v3-v3-kms-context-17", ROW_PHP_V3_115, "v3-115", "115", 256, 17, False),
        ("writer-php-v3-v3-kms-context-if-1", ROW_PHP_V3_115, "v3-115", "115", 256, 1, True),
    ]
    for name, row, client, cipher, bits, size, instruction in cases:
        draws, plaintext = Draws(name), plaintext_for(name, size)
        if client == "v3-115":
            content = v3_content(draws, plaintext, kms=True, zero_iv=True)
        else:
            content = v2_content(draws, plaintext, cipher, key_length=bits // 8, kms=True)
        if client == "v1":  # KmsMaterialsProvider: the description is the context
            caller: dict[str, str] = {}
            context = {"kms_cmk_id": KMS_KEY_ID}
        else:  # the caller's context first, then the reserved key
            caller = {"team": "a/b"}
            context = {**caller, RESERVED: "115" if client == "v3-115" else GCM}
        blob, master = kms_master(name, content, context, caller)
        envelope = php_envelope(client, content, blob, plaintext, context)
        if instruction:
            object_only = {"x-amz-c", "x-amz-d", "x-amz-i"}
            object_md = {k: str(v) for k, v in envelope.items() if k in object_only}
            body = spellings.php({k: v for k, v in envelope.items() if k not in object_only})
            stored = Stored(object_md, DOT_INSTRUCTION, {}, body)
            how = "instruction file (json_encode, numbers kept, no marker)"
        else:  # the S3 client sends integers as their decimal text
            stored = Stored({k: str(v) for k, v in envelope.items()})
            how = "object metadata"
        refused = None
        if client == "v3-115":
            refused = (
                "TagMismatchError",
                "authentication tag does not match",
                "the version read encrypts suite 115 content with an all-zero IV instead "
                "of the format's twelve 0x01 bytes, so the tag cannot verify",
            )
        label = {"v1": "S3EncryptionClient", "v2": "S3EncryptionClientV2"}.get(
            client, "S3EncryptionClientV3"
        )
        suite = {"v3": ", suite 114", "v3-115": ", suite 115"}.get(client, "")
        made.append(
            make(
                name,
                row,
                f"PHP {label}{suite}, KMS, content {cipher}, KeySize {bits}, {how}",
                {"v1": PHP_V1, "v2": PHP_V2}.get(client, PHP_V3),
                "section 7",
                draws=draws,
                plaintext=plaintext,
                content=content,
                wrap_alg="kms" if client == "v1" else "kms+context",
                master_key=master,
                stored=stored,
                refused=refused,
            )
        )
    return made
