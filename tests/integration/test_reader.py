"""Random access to one object: each protection mode, chosen explicitly per object."""

from __future__ import annotations

import os
import random
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from s3cse import EncryptionClient
from s3cse import errors as e
from s3cse.core.integrity import CHUNK_SIZE
from s3cse.reader import ObjectReader

from .. import legacy
from ..keys import aes_key, aes_keyring

pytestmark = pytest.mark.integration


def reads(reader: ObjectReader, data: bytes, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(25):
        first = rng.randrange(0, len(data))
        last = first + rng.randrange(0, 3 * CHUNK_SIZE)
        assert reader.read(first, last) == data[first : last + 1], (first, last)


@pytest.mark.parametrize("mode", ["indexed", "whole", "unauthenticated"])
def test_random_reads_in_each_mode(mode: str, s3: Any, bucket: str, key_name: str) -> None:
    data = os.urandom(3 * CHUNK_SIZE + 1234)
    writer = EncryptionClient(aes_keyring(0), s3_client=s3, integrity_index=mode == "indexed")
    writer.put_object(Bucket=bucket, Key=key_name, Body=data)
    client = EncryptionClient(
        aes_keyring(0), s3_client=s3, unauthenticated_ranges=mode == "unauthenticated"
    )
    with ObjectReader(client, bucket, key_name) as reader:
        assert reader.mode == mode and reader.size == len(data)
        reads(reader, data, 1)
        assert reader.verified == (mode == "whole")


def test_sequential_unauthenticated_reads_check_the_tag_at_the_end(
    s3: Any, bucket: str, key_name: str
) -> None:
    data = os.urandom(1000)
    EncryptionClient(aes_keyring(0), s3_client=s3).put_object(
        Bucket=bucket, Key=key_name, Body=data
    )
    client = EncryptionClient(aes_keyring(0), s3_client=s3, unauthenticated_ranges=True)
    reader = ObjectReader(client, bucket, key_name)
    assert reader.read(0, 399) + reader.read(400, 999) == data
    assert reader.verified
    obj = s3.get_object(Bucket=bucket, Key=key_name)
    tampered = bytearray(obj["Body"].read())
    tampered[500] ^= 1
    s3.put_object(Bucket=bucket, Key=key_name, Body=bytes(tampered), Metadata=obj["Metadata"])
    reader = ObjectReader(client, bucket, key_name)
    reader.read(0, 399)
    with pytest.raises(e.TagMismatchError):
        reader.read(400, 999)


def test_whole_mode_refuses_a_tampered_object(s3: Any, bucket: str, key_name: str) -> None:
    EncryptionClient(aes_keyring(0), s3_client=s3).put_object(
        Bucket=bucket, Key=key_name, Body=os.urandom(5000)
    )
    obj = s3.get_object(Bucket=bucket, Key=key_name)
    tampered = bytearray(obj["Body"].read())
    tampered[0] ^= 1
    s3.put_object(Bucket=bucket, Key=key_name, Body=bytes(tampered), Metadata=obj["Metadata"])
    reader = ObjectReader(EncryptionClient(aes_keyring(0), s3_client=s3), bucket, key_name)
    with pytest.raises(e.TagMismatchError):
        reader.read(4000, 4010)


def test_legacy_cbc_random_reads(s3: Any, bucket: str, key_name: str) -> None:
    data = os.urandom(70_001)
    ciphertext, md = legacy.v2_aeswrap_cbc(aes_key(0), data)
    s3.put_object(Bucket=bucket, Key=key_name, Body=ciphertext, Metadata=md)
    client = EncryptionClient(
        aes_keyring(0), s3_client=s3, legacy=True, commitment_policy="REQUIRE_ENCRYPT_ALLOW_DECRYPT"
    )
    reader = ObjectReader(client, bucket, key_name)
    assert reader.mode == "unauthenticated" and reader.size == len(data)
    reads(reader, data, 2)


def test_object_replaced_after_open_is_not_mixed_in(s3: Any, bucket: str, key_name: str) -> None:
    client = EncryptionClient(aes_keyring(0), s3_client=s3, unauthenticated_ranges=True)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"a" * 100)
    reader = ObjectReader(client, bucket, key_name)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"b" * 100)
    with pytest.raises(e.S3CSEError, match=r"PreconditionFailed|412"):
        reader.read(0, 9)


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Threads take turns every microsecond: a race between two statements shows."""
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(saved)


@pytest.mark.parametrize("mode", ["whole", "unauthenticated"])
def test_one_reader_serves_many_threads(
    mode: str, s3: Any, bucket: str, key_name: str, frequent_thread_switches: None
) -> None:
    """Reads are positional: threads may share a reader. Each reads the object from start
    to end in pieces, then at random; every byte must be right, and the pieces followed
    one another in every thread, so the tag was checked once, and passed."""
    data = os.urandom(CHUNK_SIZE + 4321)
    EncryptionClient(aes_keyring(0), s3_client=s3).put_object(
        Bucket=bucket, Key=key_name, Body=data
    )
    client = EncryptionClient(
        aes_keyring(0), s3_client=s3, unauthenticated_ranges=mode == "unauthenticated"
    )
    reader = ObjectReader(client, bucket, key_name)
    assert reader.mode == mode
    wrong: list[tuple[int, int]] = []
    failed: list[BaseException] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        pieces = [(first, min(first + 2999, len(data) - 1)) for first in range(0, len(data), 3000)]
        pieces += [
            (first, first + rng.randrange(300))
            for first in (rng.randrange(len(data)) for _ in range(200))
        ]
        try:
            for first, last in pieces:
                if reader.read(first, last) != data[first : last + 1]:
                    wrong.append((first, last))
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failed, failed[:3]
    assert not wrong, f"{len(wrong)} reads returned wrong bytes, e.g. {wrong[:3]}"
    assert reader.verified
    reader.close()
