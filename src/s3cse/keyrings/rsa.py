"""Raw RSA keyring: wraps data keys to an RSA public key, unwraps with the private key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from cryptography.hazmat.primitives import constant_time, hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..core.materials import (
    DecryptionRequest,
    EncryptionMaterials,
    EncryptionRequest,
    check_legacy_wrap,
)
from ..core.metadata import WRAP_RSA_OAEP_SHA1, WRAP_RSA_OAEP_SHA256_V2, WRAP_RSA_PKCS1_V1
from ..errors import ConfigurationError, KeyUnwrapError, excerpt
from .aes import read_aes_key
from .raw import DEFAULT_NAMES, KeyFileNames, RawKeyring, describe_pem

MIN_RSA_BITS = 2048
_DATA_KEY_LENGTHS = (16, 24, 32)
_OAEP_SHA1 = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
# Java's "OAEPWithSHA-256AndMGF1Padding" hashes with SHA-256 but keeps MGF1 on SHA-1.
_OAEP_SHA256_JAVA = padding.OAEP(
    mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA256(), label=None
)


class RsaKeyPair:
    """A public key, and the private key when this side must decrypt."""

    def __init__(
        self,
        public_key: rsa.RSAPublicKey | None = None,
        private_key: rsa.RSAPrivateKey | None = None,
    ) -> None:
        if public_key is None and private_key is not None:
            public_key = private_key.public_key()
        if public_key is None:
            raise ConfigurationError("an RSA keyring needs a public or a private key")
        if public_key.key_size < MIN_RSA_BITS:
            raise ConfigurationError(f"RSA keys must have at least {MIN_RSA_BITS} bits")
        self.public_key = public_key
        self.private_key = private_key

    def __repr__(self) -> str:
        private = self.private_key is not None
        return f"RsaKeyPair(bits={self.public_key.key_size}, private={private})"


class RsaKeyring(RawKeyring[RsaKeyPair]):
    """Writes ``RSA-OAEP-SHA1`` wraps; reads them and, with legacy on, V1/V2 legacy wraps."""

    def __init__(
        self,
        key: RsaKeyPair,
        material_description: Mapping[str, str] | None = None,
        *,
        additional_keys: Iterable[tuple[Mapping[str, str], RsaKeyPair]] = (),
    ) -> None:
        super().__init__(key, material_description, additional_keys)

    def wrap_algorithms(self) -> frozenset[str]:
        return frozenset({WRAP_RSA_OAEP_SHA1, WRAP_RSA_OAEP_SHA256_V2, WRAP_RSA_PKCS1_V1})

    def wrap(self, request: EncryptionRequest, data_key: bytes) -> EncryptionMaterials:
        # The "pseudo data key" binds the wrap to the content algorithm.
        pseudo = bytes([len(data_key)]) + data_key + request.suite.wrap_binding
        wrapped = self.current_key.public_key.encrypt(pseudo, _OAEP_SHA1)
        return self.wrapped(request, data_key, wrapped, WRAP_RSA_OAEP_SHA1)

    def on_decrypt(self, request: DecryptionRequest) -> bytes:
        md = request.metadata
        check_legacy_wrap(md.wrap_alg, request.legacy)
        # PKCS#1 v1.5 decryption with a wrong key does not fail: OpenSSL's implicit
        # rejection returns random bytes instead. Like AES/ECB, it cannot try every key.
        authenticated = md.wrap_alg != WRAP_RSA_PKCS1_V1
        private_keys = [
            pair.private_key
            for pair in self.candidate_keys(md.context, try_all=authenticated)
            if pair.private_key is not None
        ]
        if not private_keys:
            raise KeyUnwrapError(
                "this RSA keyring holds only public keys; decrypting needs the private key",
                hint="Pass the PEM private key",
            )
        for key in private_keys:
            data_key = _unwrap(md.wrap_alg, key, md.encrypted_data_key, md.suite.wrap_binding)
            if data_key is not None:
                return data_key
        raise KeyUnwrapError(
            f"no RSA key of this keyring unwraps the data key ({md.wrap_alg}); "
            f"the object names material description {excerpt(md.context)}"
        )


def _unwrap(wrap_alg: str, key: rsa.RSAPrivateKey, wrapped: bytes, binding: bytes) -> bytes | None:
    try:
        if wrap_alg == WRAP_RSA_OAEP_SHA1:
            pseudo = key.decrypt(wrapped, _OAEP_SHA1)
            length = pseudo[0] if pseudo else 0
            if length not in _DATA_KEY_LENGTHS or len(pseudo) != 1 + length + len(binding):
                return None
            if not constant_time.bytes_eq(pseudo[1 + length :], binding):
                return None
            return pseudo[1 : 1 + length]
        if wrap_alg == WRAP_RSA_OAEP_SHA256_V2:
            data_key = key.decrypt(wrapped, _OAEP_SHA256_JAVA)
        elif wrap_alg == WRAP_RSA_PKCS1_V1:
            data_key = key.decrypt(wrapped, padding.PKCS1v15())
        else:
            return None
        return data_key if len(data_key) in _DATA_KEY_LENGTHS else None
    except ValueError:
        return None


def load_rsa_key_file(
    path: str | Path, names: KeyFileNames = DEFAULT_NAMES, *, private: bool = False
) -> RsaKeyPair:
    """Load a PEM file holding a private key (or only a public key, enough to encrypt;
    ``private`` when the key must decrypt). A message that refuses it names the file and
    what it holds (``names``: what to call the key files)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {names.rsa} {path}: {exc.strerror}") from None
    if b"-----BEGIN" not in data:
        raise _not_pem(data, path, names)
    key = _load_pem_key(data)
    try:
        if isinstance(key, rsa.RSAPrivateKey):
            return RsaKeyPair(private_key=key)
        if isinstance(key, rsa.RSAPublicKey) and not private:
            return RsaKeyPair(public_key=key)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{names.rsa} {path}: {exc.message}") from None
    if isinstance(key, rsa.RSAPublicKey):
        raise ConfigurationError(
            f"{names.rsa} {path} holds an RSA public key, but decrypting needs the private key",
            hint="Pass the PEM private key: a public key can only encrypt",
        )
    raise ConfigurationError(
        f"{names.rsa} {path} holds {describe_pem(data)}, not an RSA key",
        hint="Make one with: s3cse keygen rsa FILE",
    )


def _load_pem_key(data: bytes) -> object:
    try:
        if b"PRIVATE KEY" in data:
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        return None


def _not_pem(data: bytes, path: str | Path, names: KeyFileNames) -> ConfigurationError:
    try:
        read_aes_key(data)
    except ConfigurationError:
        return ConfigurationError(
            f"{names.rsa} {path} is not a PEM file: it must hold an RSA key in PEM",
            hint="Make one with: s3cse keygen rsa FILE",
        )
    return ConfigurationError(
        f"{names.rsa} {path} holds an AES key, not an RSA key", hint=f"Pass it with {names.aes}"
    )


def generate_rsa_pem(bits: int = 3072) -> bytes:
    if bits < MIN_RSA_BITS:
        raise ConfigurationError(f"RSA keys must have at least {MIN_RSA_BITS} bits")
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
