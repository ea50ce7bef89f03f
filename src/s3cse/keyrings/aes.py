"""Raw AES keyring: wraps data keys with a 256-bit key the user holds."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from ..core.ciphers import random_nonzero
from ..core.materials import (
    DecryptionRequest,
    EncryptionMaterials,
    EncryptionRequest,
    check_legacy_wrap,
)
from ..core.metadata import WRAP_AES_ECB_V1, WRAP_AES_GCM, WRAP_AES_KEYWRAP
from ..errors import ConfigurationError, KeyUnwrapError, excerpt
from .raw import DEFAULT_NAMES, KeyFileNames, RawKeyring, describe_pem

_IV_LENGTH = 12
_VALID_KEY_LENGTHS = (16, 24, 32)


class AesKeyring(RawKeyring[bytes]):
    """Writes ``AES/GCM`` wraps; reads them and, with legacy on, ``AESWrap`` and V1's ECB."""

    def __init__(
        self,
        key: bytes,
        material_description: Mapping[str, str] | None = None,
        *,
        additional_keys: Iterable[tuple[Mapping[str, str], bytes]] = (),
    ) -> None:
        additional = list(additional_keys)
        for candidate in [key, *(k for _, k in additional)]:
            if len(candidate) not in _VALID_KEY_LENGTHS:
                raise ConfigurationError(
                    f"an AES wrapping key must be 16, 24 or 32 bytes, not {len(candidate)}"
                )
        if len(key) != 32:
            raise ConfigurationError("the current AES wrapping key must be 32 bytes (AES-256)")
        super().__init__(key, material_description, additional)

    def wrap_algorithms(self) -> frozenset[str]:
        return frozenset({WRAP_AES_GCM, WRAP_AES_KEYWRAP, WRAP_AES_ECB_V1})

    def wrap(self, request: EncryptionRequest, data_key: bytes) -> EncryptionMaterials:
        iv = random_nonzero(_IV_LENGTH, request.rng)
        wrapped = iv + AESGCM(self.current_key).encrypt(iv, data_key, request.suite.wrap_binding)
        return self.wrapped(request, data_key, wrapped, WRAP_AES_GCM)

    def on_decrypt(self, request: DecryptionRequest) -> bytes:
        md = request.metadata
        check_legacy_wrap(md.wrap_alg, request.legacy)
        authenticated = md.wrap_alg in (WRAP_AES_GCM, WRAP_AES_KEYWRAP)
        for key in self.candidate_keys(md.context, try_all=authenticated):
            data_key = _unwrap(md.wrap_alg, key, md.encrypted_data_key, md.suite.wrap_binding)
            if data_key is not None:
                return data_key
        raise KeyUnwrapError(
            f"no AES key of this keyring unwraps the data key ({md.wrap_alg}); "
            f"the object names material description {excerpt(md.context)}"
        )


def _unwrap(wrap_alg: str, key: bytes, wrapped: bytes, binding: bytes) -> bytes | None:
    try:
        if wrap_alg == WRAP_AES_GCM:
            if len(wrapped) <= _IV_LENGTH + 16:
                return None
            return AESGCM(key).decrypt(wrapped[:_IV_LENGTH], wrapped[_IV_LENGTH:], binding)
        if wrap_alg == WRAP_AES_KEYWRAP:
            return aes_key_unwrap(key, wrapped)
        if wrap_alg == WRAP_AES_ECB_V1:
            if not wrapped or len(wrapped) % 16:
                return None
            decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
            unpadder = padding.PKCS7(128).unpadder()
            padded = decryptor.update(wrapped) + decryptor.finalize()
            data_key = unpadder.update(padded) + unpadder.finalize()
            return data_key if len(data_key) in _VALID_KEY_LENGTHS else None
    except (InvalidTag, InvalidUnwrap, ValueError):
        return None
    return None


def read_aes_key(value: bytes) -> bytes:
    """A key file holds 32 raw bytes or their base64 text."""
    if len(value) == 32:
        return value
    text = value.strip()
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) in _VALID_KEY_LENGTHS:
        return decoded
    raise ConfigurationError(
        "an AES key file must hold 32 raw bytes or their base64 encoding "
        "(make one with: s3cse keygen aes FILE)"
    )


def load_aes_key_file(path: str | Path, names: KeyFileNames = DEFAULT_NAMES) -> bytes:
    """The key in an AES key file; a message that refuses it names the file, and what it
    holds when that is another kind of key (``names``: what to call the key files)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {names.aes} {path}: {exc.strerror}") from None
    if b"-----BEGIN" in data:
        held = describe_pem(data)
        raise ConfigurationError(
            f"{names.aes} {path} holds {held}, not an AES key",
            hint=(
                f"Pass an RSA key with {names.rsa}"
                if "RSA" in held
                else "An AES key file holds 32 raw bytes or their base64 (make one with: "
                "s3cse keygen aes FILE)"
            ),
        )
    try:
        return read_aes_key(data)
    except ConfigurationError:
        raise ConfigurationError(
            f"{names.aes} {path} holds no AES key: it must hold 32 raw bytes or their "
            "base64 encoding",
            hint="Make one with: s3cse keygen aes FILE",
        ) from None
