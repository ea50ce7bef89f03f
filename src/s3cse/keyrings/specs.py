"""From options to keyrings: the one place the CLI, the ``s3cse://`` filesystem and the
lifecycle jobs turn "a KMS key id, an AES key, an RSA key" into keyrings, so that they
accept the same keys, in the same order, with the same messages."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.materials import Keyring, MultiKeyring
from ..errors import ConfigurationError
from ..io import awsenv
from .aes import AesKeyring, load_aes_key_file, read_aes_key
from .kms import KmsKeyring
from .kms_arns import region_of
from .raw import DEFAULT_NAMES, KeyFileNames
from .rsa import RsaKeyring, load_rsa_key_file


def build_keyrings(
    *,
    kms_key_id: str | None = None,
    kms_discovery: bool = False,
    kms_allow: Sequence[str] = (),
    kms_region: str | None = None,
    kms_client: Callable[[], Any] | None = None,
    aes_key: bytes | str | None = None,
    aes_key_file: str | None = None,
    rsa_key_file: str | None = None,
    matdesc: Mapping[str, str] | None = None,
    names: KeyFileNames = DEFAULT_NAMES,
    private: bool = False,
) -> list[Keyring]:
    """One keyring per key given, in the order KMS, AES (by value, then from a file), RSA.
    ``kms_client`` is called only when a KMS key (or discovery) is given. ``private``:
    the keys must decrypt, so an RSA public key alone is refused now rather than per
    object. ``kms_allow`` without ``kms_discovery`` is refused (it would do nothing)."""
    description = dict(matdesc or {})
    rings: list[Keyring] = []
    if kms_key_id or kms_discovery or kms_allow:
        rings.append(
            KmsKeyring(
                kms_key_id,
                kms_client=kms_client() if kms_client else None,
                discovery=kms_discovery,
                allow=kms_allow,
                region=kms_region,
            )
        )
    if aes_key:
        raw = aes_key.encode() if isinstance(aes_key, str) else aes_key
        rings.append(AesKeyring(read_aes_key(raw), description))
    if aes_key_file:
        rings.append(AesKeyring(load_aes_key_file(aes_key_file, names), description))
    if rsa_key_file:
        pair = load_rsa_key_file(rsa_key_file, names, private=private)
        rings.append(RsaKeyring(pair, description))
    return rings


def kms_region(key_id: str | None, discovery: bool, region: str | None) -> str | None:
    """The Region a KMS keyring calls: a key ARN names its own (so the ARN of a
    multi-Region key's replica is asked in the replica's Region, whatever Region the
    bucket is in); a discovery keyring asks in ``region`` when one is given."""
    if discovery and region:
        return region
    return region_of(key_id) or region


def combine(rings: Sequence[Keyring]) -> Keyring:
    """The keyring that tries each of ``rings`` (the keyring itself when there is one)."""
    return rings[0] if len(rings) == 1 else MultiKeyring(list(rings))


@dataclass(frozen=True)
class KeySpec:
    """Which master keys to use, as data: ids and file paths, never key bytes (it
    pickles to worker processes, which load the keys themselves)."""

    kms_key_id: str | None = None
    aes_key_file: str | None = None
    rsa_key_file: str | None = None
    matdesc: tuple[tuple[str, str], ...] = ()
    kms_endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    names: KeyFileNames = DEFAULT_NAMES
    """What messages call the key files (the command line: its flags)."""
    kms_discovery: bool = False
    kms_allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (self.kms_key_id or self.kms_discovery or self.aes_key_file or self.rsa_key_file):
            raise ConfigurationError("give a key: a KMS key id, an AES key file or an RSA key")

    @property
    def kms(self) -> bool:
        """Whether KMS is asked (a key id, or discovery)."""
        return bool(self.kms_key_id or self.kms_discovery)

    @property
    def kms_region(self) -> str | None:
        """Where KMS is asked: a key ARN's own Region (a multi-Region key's replica
        lives there), a discovery keyring's the one given; else the usual lookup."""
        return kms_region(self.kms_key_id, self.kms_discovery, self.region)

    def keyring(self, *, private: bool = False) -> Keyring:
        return combine(self.keyrings(private=private))

    def keyrings(self, *, private: bool = False) -> list[Keyring]:
        """``build_keyrings`` of these keys; a KMS client is built on its first request."""
        return build_keyrings(
            kms_key_id=self.kms_key_id,
            kms_discovery=self.kms_discovery,
            kms_allow=self.kms_allow,
            kms_region=self.kms_region,
            kms_client=self._kms_client,
            aes_key_file=self.aes_key_file,
            rsa_key_file=self.rsa_key_file,
            matdesc=dict(self.matdesc),
            names=self.names,
            private=private,
        )

    def _kms_client(self) -> Any:
        return awsenv.LazyClient(
            "kms", endpoint_url=self.kms_endpoint_url, profile=self.profile, region=self.kms_region
        )

    def __str__(self) -> str:
        if self.kms_key_id:
            return f"KMS key {self.kms_key_id}"
        if self.kms_discovery:
            return f"KMS discovery (allowed: {', '.join(self.kms_allow) or 'none'})"
        kind = "AES" if self.aes_key_file else "RSA"
        return f"{kind} key {self.aes_key_file or self.rsa_key_file}"
