"""Attacks on the integrity index (``KEY.s3cse-index``) and on ranged reads through it.

The attacker may rewrite the object and its sidecar at will but holds no key: a forged,
grown or emptied index, or an object cut short beside a genuine one, must end in an
authentication error, never in a shorter "valid" object, unverified bytes, or a read as
large as the forgery claims. An index naming another object (as a stale one does) only
takes the index away, as deleting it would."""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterator
from typing import Any

import fsspec
import pytest

from s3cse import EncryptionClient
from s3cse import errors as e
from s3cse.core import reads
from s3cse.core.integrity import CHUNK_SIZE, MAC_LENGTH, MAGIC, SUFFIX, IndexMismatchError, binding
from s3cse.fs import S3CSEFileSystem
from s3cse.reader import ObjectReader

from ..conftest import MakeClient
from ..keys import aes_key, aes_keyring

pytestmark = pytest.mark.integration
MiB = 1024 * 1024
DATA = os.urandom(3 * CHUNK_SIZE + 100)


# ---------------------------------------------------------------- helpers


def put_indexed(client: Any, bucket: str, key: str, data: bytes = DATA) -> None:
    client.put_object(Bucket=bucket, Key=key, Body=data, IntegrityIndex=True)


def read_range(client: Any, bucket: str, key: str, header: str) -> bytes:
    data: bytes = client.get_object(Bucket=bucket, Key=key, Range=header)["Body"].read()
    return data


def replace_body(s3: Any, bucket: str, key: str, body: bytes) -> None:
    """Store ``body`` under ``key``, keeping the object's metadata (the wrapped key)."""
    metadata = s3.head_object(Bucket=bucket, Key=key)["Metadata"]
    s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=metadata)


