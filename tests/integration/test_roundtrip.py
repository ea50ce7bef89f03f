"""Every keyring x format x size x metadata placement round-trips through real S3."""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any

import pytest

from s3cse import CryptoConfig, KmsKeyring
from s3cse.core.metadata import CONTEXT_V3, KEY_V2, KEY_V3, MATDESC_V3

from ..conftest import MakeClient
from ..keys import aes_keyring, rsa_keyring

pytestmark = pytest.mark.integration

SIZES = [0, 1, 15, 16, 17, 1024 * 1024 + 3, 20 * 1024 * 1024]


def make_keyring(kind: str, kms: Any, kms_key_id: str) -> Any:
    if kind == "kms":
        return KmsKeyring(kms_key_id, kms_client=kms)
    if kind == "aes":
        return aes_keyring(0, {"purpose": "tests"})
    return rsa_keyring(0, {"purpose": "tests"})


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s}B")
@pytest.mark.parametrize("placement", ["metadata", "instruction"])
@pytest.mark.parametrize("fmt", ["v3", "v2"])
@pytest.mark.parametrize("kind", ["kms", "aes", "rsa"])
def test_round_trip(
    make_client: MakeClient,
    kind: str,
    fmt: str,
    placement: str,
    size: int,
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
) -> None:
    keyring = make_keyring(kind, kms, kms_key_id)
    config = CryptoConfig(format=fmt, instruction_file=placement == "instruction")
    client = make_client(keyring, config=config)
    plaintext = os.urandom(size)
    context = {"tenant": "t1"} if kind == "kms" else None
    # a seekable file body exercises the streaming path; bytes the in-memory one
    body: Any = io.BytesIO(plaintext) if size % 2 else plaintext
    client.put_object(Bucket=bucket, Key=key_name, Body=body, EncryptionContext=context)

    raw = s3.get_object(Bucket=bucket, Key=key_name)
    stored = raw["Body"].read()
    assert len(stored) == size + 16
    if size >= 16:
        assert plaintext not in stored
    object_md = raw["Metadata"]
    if placement == "instruction":
        assert KEY_V3 not in object_md and KEY_V2 not in object_md
        assert s3.get_object(Bucket=bucket, Key=key_name + ".instruction")["ContentLength"] > 0
    else:
        assert (KEY_V3 if fmt == "v3" else KEY_V2) in object_md
        if fmt == "v3":
            assert (CONTEXT_V3 in object_md) == (kind == "kms")
            assert (MATDESC_V3 in object_md) == (kind != "kms")

    response = client.get_object(Bucket=bucket, Key=key_name, EncryptionContext=context)
    assert response["ContentLength"] == size
    got = response["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(plaintext).digest()
    assert client.head_object(Bucket=bucket, Key=key_name)["ContentLength"] == size
