"""s3cse: Amazon S3 client-side encryption, byte-compatible with the AWS S3 Encryption
Clients (formats V1, V2 and V3; KMS, AES and RSA keyrings)."""

from .aio import AsyncEncryptionClient
from .client import EncryptionClient
from .core.config import CryptoConfig
from .core.materials import DefaultMaterialsManager, Keyring, MaterialsManager, MultiKeyring
from .core.suites import CommitmentPolicy, FormatVersion
from .errors import S3CSEError
from .keyrings import AesKeyring, AsyncKmsKeyring, KmsKeyring, RsaKeyPair, RsaKeyring

__version__ = "0.1.0"

__all__ = [
    "AesKeyring",
    "AsyncEncryptionClient",
    "AsyncKmsKeyring",
    "CommitmentPolicy",
    "CryptoConfig",
    "DefaultMaterialsManager",
    "EncryptionClient",
    "FormatVersion",
    "Keyring",
    "KmsKeyring",
    "MaterialsManager",
    "MultiKeyring",
    "RsaKeyPair",
    "RsaKeyring",
    "S3CSEError",
    "__version__",
]
