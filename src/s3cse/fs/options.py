"""The keys an ``s3cse://`` filesystem is given, and how they are kept out of what fsspec
serialises: key files travel as paths, a key given by value never leaves the process."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.materials import Keyring
from ..errors import ConfigurationError
from ..keyrings import AsyncKmsKeyring
from ..keyrings.specs import build_keyrings, combine

KEYS_BY_VALUE = ("aes_key",)
"""Constructor options that carry key bytes: never stored where fsspec serialises from."""
REDACTED = "<redacted>"


def redacted(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with the key bytes given by value replaced."""
    return {k: REDACTED if k in KEYS_BY_VALUE and v is not None else v for k, v in options.items()}


@dataclass(frozen=True)
class KeyOptions:
    kms_key_id: str | None
    aes_key_file: str | None
    aes_key: bytes | str | None = field(repr=False)
    rsa_key_file: str | None
    matdesc: dict[str, str]
    kms_discovery: bool = False
    kms_allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (
            self.kms_key_id
            or self.kms_discovery
            or self.aes_key_file
            or self.aes_key
            or self.rsa_key_file
        ):
            raise ConfigurationError(
                "s3cse:// needs a key: kms_key_id, aes_key_file (or aes_key) or "
                "rsa_key_file (or, to read, kms_discovery=True with kms_allow)"
            )

    @property
    def kms(self) -> bool:
        """Whether KMS is asked (a key id, discovery, or an allow-list to refuse)."""
        return bool(self.kms_key_id or self.kms_discovery or self.kms_allow)

    def refuse_key_by_value(self, what: str) -> None:
        """Refuse ``what`` (a serialisation) when a key was given by value."""
        if self.aes_key is not None:
            raise ConfigurationError(
                f"this s3cse:// filesystem holds an AES key by value (aes_key=), which {what} "
                "would write out in clear",
                hint="Pass the key as a file instead (aes_key_file=PATH, made by "
                "`s3cse keygen aes`): only its path is serialised",
            )

    def keyring(self, kms_client: Any = None, kms_region: str | None = None) -> Keyring:
        """The keyring of these keys, KMS first (through ``kms_client``, an open
        aiobotocore KMS client in ``kms_region``, when a KMS key is given), then AES,
        then RSA."""
        rings: list[Keyring] = []
        if self.kms:
            rings.append(
                AsyncKmsKeyring(
                    self.kms_key_id,
                    kms_client=kms_client,
                    discovery=self.kms_discovery,
                    allow=self.kms_allow,
                    region=kms_region,
                )
            )
        rings += build_keyrings(
            aes_key=self.aes_key,
            aes_key_file=self.aes_key_file,
            rsa_key_file=self.rsa_key_file,
            matdesc=self.matdesc,
        )
        return combine(rings)
