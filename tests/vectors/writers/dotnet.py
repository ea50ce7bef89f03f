""".NET: the SDK's first encryption client and the S3 Encryption Client V2 and V4
(docs/writers.md section 5)."""

from __future__ import annotations

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
    MARKER,
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
    v2_fields,
    v3_content,
)

ROW_DOTNET_LEGACY = ".NET legacy, metadata (raw, KMS)"
ROW_DOTNET_LEGACY_IF = ".NET legacy, instruction file"
ROW_DOTNET_V2 = ".NET V2, metadata and instruction file"
ROW_DOTNET_V4 = ".NET V4, suite 115, metadata; instruction file with a raw key"
ROW_DOTNET_V4_KMS_IF = ".NET V4, suite 115, instruction file, KMS"

DOTNET_SUFFIX = "INSTRUCTION_SUFFIX"
DOTNET_LEGACY = (
    "aws/aws-sdk-net (sdk/src/Services/S3/Custom/Encryption/EncryptionUtils.cs "
    "UpdateMetadataWithEncryptionInstructions, CreateInstructionFileRequest, "
    "GenerateInstructionsForNonKMSMaterials)"
)
DOTNET_V2 = (
    "aws/amazon-s3-encryption-client-dotnet (src/EncryptionUtilsV2.cs "
    "UpdateMetadataWithEncryptionInstructionsV2, CreateInstructionFileRequestV2; "
    "src/Util/JsonUtils.cs)"
)
DOTNET_V4 = (
    "aws/amazon-s3-encryption-client-dotnet (src/EncryptionUtilsV4.cs "
    "UpdateMetadataWithEncryptionInstructionsV3, CreateInstructionFileRequestV3; "
    "src/Util/JsonUtils.cs)"
)


