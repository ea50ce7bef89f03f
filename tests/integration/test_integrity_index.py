"""Authenticated random access: ranged reads verified by the integrity index."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest

from s3cse import EncryptionClient
from s3cse import errors as e
from s3cse.core.integrity import CHUNK_SIZE, HEADER_SIZE, SUFFIX, IndexMismatchError
from s3cse.transfer import TransferConfig

from ..conftest import MakeClient
from ..keys import aes_keyring

pytestmark = pytest.mark.integration
MiB = 1024 * 1024
PARTS = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)


def upload(client: EncryptionClient, bucket: str, key: str, data: bytes, how: str) -> None:
    if how == "put":
        client.put_object(Bucket=bucket, Key=key, Body=data, IntegrityIndex=True)
    else:
        client.upload_fileobj(
            io.BytesIO(data), bucket, key, Config=PARTS, ExtraArgs={"IntegrityIndex": True}
        )


@pytest.mark.parametrize(
    ("how", "size"),
    [
        ("put", 1),
        ("put", 17),
        ("put", CHUNK_SIZE),
        ("put", 3 * CHUNK_SIZE + 5),
        ("multipart", 11 * MiB + 3),
    ],
)
@pytest.mark.parametrize("fmt", ["v3", "v2"])
def test_verified_ranges_match_plain_s3(
    make_client: MakeClient, fmt: str, how: str, size: int, s3: Any, bucket: str, key_name: str
) -> None:
    data = os.urandom(size)
    writer = make_client(aes_keyring(0), format=fmt)
    upload(writer, bucket, key_name, data, how)
    s3.put_object(Bucket=bucket, Key=key_name + "/plain", Body=data)
    reader = make_client(aes_keyring(0), commitment_policy="REQUIRE_ENCRYPT_ALLOW_DECRYPT")
    headers = [
        "bytes=0-0",
        f"bytes=-{min(size, 65536)}",
        f"bytes={size // 2}-",
        f"bytes={max(size - 20, 0)}-{size + 100}",
        f"bytes={CHUNK_SIZE - 3}-{CHUNK_SIZE + 3}",
    ]
    for header in headers:
        try:
            plain = s3.get_object(Bucket=bucket, Key=key_name + "/plain", Range=header)
        except s3.exceptions.ClientError:
            with pytest.raises(e.S3CSEError, match="InvalidRange"):
                reader.get_object(Bucket=bucket, Key=key_name, Range=header)
            continue
        got = reader.get_object(Bucket=bucket, Key=key_name, Range=header)
        assert got["Body"].read() == plain["Body"].read(), header
        assert got["ContentRange"] == plain["ContentRange"], header


def tamper(s3: Any, bucket: str, key: str, offset: int) -> None:
    obj = s3.get_object(Bucket=bucket, Key=key)
    data = bytearray(obj["Body"].read())
    data[offset] ^= 0x01
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(data), Metadata=obj["Metadata"])


def test_tampered_chunk_fails_only_the_ranges_that_touch_it(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    data = os.urandom(4 * CHUNK_SIZE)
    upload(client, bucket, key_name, data, "put")
    tamper(s3, bucket, key_name, 2 * CHUNK_SIZE + 10)
    touched = client.get_object(
        Bucket=bucket, Key=key_name, Range=f"bytes={2 * CHUNK_SIZE}-{2 * CHUNK_SIZE + 99}"
    )
    with pytest.raises(IndexMismatchError, match="chunk 2"):
        touched["Body"].read()
    clean = client.get_object(Bucket=bucket, Key=key_name, Range="bytes=-100")
    assert clean["Body"].read() == data[-100:]
    with pytest.raises(e.TagMismatchError):  # the whole object still fails its tag
        client.get_object(Bucket=bucket, Key=key_name)


@pytest.mark.parametrize("where", ["entry", "header", "trailer"])
def test_tampered_index_is_refused(
    make_client: MakeClient, where: str, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    upload(client, bucket, key_name, os.urandom(2 * CHUNK_SIZE), "put")
    index = s3.get_object(Bucket=bucket, Key=key_name + SUFFIX)["Body"].read()
    offset = {"entry": HEADER_SIZE + 1, "header": 20, "trailer": len(index) - 1}[where]
    tamper(s3, bucket, key_name + SUFFIX, offset)
    response_or_error: Any
    try:
        response_or_error = client.get_object(Bucket=bucket, Key=key_name, Range="bytes=0-9")
        body = response_or_error["Body"].read()
    except IndexMismatchError:
        return
    # the trailer covers whole-index checks only; a range read need not touch it
    assert where == "trailer" and len(body) == 10


def test_stale_index_of_a_replaced_object_is_set_aside_not_trusted(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    upload(client, bucket, key_name, os.urandom(CHUNK_SIZE), "put")
    stale = s3.get_object(Bucket=bucket, Key=key_name + SUFFIX)["Body"].read()
    upload(client, bucket, key_name, os.urandom(CHUNK_SIZE), "put")
    s3.put_object(Bucket=bucket, Key=key_name + SUFFIX, Body=stale)
    with pytest.raises(e.ConfigurationError, match="earlier version of the object"):
        client.get_object(Bucket=bucket, Key=key_name, Range="bytes=0-9")


def test_truncated_object_is_refused(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    upload(client, bucket, key_name, os.urandom(2 * CHUNK_SIZE), "put")
    obj = s3.get_object(Bucket=bucket, Key=key_name)
    s3.put_object(
        Bucket=bucket, Key=key_name, Body=obj["Body"].read()[:-CHUNK_SIZE], Metadata=obj["Metadata"]
    )
    with pytest.raises(IndexMismatchError, match="size"):
        client.get_object(Bucket=bucket, Key=key_name, Range="bytes=0-9")


def test_without_index_ranges_need_the_switch(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"x" * 100)
    with pytest.raises(e.ConfigurationError, match="IntegrityIndex=True"):
        client.get_object(Bucket=bucket, Key=key_name, Range="bytes=0-9")


def test_delete_removes_the_index(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0), integrity_index=True)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"indexed")
    assert s3.head_object(Bucket=bucket, Key=key_name + SUFFIX)
    client.delete_object(Bucket=bucket, Key=key_name)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key_name).get("Contents", [])
    assert listed == []