def stored(s3: Any, bucket: str, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def forged_header(s3: Any, bucket: str, key: str, claimed_size: int) -> bytes:
    """An index header as an attacker can write one: the object's real binding (derived
    from its public metadata) and any size, but a MAC made up without the key."""
    metadata = s3.head_object(Bucket=bucket, Key=key)["Metadata"]
    md = reads.parse_object_metadata(reads.object_metadata(metadata))
    assert md is not None
    fields = struct.pack(">8sIIQ32s", MAGIC, CHUNK_SIZE, MAC_LENGTH, claimed_size, binding(md))
    return fields + os.urandom(MAC_LENGTH)


def s3_client_of(client: Any) -> Any:
    """The botocore (or aiobotocore) S3 client an s3cse client sends its requests with."""
    return getattr(client, "async_client", client).s3


@contextlib.contextmanager
def get_bytes_announced(client: Any) -> Iterator[list[int]]:
    """The ContentLength of every GetObject answer the client receives meanwhile."""
    events = s3_client_of(client).meta.events
    lengths: list[int] = []

    def count(parsed: dict[str, Any], **_: Any) -> None:
        lengths.append(int(parsed.get("ContentLength") or 0))

    events.register("after-call.s3.GetObject", count)
    try:
        yield lengths
    finally:
        events.unregister("after-call.s3.GetObject", count)


def filesystem(stack: Any, **options: Any) -> S3CSEFileSystem:
    fs: S3CSEFileSystem = fsspec.filesystem(
        "s3cse",
        aes_key=aes_key(0),
        skip_instance_cache=True,
        endpoint_url=stack.s3_endpoint,
        **options,
    )
    return fs


# ---------------------------------------------------------------- 1. header MAC first


def test_forged_index_claiming_an_empty_object_is_tampering(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    put_indexed(client, bucket, key_name)
    forged = forged_header(s3, bucket, key_name, claimed_size=16) + os.urandom(32)
    s3.put_object(Bucket=bucket, Key=key_name + SUFFIX, Body=forged)
    for header in ("bytes=0-9", "bytes=-10", "bytes=5-"):
        with pytest.raises(IndexMismatchError, match="does not belong"):
            read_range(client, bucket, key_name, header)


def test_emptied_object_beside_its_real_index_is_tampering(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    put_indexed(client, bucket, key_name)
    replace_body(s3, bucket, key_name, b"")
    for header in ("bytes=0-9", "bytes=-10", f"bytes={CHUNK_SIZE}-"):
        with pytest.raises(IndexMismatchError, match="size"):
            read_range(client, bucket, key_name, header)
    # a genuine empty object with its index still answers a range as S3 does
    put_indexed(client, bucket, key_name, b"")
    with pytest.raises(e.InvalidRangeError):
        read_range(client, bucket, key_name, "bytes=0-9")


# ---------------------------------------------------------------- 2. bounded reads


def test_oversized_forged_index_is_refused_without_reading_it(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    put_indexed(client, bucket, key_name)
    sidecar = forged_header(s3, bucket, key_name, claimed_size=2**60)
    sidecar += bytes(64 * MiB - len(sidecar))
    s3.put_object(Bucket=bucket, Key=key_name + SUFFIX, Body=sidecar)
    for header in ("bytes=0-", "bytes=-1", "bytes=0-9"):
        with get_bytes_announced(client) as lengths, pytest.raises(IndexMismatchError):
            read_range(client, bucket, key_name, header)
        assert sum(lengths) < MiB, (header, lengths)


def test_grown_index_is_refused_before_its_entries_are_read(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    put_indexed(client, bucket, key_name)
    replace_body(
        s3, bucket, key_name + SUFFIX, stored(s3, bucket, key_name + SUFFIX) + bytes(4 * MiB)
    )
    with (
        get_bytes_announced(client) as lengths,
        pytest.raises(IndexMismatchError, match="index has"),
    ):
        read_range(client, bucket, key_name, "bytes=0-")
    assert sum(lengths) < MiB, lengths


def test_grown_index_is_refused_by_random_access(
    stack: Any, s3: Any, bucket: str, key_name: str
) -> None:
    put_indexed(EncryptionClient(aes_keyring(0), s3_client=s3), bucket, key_name)
    replace_body(
        s3, bucket, key_name + SUFFIX, stored(s3, bucket, key_name + SUFFIX) + bytes(MAC_LENGTH)
    )
    with pytest.raises(IndexMismatchError, match="index has"):
        ObjectReader(EncryptionClient(aes_keyring(0), s3_client=s3), bucket, key_name)
    with pytest.raises(IndexMismatchError, match="index has"):
        filesystem(stack).cat_file(f"{bucket}/{key_name}", 0, 10)


def test_emptied_index_is_tampering_not_a_bad_range(
    make_client: MakeClient, stack: Any, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    put_indexed(client, bucket, key_name)
    s3.put_object(Bucket=bucket, Key=key_name + SUFFIX, Body=b"")
    with pytest.raises(IndexMismatchError, match="empty"):
        read_range(client, bucket, key_name, "bytes=0-9")
    with pytest.raises(IndexMismatchError, match="empty"):
        ObjectReader(EncryptionClient(aes_keyring(0), s3_client=s3), bucket, key_name)
    with pytest.raises(IndexMismatchError, match="empty"):
        filesystem(stack).cat_file(f"{bucket}/{key_name}", 0, 10)


# ---------------------------------------------------------------- 3. index always used


def test_index_is_used_even_when_unauthenticated_ranges_are_allowed(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    put_indexed(make_client(aes_keyring(0)), bucket, key_name)
    body = bytearray(stored(s3, bucket, key_name))
    body[CHUNK_SIZE + 5] ^= 0x01
    replace_body(s3, bucket, key_name, bytes(body))
    client = make_client(aes_keyring(0), unauthenticated_ranges=True)
    with pytest.raises(IndexMismatchError, match="chunk 1"):
        read_range(client, bucket, key_name, f"bytes={CHUNK_SIZE}-{CHUNK_SIZE + 99}")
    # chunks left alone still read, verified
    assert read_range(client, bucket, key_name, "bytes=0-99") == DATA[:100]


# ---------------------------------------------------------------- 4. errors name the object


def test_index_errors_raised_while_streaming_name_the_object(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    put_indexed(client, bucket, key_name)
    body = bytearray(stored(s3, bucket, key_name))
    body[2 * CHUNK_SIZE] ^= 0x01
    replace_body(s3, bucket, key_name, bytes(body))
    response = client.get_object(Bucket=bucket, Key=key_name, Range="bytes=0-")
    with pytest.raises(IndexMismatchError) as raised:
        response["Body"].read()
    assert (raised.value.bucket, raised.value.key) == (bucket, key_name)
    assert f"s3://{bucket}/{key_name}" in str(raised.value)


# ---------------------------------------------------------------- 5. stale is never a downgrade


def test_planted_foreign_index_only_takes_the_index_away(
    make_client: MakeClient, stack: Any, s3: Any, bucket: str, key_name: str
) -> None:
    """An index naming another object (what a stale one looks like) is set aside: reads
    then go as without an index, so planting one gains nothing over deleting the index.
    Ranges are refused, and s3cse:// verifies the whole object, catching a tampered one."""
    client = make_client(aes_keyring(0))
    put_indexed(client, bucket, key_name + "-other")
    put_indexed(client, bucket, key_name)
    s3.put_object(
        Bucket=bucket, Key=key_name + SUFFIX, Body=stored(s3, bucket, key_name + "-other" + SUFFIX)
    )
    body = bytearray(stored(s3, bucket, key_name))
    body[CHUNK_SIZE + 5] ^= 0x01
    replace_body(s3, bucket, key_name, bytes(body))
    with pytest.raises(e.ConfigurationError, match="earlier version"):
        read_range(client, bucket, key_name, "bytes=0-9")
    with filesystem(stack).open(f"{bucket}/{key_name}") as f:
        assert f.protection == "whole"
        with pytest.raises(e.TagMismatchError):
            f.read(10)
