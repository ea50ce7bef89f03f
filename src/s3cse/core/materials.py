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
from .metadata import (
    KMS_WRAP_ALGS,
    WRAP_AES_ECB_V1,
    WRAP_AES_GCM,
    WRAP_AES_KEYWRAP,
    WRAP_RSA_OAEP_SHA1,
    WRAP_RSA_OAEP_SHA256_V2,
    WRAP_RSA_PKCS1_V1,
    ContentMetadata,
)
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


class DataKey(bytes):
    """A plaintext data key as a keyring hands it back, naming the master key that
    unwrapped it where the keyring knows (KMS answers Decrypt with the key's ARN, which
    under discovery is the only word on which key that was). Being ``bytes``, a keyring
    returning plain bytes still fits."""

    key_used: str | None

    def __new__(cls, key: bytes, key_used: str | None = None) -> DataKey:
        made = super().__new__(cls, key)
        made.key_used = key_used
        return made

    def __repr__(self) -> str:  # never print the key
        return f"DataKey({len(self)} bytes, key_used={self.key_used!r})"


def key_used(data_key: bytes) -> str | None:
    """The master key a keyring said unwrapped ``data_key`` (None if it did not say)."""
    return data_key.key_used if isinstance(data_key, DataKey) else None


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

    # Async entry points, for the async client. Raw keyrings are pure computation and
    # run as they are; a keyring that does I/O (KMS) overrides these with awaitable calls.

    async def aon_encrypt(self, request: EncryptionRequest) -> EncryptionMaterials:
        return self.on_encrypt(request)

    async def awrap(self, request: EncryptionRequest, data_key: bytes) -> EncryptionMaterials:
        return self.wrap(request, data_key)

    async def aon_decrypt(self, request: DecryptionRequest) -> bytes:
        return self.on_decrypt(request)

    async def aclose(self) -> None:
        """Release what the keyring opened itself (an async KMS client); idempotent."""
        return None


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
        attempts = _Attempts(request.metadata.wrap_alg)
        for keyring in self._candidates(request):
            with attempts:
                return keyring.on_decrypt(request)
        raise attempts.failure()

    async def aon_encrypt(self, request: EncryptionRequest) -> EncryptionMaterials:
        return await self.keyrings[0].aon_encrypt(request)

    async def awrap(self, request: EncryptionRequest, data_key: bytes) -> EncryptionMaterials:
        return await self.keyrings[0].awrap(request, data_key)

    async def aon_decrypt(self, request: DecryptionRequest) -> bytes:
        attempts = _Attempts(request.metadata.wrap_alg)
        for keyring in self._candidates(request):
            with attempts:
                return await keyring.aon_decrypt(request)
        raise attempts.failure()

    async def aclose(self) -> None:
        for keyring in self.keyrings:
            await keyring.aclose()

    def _candidates(self, request: DecryptionRequest) -> list[Keyring]:
        wrap_alg = request.metadata.wrap_alg
        return [k for k in self.keyrings if wrap_alg in k.wrap_algorithms()]


class _Attempts:
    """Each keyring's try at unwrapping: failures are collected (a refusal of legacy
    modes ends the search), and summed up if none succeeds."""

    def __init__(self, wrap_alg: str) -> None:
        self.wrap_alg = wrap_alg
        self.errors: list[S3CSEError] = []

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        if isinstance(exc, S3CSEError) and not isinstance(exc, LegacyModeDisabledError):
            self.errors.append(exc)
            return True
        return False

    def failure(self) -> S3CSEError:
        if len(self.errors) == 1:
            return self.errors[0]
        return KeyUnwrapError(
            f"no configured keyring could unwrap a data key wrapped with {self.wrap_alg!r}"
            + (f" ({'; '.join(e.message for e in self.errors)})" if self.errors else "")
        )


class MaterialsManager(abc.ABC):
    """Where the client gets its data keys. Replace it to cache or audit them.

    The async client calls the ``a``-prefixed entry points; by default they run the sync
    ones, so a manager that does no I/O of its own needs nothing more.
    """

    @abc.abstractmethod
    def encryption_materials(self, request: EncryptionRequest) -> EncryptionMaterials: ...

    @abc.abstractmethod
    def decrypt_data_key(self, request: DecryptionRequest) -> bytes: ...

    async def aencryption_materials(self, request: EncryptionRequest) -> EncryptionMaterials:
        return self.encryption_materials(request)

    async def adecrypt_data_key(self, request: DecryptionRequest) -> bytes:
        return self.decrypt_data_key(request)

    async def aclose(self) -> None:
        """Release what the keyrings opened themselves; idempotent."""
        return None


class DefaultMaterialsManager(MaterialsManager):
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def encryption_materials(self, request: EncryptionRequest) -> EncryptionMaterials:
        return self.keyring.on_encrypt(request)

    def decrypt_data_key(self, request: DecryptionRequest) -> bytes:
        self._check_wrap(request)
        return self.keyring.on_decrypt(request)

    async def aencryption_materials(self, request: EncryptionRequest) -> EncryptionMaterials:
        return await self.keyring.aon_encrypt(request)

    async def adecrypt_data_key(self, request: DecryptionRequest) -> bytes:
        self._check_wrap(request)
        return await self.keyring.aon_decrypt(request)

    async def aclose(self) -> None:
        await self.keyring.aclose()

    def _check_wrap(self, request: DecryptionRequest) -> None:
        wrap_alg = request.metadata.wrap_alg
        if wrap_alg not in self.keyring.wrap_algorithms():
            raise wrong_kind_of_key(wrap_alg)


# The kind of master key behind each wrap: its name, keyring and command-line option.
_KEY_KINDS = (
    (KMS_WRAP_ALGS, "a KMS key", "KmsKeyring", "--kms-key-id"),
    (
        frozenset({WRAP_AES_GCM, WRAP_AES_KEYWRAP, WRAP_AES_ECB_V1}),
        "an AES key",
        "AesKeyring",
        "--aes-key-file",
    ),
    (
        frozenset({WRAP_RSA_OAEP_SHA1, WRAP_RSA_OAEP_SHA256_V2, WRAP_RSA_PKCS1_V1}),
        "an RSA key",
        "RsaKeyring",
        "--rsa-key-file",
    ),
)


def wrong_kind_of_key(wrap_alg: str) -> KeyUnwrapError:
    """No key of the kind the object's data key is wrapped under was given: say which
    kind it needs, as a keyring and as a command-line option."""
    for wraps, kind, keyring, option in _KEY_KINDS:
        if wrap_alg in wraps:
            return KeyUnwrapError(
                f"the object's data key is wrapped under {kind} ({wrap_alg!r}), and no key "
                "of that kind was given: the keys given cannot unwrap it",
                hint=f"Give the key the object was written with: {keyring}, or "
                f"{option} on the command line",
            )
    return KeyUnwrapError(
        f"the object's data key is wrapped with {wrap_alg!r}, which no keyring given can unwrap"
    )