def vectors(rsa_material: RsaMaterial) -> list[Vector]:
    made: list[Vector] = []
    marker = {MARKER: ""}
    # The SDK's first encryption client: V1 layout for raw keys, V2 + CBC + kms for KMS.
    for kind, size, instruction in (
        ("aes", 17, False),
        ("rsa", 1, False),
        ("kms", 100, False),
        ("aes", 17, True),
        ("rsa", 100, True),
    ):
        name = f"writer-dotnet-legacy-{kind}{'-if' if instruction else ''}-{size}"
        draws, plaintext = Draws(name), plaintext_for(name, size)
        content = v2_content(draws, plaintext, CBC, kms=kind == "kms")
        if kind == "aes":
            kek, master = aes_master(name, {})
            edk, wrap = ecb_wrap(kek, content.data_key), "AES/ECB (V1)"
        elif kind == "rsa":
            master = rsa_master(rsa_material, {})
            edk = rsa_wrap(rsa_material, name, content.data_key, rsa_padding.PKCS1v15())
            wrap = "RSA/ECB/PKCS1 (V1)"
        else:
            context = {"kms_cmk_id": KMS_KEY_ID}
            edk, master = kms_master(name, content, context, {})
            wrap = "kms"
        if instruction:
            body = spellings.litjson(
                {"EncryptedEnvelopeKey": b64(edk), "IV": b64(content.iv or b"")}
            )
            stored = Stored(length(plaintext), DOTNET_SUFFIX, marker, body)
            how = (
                "instruction file named KEY + INSTRUCTION_SUFFIX holding only "
                'EncryptedEnvelopeKey and IV (marker x-amz-crypto-instr-file: "")'
            )
        else:
            if kind == "kms":
                fields = v2_fields(content, edk, "kms", spellings.litjson(context))
            else:
                fields = v2_fields(content, edk, None, "{}", key_name="x-amz-key")
            stored = Stored({**fields, **length(plaintext)})
            how = "object metadata"
        made.append(
            make(
                name,
                ROW_DOTNET_LEGACY_IF if instruction else ROW_DOTNET_LEGACY,
                f"AWS SDK for .NET AmazonS3EncryptionClient, {kind.upper()} key, {how}"
                + (
                    "; the stored description and KMS context are {kms_cmk_id} as in the "
                    "other SDKs (not re-checked in the .NET source)"
                    if kind == "kms"
                    else ""
                ),
                DOTNET_LEGACY,
                "5.1",
                draws=draws,
                plaintext=plaintext,
                content=content,
                wrap_alg=wrap,
                master_key=master,
                stored=stored,
            )
        )
    # AmazonS3EncryptionClientV2: suite 114; JsonUtils (Utf8JsonWriter) spelling.
    for kind, size, instruction in (
        ("aes-gcm", 17, False),
        ("kms-context", 1, False),
        ("rsa-oaep-sha1", 100, True),
        ("kms-context", 17, True),
    ):
        name = f"writer-dotnet-v2-{kind}{'-if' if instruction else ''}-{size}"
        draws, plaintext = Draws(name), plaintext_for(name, size)
        kms = kind == "kms-context"
        content = v2_content(draws, plaintext, GCM, kms=kms)
        if not kms:
            raw = kind.split("-")[0]
            edk, wrap, master = raw_wrap(raw, name, draws, content, rsa_material, {})
            matdesc = "{}"
        else:
            context = {"team": "r&d", RESERVED: GCM}
            edk, master = kms_master(name, content, context, {"team": "r&d"})
            wrap, matdesc = "kms+context", spellings.dotnet(context)
        fields = {
            "x-amz-tag-len": "128",
            "x-amz-key-v2": b64(edk),
            "x-amz-cek-alg": GCM,
            "x-amz-wrap-alg": wrap,
            "x-amz-iv": b64(content.iv or b""),
            "x-amz-matdesc": matdesc,
        }
        if instruction:
            stored = Stored(length(plaintext), DOT_INSTRUCTION, marker, spellings.dotnet(fields))
        else:
            stored = Stored({**fields, **length(plaintext)})
        made.append(
            make(
                name,
                ROW_DOTNET_V2,
                f"AmazonS3EncryptionClientV2, wrap {wrap}, "
                + (
                    'instruction file (marker x-amz-crypto-instr-file: "", length in the '
                    "object metadata)"
                    if instruction
                    else "object metadata"
                ),
                DOTNET_V2,
                "5.2",
                draws=draws,
                plaintext=plaintext,
                content=content,
                wrap_alg=wrap,
                master_key=master,
                stored=stored,
            )
        )
    # AmazonS3EncryptionClientV4, suite 115.
    for kind, size, instruction in (
        ("aes-gcm", 17, False),
        ("kms-context", 1, False),
        ("rsa-oaep-sha1", 100, True),
        ("kms-context", 17, True),
    ):
        name = f"writer-dotnet-v4-v3-{kind}{'-if' if instruction else ''}-{size}"
        draws, plaintext = Draws(name), plaintext_for(name, size)
        kms = kind == "kms-context"
        content = v3_content(draws, plaintext, kms=kms)
        description = "{}"  # the materials description, empty by default
        if not kms:
            raw = kind.split("-")[0]
            edk, wrap, master = raw_wrap(raw, name, draws, content, rsa_material, {})
        else:
            context = {RESERVED: "115"}
            edk, master = kms_master(name, content, context, {})
            wrap = "kms+context"
        code = {"AES/GCM": "02", "kms+context": "12", "RSA-OAEP-SHA1": "22"}[wrap]
        object_only = {
            "x-amz-c": "115",
            "x-amz-d": b64(content.commitment or b""),
            "x-amz-i": b64(content.message_id or b""),
        }
        refused = None
        if instruction:
            # CreateInstructionFileRequestV3: x-amz-m always, null for KMS materials.
            body = spellings.dotnet(
                {"x-amz-3": b64(edk), "x-amz-w": code, "x-amz-m": None if kms else description}
            )
            stored = Stored(object_only, DOT_INSTRUCTION, {}, body)
            how = "instruction file (no marker)"
            if kms:
                how += ', "x-amz-m": null and no x-amz-t'
                refused = (
                    "InstructionFileError",
                    "values must all be strings",
                    "the encryption context the data key is bound to is not stored, so no "
                    "reader can rebuild the KMS request; V3 parsing is not loosened for it",
                )
        else:
            json_map = ("x-amz-t", spellings.dotnet(context)) if kms else ("x-amz-m", description)
            stored = Stored(
                {
                    "x-amz-c": "115",
                    "x-amz-3": b64(edk),
                    "x-amz-w": code,
                    json_map[0]: json_map[1],
                    "x-amz-d": object_only["x-amz-d"],
                    "x-amz-i": object_only["x-amz-i"],
                }
            )
            how = "object metadata"
        made.append(
            make(
                name,
                ROW_DOTNET_V4_KMS_IF if kms and instruction else ROW_DOTNET_V4,
                f"AmazonS3EncryptionClientV4, suite 115, wrap {wrap}, {how}",
                DOTNET_V4,
                "5.3",
                draws=draws,
                plaintext=plaintext,
                content=content,
                wrap_alg=wrap,
                master_key=master,
                stored=stored,
                refused=refused,
            )
        )
    return made
