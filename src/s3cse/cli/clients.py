"""The one place the CLI builds clients from its options: boto3 S3 and KMS clients (with
s3cse's retry settings and the ``aws``-style region and profile) and EncryptionClients
over them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..client import EncryptionClient
from ..core.config import CryptoConfig
from ..core.materials import (
    DecryptionRequest,
    EncryptionMaterials,
    EncryptionRequest,
    Keyring,
    MaterialsManager,
)
from ..errors import ConfigurationError
from ..io import awsenv
from ..keyrings.raw import KeyFileNames
from ..keyrings.specs import KeySpec, combine
from .options import parse_context, parse_matdesc, parse_target_context, target_key_chosen

CLI_KEY_FILES = KeyFileNames("--aes-key-file", "--rsa-key-file")
CLI_TARGET_KEY_FILES = KeyFileNames("--to-aes-key-file", "--to-rsa-key-file")


def s3_client(endpoint_url: str | None, profile: str | None, region: str | None) -> Any:
    return awsenv.client("s3", endpoint_url=endpoint_url, profile=profile, region=region)


def kms_client(endpoint_url: str | None, profile: str | None, region: str | None) -> Any:
    return awsenv.client("kms", endpoint_url=endpoint_url, profile=profile, region=region)


class _NoKeys(MaterialsManager):
    """Deleting needs no key: an EncryptionClient that can only delete."""

    def encryption_materials(self, request: EncryptionRequest) -> EncryptionMaterials:
        raise ConfigurationError("no key given")

    def decrypt_data_key(self, request: DecryptionRequest) -> bytes:
        raise ConfigurationError("no key given")


def keyless_client(s3: Any) -> EncryptionClient:
    """An EncryptionClient for what needs no key (deleting objects with their sidecars)."""
    return EncryptionClient(materials=_NoKeys(), s3_client=s3)


@dataclass
class KeyOptions:
    """The key, format and read-policy options of a command, and the clients they make."""

    kms_key_id: str | None
    aes_key_file: str | None
    rsa_key_file: str | None
    encryption_context: tuple[str, ...]
    matdesc: str | None
    legacy: bool
    commitment_policy: str | None
    endpoint_url: str | None
    kms_endpoint_url: str | None
    region: str | None
    profile: str | None
    fmt: str = "v3"
    instruction_file: bool = False
    integrity_index: bool = False
    to_kms_key_id: str | None = None
    to_aes_key_file: str | None = None
    to_rsa_key_file: str | None = None
    to_matdesc: str | None = None
    to_encryption_context: tuple[str, ...] = ()
    to_empty_encryption_context: bool = False
    kms_discovery: bool = False
    kms_allow: tuple[str, ...] = ()
    quiet: bool = False

    @classmethod
    def from_options(cls, kwargs: dict[str, Any]) -> KeyOptions:
        """The key options a command took (a reading-only command takes no format
        options), taken out of ``kwargs``."""
        fields = cls.__dataclass_fields__
        given = {name: kwargs.pop(name) for name in fields if name != "quiet" and name in kwargs}
        return cls(**given)

    def keyrings(self, *, private: bool = False) -> list[Keyring]:
        if not (
            self.kms_key_id
            or self.kms_discovery
            or self.kms_allow
            or self.aes_key_file
            or self.rsa_key_file
        ):
            raise ConfigurationError(
                "no key given: pass --kms-key-id, --aes-key-file or --rsa-key-file (or, "
                "to read, --kms-discovery with --kms-allow)"
            )
        return self._spec(
            self.kms_key_id, self.aes_key_file, self.rsa_key_file, self.matdesc, "--matdesc"
        ).keyrings(private=private)

    def _spec(
        self,
        kms_key_id: str | None,
        aes_key_file: str | None,
        rsa_key_file: str | None,
        matdesc: str | None,
        option: str,
    ) -> KeySpec:
        target = option.startswith("--to-")
        return KeySpec(
            kms_key_id,
            aes_key_file,
            rsa_key_file,
            tuple(sorted((parse_matdesc(matdesc, option) or {}).items())),
            self.kms_endpoint_url,
            region=self.region,
            profile=self.profile,
            names=CLI_TARGET_KEY_FILES if target else CLI_KEY_FILES,
            kms_discovery=self.kms_discovery and not target,
            kms_allow=() if target else tuple(self.kms_allow),
        )

    def client(self, *, writing: bool, cache: bool = False) -> EncryptionClient:
        if writing and self.kms_discovery and not self.kms_key_id:
            raise ConfigurationError(
                "--kms-discovery only reads: to encrypt, give the key to write with (--kms-key-id)"
            )
        rings = self.keyrings(private=not writing)
        if writing and len(rings) > 1:
            raise ConfigurationError("to encrypt, give exactly one of the key options")
        return self._client(combine(rings), writing=writing, cache=cache)

    def _client(self, keyring: Keyring, *, writing: bool, cache: bool) -> EncryptionClient:
        config = CryptoConfig(
            format=self.fmt,  # type: ignore[arg-type]
            commitment_policy=self.commitment_policy.upper() if self.commitment_policy else None,  # type: ignore[arg-type]
            legacy=self.legacy,
            instruction_file=self.instruction_file,
            integrity_index=self.integrity_index,
        )
        s3 = s3_client(self.endpoint_url, self.profile, self.region)
        if cache:
            from ..keyrings.cache import CachingMaterialsManager

            if writing and self.fmt != "v3":
                raise ConfigurationError(
                    "--cache-data-keys writes format v3 only: with v2 many objects would "
                    "share one key, random IVs and no key commitment"
                )
            return EncryptionClient(
                materials=CachingMaterialsManager(keyring), s3_client=s3, config=config
            )
        return EncryptionClient(keyring, s3_client=s3, config=config)

    @property
    def retargets(self) -> bool:
        """Whether a ``--to-`` option was given (copies are written under another key or
        context); refuses the ones that conflict."""
        chosen = target_key_chosen(
            self.to_kms_key_id, self.to_aes_key_file, self.to_rsa_key_file, self.to_matdesc
        )
        context = parse_target_context(self.to_encryption_context, self.to_empty_encryption_context)
        return chosen or context is not None

    def refuse_retarget_with_local(self, *ends: object) -> None:
        """The --to- options re-encrypt s3:// to s3:// copies: refused when SRC or DST
        (``ends``: their parsed URLs, None for a local path) is local."""
        if self.retargets and None in ends:
            raise ConfigurationError(
                "the --to- key options re-encrypt s3:// to s3:// copies: SRC and DST must "
                "both be s3:// URLs"
            )

    def copy_writer(self, *, cache: bool = False) -> EncryptionClient:
        """The client that writes the copies of an s3:// to s3:// transfer: under the
        ``--to-`` key when one is given (the copy is re-encrypted for other readers),
        else under the key the source was read with."""
        if not self.retargets or not (
            self.to_kms_key_id or self.to_aes_key_file or self.to_rsa_key_file
        ):
            return self.client(writing=True, cache=cache)
        spec = self._spec(
            self.to_kms_key_id,
            self.to_aes_key_file,
            self.to_rsa_key_file,
            self.to_matdesc,
            "--to-matdesc",
        )
        return self._client(spec.keyring(), writing=True, cache=cache)

    @property
    def write_context(self) -> dict[str, str]:
        """The encryption context copies are written with: ``--to-encryption-context``
        (or none with ``--to-empty-encryption-context``), else the one read with."""
        target = parse_target_context(self.to_encryption_context, self.to_empty_encryption_context)
        return self.context if target is None else dict(target)

    @property
    def context(self) -> dict[str, str]:
        return parse_context(self.encryption_context)
