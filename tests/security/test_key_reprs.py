"""No key material in any repr or str.

Objects end up in logs, tracebacks (pytest and rich print locals), debugger views and
error reports. Every object of s3cse that holds a key (wrapping keys, data keys,
content keys, index MAC keys, SSE-C keys, RSA private keys) is built here with known
keys, and neither those bytes nor their hex or base64 may appear when it is printed."""

from __future__ import annotations

import base64
import os
from typing import Any

from cryptography.hazmat.primitives import serialization

from s3cse import AesKeyring, RsaKeyPair, RsaKeyring
from s3cse.cli.options import Sse
from s3cse.core import requests
from s3cse.core.config import CryptoConfig
from s3cse.core.gcm import GcmLayout
from s3cse.core.materials import EncryptionRequest
from s3cse.fs import S3CSEFileSystem
from s3cse.io.parts import Upload
from s3cse.keyrings import CachingMaterialsManager

from ..keys import rsa_private


def spellings(secret: bytes) -> list[str]:
    """How a key may show up in text: escaped bytes, hex, base64 (both alphabets)."""
    return [
        repr(secret)[2:-1],
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode().rstrip("="),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
    ]


def rsa_spellings() -> list[str]:
    private = rsa_private(0)
    d = private.private_numbers().d
    der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return [str(d), format(d, "x"), format(d, "X"), base64.b64encode(der).decode()[64:128]]


def key_holders(
    wrapping: bytes, sse_c: bytes, sse_c_source: bytes
) -> tuple[dict[str, Any], bytes, bytes, bytes]:
    """One of each object that holds a key, built as s3cse builds them; and the data,
    content and index keys they were given."""
    config = CryptoConfig()
    keyring = AesKeyring(wrapping)
    request = EncryptionRequest(config.write_suite)
    materials = keyring.on_encrypt(request)
    plan = requests.plan_put(
        config,
        {"Bucket": "b", "Key": "k", "SSECustomerAlgorithm": "AES256", "SSECustomerKey": sse_c},
        None,
        None,
        True,
    )
    sealed = requests.seal_put(plan, materials, config)
    assert sealed.index_key is not None
    caching = CachingMaterialsManager(AesKeyring(wrapping))
    caching.encryption_materials(request)
    return (
        {
            "AesKeyring": keyring,
            "RsaKeyPair": RsaKeyPair(private_key=rsa_private(0)),
            "RsaKeyring": RsaKeyring(RsaKeyPair(private_key=rsa_private(0))),
            "EncryptionMaterials": materials,
            "ContentKey": sealed.content_key,
            "IndexKey": sealed.index_key,
            "GcmLayout": GcmLayout(sealed.content_key),
            "PutPlan": plan,
            "SealedPut": sealed,
            "Upload": Upload(
                GcmLayout(sealed.content_key),
                sealed.index_key,
                None,
                "b",
                "k",
                "upload-id",
                requests.sse_c_args(plan.args),
            ),
            "Sse": Sse("AES256", None, sse_c, sse_c_source),
            "CachingMaterialsManager": caching,
            "S3CSEFileSystem": S3CSEFileSystem(
                aes_key=wrapping, skip_instance_cache=True, endpoint_url="http://127.0.0.1:9"
            ),
        },
        materials.data_key,
        sealed.content_key.key,
        sealed.index_key.key,
    )


def test_no_key_material_in_any_repr() -> None:
    wrapping, sse_c, sse_c_source = os.urandom(32), os.urandom(32), os.urandom(32)
    holders, data_key, content_key, index_key = key_holders(wrapping, sse_c, sse_c_source)
    secrets = [
        text
        for key in (wrapping, sse_c, sse_c_source, data_key, content_key, index_key)
        for text in spellings(key)
    ] + rsa_spellings()
    leaks = sorted(
        {
            name
            for name, holder in holders.items()
            for text in (repr(holder), str(holder))
            if any(secret in text for secret in secrets)
        }
    )
    assert leaks == []
