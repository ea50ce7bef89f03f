"""C++: the SDK's S3EncryptionClient (docs/writers.md section 6)."""

from __future__ import annotations

import spellings
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from layouts import (
    CBC,
    GCM,
    KMS_KEY_ID,
    RESERVED,
    Vector,
    plaintext_for,
)

from .base import (
    DOT_INSTRUCTION,
    MARKER,
    Draws,
    Stored,
    aes_gcm,
    aes_master,
    kms_master,
    make,
    v2_content,
    v2_fields,
    v3_content,
    v3_fields,
)

ROW_CPP_EO = "C++ EncryptionOnly (metadata and instruction file)"
ROW_CPP_AE = "C++ AE/Strict, V3"

CPP_MARKER_VALUE = "default instruction file header"
CPP = (
    "aws/aws-sdk-cpp (src/aws-cpp-sdk-s3-encryption/source/s3-encryption/: "
    "handlers/MetadataHandler.cpp, handlers/InstructionFileHandler.cpp, "
    "handlers/DataHandler.cpp, modules/CryptoModule.cpp)"
)


def vectors() -> list[Vector]:
    made: list[Vector] = []
    marker = {MARKER: CPP_MARKER_VALUE}
    cases = [
        # (name, row, format, cipher, wrap, size, instruction file)
        ("writer-cpp-eo-aeswrap-17", ROW_CPP_EO, "v2", CBC, "AESWrap", 17, False),
        ("writer-cpp-eo-kms-1", ROW_CPP_EO, "v2", CBC, "kms", 1, False),
        ("writer-cpp-eo-aeswrap-if-100", ROW_CPP_EO, "v2", CBC, "AESWrap", 100, True),
        ("writer-cpp-ae-aes-gcm-17", ROW_CPP_AE, "v2", GCM, "AES/GCM", 17, False),
        ("writer-cpp-ae-aeswrap-1", ROW_CPP_AE, "v2", GCM, "AESWrap", 1, False),
        ("writer-cpp-ae-kms-context-100", ROW_CPP_AE, "v2", GCM, "kms+context", 100, False),
        ("writer-cpp-v3-aes-gcm-17", ROW_CPP_AE, "v3", "115", "AES/GCM", 17, False),
        ("writer-cpp-v3-kms-context-0", ROW_CPP_AE, "v3", "115", "kms+context", 0, False),
        ("writer-cpp-v3-aes-gcm-if-1", ROW_CPP_AE, "v3", "115", "AES/GCM", 1, True),
    ]
    for name, row, fmt, cipher, wrap, size, instruction in cases:
        draws, plaintext = Draws(name), plaintext_for(name, size)
        kms = wrap.startswith("kms")
        content = (
            v3_content(draws, plaintext, kms=kms)
            if fmt == "v3"
            else v2_content(draws, plaintext, cipher, kms=kms)
        )
        context: dict[str, str] = {}
        if wrap == "kms":  # KMSEncryptionMaterials: Encrypt of a local key
            context = {"kms_cmk_id": KMS_KEY_ID}
            edk, master = kms_master(name, content, context, {})
        elif wrap == "kms+context":
            caller = {"department": "finance"}
            context = {**caller, RESERVED: "115" if fmt == "v3" else GCM}
            edk, master = kms_master(name, content, context, caller)
        else:
            kek, master = aes_master(name, {})
            edk = (
                aes_key_wrap(kek, content.data_key)
                if wrap == "AESWrap"
                else aes_gcm(draws, kek, content)
            )
        if fmt == "v2":
            tag_len = "0" if cipher == CBC else "128"  # EncryptionOnly writes "0"
            fields = v2_fields(content, edk, wrap, spellings.cpp(context), tag_len=tag_len)
            object_md: dict[str, str] = {}
        else:  # x-amz-t whenever the map is non-empty, whatever the wrap; never x-amz-m
            code = {"AES/GCM": "02", "kms+context": "12"}[wrap]
            json_map = ("x-amz-t", spellings.cpp(context)) if context else None
            object_md, fields = v3_fields(content, edk, code, json_map)
        if instruction:
            stored = Stored(object_md, DOT_INSTRUCTION, marker, spellings.cpp(fields))
        else:
            stored = Stored({**object_md, **fields})
        mode = {CBC: "EncryptionOnly", GCM: "AuthenticatedEncryption"}.get(cipher, "V3")
        made.append(
            make(
                name,
                row,
                f"C++ S3EncryptionClient, {mode}, wrap {wrap}, "
                + (
                    f'instruction file (marker x-amz-crypto-instr-file: "{CPP_MARKER_VALUE}")'
                    if instruction
                    else "object metadata"
                )
                + (' with x-amz-tag-len "0"' if cipher == CBC else ""),
                CPP,
                "section 6",
                draws=draws,
                plaintext=plaintext,
                content=content,
                wrap_alg=wrap,
                master_key=master,
                stored=stored,
            )
        )
    return made
