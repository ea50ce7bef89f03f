"""Java: the SDK v1 clients (docs/writers.md section 1), the Java S3 Encryption Client
v3/v4 (section 2) and Hadoop S3A, which writes through it (section 3)."""

from __future__ import annotations

import spellings
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from layouts import (
    CBC,
    GCM,
    KMS_KEY_ID,
    OAEP_SHA256_JAVA,
    RESERVED,
    RsaMaterial,
    Vector,
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
    v3_fields,
)

ROW_JAVA_EO_RAW = "Java v1 EO, raw key, metadata"
ROW_JAVA_EO_KMS = "Java v1 EO, KMS"
ROW_JAVA_AE = "Java v1 AE/Strict, raw and KMS"
ROW_JAVA_RSA_NO_WRAP = "Java v1 EO, RSA without an OAEP wrap"
ROW_JAVA_IF = "Java v1 / V2 client, instruction files"
ROW_JAVA_S3EC = "Java S3EC v3/v4, all modes and instruction files"

JAVA_V1 = (
    "aws/aws-sdk-java (aws-java-sdk-s3/src/main/java/com/amazonaws/services/s3/: "
    "internal/crypto/v1/ContentCryptoMaterial.java toObjectMetadata, toObjectMetadataEO, "
    "toJsonString; internal/crypto/v1/S3CryptoModuleBase.java)"
)
JAVA_V1_V2CLIENT = (
    "aws/aws-sdk-java AmazonS3EncryptionClientV2 (aws-java-sdk-s3/src/main/java/com/amazonaws/"
    "services/s3/internal/crypto/v2/ContentCryptoMaterial.java, S3CryptoModuleBase.java, "
    "KMSMaterialsHandler.java)"
)
JAVA_S3EC = (
    "aws/amazon-s3-encryption-client-java v4.0.1 (src/main/java/software/amazon/encryption/"
    "s3/internal/ContentMetadataEncodingStrategy.java, MetadataKeyConstants.java, "
    "InstructionFileConfig.java)"
)
S3A = (
    "apache/hadoop S3A CSE-KMS (hadoop-tools/hadoop-aws/src/main/java/org/apache/hadoop/fs/"
    "s3a/impl/CSEUtils.java) through the Java S3 Encryption Client v3"
)


