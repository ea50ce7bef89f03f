"""Ranged reads of encrypted objects behave like S3's ranged reads of the plaintext."""

from __future__ import annotations

import os
from typing import Any

import pytest

from s3cse import errors as e

from .. import legacy
from ..conftest import MakeClient
from ..keys import aes_key, aes_keyring

pytestmark = pytest.mark.integration

SIZES = [1, 15, 16, 17, 100, 1000, 4099]


def ranges_for(size: int) -> list[str]:
    points = sorted(
        {0, 1, 5, 15, 16, 17, 31, 32, size // 2, size - 17, size - 16, size - 1, size, size + 5}
    )
    points = [p for p in points if p >= 0]
    out = [f"bytes={a}-{b}" for a in points for b in points if b >= a]
    out += [f"bytes={a}-" for a in points]
    out += [f"bytes=-{n}" for n in (1, 15, 16, 17, size - 1, size, size + 40) if n > 0]
    return out


def expected(s3: Any, bucket: str, key: str, header: str) -> tuple[bytes, str] | None:
    try:
        response = s3.get_object(Bucket=bucket, Key=key, Range=header)
    except s3.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "InvalidRange"
        return None
    return response["Body"].read(), response["ContentRange"]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", ["v3", "v2", "v1-cbc", "v2-cbc"])
def test_ranges_match_plain_s3(
    make_client: MakeClient, kind: str, size: int, s3: Any, bucket: str, key_name: str
) -> None:
    plaintext = os.urandom(size)
    plain_key, enc_key = key_name + "/plain", key_name + "/enc"
    s3.put_object(Bucket=bucket, Key=plain_key, Body=plaintext)
    if kind.endswith("cbc"):
        builder = legacy.v1_aes_cbc if kind == "v1-cbc" else legacy.v2_aeswrap_cbc
        ciphertext, md = builder(aes_key(0), plaintext)
        s3.put_object(Bucket=bucket, Key=enc_key, Body=ciphertext, Metadata=md)
        reader = make_client(
            aes_keyring(0), legacy=True, commitment_policy="REQUIRE_ENCRYPT_ALLOW_DECRYPT"
        )
    else:
        make_client(aes_keyring(0), format=kind).put_object(
            Bucket=bucket, Key=enc_key, Body=plaintext
        )
        reader = make_client(
            aes_keyring(0),
            unauthenticated_ranges=True,
            commitment_policy="REQUIRE_ENCRYPT_ALLOW_DECRYPT",
        )
    for header in ranges_for(size):
        want = expected(s3, bucket, plain_key, header)
        if want is None:
            with pytest.raises(e.S3CSEError, match="InvalidRange"):
                reader.get_object(Bucket=bucket, Key=enc_key, Range=header)["Body"].read()
            continue
        response = reader.get_object(Bucket=bucket, Key=enc_key, Range=header)
        assert response["Body"].read() == want[0], header
        assert response["ContentRange"] == want[1], header
        assert response["ContentLength"] == len(want[0]), header


def test_gcm_ranges_are_refused_unless_allowed(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"0123456789" * 10)
    with pytest.raises(e.ConfigurationError, match="cannot be authenticated"):
        client.get_object(Bucket=bucket, Key=key_name, Range="bytes=0-9")
    relaxed = make_client(aes_keyring(0), unauthenticated_ranges=True)
    assert (
        relaxed.get_object(Bucket=bucket, Key=key_name, Range="bytes=10-19")["Body"].read()
        == b"0123456789"
    )


def test_malformed_ranges(make_client: MakeClient, s3: Any, bucket: str, key_name: str) -> None:
    client = make_client(aes_keyring(0), unauthenticated_ranges=True)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"x" * 100)
    for header in ("bytes=5-1", "bytes=0-1,5-6", "items=0-1", "bytes=-"):
        with pytest.raises(e.ConfigurationError):
            client.get_object(Bucket=bucket, Key=key_name, Range=header)
