"""Envelope encryption, pure: from materials to metadata and content key, and back.

Writing: materials (a wrapped data key) + fresh per-object randomness -> metadata to
store and the content key to encrypt with. Reading: parsed metadata -> policy checks ->
(after the keyring unwrapped the data key) the content key, commitment verified.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from .ciphers import (
    ContentKey,
    GcmEncryptor,
    Random,
    content_decryptor,
    content_key_for_decrypt,
    new_content_key,
)
from .config import CryptoConfig
from .errors import (
    CommitmentPolicyError,
    ConfigurationError,
    InstructionFileError,
    LegacyModeDisabledError,
    MetadataError,
)
from .gcm import BLOCK
from .materials import (
    DecryptionRequest,
    EncryptionMaterials,
    EncryptionRequest,
    MaterialsManager,
    key_used,
)
from .metadata import (
    ALL_KEYS,
    UNENCRYPTED_LENGTH,
    ContentMetadata,
    merge_instruction_file,
    needs_instruction_file,
    parse,
    parse_instruction_file,
    serialize,
)
from .suites import FormatVersion


def seal(
    materials: EncryptionMaterials,
    version: FormatVersion,
    *,
    instruction_file: bool,
    rng: Random = os.urandom,
) -> tuple[ContentMetadata, ContentKey]:
    """Derive a new object's content key and describe it for storage."""
    content = new_content_key(materials.suite, materials.data_key, rng)
    metadata = ContentMetadata(
        version=version,
        suite=materials.suite,
        wrap_alg=materials.wrap_alg,
        encrypted_data_key=materials.encrypted_data_key,
        context=dict(materials.context),
        iv=content.iv,
        message_id=content.message_id,
        commitment=content.commitment,
        instruction_file=instruction_file,
    )
    return metadata, content.content_key


def check_read_policy(metadata: ContentMetadata, config: CryptoConfig) -> None:
    """Refuse what the client's security settings forbid, before any key is unwrapped."""
    if metadata.suite.legacy and not config.legacy:
        raise LegacyModeDisabledError(
            f"the object is encrypted with {metadata.suite.name} (AES-CBC, unauthenticated), "
            "and legacy modes are off"
        )
    if config.policy.decrypt_requires_commitment and not metadata.suite.committing:
        raise CommitmentPolicyError(
            f"the object uses {metadata.suite.name} (format V{int(metadata.version)}, no key "
            f"commitment), which commitment policy {config.policy.value} refuses"
        )


def unseal(metadata: ContentMetadata, data_key: bytes) -> ContentKey:
    """The content key of a stored object; raises if the key commitment does not match."""
    content_key = content_key_for_decrypt(
        metadata.suite,
        data_key,
        iv=metadata.iv,
        message_id=metadata.message_id,
        commitment=metadata.commitment,
    )
    used = key_used(data_key)
    return content_key if used is None else dataclasses.replace(content_key, key_used=used)


def check_user_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """User metadata may not use the names the encryption metadata lives under."""
    metadata = dict(metadata or {})
    clash = sorted(k for k in metadata if k.lower() in ALL_KEYS or k.lower().startswith("x-amz-"))
    if clash:
        raise ConfigurationError(
            f"user metadata keys {clash} are reserved for encryption metadata; rename them"
        )
    return metadata


def plaintext_size(metadata: ContentMetadata, ciphertext_size: int) -> int | None:
    """The plaintext size, from the stored size for AES-GCM. AES-CBC hides it in the
    padding: the size the metadata claims is given only if the stored size agrees with
    it (PKCS#7 always adds 1 to 16 bytes), else the metadata was altered."""
    if metadata.suite.authenticated:
        return max(ciphertext_size - metadata.suite.tag_length, 0)
    claimed = metadata.unencrypted_length
    if claimed is not None and (claimed // BLOCK + 1) * BLOCK != ciphertext_size:
        raise MetadataError(
            f"{UNENCRYPTED_LENGTH} claims {claimed} bytes, but the object holds "
            f"{ciphertext_size} bytes of AES-CBC ciphertext: the metadata was altered"
        )
    return claimed


def unwrap_content_key(
    metadata: ContentMetadata,
    materials: MaterialsManager,
    config: CryptoConfig,
    encryption_context: Mapping[str, str] | None = None,
) -> ContentKey:
    """Policy checks, then the keyring unwraps the data key, then commitment is checked.

    The clients unwrap through their session (``decryption_request``, the materials
    manager, ``unseal``), awaited or not; this is for ``decrypt_bytes``, in memory.
    """
    data_key = materials.decrypt_data_key(decryption_request(metadata, config, encryption_context))
    return unseal(metadata, data_key)


def decryption_request(
    metadata: ContentMetadata,
    config: CryptoConfig,
    encryption_context: Mapping[str, str] | None = None,
) -> DecryptionRequest:
    """What to ask the keyrings for, once the client's policy allows the object at all."""
    check_read_policy(metadata, config)
    return DecryptionRequest(metadata, dict(encryption_context or {}), config.legacy)


def encrypt_bytes(
    plaintext: bytes,
    materials: MaterialsManager,
    config: CryptoConfig,
    encryption_context: Mapping[str, str] | None = None,
    *,
    rng: Random = os.urandom,
) -> tuple[bytes, dict[str, str], dict[str, str] | None]:
    """Encrypt in memory: ciphertext, object metadata and instruction-file map (or None).

    ``rng`` exists for known-answer tests; leave it alone otherwise.
    """
    mats = materials.encryption_materials(
        EncryptionRequest(config.write_suite, dict(encryption_context or {}), rng)
    )
    md, content_key = seal(mats, config.format, instruction_file=config.instruction_file, rng=rng)
    encryptor = GcmEncryptor(content_key)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    object_md, instruction = serialize(md)
    return ciphertext, object_md, instruction


def decrypt_bytes(
    ciphertext: bytes,
    object_metadata: Mapping[str, str],
    materials: MaterialsManager,
    config: CryptoConfig,
    *,
    instruction_file: bytes | None = None,
    encryption_context: Mapping[str, str] | None = None,
) -> bytes:
    """Decrypt in memory; nothing is returned unless the whole object authenticates."""
    object_metadata = {k.lower(): v for k, v in object_metadata.items()}
    if needs_instruction_file(object_metadata):
        if instruction_file is None:
            raise InstructionFileError("the object's metadata needs its instruction file")
        merged = merge_instruction_file(object_metadata, parse_instruction_file(instruction_file))
        md = parse(merged, instruction_file=True)
    else:
        md = parse(object_metadata)
    decryptor = content_decryptor(unwrap_content_key(md, materials, config, encryption_context))
    return decryptor.update(ciphertext) + decryptor.finalize()