def sdk_v1(rsa_material: RsaMaterial) -> list[Vector]:
    made: list[Vector] = []
    # EncryptionOnly, raw AES and RSA keys: V1 layout, x-amz-key, no algorithm names.
    for kind, size in (("aes", 17), ("rsa", 100)):
        name = f"writer-java-v1-eo-{kind}-{size}"
        draws, plaintext = Draws(name), plaintext_for(name, size)
        content = v2_content(draws, plaintext, CBC)
        if kind == "aes":
            kek, master = aes_master(name, {})
            edk, wrap = ecb_wrap(kek, content.data_key), "AES/ECB (V1)"
        else:
            master = rsa_master(rsa_material, {})
            edk = rsa_wrap(rsa_material, name, content.data_key, rsa_padding.PKCS1v15())
            wrap = "RSA/ECB/PKCS1 (V1)"
        md = {**v2_fields(content, edk, None, "{}", key_name="x-amz-key"), **length(plaintext)}
        made.append(
            make(
                name,
                ROW_JAVA_EO_RAW,
                f"AmazonS3EncryptionClient, EncryptionOnly, raw {kind.upper()} key, object "
                "metadata (V1: x-amz-key, no wrap or content algorithm names)",
                JAVA_V1,
                "1.1",
                draws=draws,
                plaintext=plaintext,
                content=content,
                wrap_alg=wrap,
                master_key=master,
                stored=Stored(md),
            )
        )
    # EncryptionOnly with KMS: the V2 layout, AES-CBC, wrap "kms"; the context is the
    # stored description (kms_cmk_id merged with the request's own description).
    name = "writer-java-v1-eo-kms-1"
    draws, plaintext = Draws(name), plaintext_for(name, 1)
    content = v2_content(draws, plaintext, CBC, kms=True)
    context = {"kms_cmk_id": KMS_KEY_ID, "purpose": "vectors"}
    blob, master = kms_master(name, content, context, {"purpose": "vectors"})
    md = {**v2_fields(content, blob, "kms", spellings.java(context)), **length(plaintext)}
    made.append(
        make(
            name,
            ROW_JAVA_EO_KMS,
            "AmazonS3EncryptionClient, EncryptionOnly, KMS key with a request material "
            "description, object metadata (x-amz-key-v2, AES/CBC, wrap kms)",
            JAVA_V1,
            "1.1",
            draws=draws,
            plaintext=plaintext,
            content=content,
            wrap_alg="kms",
            master_key=master,
            stored=Stored(md),
        )
    )
    # AuthenticatedEncryption / StrictAuthenticatedEncryption: same layout.
    for kind, size in (("aeswrap", 17), ("rsa-oaep-sha256", 100), ("kms", 0)):
        name = f"writer-java-v1-ae-{kind}-{size}"
        draws, plaintext = Draws(name), plaintext_for(name, size)
        content = v2_content(draws, plaintext, GCM, kms=kind == "kms")
        if kind == "aeswrap":
            kek, master = aes_master(name, {})
            edk, wrap, matdesc = aes_key_wrap(kek, content.data_key), "AESWrap", "{}"
        elif kind == "kms":
            context = {"kms_cmk_id": KMS_KEY_ID}
            edk, master = kms_master(name, content, context, {})
            wrap, matdesc = "kms", spellings.java(context)
        else:
            master = rsa_master(rsa_material, {})
            edk = rsa_wrap(rsa_material, name, content.data_key, OAEP_SHA256_JAVA)
            wrap, matdesc = "RSA/ECB/OAEPWithSHA-256AndMGF1Padding", "{}"
        md = {**v2_fields(content, edk, wrap, matdesc), **length(plaintext)}
        made.append(
            make(
                name,
                ROW_JAVA_AE,
                f"AmazonS3EncryptionClient, AuthenticatedEncryption (Strict writes the same), "
                f"wrap {wrap}, AES/GCM, object metadata",
                JAVA_V1,
                "1.2",
                draws=draws,
                plaintext=plaintext,
                content=content,
                wrap_alg=wrap,
                master_key=master,
                stored=Stored(md),
            )
        )
    # AE with an RSA key on a JCE without OAEP: a V2 layout with no wrap-alg.
    name = "writer-java-v1-ae-rsa-no-wrap-alg-17"
    draws, plaintext = Draws(name), plaintext_for(name, 17)
    content = v2_content(draws, plaintext, GCM)
    edk = rsa_wrap(rsa_material, name, content.data_key, rsa_padding.PKCS1v15())
    md = {**v2_fields(content, edk, None, "{}"), **length(plaintext)}
    made.append(
        make(
            name,
            ROW_JAVA_RSA_NO_WRAP,
            "AmazonS3EncryptionClient, AuthenticatedEncryption, RSA key on a JCE without "
            "RSA/ECB/OAEPWithSHA-256AndMGF1Padding: plain RSA, x-amz-key-v2 and no "
            "x-amz-wrap-alg",
            JAVA_V1,
            "1.2",
            draws=draws,
            plaintext=plaintext,
            content=content,
            wrap_alg="RSA/ECB/PKCS1Padding, no x-amz-wrap-alg",
            master_key=rsa_master(rsa_material, {}),
            stored=Stored(md),
            refused=(
                "MetadataError",
                "missing ['x-amz-wrap-alg']",
                "a V2 layout must name its wrap; which wrap this writer used is not "
                "established, so it is not guessed",
            ),
        )
    )
    # Instruction files: Jackson of a HashMap (hash order), values strings, the
    # marker "" on the instruction object, the length kept in the object's metadata.
    marker = {MARKER: ""}
    name = "writer-java-v1-eo-aes-if-17"
    draws, plaintext = Draws(name), plaintext_for(name, 17)
    content = v2_content(draws, plaintext, CBC)
    kek, master = aes_master(name, {})
    fields = v2_fields(content, ecb_wrap(kek, content.data_key), None, "{}", key_name="x-amz-key")
    made.append(
        make(
            name,
            ROW_JAVA_IF,
            "AmazonS3EncryptionClient, EncryptionOnly, raw AES key, instruction file "
            '(marker x-amz-crypto-instr-file: "", length in the object metadata)',
            JAVA_V1,
            "1.4",
            draws=draws,
            plaintext=plaintext,
            content=content,
            wrap_alg="AES/ECB (V1)",
            master_key=master,
            stored=Stored(length(plaintext), DOT_INSTRUCTION, marker, spellings.java(fields)),
        )
    )
    name = "writer-java-v1-ae-kms-if-100"
    draws, plaintext = Draws(name), plaintext_for(name, 100)
    content = v2_content(draws, plaintext, GCM, kms=True)
    context = {"kms_cmk_id": KMS_KEY_ID}
    blob, master = kms_master(name, content, context, {})
    fields = v2_fields(content, blob, "kms", spellings.java(context))
    made.append(
        make(
            name,
            ROW_JAVA_IF,
            "AmazonS3EncryptionClient, AuthenticatedEncryption, KMS key, instruction file "
            '(marker x-amz-crypto-instr-file: "", length in the object metadata)',
            JAVA_V1,
            "1.4",
            draws=draws,
            plaintext=plaintext,
            content=content,
            wrap_alg="kms",
            master_key=master,
            stored=Stored(length(plaintext), DOT_INSTRUCTION, marker, spellings.java(fields)),
        )
    )
    for kind, size in (("aes-gcm", 1), ("rsa-oaep-sha1", 100), ("kms-context", 17)):
        name = f"writer-java-v1-v2client-{kind}-if-{size}"
        draws, plaintext = Draws(name), plaintext_for(name, size)
        content = v2_content(draws, plaintext, GCM, kms=kind == "kms-context")
        if kind == "aes-gcm":
            described = {"purpose": "vectors"}
            edk, wrap, master = raw_wrap("aes", name, draws, content, rsa_material, described)
            matdesc = spellings.java(described)
        elif kind == "rsa-oaep-sha1":
            edk, wrap, master = raw_wrap("rsa", name, draws, content, rsa_material, {})
            matdesc = "{}"
        else:
            context = {"department": "finance", RESERVED: GCM}
            edk, master = kms_master(name, content, context, {"department": "finance"})
            wrap, matdesc = "kms+context", spellings.java(context)
        fields = v2_fields(content, edk, wrap, matdesc)
        made.append(
            make(
                name,
                ROW_JAVA_IF,
                f"AmazonS3EncryptionClientV2, wrap {wrap}, instruction file (marker "
                'x-amz-crypto-instr-file: "", length in the object metadata)',
                JAVA_V1_V2CLIENT,
                "1.3, 1.4",
                draws=draws,
                plaintext=plaintext,
                content=content,
                wrap_alg=wrap,
                master_key=master,
                stored=Stored(length(plaintext), DOT_INSTRUCTION, marker, spellings.java(fields)),
            )
        )
    return made


