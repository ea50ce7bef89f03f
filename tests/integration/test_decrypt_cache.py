"""The clients' data-key cache, with KMS calls counted at the local KMS gate: an object
read again costs no further Decrypt within the cache's age, and nothing else of a read
is skipped (the context check, key commitment, the tag, the integrity index)."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from typing import Any

import pytest

from s3cse import EncryptionClient, KmsKeyring
from s3cse import errors as e
from s3cse.aio import AsyncEncryptionClient
from s3cse.core.metadata import COMMITMENT_V3, CONTEXT_V3
from s3cse.keyrings import AsyncKmsKeyring
from s3cse.keyrings.key_cache import KeyCache
from s3cse.local import stack as local
from s3cse.local.kms_gate import RESET_PATH, STATS_PATH

from .test_kms_gate import gate

pytestmark = pytest.mark.integration
BODY = bytes(range(256)) * 4096  # 1 MiB: four chunks of an integrity index


class Clock:
    """Time as the cache sees it, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def decrypts(stack: local.LocalStack) -> int:
    """KMS Decrypts the gate forwarded since the last ``reset``."""
    calls: int = gate(stack, "GET", STATS_PATH)["requests"].get("Decrypt", 0)
    return calls


def reset(stack: local.LocalStack) -> None:
    gate(stack, "POST", RESET_PATH)


def client_with_clock(kms_key_id: str, s3: Any, clock: Clock, **options: Any) -> EncryptionClient:
    client = EncryptionClient(KmsKeyring(kms_key_id), s3_client=s3, **options)
    client.session.keys = KeyCache(60.0, 1000, clock=clock)
    return client


def read(client: EncryptionClient, bucket: str, key: str, **kwargs: Any) -> bytes:
    data: bytes = client.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()
    return data


def test_reads_of_one_object_make_one_decrypt(
    stack: local.LocalStack, s3: Any, bucket: str, kms_key_id: str, key_name: str
) -> None:
    client = EncryptionClient(KmsKeyring(kms_key_id), s3_client=s3, integrity_index=True)
    client.put_object(Bucket=bucket, Key=key_name, Body=BODY)
    reset(stack)
    for _ in range(5):
        assert read(client, bucket, key_name) == BODY
    for header, part in (
        ("bytes=-65536", BODY[-65536:]),
        ("bytes=300000-300099", BODY[300000:300100]),
    ):
        assert read(client, bucket, key_name, Range=header) == part
    assert decrypts(stack) == 1


def test_without_the_cache_every_read_decrypts(
    stack: local.LocalStack, s3: Any, bucket: str, kms_key_id: str, key_name: str
) -> None:
    client = EncryptionClient(KmsKeyring(kms_key_id), s3_client=s3, decrypt_cache_seconds=0)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"each read asks KMS")
    reset(stack)
    for _ in range(4):
        assert read(client, bucket, key_name) == b"each read asks KMS"
    assert decrypts(stack) == 4
    assert len(client.session.keys) == 0


def test_another_context_is_a_miss_and_a_mismatch_still_refused(
    stack: local.LocalStack, s3: Any, bucket: str, kms_key_id: str, key_name: str
) -> None:
    client = EncryptionClient(KmsKeyring(kms_key_id), s3_client=s3)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"x", EncryptionContext={"a": "1"})
    reset(stack)
    assert read(client, bucket, key_name, EncryptionContext={"a": "1"}) == b"x"
    assert read(client, bucket, key_name, EncryptionContext={"a": "1"}) == b"x"
    assert decrypts(stack) == 1
    for expected in ({"a": "2"}, {}):
        with pytest.raises(e.EncryptionContextMismatchError):
            read(client, bucket, key_name, EncryptionContext=expected)
    assert decrypts(stack) == 1  # refused before KMS, as without the cache

    # the same wrapped key stored with another context: not the cached key, KMS is
    # asked (with the forged context) and refuses
    metadata = dict(s3.head_object(Bucket=bucket, Key=key_name)["Metadata"])
    context = json.loads(metadata[CONTEXT_V3])
    assert context["a"] == "1"
    metadata[CONTEXT_V3] = json.dumps({**context, "a": "2"})
    stored = s3.get_object(Bucket=bucket, Key=key_name)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key_name + "-forged", Body=stored, Metadata=metadata)
    for _ in range(2):
        with pytest.raises(e.S3CSEError, match="KMS") as raised:
            read(client, bucket, key_name + "-forged", EncryptionContext={"a": "2"})
        assert not isinstance(raised.value, e.EncryptionContextMismatchError)
    assert decrypts(stack) == 3  # failures are not cached


