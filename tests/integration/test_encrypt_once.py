"""Every plaintext byte of an upload is encrypted exactly once, however often botocore
reads the request body (over http:// it reads it three times: the CRC32 checksum, the
SigV4 payload hash, the send). Counted at the ciphers, sync and async, for single puts
and multipart uploads from files and pipes; the stored objects still round-trip."""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from s3cse.core import ciphers, gcm
from s3cse.transfer import TransferConfig

from ..conftest import MakeClient
from ..keys import aes_keyring

pytestmark = pytest.mark.integration
MiB = 1024 * 1024
SMALL_PARTS = TransferConfig(
    multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=3
)


class Counted:
    """Plaintext bytes given to the upload ciphers (one-shot GCM and GCM parts)."""

    def __init__(self) -> None:
        self.bytes = 0
        self._lock = threading.Lock()

    def wrap(self, update: Any) -> Any:
        def counting(cipher: Any, data: Any) -> Any:
            with self._lock:
                self.bytes += len(data)
            return update(cipher, data)

        return counting


@pytest.fixture
def encrypted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counted]:
    counted = Counted()
    monkeypatch.setattr(gcm.PartEncryptor, "update", counted.wrap(gcm.PartEncryptor.update))
    monkeypatch.setattr(ciphers.GcmEncryptor, "update", counted.wrap(ciphers.GcmEncryptor.update))
    yield counted


@contextlib.contextmanager
def piped(data: bytes) -> Iterator[IO[bytes]]:
    """The read end of a pipe a thread writes ``data`` into."""
    read_end, write_end = os.pipe()

    def write() -> None:
        with os.fdopen(write_end, "wb") as sink:
            sink.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        with os.fdopen(read_end, "rb") as pipe:
            yield pipe
    finally:
        writer.join()


def stored_plaintext(client: Any, bucket: str, key: str) -> bytes:
    data: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


@pytest.mark.parametrize("size", [0, 1, 3 * MiB + 5], ids=lambda s: f"{s}B")
@pytest.mark.parametrize("index", [False, True], ids=["plain", "indexed"])
def test_a_put_encrypts_each_byte_once(
    make_client: MakeClient,
    encrypted: Counted,
    bucket: str,
    key_name: str,
    tmp_path: Path,
    size: int,
    index: bool,
) -> None:
    client = make_client(aes_keyring(0), integrity_index=index)
    data = os.urandom(size)
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    client.put_object(Bucket=bucket, Key=key_name, Body=data)
    assert encrypted.bytes == size
    with source.open("rb") as fileobj:
        client.put_object(Bucket=bucket, Key=key_name, Body=fileobj)
    assert encrypted.bytes == 2 * size
    assert stored_plaintext(client, bucket, key_name) == data


@pytest.mark.parametrize("size", [10 * MiB, 17 * MiB + 3], ids=lambda s: f"{s}B")
def test_a_multipart_file_upload_encrypts_each_byte_once(
    make_client: MakeClient,
    encrypted: Counted,
    s3: Any,
    bucket: str,
    key_name: str,
    tmp_path: Path,
    size: int,
) -> None:
    client = make_client(aes_keyring(0), integrity_index=True)
    data = os.urandom(size)
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    seen: list[int] = []
    client.upload_file(source, bucket, key_name, Config=SMALL_PARTS, Callback=seen.append)
    assert encrypted.bytes == size
    assert sum(seen) == size  # progress counts each byte once, too
    assert "-" in s3.head_object(Bucket=bucket, Key=key_name)["ETag"]
    assert stored_plaintext(client, bucket, key_name) == data


def test_a_multipart_pipe_upload_encrypts_each_byte_once(
    make_client: MakeClient, encrypted: Counted, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    data = os.urandom(13 * MiB + 7)
    with piped(data) as pipe:
        client.upload_fileobj(pipe, bucket, key_name, Config=SMALL_PARTS)
    assert encrypted.bytes == len(data)
    assert stored_plaintext(client, bucket, key_name) == data


def test_a_multipart_upload_from_memory_encrypts_each_byte_once(
    make_client: MakeClient, encrypted: Counted, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    data = os.urandom(11 * MiB)
    client.upload_fileobj(io.BytesIO(data), bucket, key_name, Config=SMALL_PARTS)
    assert encrypted.bytes == len(data)
    assert stored_plaintext(client, bucket, key_name) == data
