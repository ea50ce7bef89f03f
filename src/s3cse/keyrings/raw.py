"""What the raw (AES and RSA) keyrings share: material descriptions and key choice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..core.ciphers import random_nonzero
from ..core.materials import EncryptionMaterials, EncryptionRequest, Keyring, require_ascii_map
from ..core.suites import DATA_KEY_LENGTH
from ..errors import KeyUnwrapError, excerpt

K = TypeVar("K")


class RawKeyring(Keyring, Generic[K]):
    """A raw keyring holds one current master key and, optionally, older ones.

    Each key has a material description (a JSON map of strings stored with every object
    it wraps), so a reader holding several keys tries the one the object names first.
    That is how objects stay readable after the master key is rotated.
    """

    def __init__(
        self,
        key: K,
        material_description: Mapping[str, str] | None,
        additional_keys: Iterable[tuple[Mapping[str, str], K]],
    ) -> None:
        self.material_description = require_ascii_map(
            material_description or {}, "material description"
        )
        self._keys: list[tuple[dict[str, str], K]] = [(self.material_description, key)]
        for matdesc, extra in additional_keys:
            self._keys.append((require_ascii_map(matdesc, "material description"), extra))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(material_description={self.material_description!r})"

    @property
    def current_key(self) -> K:
        return self._keys[0][1]

    def on_encrypt(self, request: EncryptionRequest) -> EncryptionMaterials:
        return self.wrap(request, random_nonzero(DATA_KEY_LENGTH, request.rng))

    def wrapped(
        self, request: EncryptionRequest, data_key: bytes, wrapped: bytes, wrap_alg: str
    ) -> EncryptionMaterials:
        """What ``wrap`` answers: the data key wrapped under the current key, stored with
        that key's material description so that a reader finds the key again."""
        return EncryptionMaterials(
            suite=request.suite,
            data_key=data_key,
            encrypted_data_key=wrapped,
            wrap_alg=wrap_alg,
            context=dict(self.material_description),
        )

    def candidate_keys(self, stored: Mapping[str, str], *, try_all: bool) -> list[K]:
        """Keys whose description matches the stored one, then (if safe) all others.

        A keyring whose keys carry names (non-empty material descriptions) holds objects
        to those names: an object naming a key the keyring does not have is refused
        rather than guessed at, so a rewritten description cannot go unnoticed. An
        unnamed keyring, or an object stored without a name, falls back to the current
        key as the AWS clients do. ``try_all`` is for authenticated unwrapping only: a
        wrong key is detected there, while an unauthenticated legacy unwrap would turn
        a wrong key into a wrong answer.
        """
        stored = dict(stored)
        matching = [key for desc, key in self._keys if desc == stored]
        if not matching and stored and any(desc for desc, _ in self._keys):
            names = [desc for desc, _ in self._keys]
            raise KeyUnwrapError(
                f"the object names material description {excerpt(stored)}, which none of this "
                f"keyring's keys has (it holds {names})",
                hint="Add the key with that material description to the keyring",
            )
        if not matching and not try_all:
            return [self.current_key]
        if try_all:
            matching += [key for desc, key in self._keys if desc != stored]
        return matching


@dataclass(frozen=True)
class KeyFileNames:
    """What messages call the key files: the command line names them by their flags, so
    that a user learns which option to fix."""

    aes: str = "AES key file"
    rsa: str = "RSA key file"


DEFAULT_NAMES = KeyFileNames()


def describe_pem(data: bytes) -> str:
    """What a PEM file holds, in words ("an RSA public key"), for messages: a key given
    to the wrong option is then named for what it is."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if b"ENCRYPTED" in data:
        return "a password-protected private key"
    try:
        if b"CERTIFICATE-----" in data:
            public = x509.load_pem_x509_certificate(data).public_key()
            return f"a certificate (of {_algorithm(public)} public key)"
        if b"PRIVATE KEY" in data:
            return f"{_algorithm(serialization.load_pem_private_key(data, None))} private key"
        return f"{_algorithm(serialization.load_pem_public_key(data))} public key"
    except (ValueError, TypeError):
        return "no key that can be read (a damaged or unsupported PEM file)"


def _algorithm(key: object) -> str:
    """ "an RSA", "an EC", ...: the kind of an asymmetric key, with its article."""
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    kinds: tuple[tuple[tuple[type, ...], str], ...] = (
        ((rsa.RSAPrivateKey, rsa.RSAPublicKey), "an RSA"),
        ((ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey), "an EC"),
        ((ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey), "an Ed25519"),
        ((ed448.Ed448PrivateKey, ed448.Ed448PublicKey), "an Ed448"),
        ((dsa.DSAPrivateKey, dsa.DSAPublicKey), "a DSA"),
    )
    for classes, label in kinds:
        if isinstance(key, classes):
            return label
    return "an unsupported"
