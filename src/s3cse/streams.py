"""Plaintext and ciphertext streams, where they always were: ``DecryptedBody`` (what
``get_object`` hands back) and the upload adapters (``EncryptingReader``...)."""

from ._sync.streams import DecryptedBody
from .core.pumps import CHUNK, DecryptionPump, Decryptor, LengthCheck, LineSplitter, Location
from .core.requests import remaining_length
from .io.encrypting import (
    CiphertextBody,
    EncryptingReader,
    SpoolEncryptor,
    ciphertext_body,
    decrypt_into,
    encrypt_to_spool,
)

__all__ = [
    "CHUNK",
    "CiphertextBody",
    "DecryptedBody",
    "DecryptionPump",
    "Decryptor",
    "EncryptingReader",
    "LengthCheck",
    "LineSplitter",
    "Location",
    "SpoolEncryptor",
    "ciphertext_body",
    "decrypt_into",
    "encrypt_to_spool",
    "remaining_length",
]
