"""What reading real writers' quirks (docs/writers.md, docs/conformance.md) must not open.

Each tolerance is bound to the legacy format it comes from. An attacker with write
access to the bucket and no key must not be able to use one to make a V3 object read
with a weaker key, to swap in a sidecar under a legacy name, or to slip past the checks
that a strict reader applies.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from s3cse import errors as e

from .. import legacy
from ..conftest import MakeClient
from ..keys import aes_key, aes_keyring

pytestmark = pytest.mark.integration
LEGACY_READER = {"legacy": True, "commitment_policy": "REQUIRE_ENCRYPT_ALLOW_DECRYPT"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_v3_never_takes_a_128_bit_data_key(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    """An attacker who can wrap keys (here: knows the wrapping key's AES/GCM layout, as a
    KMS Encrypt permission would allow) still cannot give a V3 object a short data key."""
    client = make_client(aes_keyring(0))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"genuine")
    md = s3.head_object(Bucket=bucket, Key=key_name)["Metadata"]
    short_key, nonce = os.urandom(16), os.urandom(12)
    wrapped = nonce + AESGCM(aes_key(0)).encrypt(nonce, short_key, b"115")
    s3.put_object(
        Bucket=bucket, Key=key_name, Body=b"x" * 32, Metadata={**md, "x-amz-3": b64(wrapped)}
    )
    for reader in (make_client(aes_keyring(0)), make_client(aes_keyring(0), **LEGACY_READER)):
        with pytest.raises(e.AuthenticationError, match="expected 32"):
            reader.get_object(Bucket=bucket, Key=key_name)


def test_a_dotnet_named_file_is_never_read_beside_an_object_with_metadata(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    """A V3 object whose instruction file was deleted does not fall back to a file
    planted under the .NET legacy name: only an object with no encryption metadata at
    all may have one."""
    writer = make_client(aes_keyring(0))
    writer.put_object(Bucket=bucket, Key=key_name, Body=b"genuine", InstructionFile=True)
    s3.delete_object(Bucket=bucket, Key=key_name + ".instruction")
    _, _, suffix, body = legacy.dotnet_legacy_instruction_file(aes_key(0), b"forged")
    s3.put_object(Bucket=bucket, Key=key_name + str(suffix), Body=body)
    reader = make_client(aes_keyring(0), **LEGACY_READER)
    with pytest.raises(e.InstructionFileError, match="does not exist"):
        reader.get_object(Bucket=bucket, Key=key_name)


def test_a_dotnet_legacy_object_needs_legacy_modes(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    ciphertext, md, suffix, body = legacy.dotnet_legacy_instruction_file(aes_key(0), b"old")
    s3.put_object(Bucket=bucket, Key=key_name, Body=ciphertext, Metadata=md)
    s3.put_object(Bucket=bucket, Key=key_name + str(suffix), Body=body)
    with pytest.raises(e.LegacyModeDisabledError):
        make_client(aes_keyring(0)).get_object(Bucket=bucket, Key=key_name)
    reader = make_client(aes_keyring(0), **LEGACY_READER)
    assert reader.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"old"


@pytest.mark.parametrize("value", ["", "0", 0, 128])
def test_gcm_instruction_files_keep_their_tag_length_check(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, value: Any
) -> None:
    """Empty, zero or numeric tag lengths are tolerated only where no tag exists (CBC)
    or where the number equals the one string every writer uses (128)."""
    ciphertext, md = legacy.v2_aeswrap_gcm(aes_key(0), b"gcm object")
    fields = {**md, "x-amz-tag-len": value}
    s3.put_object(Bucket=bucket, Key=key_name, Body=ciphertext)
    s3.put_object(Bucket=bucket, Key=key_name + ".instruction", Body=json.dumps(fields).encode())
    reader = make_client(aes_keyring(0), **LEGACY_READER)
    if value == 128:
        assert reader.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"gcm object"
        return
    with pytest.raises(e.MetadataError, match="tag length"):
        reader.get_object(Bucket=bucket, Key=key_name)
