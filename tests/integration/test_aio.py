"""What only the async client has: its own event loop, async bodies and readers, KMS
through aiobotocore, and many requests at once in bounded memory.

(Everything it shares with the sync client runs in the sync suites through
``make_client``; see tests/conftest.py.) Each test runs its own event loop with
``asyncio.run`` and opens its own clients with ``AsyncEncryptionClient.create``, which
finds the local stack through ``AWS_ENDPOINT_URL_S3`` as a user's code would.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import tracemalloc
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from s3cse import EncryptionClient, KmsKeyring
from s3cse import errors as e
from s3cse.aio import AsyncDecryptedBody, AsyncEncryptionClient, AsyncObjectReader
from s3cse.keyrings import AsyncKmsKeyring, CachingMaterialsManager
from s3cse.transfer import TransferConfig

from ..keys import aes_keyring

pytestmark = pytest.mark.integration
MiB = 1024 * 1024
PARTS = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class PatternReader(io.RawIOBase):
    """``size`` reproducible pseudo-random bytes, generated as they are read (AES-CTR of
    zeros under a key from ``seed``): large bodies that cost no memory to hold."""

    def __init__(self, seed: int, size: int) -> None:
        self.seed, self.size, self.position = seed, size, 0
        self.key = hashlib.sha256(seed.to_bytes(8, "big")).digest()
        self._stream = self._at(0)

    def _at(self, offset: int) -> Any:
        block, skip = divmod(offset, 16)
        ctx = Cipher(algorithms.AES(self.key), modes.CTR(block.to_bytes(16, "big"))).encryptor()
        ctx.update(b"\x00" * skip)
        return ctx

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position, os.SEEK_END: self.size}[whence]
        self.position = base + offset
        self._stream = self._at(self.position)
        return self.position

    def read(self, size: int | None = -1) -> bytes:
        left = self.size - self.position
        count = left if size is None or size < 0 else min(size, left)
        self.position += count
        data: bytes = self._stream.update(b"\x00" * count)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def digest(self) -> str:
        """SHA-256 of the whole pattern, from a reader of its own."""
        reader, digest = PatternReader(self.seed, self.size), hashlib.sha256()
        while chunk := reader.read(MiB):
            digest.update(chunk)
        return digest.hexdigest()


class AsyncPipe:
    """An async reader of unknown length (``await read(n)``), like aiofiles or a socket."""

    def __init__(self, data: bytes, step: int = 100_000) -> None:
        self.data, self.step, self.position = data, step, 0

    async def read(self, size: int = -1) -> bytes:
        await asyncio.sleep(0)
        size = self.step if size < 0 else min(size, self.step)
        chunk = self.data[self.position : self.position + size]
        self.position += len(chunk)
        return chunk


class AsyncSink:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    async def write(self, data: bytes) -> int:
        await asyncio.sleep(0)
        self.parts.append(data)
        return len(data)


def open_uploads(s3: Any, bucket: str, prefix: str) -> list[Any]:
    uploads: list[Any] = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
    return uploads


def test_200_concurrent_puts_and_gets_in_one_loop_in_bounded_memory(
    s3: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    """200 objects of 0 B to 11 MiB, some multipart, some under KMS, written and read back
    at once by one event loop: every byte right, and memory far below the data moved."""
    sizes = (
        [0, 1, 15, 16, 17]
        + [i * 4099 for i in range(1, 116)]  # up to ~460 KiB
        + [256 * 1024 + i * 29_000 for i in range(60)]  # 256 KiB .. 2 MiB
        + [3 * MiB + i * 37_000 for i in range(14)]  # single PUTs of 3-4 MiB
        + [5 * MiB + i * MiB + 7 for i in range(6)]
    )  # multipart, 5-11 MiB
    assert len(sizes) == 200
    total = sum(sizes)

    async def scenario() -> int:
        async with (
            AsyncEncryptionClient.create(aes_keyring(0), spool_threshold=MiB) as aes,
            AsyncEncryptionClient.create(AsyncKmsKeyring(kms_key_id), spool_threshold=MiB) as kms,
        ):

            async def one(i: int, size: int) -> None:
                client, context = (kms, {"n": str(i)}) if i % 5 == 0 else (aes, None)
                key, body = f"{key_name}/{i}", PatternReader(i, size)
                if size >= PARTS.multipart_threshold:
                    await client.upload_fileobj(
                        body, bucket, key, Config=PARTS, ExtraArgs={"EncryptionContext": context}
                    )
                else:
                    await client.put_object(
                        Bucket=bucket, Key=key, Body=body, EncryptionContext=context
                    )
                response = await client.get_object(
                    Bucket=bucket, Key=key, EncryptionContext=context
                )
                assert response["ContentLength"] == size
                digest = hashlib.sha256()
                async with response["Body"] as plaintext:
                    async for chunk in plaintext.iter_chunks(256 * 1024):
                        digest.update(chunk)
                assert digest.hexdigest() == body.digest(), f"object {i} ({size} B)"

            tracemalloc.start()
            try:
                await asyncio.gather(*(one(i, size) for i, size in enumerate(sizes)))
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    peak = run(scenario())
    # 180 MiB go up and come back; the client holds a few MiB per request in flight,
    # bounded by aiobotocore's connection pool, the worker threads, max_concurrency parts
    # per multipart upload (each part encrypted once in its buffer, held while it is
    # sent: 6 uploads here, up to 4 x 5 MiB each) and spool_threshold per authenticated
    # read (measured: ~65 MiB).
    print(f"moved {total / MiB:.0f} MiB each way, peak traced memory {peak / MiB:.0f} MiB")
    assert total > 175 * MiB
    assert peak < 112 * MiB, f"peak traced memory {peak / MiB:.0f} MiB"
    assert open_uploads(s3, bucket, key_name) == []


def test_body_is_an_async_stream(bucket: str, key_name: str) -> None:
    text = b"".join(b"line %d\n" % i for i in range(20_000))

    async def scenario() -> None:
        async with AsyncEncryptionClient.create(aes_keyring(0)) as client:
            await client.put_object(Bucket=bucket, Key=key_name, Body=text)
            response = await client.get_object(Bucket=bucket, Key=key_name)
            body = response["Body"]
            assert isinstance(body, AsyncDecryptedBody) and body.content_length == len(text)
            assert await body.read(5) == b"line "
            assert body.tell() == 5
            rest = [chunk async for chunk in body.iter_chunks(7777)]
            assert b"".join(rest) == text[5:] and max(map(len, rest)) == 7777
            assert await body.read() == b""
            body.close()
            with pytest.raises(ValueError, match="closed"):
                await body.read()
            async with (await client.get_object(Bucket=bucket, Key=key_name))["Body"] as again:
                lines = [line async for line in again.iter_lines(4096)]
            assert lines == text.splitlines()
            whole = (await client.get_object(Bucket=bucket, Key=key_name))["Body"]
            assert b"".join([chunk async for chunk in whole]) == text

    run(scenario())


@pytest.mark.parametrize("index", [True, False])
def test_object_reader_reads_ranges_on_the_loop(index: bool, bucket: str, key_name: str) -> None:
    data = os.urandom(3 * MiB + 77)

    async def scenario() -> None:
        async with AsyncEncryptionClient.create(aes_keyring(0), integrity_index=index) as client:
            await client.put_object(Bucket=bucket, Key=key_name, Body=data)
            reader = await AsyncObjectReader.open(client.session, bucket, key_name)
            async with reader:
                assert reader.mode == ("indexed" if index else "whole")
                parts = await asyncio.gather(
                    *(reader.read(i * MiB, (i + 1) * MiB - 1) for i in range(4))
                )
                assert b"".join(parts) == data and reader.bytes_fetched > 0
                assert await reader.read(len(data), len(data) + 10) == b""

    run(scenario())


def test_async_readers_and_writers(s3: Any, kms_key_id: str, bucket: str, key_name: str) -> None:
    """Bodies of unknown length from async readers, small (spooled) and multipart (bounded
    read-ahead); downloads into an async writer."""
    small, large = os.urandom(300_001), os.urandom(12 * MiB + 5)

    async def scenario() -> None:
        async with AsyncEncryptionClient.create(AsyncKmsKeyring(kms_key_id)) as client:
            await client.put_object(
                Bucket=bucket,
                Key=key_name + "/s",
                Body=AsyncPipe(small),
                EncryptionContext={"a": "1"},
                IntegrityIndex=True,
            )
            got = await client.get_object(
                Bucket=bucket, Key=key_name + "/s", EncryptionContext={"a": "1"}, Range="bytes=-10"
            )
            assert await got["Body"].read() == small[-10:]  # authenticated by the index
            seen: list[int] = []
            await client.upload_fileobj(
                AsyncPipe(large, 1 << 20),
                bucket,
                key_name + "/l",
                Config=PARTS,
                Callback=seen.append,
            )
            assert sum(seen) == len(large)
            sink = AsyncSink()
            assert await client.download_fileobj(
                bucket, key_name + "/l", sink, Config=PARTS
            ) == len(large)
            assert b"".join(sink.parts) == large

    run(scenario())
    assert "-" in s3.head_object(Bucket=bucket, Key=key_name + "/l")["ETag"]
    assert s3.head_object(Bucket=bucket, Key=key_name + "/s.s3cse-index")


def test_kms_keyring_opens_and_closes_its_own_async_client(
    kms_key_id: str, bucket: str, key_name: str
) -> None:
    keyring = AsyncKmsKeyring(kms_key_id)

    async def scenario() -> None:
        async with AsyncEncryptionClient.create(keyring) as client:
            await client.put_object(Bucket=bucket, Key=key_name, Body=b"kms")
            assert keyring._client is not None
            response = await client.get_object(Bucket=bucket, Key=key_name)
            assert await response["Body"].read() == b"kms"
        assert keyring._client is None  # closed with the client

    run(scenario())
    with pytest.raises(e.ConfigurationError, match="AsyncEncryptionClient"):
        EncryptionClient(keyring).get_object(Bucket=bucket, Key=key_name)


def test_sync_kms_keyring_runs_off_the_loop(
    kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    """A boto3-backed KmsKeyring still works in the async client, on a worker thread."""

    async def scenario() -> bytes:
        keyring = KmsKeyring(kms_key_id, kms_client=kms)
        async with AsyncEncryptionClient.create(keyring) as client:
            await client.put_object(Bucket=bucket, Key=key_name, Body=b"threaded")
            data: bytes = await (await client.get_object(Bucket=bucket, Key=key_name))[
                "Body"
            ].read()
            return data

    assert run(scenario()) == b"threaded"


def test_caching_materials_manager_serves_async_callers(
    kms_key_id: str, bucket: str, key_name: str
) -> None:
    keyring = AsyncKmsKeyring(kms_key_id)
    cache = CachingMaterialsManager(keyring, max_objects=100)

    async def scenario() -> None:
        # the client's own data-key cache off, so that every read reaches the manager
        async with AsyncEncryptionClient.create(materials=cache, decrypt_cache_seconds=0) as client:
            await client.put_object(Bucket=bucket, Key=f"{key_name}/0", Body=b"0")
            await asyncio.gather(
                *(
                    client.put_object(Bucket=bucket, Key=f"{key_name}/{i}", Body=b"%d" % i)
                    for i in range(1, 10)
                )
            )
            for i in range(10):
                got = await client.get_object(Bucket=bucket, Key=f"{key_name}/{i}")
                assert await got["Body"].read() == b"%d" % i
        assert keyring._client is None

    run(scenario())
    assert (cache.stats.encrypt_misses, cache.stats.encrypt_hits) == (1, 9)
    assert (cache.stats.decrypt_misses, cache.stats.decrypt_hits) == (1, 9)


def test_cancelled_multipart_upload_is_aborted(s3: Any, bucket: str, key_name: str) -> None:
    class Endless:
        """Feeds two parts' worth of bytes, then waits forever."""

        def __init__(self) -> None:
            self.given, self.stalled = 0, asyncio.Event()

        async def read(self, size: int = -1) -> bytes:
            if self.given >= 11 * MiB:
                self.stalled.set()
                await asyncio.Event().wait()
            chunk = min(size, MiB)
            self.given += chunk
            return b"\x00" * chunk

    async def scenario() -> None:
        async with AsyncEncryptionClient.create(aes_keyring(0)) as client:
            source = Endless()
            task = asyncio.create_task(
                client.upload_fileobj(source, bucket, key_name, Config=PARTS)
            )
            await source.stalled.wait()
            for _ in range(100):  # let the first parts go up
                if open_uploads(s3, bucket, key_name):
                    break
                await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run(scenario())
    assert open_uploads(s3, bucket, key_name) == []
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key=key_name)


def test_construction_needs_an_s3_client() -> None:
    with pytest.raises(e.ConfigurationError, match="create"):
        AsyncEncryptionClient(aes_keyring(0))
    with pytest.raises(e.ConfigurationError, match="exactly one"):
        AsyncEncryptionClient(s3_client=object())


def test_readme_async_quick_start_runs(
    s3: Any, kms: Any, kms_key_id: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Async quick start", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```python\n(.*?)```", section, re.DOTALL)[0]
    if "my-bucket" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket="my-bucket")
    if "alias/my-key" not in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}:
        kms.create_alias(AliasName="alias/my-key", TargetKeyId=kms_key_id)
    video = os.urandom(9 * MiB)
    (tmp_path / "video.mp4").write_bytes(video)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})
    assert (tmp_path / "copy.mp4").read_bytes() == video
    assert "-" in s3.head_object(Bucket="my-bucket", Key="video.mp4")["ETag"]
