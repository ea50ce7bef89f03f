"""Ranged reads through an integrity index in one round trip: the index header, its
entries and the object's chunks are all sent before any answer is read (two GETs when
the entries lie in the index's first window, read with its header),
no HEAD, and with the data key cached no KMS call; what arrives is still verified before
release.

Requests are counted as the client sends them over HTTP (botocore's ``before-send``,
once per request on the wire, retries included); overlap is shown by holding every
request at that point until all of them have been sent, which a read that waits for one
answer before sending the next can never satisfy (it fails when the barrier times out,
never by measuring time)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from s3cse import EncryptionClient, KmsKeyring
from s3cse import errors as e
from s3cse.aio import AsyncEncryptionClient
from s3cse.core import prefetch
from s3cse.core.integrity import SUFFIX
from s3cse.keyrings import AsyncKmsKeyring
from s3cse.local import stack as local

from .test_decrypt_cache import decrypts, reset

pytestmark = pytest.mark.integration
GETS = 2
"""The GETs of one ranged read of an object under 1 GiB: its index, its chunks."""
CHUNK = 256 * 1024
BODY = bytes(range(251)) * (4 * CHUNK // 251 + 1)  # a little over four chunks
RANGES = {
    "bytes=-65536": BODY[-65536:],
    "bytes=300000-300099": BODY[300000:300100],
    f"bytes={3 * CHUNK - 10}-{3 * CHUNK + 9}": BODY[3 * CHUNK - 10 : 3 * CHUNK + 10],
    "bytes=700000-": BODY[700000:],
    "bytes=1-": BODY[1:],
    "bytes=0-0": BODY[:1],
    f"bytes=-{len(BODY) + 5}": BODY,
}


def sent(events: Any) -> tuple[Counter[str], list[str]]:
    """Each request the client sends: counted by HTTP method, and its Range."""
    counts: Counter[str] = Counter()
    seen: list[str] = []

    def record(request: Any, **_: Any) -> None:
        counts[request.method] += 1
        seen.append(f"{request.url.rsplit('/', 1)[-1]} {request.headers.get('Range', b'')!r}")

    events.register("before-send.s3", record)
    return counts, seen


@pytest.fixture
def counted_s3(stack: local.LocalStack) -> Any:
    return local.stack_client(stack, "s3")


def put(client: Any, bucket: str, key: str) -> None:
    client.put_object(Bucket=bucket, Key=key, Body=BODY, IntegrityIndex=True)


def test_a_range_is_two_gets_no_head_and_no_kms_call_with_a_warm_key(
    stack: local.LocalStack, counted_s3: Any, bucket: str, kms_key_id: str, key_name: str
) -> None:
    client = EncryptionClient(KmsKeyring(kms_key_id), s3_client=counted_s3)
    put(client, bucket, key_name)
    assert client.get_object(Bucket=bucket, Key=key_name, Range="bytes=0-9")["Body"].read()
    reset(stack)
    counts, seen = sent(counted_s3.meta.events)
    for header, expected in RANGES.items():
        counts.clear()
        response = client.get_object(Bucket=bucket, Key=key_name, Range=header)
        assert response["Body"].read() == expected, header
        assert counts == {"GET": GETS}, (header, seen)
        assert response["ContentLength"] == len(expected)
    assert decrypts(stack) == 0


@contextmanager
def held_until_all_sent(events: Any, parties: int) -> Iterator[list[int]]:
    """Every GET waits, before it goes out, until ``parties`` GETs are waiting."""
    barrier, passed = threading.Barrier(parties, timeout=30), [0]

    def hold(**_: Any) -> None:
        barrier.wait()  # BrokenBarrierError: the read sent one request after an answer
        passed[0] += 1

    events.register("before-send.s3.GetObject", hold)
    try:
        yield passed
    finally:
        events.unregister("before-send.s3.GetObject", hold)


@pytest.mark.parametrize("header", ["bytes=-65536", "bytes=300000-300099", "bytes=700000-"])
def test_the_index_and_the_chunks_are_requested_before_any_answer_is_read(
    counted_s3: Any, bucket: str, kms_key_id: str, key_name: str, header: str
) -> None:
    client = EncryptionClient(KmsKeyring(kms_key_id), s3_client=counted_s3)
    put(client, bucket, key_name)
    with held_until_all_sent(counted_s3.meta.events, GETS) as passed:
        data = client.get_object(Bucket=bucket, Key=key_name, Range=header)["Body"].read()
    assert data == RANGES[header] and passed == [GETS]


def test_the_async_client_requests_them_together_too(
    stack: local.LocalStack, bucket: str, kms_key_id: str, key_name: str
) -> None:
    EncryptionClient(KmsKeyring(kms_key_id), s3_client=local.stack_client(stack, "s3")).put_object(
        Bucket=bucket, Key=key_name, Body=BODY, IntegrityIndex=True
    )

    async def main() -> tuple[bytes, Counter[str]]:
        async with AsyncEncryptionClient.create(AsyncKmsKeyring(kms_key_id)) as client:
            await (await client.get_object(Bucket=bucket, Key=key_name, Range="bytes=0-0"))[
                "Body"
            ].read()
            barrier = asyncio.Barrier(2)
            counts: Counter[str] = Counter()

            async def hold(**_: Any) -> None:
                async with asyncio.timeout(30):
                    await barrier.wait()
                counts["GetObject"] += 1

            client.s3.meta.events.register("before-send.s3.GetObject", hold)
            try:
                response = await client.get_object(
                    Bucket=bucket, Key=key_name, Range="bytes=-65536"
                )
                return await response["Body"].read(), counts
            finally:
                client.s3.meta.events.unregister("before-send.s3.GetObject", hold)

    reset(stack)
    data, counts = asyncio.run(main())
    assert data == BODY[-65536:] and counts == {"GetObject": 2}
    assert decrypts(stack) == 1  # the first read's


def test_a_tampered_chunk_still_fails_with_a_warm_key(
    s3: Any, counted_s3: Any, bucket: str, kms_key_id: str, key_name: str
) -> None:
    client = EncryptionClient(KmsKeyring(kms_key_id), s3_client=counted_s3)
    put(client, bucket, key_name)
    assert client.get_object(Bucket=bucket, Key=key_name, Range="bytes=0-0")["Body"].read()
    head = s3.head_object(Bucket=bucket, Key=key_name)
    stored = bytearray(s3.get_object(Bucket=bucket, Key=key_name)["Body"].read())
    stored[3 * CHUNK + 5] ^= 0x80
    index = s3.get_object(Bucket=bucket, Key=key_name + SUFFIX)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key_name, Body=bytes(stored), Metadata=head["Metadata"])
    s3.put_object(Bucket=bucket, Key=key_name + SUFFIX, Body=index)
    for header in ("bytes=-65536", f"bytes={3 * CHUNK}-{3 * CHUNK + 9}", "bytes=700000-"):
        with pytest.raises(e.AuthenticationError, match="chunk 3"):
            client.get_object(Bucket=bucket, Key=key_name, Range=header)["Body"].read()
    assert (
        client.get_object(Bucket=bucket, Key=key_name, Range="bytes=0-9")["Body"].read()
        == (BODY[:10])
    )


def test_a_range_without_an_index_uses_the_prefetched_chunks(
    counted_s3: Any, bucket: str, kms_key_id: str, key_name: str
) -> None:
    client = EncryptionClient(
        KmsKeyring(kms_key_id), s3_client=counted_s3, unauthenticated_ranges=True
    )
    client.put_object(Bucket=bucket, Key=key_name, Body=BODY)
    counts, seen = sent(counted_s3.meta.events)
    for header, expected in RANGES.items():
        counts.clear()
        with held_until_all_sent(counted_s3.meta.events, GETS):
            data = client.get_object(Bucket=bucket, Key=key_name, Range=header)["Body"].read()
        assert data == expected, header
        assert counts == {"GET": GETS}, (header, seen)  # only the object's is used


@pytest.mark.parametrize(("header", "window"), [("bytes=1-", 1), ("bytes=-65536", 2)])
def test_entries_a_prefetch_did_not_hold_are_fetched_pinned_to_the_index(
    monkeypatch: pytest.MonkeyPatch,
    counted_s3: Any,
    bucket: str,
    kms_key_id: str,
    key_name: str,
    header: str,
    window: int,
) -> None:
    # as for an object of more than 1 GiB: the entries read with the header fall short
    monkeypatch.setattr(prefetch, "ENTRY_WINDOW", window)
    client = EncryptionClient(KmsKeyring(kms_key_id), s3_client=counted_s3)
    put(client, bucket, key_name)
    counts, seen = sent(counted_s3.meta.events)
    data = client.get_object(Bucket=bucket, Key=key_name, Range=header)["Body"].read()
    assert data == RANGES[header]
    assert counts == {"GET": 3}, seen  # the third: the entries needed, with IfMatch
    needed = "bytes=72-151" if header == "bytes=1-" else "bytes=120-151"  # chunks 0-4, 3-4
    assert any(f"s3cse-index b'{needed}'" in request for request in seen), seen
