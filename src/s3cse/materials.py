"""Materials and the keyring interface.

A keyring makes a fresh data key and wraps it (``on_encrypt``), or unwraps a stored
one (``on_decrypt``). A materials manager sits between the client and the keyrings:
the default one passes straight through; a caching one (data-key reuse) can replace it
without the client noticing.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .ciphers import Random
from .errors import ConfigurationError, KeyUnwrapError, LegacyModeDisabledError, S3CSEError
from .metadata import ContentMetadata
from .suites import AlgorithmSuite

LEGACY_WRAP_ALGS = frozenset(
    {"kms", "AESWrap", "AES", "RSA", "RSA/ECB/OAEPWithSHA-256AndMGF1Padding"}
)


@dataclass(frozen=True)
class EncryptionRequest:
    suite: AlgorithmSuite
    encryption_context: Mapping[str, str] = field(default_factory=dict)
    """The caller's KMS encryption context (raw keyrings ignore it)."""
    rng: Random = os.urandom
    """Where raw keyrings draw data keys and wrap IVs (fixed only for known-answer tests)."""
    plaintext_length: int | None = None
    """The object's size when known: a caching materials manager counts bytes per key."""


@dataclass(frozen=True)
class EncryptionMaterials:
    suite: AlgorithmSuite
    data_key: bytes = field(repr=False)
    encrypted_data_key: bytes = field(repr=False)
    wrap_alg: str
    context: dict[str, str]
    """What gets stored: the full KMS context, or the raw keyring's material description."""


@dataclass(frozen=True)
class DecryptionRequest:
    metadata: ContentMetadata
    encryption_context: Mapping[str, str] = field(default_factory=dict)
    """The context the caller expects the object to carry (KMS only)."""
    legacy: bool = False


def require_ascii_map(values: Mapping[str, str], what: str) -> dict[str, str]:
    """Writers refuse non-ASCII context or material description, as the AWS clients do."""
    out: dict[str, str] = {}
    for k, v in values.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ConfigurationError(f"{what} keys and values must be strings")
        if not (k.isascii() and v.isascii()):
            raise ConfigurationError(
                f"{what} must be US-ASCII: S3 metadata cannot carry {k!r}={v!r} faithfully"
            )
        out[k] = v
    return out


def check_legacy_wrap(wrap_alg: str, legacy: bool) -> None:
    if wrap_alg in LEGACY_WRAP_ALGS and not legacy:
        raise LegacyModeDisabledError(
            f"the data key is wrapped with the legacy algorithm {wrap_alg!r}, and legacy "
            "modes are off"
        )


class Keyring(abc.ABC):
    """Wraps and unwraps data keys under one kind of master key."""

    @abc.abstractmethod
    def wrap_algorithms(self) -> frozenset[str]:
        """The wrapping algorithms (long names) this keyring can unwrap."""

    @abc.abstractmethod
    def on_encrypt(self, request: EncryptionRequest) -> EncryptionMaterials: ...

    def wrap(self, request: EncryptionRequest, data_key: bytes) -> EncryptionMaterials:
        """Wrap an existing data key (key rotation re-wraps without re-encrypting)."""
        raise ConfigurationError(f"{type(self).__name__} cannot re-wrap data keys")

    @abc.abstractmethod
    def on_decrypt(self, request: DecryptionRequest) -> bytes:
        """Return the plaintext data key, or raise an ``S3CSEError``."""


class MultiKeyring(Keyring):
    """Several keyrings: the first one encrypts; on read, each that knows the wrap tries."""

    def __init__(self, keyrings: Sequence[Keyring]) -> None:
        if not keyrings:
            raise ConfigurationError("MultiKeyring needs at least one keyring")
        self.keyrings = list(keyrings)

    def wrap_algorithms(self) -> frozenset[str]:
        return frozenset().union(*(k.wrap_algorithms() for k in self.keyrings))

    def on_encrypt(self, request: EncryptionRequest) -> EncryptionMaterials:
        return self.keyrings[0].on_encrypt(request)

    def wrap(self, request: EncryptionRequest, data_key: bytes) -> EncryptionMaterials:
        return self.keyrings[0].wrap(request, data_key)

    def on_decrypt(self, request: DecryptionRequest) -> bytes:
        wrap_alg = request.metadata.wrap_alg
        errors: list[S3CSEError] = []
        for keyring in self.keyrings:
            if wrap_alg in keyring.wrap_algorithms():
                try:
                    return keyring.on_decrypt(request)
                except LegacyModeDisabledError:
                    raise
                except S3CSEError as exc:
                    errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        raise KeyUnwrapError(
            f"no configured keyring could unwrap a data key wrapped with {wrap_alg!r}"
            + (f" ({'; '.join(e.message for e in errors)})" if errors else "")
        )


class MaterialsManager(abc.ABC):
    """Where the client gets its data keys. Replace it to cache or audit them."""

    @abc.abstractmethod
    def encryption_materials(self, request: EncryptionRequest) -> EncryptionMaterials: ...

    @abc.abstractmethod
    def decrypt_data_key(self, request: DecryptionRequest) -> bytes: ...


class DefaultMaterialsManager(MaterialsManager):
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def encryption_materials(self, request: EncryptionRequest) -> EncryptionMaterials:
        return self.keyring.on_encrypt(request)

    def decrypt_data_key(self, request: DecryptionRequest) -> bytes:
        wrap_alg = request.metadata.wrap_alg
        if wrap_alg not in self.keyring.wrap_algorithms():
            raise KeyUnwrapError(
                f"the data key is wrapped with {wrap_alg!r}, which the configured "
                f"{type(self.keyring).__name__} cannot unwrap",
                hint="Configure a keyring of the kind the object was written with",
            )
        return self.keyring.on_decrypt(request)
