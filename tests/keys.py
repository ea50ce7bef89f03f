"""Test keys made once per session (RSA generation is slow)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from s3cse import AesKeyring, RsaKeyPair, RsaKeyring


@functools.cache
def rsa_private(index: int = 0) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_pem(index: int = 0) -> bytes:
    return rsa_private(index).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@functools.cache
def aes_key(index: int = 0) -> bytes:
    return os.urandom(32)


def aes_keyring(index: int = 0, matdesc: dict[str, str] | None = None) -> AesKeyring:
    return AesKeyring(aes_key(index), matdesc)


def rsa_keyring(index: int = 0, matdesc: dict[str, str] | None = None) -> RsaKeyring:
    return RsaKeyring(RsaKeyPair(private_key=rsa_private(index)), matdesc)


def aes_key_file(factory: pytest.TempPathFactory, secret: bytes) -> Path:
    """``secret`` in a file of its own directory, for the command's --aes-key-file."""
    path = factory.mktemp("keys") / "aes.key"
    path.write_bytes(secret)
    return path
