"""Go: the SDK v1 s3crypto clients and the Go S3 Encryption Client v4 (docs/writers.md
section 4)."""

from __future__ import annotations

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
    Draws,
    Stored,
    canonical,
    kms_master,
    length,
    make,
    v2_content,
    v2_fields,
    v3_content,
    v3_fields,
)

ROW_GO_V1 = "Go v1, metadata, GCM or CBC"
ROW_GO_V1_IF_CBC = "Go v1, instruction file, CBC"
ROW_GO_V1_IF_GCM = "Go v1, instruction file, GCM"
ROW_GO_V4 = "Go S3EC v4"

GO_V1 = (
    "aws/aws-sdk-go s3crypto (service/s3/s3crypto/strategy.go HeaderV2SaveStrategy and "
    "S3SaveStrategy, envelope.go, kms_key_handler.go, kms_context_key_handler.go)"
)
GO_V1_BEFORE_1743 = (
    "aws/aws-sdk-go s3crypto before pull request #1743 (service/s3/s3crypto/strategy.go "
    "HeaderV2SaveStrategy set x-amz-tag-len unconditionally; issue #1742, SDK 1.12.65)"
)
GO_V4 = (
    "aws/amazon-s3-encryption-client-go (v4/internal/object_metadata.go EncodeMetaV2, "
    "EncodeMetaV3; v4/materials/kms_keyring.go) sent by the Go SDK v2, which drops "
    "empty metadata values"
)


def vectors() -> list[Vector]:
    made: list[Vector] = []
    v1_context = {"kms_cmk_id": KMS_KEY_ID}
    v2client_context = {"team": "r&d", RESERVED: GCM}
    cases = [
        # (name, row, client, cipher, size, instruction file, tag-len header before #1743)
        ("writer-go-v1-kms-gcm-17", ROW_GO_V1, "v1", GCM, 17, False, False),
        ("writer-go-v1-kms-cbc-100", ROW_GO_V1, "v1", CBC, 100, False, False),
        ("writer-go-v1-v2client-kms-context-1", ROW_GO_V1, "v2", GCM, 1, False, False),
        ("writer-go-v1-before-1743-kms-cbc-17", ROW_GO_V1, "v1", CBC, 17, False, True),
        ("writer-go-v1-kms-cbc-if-17", ROW_GO_V1_IF_CBC, "v1", CBC, 17, True, False),
        ("writer-go-v1-kms-gcm-if-100", ROW_GO_V1_IF_GCM, "v1", GCM, 100, True, False),
        ("writer-go-v1-v2client-kms-context-if-0", ROW_GO_V1_IF_GCM, "v2", GCM, 0, True, False),
    ]
    for name, row, client, cipher, size, instruction, empty_tag_len in cases:
        draws, plaintext = Draws(name), plaintext_for(name, size)
        content = v2_content(draws, plaintext, cipher, kms=True)
        if client == "v1":
            context, caller, wrap = v1_context, {}, "kms"
        else:
            context, caller, wrap = v2client_context, {"team": "r&d"}, "kms+context"
        blob, master = kms_master(name, content, context, caller)
        tag_len = "128" if cipher == GCM else ""
        # The Envelope struct, in declaration order: every field, empty ones too.
        envelope = {
            "x-amz-iv": b64(content.iv or b""),
            "x-amz-key-v2": b64(blob),
            "x-amz-matdesc": spellings.go_map(context),
            "x-amz-wrap-alg": wrap,
            "x-amz-cek-alg": cipher,
            "x-amz-tag-len": tag_len,
            "x-amz-unencrypted-content-length": str(size),
        }
        if instruction:  # S3SaveStrategy: no marker, no object metadata
            stored = Stored({}, DOT_INSTRUCTION, {}, spellings.go_struct(envelope))
            how = "instruction file (json.Marshal of the Envelope, no marker)"
        else:  # HeaderV2SaveStrategy: canonical header names
            keep = [k for k in envelope if k != "x-amz-tag-len" or tag_len or empty_tag_len]
            stored = Stored({canonical(k): envelope[k] for k in keep})
            how = "object metadata" + (
                ' with the empty X-Amz-Tag-Len: "" sent before the fix' if empty_tag_len else ""
            )
        builder = (
            "NewEncryptionClient + AESGCMContentCipherBuilder + NewKMSKeyGenerator"
            if client == "v1" and cipher == GCM
            else "NewEncryptionClient + AESCBCContentCipherBuilder + NewKMSKeyGenerator"
            if client == "v1"
            else "NewEncryptionClientV2 + AESGCMContentCipherBuilderV2 + NewKMSContextKeyGenerator"
        )
        made.append(
            make(
                name,
                row,
                f"Go SDK v1 s3crypto {builder}, {how}",
                GO_V1_BEFORE_1743 if empty_tag_len else GO_V1,
                "4.1, 4.2",
                draws=draws,
                plaintext=plaintext,
                content=content,
                wrap_alg=wrap,
                master_key=master,
                stored=stored,
            )
        )
    # The Go S3 Encryption Client v4: KMS only, object metadata only.
    for name, fmt, size, caller in (
        ("writer-go-v4-v2-kms-context-17", "v2", 17, {"department": "finance"}),
        ("writer-go-v4-v3-kms-context-100", "v3", 100, {"department": "finance"}),
    ):
        draws, plaintext = Draws(name), plaintext_for(name, size)
        content = (
            v3_content(draws, plaintext, kms=True)
            if fmt == "v3"
            else v2_content(draws, plaintext, GCM, kms=True)
        )
        context = {**caller, RESERVED: "115" if fmt == "v3" else GCM}
        blob, master = kms_master(name, content, context, caller)
        if fmt == "v3":
            object_only, key = v3_fields(
                content, blob, "12", ("x-amz-t", spellings.go_map(context))
            )
            md = {**key, **object_only}
        else:
            md = {
                **v2_fields(content, blob, "kms+context", spellings.go_map(context)),
                **length(plaintext),
            }
        made.append(
            make(
                name,
                ROW_GO_V4,
                f"Go S3 Encryption Client v4, KMS keyring, suite {115 if fmt == 'v3' else 114}, "
                "object metadata"
                + (
                    " (the empty x-amz-m and length of the request map are not sent)"
                    if fmt == "v3"
                    else ""
                ),
                GO_V4,
                "4.3",
                draws=draws,
                plaintext=plaintext,
                content=content,
                wrap_alg="kms+context",
                master_key=master,
                stored=Stored(md),
            )
        )
    return made
