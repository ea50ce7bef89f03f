"""Parallel multipart uploads and ranged downloads over real S3."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from s3cse import KmsKeyring
from s3cse import errors as e
from s3cse.transfer import TransferConfig

from ..conftest import MakeClient
from ..keys import aes_keyring

pytestmark = pytest.mark.integration
MiB = 1024 * 1024
SMALL_PARTS = TransferConfig(
    multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4
)


def no_open_uploads(s3: Any, bucket: str, key: str) -> bool:
    uploads = s3.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", [])
    return not uploads


@pytest.mark.parametrize(
    "size", [5 * MiB, 5 * MiB + 1, 15 * MiB, 17 * MiB + 3], ids=lambda s: f"{s}B"
)
@pytest.mark.parametrize("fmt", ["v3", "v2"])
def test_multipart_round_trip(
    make_client: MakeClient,
    fmt: str,
    size: int,
    s3: Any,
    bucket: str,
    key_name: str,
    tmp_path: Path,
) -> None:
    client = make_client(
        aes_keyring(0),
        format=fmt,
        commitment_policy=None if fmt == "v3" else "FORBID_ENCRYPT_ALLOW_DECRYPT",
    )
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(size))
    seen: list[int] = []
    client.upload_file(source, bucket, key_name, Config=SMALL_PARTS, Callback=seen.append)
    assert sum(seen) == size
    head = s3.head_object(Bucket=bucket, Key=key_name)
    assert head["ContentLength"] == size + 16
    assert "-" in head["ETag"]  # a multipart ETag: the parts really went up separately
    assert no_open_uploads(s3, bucket, key_name)
    # one-stream GCM decryption verifies the whole object against its tag
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == source.read_bytes()
    target = tmp_path / "out.bin"
    got: list[int] = []
    client.download_file(bucket, key_name, target, Config=SMALL_PARTS, Callback=got.append)
    assert target.read_bytes() == source.read_bytes()
    assert sum(got) == size


def test_multipart_with_kms_context_and_instruction_file(
    make_client: MakeClient, s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    client = make_client(KmsKeyring(kms_key_id, kms_client=kms))
    data = os.urandom(11 * MiB)
    client.upload_fileobj(
        io.BytesIO(data),
        bucket,
        key_name,
        Config=SMALL_PARTS,
        ExtraArgs={
            "EncryptionContext": {"job": "42"},
            "InstructionFile": True,
            "ContentType": "application/x-test",
            "Metadata": {"origin": "test"},
        },
    )
    head = s3.head_object(Bucket=bucket, Key=key_name)
    assert head["ContentType"] == "application/x-test"
    assert head["Metadata"]["origin"] == "test" and "x-amz-3" not in head["Metadata"]
    assert s3.head_object(Bucket=bucket, Key=key_name + ".instruction")
    sink = io.BytesIO()
    client.download_fileobj(
        bucket, key_name, sink, Config=SMALL_PARTS, ExtraArgs={"EncryptionContext": {"job": "42"}}
    )
    assert sink.getvalue() == data


def test_pipe_upload_streams_with_bounded_read_ahead(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    data = os.urandom(23 * MiB + 7)
    read_end, write_end = os.pipe()

    def produce() -> None:
        with os.fdopen(write_end, "wb") as sink:
            for start in range(0, len(data), 65536):
                sink.write(data[start : start + 65536])

    producer = threading.Thread(target=produce)
    producer.start()
    with os.fdopen(read_end, "rb") as pipe:
        client.upload_fileobj(pipe, bucket, key_name, Config=SMALL_PARTS)
    producer.join()
    assert (
        hashlib.sha256(client.get_object(Bucket=bucket, Key=key_name)["Body"].read()).digest()
        == hashlib.sha256(data).digest()
    )


class FailingSource(io.RawIOBase):
    """A file whose disk fails after ``fail_at`` bytes."""

    def __init__(self, size: int, fail_at: int) -> None:
        self.data, self.fail_at, self.position = os.urandom(size), fail_at, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self.position = len(self.data) + offset if whence == os.SEEK_END else offset
        return self.position

    def readinto(self, buffer: Any) -> int:
        if self.position + len(buffer) > self.fail_at:
            raise OSError(5, "Input/output error")
        chunk = self.data[self.position : self.position + len(buffer)]
        buffer[: len(chunk)] = chunk
        self.position += len(chunk)
        return len(chunk)


def test_failed_upload_is_aborted_and_leaves_nothing(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    with pytest.raises(OSError, match="Input/output"):
        client.upload_fileobj(
            FailingSource(20 * MiB, 12 * MiB), bucket, key_name, Config=SMALL_PARTS
        )
    assert no_open_uploads(s3, bucket, key_name)
    with pytest.raises(e.ObjectNotFoundError):
        client.head_object(Bucket=bucket, Key=key_name)


def test_tampered_large_object_fails_parallel_download_and_leaves_nothing(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, tmp_path: Path
) -> None:
    client = make_client(aes_keyring(0))
    client.upload_fileobj(io.BytesIO(os.urandom(12 * MiB)), bucket, key_name, Config=SMALL_PARTS)
    obj = s3.get_object(Bucket=bucket, Key=key_name)
    data = bytearray(obj["Body"].read())
    data[7 * MiB] ^= 0x80
    s3.put_object(Bucket=bucket, Key=key_name, Body=bytes(data), Metadata=obj["Metadata"])
    target = tmp_path / "out.bin"
    with pytest.raises(e.TagMismatchError):
        client.download_file(bucket, key_name, target, Config=SMALL_PARTS)
    assert list(tmp_path.iterdir()) == []


def test_upload_below_threshold_is_a_single_put(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    client.upload_fileobj(io.BytesIO(b"small"), bucket, key_name, Config=SMALL_PARTS)
    assert "-" not in s3.head_object(Bucket=bucket, Key=key_name)["ETag"]
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"small"