def s3ec(rsa_material: RsaMaterial) -> list[Vector]:
    made: list[Vector] = []
    marker = {MARKER: ""}
    cases = [
        # (name, format, wrap kind, size, description or caller context, instruction file)
        ("writer-java-s3ec-v3-v2-aes-gcm-1", "v2", "aes", 1, {}, False),
        ("writer-java-s3ec-v3-v2-rsa-oaep-sha1-17", "v2", "rsa", 17, {"purpose": "vectors"}, False),
        (
            "writer-java-s3ec-v3-v2-kms-context-100",
            "v2",
            "kms",
            100,
            {"department": "finance", "tenant": "t1"},
            False,
        ),
        ("writer-java-s3ec-v4-v3-aes-gcm-17", "v3", "aes", 17, {}, False),
        (
            "writer-java-s3ec-v4-v3-rsa-oaep-sha1-100",
            "v3",
            "rsa",
            100,
            {"purpose": "vectors"},
            False,
        ),
        ("writer-java-s3ec-v4-v3-kms-context-0", "v3", "kms", 0, {}, False),
        (
            "writer-java-s3ec-v3-v2-kms-context-if-17",
            "v2",
            "kms",
            17,
            {"department": "finance"},
            True,
        ),
        ("writer-java-s3ec-v4-v3-aes-gcm-if-1", "v3", "aes", 1, {"purpose": "vectors"}, True),
        ("writer-java-s3ec-v4-v3-kms-context-if-100", "v3", "kms", 100, {"tenant": "t1"}, True),
    ]
    for name, fmt, kind, size, described, instruction in cases:
        draws, plaintext = Draws(name), plaintext_for(name, size)
        kms = kind == "kms"
        content = (
            v3_content(draws, plaintext, kms=kms)
            if fmt == "v3"
            else v2_content(draws, plaintext, GCM, kms=kms)
        )
        if kind in ("aes", "rsa"):
            edk, wrap, master = raw_wrap(kind, name, draws, content, rsa_material, described)
        else:
            context = {**described, RESERVED: "115" if fmt == "v3" else GCM}
            edk, master = kms_master(name, content, context, described)
            wrap = "kms+context"
        if fmt == "v2":
            matdesc = spellings.java(context if kms else described)
            object_md: dict[str, str] = {}
            fields = v2_fields(content, edk, wrap, matdesc)
        else:
            if kms:
                json_map: tuple[str, str] | None = ("x-amz-t", spellings.java(context))
            else:  # x-amz-m only when the description is not empty
                json_map = ("x-amz-m", spellings.java(described)) if described else None
            code = {"AES/GCM": "02", "kms+context": "12", "RSA-OAEP-SHA1": "22"}[wrap]
            object_md, fields = v3_fields(content, edk, code, json_map)
        stored = (
            Stored(object_md, DOT_INSTRUCTION, marker, spellings.java(fields))
            if instruction
            else Stored({**object_md, **fields})
        )
        client = "v3 (suite 114, V2 format)" if fmt == "v2" else "v4 (suite 115, V3 format)"
        made.append(
            make(
                name,
                ROW_JAVA_S3EC,
                f"S3EncryptionClient {client}, wrap {wrap}, "
                + (
                    'instruction file (marker x-amz-crypto-instr-file: "")'
                    if instruction
                    else "object metadata"
                ),
                JAVA_S3EC,
                "section 2",
                draws=draws,
                plaintext=plaintext,
                content=content,
                wrap_alg=wrap,
                master_key=master,
                stored=stored,
            )
        )
    # Hadoop S3A CSE-KMS: the Java client v3's KMS keyring, suite 114, with the length
    # header S3A reads (written as S3A's own test writes it).
    name = "writer-s3a-cse-kms-v2-17"
    draws, plaintext = Draws(name), plaintext_for(name, 17)
    content = v2_content(draws, plaintext, GCM, kms=True)
    context = {RESERVED: GCM}
    blob, master = kms_master(name, content, context, {})
    md = {**v2_fields(content, blob, "kms+context", spellings.java(context)), **length(plaintext)}
    made.append(
        make(
            name,
            ROW_JAVA_S3EC,
            "Hadoop S3A CSE-KMS: S3EncryptionClient v3 KMS keyring, suite 114, object "
            "metadata with x-amz-unencrypted-content-length",
            S3A,
            "section 3",
            draws=draws,
            plaintext=plaintext,
            content=content,
            wrap_alg="kms+context",
            master_key=master,
            stored=Stored(md),
        )
    )
    return made
