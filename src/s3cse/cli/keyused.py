"""Which master key unwraps an object's data key: what ``inspect`` and ``ls --exact``
report when they are given keys (``--kms-discovery --kms-allow ...``, ``--kms-key-id``,
a key file). Only the data key is unwrapped, under the same checks as a read (context,
allow-list, legacy switch), and its key commitment checked, so the key named is the
one this object's content is under; no content is read and the data key is dropped."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

from ..core import envelope
from ..core.materials import DecryptionRequest, DefaultMaterialsManager, Keyring, key_used
from ..core.metadata import ContentMetadata
from ..keyrings.specs import KeySpec
from .clients import CLI_KEY_FILES
from .options import parse_context, parse_matdesc


@dataclass(frozen=True)
class KeyUse:
    """The keys given to a command that does not decrypt content, to name the key used."""

    spec: KeySpec
    context: dict[str, str]
    legacy: bool

    @classmethod
    def from_options(
        cls, kwargs: dict[str, Any], region: str | None, profile: str | None
    ) -> KeyUse | None:
        """The key options taken out of ``kwargs``; None when no key was given."""
        given = {name: kwargs.pop(name, None) for name in KEY_USE_OPTIONS}
        if not (
            given["kms_key_id"]
            or given["kms_discovery"]
            or given["kms_allow"]
            or given["aes_key_file"]
            or given["rsa_key_file"]
        ):
            return None
        aes, rsa = given["aes_key_file"], given["rsa_key_file"]
        spec = KeySpec(
            kms_key_id=given["kms_key_id"],
            aes_key_file=os.path.abspath(aes) if aes else None,
            rsa_key_file=os.path.abspath(rsa) if rsa else None,
            matdesc=tuple(sorted((parse_matdesc(given["matdesc"]) or {}).items())),
            kms_endpoint_url=given["kms_endpoint_url"],
            region=region,
            profile=profile,
            names=CLI_KEY_FILES,
            kms_discovery=bool(given["kms_discovery"]),
            kms_allow=tuple(given["kms_allow"] or ()),
        )
        use = cls(spec, parse_context(given["encryption_context"] or ()), bool(given["legacy"]))
        use.load()
        return use

    def load(self) -> None:
        """Build the keyring now: a bad key file or allow-list is one usage error."""
        _ = self.keyring

    @functools.cached_property
    def keyring(self) -> Keyring:
        return self.spec.keyring(private=True)

    def __call__(self, md: ContentMetadata) -> dict[str, Any]:
        """``key_used``: the KMS key's ARN as KMS answered (raw keys: the key given)."""
        request = DecryptionRequest(md, self.context, self.legacy)
        data_key = DefaultMaterialsManager(self.keyring).decrypt_data_key(request)
        envelope.unseal(md, data_key)
        return {"key_used": key_used(data_key) or self._raw_key_name()}

    def _raw_key_name(self) -> str:
        """An AES or RSA key does not say its name: the file, when only one was given."""
        files = [f for f in (self.spec.aes_key_file, self.spec.rsa_key_file) if f]
        return str(self.spec) if len(files) == 1 else "one of the keys given"


KEY_USE_OPTIONS = (
    "kms_key_id",
    "kms_discovery",
    "kms_allow",
    "aes_key_file",
    "rsa_key_file",
    "matdesc",
    "encryption_context",
    "legacy",
    "kms_endpoint_url",
)