def test_a_key_is_asked_again_once_its_age_has_passed(
    stack: local.LocalStack, s3: Any, kms: Any, bucket: str, key_name: str
) -> None:
    key_id = kms.create_key(Description="disabled while cached")["KeyMetadata"]["KeyId"]
    clock = Clock()
    client = client_with_clock(key_id, s3, clock)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"cached for a minute")
    reset(stack)
    assert read(client, bucket, key_name) == b"cached for a minute"
    clock.now += 59.0
    assert read(client, bucket, key_name) == b"cached for a minute"
    assert decrypts(stack) == 1
    clock.now += 1.0  # 60 s after the unwrap, however often it was used since
    assert read(client, bucket, key_name) == b"cached for a minute"
    assert decrypts(stack) == 2

    kms.disable_key(KeyId=key_id)
    # the trade-off: within the age the client still reads what it read lately ...
    assert read(client, bucket, key_name) == b"cached for a minute"
    clock.now += 60.0
    # ... and not once the age has passed
    with pytest.raises(e.KmsKeyUnavailableError, match=key_id):
        read(client, bucket, key_name)
    with pytest.raises(e.KmsKeyUnavailableError):
        read(client, bucket, key_name)
    client.session.keys.clear()


def test_key_commitment_is_checked_on_every_read_with_a_cached_key(
    stack: local.LocalStack, s3: Any, bucket: str, kms_key_id: str, key_name: str
) -> None:
    client = EncryptionClient(KmsKeyring(kms_key_id), s3_client=s3)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"committed")
    assert read(client, bucket, key_name) == b"committed"  # the key is cached now
    head = s3.head_object(Bucket=bucket, Key=key_name)
    metadata = dict(head["Metadata"])
    commitment = bytearray(base64.b64decode(metadata[COMMITMENT_V3]))
    commitment[0] ^= 1
    metadata[COMMITMENT_V3] = base64.b64encode(bytes(commitment)).decode()
    stored = s3.get_object(Bucket=bucket, Key=key_name)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key_name + "-forged", Body=stored, Metadata=metadata)
    reset(stack)
    with pytest.raises(e.AuthenticationError, match="commitment"):
        read(client, bucket, key_name + "-forged")
    assert decrypts(stack) == 0  # same wrapped key and context: the cached key was used


def test_tampered_content_with_a_cached_key_fails(
    stack: local.LocalStack, s3: Any, bucket: str, kms_key_id: str, key_name: str
) -> None:
    client = EncryptionClient(KmsKeyring(kms_key_id), s3_client=s3, integrity_index=True)
    client.put_object(Bucket=bucket, Key=key_name, Body=BODY)
    assert read(client, bucket, key_name, Range="bytes=0-9") == BODY[:10]
    head = s3.head_object(Bucket=bucket, Key=key_name)
    stored = bytearray(s3.get_object(Bucket=bucket, Key=key_name)["Body"].read())
    stored[-100] ^= 1
    index = s3.get_object(Bucket=bucket, Key=key_name + ".s3cse-index")["Body"].read()
    s3.put_object(Bucket=bucket, Key=key_name, Body=bytes(stored), Metadata=head["Metadata"])
    s3.put_object(Bucket=bucket, Key=key_name + ".s3cse-index", Body=index)
    reset(stack)
    with pytest.raises(e.AuthenticationError):
        read(client, bucket, key_name)
    with pytest.raises(e.AuthenticationError):
        read(client, bucket, key_name, Range="bytes=-65536")
    assert read(client, bucket, key_name, Range="bytes=0-9") == BODY[:10]  # untouched chunk
    assert decrypts(stack) == 0


def test_threads_reading_one_object_make_one_decrypt(
    stack: local.LocalStack, s3: Any, bucket: str, kms_key_id: str, key_name: str
) -> None:
    client = EncryptionClient(KmsKeyring(kms_key_id), s3_client=s3)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"many readers")
    reset(stack)
    start = threading.Barrier(8)
    results: list[bytes] = []

    def reader() -> None:
        start.wait()
        results.append(read(client, bucket, key_name))

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [b"many readers"] * 8
    assert decrypts(stack) == 1


def test_tasks_reading_one_object_make_one_decrypt(
    stack: local.LocalStack, s3: Any, bucket: str, kms_key_id: str, key_name: str
) -> None:
    EncryptionClient(KmsKeyring(kms_key_id), s3_client=s3).put_object(
        Bucket=bucket, Key=key_name, Body=b"many tasks"
    )
    reset(stack)

    async def main() -> list[bytes]:
        async with AsyncEncryptionClient.create(AsyncKmsKeyring(kms_key_id)) as client:

            async def one() -> bytes:
                response = await client.get_object(Bucket=bucket, Key=key_name)
                data: bytes = await response["Body"].read()
                return data

            return list(await asyncio.gather(*(one() for _ in range(8))))

    assert asyncio.run(main()) == [b"many tasks"] * 8
    assert decrypts(stack) == 1
