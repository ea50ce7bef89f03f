"""Keyrings: how a data key is wrapped (AWS KMS, a raw AES key, a raw RSA key pair)."""

from .aes import AesKeyring, load_aes_key_file, read_aes_key
from .cache import CacheStats, CachingMaterialsManager
from .kms import AsyncKmsKeyring, KmsKeyring
from .rsa import RsaKeyPair, RsaKeyring, generate_rsa_pem, load_rsa_key_file

__all__ = [
    "AesKeyring",
    "AsyncKmsKeyring",
    "CacheStats",
    "CachingMaterialsManager",
    "KmsKeyring",
    "RsaKeyPair",
    "RsaKeyring",
    "generate_rsa_pem",
    "load_aes_key_file",
    "load_rsa_key_file",
    "read_aes_key",
]
